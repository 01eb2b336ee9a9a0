//! The presign handler in-process: requests per second, and p50/p99 latency, for a single-PUT upload request.
//!
//! S3 presigning is the real SDK code (SigV4, no network); the existence check and the table are in memory, so the
//! figures are the handler's own cost. Run: `cargo bench -p vidpipe-presign --bench presign`.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use vidpipe_aws::recordings::{Page, StoreError};
use vidpipe_aws::s3::{PresignedHttp, PutSpec, S3Error, S3Objects, StoredPart};
use vidpipe_aws::streams::StreamRecord;
use vidpipe_core::recording::{Recording, RecordingStatus};
use vidpipe_presign::App;
use vidpipe_presign::config::Config;
use vidpipe_presign::ports::{Objects, Recordings, Streams};

/// Real presigning; no object exists; multipart is not exercised.
struct SigningOnly(S3Objects);

impl Objects for SigningOnly {
    async fn exists(&self, _key: &str) -> Result<bool, S3Error> {
        Ok(false)
    }
    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<PresignedHttp, S3Error> {
        self.0.presign_put(spec).await
    }
    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<PresignedHttp, S3Error> {
        self.0.presign_get(key, ttl).await
    }
    async fn create_multipart(
        &self,
        _: &str,
        _: &str,
        _: &[(&str, String)],
    ) -> Result<String, S3Error> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn presign_part(
        &self,
        _: &str,
        _: &str,
        _: u32,
        _: u64,
        _: Duration,
    ) -> Result<PresignedHttp, S3Error> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn list_parts(&self, _: &str, _: &str) -> Result<Vec<StoredPart>, S3Error> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn complete_multipart(
        &self,
        _: &str,
        _: &str,
        _: &[(u32, String)],
    ) -> Result<(), S3Error> {
        unreachable!("the benchmark signs single PUTs")
    }
    async fn abort_multipart(&self, _: &str, _: &str) -> Result<(), S3Error> {
        unreachable!("the benchmark signs single PUTs")
    }
}

/// Accepts every write, keeps nothing.
struct DiscardingTable;

impl Recordings for DiscardingTable {
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
    ) -> Result<Page, StoreError> {
        Ok(Page {
            items: vec![],
            next_cursor: None,
        })
    }
}

impl Streams for DiscardingTable {
    async fn get_stream(&self, _stream: &str) -> Result<Option<StreamRecord>, StoreError> {
        Ok(None)
    }
    async fn claim_stream(&self, _: &str, _: &str, _: u64) -> Result<(), StoreError> {
        Ok(())
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
    let config = Config::from_env(|k| (k == "KEY_PREFIX").then(|| "videos/".to_owned())).unwrap();
    let app = App {
        config,
        objects: SigningOnly(S3Objects::new(
            vidpipe_aws::s3::client(&sdk, false),
            "bench-bucket",
        )),
        recordings: DiscardingTable,
        streams: DiscardingTable,
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
    group.finish();

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
