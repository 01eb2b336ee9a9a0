//! The playback routes on in-memory ports: the `playback` object of a recording and a stream, `GET /play` (every
//! file a manifest names presigned, variant playlists kept relative; owner only; no traversal, encoded or not), and
//! `DELETE /recordings/{id}` (the folder, the package and the item; 404 for anyone else).

use lambda_http::http::header;
use vidpipe_core::job::Size;
use vidpipe_core::playback::{PlaybackPackage, PlaybackUpdate};
use vidpipe_core::ports::PlaybackStore;
use vidpipe_core::stream_status::StreamStatus;

use super::{TestApp, app, call, stream_record};
use crate::common::Event;

const MAIN: &str =
    "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720\nindex_720p.m3u8\n";
const VARIANT: &str =
    "#EXTM3U\n#EXT-X-MAP:URI=\"index_720p_init.mp4\"\n#EXTINF:4.0,\nindex_720p_1.mp4\n";
const DASH: &str = "<MPD><Period><AdaptationSet><Representation><SegmentList>\
    <Initialization sourceURL=\"init_720p.mp4\"/><SegmentURL media=\"seg_720p_1.m4s\"/>\
    </SegmentList></Representation></AdaptationSet></Period></MPD>";
const VTT: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard_000.jpg#xywh=0,0,160,90\n";

/// Alice's uploaded recording, with a `status` package of its manifests; its id and its package's folder.
async fn recording_with_package(app: &TestApp, status: StreamStatus) -> (String, String) {
    let (code, created) = call(
        app,
        Event::fixture("post-uploads-recording.json")
            .subject(Some("alice"))
            .body(r#"{"kind":"recording","content_type":"video/webm","size":10,"room_id":"r1","filename":"talk.webm"}"#),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let id = created["recording_id"].as_str().unwrap().to_owned();
    let key = created["key"].as_str().unwrap();
    let folder = vidpipe_core::playback::package_folder(key);
    let package = PlaybackPackage {
        asset: format!("recording/{id}"),
        owner: "jwt:alice".into(),
        bucket: "uploads".into(),
        folder: folder.clone(),
        status: StreamStatus::Queued,
        mp4_key: format!("{folder}video.mp4"),
        poster: "poster.0000001.jpg".into(),
        duration_ms: None,
        width: None,
        height: None,
        error_code: None,
        cost: None,
    };
    let store = &app.playback.store;
    store.put_queued(&package, u64::MAX).await.unwrap();
    if status != StreamStatus::Queued {
        let update = PlaybackUpdate {
            status,
            duration_ms: Some(6000),
            size: Some(Size::new(1280, 720)),
            error_code: None,
            cost: None,
        };
        store.advance(&package.asset, &update).await.unwrap();
    }
    let files = &app.playback.files;
    files.insert(&format!("s3://uploads/{key}"), b"webm");
    for (name, text) in [
        ("index.m3u8", MAIN),
        ("index_720p.m3u8", VARIANT),
        ("index.mpd", DASH),
        ("storyboard.vtt", VTT),
    ] {
        files.insert(&format!("s3://uploads/{folder}{name}"), text.as_bytes());
    }
    (id, folder)
}

/// `GET path` as `sub`: the status, the content type and the body.
async fn get(app: &TestApp, sub: &str, path: &str) -> (u16, String, String) {
    let response = app
        .handle(
            Event::fixture("get-play.json")
                .subject(Some(sub))
                .path(path)
                .request(),
        )
        .await;
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let body = String::from_utf8(response.body().to_vec()).unwrap();
    (response.status().as_u16(), content_type, body)
}

#[tokio::test]
async fn a_recording_shows_its_playback_once_ready() {
    let app = app(&[("PUBLIC_BASE_URL", "https://api.example.com/")]);
    let (id, _) = recording_with_package(&app, StreamStatus::Processing).await;
    let read = || {
        Event::fixture("get-recording.json")
            .subject(Some("alice"))
            .id(&id)
    };
    let (code, body) = call(&app, read()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["playback"]["status"], "processing");
    assert!(body["playback"]["hls"].is_null());

    let update = PlaybackUpdate {
        status: StreamStatus::Ready,
        duration_ms: Some(6000),
        size: Some(Size::new(1280, 720)),
        error_code: None,
        cost: None,
    };
    let asset = format!("recording/{id}");
    app.playback.store.advance(&asset, &update).await.unwrap();
    let (_, body) = call(&app, read()).await;
    let playback = &body["playback"];
    assert_eq!(
        playback["hls"],
        format!("https://api.example.com/play/recording/{id}/index.m3u8")
    );
    assert_eq!(
        playback["dash"],
        format!("https://api.example.com/play/recording/{id}/index.mpd")
    );
    assert_eq!(
        playback["storyboard"],
        format!("https://api.example.com/play/recording/{id}/storyboard.vtt")
    );
    let mp4 = playback["mp4"].as_str().unwrap();
    assert!(
        mp4.starts_with("https://s3.test/") && mp4.contains("/playback/video.mp4"),
        "{mp4}"
    );
    assert!(
        playback["poster"]
            .as_str()
            .unwrap()
            .contains("/playback/poster.0000001.jpg")
    );
    assert_eq!(
        (playback["width"].as_u64(), playback["duration_ms"].as_u64()),
        (Some(1280), Some(6000))
    );

    // A recording without a package says so.
    let (other, _) = recording_with_package(&app, StreamStatus::Queued).await;
    app.playback
        .store
        .delete(&format!("recording/{other}"))
        .await
        .unwrap();
    let (_, body) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("alice"))
            .id(&other),
    )
    .await;
    assert!(body["playback"].is_null(), "{body}");
}

#[tokio::test]
async fn a_stream_shows_its_playback() {
    let app = app(&[]);
    app.streams.insert(stream_record(
        "s-42",
        Some("jwt:alice"),
        StreamStatus::Ready,
    ));
    let package = PlaybackPackage {
        asset: "stream/s-42".into(),
        owner: "jwt:alice".into(),
        bucket: "uploads".into(),
        folder: "videos/s-42_composited/playback/".into(),
        status: StreamStatus::Queued,
        mp4_key: "videos/s-42_composited.mp4".into(),
        poster: "poster.0000001.jpg".into(),
        duration_ms: None,
        width: None,
        height: None,
        error_code: None,
        cost: None,
    };
    app.playback
        .store
        .put_queued(&package, u64::MAX)
        .await
        .unwrap();
    let (code, body) = call(
        &app,
        Event::fixture("get-stream.json")
            .subject(Some("alice"))
            .path("/streams/s-42"),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["playback"]["status"], "queued");
}

#[tokio::test]
async fn play_presigns_every_file_a_manifest_names() {
    let app = app(&[]);
    let (id, folder) = recording_with_package(&app, StreamStatus::Ready).await;
    let play = |file: &str| format!("/play/recording/{id}/{file}");

    let (code, content_type, main) = get(&app, "alice", &play("index.m3u8")).await;
    assert_eq!(
        (code, content_type.as_str()),
        (200, "application/vnd.apple.mpegurl"),
        "{main}"
    );
    // The variant playlist stays relative: the player fetches it through this route.
    assert!(main.lines().any(|line| line == "index_720p.m3u8"), "{main}");

    let (code, _, variant) = get(&app, "alice", &play("index_720p.m3u8")).await;
    assert_eq!(code, 200);
    assert!(
        variant.contains(&format!(
            "URI=\"https://s3.test/{folder}index_720p_init.mp4?get\""
        )),
        "{variant}"
    );
    assert!(
        variant.contains(&format!("\nhttps://s3.test/{folder}index_720p_1.mp4?get\n")),
        "{variant}"
    );

    let (code, content_type, dash) = get(&app, "alice", &play("index.mpd")).await;
    assert_eq!((code, content_type.as_str()), (200, "application/dash+xml"));
    assert!(
        dash.contains(&format!(
            "media=\"https://s3.test/{folder}seg_720p_1.m4s?get\""
        )),
        "{dash}"
    );

    let (code, content_type, vtt) = get(&app, "alice", &play("storyboard.vtt")).await;
    assert_eq!((code, content_type.as_str()), (200, "text/vtt"));
    assert!(
        vtt.contains(&format!(
            "https://s3.test/{folder}storyboard_000.jpg?get#xywh=0,0,160,90"
        )),
        "{vtt}"
    );
}

#[tokio::test]
async fn play_refuses_others_traversal_and_what_is_not_a_manifest() {
    let app = app(&[]);
    let (id, folder) = recording_with_package(&app, StreamStatus::Ready).await;
    for (sub, path, expected) in [
        // Someone else's package is not there for them.
        ("bob", format!("/play/recording/{id}/index.m3u8"), 404),
        // Traversal, plain and URL-encoded, and encoded names.
        (
            "alice",
            format!("/play/recording/{id}/..%2Findex.m3u8"),
            404,
        ),
        (
            "alice",
            format!("/play/recording/{id}/%2e%2e/index.m3u8"),
            404,
        ),
        (
            "alice",
            format!("/play/recording/..%2F{id}/index.m3u8"),
            404,
        ),
        ("alice", format!("/play/recording/{id}/index%2Em3u8"), 404),
        ("alice", format!("/play/stream/{id}_camera/index.m3u8"), 404),
        ("alice", format!("/play/render/{id}/index.m3u8"), 404),
        // Segments and other files are fetched with their presigned URLs, never through the route.
        ("alice", format!("/play/recording/{id}/video.mp4"), 404),
        (
            "alice",
            format!("/play/recording/{id}/index_1080p.m3u8"),
            404,
        ),
    ] {
        let (code, content_type, body) = get(&app, sub, &path).await;
        assert_eq!(
            (code, content_type.as_str()),
            (expected, "application/json"),
            "{path}: {body}"
        );
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(error["error"]["code"].is_string(), "{body}");
    }
    // A stored manifest naming a file outside its package is not served.
    app.playback.files.insert(
        &format!("s3://uploads/{folder}index.m3u8"),
        b"#EXTM3U\n#EXTINF:4.0,\n../../other/secret.mp4\n",
    );
    let (code, _, body) = get(&app, "alice", &format!("/play/recording/{id}/index.m3u8")).await;
    assert_eq!(code, 500, "{body}");
    assert!(!body.contains("secret"), "{body}");

    // Not ready yet: 409.
    let (queued, _) = recording_with_package(&app, StreamStatus::Queued).await;
    let (code, _, body) = get(
        &app,
        "alice",
        &format!("/play/recording/{queued}/index.m3u8"),
    )
    .await;
    assert_eq!(code, 409, "{body}");
}

#[tokio::test]
async fn delete_removes_the_recording_its_files_and_its_package_for_its_owner_only() {
    let app = app(&[]);
    let (id, folder) = recording_with_package(&app, StreamStatus::Ready).await;
    let delete = |sub: &str| {
        Event::fixture("delete-recording.json")
            .subject(Some(sub))
            .id(&id)
    };
    let before = app.playback.files.uris().len();
    let (code, body) = call(&app, delete("bob")).await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(app.playback.files.uris().len(), before);
    assert!(
        app.playback
            .store
            .package(&format!("recording/{id}"))
            .is_some()
    );

    let (code, body) = call(&app, delete("alice")).await;
    assert_eq!(
        (code, body["status"].as_str()),
        (200, Some("deleted")),
        "{body}"
    );
    let recording_folder = folder.trim_end_matches("talk/playback/");
    assert!(
        !app.playback
            .files
            .uris()
            .iter()
            .any(|uri| uri.contains(recording_folder)),
        "{:?}",
        app.playback.files.uris()
    );
    assert!(
        app.playback
            .store
            .package(&format!("recording/{id}"))
            .is_none()
    );
    let (code, _) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("alice"))
            .id(&id),
    )
    .await;
    assert_eq!(code, 404);
    let (code, _) = call(&app, delete("alice")).await;
    assert_eq!(code, 404);

    // A stream's camera recording is part of the stream's output.
    let (code, camera) = call(
        &app,
        Event::fixture("post-uploads-camera.json").subject(Some("alice")),
    )
    .await;
    assert_eq!(code, 201, "{camera}");
    let camera_id = camera["recording_id"].as_str().unwrap();
    let (code, body) = call(
        &app,
        Event::fixture("delete-recording.json")
            .subject(Some("alice"))
            .id(camera_id),
    )
    .await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (409, Some("stream_recording")),
        "{body}"
    );
}
