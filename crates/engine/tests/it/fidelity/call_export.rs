//! A call's export (`vidpipe_core::call::export`) rendered as the chunked render flow renders it: the layout laid
//! out in core, its render request planned into chunks, each chunk's MediaConvert job run on the engine, the sound
//! mixed once and the chunks joined by the assembler. Peers are solid colours, each with its own tone; the tiles
//! are sampled around every change of the layout, the tones measured by frequency.

use std::collections::BTreeMap;
use std::path::Path;

use vidpipe_core::call::composition::CompositionState;
use vidpipe_core::call::export::{
    ExportLayout, ExportTarget, ExportTrack, export_layout, export_request,
};
use vidpipe_core::call::{PeerId, TrackRole};
use vidpipe_core::job::{FrameRate, JobContext, MediaInfo, Size, chunk_job};
use vidpipe_core::render::{Chunking, RenderRequest, Renderer, Thumbnails};
use vidpipe_engine::{Assembler, ChunkFile, JoinSpec, MixSpec, Storage};
use vidpipe_testkit::audio::{self, fit_tone};
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};

use super::{BLUE, RED, path};
use crate::common::{assert_complete, run_local};

const BUCKET: &str = "s3://fid/";
const FPS: u32 = 15;
const WIDTH: u32 = 320;
const HEIGHT: u32 = 180;
const LIME: [u8; 3] = [0, 255, 0];
const YELLOW: [u8; 3] = [255, 255, 0];

/// A test track: peer, role, ffmpeg colour, its RGB, its tone, offset and length in ms.
type TestTrack = (
    &'static str,
    TrackRole,
    &'static str,
    [u8; 3],
    Option<u32>,
    u64,
    u64,
);

/// peer-a red (440 Hz) and peer-b lime (660 Hz, muted) for the whole 6 s; peer-c blue (880 Hz) from 2 s; peer-a's
/// screenshare yellow from 4 s to 5 s.
const TRACKS: [TestTrack; 4] = [
    ("peer-a", TrackRole::Av, "red", RED, Some(440), 0, 6_000),
    ("peer-b", TrackRole::Av, "lime", LIME, Some(660), 0, 6_000),
    (
        "peer-c",
        TrackRole::Av,
        "blue",
        BLUE,
        Some(880),
        2_000,
        4_000,
    ),
    (
        "peer-a",
        TrackRole::Screenshare,
        "yellow",
        YELLOW,
        None,
        4_000,
        1_000,
    ),
];

/// Grid, then at 2.5 s the speaker layout with peer-c pinned, then at 5 s the pin layout; peer-b muted.
const STATE: &str = r#"{"layout": "grid", "timeline": [
    {"t": 2500, "type": "layout", "layout": "speaker"}, {"t": 2500, "type": "pin", "peer_id": "peer-c"},
    {"t": 5000, "type": "layout", "layout": "pin"}],
    "tracks": [{"peer_id": "peer-b", "muted": true}], "export": {"resolution": "320x180", "fps": 15}}"#;

/// Writes the tracks (VP8/Opus WebM, as browsers record them; 160x90, the screenshare 320x180) and returns them
/// with the probe results a chunker would pass.
fn tracks(dir: &Path) -> (Vec<ExportTrack>, BTreeMap<String, MediaInfo>) {
    let mut tracks = Vec::new();
    let mut media = BTreeMap::new();
    for (peer, role, colour, _, tone, offset_ms, duration_ms) in TRACKS {
        let (w, h) = match role {
            TrackRole::Av => (160, 90),
            TrackRole::Screenshare => (320, 180),
        };
        let name = format!("{peer}-{}.webm", role.as_str());
        let mut spec = VideoSpec::new(
            Picture::Solid(colour.into()),
            w,
            h,
            FPS,
            duration_ms as f64 / 1000.0,
        );
        if let Some(hz) = tone {
            spec = spec.with_tone(hz);
        }
        media::write_webm(&dir.join(&name), &spec);
        let uri = format!("{BUCKET}{name}");
        media.insert(
            uri.clone(),
            MediaInfo {
                width: w,
                height: h,
                duration_ms: Some(duration_ms),
                frame_rate: Some(FrameRate::per_second(FPS)),
                has_audio: tone.is_some(),
                rotation: 0,
            },
        );
        tracks.push(ExportTrack {
            peer_id: PeerId::parse("peer_id", peer).unwrap(),
            role,
            uri,
            offset_ms,
            duration_ms,
            size: Size::new(w, h),
        });
    }
    (tracks, media)
}

/// Renders `request` as the render flow does, in `dir`: each chunk's job run on the engine, the sound mixed once,
/// the chunks joined. Returns the export's file.
async fn render(
    dir: &Path,
    request: &RenderRequest,
    media: &BTreeMap<String, MediaInfo>,
) -> std::path::PathBuf {
    let local = |uri: &str| uri.replace(BUCKET, &path(dir, ""));
    let context = JobContext {
        role: "arn:aws:iam::000000000000:role/MediaConvert".into(),
        queue: None,
    };
    let chunks = request.plan().unwrap();
    assert!(chunks.len() >= 2, "the export is rendered in chunks");
    let mut files = Vec::new();
    for chunk in &chunks {
        let chunk_uri = request
            .work_folder(&request.render_id)
            .unwrap()
            .chunk(chunk.index);
        let job = chunk_job(&context, request, chunk, &chunk_uri, media).unwrap();
        let json = local(&serde_json::to_string(&job).unwrap());
        let (job, _) = run_local(&serde_json::from_str(&json).unwrap()).await;
        assert_complete(&job);
        files.push(ChunkFile {
            chunk: *chunk,
            uri: local(&chunk_uri.to_string()),
        });
    }
    let assembler = Assembler::new(Storage::local());
    let mut sounds = request.scene_sounds();
    for sound in &mut sounds {
        sound.video = local(&sound.video);
    }
    let soundtrack = dir.join("mix.m4a");
    assembler
        .mix(&MixSpec {
            voiceover: None,
            music: None,
            music_volume: None,
            ducking: Default::default(),
            scenes: sounds,
            frames: request.total_frames(),
            fps: FPS,
            output_uri: soundtrack.display().to_string(),
        })
        .await
        .unwrap()
        .expect("the unmuted peers are heard");
    let output = dir.join("export.mp4");
    assembler
        .join(&JoinSpec {
            chunks: files,
            width: WIDTH,
            height: HEIGHT,
            fps: FPS,
            total_frames: request.total_frames(),
            soundtrack_uri: Some(soundtrack.display().to_string()),
            output_uri: output.display().to_string(),
            thumbnails: request.output.thumbnails.as_ref().map(|t| Thumbnails {
                uri: local(&t.uri),
                count: t.count,
            }),
            replace: false,
        })
        .await
        .unwrap();
    output
}

/// The colour each tile of the layout at `t_ms` shows in the middle of its picture, and black in the middle of
/// the frame's unused corners, checked in the export's frame at `t_ms`.
fn assert_tiles(frame: &Frame, layout: &ExportLayout, t_ms: u64) {
    let interval = layout.at(t_ms).unwrap();
    for tile in &interval.tiles {
        let colour = TRACKS[tile.track].3;
        let r = tile.rect;
        // Inset by a quarter of the picture: its edges blend with the black around it when scaled.
        for (x, y) in [
            (r.x + r.width / 2, r.y + r.height / 2),
            (r.x + r.width / 4, r.y + r.height / 4),
            (r.x + 3 * r.width / 4, r.y + 3 * r.height / 4),
        ] {
            let found = frame.pixel(x, y);
            assert!(
                colour_close(found, colour, 40),
                "at {t_ms} ms, ({x}, {y}) in {}'s tile {r:?}: {found:?}, expected {colour:?}",
                TRACKS[tile.track].0
            );
        }
    }
    let covered = |x: u32, y: u32| {
        interval.tiles.iter().any(|t| {
            let r = t.rect;
            x + 4 >= r.x && x <= r.x + r.width + 4 && y + 4 >= r.y && y <= r.y + r.height + 4
        })
    };
    for (x, y) in [
        (2, 2),
        (WIDTH - 3, 2),
        (2, HEIGHT - 3),
        (WIDTH - 3, HEIGHT - 3),
    ] {
        if !covered(x, y) {
            let found = frame.pixel(x, y);
            assert!(
                colour_close(found, [0, 0, 0], 24),
                "at {t_ms} ms, ({x}, {y}) is outside every tile and should be black: {found:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_export_follows_the_layout_timeline_and_mixes_only_the_unmuted_peers() {
    let dir = tempfile::tempdir().unwrap();
    let (tracks, media) = tracks(dir.path());
    let peers: Vec<PeerId> = ["peer-a", "peer-b", "peer-c"]
        .iter()
        .map(|p| PeerId::parse("peer_id", p).unwrap())
        .collect();
    let state = CompositionState::parse(STATE.as_bytes(), &peers).unwrap();
    let layout = export_layout(&state, &tracks).unwrap();
    let starts: Vec<u64> = layout.intervals.iter().map(|i| i.start_ms).collect();
    assert_eq!(starts, [0, 2_000, 2_500, 4_000, 5_000]);
    let target = ExportTarget {
        render_id: "export-1".into(),
        uri: format!("{BUCKET}processed/exports/export-1.mp4"),
        chunking: Chunking {
            max_chunk_s: 3.0,
            min_chunk_s: 1.0,
            max_concurrency: 2,
        },
        renderer: Renderer::MediaConvert,
    };
    let mut request = export_request(&state, &tracks, &layout, &target).unwrap();
    request.output.thumbnails = Some(Thumbnails {
        uri: format!("{BUCKET}processed/thumbnails/export-1/"),
        count: 5,
    });
    let file = render(dir.path(), &request, &media).await;
    // Thumbnails at 0.6, 1.8, 3.0, 4.2 and 5.4 s, each showing the tiles of its time (the video is narrower than
    // a thumbnail's width, so they keep its size).
    for (n, t_ms) in (1..=5).zip([600, 1_800, 3_000, 4_200, 5_400]) {
        let thumbnail = dir
            .path()
            .join(format!("processed/thumbnails/export-1/thumb_{n:04}.jpg"));
        let pictures = Frame::all(&thumbnail);
        assert_eq!(pictures.len(), 1, "{}", thumbnail.display());
        assert_eq!((pictures[0].width, pictures[0].height), (WIDTH, HEIGHT));
        assert_tiles(&pictures[0], &layout, t_ms);
    }

    let frames = Frame::all(&file);
    assert_eq!(frames.len(), 90);
    let rate = FrameRate::per_second(FPS);
    // Around every change: just before and just after (a frame is 67 ms), and mid-interval.
    for interval in &layout.intervals {
        for t in [
            interval.start_ms + 70,
            (interval.start_ms + interval.end_ms) / 2,
            interval.end_ms - 70,
        ] {
            assert_tiles(&frames[rate.frame_at_ms(t) as usize], &layout, t);
        }
    }
    // The late peer: not in the grid before 2 s, in it after; the screenshare in the main tile from 4 s to 5 s.
    let shows = |t: u64, peer: &str| {
        layout
            .at(t)
            .unwrap()
            .tiles
            .iter()
            .any(|tile| TRACKS[tile.track].0 == peer)
    };
    assert!(!shows(1_900, "peer-c") && shows(2_100, "peer-c"));
    let main = |t: u64| layout.at(t).unwrap().main.map(|i| TRACKS[i].1);
    assert_eq!(main(4_500), Some(TrackRole::Screenshare));
    assert_eq!(main(3_900), Some(TrackRole::Av));

    // Sound: peer-a throughout, peer-c from 2 s, peer-b (muted) never.
    let samples = audio::decode_mono(&file);
    let second = |s: f64| (s * f64::from(audio::RATE)) as usize;
    let level =
        |hz: f64, from: f64, to: f64| fit_tone(&samples, second(from)..second(to), hz).amplitude;
    let a = level(440.0, 0.2, 5.8);
    assert!(a > 0.02, "peer-a is heard: {a}");
    for (from, to) in [(0.2, 1.8), (2.2, 5.8)] {
        let muted = level(660.0, from, to);
        assert!(muted < a * 0.01, "peer-b is muted: {muted} against {a}");
    }
    let before = level(880.0, 0.2, 1.8);
    let after = level(880.0, 2.2, 5.8);
    assert!(
        before < a * 0.01,
        "peer-c is not heard before it joined: {before}"
    );
    assert!(
        after > a * 0.5,
        "peer-c is heard once it joined: {after} against {a}"
    );
}
