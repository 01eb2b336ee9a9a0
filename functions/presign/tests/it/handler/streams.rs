//! Streams: the first upload claims one for its caller, and `GET /streams/{stream}` serves it to its owner only.

use vidpipe_core::stream_status::StreamStatus;

use super::{app, call, stream_record, writes};
use crate::common::Event;

#[tokio::test]
async fn a_stream_upload_claims_the_stream_and_someone_else_is_refused_before_any_write() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(status, 201, "{body}");
    let owner = app.streams.record("session-42").unwrap().owner;
    assert_eq!(owner.as_deref(), Some("jwt:user-123"));

    // The same owner may sign the partner recording.
    let (status, body) = call(&app, Event::fixture("post-uploads-screen.json")).await;
    assert_eq!(status, 201, "{body}");

    let before = writes(&app);
    let signed_before = app.objects.signed_puts.lock().unwrap().len();
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-camera.json")
            .subject(Some("mallory"))
            .body(r#"{"kind":"camera","content_type":"video/webm","size":1024,"stream_name":"session-42"}"#),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("stream_taken")),
        "{err}"
    );
    assert_eq!(writes(&app), before);
    assert_eq!(app.objects.signed_puts.lock().unwrap().len(), signed_before);
}

#[tokio::test]
async fn stream_status_is_served_to_its_owner_only() {
    let app = app(&[]);
    let mut ready = stream_record("session-42", Some("jwt:user-123"), StreamStatus::Ready);
    ready.progress = 100;
    ready.generation = 1;
    ready.job_kind = Some("single".into());
    ready.fallback_reason = Some("camera_missing".into());
    ready.screen_uploads = 2;
    ready.output_key = Some("videos/session-42_composited.mp4".into());
    ready.cost = Some(vidpipe_core::cost::JobCost {
        micro_usd: 7_750,
        output_seconds: 31,
        basis: vidpipe_core::cost::CostBasis::MediaConvertOnDemand,
    });
    let mut failed = stream_record("s-failed", Some("jwt:user-123"), StreamStatus::Failed);
    failed.error_code = Some("1040".into());
    failed.error_message = Some("bad input".into());
    let mut processing = stream_record("s-running", Some("jwt:user-123"), StreamStatus::Processing);
    processing.progress = 46;
    app.streams.insert(ready);
    app.streams.insert(failed);
    app.streams.insert(processing);
    app.streams
        .insert(stream_record("s-bob", Some("jwt:bob"), StreamStatus::Ready));
    let (status, body) = call(&app, Event::fixture("get-stream.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"stream": "session-42", "status": "ready", "progress": 100,
            "output_url": "https://s3.test/videos/session-42_composited.mp4?get", "error": null,
            "job_kind": "single", "fallback_reason": "camera_missing",
            "cost": {"estimated_usd": 0.00775, "output_minutes": 31.0 / 60.0, "basis": "mediaconvert-on-demand"},
            "uploads": {"screen": 2, "camera": 0}, "playback": null})
    );
    let get = |stream: &str| Event::fixture("get-stream.json").path(&format!("/streams/{stream}"));
    let (_, running) = call(&app, get("s-running")).await;
    assert_eq!(
        (
            running["status"].as_str(),
            running["progress"].as_u64(),
            &running["output_url"]
        ),
        (Some("processing"), Some(46), &serde_json::Value::Null)
    );
    let (_, failed) = call(&app, get("s-failed")).await;
    assert_eq!(
        failed["error"],
        serde_json::json!({"code": "1040", "message": "bad input"})
    );
    assert_eq!(failed["output_url"], serde_json::Value::Null);
    for (stream, expected) in [
        ("s-bob", 404),
        ("nobody", 404),
        ("bad%20name", 404),
        ("x_composited", 404),
    ] {
        let (status, body) = call(&app, get(stream)).await;
        assert_eq!(status, expected, "{stream}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = call(&app, Event::fixture("get-stream.json").subject(None)).await;
    assert_eq!(status, 401);
    let anonymous = self::app(&[("AUTH_MODE", "anonymous")]);
    let (status, _) = call(&anonymous, Event::fixture("get-stream.json").subject(None)).await;
    assert_eq!(status, 403);
    assert_eq!(writes(&app), 0);
}

#[tokio::test]
async fn an_anonymous_caller_reads_a_stream_with_its_capability_only() {
    let app = app(&[("AUTH_MODE", "anonymous")]);
    let (status, first) = call(
        &app,
        Event::fixture("post-presigned-url.json").subject(None),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let capability = first["stream_capability"].as_str().unwrap();
    let (_, other) = call(
        &app,
        Event::fixture("post-presigned-url.json")
            .subject(None)
            .body(r#"{"filename":"session-44_camera.webm"}"#),
    )
    .await;
    let before = writes(&app);
    let get = |stream: &str| {
        Event::fixture("get-stream.json")
            .subject(None)
            .path(&format!("/streams/{stream}"))
    };
    let (status, body) = call(
        &app,
        get("session-43").header("x-stream-capability", capability),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["stream"].as_str(), body["status"].as_str()),
        (Some("session-43"), Some("queued"))
    );
    let (status, err) = call(&app, get("session-43")).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    for (stream, presented) in [
        ("session-43", "0".repeat(64)),
        (
            "session-43",
            other["stream_capability"].as_str().unwrap().to_owned(),
        ),
        ("session-44", capability.to_owned()),
        ("nobody", capability.to_owned()),
    ] {
        let (status, err) = call(&app, get(stream).header("x-stream-capability", &presented)).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{stream}: {err}"
        );
    }
    assert_eq!(writes(&app), before);
}
