//! The notifier's handler on the in-memory stores of `vidpipe_testkit::fakes`: the same rules as on DynamoDB
//! (statuses only move forward, a redelivered event publishes nothing, the first render status wins), without AWS.

use serde_json::{Value, json};
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};
use vidpipe_lambda::ErrorType;
use vidpipe_notifier::Notifier;
use vidpipe_testkit::fakes::{
    InMemoryCalls, InMemoryPlaybacks, InMemoryProcessedEvents, InMemoryRenderFiles,
    InMemoryRenders, InMemoryStreams, RecordingPublisher,
};

use crate::moto::fixture;

pub(crate) type TestNotifier = Notifier<
    InMemoryStreams,
    InMemoryRenders,
    InMemoryProcessedEvents,
    RecordingPublisher,
    InMemoryPlaybacks,
    InMemoryRenderFiles,
    InMemoryCalls,
>;

/// The notifier, with `session-42` as the compositor leaves it after submitting its first job.
pub(crate) fn notifier() -> TestNotifier {
    let streams = InMemoryStreams::default();
    streams.insert(StreamRecord {
        status: StreamStatus::Processing,
        generation: 1,
        job_id: Some("1795194000000-a1b2c3".into()),
        job_kind: Some("composite".into()),
        ..StreamRecord::new("session-42", Some("user-123".into()))
    });
    Notifier {
        streams,
        renders: InMemoryRenders::default(),
        events: InMemoryProcessedEvents::default(),
        publisher: RecordingPublisher::default(),
        playbacks: InMemoryPlaybacks::default(),
        files: InMemoryRenderFiles::default(),
        calls: InMemoryCalls::default(),
        retention_days: 30,
    }
}

pub(crate) fn published(notifier: &TestNotifier) -> Vec<DomainEventType> {
    notifier
        .publisher
        .events()
        .iter()
        .map(|e| e.event_type)
        .collect()
}

#[tokio::test]
async fn a_complete_event_makes_the_stream_ready_and_publishes_once() {
    let notifier = notifier();
    let answer = notifier.handle(fixture("complete.json")).await.unwrap();
    assert_eq!(answer["outcome"], "applied", "{answer}");
    assert_eq!(answer["status"], "ready");
    let record = notifier.streams.record("session-42").unwrap();
    assert_eq!((record.status, record.progress), (StreamStatus::Ready, 100));
    assert_eq!(
        record.output_key.as_deref(),
        Some("videos/session-42_composited.mp4")
    );
    // The job's rate ($0.015 a minute) times its output's 30.041 s, billed as 31 s: on the item and the event.
    let cost = record.cost.expect("the job's cost");
    assert_eq!((cost.micro_usd, cost.output_seconds), (7_750, 31));
    assert_eq!(
        notifier.publisher.events()[0].data["cost"]["estimated_usd"],
        0.00775
    );
    let again = notifier.handle(fixture("complete.json")).await.unwrap();
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(published(&notifier), [DomainEventType::CompositeReady]);
}

#[tokio::test]
async fn a_late_progress_event_changes_nothing() {
    let notifier = notifier();
    notifier.handle(fixture("complete.json")).await.unwrap();
    let mut late = fixture("status-update.json");
    late["id"] = json!("late-progress");
    let answer = notifier.handle(late).await.unwrap();
    assert_eq!(answer["outcome"], "stale", "{answer}");
    assert_eq!(
        notifier.streams.record("session-42").unwrap().status,
        StreamStatus::Ready
    );
    assert_eq!(published(&notifier), [DomainEventType::CompositeReady]);
}

#[tokio::test]
async fn an_event_of_a_newer_generation_fails_so_it_is_retried() {
    let notifier = notifier();
    let mut ahead = fixture("complete.json");
    ahead["detail"]["userMetadata"]["generation"] = json!("2");
    let err = notifier.handle(ahead).await.unwrap_err();
    assert_eq!(err.error_type(), "GenerationNotRecorded");
    assert!(published(&notifier).is_empty());
}

#[tokio::test]
async fn the_first_render_result_wins() {
    let notifier = notifier();
    let ready = fixture("render-ready.json");
    let answer = notifier.handle(ready.clone()).await.unwrap();
    assert_eq!(answer, json!({"render_id": "promo-42", "status": "ready"}));
    let mut failed: Value = fixture("render-failed.json");
    failed["render_result"]["render_id"] = json!("promo-42");
    let answer = notifier.handle(failed).await.unwrap();
    assert_eq!(answer["status"], "ready", "the first terminal status wins");
    assert_eq!(
        notifier.renders.status("promo-42").as_deref(),
        Some("ready")
    );
    assert_eq!(published(&notifier), [DomainEventType::RenderReady]);
    notifier.handle(ready).await.unwrap();
    assert_eq!(published(&notifier), [DomainEventType::RenderReady]);
}

#[tokio::test]
async fn a_calls_export_is_announced_to_the_call_once_with_its_render() {
    use vidpipe_core::ports::RenderStore;
    use vidpipe_core::render::record::RenderRecord;
    let notifier = notifier();
    let mut export = RenderRecord::queued("promo-42", None, 1_000, 1_900_000_000);
    export.call_recording_id = Some("rec-123".into());
    assert!(notifier.renders.create_render(&export).await.unwrap());
    let mut ready = fixture("render-ready.json");
    ready["render_result"]["duration_ms"] = json!(300_000);
    notifier.handle(ready.clone()).await.unwrap();
    assert_eq!(
        published(&notifier),
        [
            DomainEventType::RenderReady,
            DomainEventType::CallExportReady
        ]
    );
    let announced = notifier.publisher.events()[1].clone();
    assert_eq!(announced.id, "call.export.ready:promo-42");
    assert_eq!(
        announced.data,
        json!({"recording_id": "rec-123", "export_id": "promo-42", "status": "ready", "duration_ms": 300_000,
               "error": null})
    );
    // A redelivered result announces nothing again.
    notifier.handle(ready).await.unwrap();
    assert_eq!(published(&notifier).len(), 2);

    // A failed export: `call.export.failed` with the reason.
    let notifier = self::notifier();
    let mut export = RenderRecord::queued("r-9", None, 1_000, 1_900_000_000);
    export.call_recording_id = Some("rec-123".into());
    assert!(notifier.renders.create_render(&export).await.unwrap());
    let mut failed = fixture("render-failed.json");
    failed["render_result"]["render_id"] = json!("r-9");
    notifier.handle(failed).await.unwrap();
    let events = notifier.publisher.events();
    assert_eq!(events[1].event_type, DomainEventType::CallExportFailed);
    assert_eq!(events[1].data["status"], "failed");
    assert!(
        events[1].data["error"]["code"].is_string(),
        "{}",
        events[1].data
    );
}

#[tokio::test]
async fn the_cancellation_of_a_job_the_compositor_replaced_fails_nothing() {
    let notifier = notifier();
    let canceled = fixture("canceled.json");
    // Without a replacement, a cancellation fails the stream (someone canceled the job)...
    let answer = notifier.handle(canceled.clone()).await.unwrap();
    assert_eq!(answer["outcome"], "applied", "{answer}");
    assert_eq!(published(&notifier), [DomainEventType::CompositeFailed]);

    // ...but the compositor, replacing the fallback of generation 1, recorded it as superseded before canceling it.
    let notifier = self::notifier();
    let mut record = notifier.streams.record("session-42").unwrap();
    record.superseded_generation = 1;
    notifier.streams.insert(record);
    let answer = notifier.handle(canceled).await.unwrap();
    assert_eq!(answer["outcome"], "stale", "{answer}");
    assert_eq!(
        notifier.streams.record("session-42").unwrap().status,
        StreamStatus::Processing
    );
    assert!(published(&notifier).is_empty());
}

#[tokio::test]
async fn an_input_failure_that_names_a_fallback_leaves_the_stream_to_the_compositor() {
    let notifier = notifier();
    let mut error = fixture("error.json");
    error["detail"]["userMetadata"]["input_fallback"] = json!("screen");
    let answer = notifier.handle(error.clone()).await.unwrap();
    assert_eq!(
        answer,
        json!({"outcome": "left_to_fallback", "stream": "session-42", "fallback": "screen"})
    );
    let record = notifier.streams.record("session-42").unwrap();
    assert_eq!(record.status, StreamStatus::Processing);
    assert!(published(&notifier).is_empty());

    // A failure that is not about the inputs fails the stream, fallback or not.
    error["detail"]["errorCode"] = json!(1401);
    error["id"] = json!("another-event");
    let answer = notifier.handle(error).await.unwrap();
    assert_eq!(answer["outcome"], "applied", "{answer}");
    assert_eq!(answer["status"], "failed", "{answer}");
    assert_eq!(published(&notifier), [DomainEventType::CompositeFailed]);
}

/// `complete-chunk-job.json` as chunk `index`'s job `job` in `status` (`percent` for a STATUS_UPDATE).
fn chunk_event(index: u32, status: &str, percent: Option<u8>) -> Value {
    let mut event = fixture("complete-chunk-job.json");
    event["id"] = json!(format!("chunk-{index}-{status}-{percent:?}"));
    event["detail"]["jobId"] = json!(format!("job-{index}"));
    event["detail"]["status"] = json!(status);
    event["detail"]["userMetadata"]["chunk_index"] = json!(index.to_string());
    if let Some(p) = percent {
        event["detail"]["jobProgress"] = json!({"jobPercentComplete": p});
    }
    event
}

#[tokio::test]
async fn chunk_jobs_and_phases_move_a_render_forward_once_with_throttled_progress_events() {
    use vidpipe_core::ports::RenderStore;
    use vidpipe_core::render::record::RenderRecord;
    let notifier = notifier();
    let record = RenderRecord::queued("promo-42", Some("jwt:user-123"), 1, 1_900_000_000);
    assert!(notifier.renders.create_render(&record).await.unwrap());

    let phase = |phase: &str, total: Option<u32>| json!({"render_phase": {"render_id": "promo-42", "phase": phase, "chunks_total": total}});
    let answer = notifier.handle(phase("planning", None)).await.unwrap();
    assert_eq!(
        (answer["status"].as_str(), answer["phase"].as_str()),
        (Some("processing"), Some("planning"))
    );
    notifier.handle(phase("rendering", Some(2))).await.unwrap();

    let running = notifier
        .handle(chunk_event(0, "STATUS_UPDATE", Some(50)))
        .await
        .unwrap();
    assert_eq!(running["outcome"], "chunk_applied", "{running}");
    assert_eq!(running["progress"], 22);
    let done = notifier
        .handle(chunk_event(0, "COMPLETE", None))
        .await
        .unwrap();
    assert_eq!(
        (done["progress"].as_u64(), done["chunks_done"].as_u64()),
        (Some(45), Some(1))
    );
    let mut again = chunk_event(0, "COMPLETE", None);
    again["id"] = json!("a redelivery under another id");
    let again = notifier.handle(again).await.unwrap();
    assert_eq!(
        (again["chunks_done"].as_u64(), again["published"].clone()),
        (Some(1), Value::Null)
    );
    notifier
        .handle(chunk_event(1, "COMPLETE", None))
        .await
        .unwrap();
    notifier.handle(phase("assembling", None)).await.unwrap();
    let late = notifier.handle(phase("rendering", Some(2))).await.unwrap();
    assert_eq!(late["phase"], "assembling", "phases only move forward");

    let stored = notifier.renders.get("promo-42").unwrap();
    assert_eq!((stored.progress, stored.chunks.done.len()), (90, 2));
    // Each chunk's minute at $0.015, counted once despite the redelivered COMPLETE.
    assert_eq!(
        stored.cost_json(),
        json!({"estimated_usd": 0.03, "output_minutes": 2.0, "basis": "mediaconvert-on-demand", "chunks": 2})
    );
    assert_eq!(
        stored.chunks.jobs.values().collect::<Vec<_>>(),
        ["job-0", "job-1"]
    );
    let progress: Vec<Value> = notifier
        .publisher
        .events()
        .iter()
        .filter(|e| e.event_type == DomainEventType::RenderProgress)
        .map(|e| e.data["progress"].clone())
        .collect();
    assert_eq!(
        progress,
        [json!(22), json!(45), json!(90)],
        "one event per step of at least 5 %"
    );

    let answer = notifier.handle(fixture("render-ready.json")).await.unwrap();
    assert_eq!(answer["status"], "ready");
    let ready = notifier.renders.get("promo-42").unwrap();
    assert_eq!(
        (ready.progress, ready.owner.as_deref()),
        (100, Some("jwt:user-123")),
        "the result keeps the owner"
    );
    let after = notifier
        .handle(chunk_event(1, "STATUS_UPDATE", Some(10)))
        .await
        .unwrap();
    assert_eq!(after["progress"], 100, "a finished render stays as it is");
    assert_eq!(
        published(&notifier).last(),
        Some(&DomainEventType::RenderReady)
    );
    let events = notifier.publisher.events();
    let announced = events
        .iter()
        .find(|e| e.event_type == DomainEventType::RenderReady)
        .unwrap();
    assert_eq!(announced.data["cost"]["estimated_usd"], 0.03);
    assert_eq!(announced.data["cost"]["chunks"], 2);
}

#[tokio::test]
async fn a_phase_report_that_breaks_the_contract_fails_by_name() {
    let notifier = notifier();
    let bad = json!({"render_phase": {"render_id": "promo-42", "phase": "dancing"}});
    let err = notifier.handle(bad).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidRenderPhase");
    let unknown = json!({"render_phase": {"render_id": "nobody", "phase": "planning"}});
    let answer = notifier.handle(unknown).await.unwrap();
    assert_eq!(answer["ignored"], "no render item");
    assert!(published(&notifier).is_empty());
}

#[tokio::test]
async fn a_render_execution_that_ends_without_reporting_is_failed_and_announced_once() {
    use vidpipe_core::ports::{RenderStore, update_render};
    use vidpipe_core::render::record::RenderRecord;
    let notifier = notifier();
    // promo-42 was canceled by its owner (the API marks it, then stops the execution); promo-43 runs too long.
    for id in ["promo-42", "promo-43"] {
        let record = RenderRecord::queued(id, Some("jwt:user-123"), 1, 1_900_000_000);
        assert!(notifier.renders.create_render(&record).await.unwrap());
    }
    update_render(&notifier.renders, "promo-42", 2, |r| r.cancel())
        .await
        .unwrap();

    let aborted = fixture("render-execution-aborted.json");
    let answer = notifier.handle(aborted.clone()).await.unwrap();
    assert_eq!(answer, json!({"render_id": "promo-42", "status": "failed"}));
    let again = notifier.handle(aborted).await.unwrap();
    assert_eq!(again, answer, "a redelivery answers the same");
    let events = notifier.publisher.events();
    assert_eq!(events.len(), 1, "announced once: {events:?}");
    assert_eq!(events[0].event_type, DomainEventType::RenderFailed);
    assert_eq!(events[0].data["error"]["error"], "canceled");
    let stored = notifier.renders.get("promo-42").unwrap();
    assert_eq!(stored.error.unwrap().error, "canceled");

    let mut timed_out = fixture("render-execution-aborted.json");
    timed_out["detail"]["name"] = json!("promo-43");
    timed_out["detail"]["status"] = json!("TIMED_OUT");
    timed_out["detail"]["error"] = Value::Null;
    timed_out["detail"]["cause"] = Value::Null;
    notifier.handle(timed_out).await.unwrap();
    let stored = notifier.renders.get("promo-43").unwrap();
    assert_eq!(
        stored.error.map(|e| e.error).as_deref(),
        Some("States.Timeout")
    );
    assert_eq!(notifier.publisher.events().len(), 2);

    // What the rule never sends, and an event that names no render: answered, nothing written or published.
    for edit in [
        |e: &mut Value| e["detail"]["status"] = json!("SUCCEEDED"),
        |e: &mut Value| e["detail"]["name"] = Value::Null,
        |e: &mut Value| e["detail"]["name"] = json!("../x"),
    ] {
        let mut event = fixture("render-execution-aborted.json");
        edit(&mut event);
        let answer = notifier.handle(event).await.unwrap();
        assert!(answer["ignored"].is_string(), "{answer}");
    }
    assert_eq!(notifier.publisher.events().len(), 2);
    assert!(notifier.renders.get("x").is_none());
}

#[tokio::test]
async fn a_chunk_a_custom_renderer_wrote_counts_once_with_its_reported_cost() {
    use vidpipe_core::ports::RenderStore;
    use vidpipe_core::render::record::RenderRecord;
    let notifier = notifier();
    let record = RenderRecord::queued("promo-42", Some("jwt:user-123"), 1, 1_900_000_000);
    assert!(notifier.renders.create_render(&record).await.unwrap());
    let phase =
        json!({"render_phase": {"render_id": "promo-42", "phase": "rendering", "chunks_total": 2}});
    notifier.handle(phase).await.unwrap();
    let report = |index: u32, reported: Value| json!({"render_chunk": {"render_id": "promo-42", "index": index, "reported": reported}});
    let answer = notifier
        .handle(report(
            0,
            json!({"output_uri": "s3://b/k", "cost_usd": 0.25}),
        ))
        .await
        .unwrap();
    assert_eq!(
        (answer["chunks_done"].clone(), answer["progress"].clone()),
        (json!(1), json!(45))
    );
    // A redelivery changes nothing, its cost included; a renderer that says nothing of cost still counts.
    notifier
        .handle(report(0, json!({"cost_usd": 9.0})))
        .await
        .unwrap();
    notifier
        .handle(report(1, json!({"output_uri": "s3://b/k2"})))
        .await
        .unwrap();
    let stored = notifier.renders.get("promo-42").unwrap();
    assert_eq!(stored.chunks.done.len(), 2);
    let (cost, chunks) = stored.cost().unwrap();
    assert_eq!(
        (cost.micro_usd, cost.basis.as_str(), chunks),
        (250_000, "renderer-reported", 1)
    );

    let bad = json!({"render_chunk": {"render_id": "promo-42", "index": -1}});
    let error = notifier.handle(bad).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidChunkReport");
    let unknown = notifier
        .handle(json!({"render_chunk": {"render_id": "nobody", "index": 0}}))
        .await
        .unwrap();
    assert_eq!(unknown["ignored"], "no render item");
}
