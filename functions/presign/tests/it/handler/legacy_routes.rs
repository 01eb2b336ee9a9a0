//! The routes of the clients that came before the upload API: the AddPipe survey client's `POST /presigned-url`
//! and the video-call recorder's `POST /recordings/upload-url`.

use std::collections::HashSet;

use vidpipe_core::stream_status::StreamStatus;
use vidpipe_presign::auth::ANONYMOUS_OWNER;

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
    assert_eq!(body["expires_in"], 300, "LEGACY_UPLOAD_URL_TTL_SECONDS");
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

#[tokio::test]
async fn an_anonymous_first_sign_returns_the_streams_capability_and_only_it_signs_again() {
    let app = app(&[("AUTH_MODE", "anonymous")]);
    let survey = || Event::fixture("post-presigned-url.json").subject(None);
    let (status, first) = call(&app, survey()).await;
    assert_eq!(status, 200, "{first}");
    let capability = first["stream_capability"].as_str().unwrap().to_owned();
    assert_eq!(capability.len(), 64, "256 bits, hex");

    // Every anonymous caller is the same owner: without the capability (or with a wrong one), no one signs the
    // respondent's camera file again, nor the stream's screen file, on either route; nothing is written.
    let before = writes(&app);
    let screen = r#"{"filename":"session-43.mp4"}"#;
    let wrong = "0".repeat(64);
    for event in [
        survey(),
        survey().body(screen),
        survey().header("x-stream-capability", &wrong),
        survey().body(screen).header("x-stream-capability", ""),
        survey().header("x-stream-capability", &capability[..63]),
        Event::fixture("post-uploads-screen.json")
            .subject(None)
            .body(r#"{"kind":"screen","content_type":"video/mp4","size":2048,"stream_name":"session-43"}"#),
    ] {
        let (status, err) = call(&app, event).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (403, Some("capability_required")),
            "{err}"
        );
        assert!(!err.to_string().contains(&capability));
    }
    assert_eq!(writes(&app), before);
    assert_eq!(app.objects.signed_puts.lock().unwrap().len(), 1);

    // The respondent, with it, signs the stream's other file (on either route); no new capability is issued.
    let (status, body) = call(
        &app,
        survey()
            .body(screen)
            .header("X-Stream-Capability", &capability),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("stream_capability").is_none(), "{body}");
    let (status, body) = call(
        &app,
        Event::fixture("post-uploads-screen.json")
            .subject(None)
            .header("x-stream-capability", &capability)
            .body(r#"{"kind":"screen","content_type":"video/mp4","size":2048,"stream_name":"session-43"}"#),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("stream_capability").is_none(), "{body}");

    // Each stream gets its own capability, which opens no other stream.
    let (status, other) = call(
        &app,
        survey().body(r#"{"filename":"session-44_camera.webm"}"#),
    )
    .await;
    assert_eq!(status, 200, "{other}");
    let other = other["stream_capability"].as_str().unwrap();
    assert_ne!(other, capability);
    let (status, _) = call(
        &app,
        survey()
            .body(r#"{"filename":"session-44.mp4"}"#)
            .header("x-stream-capability", &capability),
    )
    .await;
    assert_eq!(status, 403);
    // POST /uploads issues one too, on its first sign of a stream.
    let (status, body) = call(
        &app,
        Event::fixture("post-uploads-camera.json").subject(None),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stream_capability"].as_str().map(str::len), Some(64));
}

#[tokio::test]
async fn a_stream_of_the_anonymous_owner_without_a_capability_admits_no_anonymous_caller() {
    // A stream claimed anonymously before capabilities existed: nobody can show its capability.
    let app = app(&[("AUTH_MODE", "anonymous")]);
    app.streams.insert(stream_record(
        "session-43",
        Some(ANONYMOUS_OWNER),
        StreamStatus::Queued,
    ));
    let (status, err) = call(
        &app,
        Event::fixture("post-presigned-url.json")
            .subject(None)
            .header("x-stream-capability", &"0".repeat(64)),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("capability_required")),
        "{err}"
    );
    assert_eq!(writes(&app), 0);
}

#[tokio::test]
async fn legacy_urls_are_short_lived_by_default_and_configurable() {
    let app = app(&[("LEGACY_UPLOAD_URL_TTL_SECONDS", "120")]);
    let (status, body) = call(&app, Event::fixture("post-recordings-upload-url.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 120);
}
