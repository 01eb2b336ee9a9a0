//! Whole objects read by URI (`S3Objects::get_bytes`) against a real moto S3.

use vidpipe_aws::s3::{Overwrite, S3Objects, UploadError};
use vidpipe_core::render::ports::FetchError;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_testkit::{moto::MotoServer, unique_name};

async fn client() -> aws_sdk_s3::Client {
    vidpipe_aws::s3::client(&MotoServer::shared().sdk_config().await, true)
}

/// `uri`'s object, read through the bucket it is in.
async fn get_object_bytes(
    client: &aws_sdk_s3::Client,
    uri: &S3Uri,
    limit: u64,
) -> Result<Vec<u8>, FetchError> {
    S3Objects::new(client.clone(), uri.bucket())
        .get_bytes(uri, limit)
        .await
}

async fn bucket_with(client: &aws_sdk_s3::Client, key: &str, body: &[u8]) -> String {
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
        matches!(err, FetchError::NotFound(ref u) if *u == uri),
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
            FetchError::TooLarge {
                size: 2048,
                limit: 1024,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_large_file_is_uploaded_in_parts_and_downloaded_whole() {
    let client = client().await;
    let bucket = bucket_with(&client, "a.json", b"{}").await;
    let objects = S3Objects::new(client.clone(), &bucket);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("render.mp4");
    // Three parts of 5 MiB (S3's smallest) and a short last one.
    let body: Vec<u8> = (0..(15 * 1024 * 1024 + 12_345))
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&file, &body).unwrap();
    let uri = S3Uri::new(&bucket, "renders/r1.mp4").unwrap();
    objects
        .upload_in_parts(
            &file,
            &uri,
            "video/mp4",
            5 * 1024 * 1024,
            Overwrite::Allowed,
        )
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("renders/r1.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert!(
        head.e_tag().unwrap().ends_with("-4\""),
        "a multipart ETag: {:?}",
        head.e_tag()
    );
    let back = dir.path().join("back.mp4");
    objects.download(&uri, &back).await.unwrap();
    assert!(std::fs::read(&back).unwrap() == body, "the same bytes");
    // Nothing is left in progress.
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty());
}

#[tokio::test]
async fn a_write_that_never_overwrites_keeps_the_first_object_whole_or_in_parts() {
    let client = client().await;
    let bucket = bucket_with(&client, "a.json", b"{}").await;
    let objects = S3Objects::new(client.clone(), &bucket);
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first.mp4"), dir.path().join("second.mp4"));
    std::fs::write(&first, b"the first render").unwrap();
    // A second writer's file, large enough for two parts (5 MiB, S3's smallest, and a short one).
    std::fs::write(&second, vec![7u8; 5 * 1024 * 1024 + 10]).unwrap();
    let uri = S3Uri::new(&bucket, "renders/o/r/output.mp4").unwrap();
    objects
        .upload(&first, &uri, "video/mp4", Overwrite::Never)
        .await
        .unwrap();

    let again = objects
        .upload(&second, &uri, "video/mp4", Overwrite::Never)
        .await;
    assert!(
        matches!(&again, Err(UploadError::Exists(u)) if *u == uri),
        "{again:?}"
    );
    let in_parts = objects
        .upload_in_parts(
            &second,
            &uri,
            "video/mp4",
            5 * 1024 * 1024,
            Overwrite::Never,
        )
        .await;
    assert!(
        matches!(&in_parts, Err(UploadError::Exists(u)) if *u == uri),
        "{in_parts:?}"
    );
    assert_eq!(
        objects.get_bytes(&uri, 1 << 20).await.unwrap(),
        b"the first render",
        "the first object is kept"
    );
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "the refused multipart upload is aborted"
    );

    // A plain write still replaces.
    objects
        .upload(&second, &uri, "video/mp4", Overwrite::Allowed)
        .await
        .unwrap();
    assert_eq!(
        objects.get_bytes(&uri, 1 << 30).await.unwrap().len(),
        5 * 1024 * 1024 + 10
    );
}
