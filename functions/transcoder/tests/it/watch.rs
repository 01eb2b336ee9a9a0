//! The transcoder as a process behind `cargo lambda watch`, submitted to through the compositor's
//! `LambdaTranscoder` (Lambda's `Invoke` API: a synchronous probe, asynchronous jobs), on moto's S3 and EventBridge:
//! the builders' composite, single, chunk and playback jobs, checked as the engine's tests check them
//! (`vidpipe_testkit::fidelity`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use vidpipe_aws::lambda::LambdaTranscoder;
use vidpipe_core::job::CreateJobRequest;
use vidpipe_core::ports::Transcoder;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_engine::box_types;
use vidpipe_testkit::fidelity::{complete_detail, golden, motion, playback, stream};
use vidpipe_testkit::lambda_watch::LambdaWatch;
use vidpipe_testkit::media::Frame;
use vidpipe_testkit::moto::{MotoServer, sdk_config_at};

use crate::common::Stack;

/// The golden jobs' folder of recordings, replaced per job so the jobs' files never meet.
const STREAMS: &str = "s3://vidpipe-uploads/streams/";

fn job(value: Value) -> CreateJobRequest {
    serde_json::from_value(value).expect("a CreateJob request")
}

/// Writes the jobs' sources and uploads them, each job's into a folder of its own.
async fn upload_sources(stack: &Stack, work: &Path) {
    let sources = work.join("sources");
    std::fs::create_dir_all(&sources).unwrap();
    stream::write_composite_sources(&sources);
    stack
        .upload(&sources.join("s-42.mp4"), "composite/s-42.mp4")
        .await;
    for folder in ["composite", "single"] {
        let camera = sources.join("s-42_camera.webm");
        stack
            .upload(&camera, &format!("{folder}/s-42_camera.webm"))
            .await;
    }
    let phone = work.join("phone");
    std::fs::create_dir_all(&phone).unwrap();
    playback::write_source(&phone);
    stack
        .upload(&phone.join("s-42_camera.webm"), "phone/s-42_camera.webm")
        .await;
    motion::write_sources(&sources);
    for name in ["black.png", "product.png"] {
        stack
            .upload(&sources.join(name), &format!("render/{name}"))
            .await;
    }
}

#[tokio::test]
async fn the_builders_jobs_run_behind_cargo_lambda_watch_with_the_engines_fidelity() {
    let started = Instant::now();
    let stack = Stack::new().await;
    let work = tempfile::tempdir().unwrap();
    upload_sources(&stack, work.path()).await;

    let watch = LambdaWatch::serve(
        "vidpipe-transcoder",
        Path::new(env!("CARGO_BIN_EXE_vidpipe-transcoder")),
        &[
            (
                "AWS_ENDPOINT_URL",
                MotoServer::shared().endpoint().to_owned(),
            ),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("S3_FORCE_PATH_STYLE", "true".into()),
            ("EVENT_BUS_NAME", stack.events.bus_name.clone()),
            ("RUST_LOG", "info".into()),
        ],
        &work.path().join("transcoder"),
    );
    let lambda =
        aws_sdk_lambda::Client::new(&sdk_config_at(watch.endpoint(), "testing", "testing").await);
    let transcoder = LambdaTranscoder::new(lambda, "vidpipe-transcoder");

    // A probe, answered synchronously.
    let camera = S3Uri::parse_str(&format!("{}single/s-42_camera.webm", stack.root())).unwrap();
    let info = transcoder
        .probe(&camera)
        .await
        .unwrap_or_else(|e| panic!("probe: {e}\n{}", watch.log()));
    assert_eq!((info.width, info.height, info.has_audio), (640, 360, true));
    let built = started.elapsed();

    let root = stack.root();
    let chunks = motion::chunk_jobs(&format!("{root}render/"));
    let mut jobs = vec![
        job(golden(
            stream::COMPOSITE_JOB,
            &[(STREAMS, format!("{root}composite/"))],
        )),
        job(golden(
            stream::SINGLE_JOB,
            &[(STREAMS, format!("{root}single/"))],
        )),
        job(golden(
            playback::PLAYBACK_JOB,
            &[
                (playback::PLAYBACK_FOLDER, format!("{root}phone/playback/")),
                (STREAMS, format!("{root}phone/")),
            ],
        )),
    ];
    jobs.extend(chunks.iter().map(|chunk| job(chunk.job.clone())));
    let mut ids = Vec::new();
    for request in &jobs {
        let id = transcoder.create_job(request).await.unwrap();
        assert_eq!(
            Some(&id),
            request.client_request_token.as_ref(),
            "the id is the token"
        );
        ids.push(id);
    }
    let events = stack
        .job_events(&ids, Duration::from_secs(600), || watch.log())
        .await;
    let ran = started.elapsed() - built;
    for job in &events {
        assert_eq!(job[0]["detail"]["status"], "PROGRESSING", "{job:?}");
        assert!(job.iter().all(|e| e["source"] == "vidpipe.transcoder"));
        // Priced on Lambda's basis (the function behind the watch says it has 3008 MB).
        let cost = &complete_detail(job)["userMetadata"]["cost_lambda_micro_usd"];
        assert!(
            cost.as_str().is_some_and(|c| c.parse::<u64>().is_ok()),
            "{cost}"
        );
    }

    let out = work.path().join("out");
    let composite = stack.download("composite/", &out.join("composite")).await;
    let output = format!("{composite}s-42_composited.mp4");
    let named = format!("{root}composite/s-42_composited.mp4");
    stream::assert_composite(Path::new(&output), &named, complete_detail(&events[0]));
    assert_eq!(
        box_types(Path::new(&output)).unwrap(),
        ["ftyp", "moov", "mdat"]
    );

    let single = stack.download("single/", &out.join("single")).await;
    let named = format!("{root}single/s-42_composited.mp4");
    stream::assert_single(
        Path::new(&format!("{single}s-42_composited.mp4")),
        &named,
        complete_detail(&events[1]),
    );

    let package = stack
        .download("phone/playback/", &out.join("playback"))
        .await;
    let named = format!("{root}phone/playback/");
    playback::assert_playback(&package, &named, complete_detail(&events[2]), work.path());

    let render = stack.download("render/", &out.join("render")).await;
    let mut frames = Vec::new();
    for (chunk, job) in chunks.iter().zip(&events[3..]) {
        complete_detail(job);
        let chunk_frames = Frame::all(Path::new(&format!("{render}{}", chunk.key)));
        assert_eq!(chunk_frames.len() as u64, chunk.frames);
        frames.extend(chunk_frames);
    }
    motion::assert_frames(&frames);
    eprintln!(
        "transcoder behind cargo lambda watch: up and probed in {built:.1?}, {} jobs ran in {ran:.1?}",
        ids.len()
    );
}
