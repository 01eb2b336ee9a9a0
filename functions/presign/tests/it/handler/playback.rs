//! The playback routes on in-memory ports: the `playback` object of a recording and a stream, `GET /play` (signed
//! for its package and not expired, without `Authorization`; every file a manifest names presigned or signed for the
//! CDN, variant playlists kept relative with the same signature; no traversal, encoded or not), and
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
        source_etag: None,
        job_id: None,
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
            source_etag: None,
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

/// `GET url` (a path with its query) without any identity: the status, the content type and the body.
pub(super) async fn get(app: &TestApp, url: &str) -> (u16, String, String) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let response = app
        .handle(
            Event::fixture("get-play.json")
                .subject(None)
                .path(path)
                .query(&pairs)
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

/// Now, in epoch seconds.
fn now() -> u64 {
    vidpipe_core::clock::now_ms() / 1000
}

/// The `GET /play` path of `asset`'s `file`, signed with the app's key until `expires`.
fn signed(app: &TestApp, asset: &str, file: &str, expires: u64) -> String {
    let query = app.signing.play_query(asset, expires);
    format!("/play/{asset}/{file}?{query}")
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
        source_etag: None,
        cost: None,
    };
    let asset = format!("recording/{id}");
    app.playback.store.advance(&asset, &update).await.unwrap();
    let (_, body) = call(&app, read()).await;
    let playback = &body["playback"];
    // Signed for the package, valid PLAYBACK_URL_TTL_SECONDS (900).
    for (field, file) in [
        ("hls", "index.m3u8"),
        ("dash", "index.mpd"),
        ("storyboard", "storyboard.vtt"),
    ] {
        let url = playback[field].as_str().unwrap();
        let (path, query) = url.split_once('?').unwrap();
        assert_eq!(path, format!("https://api.example.com/play/{asset}/{file}"));
        let expires: u64 = query
            .strip_prefix("expires=")
            .and_then(|q| q.split('&').next())
            .and_then(|e| e.parse().ok())
            .unwrap();
        assert!((now() + 890..=now() + 900).contains(&expires), "{url}");
        assert_eq!(query, app.signing.play_query(&asset, expires));
    }
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
        source_etag: None,
        job_id: None,
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
async fn play_presigns_every_file_a_manifest_names_for_whoever_holds_the_signed_url() {
    let app = app(&[]);
    let (id, folder) = recording_with_package(&app, StreamStatus::Ready).await;
    // The URL the owner is shown, used without any identity (as a player does).
    let (_, body) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("alice"))
            .id(&id),
    )
    .await;
    let hls = body["playback"]["hls"].as_str().unwrap();
    let (path, query) = hls.split_once('?').unwrap();
    assert_eq!(path, format!("/play/recording/{id}/index.m3u8"));
    let (code, content_type, main) = get(&app, hls).await;
    assert_eq!(
        (code, content_type.as_str()),
        (200, "application/vnd.apple.mpegurl"),
        "{main}"
    );
    // The variant playlist stays relative, with the same signature: the player fetches it through this route.
    let variant_uri = format!("index_720p.m3u8?{query}");
    assert!(main.lines().any(|line| line == variant_uri), "{main}");

    let (code, _, variant) = get(&app, &format!("/play/recording/{id}/{variant_uri}")).await;
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

    let (code, content_type, dash) = get(&app, body["playback"]["dash"].as_str().unwrap()).await;
    assert_eq!((code, content_type.as_str()), (200, "application/dash+xml"));
    assert!(
        dash.contains(&format!(
            "media=\"https://s3.test/{folder}seg_720p_1.m4s?get\""
        )),
        "{dash}"
    );

    let storyboard = body["playback"]["storyboard"].as_str().unwrap();
    let (code, content_type, vtt) = get(&app, storyboard).await;
    assert_eq!((code, content_type.as_str()), (200, "text/vtt"));
    assert!(
        vtt.contains(&format!(
            "https://s3.test/{folder}storyboard_000.jpg?get#xywh=0,0,160,90"
        )),
        "{vtt}"
    );
}

#[tokio::test]
async fn play_refuses_unsigned_expired_and_other_packages_urls_with_403() {
    let app = app(&[]);
    let (id, _) = recording_with_package(&app, StreamStatus::Ready).await;
    let (other, _) = recording_with_package(&app, StreamStatus::Ready).await;
    let asset = format!("recording/{id}");
    let valid = signed(&app, &asset, "index.m3u8", now() + 60);
    let (_, query) = valid.split_once('?').unwrap();
    let tampered_expiry = query.replace(
        &format!("expires={}", now() + 60),
        &format!("expires={}", now() + 86_400),
    );
    for (url, code) in [
        (format!("/play/{asset}/index.m3u8"), "invalid_signature"),
        // Signed for another package.
        (
            format!("/play/recording/{other}/index.m3u8?{query}"),
            "invalid_signature",
        ),
        // A later expiry written over the signed one.
        (
            format!("/play/{asset}/index.m3u8?{tampered_expiry}"),
            "invalid_signature",
        ),
        // Signed with another key.
        (
            format!(
                "/play/{asset}/index.m3u8?{}",
                vidpipe_core::play_url::query(
                    b"another-key-of-at-least-32-bytes!!",
                    &asset,
                    now() + 60
                )
            ),
            "invalid_signature",
        ),
        (signed(&app, &asset, "index.m3u8", now() - 1), "expired"),
        (signed(&app, &asset, "index_720p.m3u8", now()), "expired"),
    ] {
        let (status, content_type, body) = get(&app, &url).await;
        assert_eq!(
            (status, content_type.as_str()),
            (403, "application/json"),
            "{url}: {body}"
        );
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], code, "{url}: {body}");
    }
    // A JWT does not stand in for the signature.
    let response = app
        .handle(
            Event::fixture("get-play.json")
                .subject(Some("alice"))
                .path(&format!("/play/{asset}/index.m3u8"))
                .query(&[])
                .request(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(get(&app, &valid).await.0, 200);
}

#[tokio::test]
async fn play_refuses_traversal_and_what_is_not_a_manifest() {
    let app = app(&[]);
    let (id, folder) = recording_with_package(&app, StreamStatus::Ready).await;
    let asset = format!("recording/{id}");
    let query = app.signing.play_query(&asset, now() + 60);
    for path in [
        // Traversal, plain and URL-encoded, and encoded names.
        format!("/play/{asset}/..%2Findex.m3u8"),
        format!("/play/{asset}/%2e%2e/index.m3u8"),
        format!("/play/recording/..%2F{id}/index.m3u8"),
        format!("/play/{asset}/index%2Em3u8"),
        // Segments and other files are fetched with their own signed URLs, never through the route.
        format!("/play/{asset}/video.mp4"),
        format!("/play/{asset}/index_1080p.m3u8"),
    ] {
        let url = format!("{path}?{query}");
        let (code, content_type, body) = get(&app, &url).await;
        assert_eq!(
            (code, content_type.as_str()),
            (404, "application/json"),
            "{url}: {body}"
        );
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(error["error"]["code"].is_string(), "{body}");
    }
    // Another kind's signature does not cover this id's package of that kind, which does not exist anyway.
    for kind in ["stream", "render"] {
        let url = signed(&app, &format!("{kind}/{id}"), "index.m3u8", now() + 60);
        assert_eq!(get(&app, &url).await.0, 404, "{url}");
    }
    // A stored manifest naming a file outside its package is not served.
    app.playback.files.insert(
        &format!("s3://uploads/{folder}index.m3u8"),
        b"#EXTM3U\n#EXTINF:4.0,\n../../other/secret.mp4\n",
    );
    let (code, _, body) = get(&app, &format!("/play/{asset}/index.m3u8?{query}")).await;
    assert_eq!(code, 500, "{body}");
    assert!(!body.contains("secret"), "{body}");

    // Not ready yet: 409.
    let (queued, _) = recording_with_package(&app, StreamStatus::Queued).await;
    let url = signed(
        &app,
        &format!("recording/{queued}"),
        "index.m3u8",
        now() + 60,
    );
    let (code, _, body) = get(&app, &url).await;
    assert_eq!(code, 409, "{body}");
}

#[tokio::test]
async fn with_a_cdn_every_file_is_a_cloudfront_url_its_policy_covers() {
    let dir = tempfile::tempdir().unwrap();
    let (private_pem, _, public_pem) = vidpipe_testkit::cloudfront::key_pair(dir.path());
    let cdn = "https://d111111abcdef8.cloudfront.net";
    let app = app(&[
        ("CDN_BASE_URL", cdn),
        ("CLOUDFRONT_KEY_PAIR_ID", "K2JCJMDEHXQW5F"),
        ("CLOUDFRONT_PRIVATE_KEY", private_pem.as_str()),
    ]);
    let (id, folder) = recording_with_package(&app, StreamStatus::Ready).await;
    let (_, body) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("alice"))
            .id(&id),
    )
    .await;
    let accepts = |url: &str, at: u64| {
        vidpipe_testkit::cloudfront::cloudfront_accepts(url, &public_pem, "K2JCJMDEHXQW5F", at)
    };
    let ttl = 900;
    let mut urls = vec![
        body["playback"]["mp4"].as_str().unwrap().to_owned(),
        body["playback"]["poster"].as_str().unwrap().to_owned(),
    ];
    let (_, _, variant) = get(
        &app,
        &signed(
            &app,
            &format!("recording/{id}"),
            "index_720p.m3u8",
            now() + 60,
        ),
    )
    .await;
    urls.extend(
        variant
            .lines()
            .filter(|l| l.starts_with("https://"))
            .map(str::to_owned),
    );
    assert_eq!(urls.len(), 3, "{variant}");
    assert!(
        variant.contains(&format!("URI=\"{cdn}/{folder}index_720p_init.mp4?Policy=")),
        "{variant}"
    );
    for url in &urls {
        assert!(url.starts_with(&format!("{cdn}/{folder}")), "{url}");
        assert_eq!(accepts(url, now()), Ok(()), "{url}");
        assert_eq!(
            accepts(url, now() + ttl + 5),
            Err("expired".into()),
            "{url}"
        );
    }
    // The policy covers this package's folder, not its neighbours'.
    let other = urls[0].replace(&folder, "videos/recordings/r1/other/playback/");
    assert!(accepts(&other, now()).is_err());
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

#[tokio::test]
async fn delete_cancels_the_packages_job_while_it_runs_and_not_once_it_finished() {
    for (status, canceled) in [
        (StreamStatus::Queued, vec!["job-1"]),
        (StreamStatus::Processing, vec!["job-1"]),
        (StreamStatus::Ready, vec![]),
    ] {
        let app = app(&[]);
        let (id, _) = recording_with_package(&app, status).await;
        let asset = format!("recording/{id}");
        app.playback
            .store
            .items
            .lock()
            .unwrap()
            .get_mut(&asset)
            .unwrap()
            .job_id = Some("job-1".into());
        let (code, body) = call(
            &app,
            Event::fixture("delete-recording.json")
                .subject(Some("alice"))
                .id(&id),
        )
        .await;
        assert_eq!(code, 200, "{status:?}: {body}");
        assert_eq!(app.renders.jobs.canceled(), canceled, "{status:?}");
        assert!(app.playback.store.package(&asset).is_none());
    }
}
