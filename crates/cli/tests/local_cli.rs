//! `vidpipe local init` against a moto server, twice (the second run must be harmless).

use std::process::{Command, Output};
use vidpipe_testkit::{moto::MotoServer, unique_name};

/// `vidpipe local init` for `bucket` (also the table and queue name) with `vars` on top of moto's settings.
fn local_init(bucket: &str, vars: &[(&str, &str)]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_vidpipe"))
        .args(["local", "init"])
        .env("AWS_ENDPOINT_URL", MotoServer::shared().endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("S3_FORCE_PATH_STYLE", "true")
        .env("BUCKET", bucket)
        .env("TABLE_NAME", bucket)
        .env("EVENTS_QUEUE", bucket)
        .env_remove("ALLOWED_ORIGINS")
        .envs(vars.iter().copied())
        .output()
        .expect("run vidpipe");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn local_init_creates_the_stack_and_can_run_again() {
    let bucket = unique_name("cli-init");
    for _ in 0..2 {
        let output = local_init(&bucket, &[]);
        let printed: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("JSON on stdout");
        assert_eq!(printed["bucket"], bucket.as_str());
        assert!(printed["queue_url"].as_str().unwrap().ends_with(&bucket));
    }
}

/// A browser page on an allowed origin uploads straight to the bucket with a presigned PUT (the survey client's
/// camera recorder does), so the bucket's CORS rule allows `ALLOWED_ORIGINS`: PUT, GET and HEAD, any request
/// header, and `ETag` readable (multipart uploads need each part's). Other origins are refused.
#[tokio::test]
async fn local_init_lets_the_allowed_origins_upload_from_browsers() {
    let bucket = unique_name("cli-cors");
    local_init(
        &bucket,
        &[(
            "ALLOWED_ORIGINS",
            "http://127.0.0.1:8123, https://app.example.com",
        )],
    );
    let s3 = vidpipe_aws::s3::client(&MotoServer::shared().sdk_config().await, true);
    let cors = s3.get_bucket_cors().bucket(&bucket).send().await.unwrap();
    let [rule] = cors.cors_rules() else {
        panic!("one CORS rule: {:?}", cors.cors_rules());
    };
    assert_eq!(
        rule.allowed_origins(),
        ["http://127.0.0.1:8123", "https://app.example.com"]
    );
    let mut methods = rule.allowed_methods().to_vec();
    methods.sort();
    assert_eq!(methods, ["GET", "HEAD", "PUT"]);
    assert_eq!(rule.allowed_headers(), ["*"]);
    assert_eq!(rule.expose_headers(), ["ETag"]);

    // What a browser asks before its PUT: moto answers by the bucket's rule.
    let preflight = |origin: &'static str| {
        let url = format!(
            "{}/{bucket}/videos/s_camera.webm",
            MotoServer::shared().endpoint()
        );
        async move {
            reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, url)
                .header("origin", origin)
                .header("access-control-request-method", "PUT")
                .header("access-control-request-headers", "content-type")
                .send()
                .await
                .unwrap()
        }
    };
    let allowed = preflight("http://127.0.0.1:8123").await;
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://127.0.0.1:8123"
    );
    assert_eq!(preflight("https://elsewhere.example").await.status(), 403);

    // Without ALLOWED_ORIGINS no browser origin is allowed: the bucket gets no CORS rule.
    let closed = unique_name("cli-cors");
    local_init(&closed, &[]);
    let error = s3
        .get_bucket_cors()
        .bucket(&closed)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.into_service_error().meta().code(),
        Some("NoSuchCORSConfiguration")
    );
}
