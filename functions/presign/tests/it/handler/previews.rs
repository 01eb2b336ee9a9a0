//! A call's previews: `POST /recordings/{id}/preview` (token, refusals, idempotence), their status and signed
//! playlists in `GET /recordings/{id}`, and `GET /play/preview/...`, on the in-memory stores.

use serde_json::{Value, json};
use vidpipe_core::ports::{CallPreviews, RecordingStore, update_preview};
use vidpipe_core::stream_status::StreamStatus;

use super::calls::{CALL, call_app, call_app_with, composition_post, get, grant_used, token};
use super::{TestApp, call, writes};
use crate::common::Event;

const PREVIEW_SCOPE: &str = r#""preview:read""#;
const REQUESTS: &str = "s3://uploads/videos/rooms/room-456/rec-123/preview/requests/";

fn post(sub: &str, id: &str, token: Option<&str>, body: &str) -> Event {
    composition_post("preview", sub, id, token, body)
}

/// Marks the call's tracks of `roles` uploaded, as the compositor does when their objects arrive.
pub(super) async fn uploaded(app: &TestApp, roles: &[&str]) {
    let (_, call) = get(app, "alice", CALL).await;
    for track in call["tracks"].as_array().unwrap() {
        if roles.contains(&track["role"].as_str().unwrap()) {
            let id = track["track_id"].as_str().unwrap();
            app.recordings
                .mark_uploaded(id, 1024, "etag")
                .await
                .unwrap();
        }
    }
}

fn requests(app: &TestApp) -> Vec<String> {
    let uris = app.playback.files.uris();
    uris.into_iter()
        .filter(|u| u.starts_with(REQUESTS))
        .collect()
}

#[tokio::test]
async fn refused_preview_requests_burn_nothing_and_write_nothing() {
    let app = call_app().await;
    let preview = token(&app, "alice", PREVIEW_SCOPE).await;
    let compose = token(&app, "alice", r#""composition:write""#).await;
    let before = writes(&app);
    let cases = [
        // Not the caller's call, or not a call id: the 404 of a recording that does not exist.
        (post("carol", CALL, Some(&preview), ""), 404, "not_found"),
        (
            post("alice", "rec-999", Some(&preview), ""),
            404,
            "not_found",
        ),
        (
            post("alice", "rec%2F123", Some(&preview), ""),
            404,
            "not_found",
        ),
        // `/recordings/../preview` is `/preview`: no route.
        (post("alice", "..", Some(&preview), ""), 404, "no_route"),
        (post("alice", CALL, None, ""), 401, "token_required"),
        (
            post("alice", CALL, Some(&"0".repeat(64)), ""),
            401,
            "invalid_token",
        ),
        // Minted for alice: bob, a member, cannot use it.
        (post("bob", CALL, Some(&preview), ""), 401, "invalid_token"),
        (
            post("alice", CALL, Some(&compose), ""),
            403,
            "insufficient_scope",
        ),
        (
            post("alice", CALL, Some(&preview), "{"),
            400,
            "invalid_json",
        ),
        (
            post("alice", CALL, Some(&preview), r#"{"segment_seconds": 4}"#),
            400,
            "invalid_field",
        ),
        // Nothing uploaded yet.
        (post("alice", CALL, Some(&preview), "{}"), 409, "no_tracks"),
    ];
    for (event, status, code) in cases {
        let (got, body) = call(&app, event).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    assert_eq!(writes(&app), before, "a refused request writes nothing");
    assert!(requests(&app).is_empty());
    assert!(!grant_used(&app, &preview) && !grant_used(&app, &compose));
    let (_, body) = get(&app, "alice", CALL).await;
    assert_eq!(body["preview_status"], Value::Null);
}

#[tokio::test]
async fn previews_start_once_and_a_second_request_starts_no_duplicate_jobs() {
    let app = call_app().await;
    uploaded(&app, &["av"]).await;
    let first = token(&app, "alice", PREVIEW_SCOPE).await;
    let (status, body) = call(&app, post("alice", CALL, Some(&first), "")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        (
            body["status"].as_str(),
            body["generation"].as_u64(),
            body["started"].as_bool()
        ),
        (Some("queued"), Some(1), Some(true))
    );
    // The screenshare is still uploading: a job per peer's camera and microphone.
    let jobs: Vec<_> = body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["peer_id"].clone(), j["role"].clone()))
        .collect();
    assert_eq!(
        jobs,
        [
            (json!("peer-1"), json!("av")),
            (json!("peer-2"), json!("av"))
        ]
    );
    assert!(grant_used(&app, &first), "burned");
    assert_eq!(requests(&app), [format!("{REQUESTS}1.json")]);
    // Replayed: 401. A member's fresh token while queued: the same generation, nothing started.
    let (status, _) = call(&app, post("alice", CALL, Some(&first), "")).await;
    assert_eq!(status, 401);
    let second = token(&app, "bob", PREVIEW_SCOPE).await;
    let (status, again) = call(&app, post("bob", CALL, Some(&second), "{}")).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(
        (again["generation"].as_u64(), again["started"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(
        requests(&app).len(),
        1,
        "the same request object, written again"
    );
    let (_, shown) = get(&app, "bob", CALL).await;
    assert_eq!(
        (shown["preview_status"].as_str(), &shown["preview"]),
        (Some("queued"), &Value::Null)
    );

    // The jobs are submitted and report: processing, then ready.
    let submit = update_preview(&app.calls, CALL, |s| {
        for job in s.jobs.clone() {
            s.record_job(1, &job.peer_id, job.role, "job-id");
            s.advance(1, &job.peer_id, job.role, StreamStatus::Processing, None);
        }
    });
    submit.await.unwrap().unwrap();
    let third = token(&app, "alice", PREVIEW_SCOPE).await;
    let (_, processing) = call(&app, post("alice", CALL, Some(&third), "")).await;
    assert_eq!(
        (
            processing["status"].as_str(),
            processing["started"].as_bool()
        ),
        (Some("processing"), Some(false))
    );
    ready(&app).await;
    let fourth = token(&app, "alice", PREVIEW_SCOPE).await;
    let (_, same) = call(&app, post("alice", CALL, Some(&fourth), "")).await;
    assert_eq!(
        (same["status"].as_str(), same["generation"].as_u64()),
        (Some("ready"), Some(1))
    );

    // A track uploaded since: the previews are made again over every track.
    uploaded(&app, &["screenshare"]).await;
    let fifth = token(&app, "alice", PREVIEW_SCOPE).await;
    let (status, remade) = call(&app, post("alice", CALL, Some(&fifth), "")).await;
    assert_eq!(status, 202, "{remade}");
    assert_eq!(
        (remade["generation"].as_u64(), remade["started"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(remade["jobs"].as_array().unwrap().len(), 3);
    assert_eq!(requests(&app).len(), 2);
}

async fn ready(app: &TestApp) {
    let generation = app
        .calls
        .get_preview(CALL)
        .await
        .unwrap()
        .unwrap()
        .state
        .generation;
    update_preview(&app.calls, CALL, |s| {
        for job in s.jobs.clone() {
            s.advance(
                generation,
                &job.peer_id,
                job.role,
                StreamStatus::Ready,
                None,
            );
        }
    })
    .await
    .unwrap()
    .unwrap();
}

const MAIN: &str =
    "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS=\"avc1.64001f,mp4a.40.2\"\nav_video.m3u8\n";
const VARIANT: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"av_video_init.mp4\"\n#EXTINF:2.0,\nav_video_00001.mp4\n#EXT-X-ENDLIST\n";

#[tokio::test]
async fn ready_previews_are_shown_as_signed_playlists_served_by_get_play() {
    let app = call_app_with(&[("PUBLIC_BASE_URL", "https://api.example.com")]).await;
    uploaded(&app, &["av", "screenshare"]).await;
    let preview = token(&app, "alice", PREVIEW_SCOPE).await;
    let (status, _) = call(&app, post("alice", CALL, Some(&preview), "")).await;
    assert_eq!(status, 202);
    // A playlist is not served before its preview is ready.
    let folder = "s3://uploads/videos/rooms/room-456/rec-123/preview/peers/peer-1/";
    app.playback
        .files
        .insert(&format!("{folder}av.m3u8"), MAIN.as_bytes());
    app.playback
        .files
        .insert(&format!("{folder}av_video.m3u8"), VARIANT.as_bytes());
    let query = app.signing.play_query(
        "preview/rec-123/peer-1/av",
        vidpipe_core::clock::now_ms() / 1000 + 60,
    );
    let early = format!("/play/preview/rec-123/peer-1/av/av.m3u8?{query}");
    let (status, _, body) = super::playback::get(&app, &early).await;
    assert_eq!(status, 409, "{body}");
    ready(&app).await;

    let (_, shown) = get(&app, "bob", CALL).await;
    assert_eq!(shown["preview_status"], "ready");
    let url = shown["preview"]["peers"]["peer-1"]["av"].as_str().unwrap();
    assert!(
        url.starts_with("https://api.example.com/play/preview/rec-123/peer-1/av/av.m3u8?expires="),
        "{url}"
    );
    assert!(shown["preview"]["peers"]["peer-2"]["av"].is_string());
    let screen = shown["preview"]["screenshare"]["peer-2"]["video"]
        .as_str()
        .unwrap();
    assert!(
        screen.contains("/play/preview/rec-123/peer-2/screenshare/video.m3u8?"),
        "{screen}"
    );
    assert_eq!(
        shown["preview"]["screenshare"].as_object().unwrap().len(),
        1
    );

    let path = url.trim_start_matches("https://api.example.com");
    let (status, content_type, main) = super::playback::get(&app, path).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/vnd.apple.mpegurl"),
        "{main}"
    );
    let (_, signed_query) = path.split_once('?').unwrap();
    assert!(
        main.contains(&format!("av_video.m3u8?{signed_query}")),
        "{main}"
    );
    let variant = path.replace("/av.m3u8?", "/av_video.m3u8?");
    let (status, _, variant) = super::playback::get(&app, &variant).await;
    assert_eq!(status, 200, "{variant}");
    for segment in ["av_video_init.mp4", "av_video_00001.mp4"] {
        let line = variant.lines().find(|l| l.contains(segment)).unwrap();
        let key = format!("/videos/rooms/room-456/rec-123/preview/peers/peer-1/{segment}");
        assert!(
            line.contains(&format!("https://s3.test{key}?get")),
            "presigned: {line}"
        );
    }
    // Another preview's signature, a tampered one, a file that is not a playlist of this preview: refused.
    let other = path.replace("/peer-1/av/", "/peer-2/av/");
    let (status, _, _) = super::playback::get(&app, &other).await;
    assert_eq!(status, 403);
    let tampered = path.replace("sig=", "sig=00");
    assert_eq!(super::playback::get(&app, &tampered).await.0, 403);
    for file in [
        "index.m3u8",
        "av_video_00001.mp4",
        "..%2Fav.m3u8",
        "video.m3u8",
    ] {
        let bad = path.replace("/av.m3u8?", &format!("/{file}?"));
        assert_eq!(super::playback::get(&app, &bad).await.0, 404, "{file}");
    }
}
