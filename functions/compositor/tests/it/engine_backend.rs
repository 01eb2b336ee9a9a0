//! The compositor wired as in `main` (`MEDIACONVERT_BACKEND=engine`, `PARTNER_TIMER=local`) on moto: real media in
//! S3, the composite made by vidpipe-engine, its MediaConvert-shaped job events put on a moto EventBridge bus and
//! routed by a rule to an SQS queue, and the output checked with ffprobe and pixel samples.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vidpipe_aws::provision::provision_job_events;
use vidpipe_compositor::config::Config;
use vidpipe_compositor::local::EngineTranscoder;
use vidpipe_core::job::{CompositeOutput, JobContext, Recording, SingleOptions, single_job};
use vidpipe_core::ports::{CancelOutcome, TranscodeError, Transcoder};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_testkit::config::vars;
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};
use vidpipe_testkit::{moto::MotoServer, unique_name};

const BLUE: [u8; 3] = [0, 0, 255];
const RED: [u8; 3] = [255, 0, 0];

struct Local {
    sdk: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
    table: String,
    bus: String,
    job_events: String,
}

/// A bucket, a table, a bus and a rule sending MediaConvert job events to a queue.
async fn local() -> Local {
    let sdk = MotoServer::shared().sdk_config().await;
    let s3 = vidpipe_aws::s3::client(&sdk, true);
    let bucket = unique_name("engine");
    let table = unique_name("engine");
    let bus = unique_name("bus");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    vidpipe_aws::provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
        .await
        .unwrap();
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    events.create_event_bus().name(&bus).send().await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let job_events = provision_job_events(&sdk, &bus, &unique_name("job-events"))
        .await
        .unwrap();
    Local {
        sdk,
        s3,
        sqs,
        bucket,
        table,
        bus,
        job_events,
    }
}

impl Local {
    fn config(&self) -> Config {
        Config::from_env(vars(&[
            ("BUCKET", self.bucket.as_str()),
            ("TABLE_NAME", self.table.as_str()),
            ("KEY_PREFIX", "videos/"),
            (
                "MEDIACONVERT_ROLE_ARN",
                "arn:aws:iam::123456789012:role/mediaconvert",
            ),
            ("EVENT_BUS_NAME", self.bus.as_str()),
            ("MEDIACONVERT_BACKEND", "engine"),
            ("PARTNER_TIMER", "local"),
            ("S3_FORCE_PATH_STYLE", "true"),
        ]))
        .unwrap()
    }

    async fn upload(&self, key: &str, file: &Path, started_at: u64) -> String {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .metadata("started-at", started_at.to_string())
            .body(std::fs::read(file).unwrap().into())
            .send()
            .await
            .unwrap()
            .e_tag
            .unwrap()
            .trim_matches('"')
            .to_owned()
    }

    fn s3_event(&self, key: &str, etag: &str) -> Value {
        json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": self.bucket},
            "object": {"key": key.replace('/', "%2F"), "size": 1, "eTag": etag}}}]})
    }

    /// Job events from the queue until one for `job_id` has a final status (or 90 s passed).
    async fn job_events(&self, job_id: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.job_events)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for m in out.messages() {
                let event: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                if event["detail"]["jobId"] == job_id {
                    seen.push(event);
                }
            }
            if seen.iter().any(|e| {
                matches!(
                    e["detail"]["status"].as_str(),
                    Some("COMPLETE" | "ERROR" | "CANCELED")
                )
            }) {
                return seen;
            }
        }
        panic!("no final event for {job_id}: {seen:?}");
    }

    async fn download(&self, key: &str, to: &Path) {
        let bytes = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        std::fs::write(to, bytes).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_backend_composites_and_puts_mediaconvert_events_on_the_bus() {
    let local = local().await;
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
    let compositor = vidpipe_compositor::wiring::compositor(local.config(), &local.sdk).unwrap();
    let camera_etag = local
        .upload("videos/e1_camera.webm", &camera, 1_795_194_000_000)
        .await;
    let screen_etag = local
        .upload("videos/e1.mp4", &screen, 1_795_194_000_000)
        .await;
    compositor
        .handle(local.s3_event("videos/e1_camera.webm", &camera_etag))
        .await
        .unwrap();
    let answer = compositor
        .handle(local.s3_event("videos/e1.mp4", &screen_etag))
        .await
        .unwrap();
    let record = &answer["records"][0];
    assert_eq!(record["outcome"], "submitted", "{answer}");
    let job_id = record["job_id"].as_str().unwrap().to_owned();

    let events = local.job_events(&job_id).await;
    let statuses: Vec<&str> = events
        .iter()
        .map(|e| e["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.first(), Some(&"PROGRESSING"), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&"COMPLETE"), "{events:?}");
    let complete = events.last().unwrap();
    assert_eq!(complete["source"], "aws.mediaconvert");
    assert_eq!(complete["detail-type"], "MediaConvert Job State Change");
    assert!(
        complete["resources"][0]
            .as_str()
            .unwrap()
            .ends_with(&format!(":jobs/{job_id}"))
    );
    let metadata = &complete["detail"]["userMetadata"];
    assert_eq!(metadata["stream"], "e1");
    assert_eq!(metadata["generation"], "1");
    assert_eq!(metadata["kind"], "composite");
    assert_eq!(
        complete["detail"]["outputGroupDetails"][0]["outputDetails"][0]["outputFilePaths"][0],
        format!("s3://{}/videos/e1_composited.mp4", local.bucket)
    );

    let output = dir.path().join("out.mp4");
    local.download("videos/e1_composited.mp4", &output).await;
    let info = media::probe(&output);
    let video = info.video().expect("a video stream");
    assert_eq!((video.width, video.height), (320, 180));
    assert!(info.audio().is_some(), "the screen's audio is kept");
    let frame = Frame::at_time(&output, 1.0);
    assert!(
        colour_close(frame.pixel(80, 60), BLUE, 40),
        "{:?}",
        frame.pixel(80, 60)
    );
    // The camera is 15 % of the width (48 px) in the bottom-right corner with a 2 % margin.
    assert!(
        colour_close(frame.pixel(290, 160), RED, 40),
        "{:?}",
        frame.pixel(290, 160)
    );
    assert!(
        colour_close(frame.pixel(200, 160), BLUE, 40),
        "{:?}",
        frame.pixel(200, 160)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_engine_job_can_be_cancelled_and_reports_canceled() {
    let local = local().await;
    let dir = tempfile::tempdir().unwrap();
    let screen = dir.path().join("long.mp4");
    media::write_mp4(
        &screen,
        &VideoSpec::new(Picture::Solid("green".into()), 320, 180, 25, 20.0),
    );
    local.upload("videos/c1.mp4", &screen, 0).await;
    let bus = vidpipe_aws::eventbridge::EventBus::new(
        aws_sdk_eventbridge::Client::new(&local.sdk),
        &local.bus,
    );
    let engine = vidpipe_engine::Engine::new(vidpipe_engine::Storage::with_s3(local.s3.clone()));
    let transcoder = EngineTranscoder::new(engine, bus);
    let uri = S3Uri::new(&local.bucket, "videos/c1.mp4").unwrap();
    let media = transcoder.probe(&uri).await.unwrap();
    assert_eq!((media.width, media.height), (320, 180));
    let job = single_job(
        &JobContext {
            role: "arn:aws:iam::123456789012:role/mediaconvert".into(),
            queue: None,
        },
        &CompositeOutput::new(&local.bucket, "videos/", "c1").unwrap(),
        &Recording { uri, media },
        &SingleOptions::default(),
    )
    .unwrap();
    let job_id = transcoder.create_job(&job).await.unwrap();
    assert_eq!(
        transcoder.create_job(&job).await.unwrap(),
        job_id,
        "the same token gives the same job"
    );
    assert_eq!(
        transcoder.cancel_job(&job_id).await.unwrap(),
        CancelOutcome::Canceled
    );
    assert_eq!(
        transcoder.cancel_job(&job_id).await.unwrap(),
        CancelOutcome::AlreadyFinished
    );
    let events = local.job_events(&job_id).await;
    let last = events.last().unwrap();
    assert_eq!(last["detail"]["status"], "CANCELED", "{events:?}");
    assert_eq!(last["detail"]["userMetadata"]["kind"], "single");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let out = local
        .s3
        .head_object()
        .bucket(&local.bucket)
        .key("videos/c1_composited.mp4")
        .send()
        .await;
    assert!(out.is_err(), "a cancelled job writes no output");
}

#[tokio::test]
async fn a_corrupt_recording_is_unusable_for_the_engine() {
    let local = local().await;
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.webm");
    std::fs::write(&junk, b"this is not a video").unwrap();
    local.upload("videos/x1_camera.webm", &junk, 0).await;
    let transcoder = EngineTranscoder::new(
        vidpipe_engine::Engine::new(vidpipe_engine::Storage::with_s3(local.s3.clone())),
        vidpipe_aws::eventbridge::EventBus::new(
            aws_sdk_eventbridge::Client::new(&local.sdk),
            &local.bus,
        ),
    );
    let err = transcoder
        .probe(&S3Uri::new(&local.bucket, "videos/x1_camera.webm").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, TranscodeError::Unusable(_)), "{err:?}");
}
