//! A call's export: `POST /recordings/{id}/export` (token, refusals, the one that stands, the render flow started
//! with the export) and its status, MP4 and thumbnails in `GET /recordings/{id}`, on the in-memory stores.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use vidpipe_core::clock::now_ms;
use vidpipe_core::ports::update_render;
use vidpipe_core::render::record::RenderState;
use vidpipe_core::stream_status::RenderFailure;
use vidpipe_testkit::fakes::RecordingExecutions;

use super::calls::{
    CALL, STATE, call_app_with, composition_post, get, grant_used, put_event, token,
};
use super::previews::uploaded;
use super::{TestApp, call, writes};
use crate::common::Event;

const EXPORT_SCOPE: &str = r#""export:create""#;
const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:vidpipe-render";
const FOLDER: &str = "videos/rooms/room-456/rec-123/processed/";

fn post(sub: &str, id: &str, token: Option<&str>, body: &str) -> Event {
    composition_post("export", sub, id, token, body)
}

async fn export_app() -> TestApp {
    call_app_with(&[("RENDER_STATE_MACHINE_ARN", ARN)]).await
}

/// Saves the call's composition (`calls::STATE`) as its next version.
async fn save(app: &TestApp) {
    let write = token(app, "alice", r#""composition:write""#).await;
    let (status, body) = call(app, put_event("alice", CALL, Some(&write), None, STATE)).await;
    assert_eq!(status, 200, "{body}");
}

/// Every write of any store and every execution started.
fn effects(app: &TestApp) -> usize {
    writes(app)
        + app.renders.store.writes.load(Ordering::SeqCst)
        + app.renders.executions.started().len()
}

async fn post_export(app: &TestApp, sub: &str, body: &str) -> (u16, Value) {
    let export = token(app, sub, EXPORT_SCOPE).await;
    call(app, post(sub, CALL, Some(&export), body)).await
}

async fn finish(app: &TestApp, export_id: &str, status: RenderState) {
    let finished = update_render(&app.renders.store, export_id, now_ms(), |r| {
        r.status = status;
        r.duration_ms = Some(31_000);
        if status == RenderState::Failed {
            r.error = Some(RenderFailure {
                error: "InvalidRenderRequest".into(),
                cause: "a track cannot be probed".into(),
            });
        }
    });
    finished.await.unwrap().unwrap();
}

/// Sends `event`, expects `status` with error `code`, and nothing written or started.
async fn refused(app: &TestApp, event: Event, status: u16, code: &str) {
    let before = effects(app);
    let (got, body) = call(app, event).await;
    assert_eq!(
        (got, body["error"]["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert_eq!(effects(app), before, "{code}: nothing written or started");
}

#[tokio::test]
async fn refused_export_requests_burn_nothing_start_nothing_and_write_nothing() {
    let app = export_app().await;
    let export = token(&app, "alice", EXPORT_SCOPE).await;
    let preview = token(&app, "alice", r#""preview:read""#).await;
    refused(
        &app,
        post("carol", CALL, Some(&export), ""),
        404,
        "not_found",
    )
    .await;
    refused(
        &app,
        post("alice", "rec-999", Some(&export), ""),
        404,
        "not_found",
    )
    .await;
    refused(
        &app,
        post("alice", "rec%2F123", Some(&export), ""),
        404,
        "not_found",
    )
    .await;
    refused(&app, post("alice", CALL, None, ""), 401, "token_required").await;
    refused(
        &app,
        post("bob", CALL, Some(&export), ""),
        401,
        "invalid_token",
    )
    .await;
    // A preview was authorized: an export still needs its own token.
    refused(
        &app,
        post("alice", CALL, Some(&preview), ""),
        403,
        "insufficient_scope",
    )
    .await;
    for body in [
        "{",
        "[]",
        r#"{"format": "webm"}"#,
        r#"{"preset": "low"}"#,
        r#"{"composition_id": 2}"#,
        r#"{"audio_only": true}"#,
    ] {
        let code = if body == "{" || body == "[]" {
            "invalid_json"
        } else {
            "invalid_field"
        };
        refused(&app, post("alice", CALL, Some(&export), body), 400, code).await;
    }
    refused(
        &app,
        post("alice", CALL, Some(&export), ""),
        409,
        "no_composition",
    )
    .await;
    save(&app).await;
    refused(
        &app,
        post("alice", CALL, Some(&export), ""),
        409,
        "no_tracks",
    )
    .await;
    uploaded(&app, &["av"]).await;
    let stale = r#"{"composition_id": "7"}"#;
    refused(
        &app,
        post("alice", CALL, Some(&export), stale),
        409,
        "composition_changed",
    )
    .await;
    assert!(!grant_used(&app, &export) && !grant_used(&app, &preview));
    let (_, shown) = get(&app, "alice", CALL).await;
    assert_eq!(
        (&shown["export_status"], &shown["export"]),
        (&Value::Null, &Value::Null)
    );

    // Without the render state machine there is nothing to run an export on.
    let without = call_app_with(&[]).await;
    save(&without).await;
    uploaded(&without, &["av"]).await;
    let export = token(&without, "alice", EXPORT_SCOPE).await;
    refused(
        &without,
        post("alice", CALL, Some(&export), ""),
        503,
        "exports_unavailable",
    )
    .await;
}

/// `GET /recordings/{id}` shows the export `id` ready: its MP4 and five thumbnails presigned, its length.
async fn assert_shown_ready(app: &TestApp, id: &str) {
    let (_, shown) = get(app, "bob", CALL).await;
    assert_eq!(shown["export_status"], "ready");
    assert_eq!(
        shown["export"]["url"],
        format!("https://s3.test/{FOLDER}exports/{id}.mp4?get")
    );
    let thumbnails: Vec<String> = (1..=5)
        .map(|n| format!("https://s3.test/{FOLDER}thumbnails/{id}/thumb_000{n}.jpg?get"))
        .collect();
    assert_eq!(shown["export"]["thumbnails"], json!(thumbnails));
    assert_eq!(shown["export"]["duration_ms"], 31_000);
}

#[tokio::test]
async fn an_export_runs_once_on_the_render_flow_and_shows_its_signed_mp4_and_thumbnails_when_ready()
{
    let app = export_app().await;
    save(&app).await;
    uploaded(&app, &["av"]).await;
    let first = token(&app, "bob", EXPORT_SCOPE).await;
    let body = r#"{"composition_id": "1", "preset": "high", "format": "mp4"}"#;
    let (status, started) = call(&app, post("bob", CALL, Some(&first), body)).await;
    assert_eq!(status, 202, "{started}");
    let id = started["export_id"].as_str().unwrap().to_owned();
    assert_eq!(started["job_id"], id.as_str());
    assert_eq!(
        (
            started["status"].as_str(),
            started["started"].as_bool(),
            started["composition_version"].as_u64()
        ),
        (Some("queued"), Some(true), Some(1))
    );
    assert!(grant_used(&app, &first), "burned");
    // The render flow runs it: one execution named after the export, with the composition and the uploaded
    // tracks (the screenshare is still uploading); its render item is the export's status.
    let executions = app.renders.executions.started();
    assert_eq!(executions.len(), 1);
    let input = &executions[&id];
    assert_eq!(input["render_id"], id.as_str());
    let export = &input["export"];
    assert_eq!(
        (export["export_id"].as_str(), export["room_id"].as_str()),
        (Some(id.as_str()), Some("room-456"))
    );
    assert_eq!(
        export["state"],
        serde_json::from_str::<Value>(STATE).unwrap()
    );
    let peers: Vec<&str> = export["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["peer_id"].as_str().unwrap())
        .collect();
    assert_eq!(peers, ["peer-1", "peer-2"]);
    let record = app.renders.store.get(&id).unwrap();
    assert_eq!(record.owner, None);
    assert_eq!(
        record.call_recording_id.as_deref(),
        Some(CALL),
        "its end is announced to the call"
    );
    assert_eq!(record.execution, Some(RecordingExecutions::arn(&id)));
    assert_eq!(
        record.output_uri,
        Some(format!("s3://uploads/{FOLDER}exports/{id}.mp4"))
    );

    // Replayed: 401. A fresh token while it runs: the same export, nothing started.
    let (status, _) = call(&app, post("bob", CALL, Some(&first), body)).await;
    assert_eq!(status, 401);
    let (status, again) = post_export(&app, "alice", "").await;
    assert_eq!(
        (
            status,
            again["export_id"].as_str(),
            again["started"].as_bool()
        ),
        (202, Some(id.as_str()), Some(false))
    );
    assert_eq!(app.renders.executions.started().len(), 1);
    let (_, shown) = get(&app, "alice", CALL).await;
    assert_eq!(shown["export_status"], "queued");
    assert_eq!(
        (&shown["export"]["export_id"], &shown["export"]["url"]),
        (&json!(id), &Value::Null)
    );

    // Ready: the MP4 and five thumbnails, presigned; a repeat answers the same export.
    // Its progress is the render's.
    update_render(&app.renders.store, &id, now_ms(), |r| r.progress = 40)
        .await
        .unwrap();
    let (_, shown) = get(&app, "alice", CALL).await;
    assert_eq!(shown["export"]["progress"], 40);
    finish(&app, &id, RenderState::Ready).await;
    assert_shown_ready(&app, &id).await;
    let (_, same) = post_export(&app, "alice", "").await;
    assert_eq!(
        (same["export_id"].as_str(), same["status"].as_str()),
        (Some(id.as_str()), Some("ready"))
    );

    // A track uploaded since: a new export over every track.
    uploaded(&app, &["screenshare"]).await;
    let (_, more) = post_export(&app, "alice", "").await;
    let second = more["export_id"].as_str().unwrap().to_owned();
    assert_ne!(second, id);
    assert_eq!(
        app.renders.executions.started()[&second]["export"]["tracks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // It fails: shown with its error; the next request makes a new one.
    finish(&app, &second, RenderState::Failed).await;
    let (_, shown) = get(&app, "alice", CALL).await;
    assert_eq!(
        (shown["export_status"].as_str(), &shown["export"]["url"]),
        (Some("failed"), &Value::Null)
    );
    assert_eq!(shown["export"]["error"]["code"], "InvalidRenderRequest");
    let (_, third) = post_export(&app, "alice", "").await;
    assert_eq!(third["started"], true);
    assert_eq!(app.renders.executions.started().len(), 3);
}

#[tokio::test]
async fn an_export_whose_start_failed_is_started_by_the_next_request() {
    let app = export_app().await;
    save(&app).await;
    uploaded(&app, &["av", "screenshare"]).await;
    app.renders.executions.down.store(true, Ordering::SeqCst);
    let (status, body) = post_export(&app, "alice", "").await;
    assert_eq!(status, 500, "{body}");
    assert!(app.renders.executions.started().is_empty());
    let (_, shown) = get(&app, "alice", CALL).await;
    assert_eq!(shown["export_status"], "queued");
    let id = shown["export"]["export_id"].as_str().unwrap().to_owned();
    app.renders.executions.down.store(false, Ordering::SeqCst);
    let (status, resumed) = post_export(&app, "alice", "").await;
    assert_eq!(status, 202, "{resumed}");
    assert_eq!(
        (resumed["export_id"].as_str(), resumed["started"].as_bool()),
        (Some(id.as_str()), Some(false))
    );
    assert_eq!(
        app.renders.executions.started().keys().collect::<Vec<_>>(),
        [&id]
    );
    assert_eq!(
        app.renders.store.get(&id).unwrap().execution,
        Some(RecordingExecutions::arn(&id))
    );
}
