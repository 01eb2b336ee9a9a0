//! The job-builder handler on the sample events, on bad input, and reading requests from a real (moto) S3.

use std::path::PathBuf;

use aws_sdk_s3 as s3;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_core::job::{JobContext, chunk_job};
use vidpipe_core::render::ports::{FetchError, RequestReader};
use vidpipe_core::render::{Chunk, RenderRequest};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_job_builder::{JobBuilderOutput, build, handle};
use vidpipe_testkit::{moto::MotoServer, unique_name};

fn context() -> JobContext {
    JobContext {
        role: "arn:aws:iam::123456789012:role/vidpipe-mediaconvert".into(),
        queue: None,
    }
}

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/job-builder")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A store holding at most one object, or failing as S3 would.
enum FakeStore {
    Holds(S3Uri, Vec<u8>),
    Broken,
}

impl RequestReader for FakeStore {
    async fn fetch(&self, uri: &S3Uri, _limit: u64) -> Result<Vec<u8>, FetchError> {
        match self {
            FakeStore::Holds(held, bytes) if held == uri => Ok(bytes.clone()),
            FakeStore::Holds(..) => Err(FetchError::NotFound(uri.clone())),
            FakeStore::Broken => Err(FetchError::Unavailable {
                uri: uri.clone(),
                source: "throttled".into(),
            }),
        }
    }
}

fn empty_store() -> FakeStore {
    FakeStore::Holds("s3://none/none".parse().unwrap(), Vec::new())
}

async fn invalid_message(payload: Value, store: &impl RequestReader) -> String {
    let err = handle(
        LambdaEvent::new(payload, Context::default()),
        &context(),
        store,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type, "InvalidJobRequest", "{}", err.error_message);
    err.error_message
}

#[tokio::test]
async fn every_inline_sample_event_builds_a_create_job() {
    for (name, kind, destination) in [
        (
            "composite.json",
            "composite",
            "s3://vidpipe-uploads/streams/s-42_composited",
        ),
        (
            "single.json",
            "single",
            "s3://vidpipe-uploads/streams/s-42_composited",
        ),
        (
            "chunk.json",
            "chunk",
            "s3://vidpipe-renders/renders/work/promo-42/chunks/00001",
        ),
        (
            "preview.json",
            "preview",
            "s3://vidpipe-previews/previews/s-42/index",
        ),
    ] {
        let output = handle(
            LambdaEvent::new(event(name), Context::default()),
            &context(),
            &empty_store(),
        )
        .await
        .unwrap();
        let json = serde_json::to_value(&output).unwrap();
        let job = &json["CreateJob"];
        assert_eq!(
            job["Role"], "arn:aws:iam::123456789012:role/vidpipe-mediaconvert",
            "{name}"
        );
        assert_eq!(job["UserMetadata"]["kind"], kind, "{name}");
        let settings = &job["Settings"]["OutputGroups"][0]["OutputGroupSettings"];
        let group_destination = settings["FileGroupSettings"]["Destination"]
            .as_str()
            .or(settings["HlsGroupSettings"]["Destination"].as_str());
        assert_eq!(group_destination, Some(destination), "{name}");
        // The output is exactly `{"CreateJob": <model JSON>}`.
        let back: JobBuilderOutput = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back.create_job).unwrap(), *job);
    }
}

#[tokio::test]
async fn a_chunk_request_is_read_by_uri() {
    let uri: S3Uri = "s3://vidpipe-renders/requests/promo-42.json"
        .parse()
        .unwrap();
    let request_json = event("chunk.json")["request"].clone();
    let store = FakeStore::Holds(uri, serde_json::to_vec(&request_json).unwrap());
    let by_uri = build(event("chunk-request-uri.json"), &context(), &store)
        .await
        .unwrap();
    let request: RenderRequest = serde_json::from_value(request_json).unwrap();
    let media = serde_json::from_value(event("chunk-request-uri.json")["media"].clone()).unwrap();
    let chunk = Chunk {
        index: 0,
        start_frame: 0,
        end_frame: 1492,
    };
    assert_eq!(
        by_uri.create_job,
        chunk_job(
            &context(),
            &request,
            &chunk,
            &"s3://vidpipe-renders/renders/work/promo-42/chunks/00000.mp4"
                .parse()
                .unwrap(),
            &media
        )
        .unwrap()
    );
}

#[tokio::test]
async fn bad_input_fails_with_invalid_job_request() {
    let store = empty_store();
    let message = invalid_message(json!({"kind": "transcode"}), &store).await;
    assert!(message.contains("unknown variant `transcode`"), "{message}");

    let mut unknown_field = event("composite.json");
    unknown_field["watermark"] = true.into();
    assert!(
        invalid_message(unknown_field, &store)
            .await
            .contains("watermark")
    );

    let mut recursive = event("single.json");
    recursive["output"]["stream"] = "s-42_composited".into();
    assert!(
        invalid_message(recursive, &store)
            .await
            .contains("invalid stream name")
    );

    let mut both = event("chunk.json");
    both["request_uri"] = "s3://vidpipe-renders/requests/promo-42.json".into();
    assert!(
        invalid_message(both, &store)
            .await
            .contains("exactly one of `request` and `request_uri`")
    );

    let mut bad_request = event("chunk.json");
    bad_request["request"]["output"]["width"] = 1921.into();
    bad_request["request"]["scenes"][0]["duration_s"] = (-1.0).into();
    let message = invalid_message(bad_request, &store).await;
    assert!(
        message.contains("output.width") && message.contains("scenes[0].duration_s"),
        "{message}"
    );

    let mut outside = event("chunk.json");
    outside["chunk"]["end_frame"] = 99_999.into();
    assert!(
        invalid_message(outside, &store)
            .await
            .contains("ends after the video")
    );

    let mut no_probe = event("chunk.json");
    no_probe.as_object_mut().unwrap().remove("media");
    assert!(
        invalid_message(no_probe, &store)
            .await
            .contains("no media info for overlay image")
    );

    let mut overlap = event("composite.json");
    overlap["options"]["camera_offset_ms"] = 90_000.into();
    assert!(
        invalid_message(overlap, &store)
            .await
            .contains("no overlap")
    );

    assert!(
        invalid_message(event("chunk-request-uri.json"), &store)
            .await
            .contains("does not exist")
    );
}

#[tokio::test]
async fn an_unreadable_store_fails_with_request_unavailable() {
    let err = handle(
        LambdaEvent::new(event("chunk-request-uri.json"), Context::default()),
        &context(),
        &FakeStore::Broken,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type, "RequestUnavailable");
    assert!(err.error_message.contains("throttled"));
}

async fn s3_client() -> s3::Client {
    vidpipe_aws::s3::client(&MotoServer::shared().sdk_config().await, true)
}

#[tokio::test]
async fn requests_stored_in_s3_are_read_and_missing_ones_rejected() {
    let client = s3_client().await;
    let bucket = unique_name("job-builder");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let request = serde_json::to_vec(&event("chunk.json")["request"]).unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key("requests/promo-42.json")
        .body(request.into())
        .send()
        .await
        .unwrap();
    let store = S3RequestStore(client);

    let mut payload = event("chunk-request-uri.json");
    payload["request_uri"] = format!("s3://{bucket}/requests/promo-42.json").into();
    let output = build(payload.clone(), &context(), &store).await.unwrap();
    assert_eq!(
        output.create_job.user_metadata.as_ref().unwrap()["render_id"],
        "promo-42"
    );

    // The chunker's probe results stored beside the request (`media_uri`) give the same job as inline ones.
    let media = serde_json::to_vec(&payload["media"]).unwrap();
    store
        .0
        .put_object()
        .bucket(&bucket)
        .key("requests/media.json")
        .body(media.into())
        .send()
        .await
        .unwrap();
    let mut by_media_uri = payload.clone();
    by_media_uri["media"] = Value::Null;
    by_media_uri["media_uri"] = format!("s3://{bucket}/requests/media.json").into();
    let from_stored_media = build(by_media_uri.clone(), &context(), &store)
        .await
        .unwrap();
    assert_eq!(from_stored_media, output);
    by_media_uri["media_uri"] = format!("s3://{bucket}/requests/no-media.json").into();
    let message = invalid_message(by_media_uri, &store).await;
    assert!(
        message.contains("no-media.json does not exist"),
        "{message}"
    );

    payload["request_uri"] = format!("s3://{bucket}/requests/missing.json").into();
    let message = invalid_message(payload, &store).await;
    assert!(message.contains("missing.json does not exist"), "{message}");
}
