//! An output's picture: size, scaling, frame rate and the video encoder (H.264 or frame capture).

use vidpipe_core::job as m;

use super::frames::rate_conversion;
use super::h264::h264_args;
use super::outputs::{HlsOptions, OutputContext};
use super::{reject, required, unsupported};
use crate::lifecycle::JobFailure;
use crate::probe::FrameRate;

/// Output picture size from VideoDescription Width/Height and the canvas: both blank follows the source, one
/// keeps the aspect ratio.
fn requested_size(
    width: &Option<i32>,
    height: &Option<i32>,
    canvas: (u32, u32),
    at: &str,
) -> Result<(u32, u32), JobFailure> {
    let check = |v: &Option<i32>, name: &str| -> Result<Option<u32>, JobFailure> {
        match v {
            Some(v) if (32..=8192).contains(v) && v % 2 == 0 => Ok(Some(*v as u32)),
            Some(v) => Err(JobFailure::invalid_setting(
                &format!("{at}.{name}"),
                format!("{v} must be even and 32..8192"),
            )),
            None => Ok(None),
        }
    };
    let even = |v: f64| ((v / 2.0).round() * 2.0) as u32;
    Ok(match (check(width, "Width")?, check(height, "Height")?) {
        (None, None) => canvas,
        (Some(w), None) => (
            w,
            even(f64::from(w) * f64::from(canvas.1) / f64::from(canvas.0)),
        ),
        (None, Some(h)) => (
            even(f64::from(h) * f64::from(canvas.0) / f64::from(canvas.1)),
            h,
        ),
        (Some(w), Some(h)) => (w, h),
    })
}

/// Scaling filters for a ScalingBehavior, and the resulting size (FIT and FIT_NO_UPSCALE do not pad).
pub(super) fn scaling(
    behavior: Option<m::ScalingBehavior>,
    want: (u32, u32),
    canvas: (u32, u32),
) -> (Vec<String>, (u32, u32)) {
    let (w, h) = want;
    if want == canvas {
        return (vec![], want);
    }
    let even = |v: f64| ((v / 2.0).floor() * 2.0).max(2.0) as u32;
    let fit = |w: u32, h: u32| {
        let ratio = (f64::from(w) / f64::from(canvas.0)).min(f64::from(h) / f64::from(canvas.1));
        (
            even(f64::from(canvas.0) * ratio),
            even(f64::from(canvas.1) * ratio),
        )
    };
    match behavior.unwrap_or(m::ScalingBehavior::Default) {
        m::ScalingBehavior::Default => (
            vec![format!(
                "scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"
            )],
            want,
        ),
        m::ScalingBehavior::StretchToOutput => (vec![format!("scale={w}:{h}")], want),
        m::ScalingBehavior::Fit => {
            let (fw, fh) = fit(w, h);
            (vec![format!("scale={fw}:{fh}")], (fw, fh))
        }
        m::ScalingBehavior::FitNoUpscale => {
            if canvas.0 <= w && canvas.1 <= h {
                (vec![], canvas)
            } else {
                let (fw, fh) = fit(w, h);
                (vec![format!("scale={fw}:{fh}")], (fw, fh))
            }
        }
        m::ScalingBehavior::Fill => (
            vec![format!(
                "scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
            )],
            want,
        ),
    }
}

/// An output's picture: size, rate, filter chain and encoder arguments.
pub(super) struct VideoOutput {
    pub(super) size: (u32, u32),
    pub(super) rate: FrameRate,
    pub(super) filters: String,
    pub(super) args: Vec<String>,
}

/// The output's size, rate, video filter chain and encoder arguments.
pub(super) fn video_output(
    description: &m::VideoDescription,
    at: &str,
    context: &OutputContext<'_>,
    hls: Option<&HlsOptions>,
) -> Result<VideoOutput, JobFailure> {
    let m::VideoDescription {
        width,
        height,
        scaling_behavior,
        sharpness,
        anti_alias: _,
        color_metadata,
        timecode_insertion,
        codec_settings,
        video_preprocessors: _,
    } = description;
    reject(&format!("{at}.Sharpness"), sharpness)?;
    if let Some(insertion) =
        timecode_insertion.filter(|t| *t != m::VideoTimecodeInsertion::Disabled)
    {
        return Err(unsupported(&format!("{at}.TimecodeInsertion"), insertion));
    }
    let (cw, ch, canvas_rate) = context.canvas;
    let want = requested_size(width, height, (cw, ch), at)?;
    let (mut filters, size) = scaling(*scaling_behavior, want, (cw, ch));
    let codec = required(&format!("{at}.CodecSettings"), codec_settings)?;
    let m::VideoCodecSettings {
        codec,
        h264_settings,
        frame_capture_settings,
    } = codec;
    let at_codec = format!("{at}.CodecSettings");
    let mut rate = canvas_rate;
    let mut args;
    match required(&format!("{at_codec}.Codec"), codec)? {
        m::VideoCodec::H264 => {
            reject(
                &format!("{at_codec}.FrameCaptureSettings"),
                frame_capture_settings,
            )?;
            let settings = required(&format!("{at_codec}.H264Settings"), h264_settings)?;
            let (encoder, output_rate) = h264_args(
                settings,
                &format!("{at_codec}.H264Settings"),
                canvas_rate,
                hls,
            )?;
            if output_rate != canvas_rate {
                filters.push(rate_conversion(context.duration, output_rate));
                rate = output_rate;
            }
            args = encoder;
            if *color_metadata != Some(m::ColorMetadata::Ignore) {
                args.extend(
                    [
                        "-color_primaries",
                        "bt709",
                        "-color_trc",
                        "bt709",
                        "-colorspace",
                        "bt709",
                    ]
                    .map(String::from),
                );
            }
        }
        m::VideoCodec::FrameCapture => {
            reject(&format!("{at_codec}.H264Settings"), h264_settings)?;
            let settings = frame_capture_settings.clone().unwrap_or_default();
            let m::FrameCaptureSettings {
                framerate_numerator,
                framerate_denominator,
                max_captures,
                quality,
            } = settings;
            let (n, d) = (
                framerate_numerator.unwrap_or(1),
                framerate_denominator.unwrap_or(1),
            );
            if n < 1 || d < 1 {
                return Err(JobFailure::invalid_setting(
                    &format!("{at_codec}.FrameCaptureSettings"),
                    "capture rate must be positive",
                ));
            }
            rate = FrameRate {
                numerator: n,
                denominator: d,
            };
            filters.push(format!("fps={n}/{d}:round=up"));
            let quality = quality.unwrap_or(80).clamp(1, 100);
            // mjpeg's -q:v runs from 2 (best) to 31 (worst).
            let q = 2 + (100 - quality) * 29 / 99;
            args = vec![
                "-c:v".into(),
                "mjpeg".into(),
                "-q:v".into(),
                q.to_string(),
                "-pix_fmt".into(),
                "yuvj420p".into(),
            ];
            if let Some(max) = max_captures {
                args.extend(["-frames:v".to_string(), max.to_string()]);
            }
        }
    }
    if filters.is_empty() || !filters.iter().any(|f| f.starts_with("setsar")) {
        filters.push("setsar=1".into());
    }
    Ok(VideoOutput {
        size,
        rate,
        filters: filters.join(","),
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_behaviors() {
        let canvas = (1920, 1080);
        assert_eq!(scaling(None, (640, 480), canvas).1, (640, 480));
        assert!(scaling(None, (640, 480), canvas).0[0].contains("pad=640:480"));
        assert_eq!(
            scaling(Some(m::ScalingBehavior::Fit), (640, 480), canvas).1,
            (640, 360)
        );
        assert_eq!(
            scaling(Some(m::ScalingBehavior::FitNoUpscale), (3840, 2160), canvas).1,
            canvas
        );
        assert!(
            scaling(Some(m::ScalingBehavior::Fill), (640, 480), canvas).0[0]
                .contains("crop=640:480")
        );
        assert_eq!(
            requested_size(&Some(1280), &None, canvas, "x").unwrap(),
            (1280, 720)
        );
        assert!(requested_size(&Some(1281), &None, canvas, "x").is_err());
    }
}
