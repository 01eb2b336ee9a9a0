//! The handler in this process, on moto: what it refuses, and a job the engine refuses ending in an ERROR event
//! with a successful invocation (Lambda must not retry what cannot succeed).

use std::time::{Duration, Instant};

use serde_json::json;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_engine::{Engine, Storage};
use vidpipe_lambda::ErrorType;
use vidpipe_testkit::fidelity::{golden, stream};
use vidpipe_transcoder::{Transcoder, TranscoderError};

use crate::common::Stack;

fn transcoder(stack: &Stack) -> Transcoder {
    Transcoder {
        engine: Engine::new(Storage::with_s3(stack.s3.clone())),
        bus: EventBus::new(
            aws_sdk_eventbridge::Client::new(&stack.sdk),
            &stack.events.bus_name,
        ),
        memory_mb: None,
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
    let sources = tempfile::tempdir().unwrap();
    stream::write_single_source(sources.path());
    stack
        .upload(
            &sources.path().join("s-42_camera.webm"),
            "streams/s-42_camera.webm",
        )
        .await;
    let job = golden(
        stream::SINGLE_JOB,
        &[(
            "s3://vidpipe-uploads/streams/",
            format!("{}streams/", stack.root()),
        )],
    );
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
    for name in ["job.json", "probe.json"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        vidpipe_core::transcoder::Invocation::parse(&event)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
