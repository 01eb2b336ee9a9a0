//! Files to and from a bucket on moto, for tests that hand media to a runner and check what it wrote.

use std::path::Path;

/// Uploads the file `file` to `bucket` as `key`.
pub async fn upload_file(s3: &aws_sdk_s3::Client, bucket: &str, file: &Path, key: &str) {
    let body = aws_sdk_s3::primitives::ByteStream::from_path(file)
        .await
        .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}"));
}

/// The keys of `bucket`'s objects under `prefix` (all of them for `""`), in order.
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.unwrap_or_else(|e| panic!("list s3://{bucket}/{prefix}: {e:?}"));
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(String::from)),
        );
    }
    keys
}

/// Downloads every object of `bucket` under `prefix` (a folder: it ends in `/`) into `into`, each at its key
/// without `prefix`.
pub async fn download_folder(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str, into: &Path) {
    assert!(prefix.ends_with('/'), "a folder prefix ends in /: {prefix}");
    for key in keys(s3, bucket, prefix).await {
        let path = into.join(key.strip_prefix(prefix).expect("a key under the prefix"));
        std::fs::create_dir_all(path.parent().expect("a parent folder")).unwrap();
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get s3://{bucket}/{key}: {e:?}"))
            .body
            .collect()
            .await
            .expect("read the object");
        std::fs::write(&path, body.into_bytes()).unwrap();
    }
}
