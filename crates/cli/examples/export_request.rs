//! The render request of a call's export, for `scripts/bench-export-call.sh`: local tracks probed with the engine,
//! laid out by `vidpipe_core::call::export::export_layout` following a Composition State, drawn by `export_request`,
//! printed as JSON. Every file is named `s3://bench/{path}` (`export_request` takes `s3://` objects only): the script
//! strips that prefix for `vidpipe render` of local files, and keeps it for `vidpipe job chunk`.
//!
//! Run: `cargo run -p vidpipe-cli --example export_request -- STATE.json OUTPUT MAX_CHUNK_S PEER:ROLE:OFFSET_MS:FILE...`
//! from the folder the files are in (paths relative to it, as `vidpipe render` resolves them against the request
//! file's folder). `STATE.json` is a Composition State as `PUT .../composition` takes it; `MAX_CHUNK_S` is the chunk
//! limit (the other chunking settings are the flow's defaults); ROLE is `av` or `screenshare`.

use vidpipe_core::call::composition::CompositionState;
use vidpipe_core::call::export::{ExportTarget, ExportTrack, export_layout, export_request};
use vidpipe_core::call::{PeerId, TrackRole};
use vidpipe_core::render::{Chunking, Renderer};
use vidpipe_engine::{Engine, Storage};

/// The bucket the local files are named in.
const PLACEHOLDER: &str = "s3://bench/";

/// A track argument, `PEER:ROLE:OFFSET_MS:FILE`, probed: its length and displayed size are the engine's probe's.
async fn track(engine: &Engine, arg: &str) -> ExportTrack {
    let [peer, role, offset, file] = arg.splitn(4, ':').collect::<Vec<_>>()[..] else {
        panic!("{arg}: expected PEER:ROLE:OFFSET_MS:FILE");
    };
    let probed = engine
        .probe(&[file.to_owned()])
        .await
        .unwrap_or_else(|e| panic!("probe {file}: {e:?}"));
    let info = probed.probe_results[0]
        .media_info()
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    ExportTrack {
        peer_id: PeerId::parse("peer", peer).expect("peer id"),
        role: TrackRole::parse("role", role).expect("role"),
        uri: format!("{PLACEHOLDER}{file}"),
        offset_ms: offset.parse().expect("OFFSET_MS"),
        duration_ms: info
            .duration_ms
            .unwrap_or_else(|| panic!("{file}: no duration")),
        size: info.display_size(),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [state, output, max_chunk_s, track_args @ ..] = &args[..] else {
        panic!("usage: export_request STATE.json OUTPUT MAX_CHUNK_S PEER:ROLE:OFFSET_MS:FILE...");
    };
    let engine = Engine::new(Storage::local());
    let mut tracks = Vec::new();
    for arg in track_args {
        tracks.push(track(&engine, arg).await);
    }
    let mut peers: Vec<PeerId> = Vec::new();
    for track in &tracks {
        if !peers.contains(&track.peer_id) {
            peers.push(track.peer_id.clone());
        }
    }
    let state = std::fs::read(state).expect("read the state");
    let state = CompositionState::parse(&state, &peers).expect("a valid Composition State");
    let layout = export_layout(&state, &tracks).expect("layout");
    let target = ExportTarget {
        render_id: "bench-export".into(),
        uri: format!("{PLACEHOLDER}{output}"),
        chunking: Chunking {
            max_chunk_s: max_chunk_s.parse().expect("MAX_CHUNK_S"),
            ..Chunking::default()
        },
        renderer: Renderer::MediaConvert,
    };
    let request = export_request(&state, &tracks, &layout, &target).expect("the render request");
    let json = serde_json::to_string_pretty(&request).expect("request JSON");
    println!("{json}");
    eprintln!(
        "export of {} ms: {} intervals, {} scenes, {} sounds",
        layout.duration_ms,
        layout.intervals.len(),
        request.scenes.len(),
        request.sounds.len()
    );
}
