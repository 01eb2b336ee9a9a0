use super::*;

const REALISTIC: &str = include_str!("../../../tests/fixtures/create_job_realistic.json");

#[test]
fn realistic_job_round_trips_without_losing_a_field() {
    let original: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    let job: CreateJobRequest = serde_json::from_str(REALISTIC).unwrap();
    let back = serde_json::to_value(&job).unwrap();
    assert_eq!(back, original);
    let overlay = &job.settings.inputs.as_ref().unwrap()[0]
        .video_overlays
        .as_ref()
        .unwrap()[0];
    assert_eq!(overlay.playback, Some(VideoOverlayPlayback::Once));
    assert_eq!(
        overlay.initial_position.as_ref().unwrap().unit,
        Some(VideoOverlayUnit::Pixels)
    );
}

#[test]
fn unknown_field_is_rejected_with_its_name() {
    let mut value: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    value["Settings"]["Inputs"][0]["VideoOverlays"][0]["InitialPosition"]["Scale"] = 3.into();
    let err = serde_json::from_value::<CreateJobRequest>(value)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `Scale`"), "{err}");
}

#[test]
fn wrong_enum_value_is_rejected_with_the_value() {
    let mut value: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    value["Settings"]["Inputs"][0]["VideoOverlays"][0]["Playback"] = "LOOP".into();
    let err = serde_json::from_value::<CreateJobRequest>(value)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `LOOP`"), "{err}");
}

#[test]
fn absent_optional_members_are_left_out_of_the_json() {
    let job = CreateJobRequest {
        role: "arn:aws:iam::1:role/r".into(),
        settings: JobSettings::default(),
        queue: None,
        user_metadata: None,
        tags: None,
        client_request_token: None,
        status_update_interval: None,
        priority: None,
        acceleration_settings: None,
    };
    assert_eq!(
        serde_json::to_string(&job).unwrap(),
        r#"{"Role":"arn:aws:iam::1:role/r","Settings":{}}"#
    );
}

#[test]
fn enum_wire_strings_match_serde() {
    assert_eq!(VideoCodec::H264.as_str(), "H_264");
    assert_eq!(serde_json::to_value(VideoCodec::H264).unwrap(), "H_264");
    assert_eq!(
        serde_json::to_value(OutputGroupType::FileGroupSettings).unwrap(),
        "FILE_GROUP_SETTINGS"
    );
}

// ---- builders: shared helpers; the tests are in one module per builder -----------------------------------------

mod call_preview;
mod chunk;
mod composite;
mod playback;
mod preview;

use proptest::prelude::*;

use crate::render::{Chunk, RenderRequest};
use crate::s3uri::S3Uri;

/// Where the tests' chunk `index` of `request` goes: `{output without .mp4}/chunks/{index:05}.mp4` (the chunker
/// plans it in the render's work folder; any location shows the job).
fn chunk_at(request: &RenderRequest, index: u32) -> S3Uri {
    let base = request.output.uri.strip_suffix(".mp4").unwrap();
    S3Uri::parse_str(&format!("{base}/chunks/{index:05}.mp4")).unwrap()
}

fn ctx() -> JobContext {
    JobContext {
        role: "arn:aws:iam::123456789012:role/mc".into(),
        queue: None,
    }
}

fn info(width: u32, height: u32, has_audio: bool) -> MediaInfo {
    MediaInfo {
        width,
        height,
        duration_ms: Some(30_000),
        frame_rate: Some(FrameRate::per_second(30)),
        has_audio,
        rotation: 0,
    }
}

fn rec(uri: &str, media: MediaInfo) -> Recording {
    Recording {
        uri: uri.parse().unwrap(),
        media,
    }
}

fn screen() -> Recording {
    rec("s3://bucket/streams/s1.mp4", info(1920, 1080, true))
}

fn camera() -> Recording {
    rec("s3://bucket/streams/s1_camera.webm", info(640, 360, true))
}

fn out() -> CompositeOutput {
    CompositeOutput::new("bucket", "streams/", "s1").unwrap()
}

fn composite(options: CompositeOptions) -> Result<CreateJobRequest, JobError> {
    composite_job(&ctx(), &out(), &screen(), &camera(), &options)
}

fn only_input(job: &CreateJobRequest) -> &Input {
    let inputs = job.settings.inputs.as_ref().unwrap();
    assert_eq!(inputs.len(), 1);
    &inputs[0]
}

fn overlay(job: &CreateJobRequest) -> &VideoOverlay {
    &only_input(job).video_overlays.as_ref().unwrap()[0]
}

fn outputs(job: &CreateJobRequest) -> impl Iterator<Item = &Output> {
    job.settings
        .output_groups
        .iter()
        .flatten()
        .flat_map(|g| g.outputs.iter().flatten())
}

fn file_destination(job: &CreateJobRequest) -> &str {
    let group = &job.settings.output_groups.as_ref().unwrap()[0];
    let settings = group.output_group_settings.as_ref().unwrap();
    settings
        .file_group_settings
        .as_ref()
        .unwrap()
        .destination
        .as_deref()
        .unwrap()
}

fn h264_of(output: &Output) -> &H264Settings {
    let codec = output
        .video_description
        .as_ref()
        .unwrap()
        .codec_settings
        .as_ref()
        .unwrap();
    codec.h264_settings.as_ref().unwrap()
}

const RENDER: &str = r#"{
  "render_id": "promo-42",
  "output": {"uri": "s3://bucket/renders/promo-42.mp4", "width": 1280, "height": 720, "fps": 30},
  "scenes": [
    {"id": "intro", "duration_s": 4.0, "image": "s3://bucket/assets/title.png"},
    {"id": "demo", "duration_s": 95.5, "video": "s3://bucket/assets/demo.mp4", "start_s": 12.0,
     "overlay": {"image": "s3://bucket/assets/product.png", "x": "right", "y": "bottom", "scale": 0.3, "fade_ms": 500}}
  ]
}"#;

fn render_media() -> BTreeMap<String, MediaInfo> {
    BTreeMap::from([(
        "s3://bucket/assets/product.png".to_owned(),
        MediaInfo {
            duration_ms: Some(0),
            frame_rate: None,
            ..info(400, 200, false)
        },
    )])
}
