//! Golden files: every builder across the issue's geometries, compared to `tests/golden/*.json`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p vidpipe-core --test golden` rewrites them. `tools/validate_mediaconvert.py`
//! checks every golden file against the MediaConvert model in botocore.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vidpipe_core::call::{CallId, PeerId, TrackRole};
use vidpipe_core::job::{CallPreview, PreviewTrack, call_preview_job};
use vidpipe_core::job::{
    CompositeOptions, CompositeOutput, CreateJobRequest, FrameRate, JobContext, MediaInfo,
    PlaybackOptions, PreviewFormat, PreviewOptions, Recording, SingleOptions, chunk_job,
    composite_job, playback_job, preview_job, single_job,
};
use vidpipe_core::render::{Chunk, RenderRequest};
use vidpipe_core::s3uri::S3Uri;

const SCREENS: [(u32, u32); 4] = [(1920, 1080), (2880, 1800), (1024, 768), (854, 480)];
const CAMERAS: [(u32, u32); 2] = [(640, 360), (720, 1280)];

/// Where a golden chunk goes: `{output without .mp4}/chunks/{index:05}.mp4`, as the goldens were recorded (the
/// chunker plans chunks in the render's work folder; the destination is the caller's).
fn golden_chunk_at(request: &RenderRequest, index: u32) -> vidpipe_core::s3uri::S3Uri {
    let base = request.output.uri.strip_suffix(".mp4").unwrap();
    format!("{base}/chunks/{index:05}.mp4").parse().unwrap()
}

fn context() -> JobContext {
    JobContext {
        role: "arn:aws:iam::123456789012:role/vidpipe-mediaconvert".into(),
        queue: Some("arn:aws:mediaconvert:us-east-1:123456789012:queues/Default".into()),
    }
}

fn media(width: u32, height: u32, has_audio: bool) -> MediaInfo {
    MediaInfo {
        width,
        height,
        duration_ms: Some(60_000),
        frame_rate: Some(FrameRate::per_second(30)),
        has_audio,
        rotation: 0,
    }
}

fn screen(size: (u32, u32), has_audio: bool) -> Recording {
    Recording {
        uri: "s3://vidpipe-uploads/streams/s-42.mp4".parse().unwrap(),
        media: media(size.0, size.1, has_audio),
    }
}

fn camera(size: (u32, u32)) -> Recording {
    Recording {
        uri: "s3://vidpipe-uploads/streams/s-42_camera.webm"
            .parse()
            .unwrap(),
        media: media(size.0, size.1, true),
    }
}

fn output() -> CompositeOutput {
    CompositeOutput::new("vidpipe-uploads", "streams/", "s-42").unwrap()
}

fn render_request(width: u32, height: u32) -> RenderRequest {
    let json = format!(
        r#"{{
          "render_id": "promo-42",
          "output": {{"uri": "s3://vidpipe-renders/renders/promo-42.mp4", "width": {width}, "height": {height}, "fps": 30}},
          "scenes": [
            {{"id": "intro", "duration_s": 4.0, "image": "s3://vidpipe-renders/assets/title.png"}},
            {{"id": "demo", "duration_s": 95.5, "video": "s3://vidpipe-renders/assets/demo.mp4", "start_s": 12.0,
             "overlay": {{"image": "s3://vidpipe-renders/assets/product.png", "x": "right", "y": "bottom", "scale": 0.3, "fade_ms": 500}}}},
            {{"id": "outro", "duration_s": 3.0, "image": "s3://vidpipe-renders/assets/end.png",
             "overlay": {{"image": "s3://vidpipe-renders/assets/product.png", "x": "center", "y": "top", "scale": 0.5}}}}
          ],
          "soundtrack": {{"voiceover": "s3://vidpipe-renders/assets/vo.mp3", "music": "s3://vidpipe-renders/assets/bed.mp3", "music_volume": 0.15}},
          "chunking": {{"max_chunk_s": 60, "min_chunk_s": 10, "max_concurrency": 10}},
          "renderer": "mediaconvert"
        }}"#
    );
    RenderRequest::from_json(&json).unwrap()
}

fn chunk_media() -> BTreeMap<String, MediaInfo> {
    let mut image = media(600, 400, false);
    image.duration_ms = Some(0);
    image.frame_rate = None;
    BTreeMap::from([
        ("s3://vidpipe-renders/assets/product.png".to_owned(), image),
        (
            "s3://vidpipe-renders/assets/demo.mp4".to_owned(),
            media(1920, 1080, true),
        ),
    ])
}

/// Chunks of a render whose overlays zoom and slide in, frame by frame; the slide is cut by the chunk boundary.
fn motion_cases(ctx: &JobContext) -> Vec<(String, CreateJobRequest)> {
    let mut cases = Vec::new();
    // Overlays that zoom and slide in, frame by frame; the slide is cut by the chunk boundary at frame 55.
    let motion = RenderRequest::from_json(
        r#"{
          "render_id": "motion",
          "output": {"uri": "s3://vidpipe-renders/renders/motion.mp4", "width": 1280, "height": 720, "fps": 30},
          "scenes": [
            {"id": "zoom", "duration_s": 1.5, "image": "s3://vidpipe-renders/assets/title.png",
             "overlay": {"image": "s3://vidpipe-renders/assets/product.png", "x": "right", "y": "bottom",
                         "scale": 0.3, "animation": "zoom", "duration_ms": 300}},
            {"id": "slide", "duration_s": 1.5, "image": "s3://vidpipe-renders/assets/end.png",
             "overlay": {"image": "s3://vidpipe-renders/assets/product.png", "x": "center", "y": "bottom",
                         "scale": 0.25, "animation": "slide", "duration_ms": 400}}
          ],
          "chunking": {"max_chunk_s": 2, "min_chunk_s": 1}
        }"#,
    )
    .unwrap();
    for chunk in [
        Chunk {
            index: 0,
            start_frame: 0,
            end_frame: 55,
        },
        Chunk {
            index: 1,
            start_frame: 55,
            end_frame: 90,
        },
    ] {
        let job = chunk_job(
            ctx,
            &motion,
            &chunk,
            &golden_chunk_at(&motion, chunk.index),
            &chunk_media(),
        )
        .unwrap();
        cases.push((format!("chunk_motion_1280x720_{}", chunk.index), job));
    }

    cases
}

/// Every golden case: file name (without `.json`) and the job the builders make.
fn cases() -> Vec<(String, CreateJobRequest)> {
    let ctx = context();
    let mut cases = Vec::new();
    for s in SCREENS {
        for c in CAMERAS {
            let name = format!("composite_screen{}x{}_camera{}x{}", s.0, s.1, c.0, c.1);
            let job = composite_job(
                &ctx,
                &output(),
                &screen(s, true),
                &camera(c),
                &CompositeOptions::default(),
            );
            cases.push((name, job.unwrap()));
        }
        let job = single_job(&ctx, &output(), &screen(s, true), &SingleOptions::default());
        cases.push((format!("single_screen{}x{}", s.0, s.1), job.unwrap()));
    }
    for c in CAMERAS {
        let job = single_job(&ctx, &output(), &camera(c), &SingleOptions::default());
        cases.push((format!("single_camera{}x{}", c.0, c.1), job.unwrap()));
    }
    let late_camera = CompositeOptions {
        camera_offset_ms: 1_500,
        ..Default::default()
    };
    let job = composite_job(
        &ctx,
        &output(),
        &screen((1920, 1080), false),
        &camera((640, 360)),
        &late_camera,
    );
    cases.push(("composite_camera_late_screen_silent".into(), job.unwrap()));
    let early_camera = CompositeOptions {
        camera_offset_ms: -2_250,
        ..Default::default()
    };
    let job = composite_job(
        &ctx,
        &output(),
        &screen((1920, 1080), true),
        &camera((720, 1280)),
        &early_camera,
    );
    cases.push(("composite_camera_early".into(), job.unwrap()));

    for (w, h) in [(1920, 1080), (854, 480), (720, 1280)] {
        let request = render_request(w, h);
        let chunks = [
            Chunk {
                index: 0,
                start_frame: 0,
                end_frame: 1_800,
            },
            Chunk {
                index: 1,
                start_frame: 1_800,
                end_frame: 3_075,
            },
        ];
        for chunk in chunks {
            let job = chunk_job(
                &ctx,
                &request,
                &chunk,
                &golden_chunk_at(&request, chunk.index),
                &chunk_media(),
            )
            .unwrap();
            cases.push((format!("chunk_{w}x{h}_{}", chunk.index), job));
        }
    }

    cases.extend(motion_cases(&ctx));

    let destination = "s3://vidpipe-previews/previews/p-7/".parse().unwrap();
    for (format, name) in [(PreviewFormat::Hls, "hls"), (PreviewFormat::Cmaf, "cmaf")] {
        for (source, label) in [
            (screen((2880, 1800), true), "screen2880x1800"),
            (camera((720, 1280)), "camera720x1280"),
        ] {
            let options = PreviewOptions {
                format,
                ..Default::default()
            };
            let job = preview_job(&ctx, &source, &destination, "p-7", &options).unwrap();
            cases.push((format!("preview_{name}_{label}"), job));
        }
    }
    let silent = screen((854, 480), false);
    let job = preview_job(
        &ctx,
        &silent,
        &destination,
        "p-7",
        &PreviewOptions {
            format: PreviewFormat::Cmaf,
            max_width: 1280,
        },
    );
    cases.push(("preview_cmaf_screen854x480_silent".into(), job.unwrap()));
    cases.extend(playback_cases(&ctx));
    cases.extend(call_preview_cases(&ctx));
    cases.extend(call_export_cases(&ctx));
    cases
}

/// Two chunks of a call's export at 1080p: four peers in a grid (peer-4 joins at 4.5 s), peer-2 pinned in the
/// speaker layout at 9 s, peer-1's screenshare from 12 s to 16 s; chunks of at most 10 s.
fn call_export_cases(ctx: &JobContext) -> Vec<(String, CreateJobRequest)> {
    use vidpipe_core::call::composition::CompositionState;
    use vidpipe_core::call::export::{ExportTarget, ExportTrack, export_layout, export_request};
    use vidpipe_core::job::Size;
    use vidpipe_core::render::{Chunking, Renderer};

    let folder = "s3://vidpipe-uploads/rooms/room-456/rec-123/";
    let track =
        |peer: &str, role: TrackRole, offset_ms: u64, duration_ms: u64, size: Size| ExportTrack {
            peer_id: PeerId::parse("peer_id", peer).unwrap(),
            role,
            uri: format!("{folder}tracks/{peer}/{}/t-{peer}.webm", role.as_str()),
            offset_ms,
            duration_ms,
            size,
        };
    let camera = Size::new(1280, 720);
    let tracks = [
        track("peer-1", TrackRole::Av, 0, 20_000, camera),
        track("peer-2", TrackRole::Av, 0, 20_000, Size::new(640, 480)),
        track("peer-3", TrackRole::Av, 200, 19_800, camera),
        track("peer-4", TrackRole::Av, 4_500, 15_500, Size::new(720, 1280)),
        track(
            "peer-1",
            TrackRole::Screenshare,
            12_000,
            4_000,
            Size::new(1920, 1080),
        ),
    ];
    let peers: Vec<PeerId> = ["peer-1", "peer-2", "peer-3", "peer-4"]
        .iter()
        .map(|p| PeerId::parse("peer_id", p).unwrap())
        .collect();
    let state = CompositionState::parse(
        br#"{"layout": "grid", "timeline": [{"t": 9000, "type": "layout", "layout": "speaker"},
            {"t": 9000, "type": "pin", "peer_id": "peer-2"}],
            "tracks": [{"peer_id": "peer-3", "muted": true}], "export": {"resolution": "1920x1080", "fps": 30}}"#,
        &peers,
    )
    .unwrap();
    let layout = export_layout(&state, &tracks).unwrap();
    let target = ExportTarget {
        render_id: "export-7".into(),
        uri: format!("{folder}processed/exports/export-7.mp4"),
        chunking: Chunking {
            max_chunk_s: 10.0,
            min_chunk_s: 2.0,
            max_concurrency: 10,
        },
        renderer: Renderer::MediaConvert,
    };
    let request = export_request(&state, &tracks, &layout, &target).unwrap();
    let media: BTreeMap<String, MediaInfo> = tracks
        .iter()
        .map(|t| {
            let info = MediaInfo {
                duration_ms: Some(t.duration_ms),
                ..media(t.size.width, t.size.height, t.role == TrackRole::Av)
            };
            (t.uri.clone(), info)
        })
        .collect();
    request
        .plan()
        .unwrap()
        .iter()
        .map(|chunk| {
            let job = chunk_job(
                ctx,
                &request,
                chunk,
                &golden_chunk_at(&request, chunk.index),
                &media,
            )
            .unwrap();
            (format!("chunk_call_export_1920x1080_{}", chunk.index), job)
        })
        .collect()
}

/// A call of two peers and a screenshare, each starting at another time after time zero: peer-1's camera at 0,
/// peer-2's at 1.3 s (then again at 30 s after leaving at 21.3 s), peer-1's screenshare at 5 s.
fn call_preview_cases(ctx: &JobContext) -> Vec<(String, CreateJobRequest)> {
    let folder: S3Uri = "s3://vidpipe-uploads/rooms/room-456/rec-123/"
        .parse()
        .unwrap();
    let recording_id = CallId::parse("recording_id", "rec-123").unwrap();
    let track =
        |peer: &str, role: &str, id: &str, size: (u32, u32), audio, offset_ms| PreviewTrack {
            recording: Recording {
                uri: format!("{folder}tracks/{peer}/{role}/{id}.webm")
                    .parse()
                    .unwrap(),
                media: MediaInfo {
                    duration_ms: Some(20_000),
                    ..media(size.0, size.1, audio)
                },
            },
            offset_ms,
        };
    let calls = [
        (
            "peer-1",
            TrackRole::Av,
            vec![track("peer-1", "av", "t-1", (1280, 720), true, 0)],
        ),
        (
            "peer-2",
            TrackRole::Av,
            vec![
                track("peer-2", "av", "t-3", (640, 480), true, 30_000),
                track("peer-2", "av", "t-2", (640, 480), true, 1_300),
            ],
        ),
        (
            "peer-1",
            TrackRole::Screenshare,
            vec![track(
                "peer-1",
                "screenshare",
                "t-4",
                (1920, 1080),
                false,
                5_000,
            )],
        ),
    ];
    calls
        .into_iter()
        .map(|(peer, role, tracks)| {
            let peer_id = PeerId::parse("peer_id", peer).unwrap();
            let preview = CallPreview {
                call_folder: &folder,
                recording_id: &recording_id,
                peer_id: &peer_id,
                role,
                tracks: &tracks,
            };
            let job = call_preview_job(ctx, &preview).unwrap();
            (format!("call_preview_{peer}_{}", role.as_str()), job)
        })
        .collect()
}

/// Playback packages: the ladder's sources (4K, 1080p, 720p, portrait 480x640, 360p without sound) as uploads, and a
/// composite, which is already an MP4.
fn playback_cases(ctx: &JobContext) -> Vec<(String, CreateJobRequest)> {
    let folder = "s3://vidpipe-uploads/streams/s-42_camera/playback/"
        .parse()
        .unwrap();
    let mut cases = Vec::new();
    for (w, h, audio) in [
        (3840, 2160, true),
        (1920, 1080, true),
        (1280, 720, true),
        (480, 640, true),
        (640, 360, false),
    ] {
        let source = Recording {
            uri: "s3://vidpipe-uploads/streams/s-42_camera.webm"
                .parse()
                .unwrap(),
            media: media(w, h, audio),
        };
        let job = playback_job(ctx, &source, &folder, &PlaybackOptions::default()).unwrap();
        let silent = if audio { "" } else { "_silent" };
        cases.push((format!("playback_{w}x{h}{silent}"), job));
    }
    let composite = Recording {
        uri: "s3://vidpipe-uploads/streams/s-42_composited.mp4"
            .parse()
            .unwrap(),
        media: media(1920, 1080, true),
    };
    let options = PlaybackOptions {
        source_is_mp4: true,
        ..Default::default()
    };
    let folder = "s3://vidpipe-uploads/streams/s-42_composited/playback/"
        .parse()
        .unwrap();
    let job = playback_job(ctx, &composite, &folder, &options).unwrap();
    cases.push(("playback_composite_1920x1080".into(), job));
    cases
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn builders_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let cases = cases();
    let mut mismatches = Vec::new();
    for (name, job) in &cases {
        let path = golden_dir().join(format!("{name}.json"));
        let json = serde_json::to_string_pretty(job).unwrap() + "\n";
        if update {
            std::fs::write(&path, &json).unwrap();
        } else {
            match std::fs::read_to_string(&path) {
                Ok(on_disk) if on_disk == json => {}
                Ok(_) => mismatches.push(format!("{name}: differs (UPDATE_GOLDEN=1 rewrites it)")),
                Err(e) => mismatches.push(format!("{name}: {e}")),
            }
        }
        // Every golden job deserializes back into the model unchanged.
        let back: CreateJobRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, job, "{name} does not round-trip");
    }
    let expected: Vec<String> = cases
        .iter()
        .map(|(name, _)| format!("{name}.json"))
        .collect();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !expected.contains(&file) {
            mismatches.push(format!("{file}: no builder case produces it (stale)"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden files out of date:\n{}",
        mismatches.join("\n")
    );
}
