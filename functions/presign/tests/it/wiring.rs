//! The API's cold start on moto: the playback signing keys read from Secrets Manager by ARN, as the template deploys
//! them, and a missing secret refused at start.

use vidpipe_core::play_url;
use vidpipe_presign::config::Config;
use vidpipe_presign::wiring::{self, WiringError};
use vidpipe_testkit::cloudfront::{cloudfront_accepts, key_pair};
use vidpipe_testkit::config::vars;
use vidpipe_testkit::moto::MotoServer;
use vidpipe_testkit::unique_name;

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn the_signing_keys_are_read_from_secrets_manager_once_at_start() {
    let sdk = MotoServer::shared().sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let dir = tempfile::tempdir().unwrap();
    let (private_pem, _, public_pem) = key_pair(dir.path());
    let mut arns = Vec::new();
    for (name, value) in [("play", KEY), ("cloudfront", private_pem.as_str())] {
        let created = secrets
            .create_secret()
            .name(unique_name(name))
            .secret_string(value)
            .send()
            .await
            .unwrap();
        arns.push(created.arn.unwrap());
    }
    let config = |play_arn: &str| {
        Config::from_env(vars(&[
            ("BUCKET", "uploads"),
            ("TABLE_NAME", "vidpipe"),
            ("PLAYBACK_SIGNING_SECRET_ARN", play_arn),
            ("CDN_BASE_URL", "https://d111111abcdef8.cloudfront.net"),
            ("CLOUDFRONT_KEY_PAIR_ID", "K2JCJMDEHXQW5F"),
            ("CLOUDFRONT_PRIVATE_KEY_SECRET_ARN", arns[1].as_str()),
        ]))
        .unwrap()
    };
    let app = wiring::app(config(&arns[0]), &sdk).await.unwrap();
    // GET /play URLs are signed with the secret's key.
    assert_eq!(
        app.signing.play_query("recording/r1", 2_000_000_000),
        play_url::query(KEY.as_bytes(), "recording/r1", 2_000_000_000)
    );
    // CDN URLs with the secret's private key, as CloudFront checks them against the public key.
    let folder = "videos/recordings/r1/talk/playback/";
    let url = app
        .signing
        .cdn_folder(folder, 2_000_000_000)
        .unwrap()
        .url(&format!("{folder}index_720p_1.mp4"))
        .unwrap();
    assert_eq!(
        cloudfront_accepts(&url, &public_pem, "K2JCJMDEHXQW5F", 1_900_000_000),
        Ok(())
    );

    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf";
    match wiring::app(config(missing), &sdk).await {
        Err(WiringError::Secret(e)) => assert!(e.to_string().contains(missing), "{e}"),
        Err(other) => panic!("expected a secret error, got {other}"),
        Ok(_) => panic!("a missing secret must stop the start"),
    }
}
