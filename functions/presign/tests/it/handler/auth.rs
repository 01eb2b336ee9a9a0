//! The three ways of identifying callers: the API Gateway JWT authorizer, HS256 tokens, anonymous survey pages.

use vidpipe_presign::auth::ANONYMOUS_OWNER;

use super::{app, call, writes};
use crate::common::Event;

#[tokio::test]
async fn jwt_mode_requires_authorizer_claims() {
    let app = app(&[]);
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-camera.json").subject(None),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(writes(&app), 0);
}

fn hs256_token(secret: &str, claims: serde_json::Value) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn hs256_mode_checks_signature_expiry_audience_and_issuer() {
    let secret = "0123456789abcdef0123456789abcdef";
    let app = app(&[
        ("AUTH_MODE", "hs256"),
        ("JWT_SECRET", secret),
        ("JWT_AUDIENCE", "vidpipe"),
        ("JWT_ISSUER", "https://id.example.com"),
    ]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let good = serde_json::json!({"sub": "carol", "exp": now + 600, "aud": "vidpipe", "iss": "https://id.example.com"});
    let token = hs256_token(secret, good.clone());
    let (status, body) = call(
        &app,
        Event::fixture("post-uploads-camera.json")
            .subject(None)
            .header("authorization", &format!("Bearer {token}")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["recording_id"].as_str().unwrap();
    assert_eq!(
        app.recordings.items.lock().unwrap()[id].owner,
        "hs256:carol"
    );

    // As `vidpipe local token` makes them: iat now, exp an hour later; an nbf that has passed is fine.
    let mut cli = good.clone();
    cli["iat"] = now.into();
    cli["exp"] = (now + 3600).into();
    cli["nbf"] = (now - 10).into();
    let (status, body) = call(
        &app,
        Event::fixture("post-uploads-screen.json")
            .subject(None)
            .header(
                "authorization",
                &format!("Bearer {}", hs256_token(secret, cli)),
            ),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let mut expired = good.clone();
    expired["exp"] = (now - 3600).into();
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = "other".into();
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = "https://evil.example.com".into();
    let without = |claim: &str| {
        let mut token = good.clone();
        token.as_object_mut().unwrap().remove(claim);
        hs256_token(secret, token)
    };
    let with = |claim: &str, value: serde_json::Value| {
        let mut token = good.clone();
        token[claim] = value;
        hs256_token(secret, token)
    };
    let bad_tokens = [
        hs256_token("another-secret-another-secret-xx", good.clone()),
        hs256_token(secret, expired),
        hs256_token(secret, wrong_aud),
        hs256_token(secret, wrong_iss),
        without("exp"),
        // aud and iss are configured, so required.
        without("aud"),
        without("iss"),
        // Not valid yet.
        with("nbf", (now + 600).into()),
        // Longer-lived than JWT_MAX_LIFETIME_SECONDS (3600): from now, from its iat, or from a future iat.
        with("exp", (now + 7200).into()),
        with("iat", (now - 86_400).into()),
        {
            let mut token = good.clone();
            token["iat"] = (now + 86_400).into();
            token["exp"] = (now + 86_400 + 600).into();
            hs256_token(secret, token)
        },
        "not.a.jwt".to_owned(),
    ];
    let before = writes(&app);
    for token in bad_tokens {
        let (status, err) = call(
            &app,
            Event::fixture("post-uploads-screen.json")
                .subject(None)
                .header("authorization", &format!("Bearer {token}")),
        )
        .await;
        assert_eq!(
            (
                status,
                err["error"]["code"].as_str(),
                err["error"]["message"].as_str()
            ),
            (401, Some("unauthorized"), Some("invalid token")),
            "the reason is not told: {err}"
        );
    }
    let (status, _) = call(
        &app,
        Event::fixture("post-uploads-screen.json").subject(None),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(writes(&app), before);
}

#[tokio::test]
async fn anonymous_mode_allows_only_configured_kinds_and_no_reading() {
    let app = app(&[("AUTH_MODE", "anonymous"), ("ANONYMOUS_KINDS", "camera")]);
    let (status, _) = call(
        &app,
        Event::fixture("post-uploads-camera.json").subject(None),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &app,
        Event::fixture("post-presigned-url.json").subject(None),
    )
    .await;
    assert_eq!(status, 200);
    let before = writes(&app);
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-screen.json").subject(None),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = call(
        &app,
        Event::fixture("post-presigned-url.json")
            .subject(None)
            .body(r#"{"filename":"s.mp4"}"#),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, Event::fixture("get-recordings.json").subject(None)).await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        Event::fixture("get-recording.json").subject(None).id("x"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(writes(&app), before);
}

#[tokio::test]
async fn owners_are_namespaced_by_auth_mode() {
    // A JWT whose sub is "anonymous" is not the anonymous owner: anonymous callers cannot sign its stream...
    let jwt = app(&[]);
    let (status, body) = call(
        &jwt,
        Event::fixture("post-uploads-camera.json").subject(Some(ANONYMOUS_OWNER)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let anonymous = app(&[("AUTH_MODE", "anonymous")]);
    anonymous
        .streams
        .insert(jwt.streams.record("session-42").unwrap());
    let (status, err) = call(
        &anonymous,
        Event::fixture("post-uploads-screen.json").subject(None),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("stream_taken")),
        "{err}"
    );

    // ...and it reads neither the streams nor the recordings of anonymous callers.
    let (status, body) = call(
        &anonymous,
        Event::fixture("post-presigned-url.json").subject(None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let anonymous_recordings = anonymous.recordings.items.lock().unwrap().clone();
    assert!(!anonymous_recordings.is_empty());
    let reader = app(&[]);
    reader
        .streams
        .insert(anonymous.streams.record("session-43").unwrap());
    reader
        .recordings
        .items
        .lock()
        .unwrap()
        .extend(anonymous_recordings);
    let (status, err) = call(
        &reader,
        Event::fixture("get-stream.json")
            .subject(Some(ANONYMOUS_OWNER))
            .path("/streams/session-43"),
    )
    .await;
    assert_eq!(status, 404, "{err}");
    let (status, page) = call(
        &reader,
        Event::fixture("get-recordings.json")
            .subject(Some(ANONYMOUS_OWNER))
            .query(&[]),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["recordings"], serde_json::json!([]));
}
