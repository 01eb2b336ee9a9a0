//! The notifier's handler against moto: the table, a bus with a rule to an SQS queue (to count what is published),
//! and a loopback webhook receiver. Every fixture in `events/notifier` goes through the handler.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use vidpipe_aws::dynamo::{DynamoPlaybacks, DynamoProcessedEvents, DynamoRenders, DynamoStreams};
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::publisher::EventBridgePublisher;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_aws::webhook::WebhookConfig;
use vidpipe_core::jobevent::{JobRoute, JobStateDetail, StreamUpdate, route};
use vidpipe_core::ports::StreamStatusStore;
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};
use vidpipe_lambda::ErrorType;
use vidpipe_notifier::config::Config;
use vidpipe_notifier::wiring::{self, LambdaNotifier, WiringError};
use vidpipe_notifier::{Notifier, NotifierError};
use vidpipe_testkit::config::vars;
use vidpipe_testkit::moto::{BusCapture, MotoServer, create_queue, drain_queue};
use vidpipe_testkit::unique_name;
use vidpipe_testkit::webhook::WebhookReceiver;

pub(crate) fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/notifier")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists")).expect("JSON")
}

struct Stack {
    notifier: LambdaNotifier,
    table: DynamoStreams,
    ddb: aws_sdk_dynamodb::Client,
    table_name: String,
    bus: BusCapture,
}

async fn stack() -> Stack {
    stack_with(None).await
}

async fn stack_with(webhook: Option<WebhookConfig>) -> Stack {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table_name = unique_name("notifier");
    vidpipe_aws::provision::create_table(&ddb, &table_name)
        .await
        .expect("table on moto");
    let bus = BusCapture::create(&sdk, "vidpipe").await;
    let mut publisher = EventBridgePublisher::new(EventBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        &bus.bus_name,
    ));
    if let Some(webhook) = webhook {
        publisher = publisher
            .with_webhook(webhook, aws_sdk_sqs::Client::new(&sdk))
            .unwrap();
    }
    let table = DynamoStreams::new(ddb.clone(), &table_name, 30);
    Stack {
        notifier: notifier(&sdk, &table_name, publisher),
        table,
        ddb,
        table_name,
        bus,
    }
}

/// The notifier on `table` through `ddb`, publishing with `publisher`.
pub(crate) fn notifier(
    sdk: &aws_config::SdkConfig,
    table: &str,
    publisher: EventBridgePublisher,
) -> LambdaNotifier {
    let ddb = &aws_sdk_dynamodb::Client::new(sdk);
    Notifier {
        streams: DynamoStreams::new(ddb.clone(), table, 30),
        renders: DynamoRenders::new(ddb.clone(), table),
        events: DynamoProcessedEvents::new(ddb.clone(), table),
        publisher,
        playbacks: DynamoPlaybacks::new(ddb.clone(), table),
        files: S3RequestStore(vidpipe_aws::s3::client(sdk, true)),
        calls: vidpipe_aws::dynamo::DynamoCalls::new(ddb.clone(), table),
        retention_days: 30,
    }
}

impl Stack {
    /// The stream item as the compositor leaves it after submitting job `generation`.
    async fn submitted(&self, stream: &str, generation: u64, job_kind: &str) {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let mut put = self
            .ddb
            .put_item()
            .table_name(&self.table_name)
            .item("pk", s(&format!("STREAM#{stream}")))
            .item("sk", s("STREAM"))
            .item("stream", s(stream))
            .item("owner", s("user-123"))
            .item("status", s("processing"))
            .item("progress", AttributeValue::N("0".into()))
            .item("generation", AttributeValue::N(generation.to_string()))
            .item("job_id", s("1795194000000-a1b2c3"))
            .item("job_kind", s(job_kind))
            .item("expires_at", AttributeValue::N("1900000000".into()));
        if job_kind == "single" {
            put = put.item("fallback_reason", s("camera_missing"));
        }
        put.send().await.unwrap();
    }

    async fn stream(&self, stream: &str) -> StreamRecord {
        self.table
            .get_status(stream)
            .await
            .unwrap()
            .expect("stream")
    }

    async fn item_count(&self) -> usize {
        self.ddb
            .scan()
            .table_name(&self.table_name)
            .send()
            .await
            .unwrap()
            .items()
            .len()
    }
}

/// A MediaConvert event from the fixture `name`, with its event id, generation and stream replaced.
fn job_event(name: &str, id: &str, generation: u64, stream: &str) -> Value {
    let mut e = fixture(name);
    e["id"] = json!(id);
    e["detail"]["userMetadata"]["generation"] = json!(generation.to_string());
    e["detail"]["userMetadata"]["stream"] = json!(stream);
    e
}

#[tokio::test]
async fn every_job_status_fixture_goes_through_the_handler() {
    // (fixture, outcome, status after, progress after, domain event type published)
    let cases = [
        (
            "input-information.json",
            "no_status_change",
            "processing",
            0,
            None,
        ),
        ("progressing.json", "stale", "processing", 0, None),
        ("status-update.json", "applied", "processing", 46, None),
        (
            "new-warning.json",
            "no_status_change",
            "processing",
            0,
            None,
        ),
        ("queue-hop.json", "no_status_change", "processing", 0, None),
        (
            "complete.json",
            "applied",
            "ready",
            100,
            Some("composite.ready"),
        ),
        (
            "error.json",
            "applied",
            "failed",
            0,
            Some("composite.failed"),
        ),
        (
            "canceled.json",
            "applied",
            "failed",
            0,
            Some("composite.failed"),
        ),
    ];
    for (name, outcome, status, progress, published) in cases {
        let stack = stack().await;
        stack.submitted("session-42", 1, "composite").await;
        let answer = stack.notifier.handle(fixture(name)).await.unwrap();
        assert_eq!(answer["outcome"], outcome, "{name}: {answer}");
        let r = stack.stream("session-42").await;
        assert_eq!(
            (r.status.as_str(), r.progress),
            (status, progress),
            "{name}"
        );
        let events = stack.bus.drain().await;
        assert_eq!(
            events
                .iter()
                .map(|e| e["detail-type"].as_str().unwrap())
                .collect::<Vec<_>>(),
            published.into_iter().collect::<Vec<_>>(),
            "{name}"
        );
        if let Some(event) = events.first() {
            let data = &event["detail"]["data"];
            assert_eq!(event["source"], "vidpipe");
            assert_eq!(data["stream"], "session-42");
            assert_eq!(data["generation"], 1);
            assert_eq!(data["job_id"], "1795194000000-a1b2c3");
            assert_eq!(data["job_kind"], "composite");
            assert_eq!(data["status"], status);
            assert_eq!(answer["published"], event["detail"]["id"]);
        }
        match name {
            "complete.json" => {
                assert_eq!(
                    r.output_key.as_deref(),
                    Some("videos/session-42_composited.mp4")
                );
                assert_eq!(
                    events[0]["detail"]["data"]["output_key"],
                    "videos/session-42_composited.mp4"
                );
                // The job's rate (1080p, $0.015 a minute) times its 30.041 s output, billed as 31 s.
                let cost = r.cost.expect("the job's cost on the stream's item");
                assert_eq!((cost.micro_usd, cost.output_seconds), (7_750, 31));
                assert_eq!(
                    events[0]["detail"]["data"]["cost"],
                    json!({"estimated_usd": 0.00775, "output_minutes": 31.0 / 60.0,
                           "basis": "mediaconvert-on-demand"})
                );
            }
            "error.json" => {
                assert_eq!(r.error_code.as_deref(), Some("1040"));
                // MediaConvert's message names the object and quotes its probe: clients get a plain one.
                assert_eq!(
                    r.error_message.as_deref(),
                    Some("a recording could not be read or decoded")
                );
                assert_eq!(events[0]["detail"]["data"]["error"]["code"], "1040");
            }
            "canceled.json" => assert_eq!(r.error_code.as_deref(), Some("canceled")),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_single_source_fallback_announces_its_kind_and_reason() {
    let stack = stack().await;
    stack.submitted("session-42", 1, "single").await;
    let mut e = fixture("complete.json");
    e["detail"]["userMetadata"]["kind"] = json!("single");
    stack.notifier.handle(e).await.unwrap();
    let events = stack.bus.drain().await;
    assert_eq!(events[0]["detail"]["data"]["job_kind"], "single");
    assert_eq!(
        events[0]["detail"]["data"]["fallback_reason"],
        "camera_missing"
    );
}

#[tokio::test]
async fn render_result_fixtures_record_the_render_and_publish() {
    let stack = stack().await;
    for (name, render_id, status, event_type) in [
        ("render-ready.json", "promo-42", "ready", "render.ready"),
        ("render-failed.json", "promo-43", "failed", "render.failed"),
    ] {
        let answer = stack.notifier.handle(fixture(name)).await.unwrap();
        assert_eq!(answer, json!({"render_id": render_id, "status": status}));
        let item = stack
            .ddb
            .get_item()
            .table_name(&stack.table_name)
            .key("pk", AttributeValue::S(format!("RENDER#{render_id}")))
            .key("sk", AttributeValue::S("RENDER".into()))
            .send()
            .await
            .unwrap()
            .item
            .expect("render item");
        assert_eq!(item["status"].as_s().unwrap(), status);
        assert!(item.contains_key("expires_at"));
        let events = stack.bus.drain().await;
        assert_eq!(events.len(), 1, "{name}");
        assert_eq!(events[0]["detail-type"], event_type);
        assert_eq!(events[0]["detail"]["data"]["render_id"], render_id);
        // Delivered again (a Step Functions retry): answered the same, published nothing.
        let again = stack.notifier.handle(fixture(name)).await.unwrap();
        assert_eq!(again, answer);
        assert!(stack.bus.drain().await.is_empty(), "{name}");
    }
    let failed = stack.notifier.handle(fixture("render-failed.json")).await;
    assert_eq!(failed.unwrap()["status"], "failed");

    let err = stack
        .notifier
        .handle(json!({"render_result": {"render_id": "r1", "status": "done"}}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidRenderResult");
}

#[tokio::test]
async fn a_redelivered_event_publishes_nothing_twice() {
    let stack = stack().await;
    stack.submitted("session-42", 1, "composite").await;
    let first = stack
        .notifier
        .handle(fixture("complete.json"))
        .await
        .unwrap();
    assert_eq!(first["outcome"], "applied");
    let second = stack
        .notifier
        .handle(fixture("complete.json"))
        .await
        .unwrap();
    assert_eq!(second["outcome"], "duplicate");
    assert_eq!(stack.bus.drain().await.len(), 1);
}

#[tokio::test]
async fn a_crash_after_the_status_update_still_publishes_on_redelivery() {
    let stack = stack().await;
    stack.submitted("session-42", 1, "composite").await;
    let e = fixture("complete.json");
    // The status was written by this event, then the invocation died before publishing and marking.
    stack
        .table
        .apply_job_event(
            "session-42",
            1,
            &StreamUpdate::Ready {
                output_key: Some("videos/session-42_composited.mp4".into()),
                cost: None,
            },
            e["id"].as_str().unwrap(),
            1,
        )
        .await
        .unwrap();
    let answer = stack.notifier.handle(e.clone()).await.unwrap();
    assert_eq!(answer["outcome"], "applied");
    assert_eq!(stack.bus.drain().await.len(), 1);
    // A different COMPLETE event for the same job (another id) is stale: nothing more is published.
    let mut other = e;
    other["id"] = json!("another-delivery");
    let answer = stack.notifier.handle(other).await.unwrap();
    assert_eq!(answer["outcome"], "stale");
    assert!(stack.bus.drain().await.is_empty());
}

#[tokio::test]
async fn a_canceled_job_of_an_older_generation_changes_nothing() {
    let stack = stack().await;
    stack.submitted("session-42", 2, "composite").await;
    let answer = stack
        .notifier
        .handle(fixture("canceled.json"))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "stale");
    let r = stack.stream("session-42").await;
    assert_eq!((r.status, r.generation), (StreamStatus::Processing, 2));
    assert!(stack.bus.drain().await.is_empty());
}

#[tokio::test]
async fn an_event_of_a_generation_not_yet_recorded_fails_so_it_is_retried() {
    let stack = stack().await;
    stack.submitted("session-42", 1, "composite").await;
    let e = job_event("complete.json", "early", 2, "session-42");
    let err = stack.notifier.handle(e.clone()).await.unwrap_err();
    assert!(matches!(
        err,
        NotifierError::GenerationNotRecorded {
            event: 2,
            recorded: 1,
            ..
        }
    ));
    assert_eq!(err.error_type(), "GenerationNotRecorded");
    // The compositor records generation 2; Lambda's retry then applies the event.
    stack.submitted("session-42", 2, "composite").await;
    let answer = stack.notifier.handle(e).await.unwrap();
    assert_eq!(answer["outcome"], "applied");
    assert_eq!(stack.stream("session-42").await.status, StreamStatus::Ready);
}

#[tokio::test]
async fn malformed_and_foreign_events_are_acknowledged_without_writes() {
    let stack = stack().await;
    stack.submitted("session-42", 1, "composite").await;
    let items_before = stack.item_count().await;
    let mut no_metadata = fixture("complete.json");
    no_metadata["detail"]["userMetadata"] = json!({});
    let mut bad_generation = fixture("complete.json");
    bad_generation["detail"]["userMetadata"]["generation"] = json!("two");
    let mut unknown_status = fixture("complete.json");
    unknown_status["detail"]["status"] = json!("SUBMITTED");
    let mut unknown_stream = fixture("complete.json");
    unknown_stream["detail"]["userMetadata"]["stream"] = json!("nobody");
    // The envelope is EventBridge's: an id (the event's dedupe key) and an RFC 3339 time.
    let mut no_id = fixture("complete.json");
    no_id.as_object_mut().unwrap().remove("id");
    let mut bad_time = fixture("complete.json");
    bad_time["time"] = json!("yesterday");
    let cases = [
        (no_id, "rejected"),
        (bad_time, "rejected"),
        (json!({}), "rejected"),
        (json!("not an object"), "rejected"),
        (
            json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
            "rejected",
        ),
        (no_metadata, "ignored"),
        (bad_generation, "rejected"),
        (unknown_status, "rejected"),
        (fixture("complete-chunk-job.json"), "ignored"),
    ];
    for (event, outcome) in cases {
        let answer = stack.notifier.handle(event.clone()).await.unwrap();
        assert_eq!(answer["outcome"], outcome, "{event}: {answer}");
    }
    assert_eq!(stack.item_count().await, items_before);
    let answer = stack.notifier.handle(unknown_stream).await.unwrap();
    assert_eq!(answer["outcome"], "ignored");
    assert_eq!(
        stack.stream("session-42").await.status,
        StreamStatus::Processing
    );
    assert!(stack.bus.drain().await.is_empty());
}

#[tokio::test]
async fn a_terminal_change_is_also_sent_as_a_signed_webhook() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let receiver = WebhookReceiver::start(secret, vec![502]).await;
    let sqs = aws_sdk_sqs::Client::new(&MotoServer::shared().sdk_config().await);
    let dlq = create_queue(&sqs).await;
    let stack = stack_with(Some(WebhookConfig {
        url: receiver.url().to_owned(),
        secret: secret.to_vec(),
        dead_letter_queue_url: dlq.clone(),
        max_attempts: 3,
        first_backoff: Duration::from_millis(10),
        attempt_timeout: Duration::from_secs(5),
    }))
    .await;
    stack.submitted("session-42", 1, "composite").await;
    stack
        .notifier
        .handle(fixture("complete.json"))
        .await
        .unwrap();
    let on_bus = stack.bus.drain().await;
    let received = receiver.received();
    assert_eq!(received.len(), 2, "one 502, then delivered");
    assert!(received.iter().all(|r| r.signature_valid));
    let body: Value = serde_json::from_slice(&received[1].body).unwrap();
    assert_eq!(body, on_bus[0]["detail"]);
    assert!(drain_queue(&sqs, &dlq).await.is_empty());
}

/// On AWS the webhook key is a Secrets Manager secret named by `WEBHOOK_SECRET_ARN`: the notifier `main` builds
/// reads it once (moto's Secrets Manager here) and signs with it; a secret it cannot read stops the cold start
/// with the secret named, and so does one too short to be a key.
#[tokio::test]
async fn the_webhook_key_is_read_from_secrets_manager_once_at_cold_start() {
    let key = "a-webhook-key-of-more-than-32-bytes-from-secrets-manager";
    let receiver = WebhookReceiver::start(key.as_bytes(), vec![]).await;
    let sdk = MotoServer::shared().sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = |value: &'static str| {
        let secrets = secrets.clone();
        async move {
            let created = secrets
                .create_secret()
                .name(unique_name("hook"))
                .secret_string(value);
            created.send().await.unwrap().arn.unwrap()
        }
    };
    let (arn, short) = (secret(key).await, secret("too-short").await);
    let dlq = create_queue(&aws_sdk_sqs::Client::new(&sdk)).await;
    let stack = stack().await;
    let config = |arn: &str| {
        Config::from_env(vars(&[
            ("TABLE_NAME", stack.table_name.as_str()),
            ("EVENT_BUS_NAME", stack.bus.bus_name.as_str()),
            ("WEBHOOK_URL", receiver.url()),
            ("WEBHOOK_SECRET_ARN", arn),
            ("WEBHOOK_DLQ_URL", dlq.as_str()),
        ]))
        .unwrap()
    };
    let notifier = wiring::notifier(config(&arn), &sdk).await.unwrap();
    stack.submitted("session-secret", 1, "composite").await;
    let event = job_event("complete.json", &unique_name("event"), 1, "session-secret");
    notifier.handle(event).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].signature_valid,
        "signed with the secret's value"
    );

    let missing = format!("{arn}-gone");
    let Err(error) = wiring::notifier(config(&missing), &sdk).await else {
        panic!("a missing secret must stop the cold start");
    };
    assert!(matches!(error, WiringError::Secret(_)), "{error:?}");
    assert!(error.to_string().contains(&missing), "{error}");
    let Err(error) = wiring::notifier(config(&short), &sdk).await else {
        panic!("a short key must stop the cold start");
    };
    assert!(matches!(error, WiringError::Config(_)), "{error:?}");
}

/// Rank of a status in the forward-only order.
fn rank(status: StreamStatus) -> u8 {
    match status {
        StreamStatus::Queued => 0,
        StreamStatus::Processing => 1,
        StreamStatus::Ready | StreamStatus::Failed => 2,
    }
}

#[tokio::test]
async fn any_order_and_duplication_of_job_events_ends_as_the_current_job_says() {
    let stack = stack().await;
    let seed = std::env::var("NOTIFIER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    for case in 0..24 {
        let stream = format!("prop-{case}");
        stack.submitted(&stream, 2, "composite").await;
        let terminal = ["complete.json", "error.json", "canceled.json"][rng.usize(..3)];
        let mut events: Vec<Value> = Vec::new();
        events.push(job_event(
            "progressing.json",
            &format!("{stream}-p"),
            2,
            &stream,
        ));
        for i in 0..rng.usize(1..5) {
            let mut e = job_event("status-update.json", &format!("{stream}-u{i}"), 2, &stream);
            e["detail"]["jobProgress"]["jobPercentComplete"] = json!(rng.u8(0..=100));
            events.push(e);
        }
        events.push(job_event(terminal, &format!("{stream}-t"), 2, &stream));
        // The older generation's events: progress and its own (different) end.
        events.push(job_event(
            "status-update.json",
            &format!("{stream}-old-u"),
            1,
            &stream,
        ));
        let old_terminal = if terminal == "complete.json" {
            "error.json"
        } else {
            "complete.json"
        };
        events.push(job_event(
            old_terminal,
            &format!("{stream}-old-t"),
            1,
            &stream,
        ));
        for _ in 0..rng.usize(1..4) {
            let again = events[rng.usize(..events.len())].clone();
            events.push(again);
        }
        rng.shuffle(&mut events);

        let mut last = stack.stream(&stream).await;
        // The pure rule, applied to the same events, predicts every stored state.
        let mut model = last.progress_state();
        for e in &events {
            stack.notifier.handle(e.clone()).await.unwrap();
            let now = stack.stream(&stream).await;
            let detail: JobStateDetail = serde_json::from_value(e["detail"].clone()).unwrap();
            let JobRoute::Stream { generation, .. } = route(&detail.user_metadata).unwrap() else {
                panic!("a stream job")
            };
            if let Some(update) = detail.state.stream_update()
                && model.admits(generation, &update)
            {
                model = model.after(&update);
            }
            assert_eq!(now.progress_state(), model, "seed {seed}");
            assert_eq!(now.generation, 2, "seed {seed}");
            assert!(
                rank(now.status) >= rank(last.status),
                "seed {seed}: {last:?} -> {now:?}"
            );
            assert!(
                now.progress >= last.progress,
                "seed {seed}: progress {} -> {}",
                last.progress,
                now.progress
            );
            if last.status.is_terminal() {
                assert_eq!(now, last, "seed {seed}: a terminal status changed");
            }
            last = now;
        }
        let expected = if terminal == "complete.json" {
            StreamStatus::Ready
        } else {
            StreamStatus::Failed
        };
        assert_eq!(last.status, expected, "seed {seed}, case {case}");
        let published = stack.bus.drain().await;
        assert_eq!(published.len(), 1, "seed {seed}: {published:?}");
        assert_eq!(published[0]["detail"]["data"]["generation"], 2);
    }
}

#[tokio::test]
async fn a_failed_publish_fails_the_invocation_and_the_retry_publishes() {
    let stack = stack().await;
    stack.submitted("session-42", 1, "composite").await;
    let sdk = MotoServer::shared().sdk_config().await;
    let broken = notifier(
        &sdk,
        &stack.table_name,
        EventBridgePublisher::new(EventBus::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            "no-such-bus",
        )),
    );
    for name in ["complete.json", "render-ready.json"] {
        let err = broken.handle(fixture(name)).await.unwrap_err();
        assert_eq!(err.error_type(), "PublishFailed", "{name}");
    }
    // The status was written, but nothing was marked processed: Lambda's retry publishes.
    assert_eq!(stack.stream("session-42").await.status, StreamStatus::Ready);
    let answer = stack
        .notifier
        .handle(fixture("complete.json"))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "applied");
    let answer = stack
        .notifier
        .handle(fixture("render-ready.json"))
        .await
        .unwrap();
    assert_eq!(answer["status"], "ready");
    let published: Vec<String> = stack
        .bus
        .drain()
        .await
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(published, ["composite.ready", "render.ready"]);
}
