//! `POST /uploads` (single and multipart), its completion and abort, and what is refused before any write.

use std::sync::atomic::Ordering;

use vidpipe_core::ports::ObjectHead;
use vidpipe_core::recording::RecordingStatus;
use vidpipe_core::stream_status::StreamStatus;

use super::{MIB, app, call, stream_record, writes};
use crate::common::Event;

#[tokio::test]
async fn camera_upload_is_signed_with_a_server_chosen_key() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["key"], "videos/session-42_camera.webm");
    assert_eq!(body["upload"]["method"], "PUT");
    assert_eq!(body["upload"]["headers"]["content-type"], "video/webm");
    assert_eq!(body["upload"]["headers"]["content-length"], "1048576");
    let (key, content_type, len, if_none_match, meta) =
        app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(
        (key.as_str(), content_type.as_str(), len, if_none_match),
        (
            "videos/session-42_camera.webm",
            "video/webm",
            Some(1_048_576),
            true
        )
    );
    assert_eq!(
        meta,
        vec![("started-at".to_owned(), "1795193990000".to_owned())]
    );
    let id = body["recording_id"].as_str().unwrap();
    let stored = app
        .recordings
        .items
        .lock()
        .unwrap()
        .get(id)
        .cloned()
        .unwrap();
    assert_eq!(stored.status, RecordingStatus::Uploading);
    assert_eq!(stored.owner, "jwt:user-123");
    assert_eq!(stored.stream_name.as_deref(), Some("session-42"));
    let retention = stored.expires_at * 1000 - stored.created_at_ms;
    assert!(
        (30 * 86_400_000 - 1000..=30 * 86_400_000).contains(&retention),
        "{retention}"
    );
}

#[tokio::test]
async fn recording_upload_key_lives_under_room_and_id() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-recording.json")).await;
    assert_eq!(status, 201, "{body}");
    let id = body["recording_id"].as_str().unwrap();
    assert_eq!(
        body["key"],
        format!("videos/recordings/abc123/{id}/recording-1795193990.webm")
    );
}

#[tokio::test]
async fn an_asset_is_keyed_in_the_callers_assets_and_answered_with_its_render_uri() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-asset.json")).await;
    assert_eq!(status, 201, "{body}");
    let id = body["recording_id"].as_str().unwrap();
    let key = format!("videos/assets/jwt%3Auser-123/{id}/product_shot.png");
    assert_eq!(body["key"], key);
    assert_eq!(body["uri"], format!("s3://uploads/{key}"));
    let (signed, content_type, ..) = app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(
        (signed.as_str(), content_type.as_str()),
        (key.as_str(), "image/png")
    );

    // An image a render cannot read is refused by its field, with nothing signed or stored.
    let refused = super::app(&[]);
    let (status, body) = call(
        &refused,
        Event::fixture("post-uploads-asset.json")
            .body(r#"{"kind": "asset", "content_type": "image/gif", "size": 10}"#),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("content_type"),
        "{body}"
    );
    assert_eq!(writes(&refused), 0);
}

#[tokio::test]
async fn large_upload_gets_a_multipart_plan_that_can_be_completed() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-multipart.json")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["upload"]["method"], "MULTIPART");
    let part_size = body["upload"]["part_size"].as_u64().unwrap();
    let part_list = body["upload"]["parts"].as_array().unwrap();
    assert_eq!(part_size, 8 * MIB);
    assert_eq!(part_list.len() as u64, (300 * MIB).div_ceil(part_size));
    let id = body["recording_id"].as_str().unwrap().to_owned();

    // Resume: every part is still missing.
    let (status, missing) = call(&app, Event::fixture("get-upload-parts.json").id(&id)).await;
    assert_eq!(status, 200, "{missing}");
    assert_eq!(missing["parts"].as_array().unwrap().len(), part_list.len());

    // Incomplete part lists are refused, and nothing is completed.
    let (status, err) = call(&app, Event::fixture("post-uploads-complete.json").id(&id)).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("parts")),
        "{err}"
    );
    let all: Vec<String> = (1..=part_list.len())
        .map(|n| format!(r#"{{"number":{n},"etag":"\"e{n}\""}}"#))
        .collect();
    let body = format!(r#"{{"parts":[{}]}}"#, all.join(","));
    let (status, done) = call(
        &app,
        Event::fixture("post-uploads-complete.json")
            .id(&id)
            .body(&body),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    // Once completed, the upload is no longer open.
    let (status, _) = call(
        &app,
        Event::fixture("post-uploads-complete.json")
            .id(&id)
            .body(&body),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn multipart_upload_can_be_aborted_once() {
    let app = app(&[]);
    let (_, body) = call(&app, Event::fixture("post-uploads-multipart.json")).await;
    let id = body["recording_id"].as_str().unwrap().to_owned();
    let (status, aborted) = call(&app, Event::fixture("delete-upload.json").id(&id)).await;
    assert_eq!((status, aborted["status"].as_str()), (200, Some("aborted")));
    let (status, again) = call(&app, Event::fixture("delete-upload.json").id(&id)).await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("not_uploading"))
    );
    let (status, listed) = call(&app, Event::fixture("get-recording.json").id(&id)).await;
    assert_eq!((status, listed["status"].as_str()), (200, Some("aborted")));
    assert!(listed["download_url"].is_null());
}

#[tokio::test]
async fn bad_upload_requests_are_400_naming_the_field_and_write_nothing() {
    let app = app(&[]);
    let cases: &[(&str, &str)] = &[
        ("{not json", "body"),
        ("[]", "body"),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":"big","stream_name":"s"}"#,
            "size",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":1073741825,"stream_name":"s"}"#,
            "size",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":-1,"stream_name":"s"}"#,
            "size",
        ),
        (
            r#"{"kind":"camera","content_type":"text/html","size":10,"stream_name":"s"}"#,
            "content_type",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":10,"stream_name":"../../etc/passwd"}"#,
            "stream_name",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":10,"stream_name":"a%2Fb"}"#,
            "stream_name",
        ),
        (
            r#"{"kind":"recording","content_type":"video/webm","size":10,"room_id":"r","filename":"..\\..\\x"}"#,
            "filename",
        ),
        (
            r#"{"kind":"recording","content_type":"video/webm","size":10,"room_id":"r","filename":"a\u0000b"}"#,
            "filename",
        ),
        (
            r#"{"kind":"recording","content_type":"video/webm","size":10}"#,
            "room_id",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":10,"stream_name":"s","key":"evil"}"#,
            "key",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = call(&app, Event::fixture("post-uploads-camera.json").body(body)).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"]["field"], *field, "{body}: {err}");
        assert!(err["error"]["code"].is_string() && err["error"]["message"].is_string());
    }
    let oversize = format!(
        r#"{{"kind":"camera","content_type":"video/webm","size":1,"stream_name":"{}"}}"#,
        "a".repeat(70_000)
    );
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-camera.json").body(&oversize),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    assert_eq!(writes(&app), 0);
    assert!(app.objects.signed_puts.lock().unwrap().is_empty());
}

/// An empty object, as stored.
fn an_object() -> ObjectHead {
    ObjectHead {
        size: 0,
        etag: String::new(),
        last_modified: None,
        metadata: Default::default(),
    }
}

#[tokio::test]
async fn an_existing_object_is_never_signed_over() {
    // The camera file arrived before anyone signed the stream (its item has no owner), then the stream's owner
    // signed it: either way the key is looked up before any write.
    for owner in [None, Some("jwt:user-123")] {
        let app = app(&[]);
        app.objects
            .insert("videos/session-42_camera.webm", an_object());
        app.streams
            .insert(stream_record("session-42", owner, StreamStatus::Queued));
        let (status, err) = call(&app, Event::fixture("post-uploads-camera.json")).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (409, Some("already_exists")),
            "{owner:?}: {err}"
        );
        let (status, _) = call(
            &app,
            Event::fixture("post-presigned-url.json")
                .body(r#"{"filename":"session-42_camera.webm"}"#),
        )
        .await;
        assert_eq!(status, 409, "{owner:?}");
        assert_eq!(writes(&app), 0, "{owner:?}");
        assert!(app.objects.signed_puts.lock().unwrap().is_empty());
        assert_eq!(app.objects.lookups.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn a_new_streams_first_signing_asks_s3_nothing() {
    // A stream without an item has no files (each claim and each arrival writes one): its first signing is one
    // claim, without a lookup of the key. The stream's next signing looks its key up.
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.objects.lookups.load(Ordering::SeqCst), 0);
    let (status, body) = call(
        &app,
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"session-42.mp4"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.objects.lookups.load(Ordering::SeqCst), 1);
    // A key that holds the recording's new id is never looked up.
    let (status, body) = call(&app, Event::fixture("post-recordings-upload-url.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.objects.lookups.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_file_written_around_the_api_is_kept_by_the_urls_condition() {
    // A file under a stream the table does not know (written straight to the bucket, its arrival not yet recorded;
    // or past its retention): the first signing does not look it up, and the URL it returns carries
    // If-None-Match, so S3 refuses to replace the file.
    let app = app(&[]);
    app.objects
        .insert("videos/session-42_camera.webm", an_object());
    let (status, body) = call(&app, Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(status, 201, "{body}");
    let (key, _, _, if_none_match, _) = app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(
        (key.as_str(), if_none_match),
        ("videos/session-42_camera.webm", true)
    );
}
