//! End to end on one machine: the upload API presigns both recordings, real generated media is PUT to moto, moto's
//! own S3 events (through SQS) drive the compositor, the job runs on vidpipe-engine, its job events go through a moto
//! EventBridge rule to an SQS queue and on to the notifier, and `GET /streams/{stream}` answers `ready` with an
//! `output_url` serving an MP4 with the camera in the corner. Also with the camera first, and with the camera never
//! arriving (the fallback after a short `COMPOSITE_WAIT_SECONDS`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::Body;
use serde_json::{Value, json};
use vidpipe_aws::provision::{
    Resources, provision, provision_input_failure_events, provision_job_events,
};
use vidpipe_compositor::wiring::LambdaCompositor;
use vidpipe_lambda::ErrorType;
use vidpipe_notifier::wiring::LambdaNotifier;
use vidpipe_presign::wiring::LambdaApp;
use vidpipe_testkit::config::vars;
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};
use vidpipe_testkit::{moto::MotoServer, unique_name};

const BLUE: [u8; 3] = [0, 0, 255];
const RED: [u8; 3] = [255, 0, 0];
const OWNER: &str = "user-123";

/// The whole local stack: moto resources, the three handlers, and the two queues between them.
struct Stack {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
    objects_queue: String,
    job_events_queue: String,
    /// The ERROR events of jobs that failed on a recording and name a fallback: the compositor's, as on AWS.
    input_failures_queue: String,
    /// How many of those the compositor turned into a fallback job.
    fallbacks: usize,
    presign: LambdaApp,
    compositor: Arc<LambdaCompositor>,
    notifier: LambdaNotifier,
    /// Job events the notifier refused for now (their job not yet recorded): delivered again, as SQS would.
    retry: Vec<Value>,
}

impl Stack {
    async fn new(composite_wait_seconds: u64) -> Self {
        let sdk = MotoServer::shared().sdk_config().await;
        let s3 = vidpipe_aws::s3::client(&sdk, true);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let bucket = unique_name("e2e");
        let table = unique_name("e2e");
        let bus = unique_name("bus");
        let objects_queue = provision(
            &sdk,
            &s3,
            &Resources {
                bucket: bucket.clone(),
                key_prefix: "videos/".into(),
                retention_days: 30,
                allowed_origins: vec![],
                table: table.clone(),
                queue: Some(unique_name("objects")),
            },
        )
        .await
        .unwrap()
        .queue_url
        .unwrap();

        // MediaConvert job events: a rule on the bus to a queue the notifier reads, as on AWS.
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        events.create_event_bus().name(&bus).send().await.unwrap();
        let job_events_queue = provision_job_events(&sdk, &bus, &unique_name("job-events"))
            .await
            .unwrap();
        let input_failures_queue =
            provision_input_failure_events(&sdk, &bus, &unique_name("input-failures"))
                .await
                .unwrap();

        let wait = composite_wait_seconds.to_string();
        let compositor_env = [
            ("BUCKET", bucket.as_str()),
            ("TABLE_NAME", table.as_str()),
            ("KEY_PREFIX", "videos/"),
            (
                "MEDIACONVERT_ROLE_ARN",
                "arn:aws:iam::123456789012:role/mediaconvert",
            ),
            ("EVENT_BUS_NAME", bus.as_str()),
            ("MEDIACONVERT_BACKEND", "engine"),
            ("PARTNER_TIMER", "local"),
            ("COMPOSITE_WAIT_SECONDS", wait.as_str()),
            ("S3_FORCE_PATH_STYLE", "true"),
        ];
        let compositor = vidpipe_compositor::wiring::compositor(
            vidpipe_compositor::config::Config::from_env(vars(&compositor_env)).unwrap(),
            &sdk,
        )
        .unwrap();
        let presign = vidpipe_presign::wiring::app(
            vidpipe_presign::config::Config::from_env(vars(&[
                ("BUCKET", bucket.as_str()),
                ("TABLE_NAME", table.as_str()),
                ("KEY_PREFIX", "videos/"),
                ("AUTH_MODE", "jwt"),
                ("S3_FORCE_PATH_STYLE", "true"),
                (
                    "PLAYBACK_SIGNING_SECRET",
                    "0123456789abcdef0123456789abcdef",
                ),
            ]))
            .unwrap(),
            &sdk,
        )
        .await
        .unwrap();
        let notifier = vidpipe_notifier::wiring::notifier(
            vidpipe_notifier::config::Config::from_env(vars(&[
                ("TABLE_NAME", table.as_str()),
                ("EVENT_BUS_NAME", bus.as_str()),
            ]))
            .unwrap(),
            &sdk,
        )
        .await
        .unwrap();
        Self {
            s3,
            sqs,
            bucket,
            objects_queue,
            job_events_queue,
            input_failures_queue,
            fallbacks: 0,
            presign,
            compositor,
            notifier,
            retry: Vec::new(),
        }
    }

    /// Calls the HTTP API with the sample event `fixture`, as `OWNER`, with `path` and `body`.
    async fn api(&self, fixture: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/presign")
            .join(fixture);
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(OWNER);
        if let Some(stream) = path.strip_prefix("/streams/") {
            event["pathParameters"] = json!({"stream": stream});
        }
        if let Some(body) = body {
            event["body"] = json!(body.to_string());
        }
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let response = self.presign.handle(request).await;
        let bytes = match response.body() {
            Body::Text(t) => t.as_bytes().to_vec(),
            Body::Binary(b) => b.clone(),
            _ => Vec::new(),
        };
        (
            response.status().as_u16(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Presigns an upload of `file` through the API and PUTs it exactly as a client would.
    async fn upload(&self, stream: &str, kind: &str, content_type: &str, file: &Path) {
        let bytes = std::fs::read(file).unwrap();
        let (status, answer) = self
            .api(
                "post-uploads-screen.json",
                "/uploads",
                Some(
                    json!({"kind": kind, "content_type": content_type, "size": bytes.len(),
                    "stream_name": stream, "started_at": 1_795_194_000_000u64}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        let upload = &answer["upload"];
        assert_eq!(upload["method"], "PUT", "{answer}");
        let mut put = reqwest::Client::new().put(upload["url"].as_str().unwrap());
        for (name, value) in upload["headers"].as_object().unwrap() {
            put = put.header(name.as_str(), value.as_str().unwrap());
        }
        let response = put.body(bytes).send().await.unwrap();
        assert!(response.status().is_success(), "PUT: {}", response.status());
    }

    async fn receive(&self, queue: &str) -> Vec<Value> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let mut records = Vec::new();
        for m in out.messages() {
            records.push(json!({
                "messageId": m.message_id().unwrap(), "receiptHandle": m.receipt_handle().unwrap(),
                "body": m.body().unwrap(), "attributes": {}, "messageAttributes": {},
                "md5OfBody": m.md5_of_body().unwrap_or_default(), "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:queue", "awsRegion": "us-east-1",
            }));
            self.sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        records
    }

    /// One round of the event plumbing: S3 events to the compositor (as an SQS batch), job events to the notifier,
    /// input failures that name a fallback to the compositor.
    async fn pump(&mut self) {
        for record in self.receive(&self.input_failures_queue).await {
            let event: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
            let answer = self.compositor.handle(event).await.unwrap();
            assert_eq!(answer["outcome"], "submitted", "{answer}");
            self.fallbacks += 1;
        }
        let records = self.receive(&self.objects_queue).await;
        if !records.is_empty() {
            let answer = self
                .compositor
                .handle(json!({"Records": records}))
                .await
                .unwrap();
            assert_eq!(answer, json!({"batchItemFailures": []}));
        }
        let mut events: Vec<Value> = std::mem::take(&mut self.retry);
        for record in self.receive(&self.job_events_queue).await {
            events.push(serde_json::from_str(record["body"].as_str().unwrap()).unwrap());
        }
        for event in events {
            if let Err(error) = self.notifier.handle(event.clone()).await {
                assert_eq!(error.error_type(), "GenerationNotRecorded", "{error}");
                self.retry.push(event);
            }
        }
    }

    /// Pumps events until `GET /streams/{stream}` answers a final status (or 120 s pass); returns the answer.
    async fn until_final(&mut self, stream: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            self.pump().await;
            let (status, answer) = self
                .api("get-stream.json", &format!("/streams/{stream}"), None)
                .await;
            assert_eq!(status, 200, "{answer}");
            if matches!(answer["status"].as_str(), Some("ready" | "failed")) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "{stream} never finished: {answer}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn download(&self, url: &str, to: &Path) {
        let response = reqwest::get(url).await.unwrap();
        assert!(
            response.status().is_success(),
            "GET output_url: {}",
            response.status()
        );
        std::fs::write(to, response.bytes().await.unwrap()).unwrap();
    }
}

struct Media {
    dir: tempfile::TempDir,
    screen: PathBuf,
    camera: PathBuf,
}

fn media() -> Media {
    let dir = tempfile::tempdir().unwrap();
    let screen = dir.path().join("screen.mp4");
    let camera = dir.path().join("camera.webm");
    media::write_mp4(
        &screen,
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 25, 2.0).with_tone(440),
    );
    media::write_webm(
        &camera,
        &VideoSpec::new(Picture::Solid("red".into()), 160, 90, 25, 2.0),
    );
    Media {
        dir,
        screen,
        camera,
    }
}

/// The output: 320x180, the screen's blue, and the camera's red in the bottom-right corner (or not).
fn check_output(path: &Path, camera_in_corner: bool) {
    let info = media::probe(path);
    let video = info.video().expect("a video stream");
    assert_eq!((video.width, video.height), (320, 180));
    let frame = Frame::at_time(path, 1.0);
    assert!(
        colour_close(frame.pixel(80, 60), BLUE, 40),
        "{:?}",
        frame.pixel(80, 60)
    );
    let corner = frame.pixel(290, 160);
    if camera_in_corner {
        assert!(
            colour_close(corner, RED, 40),
            "camera expected in the corner: {corner:?}"
        );
    } else {
        assert!(
            colour_close(corner, BLUE, 40),
            "no camera expected: {corner:?}"
        );
    }
}

/// Uploads the screen and `camera` (the generated camera when `None`) in the given order through the API and checks
/// the composite.
async fn composite_end_to_end(stream: &str, camera_first: bool, camera: Option<&Path>) {
    let media = media();
    let mut stack = Stack::new(900).await;
    let uploads = [
        ("screen", "video/mp4", media.screen.as_path()),
        ("camera", "video/webm", camera.unwrap_or(&media.camera)),
    ];
    let order: Vec<_> = if camera_first {
        uploads.iter().rev().collect()
    } else {
        uploads.iter().collect()
    };
    for (kind, content_type, file) in order {
        stack.upload(stream, kind, content_type, file).await;
        stack.pump().await;
    }
    let answer = stack.until_final(stream).await;
    assert_eq!(answer["status"], "ready", "{answer}");
    assert_eq!(answer["progress"], 100, "{answer}");
    let output = media.dir.path().join("output.mp4");
    stack
        .download(answer["output_url"].as_str().unwrap(), &output)
        .await;
    check_output(&output, true);
    let head = stack
        .s3
        .head_object()
        .bucket(&stack.bucket)
        .key(format!("videos/{stream}_composited.mp4"))
        .send()
        .await
        .unwrap();
    assert!(head.content_length().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_then_camera_ends_ready_with_the_camera_in_the_corner() {
    composite_end_to_end("e2e-screen-first", false, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_then_screen_ends_ready_with_the_camera_in_the_corner() {
    composite_end_to_end("e2e-camera-first", true, None).await;
}

/// The survey client's own camera file: VP9 WebM from a browser's MediaRecorder, with no duration in its header.
/// It was refused (`no duration`) and the stream ended `failed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browsers_camera_recording_ends_ready_with_the_camera_in_the_corner() {
    let camera = vidpipe_testkit::browser::recording("camera-vp9.webm");
    composite_end_to_end("e2e-browser-camera", true, Some(&camera.path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_never_arrives_ends_ready_with_the_screen_alone() {
    let media = media();
    let mut stack = Stack::new(2).await;
    stack
        .upload("e2e-no-camera", "screen", "video/mp4", &media.screen)
        .await;
    let answer = stack.until_final("e2e-no-camera").await;
    assert_eq!(answer["status"], "ready", "{answer}");
    let output = media.dir.path().join("fallback.mp4");
    stack
        .download(answer["output_url"].as_str().unwrap(), &output)
        .await;
    check_output(&output, false);
}

/// Tried as a new user would: a screen recording with a corrupt camera recording. The stream used to end `failed`
/// (the URL the client stored stayed 404, and the error held a temporary path and ffprobe's words); the screen
/// recording is made into the output instead, and the stream says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_camera_recording_ends_ready_with_the_screen_alone_and_says_why() {
    let media = media();
    let junk = media.dir.path().join("junk.webm");
    std::fs::write(&junk, b"\x1a\x45\xdf\xa3 this is not a video at all").unwrap();
    let mut stack = Stack::new(900).await;
    stack
        .upload("e2e-corrupt-camera", "screen", "video/mp4", &media.screen)
        .await;
    stack.pump().await;
    stack
        .upload("e2e-corrupt-camera", "camera", "video/webm", &junk)
        .await;
    stack.pump().await;
    let answer = stack.until_final("e2e-corrupt-camera").await;
    assert_eq!(answer["status"], "ready", "{answer}");
    assert_eq!(answer["fallback_reason"], "camera_unusable", "{answer}");
    let output = media.dir.path().join("screen-alone.mp4");
    stack
        .download(answer["output_url"].as_str().unwrap(), &output)
        .await;
    check_output(&output, false);
}

/// A camera recording that passes the probe but cannot be decoded: the composite job fails on it, and the screen
/// recording is made into the output instead (the stream used to end `failed`). The stream says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_camera_recording_ends_ready_with_the_screen_alone_and_says_why() {
    let media = media();
    let camera = media.dir.path().join("undecodable.webm");
    media::write_undecodable_mkv(
        &camera,
        &VideoSpec::new(Picture::Solid("red".into()), 160, 90, 25, 2.0),
    );
    let mut stack = Stack::new(900).await;
    stack
        .upload(
            "e2e-undecodable-camera",
            "screen",
            "video/mp4",
            &media.screen,
        )
        .await;
    stack.pump().await;
    stack
        .upload("e2e-undecodable-camera", "camera", "video/webm", &camera)
        .await;
    let answer = stack.until_final("e2e-undecodable-camera").await;
    assert_eq!(answer["status"], "ready", "{answer}");
    assert_eq!(answer["fallback_reason"], "camera_unusable", "{answer}");
    assert_eq!(answer["job_kind"], "single", "{answer}");
    // The camera passed the probe, so the composite was tried, failed on it, and named the screen.
    assert_eq!(stack.fallbacks, 1);
    let output = media.dir.path().join("screen-alone.mp4");
    stack
        .download(answer["output_url"].as_str().unwrap(), &output)
        .await;
    check_output(&output, false);
}
