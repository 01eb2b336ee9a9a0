//! The handler in this process, on moto: what it refuses, and a job the engine refuses ending in an ERROR event
//! with a successful invocation (Lambda must not retry what cannot succeed).

use std::time::{Duration, Instant};

use serde_json::json;
use vidpipe_aws::dynamo::DynamoCanceledJobs;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_core::ports::CanceledJobs;
use vidpipe_engine::{Assembler, Engine, Storage};
use vidpipe_lambda::ErrorType;
use vidpipe_testkit::fidelity::{golden, stream};
use vidpipe_testkit::unique_name;
use vidpipe_transcoder::{CancelMarks, Transcoder, TranscoderError};

use crate::common::Stack;

/// The transcoder on the stack, every job run whole.
pub fn transcoder(stack: &Stack) -> Transcoder {
    Transcoder {
        engine: Engine::new(Storage::with_s3(stack.s3.clone())),
        assembler: Assembler::new(Storage::with_s3(stack.s3.clone())),
        bus: EventBus::new(
            aws_sdk_eventbridge::Client::new(&stack.sdk),
            &stack.events.bus_name,
        ),
        documents: S3RequestStore(stack.s3.clone()),
        memory_mb: None,
        canceled: None,
        flow: None,
    }
}

#[tokio::test]
async fn a_malformed_invocation_fails_and_nothing_runs() {
    let stack = Stack::new().await;
    let transcoder = transcoder(&stack);
    for event in [
        json!({"hello": "world"}),
        json!(["job"]),
        json!({"job": {"Settings": {}}}),
        json!({"job": {"Settings": {}}, "job_id": "a/../b"}),
        json!({"probe": "not-a-uri"}),
    ] {
        let error = transcoder.handle(event.clone(), None).await.unwrap_err();
        assert!(
            matches!(error, TranscoderError::InvalidInvocation(_)),
            "{event}: {error}"
        );
        assert_eq!(error.error_type(), "InvalidInvocation");
    }
    assert_eq!(stack.events.drain().await, Vec::<serde_json::Value>::new());
}

#[tokio::test]
async fn a_job_the_engine_refuses_ends_in_an_error_event_not_a_failed_invocation() {
    let stack = Stack::new().await;
    let transcoder = transcoder(&stack);
    let root = stack.root();
    let refused = [
        // Not a CreateJob document at all.
        ("not-a-document", json!("composite")),
        // A document the engine cannot read (Inputs must be a list).
        (
            "bad-settings",
            json!({"Settings": {"Inputs": "screen.mp4", "OutputGroups": []},
            "UserMetadata": {"app": "vidpipe", "stream": "s-1"}}),
        ),
        // The builders' single job, whose recording was never uploaded.
        (
            "missing-input",
            golden(
                stream::SINGLE_JOB,
                &[("s3://vidpipe-uploads/streams/", format!("{root}streams/"))],
            ),
        ),
    ];
    for (job_id, job) in &refused {
        let answer = transcoder
            .handle(json!({"job_id": job_id, "job": job}), None)
            .await
            .unwrap();
        assert_eq!(answer["job_id"], *job_id);
        assert_eq!(answer["status"], "ERROR", "{answer}");
    }
    let ids: Vec<String> = refused.iter().map(|(id, _)| (*id).to_owned()).collect();
    let events = stack
        .job_events(&ids, Duration::from_secs(30), String::new)
        .await;
    let codes: Vec<_> = events
        .iter()
        .map(|job| {
            let statuses: Vec<_> = job.iter().map(|e| e["detail"]["status"].clone()).collect();
            assert_eq!(statuses, ["PROGRESSING", "ERROR"], "{job:?}");
            assert!(job.iter().all(|e| e["source"] == "vidpipe.transcoder"
                && e["detail-type"] == "MediaConvert Job State Change"));
            job[1]["detail"]["errorCode"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(codes, [1030, 1030, 1010]);
    assert_eq!(events[1][1]["detail"]["userMetadata"]["stream"], "s-1");
    // Nothing was written.
    let listed = stack
        .s3
        .list_objects_v2()
        .bucket(&stack.bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test]
async fn a_job_still_running_at_the_deadline_is_stopped_and_reported_in_error() {
    let stack = Stack::new().await;
    let transcoder = transcoder(&stack);
    let job = single_job(&stack).await;
    // The deadline has passed: the job is stopped at its first wait.
    let answer = transcoder
        .handle(json!({"job_id": "late", "job": job}), Some(Instant::now()))
        .await
        .unwrap();
    assert_eq!(answer["status"], "ERROR", "{answer}");
    let events = stack
        .job_events(&["late".to_owned()], Duration::from_secs(30), String::new)
        .await;
    let last = &events[0].last().unwrap()["detail"];
    assert_eq!(last["status"], "ERROR");
    assert!(
        last["errorMessage"].as_str().unwrap().contains("timeout"),
        "{last}"
    );
    assert_eq!(
        last["userMetadata"]["stream"], "s-42",
        "the job's metadata routes it"
    );
    let outputs = stack
        .s3
        .list_objects_v2()
        .bucket(&stack.bucket)
        .prefix("streams/s-42_composited")
        .send()
        .await
        .unwrap();
    assert_eq!(outputs.key_count(), Some(0), "nothing stored");
}

/// The transcoder on the stack with cancel marks in a fresh table, looked for every 100 ms.
async fn canceling_transcoder(stack: &Stack) -> (Transcoder, DynamoCanceledJobs) {
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let table = unique_name("marks");
    vidpipe_aws::provision::create_table(&ddb, &table)
        .await
        .unwrap();
    let marks = DynamoCanceledJobs::new(ddb, table);
    let transcoder = Transcoder {
        canceled: Some(CancelMarks {
            marks: marks.clone(),
            every: Duration::from_millis(100),
        }),
        ..transcoder(stack)
    };
    (transcoder, marks)
}

/// The single-source job of the fidelity fixtures, its source uploaded, writing under the stack's `streams/`.
async fn single_job(stack: &Stack) -> serde_json::Value {
    let sources = tempfile::tempdir().unwrap();
    stream::write_single_source(sources.path());
    stack
        .upload(
            &sources.path().join("s-42_camera.webm"),
            "streams/s-42_camera.webm",
        )
        .await;
    golden(
        stream::SINGLE_JOB,
        &[(
            "s3://vidpipe-uploads/streams/",
            format!("{}streams/", stack.root()),
        )],
    )
}

#[tokio::test]
async fn a_job_marked_canceled_stops_before_it_stores_anything() {
    let stack = Stack::new().await;
    let (transcoder, marks) = canceling_transcoder(&stack).await;
    let job = single_job(&stack).await;

    // Marked before its invocation runs (a queued or retried invocation): it does not start.
    marks.mark_canceled("early", u64::MAX).await.unwrap();
    let answer = transcoder
        .handle(json!({"job_id": "early", "job": job}), None)
        .await
        .unwrap();
    assert_eq!(answer, json!({"job_id": "early", "status": "CANCELED"}));

    // Marked while it runs: it stops at its next look and reports CANCELED, with the job's metadata.
    let marking = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        marks.mark_canceled("late", u64::MAX).await.unwrap();
    };
    let (answer, ()) = tokio::join!(
        transcoder.handle(json!({"job_id": "late", "job": job}), None),
        marking
    );
    assert_eq!(
        answer.unwrap(),
        json!({"job_id": "late", "status": "CANCELED"})
    );
    // The events are on the bus before the invocation answers.
    let mut events = stack.events.drain().await;
    events.sort_by_key(|e| e["detail"]["timestamp"].as_u64());
    let statuses: Vec<_> = events
        .iter()
        .map(|e| (e["detail"]["jobId"].clone(), e["detail"]["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("late"), json!("PROGRESSING")),
            (json!("late"), json!("CANCELED"))
        ],
        "the early job put no event"
    );
    assert_eq!(events[1]["detail"]["userMetadata"]["stream"], "s-42");
    assert_eq!(
        stack.keys("streams/s-42_composited").await,
        Vec::<String>::new()
    );

    // Not marked, the same job runs to its end and stores its output.
    let answer = transcoder
        .handle(json!({"job_id": "kept", "job": job}), None)
        .await
        .unwrap();
    assert_eq!(answer["status"], "COMPLETE", "{answer}");
    assert!(!stack.keys("streams/s-42_composited").await.is_empty());
}

#[tokio::test]
async fn a_probe_of_a_file_that_is_not_media_is_the_inputs_fault() {
    let stack = Stack::new().await;
    let transcoder = transcoder(&stack);
    stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key("notes.mp4")
        .body(b"not a video".to_vec().into())
        .send()
        .await
        .unwrap();
    for key in ["notes.mp4", "missing.mp4"] {
        let error = transcoder
            .handle(json!({"probe": format!("{}{key}", stack.root())}), None)
            .await
            .unwrap_err();
        assert_eq!(error.error_type(), "InputUnusable", "{key}: {error}");
    }
}

#[test]
fn the_sample_events_are_invocations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/transcoder");
    for name in [
        "job.json",
        "probe.json",
        "chunk.json",
        "chunk-of-a-job.json",
        "flow-failed.json",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        vidpipe_core::transcoder::Invocation::parse(&event)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Stores `json` at `key` in the stack's bucket.
async fn put_json(stack: &Stack, key: &str, json: &serde_json::Value) {
    stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(key)
        .body(json.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_chunk_of_a_render_is_rendered_as_its_mediaconvert_job_and_failures_fail_the_invocation()
{
    use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};
    let stack = Stack::new().await;
    let transcoder = transcoder(&stack);
    let dir = tempfile::tempdir().unwrap();
    // A peer's browser-like recording (VP8 WebM), 3 s of red, tiled into the right half of a black 320x180 frame.
    let camera = dir.path().join("camera.webm");
    media::write_webm(
        &camera,
        &VideoSpec::new(Picture::Solid("red".into()), 160, 90, 30, 3.0),
    );
    stack.upload(&camera, "rooms/r/c/tracks/p/av/t.webm").await;
    let root = stack.root();
    let source = format!("{root}rooms/r/c/tracks/p/av/t.webm");
    let work = "rooms/r/c/processed/exports/work/e-1/";
    let request = json!({"render_id": "e-1",
        "output": {"uri": format!("{root}rooms/r/c/processed/exports/e-1.mp4"), "width": 320, "height": 180, "fps": 30},
        "scenes": [{"id": "grid", "duration_s": 2.0,
                    "tiles": [{"video": source, "start_s": 0.5, "x": 160, "y": 44, "width": 160, "height": 90}]}],
        "renderer": {"lambda": "arn:aws:lambda:us-east-1:000000000000:function:vidpipe-transcoder"}});
    put_json(&stack, &format!("{work}request.json"), &request).await;
    let media = transcoder
        .engine
        .media_info(&vidpipe_core::s3uri::S3Uri::parse_str(&source).unwrap())
        .await
        .unwrap();
    put_json(
        &stack,
        &format!("{work}media.json"),
        &json!({source.clone(): media}),
    )
    .await;
    let chunk = |index: u32, start: u64, end: u64| {
        json!({"request_uri": format!("{root}{work}request.json"), "media_uri": format!("{root}{work}media.json"),
               "chunk": {"index": index, "start_frame": start, "end_frame": end,
                         "output_uri": format!("{root}{work}chunks/{index:05}.mp4")}})
    };
    let answer = transcoder.handle(chunk(1, 30, 60), None).await.unwrap();
    assert_eq!(
        answer,
        json!({"output_uri": format!("{root}{work}chunks/00001.mp4"), "cost_usd": null})
    );
    let local = stack.download(work, dir.path()).await;
    let rendered = std::path::PathBuf::from(format!("{local}chunks/00001.mp4"));
    let frames = Frame::all(&rendered);
    assert_eq!(frames.len(), 30, "frames [30, 60) of the render");
    for frame in [&frames[0], &frames[29]] {
        assert_eq!((frame.width, frame.height), (320, 180));
        assert!(
            colour_close(frame.pixel(240, 89), [255, 0, 0], 40),
            "the tile: {:?}",
            frame.pixel(240, 89)
        );
        assert!(
            colour_close(frame.pixel(80, 89), [0, 0, 0], 24),
            "black beside it"
        );
    }
    // No job events: the render flow counts a chunk its renderer answered.
    assert_eq!(stack.events.drain().await, Vec::<serde_json::Value>::new());

    // A request that is not there, and a chunk whose source is gone: the invocation fails with a catchable type.
    let mut missing = chunk(0, 0, 30);
    missing["request_uri"] = json!(format!("{root}{work}nothing.json"));
    let error = transcoder.handle(missing, None).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidChunk", "{error}");
    stack
        .s3
        .delete_object()
        .bucket(&stack.bucket)
        .key("rooms/r/c/tracks/p/av/t.webm")
        .send()
        .await
        .unwrap();
    let error = transcoder.handle(chunk(0, 0, 30), None).await.unwrap_err();
    assert_eq!(error.error_type(), "ChunkFailed", "{error}");
}
