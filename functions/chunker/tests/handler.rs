//! The chunker on its sample events, on bad input, and storing and reading requests in a real (moto) S3.

use std::path::PathBuf;
use std::sync::Mutex;

use aws_sdk_s3 as s3;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use vidpipe_aws::objects::ObjectError;
use vidpipe_chunker::{INLINE_LIMIT_BYTES, RenderPlan, RequestStore, S3RequestStore, handle, plan};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_testkit::{moto::MotoServer, unique_name};

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/chunker")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A store that holds nothing and records what is stored.
#[derive(Default)]
struct MemoryStore(Mutex<Vec<(S3Uri, Vec<u8>)>>);

impl RequestStore for MemoryStore {
    async fn fetch(&self, uri: &S3Uri, _limit: u64) -> Result<Vec<u8>, ObjectError> {
        Err(ObjectError::NotFound(uri.clone()))
    }
    async fn store(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), String> {
        self.0.lock().unwrap().push((uri.clone(), json));
        Ok(())
    }
}

async fn rejected(payload: Value) -> (String, String) {
    let error = handle(
        LambdaEvent::new(payload, Context::default()),
        &MemoryStore::default(),
    )
    .await
    .unwrap_err();
    (error.error_type, error.error_message)
}

#[tokio::test]
async fn the_inline_sample_plans_two_chunks_and_passes_the_request_inline() {
    let store = MemoryStore::default();
    let plan = plan(event("request.json"), &store).await.unwrap();
    assert!(
        store.0.lock().unwrap().is_empty(),
        "a small request is not stored"
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["render_id"], "promo-42");
    assert_eq!(json["request_uri"], Value::Null);
    assert_eq!(json["request"]["scenes"][1]["id"], "demo");
    assert_eq!(json["total_frames"], 2985);
    assert_eq!(json["max_concurrency"], 10);
    assert_eq!(json["renderer"], "mediaconvert");
    assert_eq!(
        json["chunks"],
        json!([
            {"index": 0, "start_frame": 0, "end_frame": 1493,
             "output_uri": "s3://vidpipe-renders/renders/promo-42/chunks/00000.mp4"},
            {"index": 1, "start_frame": 1493, "end_frame": 2985,
             "output_uri": "s3://vidpipe-renders/renders/promo-42/chunks/00001.mp4"}
        ])
    );
    assert_eq!(json["soundtrack"]["music_volume"], 0.15);
    assert_eq!(
        json["soundtrack_uri"],
        "s3://vidpipe-renders/renders/promo-42/soundtrack.m4a"
    );
    assert_eq!(json["output"]["fps"], 30);
}

#[tokio::test]
async fn invalid_requests_name_every_problem_under_a_catchable_error() {
    let mut payload = event("request.json");
    payload["request"]["output"]["width"] = json!(1921);
    payload["request"]["scenes"][0]["duration_s"] = json!(0);
    payload["request"]["scenes"][1]["video"] = json!("s3://vidpipe-renders/assets/demo.gif");
    let (error, message) = rejected(payload).await;
    assert_eq!(error, "InvalidRenderRequest");
    for expected in ["output.width", "scenes[0].duration_s", "scenes[1].video"] {
        assert!(
            message.contains(expected),
            "{expected} missing from {message}"
        );
    }

    let mut payload = event("request.json");
    payload["request"]["colour"] = json!("blue");
    let (error, message) = rejected(payload).await;
    assert_eq!(error, "InvalidRenderRequest");
    assert!(message.contains("unknown field `colour`"), "{message}");

    let mut payload = event("request.json");
    payload["request"]["chunking"]["min_chunk_s"] = json!(40);
    let (_, message) = rejected(payload).await;
    assert!(message.contains("chunking.min_chunk_s"), "{message}");

    for payload in [
        json!({}),
        json!({"request": {}, "request_uri": "s3://vidpipe-renders/r.json"}),
    ] {
        let (error, message) = rejected(payload).await;
        assert_eq!(error, "InvalidRenderRequest");
        assert!(
            message.contains("exactly one of `request` and `request_uri`"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_custom_renderer_gets_the_request_by_uri() {
    let store = MemoryStore::default();
    let mut payload = event("request.json");
    payload["request"]["renderer"] =
        json!({"lambda": "arn:aws:lambda:us-east-1:123456789012:function:renderer"});
    let plan = plan(payload, &store).await.unwrap();
    assert_eq!(
        plan.request_uri.as_deref(),
        Some("s3://vidpipe-renders/renders/promo-42/request.json")
    );
    assert!(plan.request.is_none());
    let stored = store.0.lock().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].0.to_string(),
        "s3://vidpipe-renders/renders/promo-42/request.json"
    );
}

async fn moto_store() -> (S3RequestStore, String) {
    let config = MotoServer::shared().sdk_config().await;
    let client = vidpipe_aws::s3::client(&config, true);
    let bucket = unique_name("chunker");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    (S3RequestStore(client), bucket)
}

async fn object(client: &s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let output = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    output.body.collect().await.unwrap().into_bytes().to_vec()
}

/// A request over the inline limit: 2,000 one-second image scenes with long keys.
fn large_request(bucket: &str) -> Value {
    let scenes: Vec<Value> = (0..2_000)
        .map(|i| {
            json!({"id": format!("scene-{i:05}"), "duration_s": 1.0,
                   "image": format!("s3://{bucket}/assets/a-rather-long-folder-name/for-every-still/image-{i:05}.png")})
        })
        .collect();
    json!({
        "render_id": "big-1",
        "output": {"uri": format!("s3://{bucket}/renders/big-1.mp4"), "width": 1280, "height": 720, "fps": 25},
        "scenes": scenes
    })
}

#[tokio::test]
async fn a_large_request_is_stored_in_s3_and_passed_by_uri() {
    let (store, bucket) = moto_store().await;
    let request = large_request(&bucket);
    assert!(request.to_string().len() > INLINE_LIMIT_BYTES);
    let plan = plan(json!({"request": request}), &store).await.unwrap();
    let uri = format!("s3://{bucket}/renders/big-1/request.json");
    assert_eq!(plan.request_uri.as_deref(), Some(uri.as_str()));
    assert!(plan.request.is_none());
    assert!(serde_json::to_vec(&plan).unwrap().len() < INLINE_LIMIT_BYTES);
    // 2,000 s in chunks of at most 120 s (and 150 scenes): 17 chunks.
    assert_eq!(plan.total_frames, 50_000);
    assert_eq!(plan.chunks.len(), 17);

    // The stored request is the request, and planning it again by URI gives the same plan.
    let stored: Value =
        serde_json::from_slice(&object(&store.0, &bucket, "renders/big-1/request.json").await)
            .unwrap();
    assert_eq!(stored["scenes"][1999]["id"], "scene-01999");
    let again: RenderPlan = plan_by_uri(&store, &uri).await;
    assert_eq!(again, plan);
}

async fn plan_by_uri(store: &S3RequestStore, uri: &str) -> RenderPlan {
    plan(json!({"request_uri": uri}), store).await.unwrap()
}

#[tokio::test]
async fn the_request_uri_sample_is_read_from_s3_and_a_missing_object_is_named() {
    let (store, bucket) = moto_store().await;
    let request = event("request.json")["request"].to_string();
    store
        .0
        .put_object()
        .bucket(&bucket)
        .key("requests/promo-42.json")
        .body(request.into_bytes().into())
        .send()
        .await
        .unwrap();
    let mut payload = event("request-uri.json");
    let uri = payload["request_uri"]
        .as_str()
        .unwrap()
        .replace("vidpipe-renders", &bucket);
    payload["request_uri"] = json!(uri);
    let plan = plan(payload.clone(), &store).await.unwrap();
    assert_eq!(plan.request_uri.as_deref(), Some(uri.as_str()));
    assert!(
        plan.request.is_none(),
        "the request travels by the URI it came from"
    );
    assert_eq!(plan.chunks.len(), 2);

    payload["request_uri"] = json!(format!("s3://{bucket}/requests/missing.json"));
    let error = handle(LambdaEvent::new(payload, Context::default()), &store)
        .await
        .unwrap_err();
    assert_eq!(error.error_type, "InvalidRenderRequest");
    assert!(
        error.error_message.contains("missing.json does not exist"),
        "{}",
        error.error_message
    );
}

#[tokio::test]
async fn a_request_whose_plan_would_be_too_large_inline_is_passed_by_uri() {
    // 900 one-second scenes (about 110 KB of request) in one-second chunks: 900 chunks make the plan with the
    // request inline larger than 200 KB, though the request alone is not.
    let (store, bucket) = moto_store().await;
    let mut request = large_request(&bucket);
    request["scenes"] = json!(request["scenes"].as_array().unwrap()[..900]);
    request["chunking"] = json!({"max_chunk_s": 1, "min_chunk_s": 0.5});
    assert!(request.to_string().len() < INLINE_LIMIT_BYTES);
    let plan = plan(json!({"request": request}), &store).await.unwrap();
    assert_eq!(plan.chunks.len(), 900);
    assert!(plan.request.is_none());
    assert_eq!(
        plan.request_uri,
        Some(format!("s3://{bucket}/renders/big-1/request.json"))
    );
    assert!(serde_json::to_vec(&plan).unwrap().len() <= INLINE_LIMIT_BYTES);
}

#[tokio::test]
async fn a_plan_too_large_even_without_the_request_is_refused_by_name() {
    // A 900-character output key in 249 chunks: the chunks' URIs alone pass 200 KB.
    let mut payload = event("request.json");
    let key = format!("renders/{}/promo-42.mp4", "k".repeat(900));
    payload["request"]["output"]["uri"] = json!(format!("s3://vidpipe-renders/{key}"));
    payload["request"]["chunking"] = json!({"max_chunk_s": 0.4, "min_chunk_s": 0.2});
    payload["request"]["scenes"][1]["overlay"] = Value::Null;
    let (error, message) = rejected(payload).await;
    assert_eq!(error, "InvalidRenderRequest");
    assert!(message.contains("the plan of 249 chunks is"), "{message}");
    assert!(
        message.contains("use a shorter output key or longer chunks"),
        "{message}"
    );
}
