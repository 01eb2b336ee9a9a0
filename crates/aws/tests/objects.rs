//! `get_object_bytes` against a real moto S3.

use aws_sdk_s3 as s3;
use vidpipe_aws::objects::{ObjectError, get_object_bytes};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_testkit::{moto::MotoServer, unique_name};

async fn client() -> s3::Client {
    let config = s3::Config::builder()
        .behavior_version(s3::config::BehaviorVersion::latest())
        .region(s3::config::Region::new("us-east-1"))
        .credentials_provider(s3::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(MotoServer::shared().endpoint())
        .force_path_style(true)
        .build();
    s3::Client::from_conf(config)
}

async fn bucket_with(client: &s3::Client, key: &str, body: &[u8]) -> String {
    let bucket = unique_name("objects");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
    bucket
}

#[tokio::test]
async fn reads_the_whole_object() {
    let client = client().await;
    let bucket = bucket_with(&client, "requests/r1.json", br#"{"render_id":"r1"}"#).await;
    let uri = S3Uri::new(&bucket, "requests/r1.json").unwrap();
    let bytes = get_object_bytes(&client, &uri, 1024).await.unwrap();
    assert_eq!(bytes, br#"{"render_id":"r1"}"#);
}

#[tokio::test]
async fn a_missing_object_is_not_found() {
    let client = client().await;
    let bucket = bucket_with(&client, "a.json", b"{}").await;
    let uri = S3Uri::new(&bucket, "missing.json").unwrap();
    let err = get_object_bytes(&client, &uri, 1024).await.unwrap_err();
    assert!(
        matches!(err, ObjectError::NotFound(ref u) if *u == uri),
        "{err}"
    );
}

#[tokio::test]
async fn an_object_over_the_limit_is_refused() {
    let client = client().await;
    let bucket = bucket_with(&client, "big.json", &[b' '; 2048]).await;
    let uri = S3Uri::new(&bucket, "big.json").unwrap();
    let err = get_object_bytes(&client, &uri, 1024).await.unwrap_err();
    assert!(
        matches!(
            err,
            ObjectError::TooLarge {
                size: 2048,
                limit: 1024,
                ..
            }
        ),
        "{err}"
    );
}
