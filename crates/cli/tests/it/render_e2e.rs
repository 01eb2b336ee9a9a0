//! `vidpipe render` end to end on one machine: moto for S3, DynamoDB and EventBridge, generated media (gray stills,
//! frame-counter videos, a sine-tone voiceover), the real chunker, job-builder, engine, assembler and notifier.
//!
//! Every output frame is checked against what the plan puts there (a still's gray level, or the source's frame
//! counter, one of them at twice the output's frame rate), so nothing is dropped or repeated at any chunk boundary;
//! a product overlay is sampled where the plan places it; the tone is measured on the decoded audio across every
//! boundary; the output's video packets are the chunks' packets byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use vidpipe_core::ports::RenderStore;
use vidpipe_core::render::record::RenderRecord;
use vidpipe_testkit::audio::{self, RATE, tone_continuity};
use vidpipe_testkit::media::{
    self, COUNTER_BIT_WIDTH, COUNTER_BITS, Picture, VideoSpec, write_mp4, write_png,
    write_png_with_corrupt_pixels,
};
use vidpipe_testkit::moto::{BusCapture, MotoServer};
use vidpipe_testkit::{unique_name, workspace_root};

const WIDTH: u32 = 320;
const HEIGHT: u32 = 180;
const FPS: u32 = 10;
const TONE_HZ: f64 = 440.0;

/// What the plan puts in one scene.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A still of this gray level.
    Gray(u8),
    /// The counter video `index`, from its frame `start`, `step` source frames per output frame.
    Counter { index: usize, start: u32, step: u32 },
}

/// A bucket, a status table and a captured bus on moto, and the environment `vidpipe render` runs with.
struct Stack {
    s3: aws_sdk_s3::Client,
    bucket: String,
    bus: BusCapture,
    table: String,
    dir: tempfile::TempDir,
}

impl Stack {
    async fn new() -> Self {
        let sdk = MotoServer::shared().sdk_config().await;
        let s3 = vidpipe_aws::s3::client(&sdk, true);
        let bucket = unique_name("render");
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let table = unique_name("status");
        vidpipe_aws::provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
            .await
            .unwrap();
        let bus = BusCapture::create(&sdk, "vidpipe").await;
        Self {
            s3,
            bucket,
            bus,
            table,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    async fn upload(&self, path: &Path, key: &str) {
        vidpipe_testkit::s3::upload_file(&self.s3, &self.bucket, path, key).await;
    }

    async fn download(&self, uri: &str) -> PathBuf {
        let key = uri.strip_prefix(&format!("s3://{}/", self.bucket)).unwrap();
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let path = self.dir.path().join(key.replace('/', "_"));
        std::fs::write(&path, object.body.collect().await.unwrap().into_bytes()).unwrap();
        path
    }

    /// Uploads a gray PNG still.
    async fn still(&self, gray: u8) -> String {
        let path = self.dir.path().join(format!("still-{gray}.png"));
        write_png(
            &path,
            &format!("0x{gray:02x}{gray:02x}{gray:02x}"),
            WIDTH,
            HEIGHT,
        );
        let key = format!("assets/still-{gray}.png");
        self.upload(&path, &key).await;
        self.uri(&key)
    }

    /// Uploads a frame-counter video of `seconds` at `fps`.
    async fn counter_video(&self, index: usize, fps: u32, seconds: f64) -> String {
        self.counter_video_with(
            index,
            VideoSpec::new(Picture::FrameCounter, WIDTH, HEIGHT, fps, seconds),
        )
        .await
    }

    /// Uploads a frame-counter video of `spec`.
    async fn counter_video_with(&self, index: usize, spec: VideoSpec) -> String {
        let path = self.dir.path().join(format!("counter-{index}.mp4"));
        write_mp4(&path, &spec);
        let key = format!("assets/counter-{index}.mp4");
        self.upload(&path, &key).await;
        self.uri(&key)
    }

    /// Uploads a lossless mono sine-tone voiceover of `seconds`.
    async fn voiceover(&self, seconds: f64) -> String {
        let path = self.dir.path().join("vo.flac");
        media::ffmpeg(&[
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!("sine=frequency={TONE_HZ}:sample_rate=48000:duration={seconds}"),
            "-ac".into(),
            "1".into(),
            path.display().to_string(),
        ]);
        self.upload(&path, "assets/vo.flac").await;
        self.uri("assets/vo.flac")
    }

    /// Runs `vidpipe render` on `request`; returns the exit status and the printed outcome.
    fn render(&self, request: &Value, extra: &[String]) -> (bool, Value) {
        // A file of its own: renders may run at once.
        let path = self
            .dir
            .path()
            .join(format!("{}.json", unique_name("request")));
        std::fs::write(&path, request.to_string()).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_vidpipe"))
            .arg("render")
            .arg(&path)
            .args(extra)
            .env("AWS_ENDPOINT_URL", MotoServer::shared().endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("S3_FORCE_PATH_STYLE", "true")
            .env("TABLE_NAME", &self.table)
            .env("EVENT_BUS_NAME", &self.bus.bus_name)
            .env_remove("WEBHOOK_URL")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let outcome = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("vidpipe render printed no JSON ({e}); stderr: {stderr}"));
        eprintln!("{stderr}");
        (output.status.success(), outcome)
    }

    /// The `render.*` events published so far.
    async fn render_events(&self) -> Vec<Value> {
        self.bus
            .drain()
            .await
            .into_iter()
            .filter(|e| {
                e["detail-type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("render."))
            })
            .collect()
    }
}

fn request(stack: &Stack, render_id: &str, scenes: Vec<Value>, max_chunk_s: u32) -> Value {
    json!({
        "render_id": render_id,
        "output": {"uri": stack.uri(&format!("renders/{render_id}.mp4")), "width": WIDTH, "height": HEIGHT, "fps": FPS},
        "scenes": scenes,
        "chunking": {"max_chunk_s": max_chunk_s, "min_chunk_s": 2, "max_concurrency": 4}
    })
}

/// The middle row of every frame, in gray, decoded in one pass.
fn middle_rows(path: &Path) -> Vec<Vec<u8>> {
    rows_at(path, HEIGHT / 2)
}

/// Row `y` of every frame, in gray, decoded in one pass.
fn rows_at(path: &Path, y: u32) -> Vec<Vec<u8>> {
    let out = media::ffmpeg(&[
        "-i".into(),
        path.display().to_string(),
        "-map".into(),
        "0:v:0".into(),
        "-vf".into(),
        format!("format=gray,crop={WIDTH}:1:0:{y}"),
        "-f".into(),
        "rawvideo".into(),
        "-pix_fmt".into(),
        "gray".into(),
        "-".into(),
    ]);
    out.stdout
        .chunks_exact(WIDTH as usize)
        .map(<[u8]>::to_vec)
        .collect()
}

fn counter(row: &[u8]) -> u32 {
    (0..COUNTER_BITS)
        .filter(|bit| row[(bit * COUNTER_BIT_WIDTH + COUNTER_BIT_WIDTH / 2) as usize] > 128)
        .map(|bit| 1 << bit)
        .sum()
}

/// Whether `row` shows what `source` puts at frame `offset` of its scene.
fn shows(row: &[u8], source: Source, offset: u32) -> bool {
    match source {
        Source::Gray(gray) => row.iter().all(|&p| p.abs_diff(gray) <= 12),
        // At another source rate, the frame shown is one of the source frames of the output frame's time slot
        // (which one is the resampler's choice): every slot is shown once, in order.
        Source::Counter { start, step, .. } => {
            (start + offset * step..start + (offset + 1) * step).contains(&counter(row))
        }
    }
}

/// Size and MD5 of every packet of the first video stream.
fn video_packets(path: &Path) -> Vec<String> {
    media::ffprobe(&[
        "-select_streams".into(),
        "v:0".into(),
        "-show_data_hash".into(),
        "MD5".into(),
        "-show_entries".into(),
        "packet=size,data_hash".into(),
        "-of".into(),
        "csv=p=0".into(),
        path.display().to_string(),
    ])
    .lines()
    .map(String::from)
    .collect()
}

fn frame_rate(path: &Path) -> String {
    media::ffprobe(&[
        "-select_streams".into(),
        "v:0".into(),
        "-show_entries".into(),
        "stream=r_frame_rate".into(),
        "-of".into(),
        "csv=p=0".into(),
        path.display().to_string(),
    ])
    .trim()
    .to_owned()
}

/// Every frame of `output` shows what the plan of `layout` puts there, so nothing is dropped or repeated at a chunk
/// boundary.
fn assert_every_frame_follows_the_plan(output: &Path, layout: &[(f64, Source)]) {
    let rows = middle_rows(output);
    let total: f64 = layout.iter().map(|(seconds, _)| seconds).sum();
    assert_eq!(rows.len(), (total * f64::from(FPS)) as usize);
    let mut scene_start = 0u32;
    for &(seconds, source) in layout {
        let frames = (seconds * f64::from(FPS)) as u32;
        for offset in 0..frames {
            let frame = scene_start + offset;
            assert!(
                shows(&rows[frame as usize], source, offset),
                "frame {frame} (scene frame {offset} of {source:?}) shows counter {} / row start {:?}",
                counter(&rows[frame as usize]),
                &rows[frame as usize][..4]
            );
        }
        scene_start += frames;
    }
}

/// The overlay shows in scene 4 (frames 1600 to 2000), 10 frames in from its half-second fades, on both sides of
/// the chunk boundary at frame 1800, over the still's gray beside it; the still scenes show no overlay.
fn assert_the_overlay_shows_in_scene_4_only(output: &Path) {
    let overlay_rows = rows_at(output, 150);
    for (frame, row) in overlay_rows.iter().enumerate() {
        let in_overlay = (1610..1990).contains(&frame);
        if in_overlay {
            assert!(
                row[270] > 235 && row[100].abs_diff(48) <= 12,
                "frame {frame}: overlay pixel {}, background {}",
                row[270],
                row[100]
            );
        } else if let Some(gray) = [(0..200, 96), (1300..1600, 160), (2600..3000, 208)]
            .into_iter()
            .find_map(|(range, gray)| range.contains(&frame).then_some(gray))
        {
            assert!(
                row.iter().all(|p| p.abs_diff(gray) <= 12),
                "frame {frame}: no overlay expected over gray {gray}"
            );
        }
    }
    assert!(
        overlay_rows[1600][270] < overlay_rows[1610][270],
        "the overlay fades in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seven_scene_request_renders_in_chunks_joins_losslessly_and_notifies_ready() {
    let stack = Stack::new().await;
    // Seven scenes, 300 s at 10 fps (3,000 frames), in 60 s chunks. Counter video 1 runs at 20 fps, twice the
    // output's rate: its scene shows every other source frame. Its scene crosses the boundary at 120 s, so a chunk
    // starts in it, with a still (generated at 10 fps) after it.
    let source_fps = [FPS, 2 * FPS];
    let counters = [
        stack.counter_video(0, source_fps[0], 90.0).await,
        stack.counter_video(1, source_fps[1], 32.0).await,
    ];
    let counter_scene = |index, start| Source::Counter {
        index,
        start,
        step: source_fps[index] / FPS,
    };
    let layout: [(f64, Source); 7] = [
        (20.0, Source::Gray(96)),
        (80.0, counter_scene(0, 50)),
        (30.0, counter_scene(1, 20)),
        (30.0, Source::Gray(160)),
        (40.0, Source::Gray(48)),
        (60.0, counter_scene(0, 25)),
        (40.0, Source::Gray(208)),
    ];
    // A white 64x32 product overlay at the bottom right of scene 4 (160 s to 200 s, across the boundary at 180 s):
    // a quarter of the width, 3 % margins, so 80x40 at (230, 130) in the 320x180 frame.
    let overlay_path = stack.dir.path().join("product.png");
    write_png(&overlay_path, "white", 64, 32);
    stack.upload(&overlay_path, "assets/product.png").await;
    let overlay = json!({"image": stack.uri("assets/product.png"), "x": "right", "y": "bottom",
                         "scale": 0.25, "fade_ms": 500});
    let mut scenes = Vec::new();
    for (i, (seconds, source)) in layout.iter().enumerate() {
        let mut scene = match source {
            Source::Gray(gray) => {
                json!({"id": format!("s{i}"), "duration_s": seconds, "image": stack.still(*gray).await})
            }
            Source::Counter { index, start, .. } => {
                json!({"id": format!("s{i}"), "duration_s": seconds,
                "video": counters[*index], "start_s": f64::from(*start) / f64::from(source_fps[*index])})
            }
        };
        if i == 4 {
            scene["overlay"] = overlay.clone();
        }
        scenes.push(scene);
    }
    let mut request = request(&stack, "seven-scenes", scenes, 60);
    request["soundtrack"] = json!({"voiceover": stack.voiceover(300.0).await});

    let (succeeded, outcome) = stack.render(&request, &["--name".into(), "seven-run".into()]);
    assert!(succeeded, "{outcome}");
    let output_uri = stack.uri("renders/seven-scenes.mp4");
    assert_eq!(outcome["output"]["status"], "ready");
    assert_eq!(outcome["output"]["output_uri"], output_uri.as_str());
    assert_eq!(outcome["output"]["frames"], 3000);

    // The planned frames, size and rate.
    let output = stack.download(&output_uri).await;
    assert_eq!(media::video_frame_count(&output), 3000);
    let info = media::probe(&output);
    let video = info.video().unwrap();
    assert_eq!((video.width, video.height), (WIDTH, HEIGHT));
    assert_eq!(frame_rate(&output), "10/1");

    assert_every_frame_follows_the_plan(&output, &layout);
    assert_the_overlay_shows_in_scene_4_only(&output);

    // The plan had 5 chunks; the output's video packets are theirs, byte for byte: the join did not re-encode.
    let mut chunk_packets = Vec::new();
    for index in 0..5 {
        let chunk = stack
            .download(&stack.uri(&format!("renders/work/seven-run/chunks/{index:05}.mp4")))
            .await;
        chunk_packets.extend(video_packets(&chunk));
    }
    assert_eq!(chunk_packets.len(), 3000);
    assert_eq!(video_packets(&output), chunk_packets);

    // The tone runs unbroken through every chunk boundary (60, 120, 180, 240 s): no gap, no click.
    let samples = audio::decode_mono(&output);
    let window = RATE as usize / 100;
    let report = tone_continuity(&samples, 0..(299 * RATE) as usize, TONE_HZ, window);
    assert!(report.max_phase_drift < 0.05, "{report:?}");
    assert!(report.max_residual < 0.05, "{report:?}");
    assert!(
        report.min_amplitude > 0.5 * report.max_amplitude,
        "{report:?}"
    );

    let events = stack.render_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "render.ready");
    assert_eq!(events[0]["detail"]["data"]["render_id"], "seven-scenes");
    assert_eq!(
        events[0]["detail"]["data"]["output_uri"],
        output_uri.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_chunk_ends_in_render_failed_with_the_cause() {
    let stack = Stack::new().await;
    let still = stack.still(96).await;
    // The overlay image's header is a valid PNG's, so planning (which reads only the header) accepts it, but its
    // pixel data is garbage: the job of the chunk that shows it fails.
    let corrupt_path = stack.dir.path().join("corrupt.png");
    write_png_with_corrupt_pixels(&corrupt_path, 64, 32);
    stack.upload(&corrupt_path, "assets/corrupt.png").await;
    let overlay = json!({"image": stack.uri("assets/corrupt.png"), "x": "right", "y": "bottom", "scale": 0.25});
    let scenes = vec![
        json!({"id": "a", "duration_s": 6.0, "image": still}),
        json!({"id": "b", "duration_s": 6.0, "image": still, "overlay": overlay}),
    ];
    let request = request(&stack, "broken", scenes, 6);

    let (succeeded, outcome) = stack.render(&request, &[]);
    assert!(!succeeded);
    assert_eq!(outcome["status"], "FAILED");
    assert_eq!(outcome["error"]["Error"], "States.TaskFailed");
    let cause = outcome["error"]["Cause"].as_str().unwrap();
    assert!(
        cause.contains("\"ErrorCode\":1010") && cause.contains("assets/corrupt.png"),
        "{cause}"
    );

    let events = stack.render_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "render.failed");
    let data = &events[0]["detail"]["data"];
    assert_eq!(data["render_id"], "broken");
    assert_eq!(data["error"]["error"], "States.TaskFailed");
    assert!(
        data["error"]["cause"]
            .as_str()
            .unwrap()
            .contains("assets/corrupt.png"),
        "{data}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_fails_the_plan_by_name() {
    let stack = Stack::new().await;
    let still = stack.still(96).await;
    let missing = stack.uri("assets/never-uploaded.mp4");
    let scenes = vec![
        json!({"id": "a", "duration_s": 6.0, "image": still}),
        json!({"id": "b", "duration_s": 6.0, "video": missing}),
    ];
    let request = request(&stack, "missing", scenes, 6);

    // The plan fails, so the render is reported under the execution's name.
    let (succeeded, outcome) = stack.render(&request, &["--name".into(), "missing".into()]);
    assert!(!succeeded);
    assert_eq!(outcome["error"]["Error"], "InvalidRenderRequest");
    let cause = outcome["error"]["Cause"].as_str().unwrap();
    assert!(cause.contains("never-uploaded.mp4"), "{cause}");
    let events = stack.render_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "render.failed");
    assert_eq!(events[0]["detail"]["data"]["render_id"], "missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_renderer_renders_the_chunks_and_the_join_keeps_every_frame() {
    let stack = Stack::new().await;
    let still = stack.still(96).await;
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:test-renderer";
    let scenes = (0..3)
        .map(|i| json!({"id": format!("s{i}"), "duration_s": 10.0, "image": still}))
        .collect();
    let mut request = request(&stack, "custom", scenes, 12);
    request["renderer"] = json!({"lambda": arn});
    let renderer = format!(
        "{arn}={} {}",
        workspace_root().join(".venv/bin/python").display(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/test_renderer.py")
            .display()
    );

    // The render's item, as POST /renders makes it: each chunk the renderer writes is reported to it.
    let renders = vidpipe_aws::dynamo::DynamoRenders::new(
        aws_sdk_dynamodb::Client::new(&MotoServer::shared().sdk_config().await),
        &stack.table,
    );
    let item = RenderRecord::queued("custom", Some("jwt:user-1"), 1, 1_900_000_000);
    assert!(renders.create_render(&item).await.unwrap());

    let (succeeded, outcome) = stack.render(&request, &["--renderer".into(), renderer]);
    assert!(succeeded, "{outcome}");
    assert_eq!(outcome["output"]["frames"], 300);
    let item = renders.get_render("custom").await.unwrap().unwrap();
    assert_eq!(
        item.chunks.done.len(),
        3,
        "every chunk counted done: {item:?}"
    );
    let (cost, chunks) = item.cost().expect("the renderer's costs");
    assert_eq!(chunks, 3);
    assert_eq!(cost.micro_usd, 3 * 4_200);
    assert_eq!(cost.basis, vidpipe_core::cost::CostBasis::RendererReported);
    // The test renderer draws the output frame index: the joined video counts 0..300 with nothing missing.
    let output = stack.download(&stack.uri("renders/custom.mp4")).await;
    let counters: Vec<u32> = middle_rows(&output)
        .iter()
        .map(|row| counter(row))
        .collect();
    assert_eq!(counters, (0..300).collect::<Vec<u32>>());
    let events = stack.render_events().await;
    let ended: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail-type"] != "render.progress")
        .collect();
    assert_eq!(ended.len(), 1, "{events:?}");
    assert_eq!(ended[0]["detail-type"], "render.ready");
    // The announcement carries the cost the item sums.
    assert_eq!(
        ended[0]["detail"]["data"]["cost"],
        json!({"estimated_usd": 0.0126, "output_minutes": 0.0, "basis": "renderer-reported", "chunks": 3})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_scene_keeps_its_own_sound_in_its_scene_only_across_a_chunk_boundary() {
    let stack = Stack::new().await;
    // 11 s at 10 fps in chunks of at most 4 s: [0, 30) [30, 70) [70, 110). The clip scene (3 s to 8 s, its frames
    // and its 660 Hz tone from 1 s in) is cut by the chunk boundary at 7 s; a voice-over runs under everything.
    let clip = stack
        .counter_video_with(
            0,
            VideoSpec::new(Picture::FrameCounter, WIDTH, HEIGHT, FPS, 8.0).with_tone(660),
        )
        .await;
    let layout = [
        (3.0, Source::Gray(96)),
        (
            5.0,
            Source::Counter {
                index: 0,
                start: 10,
                step: 1,
            },
        ),
        (3.0, Source::Gray(160)),
    ];
    let scenes = vec![
        json!({"id": "intro", "duration_s": 3.0, "image": stack.still(96).await}),
        json!({"id": "clip", "duration_s": 5.0, "video": clip, "start_s": 1.0}),
        json!({"id": "outro", "duration_s": 3.0, "image": stack.still(160).await}),
    ];
    let mut request = request(&stack, "scene-sound", scenes, 4);
    request["soundtrack"] = json!({"voiceover": stack.voiceover(11.0).await});

    let (succeeded, outcome) = stack.render(&request, &[]);
    assert!(succeeded, "{outcome}");
    assert_eq!(outcome["output"]["frames"], 110);
    let output = stack.download(&stack.uri("renders/scene-sound.mp4")).await;
    assert_every_frame_follows_the_plan(&output, &layout);

    let samples = audio::decode_mono(&output);
    let at = |s: f64| (s * f64::from(RATE)) as usize;
    let clip_tone =
        |from: f64, to: f64| audio::fit_tone(&samples, at(from)..at(to), 660.0).amplitude;
    let heard = clip_tone(3.05, 7.95);
    // ffmpeg's sine is 0.125 full scale: the clip's sound at its own level, in its scene only.
    assert!((heard / 0.125 - 1.0).abs() < 0.12, "clip tone {heard}");
    assert!(
        clip_tone(0.05, 2.95) < heard * 0.01,
        "no clip sound before its scene"
    );
    assert!(
        clip_tone(8.05, 10.95) < heard * 0.01,
        "no clip sound after its scene"
    );
    // Unbroken through the chunk boundary at 7 s: no gap, no click. 50 ms windows hold whole cycles of both tones,
    // so each fit ignores the other tone.
    let window = RATE as usize / 20;
    let report = tone_continuity(&samples, at(3.05)..at(7.95), 660.0, window);
    assert!(report.max_phase_drift < 0.05, "{report:?}");
    assert!(
        report.min_amplitude > 0.8 * report.max_amplitude,
        "{report:?}"
    );
    let voice = tone_continuity(&samples, 0..at(10.9), TONE_HZ, window);
    assert!(voice.max_phase_drift < 0.05, "{voice:?}");
}

/// The gray level of every frame's middle row (its mean), decoded from `path`.
fn grays(path: &Path) -> Vec<u8> {
    middle_rows(path)
        .iter()
        .map(|row| (row.iter().map(|&v| u32::from(v)).sum::<u32>() / row.len() as u32) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_renders_at_once_to_one_output_never_mix_chunks_and_one_whole_video_wins() {
    let stack = Stack::new().await;
    // Two renders of the same output (the same render id even), each a 6 s still in two 3 s chunks: one dark, one
    // light. Before work folders were the execution's own, both wrote and joined `renders/same/chunks/*`.
    let (dark, light) = (stack.still(40).await, stack.still(220).await);
    let render_of = |still: &str| {
        request(
            &stack,
            "same",
            vec![json!({"id": "s", "duration_s": 6.0, "image": still})],
            4,
        )
    };
    let (a, b) = (render_of(&dark), render_of(&light));
    let (run_a, run_b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| stack.render(&a, &["--name".into(), "run-a".into()]));
        let b = scope.spawn(|| stack.render(&b, &["--name".into(), "run-b".into()]));
        (a.join().unwrap(), b.join().unwrap())
    });

    // The output is written once, never over the other: one run succeeds, the other fails with OutputExists, and
    // the video is wholly the winner's.
    let (winner, loser, gray) = match (run_a.0, run_b.0) {
        (true, false) => (run_a.1, run_b.1, 40),
        (false, true) => (run_b.1, run_a.1, 220),
        other => panic!(
            "exactly one render writes the output: {other:?}\n{}\n{}",
            run_a.1, run_b.1
        ),
    };
    assert_eq!(winner["output"]["status"], "ready", "{winner}");
    assert_eq!(loser["status"], "FAILED", "{loser}");
    assert_eq!(loser["error"]["Error"], "OutputExists", "{loser}");
    // Each run's chunks are its own still's, in its own work folder.
    for (run, gray) in [("run-a", 40), ("run-b", 220)] {
        for index in 0..2 {
            let chunk = stack
                .download(&stack.uri(&format!("renders/work/{run}/chunks/{index:05}.mp4")))
                .await;
            let found = grays(&chunk);
            assert_eq!(found.len(), 30, "{run} chunk {index}");
            assert!(
                found.iter().all(|g| g.abs_diff(gray) <= 4),
                "{run} chunk {index}: {found:?}"
            );
        }
    }
    let output = stack.download(&stack.uri("renders/same.mp4")).await;
    let found = grays(&output);
    assert_eq!(found.len(), 60);
    assert!(found.iter().all(|g| g.abs_diff(gray) <= 4), "{found:?}");
}
