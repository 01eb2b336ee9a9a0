//! Call recordings: tracks through `POST /uploads`, the call in `GET /recordings/{id}`, composition tokens and
//! `PUT .../composition`, on the in-memory stores.

use serde_json::{Value, json};
use vidpipe_core::call::token::CompositionToken;

use super::{TestApp, app, call, writes};
use crate::common::Event;

pub(super) const CALL: &str = "rec-123";

fn track_body(peer: &str, role: &str, started_at: u64) -> String {
    json!({"kind": "track", "content_type": "video/webm", "size": 1024, "room_id": "room-456",
           "recording_id": CALL, "peer_id": peer, "role": role, "started_at": started_at})
    .to_string()
}

async fn upload(app: &TestApp, sub: &str, body: &str) -> (u16, Value) {
    call(
        app,
        Event::fixture("post-uploads-track.json")
            .subject(Some(sub))
            .body(body),
    )
    .await
}

pub(super) async fn get(app: &TestApp, sub: &str, id: &str) -> (u16, Value) {
    let event = Event::fixture("get-recording.json").subject(Some(sub));
    call(app, event.path(&format!("/recordings/{id}"))).await
}

async fn mint(app: &TestApp, sub: &str, id: &str, body: &str) -> (u16, Value) {
    let event = Event::fixture("post-composition-token.json").subject(Some(sub));
    let path = format!("/recordings/{id}/composition/token");
    call(app, event.path(&path).body(body)).await
}

pub(super) async fn token(app: &TestApp, sub: &str, scope: &str) -> String {
    let (status, minted) = mint(app, sub, CALL, &format!(r#"{{"scope":[{scope}]}}"#)).await;
    assert_eq!(status, 201, "{minted}");
    minted["token"].as_str().unwrap().to_owned()
}

/// A `POST /recordings/{id}/{route}` of the call routes (`preview`, `export`) from its sample event, by `sub`, with
/// `token` as its composition token (none: no header) and `body`.
pub(super) fn composition_post(
    route: &str,
    sub: &str,
    id: &str,
    token: Option<&str>,
    body: &str,
) -> Event {
    let mut event = Event::fixture(&format!("post-{route}.json"))
        .subject(Some(sub))
        .path(&format!("/recordings/{id}/{route}"))
        .body(body);
    let headers = event.0["headers"].as_object_mut().unwrap();
    headers.remove("x-composition-token");
    if let Some(token) = token {
        event = event.header("x-composition-token", token);
    }
    event
}

pub(super) const STATE: &str = r#"{"layout":"speaker","timeline":[{"t":0,"type":"layout","layout":"grid"},{"t":120000,"type":"pin","peer_id":"peer-2"}],"tracks":[{"peer_id":"peer-1","muted":false},{"peer_id":"peer-2","muted":true}],"export":{"resolution":"1920x1080","fps":30}}"#;

pub(super) fn put_event(
    sub: &str,
    id: &str,
    token: Option<&str>,
    if_match: Option<&str>,
    body: &str,
) -> Event {
    let mut event = Event::fixture("put-composition.json")
        .subject(Some(sub))
        .path(&format!("/recordings/{id}/composition"))
        .body(body);
    event.0["headers"]
        .as_object_mut()
        .unwrap()
        .remove("if-match");
    event.0["headers"]
        .as_object_mut()
        .unwrap()
        .remove("x-composition-token");
    if let Some(token) = token {
        event = event.header("x-composition-token", token);
    }
    if let Some(if_match) = if_match {
        event = event.header("if-match", if_match);
    }
    event
}

/// A call of alice (peer-1, first) and bob (peer-2, with a screenshare, started earlier).
pub(super) async fn call_app() -> TestApp {
    call_app_with(&[]).await
}

/// [`call_app`] on a configuration with `overrides`.
pub(super) async fn call_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let app = app(overrides);
    for (sub, peer, role, started_at) in [
        ("alice", "peer-1", "av", 1_795_194_002_000),
        ("bob", "peer-2", "av", 1_795_194_001_000),
        ("bob", "peer-2", "screenshare", 1_795_194_030_000),
    ] {
        let (status, body) = upload(&app, sub, &track_body(peer, role, started_at)).await;
        assert_eq!(status, 201, "{body}");
    }
    app
}

/// Whether `token` was burned (its grant deleted).
pub(super) fn grant_used(app: &TestApp, token: &str) -> bool {
    let digest = CompositionToken::presented(token).digest().to_stored();
    !app.calls.grants.lock().unwrap().contains_key(&digest)
}

#[tokio::test]
async fn a_track_joins_its_call_and_the_call_shows_its_tracks_to_its_room_only() {
    let app = app(&[]);
    let (status, created) = upload(
        &app,
        "alice",
        &track_body("peer-1", "av", 1_795_194_002_000),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let upload_id = created["recording_id"].as_str().unwrap();
    assert_eq!(
        created["key"],
        format!("videos/rooms/room-456/{CALL}/tracks/peer-1/av/{upload_id}.webm")
    );
    assert_eq!(
        created["call"],
        json!({"recording_id": CALL, "room_id": "room-456", "peer_id": "peer-1", "role": "av",
               "started_at": 1_795_194_002_000u64})
    );
    for (peer, role, started_at) in [
        ("peer-2", "av", 1_795_194_001_000),
        ("peer-2", "screenshare", 1_795_194_030_000),
    ] {
        let (status, body) = upload(&app, "bob", &track_body(peer, role, started_at)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, alice) = get(&app, "alice", CALL).await;
    assert_eq!(status, 200, "{alice}");
    assert_eq!(
        (
            alice["kind"].as_str(),
            alice["access"].as_str(),
            alice["room_id"].as_str()
        ),
        (Some("call"), Some("owner"), Some("room-456"))
    );
    assert_eq!(
        alice["time_zero"], 1_795_194_001_000u64,
        "the earliest start"
    );
    assert_eq!(alice["peers"], json!(["peer-1", "peer-2"]));
    let tracks = alice["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 3);
    assert_eq!(
        (
            tracks[0]["offset_ms"].as_u64(),
            tracks[0]["status"].as_str(),
            tracks[0]["size"].as_u64()
        ),
        (Some(1000), Some("uploading"), Some(1024))
    );
    assert_eq!(tracks[2]["role"], "screenshare");
    assert_eq!(tracks[2]["offset_ms"], 29_000);
    for absent in ["composition", "preview_status", "export_status"] {
        assert_eq!(alice[absent], Value::Null, "{absent}");
    }
    let (status, bob) = get(&app, "bob", CALL).await;
    assert_eq!((status, bob["access"].as_str()), (200, Some("member")));
    let (status, stranger) = get(&app, "carol", CALL).await;
    let (_, unknown) = get(&app, "carol", "rec-999").await;
    assert_eq!(
        (status, &stranger),
        (404, &unknown),
        "a stranger learns nothing"
    );
    let (status, _) = get(&app, "alice", "rec%2F123").await;
    assert_eq!(status, 404);
    // The track's own upload stays its uploader's, and is not deleted alone.
    let (status, own) = get(&app, "alice", upload_id).await;
    assert_eq!((status, own["kind"].as_str()), (200, Some("track")));
    let delete = Event::fixture("delete-recording.json")
        .subject(Some("alice"))
        .id(upload_id);
    let (status, err) = call(&app, delete).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("call_track")),
        "{err}"
    );
}

#[tokio::test]
async fn bad_track_uploads_are_refused_by_field_and_write_nothing() {
    let app = call_app().await;
    let (_, existing) = call(&app, Event::fixture("post-uploads-recording.json")).await;
    let upload_id = existing["recording_id"].as_str().unwrap().to_owned();
    let before = writes(&app);
    let base = track_body("peer-3", "av", 1_795_194_002_000);
    let with = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        base.replacen(from, to, 1)
    };
    let cases = [
        ("{".to_owned(), 400, "body"),
        (with(r#""role":"av""#, r#""role":"camera""#), 400, "role"),
        (
            with(r#""peer_id":"peer-3""#, r#""peer_id":"../peer""#),
            400,
            "peer_id",
        ),
        (
            with(r#""peer_id":"peer-3""#, r#""peer_id":"peer%2F3""#),
            400,
            "peer_id",
        ),
        (
            with(r#""peer_id":"peer-3""#, r#""peer_id":3"#),
            400,
            "peer_id",
        ),
        (
            with(
                r#""recording_id":"rec-123""#,
                r#""recording_id":"rec/../x""#,
            ),
            400,
            "recording_id",
        ),
        (
            with(r#""room_id":"room-456""#, r#""room_id":"room..""#),
            400,
            "room_id",
        ),
        (
            with("1795194002000", r#""2026-11-21T17:00:02Z""#),
            400,
            "started_at",
        ),
        (
            with(r#","started_at":1795194002000"#, ""),
            400,
            "started_at",
        ),
        // The call is room-456's; and an id that is some upload's is no call's.
        (
            with(r#""room_id":"room-456""#, r#""room_id":"room-999""#),
            409,
            "recording_id",
        ),
        (
            with(
                r#""recording_id":"rec-123""#,
                &format!(r#""recording_id":"{upload_id}""#),
            ),
            409,
            "recording_id",
        ),
    ];
    for (body, status, field) in cases {
        let (got, err) = upload(&app, "carol", &body).await;
        assert_eq!(
            (got, err["error"]["field"].as_str()),
            (status, Some(field)),
            "{body}: {err}"
        );
    }
    assert_eq!(writes(&app), before, "no refused upload wrote anything");
    let anonymous = super::app(&[("AUTH_MODE", "anonymous"), ("ANONYMOUS_KINDS", "track")]);
    let event = Event::fixture("post-uploads-track.json")
        .subject(None)
        .body(&base);
    let (status, err) = call(&anonymous, event).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{err}"
    );
    assert_eq!(writes(&anonymous), 0);
}

#[tokio::test]
async fn tokens_are_minted_to_the_room_with_the_scopes_asked_and_stored_hashed() {
    let app = call_app().await;
    let (status, all) = mint(&app, "bob", CALL, "").await;
    assert_eq!(status, 201, "{all}");
    assert_eq!(
        all["scope"],
        json!(["preview:read", "composition:write", "export:create"])
    );
    assert_eq!(
        (
            all["recording_id"].as_str(),
            all["room_id"].as_str(),
            all["audience"].as_str()
        ),
        (Some(CALL), Some("room-456"), Some("composition-service"))
    );
    let token = all["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    let expires = all["expires_at"].as_str().unwrap();
    let in_30_min = vidpipe_core::clock::rfc3339_ms(vidpipe_core::clock::now_ms() + 30 * 60 * 1000);
    assert!(
        expires <= in_30_min.as_str() && expires[..15] == in_30_min[..15],
        "{expires}"
    );
    {
        let grants = app.calls.grants.lock().unwrap();
        let stored = format!("{:?}", grants);
        assert!(!stored.contains(token), "only the token's digest is stored");
        assert!(grants.contains_key(&CompositionToken::presented(token).digest().to_stored()));
    }
    let (status, some) = mint(&app, "alice", CALL, r#"{"scope":["export:create"]}"#).await;
    assert_eq!((status, &some["scope"]), (201, &json!(["export:create"])));
    let before = writes(&app);
    for (sub, id, body, status, code) in [
        (
            "alice",
            CALL,
            r#"{"scope":["export:create","admin"]}"#,
            400,
            "invalid_field",
        ),
        ("alice", CALL, r#"{"scope":[]}"#, 400, "invalid_field"),
        ("alice", CALL, "{", 400, "invalid_json"),
        ("carol", CALL, "", 404, "not_found"),
        ("alice", "rec-999", "", 404, "not_found"),
        ("alice", "rec%2E%2E", "", 404, "not_found"),
    ] {
        let (got, err) = mint(&app, sub, id, body).await;
        assert_eq!(
            (got, err["error"]["code"].as_str()),
            (status, Some(code)),
            "{sub} {id} {body}: {err}"
        );
    }
    assert_eq!(writes(&app), before);
}

#[tokio::test]
async fn a_first_save_with_if_none_match_applies_only_where_nothing_is_saved() {
    let app = call_app().await;
    let first_save = |token: &str| {
        put_event("alice", CALL, Some(token), None, STATE).header("if-none-match", "*")
    };
    let first = token(&app, "alice", r#""composition:write""#).await;
    let (status, saved) = call(&app, first_save(&first)).await;
    assert_eq!(
        (status, saved["version"].as_u64()),
        (200, Some(1)),
        "{saved}"
    );
    // Another editor's first save, which read no composition either: 412, its token kept, version 1 stands.
    let second = token(&app, "alice", r#""composition:write""#).await;
    let (status, refused) = call(&app, first_save(&second)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (412, Some("precondition_failed")),
        "{refused}"
    );
    assert!(!grant_used(&app, &second));
    let (_, shown) = get(&app, "alice", CALL).await;
    assert_eq!(shown["composition"]["version"], 1);
    for (header, value) in [("if-none-match", "\"1\""), ("if-none-match", "W/*")] {
        let event = put_event("alice", CALL, Some(&second), None, STATE).header(header, value);
        let (status, body) = call(&app, event).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some("If-None-Match")),
            "{body}"
        );
    }
    let both =
        put_event("alice", CALL, Some(&second), Some("\"1\""), STATE).header("if-none-match", "*");
    let (status, body) = call(&app, both).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_header")),
        "{body}"
    );
    assert!(!grant_used(&app, &second), "a refused save keeps its token");
}

#[tokio::test]
async fn a_composition_is_saved_once_per_token_as_numbered_versions_over_if_match() {
    let app = call_app().await;
    let first = token(&app, "alice", r#""composition:write""#).await;
    let (status, saved) = call(&app, put_event("alice", CALL, Some(&first), None, STATE)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        (saved["status"].as_str(), saved["version"].as_u64()),
        (Some("ok"), Some(1))
    );
    assert!(saved["updated_at"].as_str().unwrap().ends_with('Z'));
    let (status, replay) = call(&app, put_event("alice", CALL, Some(&first), None, STATE)).await;
    assert_eq!(
        (status, replay["error"]["code"].as_str()),
        (401, Some("invalid_token")),
        "{replay}"
    );

    // A member saves over version 1; a save over the stale version 1 is 412 and keeps its token.
    let second = token(&app, "bob", r#""composition:write""#).await;
    let response = app
        .handle(put_event("bob", CALL, Some(&second), Some("\"1\""), STATE).request())
        .await;
    assert_eq!(
        (
            response.status().as_u16(),
            response.headers()["etag"].to_str().unwrap()
        ),
        (200, "\"2\"")
    );
    let stale = token(&app, "alice", r#""composition:write""#).await;
    let (status, err) = call(
        &app,
        put_event("alice", CALL, Some(&stale), Some("\"1\""), STATE),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (412, Some("precondition_failed")),
        "{err}"
    );
    assert!(
        !grant_used(&app, &stale),
        "a request answered 412 before the burn keeps its token"
    );
    let muted = STATE.replace(r#""muted":false"#, r#""muted":true"#);
    let (status, saved) = call(
        &app,
        put_event("alice", CALL, Some(&stale), Some("*"), &muted),
    )
    .await;
    assert_eq!(
        (status, saved["version"].as_u64()),
        (200, Some(3)),
        "{saved}"
    );

    let (_, got) = get(&app, "bob", CALL).await;
    assert_eq!(got["composition"]["version"], 3);
    assert_eq!(
        got["composition"]["state"],
        serde_json::from_str::<Value>(&muted).unwrap()
    );
}

#[tokio::test]
async fn composition_saves_are_refused_by_token_then_body_and_only_a_save_burns() {
    let app = call_app().await;
    let write = token(&app, "alice", r#""composition:write""#).await;
    let preview = token(&app, "alice", r#""preview:read","export:create""#).await;
    let bobs = token(&app, "bob", r#""composition:write""#).await;
    let expired = token(&app, "alice", r#""composition:write""#).await;
    {
        let digest = CompositionToken::presented(&expired).digest().to_stored();
        let mut grants = app.calls.grants.lock().unwrap();
        grants.get_mut(&digest).unwrap().expires_at_ms = vidpipe_core::clock::now_ms() - 1;
    }
    let (write, preview, bobs, expired) = (&*write, &*preview, &*bobs, &*expired);
    let oversize = format!(r#"{{"layout":"grid","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let unknown_peer = STATE.replace(r#""peer_id":"peer-2"}"#, r#""peer_id":"peer-9"}"#);
    let put = put_event;
    let cases = [
        (
            put("carol", CALL, Some(write), None, STATE),
            404,
            "not_found",
        ),
        (
            put("alice", "rec%2F123", Some(write), None, STATE),
            404,
            "not_found",
        ),
        (put("alice", CALL, None, None, STATE), 401, "token_required"),
        (
            put("alice", CALL, Some("not-a-token"), None, STATE),
            401,
            "invalid_token",
        ),
        (
            put("alice", CALL, Some(expired), None, STATE),
            401,
            "invalid_token",
        ),
        (
            put("alice", CALL, Some(bobs), None, STATE),
            401,
            "invalid_token",
        ),
        (
            put("alice", CALL, Some(preview), None, STATE),
            403,
            "insufficient_scope",
        ),
        (
            put("alice", CALL, Some(write), Some("W/\"1\""), STATE),
            400,
            "invalid_header",
        ),
        (
            put("alice", CALL, Some(write), None, "{"),
            400,
            "invalid_json",
        ),
        (
            put("alice", CALL, Some(write), None, &unknown_peer),
            400,
            "invalid_field",
        ),
        (
            put("alice", CALL, Some(write), None, &oversize),
            413,
            "body_too_large",
        ),
        (
            put("alice", CALL, Some(write), Some("\"4\""), STATE),
            412,
            "precondition_failed",
        ),
    ];
    let before = writes(&app);
    for (i, (event, status, code)) in cases.into_iter().enumerate() {
        let (got, err) = call(&app, event).await;
        assert_eq!(
            (got, err["error"]["code"].as_str()),
            (status, Some(code)),
            "case {i}: {err}"
        );
        if code == "invalid_field" {
            assert_eq!(err["error"]["field"], "timeline[1].peer_id");
        }
    }
    assert_eq!(
        writes(&app),
        before,
        "no refused save wrote, nor burned a token"
    );
    for unburned in [write, preview, bobs] {
        assert!(!grant_used(&app, unburned));
    }
}

#[tokio::test]
async fn a_token_is_bound_to_its_recording() {
    let app = call_app().await;
    let write = token(&app, "alice", r#""composition:write""#).await;
    let write = write.as_str();
    // Alice's other call does not take it.
    let other = track_body("peer-5", "av", 1_795_194_002_000).replace(CALL, "rec-777");
    let (status, _) = upload(&app, "alice", &other).await;
    assert_eq!(status, 201);
    let (status, err) = call(
        &app,
        put_event("alice", "rec-777", Some(write), None, STATE),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("invalid_token")),
        "{err}"
    );
    let (status, _) = call(&app, put_event("alice", CALL, Some(write), None, STATE)).await;
    assert_eq!(status, 200, "the token was never burned by a refusal");
}
