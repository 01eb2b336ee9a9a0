//! Events lambda_http (1.3) cannot turn into a request without panicking, which aborts a release build: each is
//! repaired by `event_guard` and answered like any other request, with no write.

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use serde_json::{Value, json};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_presign::event_guard::{guard, repair};

use super::{app, stream_record, writes};
use crate::common::{fixture, parts};

/// Whether lambda_http converts `event` without panicking (its panic message is not printed).
fn converts(event: &Value) -> bool {
    let text = event.to_string();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let converted =
        std::panic::catch_unwind(|| lambda_http::request::from_str(&text).is_ok()).unwrap_or(false);
    std::panic::set_hook(hook);
    converted
}

/// `GET /streams/session-42` with `field` set to `value` (`headers.*` sets a header).
fn stream_event(field: &str, value: Value) -> Value {
    let mut event = fixture("get-stream.json");
    match field.strip_prefix("headers.") {
        Some(name) => event["headers"][name] = value,
        None => event[field] = value,
    }
    event
}

#[tokio::test]
async fn events_that_made_lambda_http_panic_are_repaired_and_answered() {
    let cases = [
        ("rawQueryString", json!("a=\"b\"")),
        ("rawQueryString", json!("a=b c&d=\u{1}")),
        ("rawQueryString", json!("a=<b>#c\\")),
        ("headers.host", json!("exa mple.com")),
        ("headers.host", json!("example.com:99999")),
        ("headers.host", json!("\"example.com\"")),
        ("headers.x-forwarded-proto", json!("ht tp")),
        ("rawPath", json!(":99999/streams/session-42")),
    ];
    let mut base64_body = fixture("post-uploads-camera.json");
    base64_body["isBase64Encoded"] = json!(true);
    base64_body["body"] = json!("not base64 at all!");
    let events = cases
        .iter()
        .map(|(field, value)| stream_event(field, value.clone()))
        .chain([base64_body]);
    for event in events {
        assert!(!converts(&event), "lambda_http panics on {event}");
        let mut request: ApiGatewayV2httpRequest = serde_json::from_value(event.clone()).unwrap();
        let repaired = repair(&mut request);
        assert!(!repaired.is_empty(), "{event}");
        let repaired_event = serde_json::to_value(&request).unwrap();
        assert!(converts(&repaired_event), "{repaired:?}: {repaired_event}");

        // The runtime's path: the guard, then lambda_http's conversion, then the handler.
        let guarded = guard(LambdaEvent::new(
            LambdaRequest::ApiGatewayV2(serde_json::from_value(event.clone()).unwrap()),
            Context::default(),
        ));
        let LambdaRequest::ApiGatewayV2(request) = guarded.payload else {
            unreachable!()
        };
        let app = app(&[]);
        app.streams.insert(stream_record(
            "session-42",
            Some("jwt:user-123"),
            StreamStatus::Ready,
        ));
        let before = writes(&app);
        let (status, body) = parts(
            app.handle(lambda_http::Request::from(LambdaRequest::ApiGatewayV2(
                request,
            )))
            .await,
        );
        assert!(status < 500, "{status} {body} for {event}");
        assert_eq!(writes(&app), before, "{event}");
    }
}

#[test]
fn an_event_lambda_http_reads_is_left_as_it_is() {
    for name in ["get-stream.json", "post-uploads-camera.json"] {
        let event = fixture(name);
        let mut request: ApiGatewayV2httpRequest = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(repair(&mut request), Vec::<&str>::new(), "{name}");
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::to_value(serde_json::from_value::<ApiGatewayV2httpRequest>(event).unwrap())
                .unwrap()
        );
    }
}
