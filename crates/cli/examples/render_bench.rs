//! End-to-end local render time against one job: the same seven-scene request (stills and frame-counter videos, a
//! sine voiceover) rendered by `vidpipe render` (chunks in parallel, mix, join, notify) and as a single chunk job
//! covering every frame, run on the engine. Starts its own moto server.
//!
//! Run: `cargo build -p vidpipe-cli && cargo run -p vidpipe-cli --example render_bench -- target/debug/vidpipe
//! [WIDTHxHEIGHT] [FPS] [SECONDS_PER_SCENE_UNIT]` (defaults 640x360, 30, 1.0: 300 s of video).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use vidpipe_core::job::{JobContext, chunk_job};
use vidpipe_core::render::{Chunk, RenderRequest};
use vidpipe_engine::{Engine, IgnoreUpdates, JobStatus, Storage};
use vidpipe_testkit::media::{self, Picture, VideoSpec, write_mp4, write_png};
use vidpipe_testkit::moto::MotoServer;
use vidpipe_testkit::{unique_name, workspace_root};

async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, path: &Path, key: &str) -> String {
    vidpipe_testkit::s3::upload_file(s3, bucket, path, key).await;
    format!("s3://{bucket}/{key}")
}

/// The output's size and rate, and the length of one scene unit in seconds.
struct Bench {
    width: u32,
    height: u32,
    fps: u32,
    unit: f64,
}

impl Bench {
    /// The request's seven scenes over sources generated and uploaded to `bucket`, and its voice-over.
    async fn sources(&self, s3: &aws_sdk_s3::Client, bucket: &str, dir: &Path) -> (Value, String) {
        let (width, height, unit) = (self.width, self.height, self.unit);
        let mut counters = Vec::new();
        for (index, seconds) in [(0, 70.0), (1, 50.0)] {
            let path = dir.join(format!("counter-{index}.mp4"));
            write_mp4(
                &path,
                &VideoSpec::new(
                    Picture::FrameCounter,
                    width,
                    height,
                    self.fps,
                    seconds * unit,
                ),
            );
            counters.push(upload(s3, bucket, &path, &format!("assets/counter-{index}.mp4")).await);
        }
        let mut stills = Vec::new();
        for (i, gray) in [96u8, 160, 48, 208].into_iter().enumerate() {
            let path = dir.join(format!("still-{gray}.png"));
            write_png(
                &path,
                &format!("0x{gray:02x}{gray:02x}{gray:02x}"),
                width,
                height,
            );
            stills.push(upload(s3, bucket, &path, &format!("assets/still-{i}.png")).await);
        }
        let voiceover = dir.join("vo.flac");
        media::ffmpeg(&[
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!(
                "sine=frequency=440:sample_rate=48000:duration={}",
                300.0 * unit
            ),
            "-ac".into(),
            "1".into(),
            voiceover.display().to_string(),
        ]);
        let voiceover = upload(s3, bucket, &voiceover, "assets/vo.flac").await;
        let scenes = json!([
            {"id": "s0", "duration_s": 20.0 * unit, "image": stills[0]},
            {"id": "s1", "duration_s": 60.0 * unit, "video": counters[0], "start_s": 5.0 * unit},
            {"id": "s2", "duration_s": 30.0 * unit, "image": stills[1]},
            {"id": "s3", "duration_s": 50.0 * unit, "video": counters[1]},
            {"id": "s4", "duration_s": 40.0 * unit, "image": stills[2]},
            {"id": "s5", "duration_s": 60.0 * unit, "video": counters[0], "start_s": 2.5 * unit},
            {"id": "s6", "duration_s": 40.0 * unit, "image": stills[3]}
        ]);
        (scenes, voiceover)
    }
}

/// Seconds `vidpipe render` takes for `request`, end to end (chunks in parallel, mix, join, notify).
fn time_chunked(vidpipe: &str, request: &Value, table: &str, dir: &Path) -> f64 {
    let request_path = dir.join("request.json");
    std::fs::write(&request_path, request.to_string()).expect("write request");
    let started = Instant::now();
    let output = Command::new(vidpipe)
        .arg("render")
        .arg(&request_path)
        .arg("--definition")
        .arg(workspace_root().join("statemachines/render.asl.json"))
        .env("AWS_ENDPOINT_URL", MotoServer::shared().endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("S3_FORCE_PATH_STYLE", "true")
        .env("TABLE_NAME", table)
        .env_remove("WEBHOOK_URL")
        .output()
        .expect("run vidpipe render");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    elapsed
}

/// Seconds the engine takes for `request` as one job covering every frame (video only, as chunk jobs are), and
/// the frames of the video.
async fn time_one_job(s3: &aws_sdk_s3::Client, request: Value) -> (f64, u64) {
    let one: RenderRequest = serde_json::from_value(request).expect("request");
    let context = JobContext {
        role: "arn:aws:iam::000000000000:role/bench".into(),
        queue: None,
    };
    let whole = Chunk {
        index: 0,
        start_frame: 0,
        end_frame: one.total_frames(),
    };
    let job = chunk_job(
        &context,
        &one,
        &whole,
        &one.work_folder("bench").expect("work folder").chunk(0),
        &BTreeMap::new(),
    )
    .expect("one job");
    let engine = Engine::new(Storage::with_s3(s3.clone()));
    let started = Instant::now();
    let finished = engine
        .run(
            &serde_json::to_value(&job).expect("job JSON"),
            &mut IgnoreUpdates,
        )
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(
        finished.status,
        JobStatus::Complete,
        "{:?}",
        finished.error_message
    );
    (elapsed, whole.end_frame)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let vidpipe = args
        .get(1)
        .expect("usage: render_bench PATH_TO_VIDPIPE [WxH] [FPS] [UNIT]");
    let (width, height) = args
        .get(2)
        .and_then(|s| s.split_once('x'))
        .map_or((640, 360), |(w, h)| {
            (w.parse().expect("width"), h.parse().expect("height"))
        });
    let bench = Bench {
        width,
        height,
        fps: args.get(3).map_or(30, |f| f.parse().expect("fps")),
        unit: args.get(4).map_or(1.0, |u| u.parse().expect("unit")),
    };

    let sdk = MotoServer::shared().sdk_config().await;
    let s3 = vidpipe_aws::s3::client(&sdk, true);
    let bucket = unique_name("bench");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let table = unique_name("bench");
    vidpipe_aws::provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
        .await
        .expect("table");
    let dir = tempfile::tempdir().expect("temp dir");
    let (scenes, voiceover) = bench.sources(&s3, &bucket, dir.path()).await;
    let (fps, unit) = (bench.fps, bench.unit);
    let request = |render_id: &str| -> Value {
        json!({
            "render_id": render_id,
            "output": {"uri": format!("s3://{bucket}/renders/{render_id}.mp4"), "width": width, "height": height, "fps": fps},
            "scenes": scenes,
            "soundtrack": {"voiceover": voiceover},
            "chunking": {"max_chunk_s": 60.0 * unit, "min_chunk_s": 10.0 * unit, "max_concurrency": 10}
        })
    };

    let chunked = time_chunked(vidpipe, &request("bench-chunked"), &table, dir.path());
    let (single, total) = time_one_job(&s3, request("bench-one")).await;
    let total_s = 300.0 * unit;
    println!(
        "{width}x{height} {fps} fps, {total_s} s ({total} frames): chunked render end to end {chunked:.1} s \
         ({:.2}x real time); one job for the video alone {single:.1} s ({:.2}x real time)",
        total_s / chunked,
        total_s / single
    );
}
