//! Every setting the planner refuses, without ffmpeg: a CreateJob request built as JSON, media facts built by
//! hand, and `plan()` must fail with the error code and name the field.

mod encoding;
mod inputs;
mod outputs;

use std::path::Path;

use serde_json::{Value, json};

use super::{Media, MediaMap, plan};
use crate::lifecycle::{ERROR_INPUT_ACCESS, ERROR_INVALID_SETTINGS, JobFailure};
use crate::probe::{FrameRate, MediaFacts};

const INVALID: i32 = ERROR_INVALID_SETTINGS;
const ACCESS: i32 = ERROR_INPUT_ACCESS;

/// What ffprobe would say about a file: its picture (if any, at 30 fps), length and number of audio tracks.
fn facts(video: Option<(u32, u32)>, seconds: f64, audio_tracks: i32) -> MediaFacts {
    let rate = FrameRate {
        numerator: 30,
        denominator: 1,
    };
    MediaFacts::assumed(video.map(|(w, h)| (w, h, rate)), seconds, audio_tracks)
}

/// The fetched files the jobs below name.
fn media() -> MediaMap {
    let files = [
        ("s3://in/camera.mp4", facts(Some((640, 360)), 10.0, 1)),
        ("s3://in/overlay.mp4", facts(Some((320, 180)), 5.0, 0)),
        ("s3://in/logo.png", facts(Some((100, 100)), 0.04, 0)),
        ("s3://in/music.m4a", facts(None, 10.0, 1)),
        ("s3://in/silent.m4a", facts(None, 10.0, 0)),
        ("s3://in/odd.mp4", facts(Some((641, 360)), 10.0, 1)),
        ("s3://in/corrupt.png", facts(Some((0, 0)), 0.04, 0)),
    ];
    files
        .into_iter()
        .map(|(uri, facts)| {
            let path = Path::new("/nonexistent").join(uri.rsplit('/').next().unwrap());
            (uri.to_string(), Media { path, facts })
        })
        .collect()
}

/// A job the engine plans: the camera file to one MP4 with H.264 and AAC.
fn job() -> Value {
    json!({
        "Role": "arn:aws:iam::000000000000:role/MediaConvert",
        "Settings": {
            "Inputs": [{
                "FileInput": "s3://in/camera.mp4",
                "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}}
            }],
            "OutputGroups": [{
                "OutputGroupSettings": {
                    "Type": "FILE_GROUP_SETTINGS",
                    "FileGroupSettings": {"Destination": "s3://out/"}
                },
                "Outputs": [{
                    "ContainerSettings": {"Container": "MP4"},
                    "VideoDescription": {"CodecSettings": {
                        "Codec": "H_264",
                        "H264Settings": {"RateControlMode": "CBR", "Bitrate": 1000000}
                    }},
                    "AudioDescriptions": [{"CodecSettings": {
                        "Codec": "AAC",
                        "AacSettings": {"Bitrate": 96000, "CodingMode": "CODING_MODE_2_0", "SampleRate": 48000}
                    }}]
                }]
            }]
        }
    })
}

/// Sets the member at a JSON pointer, creating the objects on the way.
fn set(job: &mut Value, pointer: &str, value: Value) {
    let mut at = job;
    let mut parts = pointer.trim_start_matches('/').split('/').peekable();
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        at = match at {
            Value::Array(items) => {
                let index = part.parse::<usize>().expect("an array index");
                if index == items.len() {
                    items.push(json!({}));
                }
                &mut items[index]
            }
            Value::Object(members) => members.entry(part).or_insert_with(|| json!({})),
            other => panic!("{pointer}: {other} has no member {part}"),
        };
        if last {
            *at = value;
            return;
        }
    }
}

/// Removes the member at a JSON pointer.
fn remove(job: &mut Value, pointer: &str) {
    let (parent, member) = pointer.rsplit_once('/').expect("a member");
    let parent = job.pointer_mut(parent).expect("the parent exists");
    match parent {
        Value::Object(members) => {
            members.remove(member);
        }
        Value::Array(items) => {
            items.remove(member.parse::<usize>().expect("an array index"));
        }
        other => panic!("{pointer}: {other} has no member"),
    }
}

const OUTPUT: &str = "/Settings/OutputGroups/0/Outputs/0";
const GROUP_SETTINGS: &str = "/Settings/OutputGroups/0/OutputGroupSettings";
const H264: &str = "/Settings/OutputGroups/0/Outputs/0/VideoDescription/CodecSettings/H264Settings";
const AAC: &str =
    "/Settings/OutputGroups/0/Outputs/0/AudioDescriptions/0/CodecSettings/AacSettings";
const AT_OUTPUT: &str = "Settings.OutputGroups[0].Outputs[0]";
const AT_SETTINGS: &str = "Settings.OutputGroups[0].OutputGroupSettings";
const AT_H264: &str =
    "Settings.OutputGroups[0].Outputs[0].VideoDescription.CodecSettings.H264Settings";
const AT_AAC: &str =
    "Settings.OutputGroups[0].Outputs[0].AudioDescriptions[0].CodecSettings.AacSettings";

/// The first group as an HLS group of one M3U8 output.
fn hls(job: &mut Value) {
    set(
        job,
        GROUP_SETTINGS,
        json!({"Type": "HLS_GROUP_SETTINGS", "HlsGroupSettings": {"Destination": "s3://out/hls/"}}),
    );
    set(
        job,
        &format!("{OUTPUT}/ContainerSettings"),
        json!({"Container": "M3U8"}),
    );
}

/// The first group as a CMAF group of one video track.
fn cmaf(job: &mut Value) {
    set(
        job,
        GROUP_SETTINGS,
        json!({"Type": "CMAF_GROUP_SETTINGS", "CmafGroupSettings": {"Destination": "s3://out/cmaf/"}}),
    );
    set(
        job,
        &format!("{OUTPUT}/ContainerSettings"),
        json!({"Container": "CMFC"}),
    );
    remove(job, &format!("{OUTPUT}/AudioDescriptions"));
}

/// The first output as frame capture: JPEG stills, no audio.
fn frame_capture(job: &mut Value) {
    set(
        job,
        &format!("{OUTPUT}/VideoDescription/CodecSettings"),
        json!({"Codec": "FRAME_CAPTURE", "FrameCaptureSettings": {"FramerateNumerator": 1, "FramerateDenominator": 1}}),
    );
    set(
        job,
        &format!("{OUTPUT}/ContainerSettings"),
        json!({"Container": "RAW"}),
    );
    remove(job, &format!("{OUTPUT}/AudioDescriptions"));
}

/// The first input as a generated black picture of 2 s.
fn generator(job: &mut Value) {
    set(
        job,
        "/Settings/Inputs/0",
        json!({"VideoGenerator": {"Duration": 2000, "Width": 640, "Height": 360}}),
    );
    // Without a file, nothing names the outputs: the destination names them.
    set(
        job,
        &format!("{GROUP_SETTINGS}/FileGroupSettings/Destination"),
        json!("s3://out/black"),
    );
}

/// One overlay on the first input, with `member` set to `value`.
fn overlay(job: &mut Value, member: &str, value: Value) {
    set(
        job,
        "/Settings/Inputs/0/VideoOverlays",
        json!([{"Input": {"FileInput": "s3://in/overlay.mp4"}}]),
    );
    set(
        job,
        &format!("/Settings/Inputs/0/VideoOverlays/0/{member}"),
        value,
    );
}

/// One inserted image on the first input, with `member` set to `value`.
fn image(job: &mut Value, member: &str, value: Value) {
    set(
        job,
        "/Settings/Inputs/0/ImageInserter/InsertableImages",
        json!([{"ImageInserterInput": "s3://in/logo.png", "ImageX": 0, "ImageY": 0, "Layer": 1}]),
    );
    set(
        job,
        &format!("/Settings/Inputs/0/ImageInserter/InsertableImages/0/{member}"),
        value,
    );
}

fn planned(job: &Value) -> Result<super::Plan, JobFailure> {
    let request = serde_json::from_value(job.clone()).expect("the request deserializes");
    plan(&request, &media(), Path::new("/nonexistent/work"))
}

/// One refusal: what the edit does to the job, the error code, and the field the message names.
type Case = (&'static str, fn(&mut Value), i32, String);

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for (name, edit, code, field) in cases {
        let mut request = job();
        edit(&mut request);
        match planned(&request) {
            Ok(_) => failures.push(format!(
                "{name}: planned, expected error {code} naming [{field}]"
            )),
            Err(error) => {
                if error.code != *code || !error.message.contains(&format!("[{field}]")) {
                    failures.push(format!(
                        "{name}: got {error}, expected error {code} naming [{field}]"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_jobs_the_refusals_start_from_are_planned_without_touching_the_disk() {
    let edits: [fn(&mut Value); 5] = [|_| {}, hls, cmaf, frame_capture, generator];
    for edit in edits {
        let mut request = job();
        edit(&mut request);
        let plan = planned(&request).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.groups.len(), 1);
        assert!(plan.groups[0].local_dir.starts_with("/nonexistent/work"));
    }
    assert!(
        !Path::new("/nonexistent").exists(),
        "planning creates no folder"
    );
}
