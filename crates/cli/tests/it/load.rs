//! The load test: many streams, each with duplicated, reordered and concurrent ObjectCreated events, through the
//! real path on one machine: moto's S3 notifications into the SQS queue `vidpipe local init` made, three
//! `vidpipe local pump` processes delivering batches at once to the compositor's real handler (behind a stand-in
//! for `cargo lambda watch`), its real DynamoDB and S3 adapters on moto, and a MediaConvert stand-in that counts
//! jobs. It ends with exactly one composite per stream: none lost, none doubled.
//!
//! `LOAD_STREAMS` sets the number of streams (40 here; `scripts/load-test.sh` runs 200 and prints the figures).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vidpipe_aws::dynamo::{DynamoCalls, DynamoPlaybacks, DynamoRecordings, DynamoStreams};
use vidpipe_aws::s3::S3Objects;
use vidpipe_compositor::Compositor;
use vidpipe_compositor::config::Config;
use vidpipe_compositor::handler::system_now;
use vidpipe_core::job::{CreateJobRequest, FrameRate, MediaInfo};
use vidpipe_core::jobevent::is_stream_job;
use vidpipe_core::ports::{
    CancelOutcome, PartnerTimer, StreamStore, TimerError, TranscodeError, Transcoder,
};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_testkit::fakes::RecordingPublisher;

use crate::local_pump::{Answer, LocalStack, invoke_endpoint_with, local_stack, vidpipe_env};

/// MediaConvert as far as the compositor sees it: probes answer by key, `CreateJob` is idempotent on its token
/// (the token is never forgotten here: the run is shorter than MediaConvert's window), and every job is kept.
#[derive(Default)]
struct CountingMediaConvert {
    jobs: Mutex<Vec<(String, BTreeMap<String, String>)>>,
}

impl Transcoder for CountingMediaConvert {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, TranscodeError> {
        let (width, height) = if uri.key().ends_with("_camera.webm") {
            (640, 360)
        } else {
            (1280, 720)
        };
        Ok(MediaInfo {
            width,
            height,
            duration_ms: Some(10_000),
            frame_rate: Some(FrameRate::per_second(30)),
            has_audio: true,
            rotation: 0,
        })
    }

    async fn create_job(&self, job: &CreateJobRequest) -> Result<String, TranscodeError> {
        let token = job.client_request_token.clone().unwrap_or_default();
        let mut jobs = self.jobs.lock().unwrap();
        if let Some(i) = jobs.iter().position(|(t, _)| *t == token) {
            return Ok(format!("job-{i}"));
        }
        jobs.push((token, job.user_metadata.clone().unwrap_or_default()));
        Ok(format!("job-{}", jobs.len() - 1))
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
            .position(|(_, metadata)| is_stream_job(metadata, stream, generation))
            .map(|i| format!("job-{i}")))
    }

    async fn cancel_job(&self, _job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        Ok(CancelOutcome::AlreadyFinished)
    }
}

/// The partner timers started, by stream: the test fires them once the queue is drained, as Step Functions would
/// after the wait. A timer finds the composite submitted and does nothing, unless the pair's handlers each saw
/// only their own arrival: moto, unlike DynamoDB, does not serialize concurrent writes to one item, so two
/// concurrent arrivals may each read the item without the other.
#[derive(Default)]
struct StartedTimers(Mutex<Vec<String>>);

impl PartnerTimer for StartedTimers {
    async fn start(
        &self,
        stream: &str,
        _instance: &str,
        _wait: Duration,
    ) -> Result<(), TimerError> {
        self.0.lock().unwrap().push(stream.to_owned());
        Ok(())
    }
}

type LoadCompositor = Compositor<
    DynamoStreams,
    DynamoRecordings,
    S3Objects,
    CountingMediaConvert,
    RecordingPublisher,
    StartedTimers,
    DynamoPlaybacks,
    DynamoCalls,
>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_reordered_concurrent_events_through_the_queue_and_pump_make_one_composite_per_stream()
 {
    let streams: usize = std::env::var("LOAD_STREAMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let stack = local_stack().await;
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    // A message whose delivery failed (a live claim elsewhere) comes back after 2 s rather than 30.
    sqs.set_queue_attributes()
        .queue_url(&stack.objects_queue)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "2",
        )
        .send()
        .await
        .unwrap();
    let (compositor, mediaconvert, invoke_url) = compositor_behind_invoke_api(&stack).await;
    let started = Instant::now();
    let events = put_every_recording(&stack, streams).await;
    pump_until_empty(&stack, &sqs, &invoke_url).await;
    let mut timers = compositor.timer.0.lock().unwrap().clone();
    timers.sort();
    timers.dedup();
    let mut composited_by_timer = 0;
    for stream in &timers {
        let answer = compositor
            .handle(json!({"partner_timeout": {"stream": stream}}))
            .await
            .unwrap();
        composited_by_timer += usize::from(answer["outcome"] == "submitted");
    }
    let took = started.elapsed();

    let jobs = mediaconvert.jobs.lock().unwrap().clone();
    let mut per_stream: HashMap<String, usize> = HashMap::new();
    for (_, metadata) in &jobs {
        assert_eq!(metadata["kind"], "composite");
        *per_stream.entry(metadata["stream"].clone()).or_default() += 1;
    }
    let mut lost = 0;
    for i in 0..streams {
        let state = compositor
            .streams
            .get(&format!("load-{i}"))
            .await
            .unwrap()
            .unwrap();
        if state.generation != 1 || state.job_id.is_none() {
            lost += 1;
        }
    }
    let doubled = per_stream.values().filter(|n| **n > 1).count();
    println!(
        "load: {streams} streams, {events} ObjectCreated events, {} composites ({composited_by_timer} by a \
         partner timer), {lost} lost, {doubled} doubled, {:.1} s, {:.1} events/s",
        jobs.len(),
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
    assert_eq!((jobs.len(), lost, doubled), (streams, 0, 0));
}

/// The compositor's real handler on the stack's table and bucket, served through a stand-in for the Invoke API:
/// the handler, the MediaConvert stand-in it uses, and the invoke URL.
async fn compositor_behind_invoke_api(
    stack: &LocalStack,
) -> (Arc<LoadCompositor>, Arc<CountingMediaConvert>, String) {
    let env: HashMap<&str, String> = stack.env.iter().cloned().collect();
    let config = Config::from_env(|name| match name {
        "MEDIACONVERT_ROLE_ARN" => Some("arn:aws:iam::123456789012:role/mediaconvert".into()),
        "PARTNER_TIMER" => Some("local".into()),
        other => env.get(other).cloned(),
    })
    .unwrap();
    let s3 = vidpipe_aws::s3::client(&stack.sdk, true);
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mediaconvert = Arc::new(CountingMediaConvert::default());
    let table = config.table.clone();
    let compositor: Arc<LoadCompositor> = Arc::new(Compositor {
        streams: Arc::new(DynamoStreams::new(ddb.clone(), &table, 30)),
        recordings: Arc::new(DynamoRecordings::new(ddb.clone(), &table)),
        objects: Arc::new(S3Objects::new(s3, &stack.bucket)),
        transcoder: Arc::clone(&mediaconvert),
        publisher: Arc::new(RecordingPublisher::default()),
        timer: Arc::new(StartedTimers::default()),
        playbacks: Arc::new(DynamoPlaybacks::new(ddb.clone(), &table)),
        calls: Arc::new(DynamoCalls::new(ddb.clone(), &table)),
        now_ms: system_now(),
        config,
    });
    let handler = Arc::clone(&compositor);
    let (invoke_url, _) =
        invoke_endpoint_with(Arc::new(move |_function: String, payload: Value| {
            let handler = Arc::clone(&handler);
            Box::pin(async move {
                match handler.handle(payload).await {
                    Ok(answer) => (200_u16, answer),
                    // As the Invoke API answers a function error: the pump leaves the batch queued.
                    Err(e) => (
                        500,
                        json!({"errorType": "Compositor.Transient", "errorMessage": e.to_string()}),
                    ),
                }
            }) as Answer
        }))
        .await;
    (compositor, mediaconvert, invoke_url)
}

/// Puts every stream's screen and camera once or twice (a second put of the same bytes is S3 sending the same
/// event again), in a shuffled order, eight at a time; returns the number of puts (the events).
async fn put_every_recording(stack: &LocalStack, streams: usize) -> usize {
    let s3 = vidpipe_aws::s3::client(&stack.sdk, true);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut puts = Vec::new();
    for i in 0..streams {
        for key in [
            format!("videos/load-{i}.mp4"),
            format!("videos/load-{i}_camera.webm"),
        ] {
            for _ in 0..rng.usize(1..=2) {
                puts.push(key.clone());
            }
        }
    }
    rng.shuffle(&mut puts);
    for batch in puts.chunks(8) {
        let mut tasks = tokio::task::JoinSet::new();
        for key in batch {
            let (s3, bucket, key) = (s3.clone(), stack.bucket.clone(), key.clone());
            tasks.spawn(async move {
                s3.put_object()
                    .bucket(bucket)
                    .body(format!("recording {key}").into_bytes().into())
                    .key(key)
                    .send()
                    .await
                    .unwrap();
            });
        }
        tasks.join_all().await;
    }
    puts.len()
}

/// Three pumps at once, again until the queue is empty (a message refused for a live claim comes back).
async fn pump_until_empty(stack: &LocalStack, sqs: &aws_sdk_sqs::Client, invoke_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut pumps = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let args = ["local", "pump", "--once", "--invoke-url", invoke_url].map(str::to_owned);
            let env = stack.env.clone();
            pumps.spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                vidpipe_env(&env, &args)
            });
        }
        pumps.join_all().await;
        if queue_is_empty(sqs, &stack.objects_queue).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the queue did not drain in 300 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Whether the queue holds no message, visible or in flight.
async fn queue_is_empty(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> bool {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attributes = out.attributes().cloned().unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .all(|a| attributes.get(a).map(String::as_str) == Some("0"))
}
