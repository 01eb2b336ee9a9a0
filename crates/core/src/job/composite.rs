//! Builders a (screen + camera picture-in-picture) and b (one recording), both writing the stream's
//! `{prefix}{stream}_composited.mp4`.

use serde::{Deserialize, Serialize};

use super::encoding::{aac_stereo, audio_selectors, h264, h264_qvbr, mp4_file_group, video};
use super::pip::{PipLayout, place};
use super::*;
use crate::s3uri::S3Uri;

/// A recording in S3 and its probe results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// Where it is.
    pub uri: S3Uri,
    /// What it is.
    pub media: MediaInfo,
}

/// Options of a composite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompositeOptions {
    /// Camera placement.
    pub layout: PipLayout,
    /// Maximum output width (default 1920).
    pub max_width: u32,
    /// Camera start minus screen start, in milliseconds (from the two recordings' start times): positive when the
    /// camera started later, negative when it started first.
    pub camera_offset_ms: i64,
}

impl Default for CompositeOptions {
    fn default() -> Self {
        Self {
            layout: PipLayout::default(),
            max_width: DEFAULT_MAX_WIDTH,
            camera_offset_ms: 0,
        }
    }
}

/// Options of a single-source job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SingleOptions {
    /// Maximum output width (default 1920).
    pub max_width: u32,
}

impl Default for SingleOptions {
    fn default() -> Self {
        Self {
            max_width: DEFAULT_MAX_WIDTH,
        }
    }
}

/// QVBR quality of composites and single-source outputs.
const QUALITY: i32 = 7;

/// GOP length of MP4 file outputs, in seconds.
const FILE_GOP_SECONDS: f64 = 2.0;

/// The picture-in-picture composite: the screen is the base input, the camera a `VideoOverlay` placed in pixels.
///
/// The overlay plays once on ZEROBASED timecodes. A positive `camera_offset_ms` becomes the overlay's
/// `StartTimecode`; a negative one clips the camera's beginning instead. Audio comes from the screen when it has
/// audio; otherwise the output has none.
pub fn composite_job(
    context: &JobContext,
    output: &CompositeOutput,
    screen: &Recording,
    camera: &Recording,
    options: &CompositeOptions,
) -> Result<CreateJobRequest, JobError> {
    output.check()?;
    check_media("screen", &screen.media)?;
    check_media("camera", &camera.media)?;
    let layout = options.layout;
    let base_frame = screen.media.display_size();
    let rect = place(
        base_frame,
        camera.media.display_size(),
        layout.width_pct / 100.0,
        layout.margin_pct / 100.0,
        layout.corner.align(),
    )?;

    // The overlap checks need both lengths; with a length unknown (a browser recording Probe states none of), the
    // job is built anyway: an overlay that starts after the screen ends, or a clip past the camera's end, shows
    // nothing, and the screen is kept.
    let offset = options.camera_offset_ms;
    let mut overlay_input = VideoOverlayInput {
        file_input: Some(camera.uri.to_string()),
        timecode_source: Some(InputTimecodeSource::Zerobased),
        ..Default::default()
    };
    let mut start_timecode = None;
    if offset > 0 {
        let offset_ms = offset.unsigned_abs();
        if screen.media.duration_ms.is_some_and(|d| offset_ms >= d) {
            return Err(JobError::NoOverlap {
                offset_ms: offset,
                reason: "the camera starts after the screen ends",
            });
        }
        let rate = screen.media.frame_rate_or_fallback();
        start_timecode = Some(timecode(rate.frame_at_ms(offset_ms), rate)?);
    } else if offset < 0 {
        let skip_ms = offset.unsigned_abs();
        if camera.media.duration_ms.is_some_and(|d| skip_ms >= d) {
            return Err(JobError::NoOverlap {
                offset_ms: offset,
                reason: "the camera ends before the screen starts",
            });
        }
        let rate = camera.media.frame_rate_or_fallback();
        overlay_input.input_clippings = Some(vec![InputClipping {
            start_timecode: Some(timecode(rate.frame_at_ms(skip_ms), rate)?),
            end_timecode: None,
        }]);
    }
    let overlay = VideoOverlay {
        input: Some(overlay_input),
        start_timecode,
        end_timecode: None,
        initial_position: Some(VideoOverlayPosition {
            x_position: Some(rect.x as i32),
            y_position: Some(rect.y as i32),
            width: Some(rect.width as i32),
            height: Some(rect.height as i32),
            unit: Some(VideoOverlayUnit::Pixels),
            opacity: Some(100),
        }),
        playback: Some(VideoOverlayPlayback::Once),
        transitions: None,
        crop: None,
    };

    let mut input = base_input(screen);
    input.video_overlays = Some(vec![overlay]);
    let settings = file_output_settings(input, &screen.media, output, options.max_width)?;
    let metadata = routing_metadata(output);
    Ok(finish(
        context,
        JobKind::Composite,
        settings,
        metadata,
        screen.media.frame_rate,
    ))
}

/// One recording (screen or camera) transcoded to the composite's output key: the fallback when the partner
/// recording never arrives.
pub fn single_job(
    context: &JobContext,
    output: &CompositeOutput,
    source: &Recording,
    options: &SingleOptions,
) -> Result<CreateJobRequest, JobError> {
    output.check()?;
    check_media("source", &source.media)?;
    let settings =
        file_output_settings(base_input(source), &source.media, output, options.max_width)?;
    Ok(finish(
        context,
        JobKind::Single,
        settings,
        routing_metadata(output),
        source.media.frame_rate,
    ))
}

/// The base input: ZEROBASED timecodes, rotation from the file, the first audio track when there is audio.
fn base_input(recording: &Recording) -> Input {
    Input {
        file_input: Some(recording.uri.to_string()),
        timecode_source: Some(InputTimecodeSource::Zerobased),
        video_selector: Some(VideoSelector {
            rotate: Some(InputRotate::Auto),
            pad_video: None,
        }),
        audio_selectors: recording.media.has_audio.then(audio_selectors),
        ..Default::default()
    }
}

/// Settings with one MP4 output at the stream's output key, sized from the base input, AAC when it has audio.
fn file_output_settings(
    input: Input,
    base: &MediaInfo,
    output: &CompositeOutput,
    max_width: u32,
) -> Result<JobSettings, JobError> {
    let size = output_size(base.display_size(), max_width)?;
    let mut settings = h264_qvbr(size, QUALITY);
    settings.framerate_control = Some(H264FramerateControl::InitializeFromSource);
    settings.gop_size = Some(FILE_GOP_SECONDS);
    settings.gop_size_units = Some(H264GopSizeUnits::Seconds);
    settings.gop_closed_cadence = Some(1);
    settings.number_b_frames_between_reference_frames = Some(2);
    let file = Output {
        video_description: Some(video(size, h264(settings))),
        audio_descriptions: base.has_audio.then(|| vec![aac_stereo()]),
        ..Default::default()
    };
    Ok(JobSettings {
        inputs: Some(vec![input]),
        timecode_config: Some(TimecodeConfig {
            source: Some(TimecodeSource::Zerobased),
            ..Default::default()
        }),
        output_groups: Some(vec![mp4_file_group(
            "File Group",
            output.destination(),
            file,
        )]),
    })
}

/// Metadata that routes the job's events back to its stream.
fn routing_metadata(output: &CompositeOutput) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("bucket".to_owned(), output.bucket.clone()),
        ("prefix".to_owned(), output.prefix.clone()),
        ("stream".to_owned(), output.stream.clone()),
        ("output_key".to_owned(), output.key()),
    ])
}
