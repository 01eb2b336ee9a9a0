//! Playback jobs' events on moto: the package moves forward only, and COMPLETE writes the storyboard (sprites tiled
//! from ffmpeg-written thumbnails in S3, and the WebVTT) before the package is `ready`; thumbnails that are missing
//! fail the package.

use serde_json::Value;
use vidpipe_aws::dynamo::DynamoPlaybacks;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::publisher::EventBridgePublisher;
use vidpipe_core::playback::PlaybackPackage;
use vidpipe_core::ports::PlaybackStore;
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_notifier::wiring::LambdaNotifier;
use vidpipe_testkit::media::{self, Frame};
use vidpipe_testkit::moto::{BusCapture, MotoServer};
use vidpipe_testkit::unique_name;

use crate::moto::{fixture, notifier};

const FOLDER: &str = "videos/recordings/room-1/rec-1/talk/playback/";

struct Stack {
    notifier: LambdaNotifier,
    bus: BusCapture,
    playbacks: DynamoPlaybacks,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

async fn stack() -> Stack {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique_name("playback");
    vidpipe_aws::provision::create_table(&ddb, &table)
        .await
        .unwrap();
    let s3 = vidpipe_aws::s3::client(&sdk, true);
    let bucket = unique_name("playback");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let bus = BusCapture::create(&sdk, "vidpipe").await;
    let publisher = EventBridgePublisher::new(EventBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        &bus.bus_name,
    ));
    let playbacks = DynamoPlaybacks::new(ddb, &table);
    let package = PlaybackPackage {
        asset: "recording/rec-1".into(),
        owner: "jwt:u1".into(),
        bucket: bucket.clone(),
        folder: FOLDER.into(),
        status: StreamStatus::Queued,
        mp4_key: format!("{FOLDER}video.mp4"),
        poster: "poster.0000001.jpg".into(),
        duration_ms: None,
        width: None,
        height: None,
        error_code: None,
        source_etag: None,
        job_id: None,
        cost: None,
    };
    assert!(playbacks.put_queued(&package, u64::MAX / 2).await.unwrap());
    Stack {
        notifier: notifier(&sdk, &table, publisher),
        bus,
        playbacks,
        s3,
        bucket,
    }
}

impl Stack {
    /// The sample event of `name`, in this stack's bucket.
    fn event(&self, name: &str) -> Value {
        let text = fixture(name)
            .to_string()
            .replace("vidpipe-local", &self.bucket);
        serde_json::from_str(&text).unwrap()
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    async fn get(&self, key: &str) -> (Vec<u8>, Option<String>) {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let content_type = object.content_type().map(str::to_owned);
        let body = object.body.collect().await.unwrap().into_bytes().to_vec();
        (body, content_type)
    }

    async fn status(&self) -> PlaybackPackage {
        self.playbacks
            .get("recording/rec-1")
            .await
            .unwrap()
            .unwrap()
    }
}

/// Three 160x90 JPEG thumbnails as the job's frame capture writes them: red, lime, blue.
fn thumbnails() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    ["red", "lime", "blue"]
        .iter()
        .map(|colour| {
            let file = dir.path().join(format!("{colour}.jpg"));
            media::ffmpeg(
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    &format!("color=c={colour}:size=160x90"),
                    "-frames:v",
                    "1",
                    &file.display().to_string(),
                ]
                .map(String::from),
            );
            std::fs::read(file).unwrap()
        })
        .collect()
}

fn playback_event(stack: &Stack, status: &str) -> Value {
    let mut event = stack.event("complete-playback.json");
    if status != "COMPLETE" {
        let detail = event["detail"].as_object_mut().unwrap();
        detail.remove("outputGroupDetails");
        detail.insert("status".into(), status.into());
    }
    event
}

#[tokio::test]
async fn complete_writes_the_storyboard_then_the_package_is_ready_and_stays_so() {
    let stack = stack().await;
    for (index, jpeg) in thumbnails().into_iter().enumerate() {
        stack
            .put(&format!("{FOLDER}thumbs/thumb.{index:07}.jpg"), jpeg)
            .await;
    }
    let answer = stack
        .notifier
        .handle(playback_event(&stack, "PROGRESSING"))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "playback_applied", "{answer}");
    assert_eq!(stack.status().await.status, StreamStatus::Processing);

    let answer = stack
        .notifier
        .handle(playback_event(&stack, "COMPLETE"))
        .await
        .unwrap();
    assert_eq!(answer["status"], "ready", "{answer}");
    let package = stack.status().await;
    assert_eq!(
        (package.duration_ms, package.width, package.height),
        (Some(5000), Some(1280), Some(720))
    );
    // The job's six outputs at 41,100 micro-dollars a minute together, 5 s billed as 10 s each.
    let cost = package.cost.expect("the job's cost on the package's item");
    assert_eq!((cost.micro_usd, cost.output_seconds), (6_850, 60));
    let (vtt, content_type) = stack.get(&format!("{FOLDER}storyboard.vtt")).await;
    assert_eq!(content_type.as_deref(), Some("text/vtt"));
    assert_eq!(
        String::from_utf8(vtt).unwrap(),
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard_000.jpg#xywh=0,0,160,90\n\
         \n00:00:02.000 --> 00:00:04.000\nstoryboard_000.jpg#xywh=160,0,160,90\n\
         \n00:00:04.000 --> 00:00:05.000\nstoryboard_000.jpg#xywh=320,0,160,90\n"
    );
    let (sprite, content_type) = stack.get(&format!("{FOLDER}storyboard_000.jpg")).await;
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sprite.jpg");
    std::fs::write(&file, sprite).unwrap();
    let sprite = Frame::at_index(&file, 0);
    assert_eq!((sprite.width, sprite.height), (480, 90));
    assert!(media::colour_close(sprite.pixel(400, 45), [0, 0, 255], 40));

    let announced = stack.bus.drain().await;
    let ready: Vec<_> = announced
        .iter()
        .filter(|e| e["detail-type"] == "playback.ready")
        .collect();
    assert_eq!(ready.len(), 1, "{announced:?}");
    assert_eq!(ready[0]["detail"]["id"], "playback.ready:recording/rec-1");
    assert_eq!(ready[0]["detail"]["data"]["width"], 1280);
    assert_eq!(
        ready[0]["detail"]["data"]["cost"]["basis"],
        "mediaconvert-on-demand"
    );

    // A late PROGRESSING and a redelivered COMPLETE change nothing.
    for status in ["PROGRESSING", "COMPLETE"] {
        let answer = stack
            .notifier
            .handle(playback_event(&stack, status))
            .await
            .unwrap();
        assert_eq!(answer["outcome"], "playback_stale", "{status}: {answer}");
    }
    assert_eq!(stack.status().await.status, StreamStatus::Ready);
    // The redelivered COMPLETE announced `ready` again under the same id (a crash may have lost the first).
    let again = stack.bus.drain().await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["detail"]["id"], "playback.ready:recording/rec-1");
}

#[tokio::test]
async fn missing_thumbnails_fail_the_package_and_an_error_fails_it_with_its_code() {
    let stack = stack().await;
    let answer = stack
        .notifier
        .handle(playback_event(&stack, "COMPLETE"))
        .await
        .unwrap();
    assert_eq!(answer["status"], "failed", "{answer}");
    assert_eq!(
        stack.status().await.error_code.as_deref(),
        Some("storyboard_failed")
    );

    let stack = self::stack().await;
    let mut error = playback_event(&stack, "ERROR");
    error["detail"]["errorCode"] = 1040.into();
    let answer = stack.notifier.handle(error).await.unwrap();
    assert_eq!(answer["status"], "failed", "{answer}");
    assert_eq!(stack.status().await.error_code.as_deref(), Some("1040"));
    let announced = stack.bus.drain().await;
    assert!(
        announced
            .iter()
            .any(|e| e["detail-type"] == "playback.failed"
                && e["detail"]["data"]["error"]["code"] == "1040"),
        "{announced:?}"
    );
}

#[tokio::test]
async fn a_job_of_an_earlier_source_does_not_move_a_package_made_again() {
    let stack = stack().await;
    let mut again = stack.status().await;
    again.source_etag = Some("e-composite".into());
    let again = again.in_own_folder();
    assert!(
        stack
            .playbacks
            .replace_queued(&again, u64::MAX / 2, None)
            .await
            .unwrap()
    );
    let from = |source: &str| {
        let mut error = playback_event(&stack, "ERROR");
        error["detail"]["errorCode"] = 1040.into();
        error["detail"]["userMetadata"]["source"] = source.into();
        error
    };
    let answer = stack.notifier.handle(from("e-fallback")).await.unwrap();
    assert_eq!(answer["outcome"], "playback_stale", "{answer}");
    assert_eq!(stack.status().await.status, StreamStatus::Queued);
    assert!(stack.bus.drain().await.is_empty());
    let answer = stack.notifier.handle(from("e-composite")).await.unwrap();
    assert_eq!(answer["status"], "failed", "{answer}");
    // Announced under an id of its own source: not a repeat of the first package's.
    let announced = stack.bus.drain().await;
    assert!(
        announced
            .iter()
            .any(|e| e["detail"]["id"] == "playback.failed:recording/rec-1:e-composite"),
        "{announced:?}"
    );
}

#[tokio::test]
async fn the_complete_of_a_deleted_package_removes_what_its_job_wrote_late() {
    let stack = stack().await;
    // The recording was deleted (its folder and its package's item) while the job ran on a backend that could not
    // stop it; the job then wrote its package.
    stack.playbacks.delete("recording/rec-1").await.unwrap();
    for file in ["index.m3u8", "video.mp4", "thumbs/thumb.0000000.jpg"] {
        stack
            .put(&format!("{FOLDER}{file}"), b"late".to_vec())
            .await;
    }
    let beside = "videos/recordings/room-1/rec-2/talk.webm";
    stack.put(beside, b"another recording".to_vec()).await;

    let answer = stack
        .notifier
        .handle(playback_event(&stack, "COMPLETE"))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    assert_eq!(
        vidpipe_testkit::s3::keys(&stack.s3, &stack.bucket, "").await,
        [beside],
        "the late package removed, nothing else"
    );
    assert!(
        stack
            .playbacks
            .get("recording/rec-1")
            .await
            .unwrap()
            .is_none()
    );

    // A destination outside a package folder is never removed.
    stack
        .put(&format!("{FOLDER}index.m3u8"), b"late".to_vec())
        .await;
    let mut elsewhere = playback_event(&stack, "COMPLETE");
    elsewhere["detail"]["userMetadata"]["destination"] =
        format!("s3://{}/videos/recordings/room-1/", stack.bucket).into();
    stack.notifier.handle(elsewhere).await.unwrap();
    assert_eq!(
        vidpipe_testkit::s3::keys(&stack.s3, &stack.bucket, "").await,
        [format!("{FOLDER}index.m3u8"), beside.to_owned()]
    );
}
