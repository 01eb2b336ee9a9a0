//! `GET /recordings` and `GET /recordings/{id}`: a caller's own recordings.

use std::time::Duration;

use super::{app, call};
use crate::common::Event;

#[tokio::test]
async fn listing_is_per_owner_newest_first_and_paginated() {
    let app = app(&[("LIST_PAGE_SIZE", "2")]);
    for (sub, room) in [
        ("alice", "r1"),
        ("alice", "r2"),
        ("bob", "r1"),
        ("alice", "r1"),
    ] {
        let body = format!(
            r#"{{"kind":"recording","content_type":"video/webm","size":10,"room_id":"{room}"}}"#
        );
        let (status, _) = call(
            &app,
            Event::fixture("post-uploads-recording.json")
                .subject(Some(sub))
                .body(&body),
        )
        .await;
        assert_eq!(status, 201);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let (status, page1) = call(
        &app,
        Event::fixture("get-recordings.json")
            .subject(Some("alice"))
            .query(&[]),
    )
    .await;
    assert_eq!(status, 200, "{page1}");
    let recs = page1["recordings"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs[0]["created_at"].as_str() >= recs[1]["created_at"].as_str());
    assert!(recs.iter().all(|r| {
        r["download_url"]
            .as_str()
            .unwrap()
            .starts_with("https://s3.test/")
    }));
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = call(
        &app,
        Event::fixture("get-recordings.json")
            .subject(Some("alice"))
            .query(&[("cursor", cursor)]),
    )
    .await;
    assert_eq!(page2["recordings"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());
    let (_, r1) = call(
        &app,
        Event::fixture("get-recordings.json")
            .subject(Some("alice"))
            .query(&[("room_id", "r1")]),
    )
    .await;
    assert!(
        r1["recordings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["room_id"] == "r1")
    );
    let (status, err) = call(
        &app,
        Event::fixture("get-recordings.json").query(&[("room_id", "../x")]),
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("room_id"))
    );
    let (status, _) = call(
        &app,
        Event::fixture("get-recordings.json").query(&[("cursor", "not-a-cursor")]),
    )
    .await;
    assert_eq!(status, 400);

    // Bob cannot read Alice's recording, and learns nothing about it.
    let alice_id = recs[0]["recording_id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("bob"))
            .id(alice_id),
    )
    .await;
    assert_eq!(status, 404);
    let (status, mine) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("alice"))
            .id(alice_id),
    )
    .await;
    assert_eq!(
        (status, mine["recording_id"].as_str()),
        (200, Some(alice_id))
    );
    let (status, _) = call(
        &app,
        Event::fixture("delete-upload.json")
            .subject(Some("bob"))
            .id(alice_id),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_streams_upload_is_uploaded_once_the_stream_counts_its_object() {
    let app = app(&[]);
    let (status, created) = call(
        &app,
        Event::fixture("post-uploads-camera.json").subject(Some("alice")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["recording_id"].as_str().unwrap().to_owned();
    let read = || async {
        let (_, one) = call(
            &app,
            Event::fixture("get-recording.json")
                .subject(Some("alice"))
                .id(&id),
        )
        .await;
        let (_, list) = call(
            &app,
            Event::fixture("get-recordings.json")
                .subject(Some("alice"))
                .query(&[]),
        )
        .await;
        (
            one["status"].as_str().unwrap().to_owned(),
            list["recordings"][0]["status"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(read().await, ("uploading".into(), "uploading".into()));
    // The screen arriving does not make the camera uploaded.
    let mut record = app.streams.record("session-42").unwrap();
    record.screen_uploads = 1;
    app.streams.insert(record.clone());
    assert_eq!(read().await.0, "uploading");
    // The compositor counted the camera's object on the stream.
    record.camera_uploads = 1;
    app.streams.insert(record);
    assert_eq!(read().await, ("uploaded".into(), "uploaded".into()));
}
