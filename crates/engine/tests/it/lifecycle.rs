//! Lifecycle, errors, the wire form, S3 I/O against moto, and Probe.

use std::path::Path;
use std::time::Duration;

use crate::common::{
    Recorder, assert_complete, file_job, first_output, mp4_output, run_local, run_with,
};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::json;
use vidpipe_engine::{Engine, JobStatus, Storage};
use vidpipe_testkit::media::{self, Picture, VideoSpec};
use vidpipe_testkit::moto::MotoServer;
use vidpipe_testkit::unique_name;

async fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(MotoServer::shared().endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

async fn bucket(client: &aws_sdk_s3::Client) -> String {
    let name = unique_name("engine");
    client.create_bucket().bucket(&name).send().await.unwrap();
    name
}

fn small_video(dir: &Path, name: &str) -> std::path::PathBuf {
    let file = dir.join(name);
    media::write_mp4(
        &file,
        &VideoSpec::new(Picture::Solid("red".into()), 320, 180, 10, 1.0).with_tone(440),
    );
    file
}

#[tokio::test]
async fn s3_input_and_output_round_trip_through_moto() {
    let client = s3_client().await;
    let bucket = bucket(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let file = small_video(dir.path(), "screen.mp4");
    client
        .put_object()
        .bucket(&bucket)
        .key("in/abc.mp4")
        .body(ByteStream::from_path(&file).await.unwrap())
        .send()
        .await
        .unwrap();
    let inputs = json!([{"FileInput": format!("s3://{bucket}/in/abc.mp4"),
        "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}}}]);
    let request = file_job(
        inputs,
        &format!("s3://{bucket}/out/abc_composited"),
        json!([mp4_output(None, true)]),
    );
    let engine = Engine::new(Storage::with_s3(client.clone()));
    let (job, recorder) = run_with(&engine, &request).await;
    assert_complete(&job);
    assert_eq!(
        first_output(&recorder.events),
        format!("s3://{bucket}/out/abc_composited.mp4")
    );
    assert_eq!(
        vidpipe_testkit::s3::keys(&client, &bucket, "").await,
        ["in/abc.mp4", "out/abc_composited.mp4"]
    );
    let object = client
        .get_object()
        .bucket(&bucket)
        .key("out/abc_composited.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("video/mp4"));
    let local = dir.path().join("downloaded.mp4");
    std::fs::write(&local, object.body.collect().await.unwrap().into_bytes()).unwrap();
    let info = media::probe(&local);
    assert_eq!(info.video().map(|v| (v.width, v.height)), Some((320, 180)));
    assert_eq!(info.audio().map(|a| a.codec.as_str()), Some("aac"));

    let probe = engine
        .probe(&[format!("s3://{bucket}/in/abc.mp4")])
        .await
        .unwrap();
    let result = serde_json::to_value(&probe).unwrap();
    let container = &result["ProbeResults"][0]["Container"];
    assert_eq!(container["Format"], "mp4");
    assert_eq!(container["Tracks"][0]["Codec"], "AVC");
    assert_eq!(container["Tracks"][0]["VideoProperties"]["Width"], 320);
    assert_eq!(
        container["Tracks"][0]["VideoProperties"]["FrameRate"],
        json!({"Numerator": 10, "Denominator": 1})
    );
    assert_eq!(container["Tracks"][1]["Codec"], "AAC");
    assert_eq!(
        result["ProbeResults"][0]["Metadata"]["FileSize"],
        std::fs::metadata(&file).unwrap().len()
    );
    assert!(result["ProbeResults"][0]["Metadata"]["ETag"].is_string());
    assert_eq!(
        result["ProbeResults"][0]["TrackMappings"][0]["AudioTrackIndexes"],
        json!([2])
    );
}

#[tokio::test]
async fn a_missing_input_fails_with_1010_and_writes_nothing() {
    let client = s3_client().await;
    let bucket = bucket(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let present = small_video(dir.path(), "present.mp4");
    let missing = format!("s3://{bucket}/in/missing.mp4");
    // The first input exists, the second does not: nothing may be written.
    let inputs = json!([{"FileInput": present.display().to_string()}, {"FileInput": missing}]);
    let request = file_job(
        inputs,
        &format!("s3://{bucket}/out/"),
        json!([mp4_output(None, false)]),
    );
    let engine = Engine::new(Storage::with_s3(client.clone()));
    let (job, recorder) = run_with(&engine, &request).await;
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.error_code, Some(1010));
    let message = job.error_message.clone().unwrap();
    assert!(
        message.starts_with(&format!("Unable to open input file [{missing}]")),
        "{message}"
    );
    let error = recorder.events.last().unwrap();
    assert_eq!(error["detail"]["status"], "ERROR");
    assert_eq!(error["detail"]["errorCode"], 1010);
    assert_eq!(error["detail"]["errorMessage"], message.as_str());
    assert!(
        vidpipe_testkit::s3::keys(&client, &bucket, "")
            .await
            .is_empty(),
        "no output object"
    );

    let local_out = dir.path().join("out");
    let request = file_job(
        json!([{"FileInput": dir.path().join("nope.mp4").display().to_string()}]),
        &format!("{}/", local_out.display()),
        json!([mp4_output(None, false)]),
    );
    let (job, _) = run_local(&request).await;
    assert_eq!(job.error_code, Some(1010));
    assert!(
        !local_out.exists(),
        "no local output folder or partial file"
    );
}

#[tokio::test]
async fn an_input_that_is_not_media_fails_with_1010_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let not_media = dir.path().join("notes.mp4");
    std::fs::write(&not_media, b"this is not a video").unwrap();
    let out = dir.path().join("out");
    let request = file_job(
        json!([{"FileInput": not_media.display().to_string()}]),
        &format!("{}/x", out.display()),
        json!([mp4_output(None, false)]),
    );
    let (job, _) = run_local(&request).await;
    assert_eq!(job.error_code, Some(1010), "{:?}", job.error_message);
    assert!(!out.exists());
}

/// A recording that passes the probe (a valid container, an H.264 track of a known size and length) but whose frames
/// cannot be decoded: the job fails with an input error (1010), as MediaConvert's does for a corrupt input, not as an
/// unknown transcoding failure, so the compositor can make the output from the other recording.
#[tokio::test]
async fn an_input_that_probes_but_does_not_decode_fails_with_1010_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let camera = dir.path().join("camera.webm");
    media::write_undecodable_mkv(
        &camera,
        &VideoSpec::new(Picture::Solid("red".into()), 160, 90, 10, 1.0),
    );
    let engine = Engine::new(Storage::local());
    let probe = engine
        .probe(&[camera.display().to_string()])
        .await
        .expect("the probe reads it");
    let probed = serde_json::to_value(&probe).unwrap();
    let track = &probed["ProbeResults"][0]["Container"]["Tracks"][0];
    assert_eq!(track["Codec"], "AVC");
    assert_eq!(track["VideoProperties"]["Width"], 160);
    let out = dir.path().join("out");
    let request = file_job(
        json!([{"FileInput": camera.display().to_string()}]),
        &format!("{}/x", out.display()),
        json!([mp4_output(None, false)]),
    );
    let (job, _) = run_local(&request).await;
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.error_code, Some(1010), "{:?}", job.error_message);
    let message = job.error_message.unwrap_or_default();
    assert!(message.starts_with("Unable to decode input"), "{message}");
    assert!(!out.join("x.mp4").exists());
}

#[tokio::test]
async fn an_image_with_a_valid_header_and_corrupt_pixels_fails_with_1010_instead_of_hanging() {
    // A looped image that never decodes would keep ffmpeg spinning: the job must end, with the image named.
    let dir = tempfile::tempdir().unwrap();
    let screen = dir.path().join("screen.mp4");
    media::write_mp4(
        &screen,
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 10, 1.0),
    );
    let logo = dir.path().join("logo.png");
    media::write_png_with_corrupt_pixels(&logo, 64, 32);
    let out = dir.path().join("out");
    let request = file_job(
        json!([{"FileInput": screen.display().to_string(),
                "ImageInserter": {"InsertableImages": [{"ImageInserterInput": logo.display().to_string(),
                    "ImageX": 10, "ImageY": 10, "Layer": 1, "Opacity": 100}]}}]),
        &format!("{}/x", out.display()),
        json!([mp4_output(None, false)]),
    );
    let (job, _) = tokio::time::timeout(Duration::from_secs(60), run_local(&request))
        .await
        .expect("the job ends");
    assert_eq!(job.error_code, Some(1010), "{:?}", job.error_message);
    let message = job.error_message.unwrap_or_default();
    assert!(
        message.contains("logo.png") && message.contains("ImageInserterInput"),
        "{message}"
    );
    assert!(!out.exists());
}

#[tokio::test]
async fn unimplemented_or_unknown_fields_fail_with_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let source = small_video(dir.path(), "a.mp4").display().to_string();
    let out = dir.path().join("out");
    let mut request = file_job(
        json!([{"FileInput": source}]),
        &format!("{}/", out.display()),
        json!([mp4_output(None, false)]),
    );
    request["Settings"]["Inputs"][0]["VideoSelector"] = json!({"PadVideo": "BLACK"});
    let (job, _) = run_local(&request).await;
    assert_eq!(job.error_code, Some(1030));
    assert!(
        job.error_message
            .as_deref()
            .unwrap()
            .contains("Settings.Inputs[0].VideoSelector.PadVideo"),
        "{:?}",
        job.error_message
    );

    request["Settings"]["Inputs"][0]["VideoSelector"] = json!({"Rotate": "AUTO"});
    request["Settings"]["Inputs"][0]["DeblockFilter"] = json!("ENABLED");
    let (job, _) = run_local(&request).await;
    assert_eq!(job.error_code, Some(1030));
    assert!(
        job.error_message
            .as_deref()
            .unwrap()
            .contains("DeblockFilter"),
        "{:?}",
        job.error_message
    );

    let mut request = file_job(
        json!([{"FileInput": source}]),
        &format!("{}/", out.display()),
        json!([mp4_output(None, false)]),
    );
    request["Settings"]["OutputGroups"][0]["Outputs"][0]["VideoDescription"]["CodecSettings"]["H264Settings"] =
        json!({"RateControlMode": "QVBR"});
    let (job, _) = run_local(&request).await;
    assert_eq!(job.error_code, Some(1030));
    assert!(
        job.error_message
            .as_deref()
            .unwrap()
            .contains("H264Settings.MaxBitrate"),
        "{:?}",
        job.error_message
    );
    assert!(!out.exists());
}

#[tokio::test]
async fn the_camel_case_wire_form_runs_and_the_lifecycle_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let source = small_video(dir.path(), "wire.mp4").display().to_string();
    let destination = format!("{}/out/", dir.path().display());
    let request = json!({
        "role": "arn:aws:iam::000000000000:role/MediaConvert",
        "userMetadata": {"streamId": "Abc_1"},
        "settings": {
            "inputs": [{"fileInput": source, "audioSelectors": {"Audio Selector 1": {"defaultSelection": "DEFAULT"}}}],
            "outputGroups": [{
                "outputGroupSettings": {"type": "FILE_GROUP_SETTINGS", "fileGroupSettings": {"destination": destination}},
                "outputs": [{
                    "containerSettings": {"container": "MP4"},
                    "videoDescription": {"width": 160, "codecSettings": {"codec": "H_264",
                        "h264Settings": {"rateControlMode": "QVBR", "maxBitrate": 1000000}}},
                    "audioDescriptions": [{"codecSettings": {"codec": "AAC", "aacSettings": {"bitrate": 96000,
                        "codingMode": "CODING_MODE_2_0", "sampleRate": 48000}}}]
                }]
            }]
        }
    });
    let engine = Engine::new(Storage::local()).with_status_update_interval(Duration::ZERO);
    let mut recorder = Recorder::default();
    let job = engine.run(&request, &mut recorder).await;
    assert_complete(&job);
    assert_eq!(
        first_output(&recorder.events),
        format!("{destination}wire.mp4")
    );
    let statuses: Vec<JobStatus> = recorder.jobs.iter().map(|j| j.status).collect();
    assert_eq!(statuses.first(), Some(&JobStatus::Submitted));
    assert!(statuses.contains(&JobStatus::Progressing));
    assert_eq!(statuses.last(), Some(&JobStatus::Complete));
    let percents: Vec<u32> = recorder
        .jobs
        .iter()
        .filter_map(|j| j.job_percent_complete)
        .collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "percent complete only grows: {percents:?}"
    );
    assert!(
        percents.iter().any(|p| *p > 0 && *p < 100),
        "intermediate progress: {percents:?}"
    );
    assert_eq!(percents.last(), Some(&100));
    let kinds: Vec<&str> = recorder
        .events
        .iter()
        .map(|e| e["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"PROGRESSING"));
    assert!(kinds.contains(&"STATUS_UPDATE"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"COMPLETE"));
    let complete = recorder.events.last().unwrap();
    assert_eq!(complete["detail-type"], "MediaConvert Job State Change");
    assert_eq!(complete["detail"]["jobId"], job.id.as_str());
    assert_eq!(
        complete["detail"]["userMetadata"],
        json!({"streamId": "Abc_1"})
    );
    let detail = &complete["detail"]["outputGroupDetails"][0];
    assert_eq!(detail["type"], "FILE_GROUP");
    assert_eq!(
        detail["outputDetails"][0]["videoDetails"],
        json!({"widthInPx": 160, "heightInPx": 90})
    );
    assert!((detail["outputDetails"][0]["durationInMs"].as_i64().unwrap() - 1000).abs() <= 100);
}
