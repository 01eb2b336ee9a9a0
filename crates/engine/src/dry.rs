//! Planning a job without running it: the part of [`crate::Engine::run`] between reading the request and starting
//! ffmpeg, with the probe answers supplied by the caller. Pure: reads no file, starts no tool.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::lifecycle::JobFailure;
use crate::plan::{self, Media, MediaMap};
use crate::probe::{FrameRate, MediaFacts};
use crate::run::read_request;
use crate::wire;

/// What a dry plan takes a file the job names to be, in place of probing it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssumedMedia {
    /// Width, height and frame rate of its picture, if it has one.
    pub video: Option<(u32, u32, FrameRate)>,
    /// Its length in seconds.
    pub seconds: f64,
    /// Whether it has an audio track.
    pub has_audio: bool,
}

/// The ffmpeg run a job would make.
#[derive(Debug, Clone, PartialEq)]
pub struct DryPlan {
    /// ffmpeg's arguments: inputs, filter graph, outputs (under the relative folder `dry-run/`).
    pub args: Vec<String>,
    /// Length of the output timeline in seconds.
    pub duration: f64,
}

/// Plans `request` (CreateJob JSON, PascalCase or the SDK's camelCase wire form, as [`crate::Engine::run`] takes
/// it) into the ffmpeg run it would make, taking each file the job names to be what `assume` says of its URI
/// (`None`: the file cannot be read). Refuses a job as `Engine::run` would, with the same [`JobFailure`]: an
/// invalid or unsupported setting (1030) or an input that cannot be read (1010). Checks a job where ffmpeg is not
/// installed, and lets the planner be fuzzed.
pub fn dry_plan(
    request: &Value,
    assume: impl Fn(&str) -> Option<AssumedMedia>,
) -> Result<DryPlan, JobFailure> {
    let request = read_request(&wire::to_pascal_case(request))?;
    let mut media = MediaMap::new();
    for (uri, field) in plan::media_uris(&request)? {
        if media.contains_key(&uri) {
            continue;
        }
        let assumed = assume(&uri)
            .ok_or_else(|| JobFailure::input_access(&uri, format!("{field} cannot be read")))?;
        let facts =
            MediaFacts::assumed(assumed.video, assumed.seconds, i32::from(assumed.has_audio));
        let path = PathBuf::from(&uri);
        media.insert(uri, Media { path, facts });
    }
    let plan = plan::plan(&request, &media, Path::new("dry-run"))?;
    Ok(DryPlan {
        args: plan.args,
        duration: plan.duration,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::lifecycle::{ERROR_INPUT_ACCESS, ERROR_INVALID_SETTINGS};

    fn camera(uri: &str) -> Option<AssumedMedia> {
        (uri == "s3://in/camera.mp4").then_some(AssumedMedia {
            video: Some((
                640,
                360,
                FrameRate {
                    numerator: 30,
                    denominator: 1,
                },
            )),
            seconds: 10.0,
            has_audio: true,
        })
    }

    /// The SDK's camelCase form of a one-input, one-MP4 job.
    fn job(input: &str) -> Value {
        json!({"role": "arn:aws:iam::000000000000:role/MediaConvert", "settings": {
            "inputs": [{"fileInput": input,
                        "audioSelectors": {"Audio Selector 1": {"defaultSelection": "DEFAULT"}}}],
            "outputGroups": [{
                "outputGroupSettings": {"type": "FILE_GROUP_SETTINGS",
                                        "fileGroupSettings": {"destination": "s3://out/"}},
                "outputs": [{
                    "containerSettings": {"container": "MP4"},
                    "videoDescription": {"codecSettings": {"codec": "H_264",
                        "h264Settings": {"rateControlMode": "CBR", "bitrate": 1000000}}},
                    "audioDescriptions": [{"codecSettings": {"codec": "AAC",
                        "aacSettings": {"bitrate": 96000, "codingMode": "CODING_MODE_2_0",
                                        "sampleRate": 48000}}}]
                }]
            }]
        }})
    }

    #[test]
    fn a_job_plans_into_an_ffmpeg_run_over_the_assumed_inputs() {
        let plan = dry_plan(&job("s3://in/camera.mp4"), camera).unwrap();
        assert_eq!(plan.duration, 10.0);
        assert!(plan.args.iter().any(|a| a == "s3://in/camera.mp4"));
        assert!(plan.args.iter().any(|a| a.starts_with("dry-run/group0/")));
    }

    #[test]
    fn an_unreadable_input_and_a_malformed_job_are_refused_as_a_run_refuses_them() {
        let unreadable = dry_plan(&job("s3://in/missing.mp4"), camera).unwrap_err();
        assert_eq!(unreadable.code, ERROR_INPUT_ACCESS);
        assert!(unreadable.message.contains("Settings.Inputs[0].FileInput"));
        let malformed = dry_plan(&json!({"Settings": {"Inputs": 5}}), camera).unwrap_err();
        assert_eq!(malformed.code, ERROR_INVALID_SETTINGS);
    }

    /// Found by fuzzing (fuzz/corpus/engine_plan/regression-nul-in-input.json): an input URI holding NUL reached
    /// ffmpeg's arguments in a dry plan; a run refused it only when the fetch failed.
    #[test]
    fn an_input_uri_holding_nul_is_unreadable() {
        let readable = |_: &str| camera("s3://in/camera.mp4");
        let refused = dry_plan(&job("s3://in/cam\0era.mp4"), readable).unwrap_err();
        assert_eq!(refused.code, ERROR_INPUT_ACCESS);
        assert!(
            refused
                .message
                .contains("Settings.Inputs[0].FileInput holds a NUL"),
            "{refused}"
        );
    }
}
