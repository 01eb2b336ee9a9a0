//! `provision` (behind `vidpipe local init`) against a real moto server: everything it creates, twice.

use vidpipe_aws::provision::{Resources, provision};
use vidpipe_testkit::{moto::MotoServer, unique_name};

#[tokio::test]
async fn provisioning_twice_is_harmless_and_wires_object_created_events_to_the_queue() {
    let sdk = MotoServer::shared().sdk_config().await;
    let s3 = vidpipe_aws::s3::client(&sdk, true);
    let resources = Resources {
        bucket: unique_name("init"),
        key_prefix: "videos/".into(),
        retention_days: 30,
        allowed_origins: vec!["http://localhost:3000".into()],
        table: unique_name("init"),
        queue: Some(unique_name("init")),
    };
    let first = provision(&sdk, &s3, &resources).await.expect("first run");
    let second = provision(&sdk, &s3, &resources)
        .await
        .expect("second run is harmless");
    assert_eq!(first, second);
    let queue_url = first.queue_url.expect("a queue url");

    // Retention: objects under the prefix expire after RETENTION_DAYS.
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&resources.bucket)
        .send()
        .await
        .unwrap();
    let rule = &lifecycle.rules()[0];
    assert_eq!(rule.expiration().and_then(|e| e.days()), Some(30));
    // As the template: versioned, an overwritten object's earlier version kept for 7 days.
    assert_eq!(
        rule.noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        Some(7)
    );
    // Records expire too: TTL on expires_at, and the owner index exists.
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let ttl = ddb
        .describe_time_to_live()
        .table_name(&resources.table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some("expires_at")
    );
    let table = ddb
        .describe_table()
        .table_name(&resources.table)
        .send()
        .await
        .unwrap();
    let indexes = table.table().unwrap().global_secondary_indexes();
    assert_eq!(indexes[0].index_name(), Some("by_owner"));

    // An upload reaches the queue as an S3 ObjectCreated event.
    s3.put_object()
        .bucket(&resources.bucket)
        .key("videos/s1_camera.webm")
        .body(vec![1u8; 8].into())
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        bodies.extend(
            out.messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_owned)),
        );
        if bodies.iter().any(|b| b.contains("ObjectCreated")) {
            break;
        }
    }
    let event = bodies
        .iter()
        .find(|b| b.contains("ObjectCreated"))
        .expect("an ObjectCreated event on the queue");
    assert!(event.contains("s1_camera.webm"), "{event}");
    // (moto's GetBucketVersioning answer does not parse in the SDK, so the versions themselves are looked at.)
    for body in ["first", "second"] {
        s3.put_object()
            .bucket(&resources.bucket)
            .key("videos/twice_camera.webm")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let versions = s3
        .list_object_versions()
        .bucket(&resources.bucket)
        .prefix("videos/twice_camera.webm")
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions.versions().len(),
        2,
        "the overwritten version is kept"
    );
}
