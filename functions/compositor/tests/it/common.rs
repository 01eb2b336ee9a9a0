//! Test support: the compositor on moto's DynamoDB and S3 (real stores), with a counting transcoder, a recording
//! publisher and a recording timer standing in for MediaConvert, EventBridge and Step Functions.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use vidpipe_aws::dynamo::{DynamoCalls, DynamoPlaybacks, DynamoRecordings, DynamoStreams};
use vidpipe_aws::s3::S3Objects;
use vidpipe_compositor::Compositor;
use vidpipe_compositor::config::Config;
use vidpipe_core::job::{CreateJobRequest, FrameRate, MediaInfo};
use vidpipe_core::jobevent::is_stream_job;
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::pairing::StreamState;
use vidpipe_core::ports::{
    CancelOutcome, PartnerTimer, StreamStore, TimerError, TranscodeError, Transcoder,
};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_testkit::config::vars;
use vidpipe_testkit::fakes::RecordingPublisher;
use vidpipe_testkit::moto::{MotoServer, sdk_config_at};
use vidpipe_testkit::unique_name;

/// Something that happens while a job is being submitted.
pub type Meanwhile = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The compositor with the real stores on moto and the fakes below.
pub type TestCompositor = Compositor<
    DynamoStreams,
    DynamoRecordings,
    S3Objects,
    CountingTranscoder,
    RecordingPublisher,
    RecordingTimer,
    DynamoPlaybacks,
    DynamoCalls,
>;

pub const PREFIX: &str = "videos/";

/// Counts the jobs it is asked to create (one per distinct `ClientRequestToken`, as MediaConvert dedupes them), and
/// the `CreateJob` calls themselves.
#[derive(Default)]
pub struct CountingTranscoder {
    pub jobs: Mutex<Vec<CreateJobRequest>>,
    pub create_calls: AtomicUsize,
    tokens: Mutex<HashMap<String, String>>,
    pub cancelled: Mutex<Vec<String>>,
    pub finished: Mutex<HashSet<String>>,
    /// Keys whose probe says the file is not usable.
    pub unusable: Mutex<HashSet<String>>,
    /// Probes that fail as if the service were unavailable, before they succeed again.
    pub unavailable_probes: AtomicUsize,
    /// Runs once, inside the next `create_job`: something that happens while a job is being submitted.
    pub during_next_create: Mutex<Option<Meanwhile>>,
    /// Runs once, inside the next `create_job` after the job exists: a handler that stops there (a never-ending
    /// future, its task aborted) crashed after `CreateJob` and before recording the job.
    pub after_next_create: Mutex<Option<Meanwhile>>,
}

impl CountingTranscoder {
    /// MediaConvert keeps a `ClientRequestToken` for about a minute: after that, the same token makes a new job.
    pub fn forget_tokens(&self) {
        self.tokens.lock().unwrap().clear();
    }

    pub fn jobs(&self) -> Vec<CreateJobRequest> {
        self.jobs.lock().unwrap().clone()
    }

    /// The jobs submitted for `stream`.
    pub fn jobs_for(&self, stream: &str) -> Vec<CreateJobRequest> {
        self.jobs()
            .into_iter()
            .filter(|j| j.user_metadata.as_ref().unwrap()["stream"] == stream)
            .collect()
    }
}

pub fn media(width: u32, height: u32) -> MediaInfo {
    MediaInfo {
        width,
        height,
        duration_ms: Some(10_000),
        frame_rate: Some(FrameRate::per_second(30)),
        has_audio: true,
        rotation: 0,
    }
}

impl Transcoder for CountingTranscoder {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, TranscodeError> {
        let failing =
            self.unavailable_probes
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(TranscodeError::Unavailable(
                "TooManyRequestsException".into(),
            ));
        }
        if self.unusable.lock().unwrap().contains(uri.key()) {
            return Err(TranscodeError::Unusable(
                format!("{uri}: no video track").into(),
            ));
        }
        Ok(if uri.key().ends_with("_camera.webm") {
            media(640, 360)
        } else {
            media(1280, 720)
        })
    }

    async fn create_job(&self, job: &CreateJobRequest) -> Result<String, TranscodeError> {
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        let meanwhile = self.during_next_create.lock().unwrap().take();
        if let Some(meanwhile) = meanwhile {
            meanwhile.await;
        }
        let token = job
            .client_request_token
            .clone()
            .expect("a deterministic token");
        let id = {
            let mut tokens = self.tokens.lock().unwrap();
            if let Some(id) = tokens.get(&token) {
                return Ok(id.clone());
            }
            let mut jobs = self.jobs.lock().unwrap();
            jobs.push(job.clone());
            let id = format!("job-{}", jobs.len());
            tokens.insert(token, id.clone());
            id
        };
        let after = self.after_next_create.lock().unwrap().take();
        if let Some(after) = after {
            after.await;
        }
        Ok(id)
    }

    async fn find_job(
        &self,
        stream: &str,
        generation: u64,
        _created_after_ms: u64,
    ) -> Result<Option<String>, TranscodeError> {
        let jobs = self.jobs.lock().unwrap();
        Ok(jobs
            .iter()
            .position(|j| is_stream_job(j.user_metadata.as_ref().unwrap(), stream, generation))
            .map(|i| format!("job-{}", i + 1)))
    }

    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        self.cancelled.lock().unwrap().push(job_id.to_owned());
        Ok(if self.finished.lock().unwrap().contains(job_id) {
            CancelOutcome::AlreadyFinished
        } else {
            CancelOutcome::Canceled
        })
    }
}

/// Keeps every timer start.
#[derive(Default)]
pub struct RecordingTimer(pub Mutex<Vec<(String, Duration)>>);

impl PartnerTimer for RecordingTimer {
    async fn start(&self, stream: &str, _instance: &str, wait: Duration) -> Result<(), TimerError> {
        self.0.lock().unwrap().push((stream.to_owned(), wait));
        Ok(())
    }
}

/// A configuration for tests: `overrides` replace the defaults.
pub fn config(bucket: &str, table: &str, overrides: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("BUCKET", bucket),
        ("TABLE_NAME", table),
        ("KEY_PREFIX", PREFIX),
        (
            "MEDIACONVERT_ROLE_ARN",
            "arn:aws:iam::123456789012:role/mediaconvert",
        ),
        ("PARTNER_TIMER", "local"),
        ("S3_FORCE_PATH_STYLE", "true"),
    ];
    pairs.retain(|(name, _)| !overrides.iter().any(|(o, _)| o == name));
    pairs.extend_from_slice(overrides);
    Config::from_env(vars(&pairs)).expect("test configuration")
}

/// A bucket and table on moto, and the compositor over them with the fakes.
pub struct Stack {
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub bucket: String,
    pub table: String,
    pub streams: DynamoStreams,
    pub transcoder: Arc<CountingTranscoder>,
    pub publisher: Arc<RecordingPublisher>,
    pub timer: Arc<RecordingTimer>,
    pub now: Arc<AtomicU64>,
    pub compositor: TestCompositor,
}

impl Stack {
    /// The stack on the moto server this test binary shares.
    pub async fn new() -> Self {
        let endpoint = MotoServer::shared().endpoint();
        Self::at(endpoint, endpoint).await
    }

    /// The stack on the moto server at `endpoint`, its DynamoDB calls sent to `dynamodb` (that server, or a proxy
    /// to it).
    pub async fn at(endpoint: &str, dynamodb: &str) -> Self {
        let sdk = sdk_config_at(endpoint, "testing", "testing").await;
        let s3 = vidpipe_aws::s3::client(&sdk, true);
        let ddb =
            aws_sdk_dynamodb::Client::new(&sdk_config_at(dynamodb, "testing", "testing").await);
        let bucket = unique_name("compositor");
        let table = unique_name("compositor");
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        vidpipe_aws::provision::create_table(&ddb, &table)
            .await
            .unwrap();
        let transcoder = Arc::new(CountingTranscoder::default());
        let publisher = Arc::new(RecordingPublisher::default());
        let timer = Arc::new(RecordingTimer::default());
        let now = Arc::new(AtomicU64::new(1_795_194_000_000));
        let clock_now = Arc::clone(&now);
        let config = config(&bucket, &table, &[]);
        let streams = DynamoStreams::new(ddb.clone(), &table, 30);
        let compositor = Compositor {
            streams: Arc::new(streams.clone()),
            recordings: Arc::new(DynamoRecordings::new(ddb.clone(), &table)),
            objects: Arc::new(S3Objects::new(s3.clone(), &bucket)),
            transcoder: transcoder.clone(),
            publisher: publisher.clone(),
            timer: timer.clone(),
            playbacks: Arc::new(DynamoPlaybacks::new(ddb.clone(), &table)),
            calls: Arc::new(DynamoCalls::new(ddb.clone(), &table)),
            now_ms: Arc::new(move || clock_now.load(Ordering::SeqCst)),
            config,
        };
        Self {
            sdk,
            s3,
            ddb,
            bucket,
            table,
            streams,
            transcoder,
            publisher,
            timer,
            now,
            compositor,
        }
    }

    /// Puts a small object (optionally with `started-at`) and returns its etag.
    pub async fn put(&self, key: &str, started_at: Option<u64>) -> String {
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(format!("body of {key}").into_bytes().into());
        if let Some(t) = started_at {
            put = put.metadata("started-at", t.to_string());
        }
        put.send()
            .await
            .unwrap()
            .e_tag
            .unwrap()
            .trim_matches('"')
            .to_owned()
    }

    /// An S3 notification (AWS's shape) for `key` in this stack's bucket; the key is encoded as AWS does.
    pub fn event(&self, key: &str, etag: &str) -> Value {
        s3_event(&self.bucket, key, etag)
    }

    pub async fn state(&self, stream: &str) -> StreamState {
        self.streams
            .get(stream)
            .await
            .unwrap()
            .expect("stream item")
    }

    /// The stream's item as DynamoDB stores it, for attributes the domain state does not carry.
    pub async fn item(
        &self,
        stream: &str,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.ddb
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("STREAM#{stream}")))
            .key("sk", AttributeValue::S("STREAM".into()))
            .send()
            .await
            .unwrap()
            .item
            .expect("stream item")
    }

    pub fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

/// An S3 notification for one object, key form-urlencoded as AWS does (space as `+`).
pub fn s3_event(bucket: &str, key: &str, etag: &str) -> Value {
    let encoded: String = key
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T17:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "vidpipe",
            "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": encoded, "size": 1234, "eTag": etag}}
    }]})
}

fn percent_encode(part: &str) -> String {
    part.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The screen recording's key of `stream`.
pub fn screen(stream: &str) -> String {
    format!("{PREFIX}{stream}.mp4")
}

/// The camera recording's key of `stream`.
pub fn camera(stream: &str) -> String {
    format!("{PREFIX}{stream}_camera.webm")
}

/// Puts both recordings of `stream` (the camera 1.5 s after the screen) and returns their S3 events.
pub async fn both(stack: &Stack, stream: &str) -> (Value, Value) {
    let s = stack.put(&screen(stream), Some(1_795_194_000_000)).await;
    let c = stack.put(&camera(stream), Some(1_795_194_001_500)).await;
    (
        stack.event(&screen(stream), &s),
        stack.event(&camera(stream), &c),
    )
}

/// The `composite.failed` events published so far.
pub fn failed_events(stack: &Stack) -> Vec<vidpipe_core::notify::DomainEvent> {
    stack
        .publisher
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.event_type == DomainEventType::CompositeFailed)
        .cloned()
        .collect()
}

/// A sample event of `events/compositor/` as JSON.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/compositor")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
