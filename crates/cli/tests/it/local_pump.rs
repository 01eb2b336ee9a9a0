//! `vidpipe local init` and `vidpipe local pump --once` against moto: the bucket's ObjectCreated events reach the
//! compositor as an SQS event, MediaConvert job events on the bus reach the notifier one by one, through the Lambda
//! Invoke API (served here by a loopback stand-in for `cargo lambda watch` that records what it is sent).

use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vidpipe_testkit::{moto::MotoServer, unique_name};

/// What the stand-in received: (function, payload).
type Invocations = Arc<Mutex<Vec<(String, Value)>>>;

/// A function's answer to an invocation: (HTTP status, body).
pub(crate) type Answer = Pin<Box<dyn Future<Output = (u16, Value)> + Send>>;

/// Serves `POST /2015-03-31/functions/{name}/invocations`; `answer` gives each function's reply.
async fn invoke_endpoint(answer: fn(&str, &Value) -> (u16, Value)) -> (String, Invocations) {
    invoke_endpoint_with(Arc::new(move |function: String, payload: Value| {
        let reply = answer(&function, &payload);
        Box::pin(async move { reply }) as Answer
    }))
    .await
}

/// [`invoke_endpoint`] with an answer that runs a handler: what `cargo lambda watch` does for the real functions.
pub(crate) async fn invoke_endpoint_with(
    answer: Arc<dyn Fn(String, Value) -> Answer + Send + Sync>,
) -> (String, Invocations) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received: Invocations = Arc::default();
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                let (head_end, length) = loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while data.len() < head_end + length {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                let request_line = String::from_utf8_lossy(&data[..head_end]).to_string();
                let path = request_line.split_whitespace().nth(1).unwrap_or_default();
                let function = path
                    .strip_prefix("/2015-03-31/functions/")
                    .and_then(|p| p.strip_suffix("/invocations"))
                    .unwrap_or_default()
                    .to_owned();
                let payload: Value = serde_json::from_slice(&data[head_end..head_end + length])
                    .unwrap_or(Value::Null);
                log.lock()
                    .unwrap()
                    .push((function.clone(), payload.clone()));
                let (status, reply) = answer(function, payload).await;
                let body = reply.to_string();
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, received)
}

pub(crate) struct LocalStack {
    pub(crate) env: Vec<(&'static str, String)>,
    pub(crate) sdk: aws_config::SdkConfig,
    pub(crate) bucket: String,
    bus: String,
    pub(crate) objects_queue: String,
    job_events_queue: String,
}

fn vidpipe(stack: &LocalStack, args: &[&str]) -> String {
    vidpipe_env(&stack.env, args)
}

/// Runs `vidpipe args` with the variables `env`, and returns what it printed; a failure fails the test.
pub(crate) fn vidpipe_env(env: &[(&'static str, String)], args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vidpipe"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run vidpipe");
    assert!(
        out.status.success(),
        "vidpipe {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) async fn local_stack() -> LocalStack {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let bus = unique_name("bus");
    aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let mut stack = LocalStack {
        env: vec![
            ("AWS_ENDPOINT_URL", moto.endpoint().to_owned()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("S3_FORCE_PATH_STYLE", "true".into()),
            ("BUCKET", unique_name("pump")),
            ("TABLE_NAME", unique_name("pump")),
            ("KEY_PREFIX", "videos/".into()),
            ("EVENTS_QUEUE", unique_name("objects")),
            ("JOB_EVENTS_QUEUE", unique_name("job-events")),
            ("EVENT_BUS_NAME", bus.clone()),
        ],
        bucket: String::new(),
        bus,
        objects_queue: String::new(),
        job_events_queue: String::new(),
        sdk,
    };
    stack.bucket = stack.env[5].1.clone();
    let init: Value = serde_json::from_str(&vidpipe(&stack, &["local", "init"])).unwrap();
    stack.objects_queue = init["queue_url"].as_str().unwrap().to_owned();
    stack.job_events_queue = init["job_events_queue_url"].as_str().unwrap().to_owned();
    // Configuring the notification sent S3's test event; drop it so each test sees only its own events.
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    sqs.purge_queue()
        .queue_url(&stack.objects_queue)
        .send()
        .await
        .unwrap();
    stack
}

fn job_event(status: &str) -> Value {
    json!({"status": status, "jobId": "1700000000000-abc123", "queue": "arn:aws:mediaconvert:us-east-1:123456789012:queues/Default",
           "timestamp": 1_700_000_000_000u64, "accountId": "123456789012",
           "userMetadata": {"app": "vidpipe", "kind": "composite", "stream": "s-1", "generation": "1"}})
}

async fn put_job_event(stack: &LocalStack, status: &str) {
    vidpipe_aws::eventbridge::EventBus::new(
        aws_sdk_eventbridge::Client::new(&stack.sdk),
        &stack.bus,
    )
    .put(
        "aws.mediaconvert",
        "MediaConvert Job State Change",
        &job_event(status),
        &[],
    )
    .await
    .unwrap();
}

async fn queue_depth(stack: &LocalStack, queue: &str) -> (u64, u64) {
    let attributes = aws_sdk_sqs::Client::new(&stack.sdk)
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let get = |name: aws_sdk_sqs::types::QueueAttributeName| -> u64 {
        attributes
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (
        get(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages),
        get(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_reach_the_compositor_and_job_events_the_notifier_and_delivered_messages_are_deleted()
 {
    let stack = local_stack().await;
    let (invoke_url, received) = invoke_endpoint(|function, _| match function {
        "vidpipe-compositor" => (200, json!({"batchItemFailures": []})),
        _ => (200, json!({"outcome": "updated"})),
    })
    .await;
    let s3 = vidpipe_aws::s3::client(&stack.sdk, true);
    s3.put_object()
        .bucket(&stack.bucket)
        .key("videos/my talk_camera.webm")
        .body(b"camera".to_vec().into())
        .send()
        .await
        .unwrap();
    put_job_event(&stack, "COMPLETE").await;

    vidpipe(
        &stack,
        &["local", "pump", "--once", "--invoke-url", &invoke_url],
    );

    let received = received.lock().unwrap().clone();
    let compositor: Vec<&Value> = received
        .iter()
        .filter(|(f, _)| f == "vidpipe-compositor")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(compositor.len(), 1, "{received:?}");
    let record = &compositor[0]["Records"][0];
    assert_eq!(record["eventSource"], "aws:sqs");
    assert!(record["messageId"].is_string() && record["receiptHandle"].is_string());
    assert!(
        record["eventSourceARN"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sqs:")
    );
    let body: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["Records"][0]["s3"]["bucket"]["name"],
        stack.bucket.as_str()
    );
    assert_eq!(body["Records"][0]["eventName"], "ObjectCreated:Put");

    let notifier: Vec<&Value> = received
        .iter()
        .filter(|(f, _)| f == "vidpipe-notifier")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(notifier.len(), 1, "{received:?}");
    assert_eq!(notifier[0]["source"], "aws.mediaconvert");
    assert_eq!(notifier[0]["detail-type"], "MediaConvert Job State Change");
    assert_eq!(notifier[0]["detail"], job_event("COMPLETE"));

    assert_eq!(queue_depth(&stack, &stack.objects_queue).await, (0, 0));
    assert_eq!(queue_depth(&stack, &stack.job_events_queue).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_invocation_or_a_reported_batch_failure_leaves_the_message_queued() {
    let stack = local_stack().await;
    // The compositor reports every message of its batch as failed; the notifier fails outright.
    let (invoke_url, received) = invoke_endpoint(|function, payload| match function {
        "vidpipe-compositor" => {
            let failures: Vec<Value> = payload["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| json!({"itemIdentifier": r["messageId"]}))
                .collect();
            (200, json!({"batchItemFailures": failures}))
        }
        _ => (500, json!({"errorType": "StatusStoreUnavailable"})),
    })
    .await;
    let s3 = vidpipe_aws::s3::client(&stack.sdk, true);
    s3.put_object()
        .bucket(&stack.bucket)
        .key("videos/s-1.mp4")
        .body(b"screen".to_vec().into())
        .send()
        .await
        .unwrap();
    put_job_event(&stack, "PROGRESSING").await;

    vidpipe(
        &stack,
        &["local", "pump", "--once", "--invoke-url", &invoke_url],
    );

    let functions: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(f, _)| f.clone())
        .collect();
    assert!(
        functions.contains(&"vidpipe-compositor".to_owned()),
        "{functions:?}"
    );
    assert!(
        functions.contains(&"vidpipe-notifier".to_owned()),
        "{functions:?}"
    );
    // Not deleted: in flight until the visibility timeout, then delivered again.
    assert_eq!(queue_depth(&stack, &stack.objects_queue).await, (0, 1));
    assert_eq!(queue_depth(&stack, &stack.job_events_queue).await, (0, 1));
}
