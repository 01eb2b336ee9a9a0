//! HTTP plumbing: CORS, unknown routes and methods, API Gateway stage prefixes.

use super::{app, call};
use crate::common::Event;

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = app(&[]);
    let response = app
        .handle(Event::fixture("options-preflight.json").request())
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        response.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(
        response.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-stream-capability"),
        "a page may send a stream capability"
    );
    let allowed = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert!(allowed("access-control-allow-methods").contains("PUT"));
    for name in ["if-match", "if-none-match", "x-composition-token"] {
        assert!(
            allowed("access-control-allow-headers").contains(name),
            "{name}"
        );
    }
    let response = app
        .handle(
            Event::fixture("options-preflight.json")
                .header("origin", "https://evil.example.com")
                .request(),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = app
        .handle(Event::fixture("post-uploads-camera.json").request())
        .await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let response = app
        .handle(
            Event::fixture("post-uploads-screen.json")
                .header("origin", "https://evil.example.com")
                .request(),
        )
        .await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let open = self::app(&[("ALLOWED_ORIGINS", "*")]);
    let response = open
        .handle(
            Event::fixture("options-preflight.json")
                .header("origin", "https://any.example.com")
                .request(),
        )
        .await;
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = app(&[]);
    let (status, err) = call(&app, Event::fixture("get-recordings.json").path("/admin")).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("no_route"))
    );
    let (status, err) = call(&app, Event::fixture("get-recordings.json").method("PUT")).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, _) = call(&app, Event::fixture("get-recording.json").id("nope")).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        Event::fixture("get-recording.json").id("..%2F..%2Fetc"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_named_stage_prefix_is_ignored() {
    let app = app(&[]);
    let mut event = Event::fixture("post-uploads-camera.json").path("/prod/uploads");
    event.0["requestContext"]["stage"] = "prod".into();
    let (status, body) = call(&app, event).await;
    assert_eq!(status, 201, "{body}");
}
