//! Builder d: a segmented preview (HLS or CMAF, 4 s segments) and a poster image.

use serde::{Deserialize, Serialize};

use super::composite::Recording;
use super::encoding::{
    aac_stereo, audio_selectors, file_group_settings, h264, h264_qvbr, output_size, video,
};
use super::*;
use crate::s3uri::S3Uri;

/// Segment length of previews, in seconds.
pub const SEGMENT_SECONDS: i32 = 4;

/// The preview's packaging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreviewFormat {
    /// HLS with MPEG-TS segments (video and audio in one rendition).
    #[default]
    Hls,
    /// CMAF (fragmented MP4) with HLS and DASH manifests; audio in its own track.
    Cmaf,
}

impl std::str::FromStr for PreviewFormat {
    type Err = String;

    /// Parses `hls` or `cmaf`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hls" => Ok(Self::Hls),
            "cmaf" => Ok(Self::Cmaf),
            _ => Err(format!("`{s}` is not a preview format (hls, cmaf)")),
        }
    }
}

/// Options of a preview.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreviewOptions {
    /// HLS or CMAF.
    pub format: PreviewFormat,
    /// Maximum width of the rendition (default 1280).
    pub max_width: u32,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        Self {
            format: PreviewFormat::Hls,
            max_width: 1280,
        }
    }
}

/// QVBR quality of previews.
const QUALITY: i32 = 7;

/// A preview of `source` under the folder `destination` (an `s3://bucket/prefix/` ending in `/`):
/// `index.m3u8` (and `index.mpd` for CMAF) with 4 s segments, and `poster.0000000.jpg`, the first frame.
///
/// As the model advises for segmented outputs, the GOP is left to the service (`GopSizeUnits: AUTO`, no
/// `GopSize`, no `GopClosedCadence`); `SegmentLengthControl: EXACT` keeps segments at 4 s.
pub fn preview_job(
    context: &JobContext,
    source: &Recording,
    destination: &S3Uri,
    preview_id: &str,
    options: &PreviewOptions,
) -> Result<CreateJobRequest, JobError> {
    check_media("source", &source.media)?;
    if !destination.key().ends_with('/') {
        return Err(JobError::InvalidOutput(format!(
            "preview destination {destination} must end with `/`"
        )));
    }
    check_stream_name(preview_id)
        .map_err(|e| JobError::InvalidOption(format!("preview id: {e}")))?;
    let size = output_size(source.media.display_size(), options.max_width)?;
    let folder = destination.to_string();
    let rendition = segmented_video(size);
    let audio = source.media.has_audio.then(|| vec![aac_stereo()]);

    let stream_group = match options.format {
        PreviewFormat::Hls => hls_group(&folder, size, rendition, audio),
        PreviewFormat::Cmaf => cmaf_group(&folder, vec![("_video".into(), rendition)], audio),
    };
    let poster = frame_capture_group(
        "Poster",
        format!("{folder}poster"),
        size,
        captures(1, 1, 80),
    );
    let settings = JobSettings {
        inputs: Some(vec![source_input(source)]),
        timecode_config: Some(TimecodeConfig {
            source: Some(TimecodeSource::Zerobased),
            ..Default::default()
        }),
        output_groups: Some(vec![stream_group, poster]),
    };
    let metadata = BTreeMap::from([
        ("preview_id".to_owned(), preview_id.to_owned()),
        ("destination".to_owned(), folder),
    ]);
    Ok(finish(
        context,
        JobKind::Preview,
        settings,
        metadata,
        source.media.frame_rate,
    ))
}

fn hls_group(
    folder: &str,
    size: Size,
    video: VideoDescription,
    audio: Option<Vec<AudioDescription>>,
) -> OutputGroup {
    OutputGroup {
        name: Some("HLS".into()),
        custom_name: None,
        output_group_settings: Some(OutputGroupSettings {
            group_type: Some(OutputGroupType::HlsGroupSettings),
            file_group_settings: None,
            hls_group_settings: Some(HlsGroupSettings {
                destination: Some(format!("{folder}index")),
                segment_length: Some(SEGMENT_SECONDS),
                min_segment_length: Some(0),
                segment_length_control: Some(SegmentLengthControl::Exact),
                segment_control: Some(SegmentControl::SegmentedFiles),
                directory_structure: Some(HlsDirectoryStructure::SingleDirectory),
                manifest_duration_format: Some(ManifestDurationFormat::Integer),
                output_selection: Some(HlsOutputSelection::ManifestsAndSegments),
                codec_specification: Some(CodecSpecification::Rfc4281),
            }),
            cmaf_group_settings: None,
        }),
        outputs: Some(vec![Output {
            name_modifier: Some(format!("_{}p", size.height)),
            extension: None,
            container_settings: Some(container(ContainerType::M3u8)),
            video_description: Some(video),
            audio_descriptions: audio,
        }]),
    }
}

/// A CMAF group writing `index.m3u8` and `index.mpd` in `folder`: one output per video rendition (its name
/// modifier and description), and the audio, when there is any, in an output of its own (`_audio`).
pub(super) fn cmaf_group(
    folder: &str,
    videos: Vec<(String, VideoDescription)>,
    audio: Option<Vec<AudioDescription>>,
) -> OutputGroup {
    let manifests = CmafManifests {
        destination: format!("{folder}index"),
        segment_length: SEGMENT_SECONDS,
        dash: true,
    };
    cmaf_group_at(&manifests, videos, audio)
}

/// Where a CMAF group writes and what: its `Destination` (base name of the manifests, `{base}.m3u8`), its segment
/// length in seconds, and whether a DASH manifest (`{base}.mpd`) is written beside the HLS one.
pub(super) struct CmafManifests {
    pub(super) destination: String,
    pub(super) segment_length: i32,
    pub(super) dash: bool,
}

/// A CMAF group as [`cmaf_group`], at the destination, segment length and manifests of `manifests`.
pub(super) fn cmaf_group_at(
    manifests: &CmafManifests,
    videos: Vec<(String, VideoDescription)>,
    audio: Option<Vec<AudioDescription>>,
) -> OutputGroup {
    let mut outputs: Vec<Output> = videos
        .into_iter()
        .map(|(modifier, video)| Output {
            name_modifier: Some(modifier),
            container_settings: Some(container(ContainerType::Cmfc)),
            video_description: Some(video),
            ..Default::default()
        })
        .collect();
    if let Some(audio) = audio {
        outputs.push(Output {
            name_modifier: Some("_audio".into()),
            container_settings: Some(container(ContainerType::Cmfc)),
            audio_descriptions: Some(audio),
            ..Default::default()
        });
    }
    OutputGroup {
        name: Some("CMAF".into()),
        custom_name: None,
        output_group_settings: Some(OutputGroupSettings {
            group_type: Some(OutputGroupType::CmafGroupSettings),
            file_group_settings: None,
            hls_group_settings: None,
            cmaf_group_settings: Some(CmafGroupSettings {
                destination: Some(manifests.destination.clone()),
                segment_length: Some(manifests.segment_length),
                fragment_length: Some(2),
                segment_length_control: Some(SegmentLengthControl::Exact),
                segment_control: Some(SegmentControl::SegmentedFiles),
                write_hls_manifest: Some(EnabledDisabled::Enabled),
                write_dash_manifest: Some(if manifests.dash {
                    EnabledDisabled::Enabled
                } else {
                    EnabledDisabled::Disabled
                }),
                manifest_duration_format: Some(ManifestDurationFormat::FloatingPoint),
                codec_specification: Some(CodecSpecification::Rfc6381),
            }),
        }),
        outputs: Some(outputs),
    }
}

fn container(container: ContainerType) -> ContainerSettings {
    let audio_duration = Some(AudioDuration::DefaultCodecDuration);
    ContainerSettings {
        container: Some(container),
        mp4_settings: None,
        m2ts_settings: None,
        m3u8_settings: (container == ContainerType::M3u8).then(|| M3u8Settings {
            audio_duration,
            ..Default::default()
        }),
        cmfc_settings: (container == ContainerType::Cmfc).then(|| CmfcSettings {
            audio_duration,
            ..Default::default()
        }),
    }
}

/// The H.264 rendition of a segmented output: QVBR, the source's frame rate, and the GOP left to the service
/// (`GopSizeUnits: AUTO`, as the model advises for segmented outputs; `SegmentLengthControl: EXACT` then puts a
/// keyframe at every segment boundary).
pub(super) fn segmented_video(size: Size) -> VideoDescription {
    segmented_video_at(size, None)
}

/// A segmented rendition as [`segmented_video`], at the frame rate `rate` when one is given (`SPECIFIED`), else
/// the source's.
pub(super) fn segmented_video_at(size: Size, rate: Option<FrameRate>) -> VideoDescription {
    let framerate_control = Some(match rate {
        Some(_) => H264FramerateControl::Specified,
        None => H264FramerateControl::InitializeFromSource,
    });
    let settings = H264Settings {
        framerate_control,
        framerate_numerator: rate.map(|r| r.numerator as i32),
        framerate_denominator: rate.map(|r| r.denominator as i32),
        gop_size_units: Some(H264GopSizeUnits::Auto),
        ..h264_qvbr(size, QUALITY)
    };
    video(size, h264(settings))
}

/// The job's one input: the whole source from time zero, rotated as its metadata says, with its first audio
/// track when it has one.
pub(super) fn source_input(source: &Recording) -> Input {
    Input {
        file_input: Some(source.uri.to_string()),
        timecode_source: Some(InputTimecodeSource::Zerobased),
        video_selector: Some(VideoSelector {
            rotate: Some(InputRotate::Auto),
            pad_video: None,
        }),
        audio_selectors: source.media.has_audio.then(audio_selectors),
        ..Default::default()
    }
}

/// Frame captures: the first frame, then one every `every_s` seconds, at most `max` of them.
pub(super) fn captures(every_s: u32, max: i32, quality: i32) -> FrameCaptureSettings {
    FrameCaptureSettings {
        framerate_numerator: Some(1),
        framerate_denominator: Some(every_s as i32),
        max_captures: Some(max),
        quality: Some(quality),
    }
}

/// A FILE_GROUP of JPEG frame captures of `size`: `{destination}.NNNNNNN.jpg`.
pub(super) fn frame_capture_group(
    name: &str,
    destination: String,
    size: Size,
    capture: FrameCaptureSettings,
) -> OutputGroup {
    let capture = VideoCodecSettings {
        codec: Some(VideoCodec::FrameCapture),
        h264_settings: None,
        frame_capture_settings: Some(capture),
    };
    OutputGroup {
        name: Some(name.into()),
        custom_name: None,
        output_group_settings: Some(file_group_settings(destination)),
        outputs: Some(vec![Output {
            extension: Some("jpg".into()),
            container_settings: Some(ContainerSettings {
                container: Some(ContainerType::Raw),
                mp4_settings: None,
                m2ts_settings: None,
                m3u8_settings: None,
                cmfc_settings: None,
            }),
            video_description: Some(VideoDescription {
                width: Some(size.width as i32),
                height: Some(size.height as i32),
                codec_settings: Some(capture),
                ..Default::default()
            }),
            ..Default::default()
        }]),
    }
}
