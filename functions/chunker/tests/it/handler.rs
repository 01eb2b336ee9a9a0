//! The chunker on its sample events, on bad input, storing and reading requests in a real (moto) S3, and probing
//! generated sources there with the engine backend (ffprobe).

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3 as s3;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_chunker::{INLINE_LIMIT_BYTES, ProbeBackend, RenderLimits, RenderPlan, handle, plan};
use vidpipe_core::job::{FrameRate, MediaInfo};
use vidpipe_core::render::ports::{
    FetchError, HeaderReader, PutError, RequestReader, RequestWriter, VideoProbeError, VideoProber,
};
use vidpipe_core::render::scope::RenderScope;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_engine::{Engine, Storage};
use vidpipe_testkit::media::{Picture, VideoSpec, write_mp4, write_png};
use vidpipe_testkit::{moto::MotoServer, unique_name};

/// An operator's scope: any bucket, and the custom renderers these tests name.
fn operator() -> RenderScope {
    RenderScope {
        renderer_arns: vec![
            "arn:aws:lambda:us-east-1:123456789012:function:renderer".into(),
            "arn:aws:lambda:us-east-1:123456789012:function:r".into(),
        ],
        ..RenderScope::default()
    }
}

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/chunker")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A store that holds no request, answers every header read with a 400x200 PNG's, and records what is stored.
#[derive(Default)]
struct MemoryStore(Mutex<Vec<(S3Uri, Vec<u8>)>>);

/// The first bytes of a 400x200 PNG.
fn png_header() -> Vec<u8> {
    let mut header = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    header.extend_from_slice(&400u32.to_be_bytes());
    header.extend_from_slice(&200u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    header
}

impl RequestReader for MemoryStore {
    async fn fetch(&self, uri: &S3Uri, _limit: u64) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::NotFound(uri.clone()))
    }
}

impl HeaderReader for MemoryStore {
    async fn fetch_header(&self, _uri: &S3Uri, len: u64) -> Result<Vec<u8>, FetchError> {
        let mut header = png_header();
        header.truncate(len as usize);
        Ok(header)
    }
}

impl RequestWriter for MemoryStore {
    async fn put(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        self.0.lock().unwrap().push((uri.clone(), json));
        Ok(())
    }
}

/// A prober that takes every video for 1280x720 at 24 fps, 200 s long (handler unit tests).
struct FixedProber;

fn fixed_video() -> MediaInfo {
    MediaInfo {
        width: 1280,
        height: 720,
        duration_ms: Some(200_000),
        frame_rate: Some(FrameRate::per_second(24)),
        has_audio: true,
        rotation: 0,
    }
}

impl VideoProber for FixedProber {
    async fn probe(&self, _uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        Ok(fixed_video())
    }
}

async fn rejected(payload: Value) -> (String, String) {
    let error = handle(
        LambdaEvent::new(payload, Context::default()),
        &MemoryStore::default(),
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap_err();
    (error.error_type, error.error_message)
}

#[tokio::test]
async fn the_inline_sample_plans_two_chunks_and_passes_the_request_inline() {
    let store = MemoryStore::default();
    let plan = plan(
        event("request.json"),
        &store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
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
             "output_uri": "s3://vidpipe-renders/renders/work/promo-42/chunks/00000.mp4"},
            {"index": 1, "start_frame": 1493, "end_frame": 2985,
             "output_uri": "s3://vidpipe-renders/renders/work/promo-42/chunks/00001.mp4"}
        ])
    );
    assert_eq!(json["soundtrack"]["music_volume"], 0.15);
    assert_eq!(
        json["soundtrack_uri"],
        "s3://vidpipe-renders/renders/work/promo-42/soundtrack.m4a"
    );
    assert_eq!(json["output"]["fps"], 30);
    assert_eq!(
        json["owner"],
        Value::Null,
        "a request from the console has no owner"
    );
    assert_eq!(json["media_uri"], Value::Null);
    assert_eq!(
        json["media"],
        json!({
            "s3://vidpipe-renders/assets/demo.mp4": serde_json::to_value(fixed_video()).unwrap(),
            "s3://vidpipe-renders/assets/product.png":
                {"width": 400, "height": 200, "duration_ms": 0, "has_audio": false, "rotation": 0}
        }),
        "the video and the overlay image are probed; the full-frame image and the soundtrack are not"
    );
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
            message.contains("exactly one of `request`, `request_uri` and `export`"),
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
    let plan = plan(
        payload,
        &store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
    assert_eq!(
        plan.request_uri.as_deref(),
        Some("s3://vidpipe-renders/renders/work/promo-42/request.json")
    );
    assert!(plan.request.is_none());
    assert!(plan.media.is_none());
    assert_eq!(
        plan.media_uri.as_deref(),
        Some("s3://vidpipe-renders/renders/work/promo-42/media.json")
    );
    let stored = store.0.lock().unwrap();
    let names: Vec<String> = stored.iter().map(|(uri, _)| uri.to_string()).collect();
    assert_eq!(
        names,
        [
            "s3://vidpipe-renders/renders/work/promo-42/request.json",
            "s3://vidpipe-renders/renders/work/promo-42/media.json"
        ]
    );
    let media: Value = serde_json::from_slice(&stored[1].1).unwrap();
    assert_eq!(
        media["s3://vidpipe-renders/assets/product.png"]["width"],
        400
    );
}

async fn moto_store() -> (S3RequestStore, String) {
    let config = MotoServer::shared().sdk_config().await;
    let client = vidpipe_aws::s3::client(&config, true);
    let bucket = unique_name("chunker");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    (S3RequestStore(client), bucket)
}

async fn put(client: &s3::Client, bucket: &str, key: &str, bytes: Vec<u8>) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.into())
        .send()
        .await
        .unwrap();
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
    let plan = plan(
        json!({"request": request}),
        &store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
    let uri = format!("s3://{bucket}/renders/work/big-1/request.json");
    assert_eq!(plan.request_uri.as_deref(), Some(uri.as_str()));
    assert!(plan.request.is_none());
    assert!(serde_json::to_vec(&plan).unwrap().len() < INLINE_LIMIT_BYTES);
    // 2,000 s in chunks of at most 120 s (and 150 scenes): 17 chunks.
    assert_eq!(plan.total_frames, 50_000);
    assert_eq!(plan.chunks.len(), 17);

    // The stored request is the request, and planning it again by URI gives the same plan.
    let stored: Value =
        serde_json::from_slice(&object(&store.0, &bucket, "renders/work/big-1/request.json").await)
            .unwrap();
    assert_eq!(stored["scenes"][1999]["id"], "scene-01999");
    let again: RenderPlan = plan_by_uri(&store, &uri).await;
    assert_eq!(again, plan);
}

async fn plan_by_uri(store: &S3RequestStore, uri: &str) -> RenderPlan {
    plan(
        json!({"request_uri": uri}),
        store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_request_uri_sample_is_read_from_s3_and_a_missing_object_is_named() {
    let (store, bucket) = moto_store().await;
    let request = event("request.json")["request"]
        .to_string()
        .replace("vidpipe-renders", &bucket);
    put(&store.0, &bucket, "assets/product.png", png_header()).await;
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
    let plan = plan(
        payload.clone(),
        &store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
    assert_eq!(plan.request_uri.as_deref(), Some(uri.as_str()));
    assert!(
        plan.request.is_none(),
        "the request travels by the URI it came from"
    );
    assert_eq!(plan.chunks.len(), 2);

    payload["request_uri"] = json!(format!("s3://{bucket}/requests/missing.json"));
    let error = handle(
        LambdaEvent::new(payload, Context::default()),
        &store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
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
    let plan = plan(
        json!({"request": request}),
        &store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
    assert_eq!(plan.chunks.len(), 900);
    assert!(plan.request.is_none());
    assert_eq!(
        plan.request_uri,
        Some(format!("s3://{bucket}/renders/work/big-1/request.json"))
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

/// A prober counting the probes it passes on.
struct CountingProber(ProbeBackend, AtomicUsize);

impl VideoProber for CountingProber {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.probe(uri).await
    }
}

/// Runs the handler on `request`, which it must refuse with the error a state machine does not retry; returns
/// the message.
async fn not_retried(
    request: Value,
    store: &(impl RequestReader + RequestWriter + HeaderReader),
    prober: &impl VideoProber,
) -> String {
    let error = handle(
        LambdaEvent::new(json!({"request": request}), Context::default()),
        store,
        prober,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type, "InvalidRenderRequest");
    error.error_message
}

#[tokio::test]
async fn the_engine_backend_probes_a_generated_video_and_png_once_each() {
    let (store, bucket) = moto_store().await;
    let work = tempfile::tempdir().unwrap();
    let (video, image) = (work.path().join("clip.mp4"), work.path().join("logo.png"));
    write_mp4(
        &video,
        &VideoSpec::new(Picture::FrameCounter, 160, 96, 25, 2.0),
    );
    write_png(&image, "red", 48, 30);
    put(
        &store.0,
        &bucket,
        "assets/clip.mp4",
        std::fs::read(&video).unwrap(),
    )
    .await;
    put(
        &store.0,
        &bucket,
        "assets/logo.png",
        std::fs::read(&image).unwrap(),
    )
    .await;
    let (clip, logo) = (
        format!("s3://{bucket}/assets/clip.mp4"),
        format!("s3://{bucket}/assets/logo.png"),
    );
    let overlay = json!({"image": logo, "x": "right", "y": "bottom", "scale": 0.3});
    let request = json!({
        "render_id": "probed",
        "output": {"uri": format!("s3://{bucket}/renders/probed.mp4"), "width": 320, "height": 180, "fps": 30},
        "scenes": [
            {"id": "a", "duration_s": 1.0, "video": clip, "overlay": overlay},
            {"id": "b", "duration_s": 0.5, "video": clip, "start_s": 1.0, "overlay": overlay}
        ]
    });
    let prober = CountingProber(
        ProbeBackend::Engine(Engine::new(Storage::with_s3(store.0.clone()))),
        AtomicUsize::new(0),
    );
    let plan = plan(
        json!({"request": request.clone()}),
        &store,
        &prober,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
    assert_eq!(
        prober.1.load(Ordering::SeqCst),
        1,
        "one probe for two scenes of one video"
    );
    let media = plan.media.unwrap();
    assert_eq!(media.len(), 2, "{media:?}");
    let probed = &media[&clip];
    assert_eq!((probed.width, probed.height), (160, 96));
    assert_eq!(probed.frame_rate, Some(FrameRate::per_second(25)));
    assert_eq!(probed.duration_ms, Some(2000));
    assert!(!probed.has_audio);
    assert_eq!(
        media[&logo],
        MediaInfo {
            width: 48,
            height: 30,
            duration_ms: Some(0),
            frame_rate: None,
            has_audio: false,
            rotation: 0
        }
    );

    // A missing source is named, under the error a state machine does not retry.
    for (missing, pointer) in [
        ("assets/gone.mp4", "/scenes/1/video"),
        ("assets/gone.png", "/scenes/1/overlay/image"),
    ] {
        let mut bad = request.clone();
        *bad.pointer_mut(pointer).unwrap() = json!(format!("s3://{bucket}/{missing}"));
        let message = not_retried(bad, &store, &prober).await;
        assert!(
            message.contains(missing) && message.contains("scene \"b\""),
            "{message}"
        );
    }

    // The 2 s video holds a scene up to its last frame, and not one frame (at 30 fps) past it: the plan names the
    // scene rather than a chunk job failing later.
    let mut fits = request.clone();
    fits["scenes"][1]["duration_s"] = json!(1.0);
    vidpipe_chunker::plan(
        json!({"request": fits.clone()}),
        &store,
        &prober,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
    for (start_s, duration_s) in [(1.0, 1.0 + 1.0 / 30.0), (30.0, 0.5)] {
        let mut short = fits.clone();
        short["scenes"][1]["start_s"] = json!(start_s);
        short["scenes"][1]["duration_s"] = json!(duration_s);
        let message = not_retried(short, &store, &prober).await;
        assert!(
            message.contains("scenes[1] (\"b\")") && message.contains("the video has 50 frames"),
            "{message}"
        );
    }
}

/// A store whose S3 is down, and a probe service that is down.
struct Outage;

impl RequestReader for Outage {
    async fn fetch(&self, uri: &S3Uri, _limit: u64) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Unavailable {
            uri: uri.clone(),
            source: "throttled".into(),
        })
    }
}

impl HeaderReader for Outage {
    async fn fetch_header(&self, uri: &S3Uri, _len: u64) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Unavailable {
            uri: uri.clone(),
            source: "throttled".into(),
        })
    }
}

impl RequestWriter for Outage {
    async fn put(&self, uri: &S3Uri, _json: Vec<u8>) -> Result<(), PutError> {
        Err(PutError {
            uri: uri.clone(),
            source: "throttled".into(),
        })
    }
}

impl VideoProber for Outage {
    async fn probe(&self, _uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        Err(VideoProbeError::Unavailable("service unavailable".into()))
    }
}

#[tokio::test]
async fn service_failures_are_worth_a_retry() {
    let unavailable = |error: lambda_runtime::Diagnostic| {
        assert_eq!(
            error.error_type, "RequestUnavailable",
            "{}",
            error.error_message
        );
        error.error_message
    };
    let call = |payload: Value| LambdaEvent::new(payload, Context::default());

    // Reading the request by URI, and reading the overlay image's header.
    let message = unavailable(
        handle(
            call(event("request-uri.json")),
            &Outage,
            &FixedProber,
            &RenderLimits::default(),
            &operator(),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        message.contains("promo-42.json") && message.contains("throttled"),
        "{message}"
    );
    let message = unavailable(
        handle(
            call(event("request.json")),
            &Outage,
            &FixedProber,
            &RenderLimits::default(),
            &operator(),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        message.contains("product.png") && message.contains("throttled"),
        "{message}"
    );

    // Probing the video.
    let message = unavailable(
        handle(
            call(event("request.json")),
            &MemoryStore::default(),
            &Outage,
            &RenderLimits::default(),
            &operator(),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        message.contains("probing s3://vidpipe-renders/assets/demo.mp4 failed"),
        "{message}"
    );

    // Storing the request for a custom renderer.
    let mut payload = event("request.json");
    payload["request"]["renderer"] =
        json!({"lambda": "arn:aws:lambda:us-east-1:123456789012:function:r"});
    payload["request"]["scenes"][1]["overlay"] = Value::Null;
    let message = unavailable(
        handle(
            call(payload),
            &WriteOutage,
            &FixedProber,
            &RenderLimits::default(),
            &operator(),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        message.starts_with(
            "storing s3://vidpipe-renders/renders/work/promo-42/request.json failed: throttled"
        ),
        "{message}"
    );
}

/// An S3 that holds nothing and cannot write.
struct WriteOutage;

impl RequestReader for WriteOutage {
    async fn fetch(&self, uri: &S3Uri, _limit: u64) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::NotFound(uri.clone()))
    }
}

impl HeaderReader for WriteOutage {
    async fn fetch_header(&self, uri: &S3Uri, _len: u64) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::NotFound(uri.clone()))
    }
}

impl RequestWriter for WriteOutage {
    async fn put(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        Outage.put(uri, json).await
    }
}

/// Probes nothing: a test that a refusal came before any source was probed.
struct NoProbe;

impl VideoProber for NoProbe {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        panic!("{uri} was probed before the render was refused")
    }
}

#[tokio::test]
async fn a_render_the_assemblers_tmp_cannot_hold_is_refused_at_planning() {
    let store = MemoryStore::default();
    let limits = RenderLimits {
        assembler_disk_bytes: 64 * 1024 * 1024,
        ..RenderLimits::default()
    };
    let error = handle(
        LambdaEvent::new(event("request.json"), Context::default()),
        &store,
        &NoProbe,
        &limits,
        &operator(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type, "InvalidRenderRequest");
    assert!(
        error.error_message.contains("assembler's /tmp"),
        "{}",
        error.error_message
    );
    assert!(store.0.lock().unwrap().is_empty(), "nothing written");
    // The default (the template's 10 GiB) holds the sample.
    plan(
        event("request.json"),
        &store,
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_source_over_the_limits_is_refused_before_any_chunk_is_rendered() {
    let store = MemoryStore::default();
    let mut limits = RenderLimits::default();
    limits.sources.max_fps = 20;
    let error = handle(
        LambdaEvent::new(event("request.json"), Context::default()),
        &store,
        &FixedProber,
        &limits,
        &operator(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type, "InvalidRenderRequest");
    assert!(
        error.error_message.contains("over the 20 fps limit"),
        "{}",
        error.error_message
    );
    assert!(store.0.lock().unwrap().is_empty(), "nothing written");
}

#[tokio::test]
async fn a_call_exports_tile_videos_are_probed_and_its_placed_sounds_travel_with_the_request() {
    let plan = plan(
        event("export-request.json"),
        &MemoryStore::default(),
        &FixedProber,
        &RenderLimits::default(),
        &operator(),
    )
    .await
    .unwrap();
    let json = serde_json::to_value(&plan).unwrap();
    let tracks = "s3://vidpipe-renders/rooms/room-456/rec-123/tracks";
    let probed: Vec<&String> = json["media"].as_object().unwrap().keys().collect();
    assert_eq!(
        probed,
        [
            &format!("{tracks}/peer-1/av/t-1.webm"),
            &format!("{tracks}/peer-1/screenshare/t-3.webm"),
            &format!("{tracks}/peer-2/av/t-2.webm"),
        ],
        "every tile's video is probed once (its frame rate clips it)"
    );
    assert_eq!(json["total_frames"], 255);
    assert_eq!(json["chunks"].as_array().unwrap().len(), 3);
    assert_eq!(json["request"]["sounds"][1]["duration_s"], 8.5);
}
