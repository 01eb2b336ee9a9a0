//! A long composite, whole and in chunks, for `scripts/bench-composite-chunks.sh`: a local screen and camera probed
//! with the engine, the builder's composite job (`composite_job`, written to `JOB`), and the render request the
//! transcoder lays it out as to run it in chunks (`ChunkableJob::render_request`, printed as JSON). Every file is
//! named `s3://bench/{path}` (the builders take `s3://` objects only): the script strips that prefix for
//! `vidpipe engine run` and `vidpipe render` of local files.
//!
//! Run: `cargo run -p vidpipe-cli --example composite_layout -- SCREEN CAMERA CAMERA_OFFSET_MS MAX_CHUNK_S JOB` from
//! the folder the files are in.

use std::collections::BTreeMap;

use vidpipe_core::job::{CompositeOptions, CompositeOutput, JobContext, Recording, composite_job};
use vidpipe_core::transcoder::chunked::ChunkableJob;
use vidpipe_engine::{Engine, Storage};

/// The bucket the local files are named in.
const PLACEHOLDER: &str = "s3://bench/";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [screen, camera, offset_ms, max_chunk_s, job_file] = &args[..] else {
        panic!("usage: composite_layout SCREEN CAMERA CAMERA_OFFSET_MS MAX_CHUNK_S JOB");
    };
    let engine = Engine::new(Storage::local());
    let mut recordings = Vec::new();
    let mut media = BTreeMap::new();
    for file in [screen, camera] {
        let probed = engine
            .probe(std::slice::from_ref(file))
            .await
            .unwrap_or_else(|e| panic!("probe {file}: {e:?}"));
        let info = probed.probe_results[0]
            .media_info()
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let uri = format!("{PLACEHOLDER}{file}");
        media.insert(uri.clone(), info.clone());
        recordings.push(Recording {
            uri: uri.parse().expect("an s3:// URI"),
            media: info,
        });
    }
    let stream = screen.rsplit_once('.').map_or(screen.as_str(), |(s, _)| s);
    let job = composite_job(
        &JobContext {
            role: "arn:aws:iam::000000000000:role/bench".into(),
            queue: None,
        },
        &CompositeOutput::new("bench", "", stream).expect("the output"),
        &recordings[0],
        &recordings[1],
        &CompositeOptions {
            camera_offset_ms: offset_ms.parse().expect("CAMERA_OFFSET_MS"),
            ..Default::default()
        },
    )
    .expect("the composite job");
    std::fs::write(job_file, serde_json::to_vec_pretty(&job).expect("job JSON"))
        .expect("write JOB");
    let chunking = vidpipe_core::render::Chunking {
        max_chunk_s: max_chunk_s.parse().expect("MAX_CHUNK_S"),
        ..Default::default()
    };
    let request = ChunkableJob::of(&job)
        .expect("a chunkable job")
        .render_request("bench-composite", &media, chunking)
        .expect("the layout");
    println!(
        "{}",
        serde_json::to_string_pretty(&request).expect("request JSON")
    );
    eprintln!(
        "composite of {} frames at {} fps: {} scenes, {} sounds",
        request.total_frames(),
        request.output.fps,
        request.scenes.len(),
        request.sounds.len()
    );
}
