//! Serde types for the part of MediaConvert's `CreateJob` request that vidpipe uses.
//!
//! The JSON is the PascalCase form that Step Functions' `mediaconvert:createJob` and
//! `aws mediaconvert create-job --cli-input-json` take. Member names and enum values follow the botocore model
//! (`mediaconvert/2017-08-29/service-2.json`). Every struct denies unknown fields, so a setting vidpipe does not
//! implement is a named error rather than silently dropped. Optional members are `Option` and are left out of the
//! JSON when `None`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Defines a string enum with its exact wire values, serde support and `as_str`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(
                #[doc = concat!("`", $wire, "`")]
                #[serde(rename = $wire)]
                $variant,
            )+
        }

        impl $name {
            /// The value as it appears in the JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A `CreateJob` request (`Role` and `Settings` are required by the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateJobRequest {
    /// IAM role ARN that MediaConvert assumes.
    pub role: String,
    /// The transcode settings.
    pub settings: JobSettings,
    /// Queue ARN or name; the Default queue when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Echoed in the job and its EventBridge events (`detail.userMetadata`): routes events back to their owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<BTreeMap<String, String>>,
    /// Standard AWS tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Idempotency token (at most 64 ASCII characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    /// How often STATUS_UPDATE events are sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_update_interval: Option<StatusUpdateInterval>,
    /// Priority within the queue, -50..=50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Accelerated transcoding (pro-tier pricing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acceleration_settings: Option<AccelerationSettings>,
}

/// Accelerated transcoding settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AccelerationSettings {
    /// Required by the model.
    pub mode: AccelerationMode,
}

wire_enum!(
    /// Accelerated transcoding mode.
    AccelerationMode { Disabled = "DISABLED", Enabled = "ENABLED", Preferred = "PREFERRED" }
);

wire_enum!(
    /// Interval between STATUS_UPDATE events.
    StatusUpdateInterval {
        Seconds10 = "SECONDS_10",
        Seconds12 = "SECONDS_12",
        Seconds15 = "SECONDS_15",
        Seconds20 = "SECONDS_20",
        Seconds30 = "SECONDS_30",
        Seconds60 = "SECONDS_60",
        Seconds120 = "SECONDS_120",
        Seconds180 = "SECONDS_180",
        Seconds240 = "SECONDS_240",
        Seconds300 = "SECONDS_300",
        Seconds360 = "SECONDS_360",
        Seconds420 = "SECONDS_420",
        Seconds480 = "SECONDS_480",
        Seconds540 = "SECONDS_540",
        Seconds600 = "SECONDS_600",
    }
);

/// The job's settings: inputs (concatenated in order), output timeline and outputs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct JobSettings {
    /// Inputs, stitched in the order given (at most 150).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<Input>>,
    /// Output timecode settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timecode_config: Option<TimecodeConfig>,
    /// Output groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_groups: Option<Vec<OutputGroup>>,
}

/// The output timeline's timecode.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TimecodeConfig {
    /// Where output timecode starts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<TimecodeSource>,
    /// Start timecode with SPECIFIEDSTART (`HH:MM:SS:FF`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Timecode anchor (`HH:MM:SS:FF`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
}

wire_enum!(
    /// Output timecode source.
    TimecodeSource { Embedded = "EMBEDDED", Zerobased = "ZEROBASED", Specifiedstart = "SPECIFIEDSTART" }
);

wire_enum!(
    /// Input (and overlay input) timecode source; the service default is EMBEDDED.
    InputTimecodeSource { Embedded = "EMBEDDED", Zerobased = "ZEROBASED", Specifiedstart = "SPECIFIEDSTART" }
);

/// One input: a file or a generated video, with clippings, selectors, image inserter and video overlays.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Input {
    /// `s3://bucket/key` or an http(s) URL. Exclusive with `VideoGenerator`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_input: Option<String>,
    /// A generated (black, or still-image) video instead of a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_generator: Option<InputVideoGenerator>,
    /// Clips taken from the input, in order; timecodes follow `TimecodeSource`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_clippings: Option<Vec<InputClipping>>,
    /// Timecode source for clippings and overlays (service default EMBEDDED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timecode_source: Option<InputTimecodeSource>,
    /// Start timecode with SPECIFIEDSTART (`HH:MM:SS:FF`, exactly 11 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timecode_start: Option<String>,
    /// Audio selectors by name (e.g. `Audio Selector 1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_selectors: Option<BTreeMap<String, AudioSelector>>,
    /// The video track selection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_selector: Option<VideoSelector>,
    /// Still images inserted over this input (positions relative to this input's frame).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_inserter: Option<ImageInserter>,
    /// Videos overlaid on this input (picture-in-picture).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_overlays: Option<Vec<VideoOverlay>>,
}

/// A clip of an input or overlay input (both timecodes inclusive, `HH:MM:SS:FF`).
///
/// The model has two shapes with these same members (`InputClipping`, `VideoOverlayInputClipping`); one type
/// serves both.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct InputClipping {
    /// First frame of the clip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timecode: Option<String>,
    /// Last frame of the clip (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_timecode: Option<String>,
}

/// A generated input: black frames (or `ImageInput`) of a given size, rate and duration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct InputVideoGenerator {
    /// Duration in milliseconds, 1..=86400000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i32>,
    /// Width in pixels, even, 32..=8192.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    /// Height in pixels, even, 32..=8192.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    /// Frame rate numerator (default rate 29.97).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_numerator: Option<i32>,
    /// Frame rate denominator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_denominator: Option<i32>,
    /// Sample rate of the silent audio, 32000..=48000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<i32>,
    /// Silent audio channels, 1..=32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<i32>,
    /// An image (PNG/BMP/TGA) to show instead of black.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_input: Option<String>,
}

/// Selects audio from an input (or from an external file).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AudioSelector {
    /// DEFAULT: used for outputs whose named selector this input lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_selection: Option<AudioDefaultSelection>,
    /// Audio from a separate file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_audio_file_input: Option<String>,
    /// How tracks are chosen (service default TRACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector_type: Option<AudioSelectorType>,
    /// 1-based track numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracks: Option<Vec<i32>>,
    /// Audio offset in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i32>,
}

wire_enum!(
    /// Whether an audio selector is the input's default.
    AudioDefaultSelection { Default = "DEFAULT", NotDefault = "NOT_DEFAULT" }
);

wire_enum!(
    /// How an audio selector picks tracks.
    AudioSelectorType {
        Pid = "PID",
        Track = "TRACK",
        LanguageCode = "LANGUAGE_CODE",
        HlsRenditionGroup = "HLS_RENDITION_GROUP",
        AllPcm = "ALL_PCM",
        Stream = "STREAM",
    }
);

/// The input's video track settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoSelector {
    /// Rotation; AUTO follows the file's rotation metadata (the service default does not rotate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate: Option<InputRotate>,
    /// BLACK pads the video when it is shorter than the audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pad_video: Option<PadVideo>,
}

wire_enum!(
    /// Input rotation.
    InputRotate {
        Degree0 = "DEGREE_0",
        Degrees90 = "DEGREES_90",
        Degrees180 = "DEGREES_180",
        Degrees270 = "DEGREES_270",
        Auto = "AUTO",
    }
);

wire_enum!(
    /// Video padding when the video ends before the audio.
    PadVideo { Disabled = "DISABLED", Black = "BLACK" }
);

/// Still images inserted over an input or an output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ImageInserter {
    /// The images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insertable_images: Option<Vec<InsertableImage>>,
}

/// One inserted still image (pixels and milliseconds).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct InsertableImage {
    /// The PNG/TGA image (`s3://` or http(s)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_inserter_input: Option<String>,
    /// Left edge in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_x: Option<i32>,
    /// Top edge in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_y: Option<i32>,
    /// Width in pixels (native width when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    /// Height in pixels (native height when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    /// Stacking order, 0..=99; higher is on top.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<i32>,
    /// 0 (transparent)..=100 (opaque); service default 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opacity: Option<i32>,
    /// First frame showing the image (`HH:MM:SS:FF`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Milliseconds on screen, fade-in included, fade-out not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i32>,
    /// Fade-in in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fade_in: Option<i32>,
    /// Fade-out in milliseconds, after `Duration`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fade_out: Option<i32>,
}

/// A video shown over the base input (picture-in-picture).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoOverlay {
    /// The overlay's source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<VideoOverlayInput>,
    /// First frame of the base input showing the overlay (`HH:MM:SS:FF`, base input timecode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timecode: Option<String>,
    /// Last frame of the base input showing the overlay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_timecode: Option<String>,
    /// Position and size. In PERCENTAGE, X/Y are relative to the base frame but Width/Height to the overlay source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_position: Option<VideoOverlayPosition>,
    /// ONCE or REPEAT (the service default REPEAT loops a shorter overlay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playback: Option<VideoOverlayPlayback>,
    /// Moves or resizes over time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Vec<VideoOverlayTransition>>,
    /// The part of the overlay source to use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crop: Option<VideoOverlayCrop>,
}

/// The source of a video overlay.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoOverlayInput {
    /// `s3://bucket/key` or an http(s) URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_input: Option<String>,
    /// Clips of the overlay source (model shape `VideoOverlayInputClipping`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_clippings: Option<Vec<InputClipping>>,
    /// Timecode source for the clippings (service default EMBEDDED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timecode_source: Option<InputTimecodeSource>,
    /// Start timecode with SPECIFIEDSTART.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timecode_start: Option<String>,
}

/// Position and size of a video overlay.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoOverlayPosition {
    /// Left edge, relative to the base input's frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_position: Option<i32>,
    /// Top edge, relative to the base input's frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_position: Option<i32>,
    /// Width (PERCENTAGE: of the overlay source's own width).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    /// Height (PERCENTAGE: of the overlay source's own height).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    /// PIXELS (default) or PERCENTAGE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<VideoOverlayUnit>,
    /// 0 (transparent)..=100 (opaque, default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opacity: Option<i32>,
}

wire_enum!(
    /// Unit of overlay positions and sizes.
    VideoOverlayUnit { Pixels = "PIXELS", Percentage = "PERCENTAGE" }
);

wire_enum!(
    /// Whether an overlay plays once or loops (model shape `VideoOverlayPlayBackMode`).
    VideoOverlayPlayback { Once = "ONCE", Repeat = "REPEAT" }
);

/// A move or resize of a video overlay between two base-input timecodes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoOverlayTransition {
    /// Where the transition starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timecode: Option<String>,
    /// Where it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_timecode: Option<String>,
    /// Position at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_position: Option<VideoOverlayPosition>,
}

/// A crop of the overlay source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoOverlayCrop {
    /// Left edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    /// Top edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
    /// Width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    /// Height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    /// PIXELS or PERCENTAGE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<VideoOverlayUnit>,
}

/// A group of outputs sharing a destination and packaging.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OutputGroup {
    /// Name shown in the console (max 2048).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Custom name used in some manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    /// Type and destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_group_settings: Option<OutputGroupSettings>,
    /// The outputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<Output>>,
}

/// Output group type and its settings (the member matching `Type` is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OutputGroupSettings {
    /// The group type.
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub group_type: Option<OutputGroupType>,
    /// FILE_GROUP_SETTINGS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_group_settings: Option<FileGroupSettings>,
    /// HLS_GROUP_SETTINGS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hls_group_settings: Option<HlsGroupSettings>,
    /// CMAF_GROUP_SETTINGS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmaf_group_settings: Option<CmafGroupSettings>,
}

wire_enum!(
    /// Output group type.
    OutputGroupType {
        FileGroupSettings = "FILE_GROUP_SETTINGS",
        HlsGroupSettings = "HLS_GROUP_SETTINGS",
        CmafGroupSettings = "CMAF_GROUP_SETTINGS",
        DashIsoGroupSettings = "DASH_ISO_GROUP_SETTINGS",
        MsSmoothGroupSettings = "MS_SMOOTH_GROUP_SETTINGS",
    }
);

/// A file group: one file per output at `Destination` + `NameModifier` + `.` + extension.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FileGroupSettings {
    /// `s3://bucket/path/base` (base name without extension); the input's base name when it ends with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// An HLS group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct HlsGroupSettings {
    /// `s3://bucket/path/base` of the main manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Target segment length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_length: Option<i32>,
    /// Minimum segment length in seconds (0 = no minimum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_segment_length: Option<i32>,
    /// How segment lengths are enforced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_length_control: Option<SegmentLengthControl>,
    /// One file or one file per segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_control: Option<SegmentControl>,
    /// Directory layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_structure: Option<HlsDirectoryStructure>,
    /// Segment durations in manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_duration_format: Option<ManifestDurationFormat>,
    /// Manifests and segments, or segments only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_selection: Option<HlsOutputSelection>,
    /// CODECS attribute syntax.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_specification: Option<CodecSpecification>,
}

/// A CMAF group (HLS and/or DASH manifests over fragmented MP4).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CmafGroupSettings {
    /// `s3://bucket/path/base` of the manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Target segment length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_length: Option<i32>,
    /// Fragment length in whole seconds (service default 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragment_length: Option<i32>,
    /// How segment lengths are enforced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_length_control: Option<SegmentLengthControl>,
    /// One file or one file per segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_control: Option<SegmentControl>,
    /// Write an HLS manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_hls_manifest: Option<EnabledDisabled>,
    /// Write a DASH manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_dash_manifest: Option<EnabledDisabled>,
    /// Segment durations in manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_duration_format: Option<ManifestDurationFormat>,
    /// CODECS attribute syntax.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_specification: Option<CodecSpecification>,
}

wire_enum!(
    /// Segment length enforcement (HLS and CMAF).
    SegmentLengthControl { Exact = "EXACT", GopMultiple = "GOP_MULTIPLE", Match = "MATCH" }
);

wire_enum!(
    /// Segmenting (HLS and CMAF).
    SegmentControl { SingleFile = "SINGLE_FILE", SegmentedFiles = "SEGMENTED_FILES" }
);

wire_enum!(
    /// HLS directory layout.
    HlsDirectoryStructure { SingleDirectory = "SINGLE_DIRECTORY", SubdirectoryPerStream = "SUBDIRECTORY_PER_STREAM" }
);

wire_enum!(
    /// Manifest duration format (HLS and CMAF).
    ManifestDurationFormat { FloatingPoint = "FLOATING_POINT", Integer = "INTEGER" }
);

wire_enum!(
    /// What an HLS group writes.
    HlsOutputSelection { ManifestsAndSegments = "MANIFESTS_AND_SEGMENTS", SegmentsOnly = "SEGMENTS_ONLY" }
);

wire_enum!(
    /// CODECS attribute syntax (HLS and CMAF).
    CodecSpecification { Rfc6381 = "RFC_6381", Rfc4281 = "RFC_4281" }
);

wire_enum!(
    /// A plain on/off setting; the model has one enum per member with these values.
    EnabledDisabled { Enabled = "ENABLED", Disabled = "DISABLED" }
);

wire_enum!(
    /// A plain include/exclude setting; the model has one enum per member with these values.
    IncludeExclude { Include = "INCLUDE", Exclude = "EXCLUDE" }
);

/// One output: container, video and audio.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Output {
    /// Appended to the destination base name (1..=256 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_modifier: Option<String>,
    /// File extension without the dot (the container's default when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// The container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_settings: Option<ContainerSettings>,
    /// The video stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_description: Option<VideoDescription>,
    /// The audio streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_descriptions: Option<Vec<AudioDescription>>,
}

/// Container type and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ContainerSettings {
    /// The container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerType>,
    /// MP4 settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mp4_settings: Option<Mp4Settings>,
    /// MPEG-2 transport stream settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m2ts_settings: Option<M2tsSettings>,
    /// HLS transport stream settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m3u8_settings: Option<M3u8Settings>,
    /// CMAF (fragmented MP4) settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmfc_settings: Option<CmfcSettings>,
}

wire_enum!(
    /// Container types vidpipe builds (RAW carries FRAME_CAPTURE images).
    ContainerType { Mp4 = "MP4", M2ts = "M2TS", M3u8 = "M3U8", Cmfc = "CMFC", Raw = "RAW" }
);

/// MP4 settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Mp4Settings {
    /// PROGRESSIVE_DOWNLOAD puts the index (moov) at the front.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moov_placement: Option<Mp4MoovPlacement>,
    /// Composition shift least greatest box.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cslg_atom: Option<IncludeExclude>,
    /// ctts box version, 0 or 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctts_version: Option<i32>,
    /// A free-space box.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_space_box: Option<IncludeExclude>,
    /// Audio duration rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_duration: Option<AudioDuration>,
    /// Major brand of the ftyp box.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mp4_major_brand: Option<String>,
}

wire_enum!(
    /// Where the MP4 index goes.
    Mp4MoovPlacement { ProgressiveDownload = "PROGRESSIVE_DOWNLOAD", Normal = "NORMAL" }
);

wire_enum!(
    /// How the audio duration of a container is set.
    AudioDuration { DefaultCodecDuration = "DEFAULT_CODEC_DURATION", MatchVideoDuration = "MATCH_VIDEO_DURATION" }
);

/// MPEG-2 transport stream settings (minimal).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct M2tsSettings {
    /// Audio duration rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_duration: Option<AudioDuration>,
    /// VBR or CBR multiplex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_mode: Option<M2tsRateMode>,
    /// PAT interval in milliseconds, 0..=1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pat_interval: Option<i32>,
    /// PMT interval in milliseconds, 0..=1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmt_interval: Option<i32>,
}

wire_enum!(
    /// Transport stream rate mode.
    M2tsRateMode { Vbr = "VBR", Cbr = "CBR" }
);

/// HLS transport stream settings (minimal).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct M3u8Settings {
    /// Audio duration rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_duration: Option<AudioDuration>,
    /// PAT interval in milliseconds, 0..=1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pat_interval: Option<i32>,
    /// PMT interval in milliseconds, 0..=1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmt_interval: Option<i32>,
}

/// CMAF container settings (minimal).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CmfcSettings {
    /// Audio duration rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_duration: Option<AudioDuration>,
    /// An I-frame-only HLS manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub i_frame_only_manifest: Option<IncludeExclude>,
}

/// The video stream of an output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoDescription {
    /// Width, 32..=8192 (follows the source when both are absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    /// Height, 32..=8192.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    /// How the input is fitted to the output size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_behavior: Option<ScalingBehavior>,
    /// Scaler sharpness, 0..=100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpness: Option<i32>,
    /// Anti-aliasing when scaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anti_alias: Option<EnabledDisabled>,
    /// Whether color metadata is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_metadata: Option<ColorMetadata>,
    /// Timecode in the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timecode_insertion: Option<VideoTimecodeInsertion>,
    /// Codec and its settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_settings: Option<VideoCodecSettings>,
    /// Preprocessors applied to this output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_preprocessors: Option<VideoPreprocessors>,
}

wire_enum!(
    /// Scaling when input and output sizes differ.
    ScalingBehavior {
        Default = "DEFAULT",
        StretchToOutput = "STRETCH_TO_OUTPUT",
        Fit = "FIT",
        FitNoUpscale = "FIT_NO_UPSCALE",
        Fill = "FILL",
    }
);

wire_enum!(
    /// Color metadata in the output.
    ColorMetadata { Ignore = "IGNORE", Insert = "INSERT" }
);

wire_enum!(
    /// Timecode in the video stream.
    VideoTimecodeInsertion { Disabled = "DISABLED", PicTimingSei = "PIC_TIMING_SEI" }
);

/// Preprocessors of an output's video (model shape `VideoPreprocessor`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoPreprocessors {
    /// Still images over the output (positions relative to the output frame, times on the output timeline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_inserter: Option<ImageInserter>,
}

/// Video codec and its settings (the member matching `Codec` is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoCodecSettings {
    /// The codec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<VideoCodec>,
    /// With H_264.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h264_settings: Option<H264Settings>,
    /// With FRAME_CAPTURE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_capture_settings: Option<FrameCaptureSettings>,
}

wire_enum!(
    /// Video codecs vidpipe builds.
    VideoCodec { H264 = "H_264", FrameCapture = "FRAME_CAPTURE" }
);

/// H.264 settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct H264Settings {
    /// VBR, CBR or QVBR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_control_mode: Option<H264RateControlMode>,
    /// Average bitrate in bit/s (VBR, CBR), 1000..=1152000000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i32>,
    /// Peak bitrate in bit/s; required with QVBR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bitrate: Option<i32>,
    /// QVBR quality.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qvbr_settings: Option<H264QvbrSettings>,
    /// Profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_profile: Option<H264CodecProfile>,
    /// Level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_level: Option<H264CodecLevel>,
    /// Interlacing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interlace_mode: Option<H264InterlaceMode>,
    /// GOP length in `GopSizeUnits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gop_size: Option<f64>,
    /// FRAMES, SECONDS or AUTO (AUTO with GopSize blank for HLS/DASH/CMAF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gop_size_units: Option<H264GopSizeUnits>,
    /// Open GOPs per closed GOP plus one (1 = every GOP closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gop_closed_cadence: Option<i32>,
    /// B-frames as references.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gop_b_reference: Option<EnabledDisabled>,
    /// B-frames between reference frames, 0..=7.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_b_frames_between_reference_frames: Option<i32>,
    /// Reference frames, 1..=6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_reference_frames: Option<i32>,
    /// Minimum frames between IDR frames, 0..=30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_i_interval: Option<i32>,
    /// I-frames at scene changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene_change_detect: Option<H264SceneChangeDetect>,
    /// Encoder effort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality_tuning_level: Option<H264QualityTuningLevel>,
    /// Frame rate from the source or as specified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_control: Option<H264FramerateControl>,
    /// How frame rates are converted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_conversion_algorithm: Option<H264FramerateConversionAlgorithm>,
    /// Frame rate numerator with SPECIFIED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_numerator: Option<i32>,
    /// Frame rate denominator with SPECIFIED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_denominator: Option<i32>,
    /// Pixel aspect ratio from the source or as specified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub par_control: Option<H264ParControl>,
    /// Pixel aspect ratio numerator with SPECIFIED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub par_numerator: Option<i32>,
    /// Pixel aspect ratio denominator with SPECIFIED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub par_denominator: Option<i32>,
    /// CABAC or CAVLC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entropy_encoding: Option<H264EntropyEncoding>,
    /// Adaptive quantization strength.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive_quantization: Option<H264AdaptiveQuantization>,
    /// HRD buffer size in bits, 0..=1152000000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hrd_buffer_size: Option<i32>,
}

wire_enum!(
    /// H.264 rate control.
    H264RateControlMode { Vbr = "VBR", Cbr = "CBR", Qvbr = "QVBR" }
);

/// QVBR settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct H264QvbrSettings {
    /// Quality level, 1..=10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qvbr_quality_level: Option<i32>,
    /// Fine tune, 0..=1 (rounded to thirds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qvbr_quality_level_fine_tune: Option<f64>,
    /// Average bitrate cap with MULTI_PASS_HQ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_average_bitrate: Option<i32>,
}

wire_enum!(
    /// H.264 profile.
    H264CodecProfile {
        Baseline = "BASELINE",
        Main = "MAIN",
        High = "HIGH",
        High10bit = "HIGH_10BIT",
        High422 = "HIGH_422",
        High42210bit = "HIGH_422_10BIT",
    }
);

wire_enum!(
    /// H.264 level.
    H264CodecLevel {
        Auto = "AUTO",
        Level1 = "LEVEL_1",
        Level11 = "LEVEL_1_1",
        Level12 = "LEVEL_1_2",
        Level13 = "LEVEL_1_3",
        Level2 = "LEVEL_2",
        Level21 = "LEVEL_2_1",
        Level22 = "LEVEL_2_2",
        Level3 = "LEVEL_3",
        Level31 = "LEVEL_3_1",
        Level32 = "LEVEL_3_2",
        Level4 = "LEVEL_4",
        Level41 = "LEVEL_4_1",
        Level42 = "LEVEL_4_2",
        Level5 = "LEVEL_5",
        Level51 = "LEVEL_5_1",
        Level52 = "LEVEL_5_2",
    }
);

wire_enum!(
    /// H.264 interlacing.
    H264InterlaceMode {
        Progressive = "PROGRESSIVE",
        TopField = "TOP_FIELD",
        BottomField = "BOTTOM_FIELD",
        FollowTopField = "FOLLOW_TOP_FIELD",
        FollowBottomField = "FOLLOW_BOTTOM_FIELD",
    }
);

wire_enum!(
    /// Unit of `GopSize`.
    H264GopSizeUnits { Frames = "FRAMES", Seconds = "SECONDS", Auto = "AUTO" }
);

wire_enum!(
    /// Scene change detection.
    H264SceneChangeDetect { Disabled = "DISABLED", Enabled = "ENABLED", TransitionDetection = "TRANSITION_DETECTION" }
);

wire_enum!(
    /// Encoder effort (MULTI_PASS_HQ is pro-tier).
    H264QualityTuningLevel { SinglePass = "SINGLE_PASS", SinglePassHq = "SINGLE_PASS_HQ", MultiPassHq = "MULTI_PASS_HQ" }
);

wire_enum!(
    /// Frame rate source.
    H264FramerateControl { InitializeFromSource = "INITIALIZE_FROM_SOURCE", Specified = "SPECIFIED" }
);

wire_enum!(
    /// Frame rate conversion.
    H264FramerateConversionAlgorithm {
        DuplicateDrop = "DUPLICATE_DROP",
        Interpolate = "INTERPOLATE",
        Frameformer = "FRAMEFORMER",
        MaintainFrameCount = "MAINTAIN_FRAME_COUNT",
    }
);

wire_enum!(
    /// Pixel aspect ratio source.
    H264ParControl { InitializeFromSource = "INITIALIZE_FROM_SOURCE", Specified = "SPECIFIED" }
);

wire_enum!(
    /// Entropy coding.
    H264EntropyEncoding { Cabac = "CABAC", Cavlc = "CAVLC" }
);

wire_enum!(
    /// Adaptive quantization strength.
    H264AdaptiveQuantization {
        Off = "OFF",
        Auto = "AUTO",
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Higher = "HIGHER",
        Max = "MAX",
    }
);

/// FRAME_CAPTURE settings: JPEG stills, the first frame then one every `denominator / numerator` seconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FrameCaptureSettings {
    /// Capture rate numerator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_numerator: Option<i32>,
    /// Capture rate denominator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framerate_denominator: Option<i32>,
    /// Maximum number of images, 1..=10000000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_captures: Option<i32>,
    /// JPEG quality, 1..=100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<i32>,
}

/// An audio stream of an output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AudioDescription {
    /// The input audio selector to encode (service default `Audio Selector 1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_source_name: Option<String>,
    /// Codec and its settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_settings: Option<AudioCodecSettings>,
}

/// Audio codec and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AudioCodecSettings {
    /// The codec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<AudioCodec>,
    /// With AAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aac_settings: Option<AacSettings>,
}

wire_enum!(
    /// Audio codecs vidpipe builds.
    AudioCodec { Aac = "AAC" }
);

/// AAC settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AacSettings {
    /// Bitrate in bit/s from the model's fixed set (e.g. 96000, 128000, 192000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i32>,
    /// Channel layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coding_mode: Option<AacCodingMode>,
    /// Sample rate in Hz, 8000..=96000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<i32>,
    /// Profile (service default LC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_profile: Option<AacCodecProfile>,
    /// CBR or VBR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_control_mode: Option<AacRateControlMode>,
    /// Raw format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_format: Option<AacRawFormat>,
    /// MPEG-2 or MPEG-4 AAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specification: Option<AacSpecification>,
}

wire_enum!(
    /// AAC channel layout.
    AacCodingMode {
        AdReceiverMix = "AD_RECEIVER_MIX",
        CodingMode10 = "CODING_MODE_1_0",
        CodingMode11 = "CODING_MODE_1_1",
        CodingMode20 = "CODING_MODE_2_0",
        CodingMode51 = "CODING_MODE_5_1",
        CodingModeAuto = "CODING_MODE_AUTO",
    }
);

wire_enum!(
    /// AAC profile.
    AacCodecProfile { Lc = "LC", Hev1 = "HEV1", Hev2 = "HEV2", Xhe = "XHE" }
);

wire_enum!(
    /// AAC rate control.
    AacRateControlMode { Cbr = "CBR", Vbr = "VBR" }
);

wire_enum!(
    /// AAC raw format.
    AacRawFormat { LatmLoas = "LATM_LOAS", None = "NONE" }
);

wire_enum!(
    /// AAC specification.
    AacSpecification { Mpeg2 = "MPEG2", Mpeg4 = "MPEG4" }
);
