//! The engine's planner: CreateJob JSON into the ffmpeg run it would make, over assumed probe answers.

use vidpipe_core::job::CreateJobRequest;
use vidpipe_engine::{
    AssumedMedia, DryPlan, ERROR_INPUT_ACCESS, ERROR_INVALID_SETTINGS, FrameRate, JobFailure,
    dry_plan,
};

use crate::json;

/// Still-image extensions (what the image inserter and video generator read).
const IMAGES: [&str; 4] = ["png", "tga", "bmp", "jpg"];
/// Audio-only extensions (soundtracks, external audio).
const AUDIO: [&str; 5] = ["wav", "m4a", "mp3", "aac", "ogg"];

/// What a file is taken to be, by its URI: a 640x360 still for an image, `seconds` of stereo audio for an audio
/// file, else a 1280x720 video at `fps` with audio, `seconds` long.
pub(crate) fn assumed(uri: &str, fps: i32, seconds: f64) -> AssumedMedia {
    let extension = uri.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let is = |list: &[&str]| extension.as_deref().is_some_and(|e| list.contains(&e));
    let rate = |numerator| FrameRate {
        numerator,
        denominator: 1,
    };
    if is(&IMAGES) {
        AssumedMedia {
            video: Some((640, 360, rate(25))),
            seconds: 0.04,
            has_audio: false,
        }
    } else if is(&AUDIO) {
        AssumedMedia {
            video: None,
            seconds,
            has_audio: true,
        }
    } else {
        AssumedMedia {
            video: Some((1280, 720, rate(fps))),
            seconds,
            has_audio: true,
        }
    }
}

/// Checks the planner on a CreateJob request, over [`assumed`] media (videos at 30 fps, 10 minutes long), except that
/// a URI saying `missing` cannot be read: it never panics, and either plans an ffmpeg run (arguments without
/// NUL, which no process argument can hold, over a finite, non-negative timeline) or refuses with a job error
/// (invalid settings, 1030, or an unreadable input, 1010); and a request the model reads, serialised and read
/// again, is the same request.
pub fn engine_plan(data: &[u8]) {
    let Some(request) = json(data) else { return };
    // The result is checked inside; a refusal is a valid outcome here.
    let _ = check_planned(&request, |uri| {
        (!uri.contains("missing")).then(|| assumed(uri, 30, 600.0))
    });
    if let Ok(model) = serde_json::from_value::<CreateJobRequest>(request) {
        let again = serde_json::to_value(&model).expect("a CreateJob request serialises");
        let again: CreateJobRequest =
            serde_json::from_value(again).expect("a serialised CreateJob request reads");
        assert_eq!(again, model);
    }
}

/// Plans `request` over the media `assume` describes and checks the answer.
pub(crate) fn check_planned(
    request: &serde_json::Value,
    assume: impl Fn(&str) -> Option<AssumedMedia>,
) -> Result<DryPlan, JobFailure> {
    let planned = dry_plan(request, assume);
    match &planned {
        Ok(plan) => {
            assert!(!plan.args.is_empty(), "a plan without arguments");
            assert!(
                plan.duration.is_finite() && plan.duration >= 0.0,
                "a timeline of {} s",
                plan.duration
            );
            if let Some(arg) = plan.args.iter().find(|a| a.contains('\0')) {
                panic!("an ffmpeg argument holds NUL: {arg:?}");
            }
        }
        Err(failure) => assert!(
            [ERROR_INVALID_SETTINGS, ERROR_INPUT_ACCESS].contains(&failure.code),
            "refused with {failure}"
        ),
    }
    planned
}
