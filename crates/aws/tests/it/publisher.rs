//! The EventBridge publisher against moto (bus, rule to SQS, dead-letter queue) and a loopback webhook receiver that
//! checks signatures and fails on demand.

use std::time::Duration;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::publisher::EventBridgePublisher;
use vidpipe_aws::webhook::{WebhookConfig, WebhookDelivery};
use vidpipe_core::notify::{DomainEvent, DomainEventType};
use vidpipe_core::ports::{EventPublisher, PublishError};
use vidpipe_testkit::moto::{BusCapture, MotoServer, create_queue, drain_queue};
use vidpipe_testkit::webhook::WebhookReceiver;

const SECRET: &[u8] = b"webhook-test-secret";

fn event(id: &str) -> DomainEvent {
    DomainEvent {
        id: id.into(),
        event_type: DomainEventType::CompositeReady,
        time: "2026-11-21T10:00:00Z".into(),
        data: serde_json::json!({"stream": "s1", "status": "ready"}),
    }
}

struct Setup {
    bus: BusCapture,
    sqs: aws_sdk_sqs::Client,
    dlq: String,
    events: aws_sdk_eventbridge::Client,
}

async fn setup() -> Setup {
    let sdk = MotoServer::shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    Setup {
        bus: BusCapture::create(&sdk, "vidpipe").await,
        dlq: create_queue(&sqs).await,
        sqs,
        events: aws_sdk_eventbridge::Client::new(&sdk),
    }
}

impl Setup {
    fn publisher(&self, url: &str, dlq: &str, max_attempts: u32) -> EventBridgePublisher {
        EventBridgePublisher::new(EventBus::new(self.events.clone(), &self.bus.bus_name))
            .with_webhook(
                WebhookConfig {
                    url: url.into(),
                    secret: SECRET.to_vec(),
                    dead_letter_queue_url: dlq.into(),
                    max_attempts,
                    first_backoff: Duration::from_millis(20),
                    attempt_timeout: Duration::from_secs(5),
                },
                self.sqs.clone(),
            )
            .unwrap()
    }
}

#[tokio::test]
async fn a_signed_webhook_is_retried_on_5xx_and_429_then_delivered() {
    let s = setup().await;
    let receiver = WebhookReceiver::start(SECRET, vec![503, 429]).await;
    let publisher = s.publisher(receiver.url(), &s.dlq, 4);
    let e = event("evt-retry");
    publisher.publish(&e).await.unwrap();

    let received = receiver.received();
    assert_eq!(
        received.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [503, 429, 200]
    );
    for r in &received {
        assert!(r.signature_valid);
        assert_eq!(serde_json::from_slice::<DomainEvent>(&r.body).unwrap(), e);
        assert!(
            r.headers
                .contains(&("vidpipe-event-id".into(), "evt-retry".into()))
        );
    }
    let on_bus = s.bus.drain().await;
    assert_eq!(on_bus.len(), 1);
    assert_eq!(on_bus[0]["detail"]["id"], "evt-retry");
    assert!(drain_queue(&s.sqs, &s.dlq).await.is_empty());
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_ends_on_the_dead_letter_queue_after_bounded_attempts() {
    let s = setup().await;
    let receiver = WebhookReceiver::start(SECRET, vec![500; 10]).await;
    let publisher = s.publisher(receiver.url(), &s.dlq, 3);
    let e = event("evt-dlq");
    assert_eq!(
        publisher.deliver_webhook(&e).await.unwrap(),
        Some(WebhookDelivery::DeadLettered {
            attempts: 3,
            error: "HTTP 500".into()
        })
    );
    assert_eq!(receiver.received().len(), 3);
    let dead = drain_queue(&s.sqs, &s.dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["url"], receiver.url());
    assert_eq!(dead[0]["attempts"], 3);
    assert_eq!(dead[0]["error"], "HTTP 500");
    assert_eq!(
        serde_json::from_value::<DomainEvent>(dead[0]["event"].clone()).unwrap(),
        e
    );
}

#[tokio::test]
async fn a_4xx_other_than_429_is_not_retried_and_a_bad_signature_is_refused() {
    let s = setup().await;
    let receiver = WebhookReceiver::start(SECRET, vec![400]).await;
    let publisher = s.publisher(receiver.url(), &s.dlq, 5);
    publisher.publish(&event("evt-400")).await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(drain_queue(&s.sqs, &s.dlq).await[0]["error"], "HTTP 400");

    // A receiver with another secret answers 401: one attempt, then the dead-letter queue.
    let strict = WebhookReceiver::start(b"another-secret", vec![]).await;
    let publisher = s.publisher(strict.url(), &s.dlq, 5);
    let outcome = publisher.deliver_webhook(&event("evt-401")).await.unwrap();
    assert_eq!(
        outcome,
        Some(WebhookDelivery::DeadLettered {
            attempts: 1,
            error: "HTTP 401".into()
        })
    );
    assert!(!strict.received()[0].signature_valid);
}

#[tokio::test]
async fn network_errors_are_retried_and_an_unreachable_dead_letter_queue_fails_the_publish() {
    let s = setup().await;
    // Nothing listens on this port once the listener is dropped.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/hook");
    let publisher = s.publisher(&url, &s.dlq, 2);
    let outcome = publisher.deliver_webhook(&event("evt-net")).await.unwrap();
    assert!(
        matches!(
            outcome,
            Some(WebhookDelivery::DeadLettered { attempts: 2, .. })
        ),
        "{outcome:?}"
    );
    assert_eq!(drain_queue(&s.sqs, &s.dlq).await.len(), 1);

    let missing_dlq = format!(
        "{}/123456789012/no-such-queue",
        MotoServer::shared().endpoint()
    );
    let publisher = s.publisher(&url, &missing_dlq, 1);
    let err = publisher.publish(&event("evt-lost")).await.unwrap_err();
    assert!(matches!(err, PublishError::DeadLetter { .. }), "{err}");
}

#[tokio::test]
async fn a_bus_failure_fails_the_publish_before_any_webhook() {
    let s = setup().await;
    let receiver = WebhookReceiver::start(SECRET, vec![]).await;
    let publisher = EventBridgePublisher::new(EventBus::new(s.events.clone(), "no-such-bus"))
        .with_webhook(
            WebhookConfig {
                url: receiver.url().into(),
                secret: SECRET.to_vec(),
                dead_letter_queue_url: s.dlq.clone(),
                max_attempts: 1,
                first_backoff: Duration::ZERO,
                attempt_timeout: Duration::from_secs(5),
            },
            s.sqs.clone(),
        )
        .unwrap();
    let err = publisher.publish(&event("evt-bus")).await.unwrap_err();
    assert!(matches!(err, PublishError::Bus(_)), "{err}");
    assert!(receiver.received().is_empty());
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let config = WebhookConfig {
        url: "https://example.com/hook".into(),
        secret: b"super-secret-value".to_vec(),
        dead_letter_queue_url: "q".into(),
        max_attempts: 1,
        first_backoff: Duration::ZERO,
        attempt_timeout: Duration::from_secs(1),
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("super-secret-value"));
    assert!(!shown.contains(&format!("{:?}", b"super-secret-value".to_vec())));
}
