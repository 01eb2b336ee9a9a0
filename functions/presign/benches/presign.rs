//! The presign handler in-process: requests per second, and p50/p99 latency, for a single-PUT upload request.
//!
//! S3 presigning is the real SDK code (SigV4, no network); the existence check and the table are in memory, so the
//! figures are the handler's own cost. Run: `cargo bench -p vidpipe-presign --bench presign`.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use vidpipe_aws::s3::S3Objects;
use vidpipe_core::capability::CapabilityDigest;
use vidpipe_core::jobevent::StreamUpdate;
use vidpipe_core::ports::{
    ClaimIf, JobEventOutcome, ObjectHead, ObjectStore, ObjectStoreError, OwnerClaim,
    PresignedRequest, PutSpec, RecordingPage, RecordingStore, StoreError, StoredPart,
    StreamStatusStore,
};
use vidpipe_core::recording::{Recording, RecordingStatus};
use vidpipe_core::stream_status::StreamRecord;
use vidpipe_presign::App;
use vidpipe_presign::config::Config;
use vidpipe_presign::playback::PlaybackBackends;
use vidpipe_presign::renders::RenderBackends;
use vidpipe_presign::signing::PlaybackSigning;
use vidpipe_testkit::fakes::{
    InMemoryPlaybacks, InMemoryRenderFiles, InMemoryRenders, RecordingCanceller,
    RecordingExecutions,
};

/// Real presigning; no object exists; multipart is not exercised.
struct SigningOnly(S3Objects);

impl ObjectStore for SigningOnly {
    async fn exists(&self, _key: &str) -> Result<bool, ObjectStoreError> {
        Ok(false)
    }
    async fn head(&self, _key: &str) -> Result<Option<ObjectHead>, ObjectStoreError> {
        Ok(None)
    }
    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<PresignedRequest, ObjectStoreError> {
        self.0.presign_put(spec).await
    }
    async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<PresignedRequest, ObjectStoreError> {
        self.0.presign_get(key, ttl).await
    }
    async fn create_multipart(
        &self,
        _: &str,
        _: &str,
        _: &[(&str, String)],
    ) -> Result<String, ObjectStoreError> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn presign_part(
        &self,
        _: &str,
        _: &str,
        _: u32,
        _: u64,
        _: Duration,
    ) -> Result<PresignedRequest, ObjectStoreError> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn list_parts(&self, _: &str, _: &str) -> Result<Vec<StoredPart>, ObjectStoreError> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn complete_multipart(
        &self,
        _: &str,
        _: &str,
        _: &[(u32, String)],
    ) -> Result<(), ObjectStoreError> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn abort_multipart(&self, _: &str, _: &str) -> Result<(), ObjectStoreError> {
        unreachable!("the benchmark signs single PUTs")
    }
}

/// Accepts every write, keeps nothing.
struct DiscardingTable;

impl RecordingStore for DiscardingTable {
    async fn put_new(&self, _r: &Recording) -> Result<(), StoreError> {
        Ok(())
    }
    async fn get(&self, _id: &str) -> Result<Option<Recording>, StoreError> {
        Ok(None)
    }
    async fn set_status(
        &self,
        _: &str,
        _: RecordingStatus,
        _: RecordingStatus,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn list_by_owner(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
        _: usize,
    ) -> Result<RecordingPage, StoreError> {
        Ok(RecordingPage {
            items: vec![],
            next_cursor: None,
        })
    }
    async fn mark_uploaded(&self, _: &str, _: u64, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn delete(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

impl StreamStatusStore for DiscardingTable {
    async fn get_status(&self, _stream: &str) -> Result<Option<StreamRecord>, StoreError> {
        Ok(None)
    }
    async fn claim_owner(
        &self,
        _: &str,
        _: &str,
        _: Option<&CapabilityDigest>,
        _: u64,
        _: ClaimIf,
    ) -> Result<OwnerClaim, StoreError> {
        Ok(OwnerClaim::Claimed)
    }
    async fn release_owner(&self, _: &str, _: &CapabilityDigest) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn apply_job_event(
        &self,
        _: &str,
        _: u64,
        _: &StreamUpdate,
        _: &str,
        _: u64,
    ) -> Result<JobEventOutcome, StoreError> {
        Ok(JobEventOutcome::UnknownStream)
    }
}

fn request() -> lambda_http::Request {
    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/presign/post-uploads-camera.json"
    ))
    .expect("fixture");
    lambda_http::request::from_str(&event).expect("event")
}

/// `POST /renders` with the sample request and no `render_id`, so every request is a new render (a UUID).
fn render_request() -> lambda_http::Request {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/presign/post-renders.json"
    ))
    .expect("fixture");
    let mut event: serde_json::Value = serde_json::from_str(&text).expect("event");
    let mut body: serde_json::Value =
        serde_json::from_str(event["body"].as_str().expect("body")).expect("request");
    body.as_object_mut().expect("object").remove("render_id");
    event["body"] = serde_json::Value::String(body.to_string());
    lambda_http::request::from_str(&event.to_string()).expect("event")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sdk = runtime.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "bench-secret",
                None,
                None,
                "bench",
            ))
            .load(),
    );
    let config = Config::from_env(vidpipe_testkit::config::vars(&[
        // The sample render request's sources are assets in this bucket (events/local.env's).
        ("BUCKET", "vidpipe-local"),
        ("TABLE_NAME", "bench-table"),
        ("KEY_PREFIX", "videos/"),
        (
            "PLAYBACK_SIGNING_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
        (
            "RENDER_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:bench-render",
        ),
    ]))
    .unwrap();
    let app = App {
        signing: PlaybackSigning::from_values(&config).unwrap(),
        config,
        objects: SigningOnly(S3Objects::new(
            vidpipe_aws::s3::client(&sdk, false),
            "vidpipe-local",
        )),
        recordings: DiscardingTable,
        streams: DiscardingTable,
        renders: RenderBackends::<
            InMemoryRenders,
            RecordingExecutions,
            InMemoryRenderFiles,
            RecordingCanceller,
        >::default(),
        playback: PlaybackBackends::<InMemoryPlaybacks, InMemoryRenderFiles>::default(),
        calls: vidpipe_testkit::fakes::InMemoryCalls::default(),
    };

    let mut group = c.benchmark_group("presign");
    group.throughput(Throughput::Elements(1));
    group.bench_function("POST /uploads (camera, single PUT)", |b| {
        b.iter_batched(
            request,
            |r| runtime.block_on(app.handle(r)),
            criterion::BatchSize::SmallInput,
        )
    });
    // Validation, the render item, request.json and StartExecution, on in-memory ports: the handler's own cost.
    group.bench_function("POST /renders (validation + store + start)", |b| {
        b.iter_batched(
            render_request,
            |r| runtime.block_on(app.handle(r)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
    assert_eq!(
        runtime.block_on(app.handle(render_request())).status(),
        202,
        "the benchmarked render request is accepted"
    );

    // Latency distribution, which criterion does not report: 20,000 requests one after another.
    let mut latencies: Vec<Duration> = (0..20_000)
        .map(|_| {
            let r = request();
            let start = Instant::now();
            let response = runtime.block_on(app.handle(r));
            let elapsed = start.elapsed();
            assert_eq!(response.status(), 201);
            elapsed
        })
        .collect();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    let total: Duration = latencies.iter().sum();
    println!(
        "presign latency over {} requests: p50 {:?}, p99 {:?}, max {:?}; {:.0} requests/s on one thread",
        latencies.len(),
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1],
        latencies.len() as f64 / total.as_secs_f64()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
