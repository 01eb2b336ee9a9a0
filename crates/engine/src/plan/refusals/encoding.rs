//! Refused video descriptions and H.264 settings.

use serde_json::json;

use super::*;

#[test]
fn video_descriptions_the_engine_cannot_encode_are_refused() {
    const DESCRIPTION: &str = "/Settings/OutputGroups/0/Outputs/0/VideoDescription";
    const AT: &str = "Settings.OutputGroups[0].Outputs[0].VideoDescription";
    check(&[
        (
            "sharpness",
            |j| set(j, &format!("{DESCRIPTION}/Sharpness"), json!(50)),
            INVALID,
            format!("{AT}.Sharpness"),
        ),
        (
            "a timecode in the picture",
            |j| {
                set(
                    j,
                    &format!("{DESCRIPTION}/TimecodeInsertion"),
                    json!("PIC_TIMING_SEI"),
                )
            },
            INVALID,
            format!("{AT}.TimecodeInsertion"),
        ),
        (
            "an odd width",
            |j| set(j, &format!("{DESCRIPTION}/Width"), json!(641)),
            INVALID,
            format!("{AT}.Width"),
        ),
        (
            "a height out of range",
            |j| set(j, &format!("{DESCRIPTION}/Height"), json!(10000)),
            INVALID,
            format!("{AT}.Height"),
        ),
        (
            "no codec settings",
            |j| remove(j, &format!("{DESCRIPTION}/CodecSettings")),
            INVALID,
            format!("{AT}.CodecSettings"),
        ),
        (
            "no codec",
            |j| remove(j, &format!("{DESCRIPTION}/CodecSettings/Codec")),
            INVALID,
            format!("{AT}.CodecSettings.Codec"),
        ),
        (
            "no H.264 settings",
            |j| remove(j, H264),
            INVALID,
            AT_H264.into(),
        ),
        (
            "frame capture settings with H.264",
            |j| {
                set(
                    j,
                    &format!("{DESCRIPTION}/CodecSettings/FrameCaptureSettings"),
                    json!({}),
                )
            },
            INVALID,
            format!("{AT}.CodecSettings.FrameCaptureSettings"),
        ),
        (
            "H.264 settings with frame capture",
            |j| {
                frame_capture(j);
                set(j, H264, json!({}));
            },
            INVALID,
            AT_H264.into(),
        ),
        (
            "a capture rate of zero",
            |j| {
                frame_capture(j);
                set(
                    j,
                    &format!("{DESCRIPTION}/CodecSettings/FrameCaptureSettings/FramerateNumerator"),
                    json!(0),
                );
            },
            INVALID,
            format!("{AT}.CodecSettings.FrameCaptureSettings"),
        ),
    ]);
}

#[test]
fn h264_rate_control_the_engine_does_not_implement_is_refused() {
    check(&[
        (
            "QVBR without a maximum",
            |j| set(j, H264, json!({"RateControlMode": "QVBR"})),
            INVALID,
            format!("{AT_H264}.MaxBitrate"),
        ),
        (
            "QVBR with an average maximum",
            |j| {
                set(
                    j,
                    H264,
                    json!({"RateControlMode": "QVBR", "MaxBitrate": 2000000, "QvbrSettings": {"MaxAverageBitrate": 1000000}}),
                )
            },
            INVALID,
            format!("{AT_H264}.QvbrSettings.MaxAverageBitrate"),
        ),
        (
            "QVBR with a bitrate",
            |j| {
                set(
                    j,
                    H264,
                    json!({"RateControlMode": "QVBR", "MaxBitrate": 2000000, "Bitrate": 1000000}),
                )
            },
            INVALID,
            format!("{AT_H264}.Bitrate"),
        ),
        (
            "VBR with QVBR settings",
            |j| {
                set(
                    j,
                    H264,
                    json!({"RateControlMode": "VBR", "Bitrate": 1000000, "QvbrSettings": {}}),
                )
            },
            INVALID,
            format!("{AT_H264}.QvbrSettings"),
        ),
        (
            "VBR without a bitrate",
            |j| set(j, H264, json!({"RateControlMode": "VBR"})),
            INVALID,
            format!("{AT_H264}.Bitrate"),
        ),
        (
            "CBR with QVBR settings",
            |j| set(j, &format!("{H264}/QvbrSettings"), json!({})),
            INVALID,
            format!("{AT_H264}.QvbrSettings"),
        ),
        (
            "CBR with a maximum",
            |j| set(j, &format!("{H264}/MaxBitrate"), json!(2000000)),
            INVALID,
            format!("{AT_H264}.MaxBitrate"),
        ),
        (
            "CBR without a bitrate",
            |j| remove(j, &format!("{H264}/Bitrate")),
            INVALID,
            format!("{AT_H264}.Bitrate"),
        ),
    ]);
}

#[test]
fn h264_settings_the_engine_does_not_implement_are_refused() {
    check(&[
        (
            "a 10-bit profile",
            |j| set(j, &format!("{H264}/CodecProfile"), json!("HIGH_10BIT")),
            INVALID,
            format!("{AT_H264}.CodecProfile"),
        ),
        (
            "interlacing",
            |j| set(j, &format!("{H264}/InterlaceMode"), json!("TOP_FIELD")),
            INVALID,
            format!("{AT_H264}.InterlaceMode"),
        ),
        (
            "a specified rate without a numerator",
            |j| {
                set(j, &format!("{H264}/FramerateControl"), json!("SPECIFIED"));
                set(j, &format!("{H264}/FramerateDenominator"), json!(1));
            },
            INVALID,
            format!("{AT_H264}.FramerateNumerator"),
        ),
        (
            "a specified rate without a denominator",
            |j| {
                set(j, &format!("{H264}/FramerateControl"), json!("SPECIFIED"));
                set(j, &format!("{H264}/FramerateNumerator"), json!(25));
            },
            INVALID,
            format!("{AT_H264}.FramerateDenominator"),
        ),
        (
            "a specified rate of zero",
            |j| {
                set(j, &format!("{H264}/FramerateControl"), json!("SPECIFIED"));
                set(j, &format!("{H264}/FramerateNumerator"), json!(0));
                set(j, &format!("{H264}/FramerateDenominator"), json!(1));
            },
            INVALID,
            format!("{AT_H264}.FramerateNumerator"),
        ),
        (
            "interpolated rate conversion",
            |j| {
                set(
                    j,
                    &format!("{H264}/FramerateConversionAlgorithm"),
                    json!("INTERPOLATE"),
                )
            },
            INVALID,
            format!("{AT_H264}.FramerateConversionAlgorithm"),
        ),
        (
            "an automatic GOP of a given size",
            |j| {
                set(j, &format!("{H264}/GopSizeUnits"), json!("AUTO"));
                set(j, &format!("{H264}/GopSize"), json!(60.0));
            },
            INVALID,
            format!("{AT_H264}.GopSize"),
        ),
        (
            "eight B-frames",
            |j| {
                set(
                    j,
                    &format!("{H264}/NumberBFramesBetweenReferenceFrames"),
                    json!(8),
                )
            },
            INVALID,
            format!("{AT_H264}.NumberBFramesBetweenReferenceFrames"),
        ),
        (
            "seven reference frames",
            |j| set(j, &format!("{H264}/NumberReferenceFrames"), json!(7)),
            INVALID,
            format!("{AT_H264}.NumberReferenceFrames"),
        ),
        (
            "a specified aspect without a numerator",
            |j| {
                set(j, &format!("{H264}/ParControl"), json!("SPECIFIED"));
                set(j, &format!("{H264}/ParDenominator"), json!(1));
            },
            INVALID,
            format!("{AT_H264}.ParNumerator"),
        ),
        (
            "a specified aspect without a denominator",
            |j| {
                set(j, &format!("{H264}/ParControl"), json!("SPECIFIED"));
                set(j, &format!("{H264}/ParNumerator"), json!(1));
            },
            INVALID,
            format!("{AT_H264}.ParDenominator"),
        ),
    ]);
}
