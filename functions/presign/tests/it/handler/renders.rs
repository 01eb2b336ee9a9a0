//! `POST /renders`, `GET /renders`, `GET /renders/{id}` and `DELETE /renders/{id}` on in-memory ports: the server
//! chooses the output, validation names every problem, a repeat is idempotent and another body a conflict, only the
//! owner sees or cancels a render, a request outside the caller's storage is refused as the chunker would, and a
//! refused request writes nothing.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use vidpipe_core::ports::{RenderStore, update_render};
use vidpipe_core::render::record::{ChunkUpdate, RenderPhase, RenderState};
use vidpipe_core::stream_status::RenderResult;
use vidpipe_testkit::fakes::RecordingExecutions;

use super::{TestApp, app, call};
use crate::common::{Event, fixture};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:vidpipe-render";

/// The API as the sample event's sources expect it: the bucket and prefix of events/local.env.
fn render_app() -> TestApp {
    app(&[
        ("RENDER_STATE_MACHINE_ARN", ARN),
        ("BUCKET", "vidpipe-local"),
    ])
}

/// The sample request's body, changed by `edit`.
fn body(edit: impl FnOnce(&mut Value)) -> String {
    let mut request: Value =
        serde_json::from_str(fixture("post-renders.json")["body"].as_str().unwrap()).unwrap();
    edit(&mut request);
    request.to_string()
}

fn post(sub: &str, body: &str) -> Event {
    Event::fixture("post-renders.json")
        .subject(Some(sub))
        .body(body)
}

fn get(sub: &str, id: &str) -> Event {
    Event::fixture("get-render.json")
        .subject(Some(sub))
        .path(&format!("/renders/{id}"))
}

fn delete(sub: &str, id: &str) -> Event {
    Event::fixture("delete-render.json")
        .subject(Some(sub))
        .path(&format!("/renders/{id}"))
}

fn render_writes(app: &TestApp) -> usize {
    app.renders.store.writes.load(Ordering::SeqCst) + app.renders.files.uris().len()
}

#[tokio::test]
async fn a_render_is_stored_with_the_servers_output_and_started_once() {
    let app = render_app();
    let (status, answer) = call(&app, post("user-123", &body(|_| {}))).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["render_id"], "promo-42");
    assert_eq!(answer["status"], "queued");
    assert_eq!(answer["progress"], 0);
    assert_eq!(
        (answer["frames"].as_u64(), answer["duration_ms"].as_u64()),
        (Some(120), Some(5000))
    );
    assert_eq!(answer["cost"], Value::Null, "no chunk job has completed");

    let request_uri = "s3://vidpipe-local/videos/renders/jwt%3Auser-123/promo-42/request.json";
    let stored: Value =
        serde_json::from_slice(&app.renders.files.get(request_uri).expect("request.json")).unwrap();
    assert_eq!(
        stored["output"]["uri"],
        "s3://vidpipe-local/videos/renders/jwt%3Auser-123/promo-42/output.mp4"
    );
    let started = app.renders.executions.started();
    assert_eq!(
        started.get("promo-42"),
        Some(
            &json!({"request_uri": request_uri, "owner": "jwt:user-123", "render_id": "promo-42"})
        )
    );
    let record = app.renders.store.get("promo-42").unwrap();
    assert_eq!(
        record.execution.as_deref(),
        Some(RecordingExecutions::arn("promo-42").as_str())
    );

    // The same body again: the same render, nothing started twice. Another body: 409, nothing written.
    let writes = render_writes(&app);
    let (status, again) = call(&app, post("user-123", &body(|_| {}))).await;
    assert_eq!(
        (status, again["render_id"].clone()),
        (202, json!("promo-42"))
    );
    let (status, conflict) = call(
        &app,
        post("user-123", &body(|r| r["output"]["width"] = json!(640))),
    )
    .await;
    assert_eq!(
        (status, conflict["error"]["code"].clone()),
        (409, json!("render_conflict")),
        "{conflict}"
    );
    let theirs = body(|_| {}).replace("jwt%3Auser-123", "jwt%3Asomeone-else");
    let (status, taken) = call(&app, post("someone-else", &theirs)).await;
    assert_eq!(
        (status, taken["error"]["code"].clone()),
        (409, json!("render_id_taken")),
        "{taken}"
    );
    assert_eq!(
        render_writes(&app),
        writes,
        "a repeat or a conflict writes nothing"
    );
    assert_eq!(app.renders.executions.started().len(), 1);
}

#[tokio::test]
async fn without_a_render_id_the_server_makes_one() {
    let app = render_app();
    let (status, answer) = call(
        &app,
        post(
            "user-123",
            &body(|r| {
                r.as_object_mut().unwrap().remove("render_id");
            }),
        ),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["render_id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    assert!(app.renders.executions.started().contains_key(id));
}

#[tokio::test]
async fn bad_requests_are_refused_by_json_path_and_write_nothing() {
    let app = render_app();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            body(|r| r["output"]["uri"] = json!("s3://uploads/someone-elses.mp4")),
            "output.uri",
            "chosen by the server",
        ),
        (
            body(|r| {
                r["output"]["width"] = json!(321);
                r["scenes"][1]["duration_s"] = json!(-1);
            }),
            "output.width",
            "scenes[1].duration_s",
        ),
        (
            body(|r| r["render_id"] = json!("../x")),
            "render_id",
            "render_id",
        ),
        (
            body(|r| r["render_id"] = json!(7)),
            "render_id",
            "must be a string",
        ),
        (
            body(|r| r["scenes"][0]["colour"] = json!("red")),
            "",
            "colour",
        ),
        (
            body(|r| {
                r["scenes"][0]["image"] =
                    json!("s3://another-bucket/assets/jwt%3Auser-123/title.png")
            }),
            "scenes[0].image",
            "another-bucket",
        ),
        (
            body(|r| {
                r["scenes"][1]["video"] =
                    json!("s3://vidpipe-local/videos/assets/jwt%3Auser-9/demo.mp4")
            }),
            "scenes[1].video",
            "not one of your assets",
        ),
        (
            body(|r| {
                r["scenes"][0]["image"] =
                    json!("s3://vidpipe-local/videos/assets/jwt%3Auser-123/../jwt%3Auser-9/a.png")
            }),
            "scenes[0].image",
            "..",
        ),
        ("[1]".into(), "body", "object"),
        ("{".into(), "body", "JSON"),
    ];
    for (body, field, says) in cases {
        let (status, answer) = call(&app, post("user-123", &body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = &answer["error"];
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
        if !field.is_empty() {
            assert_eq!(error["field"], field, "{body}: {answer}");
        }
    }
    assert_eq!(render_writes(&app), 0);
    assert!(app.renders.executions.started().is_empty());
}

#[tokio::test]
async fn a_failed_start_leaves_nothing_and_unconfigured_renders_answer_503() {
    let app = render_app();
    app.renders.executions.down.store(true, Ordering::SeqCst);
    let (status, answer) = call(&app, post("user-123", &body(|_| {}))).await;
    assert_eq!(status, 500, "{answer}");
    assert!(app.renders.store.get("promo-42").is_none());
    assert!(
        app.renders.files.uris().is_empty(),
        "the stored request is removed again"
    );
    app.renders.executions.down.store(false, Ordering::SeqCst);
    let (status, _) = call(&app, post("user-123", &body(|_| {}))).await;
    assert_eq!(status, 202, "the same POST again succeeds");

    let bare = app_without_renders();
    let (status, answer) = call(&bare, post("user-123", &body(|_| {}))).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (503, json!("renders_unavailable"))
    );
}

fn app_without_renders() -> TestApp {
    app(&[])
}

#[tokio::test]
async fn a_custom_renderers_reported_figures_are_the_cost() {
    let app = render_app();
    call(&app, post("user-123", &body(|_| {}))).await;
    update_render(&app.renders.store, "promo-42", 9_000_000_000_000, |r| {
        r.enter_phase(RenderPhase::Rendering, Some(3));
        r.apply_rendered_chunk(0, Some(0.125));
        r.apply_rendered_chunk(1, Some(0.25));
        r.apply_rendered_chunk(2, None);
    })
    .await
    .unwrap();
    let (_, view) = call(&app, get("user-123", "promo-42")).await;
    assert_eq!(view["chunks_done"], 3);
    assert_eq!(
        view["cost"],
        json!({"estimated_usd": 0.375, "output_minutes": 0.0, "basis": "renderer-reported", "chunks": 2}),
        "{view}"
    );
}

#[tokio::test]
async fn the_owner_follows_progress_to_a_presigned_output_and_nobody_else_sees_it() {
    let app = render_app();
    call(&app, post("user-123", &body(|_| {}))).await;
    let store = &app.renders.store;
    update_render(store, "promo-42", 9_000_000_000_000, |r| {
        r.enter_phase(RenderPhase::Rendering, Some(2));
        r.apply_chunk(0, "job-0", ChunkUpdate::Complete);
        r.apply_chunk(1, "job-1", ChunkUpdate::Running(50));
    })
    .await
    .unwrap();
    let (status, view) = call(&app, get("user-123", "promo-42")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["status"].as_str(), view["phase"].as_str()),
        (Some("processing"), Some("rendering"))
    );
    assert_eq!(
        (
            view["chunks_total"].as_u64(),
            view["chunks_done"].as_u64(),
            view["progress"].as_u64()
        ),
        (Some(2), Some(1), Some(67))
    );
    assert_eq!(view["output_url"], Value::Null);

    for (sub, id) in [
        ("someone-else", "promo-42"),
        ("user-123", "nothing-here"),
        ("user-123", "a%2Fb"),
    ] {
        let (status, _) = call(&app, get(sub, id)).await;
        assert_eq!(status, 404, "{sub} {id}");
        let (status, _) = call(&app, delete(sub, id)).await;
        assert_eq!(status, 404, "{sub} {id}");
    }
    let (_, others) = call(
        &app,
        Event::fixture("get-renders.json")
            .subject(Some("someone-else"))
            .query(&[]),
    )
    .await;
    assert_eq!(others["renders"], json!([]));

    let (result, ready) = RenderResult::parse(&json!({"render_id": "promo-42", "status": "ready",
        "output_uri": "s3://vidpipe-local/videos/renders/jwt%3Auser-123/promo-42/output.mp4", "frames": 120, "duration_ms": 5000}))
    .unwrap();
    update_render(store, "promo-42", 9_000_000_000_001, |r| {
        r.finish(&result, &ready)
    })
    .await
    .unwrap();
    let (_, view) = call(&app, get("user-123", "promo-42")).await;
    assert_eq!(
        (view["status"].as_str(), view["progress"].as_u64()),
        (Some("ready"), Some(100))
    );
    let url = view["output_url"].as_str().unwrap();
    assert!(
        url.contains("videos/renders/jwt%3Auser-123/promo-42/output.mp4"),
        "{url}"
    );
}

#[tokio::test]
async fn renders_are_listed_newest_first_a_page_at_a_time() {
    let app = app(&[
        ("RENDER_STATE_MACHINE_ARN", ARN),
        ("BUCKET", "vidpipe-local"),
        ("LIST_PAGE_SIZE", "2"),
    ]);
    for id in ["r-1", "r-2", "r-3"] {
        let (status, _) = call(
            &app,
            post("user-123", &body(|r| r["render_id"] = json!(id))),
        )
        .await;
        assert_eq!(status, 202);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let list = |cursor: Option<&str>| {
        let query: Vec<(&str, &str)> = cursor.map(|c| ("cursor", c)).into_iter().collect();
        Event::fixture("get-renders.json")
            .subject(Some("user-123"))
            .query(&query)
    };
    let (status, page1) = call(&app, list(None)).await;
    assert_eq!(status, 200, "{page1}");
    let ids: Vec<_> = page1["renders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["render_id"].clone())
        .collect();
    assert_eq!(ids, [json!("r-3"), json!("r-2")]);
    let (_, page2) = call(&app, list(page1["next_cursor"].as_str())).await;
    assert_eq!(page2["renders"][0]["render_id"], "r-1");
    assert_eq!(page2["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_cancel_stops_the_execution_and_its_chunk_jobs_and_a_finished_render_is_deleted_with_its_files()
 {
    let app = render_app();
    call(&app, post("user-123", &body(|_| {}))).await;
    update_render(&app.renders.store, "promo-42", 9_000_000_000_000, |r| {
        r.enter_phase(RenderPhase::Rendering, Some(2));
        r.apply_chunk(0, "job-0", ChunkUpdate::Complete);
        r.apply_chunk(1, "job-1", ChunkUpdate::Running(10));
    })
    .await
    .unwrap();
    let (status, view) = call(&app, delete("user-123", "promo-42")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"]["code"], "canceled");
    assert_eq!(
        app.renders.executions.stopped(),
        [RecordingExecutions::arn("promo-42")]
    );
    assert_eq!(
        app.renders.jobs.canceled(),
        ["job-1"],
        "only the chunk job still running"
    );
    let record = app.renders.store.get("promo-42").unwrap();
    assert_eq!(record.status, RenderState::Failed);

    // Canceled is finished: a second DELETE removes it with everything under its folder, and only that.
    let folder = "s3://vidpipe-local/videos/renders/jwt%3Auser-123/promo-42/";
    app.renders
        .files
        .insert(&format!("{folder}output/chunks/00000.mp4"), b"chunk");
    app.renders.files.insert(
        "s3://vidpipe-local/videos/renders/jwt%3Auser-123/promo-420/request.json",
        b"{}",
    );
    let (status, answer) = call(&app, delete("user-123", "promo-42")).await;
    assert_eq!(
        (status, answer["deleted"].clone()),
        (200, json!(true)),
        "{answer}"
    );
    assert!(
        app.renders
            .store
            .get_render("promo-42")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        app.renders.files.uris(),
        ["s3://vidpipe-local/videos/renders/jwt%3Auser-123/promo-420/request.json"]
    );
    let (status, _) = call(&app, get("user-123", "promo-42")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn anonymous_callers_may_not_render() {
    let app = app(&[
        ("RENDER_STATE_MACHINE_ARN", ARN),
        ("AUTH_MODE", "anonymous"),
    ]);
    let (status, _) = call(&app, post("user-123", &body(|_| {})).subject(None)).await;
    assert_eq!(status, 403);
    assert_eq!(render_writes(&app), 0);
}

#[tokio::test]
async fn a_renders_video_plays_for_its_owner_and_goes_with_the_render() {
    use vidpipe_core::playback::{PlaybackPackage, PlaybackUpdate};
    use vidpipe_core::ports::PlaybackStore;
    use vidpipe_core::stream_status::StreamStatus;
    // A render id with a dot, as the request allows: found, played and deleted like any other.
    let app = render_app();
    let (status, _) = call(
        &app,
        post("user-123", &body(|r| r["render_id"] = json!("promo.v2"))),
    )
    .await;
    assert_eq!(status, 202);
    let folder = "videos/renders/jwt%3Auser-123/promo.v2/";
    let (result, ready) = RenderResult::parse(&json!({"render_id": "promo.v2", "status": "ready",
        "output_uri": format!("s3://vidpipe-local/{folder}output.mp4"), "frames": 120, "duration_ms": 5000}))
    .unwrap();
    update_render(&app.renders.store, "promo.v2", 9_000_000_000_000, |r| {
        r.finish(&result, &ready)
    })
    .await
    .unwrap();
    let package = PlaybackPackage {
        asset: "render/promo.v2".into(),
        owner: "jwt:user-123".into(),
        bucket: "vidpipe-local".into(),
        folder: format!("{folder}output/playback/"),
        status: StreamStatus::Queued,
        mp4_key: format!("{folder}output.mp4"),
        poster: "poster.0000001.jpg".into(),
        duration_ms: None,
        width: None,
        height: None,
        error_code: None,
        source_etag: None,
        job_id: None,
        cost: None,
    };
    let playbacks = &app.playback.store;
    playbacks.put_queued(&package, u64::MAX).await.unwrap();
    let update = PlaybackUpdate {
        status: StreamStatus::Ready,
        duration_ms: Some(5000),
        size: Some(vidpipe_core::job::Size::new(320, 180)),
        error_code: None,
        source_etag: None,
        cost: None,
    };
    playbacks.advance(&package.asset, &update).await.unwrap();
    app.playback.files.insert(
        &format!("s3://vidpipe-local/{}index.m3u8", package.folder),
        b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=320x180\nindex_180p.m3u8\n",
    );

    let (status, view) = call(&app, get("user-123", "promo.v2")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["playback"]["status"], "ready", "{view}");
    let hls = view["playback"]["hls"].as_str().unwrap();
    let (path, query) = hls.split_once('?').unwrap();
    assert_eq!(path, "/play/render/promo.v2/index.m3u8");
    // Only the owner is shown the signed URL: another user sees no render, so no playback.
    let (status, _) = call(&app, get("someone-else", "promo.v2")).await;
    assert_eq!(status, 404, "only the owner is given the URL");
    let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    let play = Event::fixture("get-play.json")
        .subject(None)
        .path(path)
        .query(&pairs);
    let (status, _) = call_raw(&app, play).await;
    assert_eq!(status, 200);

    let (status, _) = call(&app, delete("user-123", "promo.v2")).await;
    assert_eq!(status, 200);
    assert!(
        playbacks.get("render/promo.v2").await.unwrap().is_none(),
        "the package goes with the render"
    );
}

/// The status and the body as text (a manifest is not JSON).
async fn call_raw(app: &TestApp, event: Event) -> (u16, String) {
    let response = app.handle(event.request()).await;
    let body = String::from_utf8(response.body().to_vec()).unwrap();
    (response.status().as_u16(), body)
}
