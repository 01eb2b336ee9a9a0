//! The compositor driven as on one machine: moto's own S3 events through SQS, the local partner timer running the
//! real state machine definition, and that definition checked by statelint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vidpipe_aws::provision::{Resources, provision};
use vidpipe_compositor::handler::system_now;
use vidpipe_compositor::local::LocalTimer;
use vidpipe_core::pairing::OutputKind;
use vidpipe_core::ports::execution_name;
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_testkit::{unique_name, workspace_root};

use crate::common::{PREFIX, Stack};

/// Receives messages until `count` arrived (or 10 s passed) and wraps them as Lambda's SQS event.
async fn sqs_event(sqs: &aws_sdk_sqs::Client, queue_url: &str, count: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut records = Vec::new();
    while records.len() < count && Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            records.push(json!({
                "messageId": m.message_id().unwrap(), "receiptHandle": m.receipt_handle().unwrap(),
                "body": m.body().unwrap(), "attributes": {}, "messageAttributes": {},
                "md5OfBody": m.md5_of_body().unwrap_or_default(), "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:objects", "awsRegion": "us-east-1",
            }));
        }
    }
    assert_eq!(records.len(), count, "moto delivered every event");
    json!({"Records": records})
}

#[tokio::test]
async fn moto_s3_events_via_sqs_drive_one_composite() {
    let stack = Stack::new().await;
    let queue = unique_name("objects");
    let provisioned = provision(
        &stack.sdk,
        &stack.s3,
        &Resources {
            bucket: stack.bucket.clone(),
            key_prefix: PREFIX.into(),
            retention_days: 30,
            allowed_origins: vec![],
            table: stack.table.clone(),
            queue: Some(queue),
        },
    )
    .await
    .unwrap();
    let queue_url = provisioned.queue_url.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    stack.put("videos/m1.mp4", Some(1_795_194_000_000)).await;
    stack
        .put("videos/m1_camera.webm", Some(1_795_194_000_500))
        .await;
    stack.put("videos/m1_composited.mp4", None).await;
    // The test event, the two recordings and our own output.
    let batch = sqs_event(&sqs, &queue_url, 4).await;
    let bodies: Vec<&str> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert!(bodies.iter().any(|b| b.contains("s3:TestEvent")));
    assert!(
        bodies.iter().any(|b| b.contains("videos%2Fm1_camera.webm")),
        "moto encodes '/'"
    );

    let answer = stack.compositor.handle(batch.clone()).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let jobs = stack.transcoder.jobs_for("m1");
    assert_eq!(jobs.len(), 1);
    let overlay = &jobs[0].settings.inputs.as_ref().unwrap()[0]
        .video_overlays
        .as_ref()
        .unwrap()[0];
    assert_eq!(overlay.start_timecode.as_deref(), Some("00:00:00:15"));
    // SQS redelivers the whole batch: nothing new happens.
    let again = stack.compositor.handle(batch).await.unwrap();
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert_eq!(stack.transcoder.jobs().len(), 1);
}

#[tokio::test]
async fn the_local_partner_timer_runs_the_definition_and_makes_the_fallback() {
    let stack = Stack::new().await;
    let local = LocalTimer::new().expect("the definition loads");
    let mut compositor = stack.compositor.clone().with_timer(Arc::new(local.clone()));
    compositor.config.composite_wait = Duration::from_secs(1);
    compositor.now_ms = system_now();
    let compositor = Arc::new(compositor);
    local.bind(&compositor);

    let etag = stack.put("videos/t1_camera.webm", None).await;
    let event = stack.event("videos/t1_camera.webm", &etag);
    let answer = compositor.handle(event.clone()).await.unwrap();
    assert_eq!(answer["records"][0]["outcome"], "timer_started");
    // A duplicate starts no second execution.
    compositor.handle(event).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    while stack.transcoder.jobs().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let jobs = stack.transcoder.jobs_for("t1");
    assert_eq!(jobs.len(), 1, "one fallback after the wait");
    let metadata = jobs[0].user_metadata.as_ref().unwrap();
    assert_eq!(metadata["kind"], "single");
    assert_eq!(
        jobs[0].settings.inputs.as_ref().unwrap()[0]
            .file_input
            .as_deref(),
        Some(format!("s3://{}/videos/t1_camera.webm", stack.bucket).as_str())
    );
    let state = stack.state("t1").await;
    assert_eq!(state.job_kind, Some(OutputKind::Single));
    assert_eq!(state.status, Some(StreamStatus::Processing));
    let item = stack.item("t1").await;
    assert_eq!(item["fallback_reason"].as_s().unwrap(), "screen_missing");
}

#[test]
fn execution_names_are_deterministic_and_valid_for_step_functions() {
    let name = execution_name(&"s".repeat(128), "etag-1");
    assert_eq!(name, execution_name(&"s".repeat(128), "etag-1"));
    assert_ne!(name, execution_name("s", "etag-1"));
    assert_ne!(
        name,
        execution_name(&"s".repeat(128), "etag-2"),
        "a re-upload gets its own timer"
    );
    assert!(name.len() <= 80);
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
}

#[test]
fn the_partner_timeout_definition_passes_statelint() {
    let root = workspace_root();
    let statelint = root.join(".venv/bin/statelint");
    assert!(
        statelint.exists(),
        "statelint is missing: run scripts/setup.sh (it installs it into .venv)"
    );
    let output = std::process::Command::new(&statelint)
        .arg(root.join("statemachines/partner-timeout.asl.json"))
        .output()
        .expect("statelint runs");
    assert!(
        output.status.success(),
        "statelint: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
