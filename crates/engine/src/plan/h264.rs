//! H.264 encoder arguments: MediaConvert's H264Settings as x264 options.

use vidpipe_core::job as m;

use super::outputs::HlsOptions;
use super::{reject, required, unsupported};
use crate::lifecycle::JobFailure;
use crate::probe::FrameRate;

/// The QVBR quality level (1..10, with its fine tune) as an x264 CRF: `CRF = 33 - 2 * (level - 1) - 2 * fine_tune`,
/// so level 1 is CRF 33, level 7 (MediaConvert's typical web quality, and the engine's AUTO) is CRF 21, and level
/// 10 is CRF 15. MaxBitrate caps the rate (`-maxrate`, `-bufsize` from HrdBufferSize or twice MaxBitrate).
fn qvbr_crf(level: i32, fine_tune: f64) -> f64 {
    let thirds = (fine_tune.clamp(0.0, 1.0) * 3.0).round() / 3.0;
    33.0 - 2.0 * f64::from(level.clamp(1, 10) - 1) - 2.0 * thirds
}

/// The rate-control lookahead of `SINGLE_PASS_HQ` ("a good balance between encoding speed and video quality"): one
/// second of output frames, from veryfast's own 10 up to 60. Macroblock-tree rate control then sees far enough
/// ahead to spend bits on the parts of the picture that later frames reuse, which matters most for screen
/// recordings (static panels, scrolling text): on the benchmark's screen-like input it raises SSIM from 0.99862 to
/// 0.99889 for 5 % more bits, at no measurable CPU cost there and 5 to 7 % on full-frame motion (docs/benchmarks.md).
fn balanced_lookahead(rate: FrameRate) -> u32 {
    // Clamped to 10..=60 before the conversion, so the cast cannot truncate.
    rate.fps().round().clamp(10.0, 60.0) as u32
}

/// The x264 encoder arguments for `settings`, and the output's frame rate (`canvas_rate` unless SPECIFIED).
/// Segmented outputs (`hls`) get a keyframe at every segment boundary.
pub(super) fn h264_args(
    settings: &m::H264Settings,
    at: &str,
    canvas_rate: FrameRate,
    hls: Option<&HlsOptions>,
) -> Result<(Vec<String>, FrameRate), JobFailure> {
    let m::H264Settings {
        // Rate control: rate_control_args.
        rate_control_mode: _,
        bitrate: _,
        max_bitrate: _,
        qvbr_settings: _,
        hrd_buffer_size: _,
        codec_profile,
        codec_level,
        interlace_mode,
        // GOP structure: gop_args.
        gop_size: _,
        gop_size_units: _,
        gop_closed_cadence: _,
        gop_b_reference: _,
        number_b_frames_between_reference_frames: _,
        number_reference_frames: _,
        min_i_interval: _,
        scene_change_detect: _,
        quality_tuning_level,
        // Frame rate: output_rate.
        framerate_control: _,
        framerate_conversion_algorithm: _,
        framerate_numerator: _,
        framerate_denominator: _,
        par_control,
        par_numerator,
        par_denominator,
        entropy_encoding,
        adaptive_quantization,
    } = settings;
    let tuning = quality_tuning_level.unwrap_or(m::H264QualityTuningLevel::SinglePassHq);
    let preset = match tuning {
        m::H264QualityTuningLevel::SinglePass => "superfast",
        m::H264QualityTuningLevel::SinglePassHq => "veryfast",
        m::H264QualityTuningLevel::MultiPassHq => "medium",
    };
    let mut args: Vec<String> = ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"]
        .map(String::from)
        .to_vec();
    let mut x264 = Vec::new();
    rate_control_args(settings, at, &mut args, &mut x264)?;
    if let Some(profile) = codec_profile {
        let name = match profile {
            m::H264CodecProfile::Baseline => "baseline",
            m::H264CodecProfile::Main => "main",
            m::H264CodecProfile::High => "high",
            other => return Err(unsupported(&format!("{at}.CodecProfile"), other)),
        };
        args.extend(["-profile:v".to_string(), name.to_string()]);
    }
    if let Some(level) = codec_level.filter(|l| *l != m::H264CodecLevel::Auto) {
        let level = level
            .as_str()
            .trim_start_matches("LEVEL_")
            .replace('_', ".");
        args.extend(["-level:v".to_string(), level]);
    }
    if let Some(mode) = interlace_mode.filter(|m| *m != m::H264InterlaceMode::Progressive) {
        return Err(unsupported(&format!("{at}.InterlaceMode"), mode));
    }
    let output_rate = output_rate(settings, at, canvas_rate)?;
    if tuning == m::H264QualityTuningLevel::SinglePassHq {
        x264.push(format!("rc-lookahead={}", balanced_lookahead(output_rate)));
    }
    gop_args(settings, at, output_rate, hls, &mut args, &mut x264)?;
    match par_control.unwrap_or(m::H264ParControl::InitializeFromSource) {
        m::H264ParControl::InitializeFromSource => {}
        m::H264ParControl::Specified => {
            let n = required(&format!("{at}.ParNumerator"), par_numerator)?;
            let d = required(&format!("{at}.ParDenominator"), par_denominator)?;
            x264.push(format!("sar={n}/{d}"));
        }
    }
    if *entropy_encoding == Some(m::H264EntropyEncoding::Cavlc) {
        x264.push("cabac=0".into());
    }
    if let Some(aq) = adaptive_quantization {
        let setting = match aq {
            m::H264AdaptiveQuantization::Off => "aq-mode=0",
            m::H264AdaptiveQuantization::Auto | m::H264AdaptiveQuantization::Medium => {
                "aq-strength=1.0"
            }
            m::H264AdaptiveQuantization::Low => "aq-strength=0.6",
            m::H264AdaptiveQuantization::High => "aq-strength=1.3",
            m::H264AdaptiveQuantization::Higher => "aq-strength=1.6",
            m::H264AdaptiveQuantization::Max => "aq-strength=2.0",
        };
        x264.push(setting.into());
    }
    if !x264.is_empty() {
        args.extend(["-x264-params".to_string(), x264.join(":")]);
    }
    Ok((args, output_rate))
}

/// Rate control (CBR by default, VBR, QVBR as a capped CRF) as encoder arguments and x264 options.
fn rate_control_args(
    settings: &m::H264Settings,
    at: &str,
    args: &mut Vec<String>,
    x264: &mut Vec<String>,
) -> Result<(), JobFailure> {
    let m::H264Settings {
        rate_control_mode,
        bitrate,
        max_bitrate,
        qvbr_settings,
        hrd_buffer_size,
        ..
    } = settings;
    let bufsize = |peak: i32| {
        hrd_buffer_size
            .filter(|b| *b > 0)
            .unwrap_or(peak.saturating_mul(2))
    };
    match rate_control_mode.unwrap_or(m::H264RateControlMode::Cbr) {
        m::H264RateControlMode::Qvbr => {
            let max = *required(&format!("{at}.MaxBitrate"), max_bitrate)?;
            let (level, fine) = match qvbr_settings {
                Some(m::H264QvbrSettings {
                    qvbr_quality_level,
                    qvbr_quality_level_fine_tune,
                    max_average_bitrate,
                }) => {
                    reject(
                        &format!("{at}.QvbrSettings.MaxAverageBitrate"),
                        max_average_bitrate,
                    )?;
                    (
                        qvbr_quality_level.unwrap_or(7),
                        qvbr_quality_level_fine_tune.unwrap_or(0.0),
                    )
                }
                None => (7, 0.0),
            };
            reject(&format!("{at}.Bitrate"), bitrate)?;
            args.extend(["-crf".to_string(), format!("{:.2}", qvbr_crf(level, fine))]);
            args.extend([
                "-maxrate".to_string(),
                max.to_string(),
                "-bufsize".to_string(),
                bufsize(max).to_string(),
            ]);
        }
        m::H264RateControlMode::Vbr => {
            reject(&format!("{at}.QvbrSettings"), qvbr_settings)?;
            let average = *required(&format!("{at}.Bitrate"), bitrate)?;
            args.extend(["-b:v".to_string(), average.to_string()]);
            if let Some(max) = max_bitrate {
                args.extend([
                    "-maxrate".to_string(),
                    max.to_string(),
                    "-bufsize".to_string(),
                    bufsize(*max).to_string(),
                ]);
            }
        }
        m::H264RateControlMode::Cbr => {
            reject(&format!("{at}.QvbrSettings"), qvbr_settings)?;
            reject(&format!("{at}.MaxBitrate"), max_bitrate)?;
            let rate = *required(&format!("{at}.Bitrate"), bitrate)?;
            args.extend(
                [
                    "-b:v",
                    &rate.to_string(),
                    "-minrate",
                    &rate.to_string(),
                    "-maxrate",
                    &rate.to_string(),
                ]
                .map(String::from),
            );
            args.extend(["-bufsize".to_string(), bufsize(rate).to_string()]);
            x264.push("nal-hrd=cbr".to_string());
        }
    }
    Ok(())
}

/// The output's frame rate: the canvas's (INITIALIZE_FROM_SOURCE) or the SPECIFIED one, converted by dropping and
/// duplicating frames.
fn output_rate(
    settings: &m::H264Settings,
    at: &str,
    canvas_rate: FrameRate,
) -> Result<FrameRate, JobFailure> {
    let m::H264Settings {
        framerate_control,
        framerate_conversion_algorithm,
        framerate_numerator,
        framerate_denominator,
        ..
    } = settings;
    let output_rate =
        match framerate_control.unwrap_or(m::H264FramerateControl::InitializeFromSource) {
            m::H264FramerateControl::InitializeFromSource => canvas_rate,
            m::H264FramerateControl::Specified => {
                let n = *required(&format!("{at}.FramerateNumerator"), framerate_numerator)?;
                let d = *required(&format!("{at}.FramerateDenominator"), framerate_denominator)?;
                if n < 1 || d < 1 {
                    return Err(JobFailure::invalid_setting(
                        &format!("{at}.FramerateNumerator"),
                        "must be positive",
                    ));
                }
                FrameRate {
                    numerator: n,
                    denominator: d,
                }
            }
        };
    if let Some(algorithm) = framerate_conversion_algorithm
        .filter(|a| *a != m::H264FramerateConversionAlgorithm::DuplicateDrop)
    {
        return Err(unsupported(
            &format!("{at}.FramerateConversionAlgorithm"),
            algorithm,
        ));
    }
    Ok(output_rate)
}

/// The GOP structure: size (frames or seconds), keyframes at segment boundaries, closed GOPs, B-frames, reference
/// frames, minimum keyframe interval and scene change detection.
fn gop_args(
    settings: &m::H264Settings,
    at: &str,
    output_rate: FrameRate,
    hls: Option<&HlsOptions>,
    args: &mut Vec<String>,
    x264: &mut Vec<String>,
) -> Result<(), JobFailure> {
    let m::H264Settings {
        gop_size,
        gop_size_units,
        gop_closed_cadence,
        gop_b_reference,
        number_b_frames_between_reference_frames,
        number_reference_frames,
        min_i_interval,
        scene_change_detect,
        ..
    } = settings;
    // GOP: AUTO (or blank) gives a keyframe at every HLS segment boundary, or x264's default elsewhere.
    match (
        gop_size_units.unwrap_or(m::H264GopSizeUnits::Frames),
        gop_size,
    ) {
        (m::H264GopSizeUnits::Auto, Some(size)) => {
            return Err(unsupported(&format!("{at}.GopSize"), size));
        }
        (_, Some(size)) if *size > 0.0 => {
            let frames = match gop_size_units.unwrap_or(m::H264GopSizeUnits::Frames) {
                m::H264GopSizeUnits::Seconds => (size * output_rate.fps()).round(),
                _ => size.round(),
            };
            args.extend(["-g".to_string(), format!("{}", frames.max(1.0))]);
        }
        _ => {}
    }
    if let Some(hls) = hls {
        args.extend([
            "-force_key_frames".to_string(),
            format!("expr:gte(t,n_forced*{})", hls.segment_length),
        ]);
    }
    match gop_closed_cadence {
        Some(0) | None => {}
        Some(_) => args.extend(["-flags".to_string(), "+cgop".to_string()]),
    }
    if let Some(reference) = gop_b_reference {
        x264.push(format!(
            "b-pyramid={}",
            if *reference == m::EnabledDisabled::Enabled {
                "normal"
            } else {
                "none"
            }
        ));
    }
    if let Some(b) = number_b_frames_between_reference_frames {
        if !(0..=7).contains(b) {
            return Err(JobFailure::invalid_setting(
                &format!("{at}.NumberBFramesBetweenReferenceFrames"),
                "must be 0..7",
            ));
        }
        args.extend(["-bf".to_string(), b.to_string()]);
    }
    if let Some(refs) = number_reference_frames {
        if !(1..=6).contains(refs) {
            return Err(JobFailure::invalid_setting(
                &format!("{at}.NumberReferenceFrames"),
                "must be 1..6",
            ));
        }
        args.extend(["-refs".to_string(), refs.to_string()]);
    }
    if let Some(min) = min_i_interval {
        x264.push(format!("min-keyint={}", (*min).max(1)));
    }
    if *scene_change_detect == Some(m::H264SceneChangeDetect::Disabled) {
        args.extend(["-sc_threshold".to_string(), "0".to_string()]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvbr_levels_map_to_crf() {
        assert_eq!(qvbr_crf(1, 0.0), 33.0);
        assert_eq!(qvbr_crf(7, 0.0), 21.0);
        assert_eq!(qvbr_crf(10, 0.0), 15.0);
        assert!(
            (qvbr_crf(7, 0.5) - (21.0 - 2.0 * 2.0 / 3.0)).abs() < 1e-9,
            "fine tune rounds to thirds"
        );
    }

    #[test]
    fn the_balanced_lookahead_is_one_second_of_frames_within_bounds() {
        let rate = |numerator, denominator| FrameRate {
            numerator,
            denominator,
        };
        assert_eq!(balanced_lookahead(rate(30, 1)), 30);
        assert_eq!(balanced_lookahead(rate(30000, 1001)), 30);
        assert_eq!(
            balanced_lookahead(rate(5, 1)),
            10,
            "never below veryfast's own"
        );
        assert_eq!(balanced_lookahead(rate(120, 1)), 60, "capped for memory");
    }
}
