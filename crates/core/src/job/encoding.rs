//! Encoder settings shared by the builders: output size, H.264 QVBR and AAC.

use super::pip::{even_floor, even_round};
use super::*;

/// Default maximum output width in pixels.
pub const DEFAULT_MAX_WIDTH: u32 = 1920;

/// MediaConvert's output size limits.
const SIZE_RANGE: std::ops::RangeInclusive<u32> = 32..=8192;

/// The output size for a source: never upscaled, at most `max_width` wide, even, same aspect ratio.
pub fn output_size(source: Size, max_width: u32) -> Result<Size, JobError> {
    if !SIZE_RANGE.contains(&max_width) {
        return Err(JobError::InvalidOption(format!(
            "maximum width {max_width} is outside 32..=8192"
        )));
    }
    let (width, height) = if source.width > max_width {
        let height = f64::from(source.height) * f64::from(max_width) / f64::from(source.width);
        (even_floor(max_width), even_round(height))
    } else {
        (even_floor(source.width), even_floor(source.height))
    };
    if !SIZE_RANGE.contains(&width) || !SIZE_RANGE.contains(&height) {
        return Err(JobError::InvalidOption(format!(
            "output size {width}x{height} (from {source} at most {max_width} wide) is outside MediaConvert's 32..=8192"
        )));
    }
    Ok(Size::new(width, height))
}

/// The QVBR peak bitrate for an output size: 3 bit/s per pixel (about 6.2 Mbit/s at 1080p, 1.2 Mbit/s at
/// 854x480), rounded to kbit/s and kept within 1..=20 Mbit/s.
pub fn max_bitrate(size: Size) -> i32 {
    let bits = u64::from(size.width) * u64::from(size.height) * 3;
    (bits.div_ceil(1000) * 1000).clamp(1_000_000, 20_000_000) as i32
}

/// H.264 High, QVBR with a resolution-scaled `MaxBitrate`: the settings every vidpipe video output starts from.
pub(super) fn h264_qvbr(size: Size, quality: i32) -> H264Settings {
    H264Settings {
        rate_control_mode: Some(H264RateControlMode::Qvbr),
        max_bitrate: Some(max_bitrate(size)),
        qvbr_settings: Some(H264QvbrSettings {
            qvbr_quality_level: Some(quality),
            ..Default::default()
        }),
        codec_profile: Some(H264CodecProfile::High),
        codec_level: Some(H264CodecLevel::Auto),
        interlace_mode: Some(H264InterlaceMode::Progressive),
        scene_change_detect: Some(H264SceneChangeDetect::TransitionDetection),
        quality_tuning_level: Some(H264QualityTuningLevel::SinglePassHq),
        par_control: Some(H264ParControl::Specified),
        par_numerator: Some(1),
        par_denominator: Some(1),
        entropy_encoding: Some(H264EntropyEncoding::Cabac),
        ..Default::default()
    }
}

/// H.264 codec settings.
pub(super) fn h264(settings: H264Settings) -> VideoCodecSettings {
    VideoCodecSettings {
        codec: Some(VideoCodec::H264),
        h264_settings: Some(settings),
        frame_capture_settings: None,
    }
}

/// A video description of `size` with the given codec settings.
pub(super) fn video(size: Size, codec: VideoCodecSettings) -> VideoDescription {
    VideoDescription {
        width: Some(size.width as i32),
        height: Some(size.height as i32),
        scaling_behavior: Some(ScalingBehavior::Fit),
        anti_alias: Some(EnabledDisabled::Enabled),
        color_metadata: Some(ColorMetadata::Insert),
        timecode_insertion: Some(VideoTimecodeInsertion::Disabled),
        codec_settings: Some(codec),
        ..Default::default()
    }
}

/// Name of the audio selector builders create.
pub(super) const AUDIO_SELECTOR: &str = "Audio Selector 1";

/// The input's audio selector map: the first track, used as default.
pub(super) fn audio_selectors() -> BTreeMap<String, AudioSelector> {
    let selector = AudioSelector {
        default_selection: Some(AudioDefaultSelection::Default),
        selector_type: Some(AudioSelectorType::Track),
        tracks: Some(vec![1]),
        ..Default::default()
    };
    BTreeMap::from([(AUDIO_SELECTOR.to_owned(), selector)])
}

/// AAC-LC stereo, 48 kHz, 128 kbit/s CBR (a combination the service accepts for CODING_MODE_2_0 at 48 kHz).
pub(super) fn aac_stereo() -> AudioDescription {
    AudioDescription {
        audio_source_name: Some(AUDIO_SELECTOR.to_owned()),
        codec_settings: Some(AudioCodecSettings {
            codec: Some(AudioCodec::Aac),
            aac_settings: Some(AacSettings {
                bitrate: Some(128_000),
                coding_mode: Some(AacCodingMode::CodingMode20),
                sample_rate: Some(48_000),
                codec_profile: Some(AacCodecProfile::Lc),
                rate_control_mode: Some(AacRateControlMode::Cbr),
                raw_format: Some(AacRawFormat::None),
                specification: Some(AacSpecification::Mpeg4),
            }),
        }),
    }
}

/// A FILE_GROUP writing MP4 files with the index at the front to `destination` (base name, no extension).
pub(super) fn mp4_file_group(name: &str, destination: String, output: Output) -> OutputGroup {
    OutputGroup {
        name: Some(name.to_owned()),
        custom_name: None,
        output_group_settings: Some(file_group_settings(destination)),
        outputs: Some(vec![Output {
            extension: Some("mp4".into()),
            container_settings: Some(ContainerSettings {
                container: Some(ContainerType::Mp4),
                mp4_settings: Some(Mp4Settings {
                    moov_placement: Some(Mp4MoovPlacement::ProgressiveDownload),
                    cslg_atom: Some(IncludeExclude::Include),
                    ctts_version: Some(0),
                    free_space_box: Some(IncludeExclude::Exclude),
                    audio_duration: Some(AudioDuration::DefaultCodecDuration),
                    mp4_major_brand: None,
                }),
                m2ts_settings: None,
                m3u8_settings: None,
                cmfc_settings: None,
            }),
            ..output
        }]),
    }
}

/// FILE_GROUP settings for `destination`.
pub(super) fn file_group_settings(destination: String) -> OutputGroupSettings {
    OutputGroupSettings {
        group_type: Some(OutputGroupType::FileGroupSettings),
        file_group_settings: Some(FileGroupSettings {
            destination: Some(destination),
        }),
        hls_group_settings: None,
        cmaf_group_settings: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_never_upscaled_and_capped_to_the_maximum_width() {
        assert_eq!(
            output_size(Size::new(2880, 1800), 1920).unwrap(),
            Size::new(1920, 1200)
        );
        assert_eq!(
            output_size(Size::new(854, 480), 1920).unwrap(),
            Size::new(854, 480)
        );
        assert_eq!(
            output_size(Size::new(1023, 767), 1920).unwrap(),
            Size::new(1022, 766)
        );
        assert_eq!(
            output_size(Size::new(720, 1280), 1920).unwrap(),
            Size::new(720, 1280)
        );
        assert_eq!(
            output_size(Size::new(1920, 1080), 1280).unwrap(),
            Size::new(1280, 720)
        );
        assert!(matches!(
            output_size(Size::new(1920, 1080), 10),
            Err(JobError::InvalidOption(_))
        ));
        assert!(matches!(
            output_size(Size::new(8000, 20), 1920),
            Err(JobError::InvalidOption(_))
        ));
    }

    #[test]
    fn max_bitrate_scales_with_resolution() {
        assert_eq!(max_bitrate(Size::new(1920, 1080)), 6_221_000);
        assert_eq!(max_bitrate(Size::new(854, 480)), 1_230_000);
        assert_eq!(max_bitrate(Size::new(320, 240)), 1_000_000);
        assert_eq!(max_bitrate(Size::new(7680, 4320)), 20_000_000);
        assert!(max_bitrate(Size::new(1920, 1200)) > max_bitrate(Size::new(1280, 720)));
    }
}
