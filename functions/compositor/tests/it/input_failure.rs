//! A recording that passes the probe but cannot be decoded fails the job that reads it. The job's ERROR event (an
//! input failure, naming the recording to make the output from alone) reaches the compositor, which makes the output
//! from the screen alone, then from the camera alone if the screen fails too; the stream fails only when neither can
//! be used. A usable recording is never dropped.

use serde_json::{Value, json};
use vidpipe_core::stream_status::StreamStatus;

use crate::common::{Stack, both, failed_events, fixture};

/// MediaConvert's ERROR event for the stream's current job, with error `code`, as EventBridge delivers it.
async fn job_error(stack: &Stack, stream: &str, code: u32) -> Value {
    let state = stack.state(stream).await;
    let job = stack
        .transcoder
        .jobs_for(stream)
        .pop()
        .expect("a job was submitted");
    let mut event = fixture("job-input-error.json");
    event["id"] = json!(format!("{stream}-{}-{code}", state.generation));
    event["detail"]["jobId"] = json!(state.job_id);
    event["detail"]["errorCode"] = json!(code);
    event["detail"]["userMetadata"] = json!(job.user_metadata);
    event
}

/// The recording the stream's current job reads, by the end of its key.
fn single_input(stack: &Stack, stream: &str) -> String {
    let job = stack.transcoder.jobs_for(stream).pop().unwrap();
    let inputs = job.settings.inputs.unwrap();
    assert_eq!(inputs.len(), 1, "a single-source job");
    inputs[0].file_input.clone().unwrap()
}

#[tokio::test]
async fn a_composite_that_fails_on_a_recording_is_made_from_the_screen_then_from_the_camera() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "if1").await;
    stack.compositor.handle(screen_event).await.unwrap();
    stack.compositor.handle(camera_event).await.unwrap();
    let composite = stack.transcoder.jobs_for("if1").pop().unwrap();
    assert_eq!(
        composite.user_metadata.as_ref().unwrap()["input_fallback"],
        "screen"
    );

    // The composite fails on an input: the screen alone, which names the camera in case the screen was the culprit.
    let error = job_error(&stack, "if1", 1010).await;
    let answer = stack.compositor.handle(error.clone()).await.unwrap();
    assert_eq!(answer["outcome"], "submitted", "{answer}");
    assert_eq!(
        (answer["job_kind"].as_str(), answer["generation"].as_u64()),
        (Some("single"), Some(2))
    );
    assert!(single_input(&stack, "if1").ends_with("/if1.mp4"));
    let screen_alone = stack.transcoder.jobs_for("if1").pop().unwrap();
    assert_eq!(
        screen_alone.user_metadata.as_ref().unwrap()["input_fallback"],
        "camera"
    );
    let item = stack.item("if1").await;
    assert_eq!(item["fallback_reason"].as_s().unwrap(), "camera_unusable");
    assert_eq!(item["status"].as_s().unwrap(), "processing");
    assert!(failed_events(&stack).is_empty());

    // A redelivery of that event buys nothing more.
    let again = stack.compositor.handle(error).await.unwrap();
    assert_eq!(again["outcome"], "nothing", "{again}");
    assert_eq!(stack.transcoder.jobs_for("if1").len(), 2);

    // The screen alone fails too: the camera alone, which names nothing (its failure fails the stream).
    let error = job_error(&stack, "if1", 1040).await;
    let answer = stack.compositor.handle(error).await.unwrap();
    assert_eq!(answer["outcome"], "submitted", "{answer}");
    assert!(single_input(&stack, "if1").ends_with("/if1_camera.webm"));
    let camera_alone = stack.transcoder.jobs_for("if1").pop().unwrap();
    assert!(
        !camera_alone
            .user_metadata
            .as_ref()
            .unwrap()
            .contains_key("input_fallback")
    );
    let state = stack.state("if1").await;
    assert_eq!(
        (state.generation, state.status),
        (3, Some(StreamStatus::Processing))
    );
    assert_eq!(state.fallback_reason.as_deref(), Some("screen_unusable"));
    let error = job_error(&stack, "if1", 1010).await;
    let answer = stack.compositor.handle(error).await.unwrap();
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    assert_eq!(stack.transcoder.jobs_for("if1").len(), 3);
}

#[tokio::test]
async fn a_failure_that_is_not_about_the_recordings_buys_no_fallback() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "if2").await;
    stack.compositor.handle(screen_event).await.unwrap();
    stack.compositor.handle(camera_event).await.unwrap();
    // Invalid settings, an output that cannot be written, the service's own failure: the notifier fails the stream.
    for code in [1030, 1401, 1999, 3450] {
        let error = job_error(&stack, "if2", code).await;
        let answer = stack.compositor.handle(error).await.unwrap();
        assert_eq!(answer["outcome"], "ignored", "{code}: {answer}");
    }
    // So is any other state of a job.
    let mut complete = job_error(&stack, "if2", 1010).await;
    complete["detail"]["status"] = json!("COMPLETE");
    let answer = stack.compositor.handle(complete).await.unwrap();
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    assert_eq!(stack.transcoder.jobs_for("if2").len(), 1);
    assert_eq!(stack.state("if2").await.generation, 1);
}

#[tokio::test]
async fn a_malformed_job_event_is_answered_not_failed() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "if3").await;
    stack.compositor.handle(screen_event).await.unwrap();
    stack.compositor.handle(camera_event).await.unwrap();
    let mut no_time = job_error(&stack, "if3", 1010).await;
    no_time["time"] = json!("yesterday");
    let answer = stack.compositor.handle(no_time).await.unwrap();
    assert!(answer["rejected"].is_string(), "{answer}");
    let mut bad_generation = job_error(&stack, "if3", 1010).await;
    bad_generation["detail"]["userMetadata"]["generation"] = json!("../1");
    let answer = stack.compositor.handle(bad_generation).await.unwrap();
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    assert_eq!(stack.transcoder.jobs_for("if3").len(), 1);
}
