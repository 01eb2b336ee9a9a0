//! The EventBridge adapter against a real moto server: a rule routes published events to an SQS queue.

use serde_json::{Value, json};
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_core::notify::{DomainEvent, DomainEventType};
use vidpipe_testkit::{moto::MotoServer, unique_name};

#[tokio::test]
async fn a_published_domain_event_reaches_a_rule_target_with_source_type_and_body() {
    let sdk = MotoServer::shared().sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus_name = unique_name("bus");
    events
        .create_event_bus()
        .name(&bus_name)
        .send()
        .await
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_name("events"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        queue_url.rsplit('/').next().unwrap()
    );
    events
        .put_rule()
        .name("vidpipe-events")
        .event_bus_name(&bus_name)
        .event_pattern(json!({"source": ["vidpipe"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("vidpipe-events")
        .event_bus_name(&bus_name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let bus = EventBus::new(events, &bus_name);
    let event = DomainEvent {
        id: "evt-1".into(),
        event_type: DomainEventType::CompositeReady,
        time: "2026-11-21T10:00:00Z".into(),
        data: json!({"stream": "s1", "status": "ready"}),
    };
    bus.publish(&event).await.expect("published");

    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let message = &received.messages()[0];
    let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(envelope["source"], "vidpipe");
    assert_eq!(envelope["detail-type"], "composite.ready");
    let detail: DomainEvent = serde_json::from_value(envelope["detail"].clone()).unwrap();
    assert_eq!(detail, event);
}

#[tokio::test]
async fn an_event_for_a_bus_that_does_not_exist_is_an_error() {
    let sdk = MotoServer::shared().sdk_config().await;
    let bus = EventBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        unique_name("missing"),
    );
    let err = bus
        .put("vidpipe", "x", &json!({}), &[])
        .await
        .expect_err("no such bus");
    assert!(!err.to_string().is_empty());
}
