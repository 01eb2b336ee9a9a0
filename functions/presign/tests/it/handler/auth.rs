//! The three ways of identifying callers: the API Gateway JWT authorizer, HS256 tokens, anonymous survey pages.

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
    assert_eq!(app.recordings.items.lock().unwrap()[id].owner, "carol");

    let mut expired = good.clone();
    expired["exp"] = (now - 3600).into();
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = "other".into();
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = "https://evil.example.com".into();
    let bad_tokens = [
        hs256_token("another-secret-another-secret-xx", good.clone()),
        hs256_token(secret, expired),
        hs256_token(secret, wrong_aud),
        hs256_token(secret, wrong_iss),
        hs256_token(
            secret,
            serde_json::json!({"sub": "carol", "aud": "vidpipe", "iss": "https://id.example.com"}),
        ),
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
            (status, err["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{err}"
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
