//! The compositor's handler on moto's DynamoDB and S3, with a counting transcoder: pairing in either order,
//! duplicates, claims that expire, failures that are retried or final, malformed events, and what is ignored.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::{Stack, both, camera, failed_events, s3_event, screen};
use serde_json::{Value, json};
use vidpipe_compositor::TransientError;
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::pairing::{ClaimOutcome, OutputKind, Source, Submission};
use vidpipe_core::ports::{RecordingStore, StreamStatusStore, StreamStore};
use vidpipe_core::stream_status::StreamStatus;

#[tokio::test]
async fn screen_then_camera_submits_one_composite_with_the_contract_metadata() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s1").await;
    let first = stack.compositor.handle(screen_event.clone()).await.unwrap();
    assert_eq!(first["records"][0]["outcome"], "timer_started");
    assert_eq!(
        stack.timer.0.lock().unwrap().as_slice(),
        &[("s1".to_owned(), Duration::from_secs(900))]
    );
    let second = stack.compositor.handle(camera_event.clone()).await.unwrap();
    assert_eq!(second["records"][0]["outcome"], "submitted", "{second}");
    for duplicate in [screen_event, camera_event] {
        let answer = stack.compositor.handle(duplicate).await.unwrap();
        assert_eq!(answer["records"][0]["outcome"], "nothing");
        assert_eq!(answer["records"][0]["reason"], "already_submitted");
    }

    let jobs = stack.transcoder.jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    let metadata = job.user_metadata.as_ref().unwrap();
    assert_eq!(metadata["app"], "vidpipe");
    assert_eq!(metadata["kind"], "composite");
    assert_eq!(metadata["stream"], "s1");
    assert_eq!(metadata["generation"], "1");
    assert!(
        job.client_request_token
            .as_ref()
            .unwrap()
            .starts_with("composite-")
    );
    // The camera started 1.5 s after the screen: the overlay starts at 00:00:01:15 (30 fps).
    let input = &job.settings.inputs.as_ref().unwrap()[0];
    let overlay = &input.video_overlays.as_ref().unwrap()[0];
    assert_eq!(overlay.start_timecode.as_deref(), Some("00:00:01:15"));
    assert_eq!(
        input.file_input.as_deref(),
        Some(format!("s3://{}/videos/s1.mp4", stack.bucket).as_str())
    );

    let state = stack.state("s1").await;
    assert_eq!(state.status, Some(StreamStatus::Processing));
    assert_eq!(state.generation, 1);
    assert_eq!(state.job_kind, Some(OutputKind::Composite));
    assert_eq!(state.job_id.as_deref(), Some("job-1"));
    assert!(state.claim.is_none());

    let events = stack.publisher.0.lock().unwrap().clone();
    assert_eq!(events.len(), 4, "one recording.uploaded per delivery");
    assert!(
        events
            .iter()
            .all(|e| e.event_type == DomainEventType::RecordingUploaded)
    );
    assert_eq!(
        events[0].id, events[2].id,
        "a duplicate delivery has the same id"
    );
    assert_ne!(events[0].id, events[1].id);
    assert_eq!(events[1].data["kind"], "camera");
    assert_eq!(events[1].data["stream"], "s1");
}

#[tokio::test]
async fn camera_first_gives_the_same_single_composite_and_no_offset_without_metadata() {
    let stack = Stack::new().await;
    let s = stack.put(&screen("s2"), None).await;
    let c = stack.put(&camera("s2"), Some(1_795_194_001_500)).await;
    stack
        .compositor
        .handle(stack.event(&camera("s2"), &c))
        .await
        .unwrap();
    let answer = stack
        .compositor
        .handle(stack.event(&screen("s2"), &s))
        .await
        .unwrap();
    assert_eq!(answer["records"][0]["outcome"], "submitted");
    let jobs = stack.transcoder.jobs();
    assert_eq!(jobs.len(), 1);
    let overlay = &jobs[0].settings.inputs.as_ref().unwrap()[0]
        .video_overlays
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        overlay.start_timecode, None,
        "no started-at on the screen: offset 0"
    );
}

#[tokio::test]
async fn outputs_foreign_keys_and_other_buckets_never_trigger_work() {
    let stack = Stack::new().await;
    let etag = stack.put("videos/s3_composited.mp4", None).await;
    let keys = [
        "videos/s3_composited.mp4",
        "elsewhere/s3.mp4",
        "videos/nested/s3.mp4",
        "videos/s3_camera.mp4",
        "videos/my talk.mp4",
    ];
    for key in keys {
        let answer = stack
            .compositor
            .handle(stack.event(key, &etag))
            .await
            .unwrap();
        assert_eq!(
            answer["records"][0]["outcome"], "ignored",
            "{key}: {answer}"
        );
    }
    let foreign = s3_event("someone-elses-bucket", "videos/s3.mp4", &etag);
    let answer = stack.compositor.handle(foreign).await.unwrap();
    assert_eq!(answer["records"][0]["reason"], "another bucket");
    assert!(stack.transcoder.jobs().is_empty());
    assert!(stack.timer.0.lock().unwrap().is_empty());
    assert!(stack.streams.get("s3").await.unwrap().is_none());
}

#[tokio::test]
async fn a_generic_recording_is_marked_uploaded_and_announced() {
    let stack = Stack::new().await;
    let recordings = vidpipe_aws::dynamo::DynamoRecordings::new(stack.ddb.clone(), &stack.table);
    let key = "videos/recordings/room-1/rec-1/talk.webm";
    recordings
        .put_new(&vidpipe_core::recording::Recording {
            recording_id: "rec-1".into(),
            owner: "u1".into(),
            kind: vidpipe_core::upload::UploadKind::Recording,
            key: key.into(),
            content_type: "video/webm".into(),
            size: 0,
            room_id: Some("room-1".into()),
            stream_name: None,
            filename: Some("talk.webm".into()),
            started_at: None,
            status: vidpipe_core::recording::RecordingStatus::Uploading,
            created_at_ms: 1,
            expires_at: 1,
            multipart: None,
        })
        .await
        .unwrap();
    let etag = stack.put(key, None).await;
    let answer = stack
        .compositor
        .handle(stack.event(key, &etag))
        .await
        .unwrap();
    assert_eq!(answer["records"][0]["outcome"], "recording_uploaded");
    let stored = recordings.get("rec-1").await.unwrap().unwrap();
    assert_eq!(
        stored.status,
        vidpipe_core::recording::RecordingStatus::Uploaded
    );
    assert_eq!(stored.size, 1234);
    let events = stack.publisher.0.lock().unwrap().clone();
    assert_eq!(events[0].event_type, DomainEventType::RecordingUploaded);
    assert_eq!(events[0].data["recording_id"], "rec-1");
    assert_eq!(events[0].data["key"], key);
    // An upload nobody signed is logged and ignored.
    let stray = "videos/recordings/room-1/rec-9/x.webm";
    let etag = stack.put(stray, None).await;
    let answer = stack
        .compositor
        .handle(stack.event(stray, &etag))
        .await
        .unwrap();
    assert_eq!(answer["records"][0]["outcome"], "ignored");
}

#[tokio::test]
async fn a_render_asset_and_a_calls_track_are_marked_uploaded_and_announced_by_kind() {
    use vidpipe_core::upload::UploadKind;
    let stack = Stack::new().await;
    let recordings = vidpipe_aws::dynamo::DynamoRecordings::new(stack.ddb.clone(), &stack.table);
    for (id, kind, key, content_type) in [
        (
            "asset-1",
            UploadKind::Asset,
            "videos/assets/jwt%3Au1/asset-1/logo.png",
            "image/png",
        ),
        (
            "track-1",
            UploadKind::Track,
            "videos/rooms/room-1/rec-1/tracks/peer-1/av/track-1.webm",
            "video/webm",
        ),
    ] {
        recordings
            .put_new(&vidpipe_core::recording::Recording {
                recording_id: id.into(),
                owner: "jwt:u1".into(),
                kind,
                key: key.into(),
                content_type: content_type.into(),
                size: 0,
                room_id: None,
                stream_name: None,
                filename: None,
                started_at: None,
                status: vidpipe_core::recording::RecordingStatus::Uploading,
                created_at_ms: 1,
                expires_at: 1,
                multipart: None,
            })
            .await
            .unwrap();
        let etag = stack.put(key, None).await;
        let answer = stack
            .compositor
            .handle(stack.event(key, &etag))
            .await
            .unwrap();
        assert_eq!(answer["records"][0]["outcome"], "recording_uploaded");
        let stored = recordings.get(id).await.unwrap().unwrap();
        assert_eq!(
            (stored.status, stored.kind),
            (vidpipe_core::recording::RecordingStatus::Uploaded, kind)
        );
        let events = stack.publisher.0.lock().unwrap().clone();
        assert_eq!(events.last().unwrap().data["kind"], kind.as_str());
    }
    assert!(stack.transcoder.jobs().is_empty(), "neither starts a job");
}

#[tokio::test]
async fn an_expired_claim_of_a_crashed_handler_is_taken_over() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s4").await;
    stack.compositor.handle(screen_event).await.unwrap();
    // Record the camera, then let a handler "crash" right after claiming.
    let (state, _) = stack
        .streams
        .record_arrival(
            "s4",
            Source::Camera,
            &vidpipe_core::pairing::Arrival {
                key: camera("s4"),
                size: 1,
                etag: "other".into(),
                arrived_at_ms: 0,
            },
            stack.now.load(Ordering::SeqCst),
        )
        .await
        .unwrap();
    let submission = Submission {
        kind: OutputKind::Composite,
        source: None,
        generation: 1,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: None,
    };
    let now = stack.now.load(Ordering::SeqCst);
    let lease = stack.compositor.config.claim_lease.as_millis() as u64;
    assert!(matches!(
        stack
            .streams
            .claim("s4", &submission, "crashed", now, lease)
            .await
            .unwrap(),
        ClaimOutcome::Taken { taken_over: None }
    ));
    assert_eq!(state.generation, 0);

    // While the lease holds, the event is not done with: it fails, to be retried.
    let during = stack.compositor.handle(camera_event.clone()).await;
    let Err(error @ TransientError::ClaimHeld { .. }) = during else {
        panic!("a live claim elsewhere must fail the event: {during:?}");
    };
    assert_eq!(
        vidpipe_lambda::diagnostic(&error).error_type,
        "Compositor.Transient"
    );
    assert!(stack.transcoder.jobs().is_empty());
    // So does the partner timer's run.
    assert!(
        stack
            .compositor
            .handle(json!({"partner_timeout": {"stream": "s4"}}))
            .await
            .is_err()
    );

    stack.advance(lease + 1);
    let after = stack.compositor.handle(camera_event).await.unwrap();
    assert_eq!(after["records"][0]["outcome"], "submitted", "{after}");
    assert_eq!(stack.transcoder.jobs().len(), 1);
    let state = stack.state("s4").await;
    assert_eq!(state.generation, 1);
    assert!(state.claim.is_none());
}

#[tokio::test]
async fn a_handler_that_stopped_after_create_job_leaves_its_job_to_be_recorded_not_made_again() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s4b").await;
    stack.compositor.handle(screen_event).await.unwrap();
    // The camera's handler claims, creates the job, and stops before recording it.
    *stack.transcoder.after_next_create.lock().unwrap() = Some(Box::pin(std::future::pending()));
    let compositor = stack.compositor.clone();
    let first = camera_event.clone();
    let crashed = tokio::spawn(async move { compositor.handle(first).await });
    while stack.transcoder.jobs().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    crashed.abort();
    let state = stack.state("s4b").await;
    assert_eq!((state.generation, state.claim.is_some()), (0, true));

    // Lambda retries after the lease, when MediaConvert no longer knows the ClientRequestToken.
    let lease = stack.compositor.config.claim_lease.as_millis() as u64;
    stack.advance(lease + 1);
    stack.transcoder.forget_tokens();
    let retry = stack.compositor.handle(camera_event).await.unwrap();
    assert_eq!(retry["records"][0]["outcome"], "submitted", "{retry}");
    assert_eq!(retry["records"][0]["job_id"], "job-1");
    assert_eq!(
        stack.transcoder.jobs_for("s4b").len(),
        1,
        "one job, not two"
    );
    let state = stack.state("s4b").await;
    assert_eq!(
        (state.generation, state.job_id.as_deref()),
        (1, Some("job-1"))
    );
    assert!(state.claim.is_none());
}

#[tokio::test]
async fn a_transient_failure_releases_the_claim_and_the_retry_completes() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s5").await;
    stack.compositor.handle(screen_event).await.unwrap();
    stack
        .transcoder
        .unavailable_probes
        .store(1, Ordering::SeqCst);
    let err = stack
        .compositor
        .handle(camera_event.clone())
        .await
        .expect_err("a throttled probe fails the invocation");
    assert!(err.to_string().contains("TooManyRequests"), "{err}");
    let diagnostic = vidpipe_lambda::diagnostic(&err);
    assert_eq!(diagnostic.error_type, "Compositor.Transient");
    let state = stack.state("s5").await;
    assert!(state.claim.is_none(), "the claim was released");
    assert_eq!(state.generation, 0);

    let retry = stack.compositor.handle(camera_event).await.unwrap();
    assert_eq!(retry["records"][0]["outcome"], "submitted");
    assert_eq!(stack.transcoder.jobs().len(), 1);
}

/// The `composite.failed` events published so far.
#[tokio::test]
async fn an_unusable_camera_leaves_the_output_to_the_screen_and_says_why() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s6").await;
    stack
        .transcoder
        .unusable
        .lock()
        .unwrap()
        .insert(camera("s6"));
    stack.compositor.handle(screen_event).await.unwrap();
    let answer = stack.compositor.handle(camera_event.clone()).await.unwrap();
    assert_eq!(answer["records"][0]["outcome"], "submitted", "{answer}");
    assert_eq!(answer["records"][0]["job_kind"], "single");
    let jobs = stack.transcoder.jobs_for("s6");
    assert_eq!(jobs.len(), 1);
    let inputs = jobs[0].settings.inputs.as_deref().unwrap();
    assert_eq!(inputs.len(), 1);
    assert!(
        inputs[0]
            .file_input
            .as_deref()
            .unwrap()
            .ends_with("/s6.mp4"),
        "made from the screen: {:?}",
        inputs[0].file_input
    );
    let item = stack.item("s6").await;
    assert_eq!(item["fallback_reason"].as_s().unwrap(), "camera_unusable");
    assert_eq!(item["status"].as_s().unwrap(), "processing");
    assert!(failed_events(&stack).is_empty());

    // A redelivery of the same event changes nothing.
    let again = stack.compositor.handle(camera_event).await.unwrap();
    assert_eq!(again["records"][0]["outcome"], "nothing", "{again}");
    assert_eq!(stack.transcoder.jobs_for("s6").len(), 1);
}

#[tokio::test]
async fn a_pair_of_unusable_recordings_fails_once_with_a_code_and_a_plain_message() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s6b").await;
    {
        let mut unusable = stack.transcoder.unusable.lock().unwrap();
        unusable.insert(camera("s6b"));
        unusable.insert(screen("s6b"));
    }
    stack.compositor.handle(screen_event).await.unwrap();
    let answer = stack.compositor.handle(camera_event.clone()).await.unwrap();
    assert_eq!(answer["records"][0]["outcome"], "failed", "{answer}");
    let state = stack.state("s6b").await;
    assert_eq!(state.status, Some(StreamStatus::Failed));
    assert!(state.claim.is_none());
    let item = stack.item("s6b").await;
    assert_eq!(item["error_code"].as_s().unwrap(), "recordings_unusable");
    let message = item["error_message"].as_s().unwrap().clone();
    assert_eq!(
        message,
        "neither the screen nor the camera recording could be read as video"
    );
    let failed = failed_events(&stack);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].data["error"]["code"], "recordings_unusable");
    // What the probe said (the object's location, the tool's words) stays in the log.
    for shown in [message.as_str(), &failed[0].data.to_string()] {
        assert!(
            !shown.contains("s3://") && !shown.contains("no video track"),
            "{shown}"
        );
    }

    // A redelivery of the same event changes nothing; no job was ever submitted.
    let again = stack.compositor.handle(camera_event).await.unwrap();
    assert_eq!(again["records"][0]["outcome"], "nothing");
    assert_eq!(again["records"][0]["reason"], "failed");
    assert!(stack.transcoder.jobs().is_empty());
    assert_eq!(failed_events(&stack).len(), 1);
}

#[tokio::test]
async fn malformed_events_are_answered_not_failed() {
    let stack = Stack::new().await;
    for bad in [
        json!({}),
        json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}),
        json!({"partner_timeout": {"stream": "../etc"}}),
        json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": stack.bucket}, "object": {"key": "videos/%FF.mp4"}}}]}),
    ] {
        let answer = stack
            .compositor
            .handle(bad.clone())
            .await
            .expect("not retried");
        let text = answer.to_string();
        assert!(
            text.contains("rejected") || text.contains("ignored"),
            "{bad} -> {answer}"
        );
    }
    assert!(stack.transcoder.jobs().is_empty());
}

#[tokio::test]
async fn sqs_batches_report_only_the_messages_to_retry() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s7").await;
    stack
        .transcoder
        .unavailable_probes
        .store(1, Ordering::SeqCst);
    let message = |id: &str, body: &Value| {
        json!({"messageId": id, "receiptHandle": "rh", "body": body.to_string(), "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:objects", "awsRegion": "us-east-1"})
    };
    let batch = json!({"Records": [
        message("m-test", &json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": stack.bucket})),
        message("m-screen", &screen_event),
        message("m-camera", &camera_event),
        {"messageId": "m-bad", "receiptHandle": "rh", "body": "not json", "eventSource": "aws:sqs"},
    ]});
    let answer = stack.compositor.handle(batch.clone()).await.unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-camera"}]})
    );
    let again = stack.compositor.handle(batch).await.unwrap();
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert_eq!(stack.transcoder.jobs_for("s7").len(), 1);
}

#[tokio::test]
async fn the_partner_timeout_makes_a_fallback_and_a_late_partner_replaces_it() {
    let stack = Stack::new().await;
    let s = stack.put(&screen("s8"), None).await;
    stack
        .compositor
        .handle(stack.event(&screen("s8"), &s))
        .await
        .unwrap();
    let timeout = json!({"partner_timeout": {"stream": "s8"}});
    let answer = stack.compositor.handle(timeout.clone()).await.unwrap();
    assert_eq!(answer["outcome"], "submitted", "{answer}");
    assert_eq!(answer["job_kind"], "single");
    let state = stack.state("s8").await;
    assert_eq!(
        (state.generation, state.job_kind),
        (1, Some(OutputKind::Single))
    );
    // A second firing (Step Functions retry) does nothing.
    let again = stack.compositor.handle(timeout).await.unwrap();
    assert_eq!(again["outcome"], "nothing");
    assert_eq!(again["reason"], "fallback_submitted");

    let c = stack.put(&camera("s8"), None).await;
    let late = stack
        .compositor
        .handle(stack.event(&camera("s8"), &c))
        .await
        .unwrap();
    assert_eq!(late["records"][0]["outcome"], "submitted");
    assert_eq!(late["records"][0]["generation"], 2);
    assert_eq!(
        stack.transcoder.cancelled.lock().unwrap().as_slice(),
        &["job-1".to_owned()],
        "the running fallback is cancelled first"
    );
    let jobs = stack.transcoder.jobs_for("s8");
    assert_eq!(jobs.len(), 2);
    let kinds: Vec<_> = jobs
        .iter()
        .map(|j| {
            let m = j.user_metadata.as_ref().unwrap();
            (m["kind"].clone(), m["generation"].clone())
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("single".into(), "1".into()),
            ("composite".into(), "2".into())
        ]
    );
    let item = stack.item("s8").await;
    assert!(
        !item.contains_key("fallback_reason"),
        "the composite has no fallback reason"
    );
    assert_eq!(item["generation"].as_n().unwrap(), "2");
}

#[tokio::test]
async fn a_partner_arriving_while_the_fallback_is_claimed_still_gets_its_composite() {
    let stack = Stack::new().await;
    let s = stack.put(&screen("s9"), None).await;
    let c = stack.put(&camera("s9"), None).await;
    stack
        .compositor
        .handle(stack.event(&screen("s9"), &s))
        .await
        .unwrap();
    // The timer's handler claims the fallback...
    let single = Submission {
        kind: OutputKind::Single,
        source: Some(Source::Screen),
        generation: 1,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: None,
    };
    let now = stack.now.load(Ordering::SeqCst);
    assert!(matches!(
        stack
            .streams
            .claim("s9", &single, "timer", now, 60_000)
            .await
            .unwrap(),
        ClaimOutcome::Taken { .. }
    ));
    // ...the camera arrives and sees the claim: its event is retried later...
    let during = stack
        .compositor
        .handle(stack.event(&camera("s9"), &c))
        .await;
    assert!(
        matches!(during, Err(TransientError::ClaimHeld { .. })),
        "{during:?}"
    );
    // ...the timer's handler gives up its claim (as after a transient failure) and fires again: it finds both
    // recordings and submits the composite directly.
    stack.streams.release("s9", "timer").await.unwrap();
    let answer = stack
        .compositor
        .handle(json!({"partner_timeout": {"stream": "s9"}}))
        .await
        .unwrap();
    assert_eq!(answer["job_kind"], "composite", "{answer}");
    assert_eq!(stack.transcoder.jobs_for("s9").len(), 1);
}

#[tokio::test]
async fn a_partner_arriving_while_the_fallback_is_submitted_is_composited_by_the_fallbacks_handler()
{
    let stack = Stack::new().await;
    let s = stack.put(&screen("s10"), None).await;
    let c = stack.put(&camera("s10"), None).await;
    stack
        .compositor
        .handle(stack.event(&screen("s10"), &s))
        .await
        .unwrap();
    // While the timer's handler submits the fallback, the camera's handler records the arrival, sees the claim
    // and fails, to be retried.
    let compositor = stack.compositor.clone();
    let camera_event = stack.event(&camera("s10"), &c);
    *stack.transcoder.during_next_create.lock().unwrap() = Some(Box::pin(async move {
        let answer = compositor.handle(camera_event).await;
        assert!(
            matches!(answer, Err(TransientError::ClaimHeld { .. })),
            "{answer:?}"
        );
    }));
    let answer = stack
        .compositor
        .handle(json!({"partner_timeout": {"stream": "s10"}}))
        .await
        .unwrap();
    // The fallback's handler looked again and submitted the composite as generation 2.
    assert_eq!(answer["job_kind"], "composite", "{answer}");
    assert_eq!(answer["generation"], 2);
    assert_eq!(stack.transcoder.jobs_for("s10").len(), 2);
    assert_eq!(
        stack.transcoder.cancelled.lock().unwrap().as_slice(),
        &["job-1".to_owned()]
    );
    let state = stack.state("s10").await;
    assert_eq!(
        (state.generation, state.job_kind),
        (2, Some(OutputKind::Composite))
    );
}

#[tokio::test]
async fn an_unusable_late_partner_leaves_the_fallback_alone() {
    let stack = Stack::new().await;
    let s = stack.put(&screen("s11"), None).await;
    stack
        .compositor
        .handle(stack.event(&screen("s11"), &s))
        .await
        .unwrap();
    stack
        .compositor
        .handle(json!({"partner_timeout": {"stream": "s11"}}))
        .await
        .unwrap();
    let c = stack.put(&camera("s11"), None).await;
    stack
        .transcoder
        .unusable
        .lock()
        .unwrap()
        .insert(camera("s11"));
    let answer = stack
        .compositor
        .handle(stack.event(&camera("s11"), &c))
        .await
        .unwrap();
    assert_eq!(answer["records"][0]["outcome"], "nothing", "{answer}");
    assert_eq!(answer["records"][0]["reason"], "camera_unusable");
    assert!(
        stack.transcoder.cancelled.lock().unwrap().is_empty(),
        "the fallback is only cancelled for a job that is ready to go"
    );
    assert_eq!(stack.transcoder.jobs_for("s11").len(), 1);
    // The stream keeps its fallback's outcome: the screen recording is not dropped.
    let state = stack.state("s11").await;
    assert_eq!(
        (state.status, state.generation, state.job_kind),
        (Some(StreamStatus::Processing), 1, Some(OutputKind::Single))
    );
    assert!(state.claim.is_none());
    assert!(failed_events(&stack).is_empty());
}

#[tokio::test]
async fn a_recording_over_the_limits_is_not_used_and_no_job_is_bought_for_it() {
    let mut stack = Stack::new().await;
    // The legacy routes sign no length: an upload is bounded after it arrives. The camera's test body is longer than
    // this cap, the screen's is not.
    let camera_bytes = format!("body of {}", camera("s12")).len() as u64;
    stack.compositor.config.limits.max_bytes = camera_bytes - 1;
    let (screen_event, camera_event) = both(&stack, "s12").await;
    stack.compositor.handle(screen_event).await.unwrap();
    let answer = stack.compositor.handle(camera_event).await.unwrap();
    assert_eq!(answer["records"][0]["job_kind"], "single", "{answer}");
    let item = stack.item("s12").await;
    assert_eq!(item["fallback_reason"].as_s().unwrap(), "camera_unusable");

    // Alone, a recording over the limits fails its stream with a plain reason.
    let mut stack = Stack::new().await;
    stack.compositor.config.limits.max_bytes = 1;
    let s = stack.put(&screen("s13"), None).await;
    stack
        .compositor
        .handle(stack.event(&screen("s13"), &s))
        .await
        .unwrap();
    let answer = stack
        .compositor
        .handle(json!({"partner_timeout": {"stream": "s13"}}))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "failed", "{answer}");
    let item = stack.item("s13").await;
    assert_eq!(item["error_code"].as_s().unwrap(), "recording_too_large");
    assert!(
        item["error_message"]
            .as_s()
            .unwrap()
            .starts_with("the screen recording is too large: it is "),
        "{item:?}"
    );
    assert!(stack.transcoder.jobs().is_empty());
}

#[tokio::test]
async fn an_overwritten_recording_after_the_composite_buys_no_second_job_and_the_stream_shows_it() {
    let stack = Stack::new().await;
    let (screen_event, camera_event) = both(&stack, "s14").await;
    stack.compositor.handle(screen_event).await.unwrap();
    stack.compositor.handle(camera_event).await.unwrap();
    assert_eq!(stack.transcoder.jobs_for("s14").len(), 1);
    // A replayed legacy URL (or a late retry of the client) writes the camera again: a new object, a new etag.
    let again = stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(camera("s14"))
        .body(b"another camera recording".to_vec().into())
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let answer = stack
        .compositor
        .handle(stack.event(&camera("s14"), &again))
        .await
        .unwrap();
    assert_eq!(answer["records"][0]["outcome"], "nothing", "{answer}");
    assert_eq!(answer["records"][0]["reason"], "already_submitted");
    assert_eq!(stack.transcoder.jobs_for("s14").len(), 1, "no second job");
    let item = stack.item("s14").await;
    assert_eq!(item["camera_uploads"].as_n().unwrap(), "2");
    assert_eq!(item["screen_uploads"].as_n().unwrap(), "1");
    assert_eq!(item["camera_etag"].as_s().unwrap(), &again);
}

#[tokio::test]
async fn the_sweeper_repairs_a_stream_left_queued_and_fails_a_job_that_stopped_reporting() {
    let stack = Stack::new().await;
    let config = &stack.compositor.config;
    let (wait, lease) = (
        config.composite_wait.as_millis() as u64,
        config.claim_lease.as_millis() as u64,
    );
    let stall = config.job_stall.as_millis() as u64;
    // s15: one recording, and its partner timer lost (its deliveries went to a dead-letter queue).
    let s = stack.put(&screen("s15"), None).await;
    stack
        .compositor
        .handle(stack.event(&screen("s15"), &s))
        .await
        .unwrap();
    // s16: both recordings, the composite submitted; its job will stop reporting.
    let (screen_event, camera_event) = both(&stack, "s16").await;
    stack.compositor.handle(screen_event).await.unwrap();
    stack.compositor.handle(camera_event).await.unwrap();
    let sweep = json!({"sweep": {}});
    let early = stack.compositor.handle(sweep.clone()).await.unwrap();
    assert_eq!(early["swept"], json!([]), "nothing waits too long yet");

    stack.advance(wait + lease + 1);
    let answer = stack.compositor.handle(sweep.clone()).await.unwrap();
    let swept = answer["swept"].as_array().unwrap();
    assert_eq!(swept.len(), 1, "{answer}");
    assert_eq!(
        (
            &swept[0]["stream"],
            &swept[0]["outcome"],
            &swept[0]["job_kind"]
        ),
        (&json!("s15"), &json!("submitted"), &json!("single"))
    );
    assert_eq!(
        stack.item("s15").await["fallback_reason"].as_s().unwrap(),
        "camera_missing"
    );

    // s15's fallback reports progress; s16's job never does again.
    let now = stack.now.load(Ordering::SeqCst);
    stack.advance(stall);
    stack
        .streams
        .apply_job_event(
            "s15",
            1,
            &vidpipe_core::jobevent::StreamUpdate::Progress(50),
            "p",
            now + stall,
        )
        .await
        .unwrap();
    let answer = stack.compositor.handle(sweep).await.unwrap();
    let swept = answer["swept"].as_array().unwrap();
    assert_eq!(swept.len(), 1, "{answer}");
    assert_eq!(
        (&swept[0]["stream"], &swept[0]["outcome"]),
        (&json!("s16"), &json!("failed"))
    );
    let item = stack.item("s16").await;
    assert_eq!(item["status"].as_s().unwrap(), "failed");
    assert_eq!(item["error_code"].as_s().unwrap(), "job_stalled");
    let failed = failed_events(&stack);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].data["stream"], "s16");
}
