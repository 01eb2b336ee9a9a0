//! The routes of the clients that came before the upload API: the AddPipe survey client's `POST /presigned-url`
//! and the video-call recorder's `POST /recordings/upload-url`.

use std::collections::HashSet;

use vidpipe_core::stream_status::StreamStatus;

use super::{app, call, stream_record, writes};
use crate::common::Event;

#[tokio::test]
async fn the_survey_clients_route_signs_stream_files_only() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-presigned-url.json")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["url"]
            .as_str()
            .unwrap()
            .contains("videos/session-43_camera.webm")
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "the survey client reads only url"
    );
    let (key, content_type, len, if_none_match, _) =
        app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(
        (key.as_str(), content_type.as_str(), len, if_none_match),
        ("videos/session-43_camera.webm", "video/webm", None, false)
    );
    let (status, _) = call(
        &app,
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"s.mp4"}"#),
    )
    .await;
    assert_eq!(status, 200);
    let before = writes(&app);
    for bad in [
        r#"{"filename":"index.html"}"#,
        r#"{"filename":"../x_camera.webm"}"#,
        r#"{"filename":"x_composited.mp4"}"#,
        r#"{"filename":"a/b.mp4"}"#,
        r#"{"name":"x.mp4"}"#,
        r#"{"filename":5}"#,
    ] {
        let (status, err) = call(&app, Event::fixture("post-presigned-url.json").body(bad)).await;
        assert_eq!(status, 400, "{bad}: {err}");
    }
    assert_eq!(writes(&app), before);
}

#[tokio::test]
async fn the_call_recorders_route_keeps_its_shapes() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-recordings-upload-url.json")).await;
    assert_eq!(status, 200, "{body}");
    let keys: HashSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["upload_url", "recording_id", "s3_key", "expires_in"])
    );
    assert_eq!(body["expires_in"], 1800);
    assert!(
        body["s3_key"]
            .as_str()
            .unwrap()
            .starts_with("videos/recordings/abc123/")
    );
    let (_, _, len, _, _) = app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(len, Some(12_345_678));
    // Optional fields default as the call recorder's documentation says.
    let (status, body) = call(
        &app,
        Event::fixture("post-recordings-upload-url.json").body(r#"{"room_id":"abc123"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["s3_key"]
            .as_str()
            .unwrap()
            .ends_with("/recording.webm")
    );
    for (bad, field) in [
        (r#"{"filename":"x.webm"}"#, "room_id"),
        (
            r#"{"room_id":"abc","contentType":"image/png"}"#,
            "contentType",
        ),
        (r#"{"room_id":"abc","size":0}"#, "size"),
    ] {
        let (status, err) = call(
            &app,
            Event::fixture("post-recordings-upload-url.json").body(bad),
        )
        .await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (400, Some(field)),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_legacy_stream_route_claims_the_stream_too() {
    let app = app(&[]);
    app.streams.insert(stream_record(
        "abc123",
        Some("jwt:bob"),
        StreamStatus::Queued,
    ));
    let (status, err) = call(
        &app,
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"abc123_camera.webm"}"#),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("stream_taken")),
        "{err}"
    );
    assert!(app.objects.signed_puts.lock().unwrap().is_empty());
}
