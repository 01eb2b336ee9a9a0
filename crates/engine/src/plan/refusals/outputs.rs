//! Refused output groups, segmenting and containers.

use serde_json::json;

use super::*;

#[test]
fn output_groups_need_settings_of_their_type_and_named_outputs() {
    check(&[
        (
            "no group settings",
            |j| remove(j, GROUP_SETTINGS),
            INVALID,
            AT_SETTINGS.into(),
        ),
        (
            "no outputs",
            |j| set(j, "/Settings/OutputGroups/0/Outputs", json!([])),
            INVALID,
            "Settings.OutputGroups[0].Outputs".into(),
        ),
        (
            "no type",
            |j| remove(j, &format!("{GROUP_SETTINGS}/Type")),
            INVALID,
            format!("{AT_SETTINGS}.Type"),
        ),
        (
            "a DASH group",
            |j| {
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/Type"),
                    json!("DASH_ISO_GROUP_SETTINGS"),
                )
            },
            INVALID,
            format!("{AT_SETTINGS}.Type"),
        ),
        (
            "a file group without its settings",
            |j| remove(j, &format!("{GROUP_SETTINGS}/FileGroupSettings")),
            INVALID,
            format!("{AT_SETTINGS}.FileGroupSettings"),
        ),
        (
            "a file group without a destination",
            |j| set(j, &format!("{GROUP_SETTINGS}/FileGroupSettings"), json!({})),
            INVALID,
            format!("{AT_SETTINGS}.FileGroupSettings.Destination"),
        ),
        (
            "an HLS group without its settings",
            |j| {
                hls(j);
                remove(j, &format!("{GROUP_SETTINGS}/HlsGroupSettings"));
            },
            INVALID,
            format!("{AT_SETTINGS}.HlsGroupSettings"),
        ),
        (
            "an HLS group without a destination",
            |j| {
                hls(j);
                remove(j, &format!("{GROUP_SETTINGS}/HlsGroupSettings/Destination"));
            },
            INVALID,
            format!("{AT_SETTINGS}.HlsGroupSettings.Destination"),
        ),
        (
            "a CMAF group without its settings",
            |j| {
                cmaf(j);
                remove(j, &format!("{GROUP_SETTINGS}/CmafGroupSettings"));
            },
            INVALID,
            format!("{AT_SETTINGS}.CmafGroupSettings"),
        ),
        (
            "a CMAF group without a destination",
            |j| {
                cmaf(j);
                remove(
                    j,
                    &format!("{GROUP_SETTINGS}/CmafGroupSettings/Destination"),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.CmafGroupSettings.Destination"),
        ),
        (
            "HLS settings in a file group",
            |j| {
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/HlsGroupSettings"),
                    json!({"Destination": "s3://out/"}),
                )
            },
            INVALID,
            format!("{AT_SETTINGS}.HlsGroupSettings"),
        ),
        (
            "CMAF settings in a file group",
            |j| {
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/CmafGroupSettings"),
                    json!({"Destination": "s3://out/"}),
                )
            },
            INVALID,
            format!("{AT_SETTINGS}.CmafGroupSettings"),
        ),
    ]);
}

#[test]
fn the_outputs_of_a_group_need_names_that_expand() {
    check(&[
        (
            "two outputs without name modifiers",
            |j| {
                let output = j.pointer(OUTPUT).unwrap().clone();
                set(j, "/Settings/OutputGroups/0/Outputs/1", output);
            },
            INVALID,
            "Settings.OutputGroups[0].Outputs".into(),
        ),
        (
            "an unknown name modifier identifier",
            |j| set(j, &format!("{OUTPUT}/NameModifier"), json!("_$dt$")),
            INVALID,
            format!("{AT_OUTPUT}.NameModifier"),
        ),
        // Found by fuzzing: names that are not one file name in the group's folder reached ffmpeg's arguments.
        (
            "a NUL in the name modifier",
            |j| set(j, &format!("{OUTPUT}/NameModifier"), json!("_a\u{0}")),
            INVALID,
            format!("{AT_OUTPUT}.NameModifier"),
        ),
        (
            "a name modifier leaving the group's folder",
            |j| set(j, &format!("{OUTPUT}/NameModifier"), json!("/../../x")),
            INVALID,
            format!("{AT_OUTPUT}.NameModifier"),
        ),
        (
            "a control character in the destination's base name",
            |j| {
                let destination = format!("{GROUP_SETTINGS}/FileGroupSettings/Destination");
                set(j, &destination, json!("s3://out/clip\n"));
            },
            INVALID,
            format!("{AT_SETTINGS}.Destination"),
        ),
        (
            "a NUL in the extension",
            |j| set(j, &format!("{OUTPUT}/Extension"), json!("mp\u{0}4")),
            INVALID,
            format!("{AT_OUTPUT}.Extension"),
        ),
    ]);
}

#[test]
fn segmented_groups_refuse_what_the_engine_does_not_segment() {
    check(&[
        (
            "an HLS segment of 0 s",
            |j| {
                hls(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/HlsGroupSettings/SegmentLength"),
                    json!(0),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.HlsGroupSettings.SegmentLength"),
        ),
        (
            "HLS segments matching the source",
            |j| {
                hls(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/HlsGroupSettings/SegmentLengthControl"),
                    json!("MATCH"),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.HlsGroupSettings.SegmentLengthControl"),
        ),
        (
            "an HLS minimum segment length",
            |j| {
                hls(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/HlsGroupSettings/MinSegmentLength"),
                    json!(2),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.HlsGroupSettings.MinSegmentLength"),
        ),
        (
            "HLS subdirectories",
            |j| {
                hls(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/HlsGroupSettings/DirectoryStructure"),
                    json!("SUBDIRECTORY_PER_STREAM"),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.HlsGroupSettings.DirectoryStructure"),
        ),
        (
            "a CMAF segment of 0 s",
            |j| {
                cmaf(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/CmafGroupSettings/SegmentLength"),
                    json!(0),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.CmafGroupSettings.SegmentLength"),
        ),
        (
            "a CMAF fragment of 0 s",
            |j| {
                cmaf(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/CmafGroupSettings/FragmentLength"),
                    json!(0),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.CmafGroupSettings.FragmentLength"),
        ),
        (
            "a single CMAF file",
            |j| {
                cmaf(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/CmafGroupSettings/SegmentControl"),
                    json!("SINGLE_FILE"),
                );
            },
            INVALID,
            format!("{AT_SETTINGS}.CmafGroupSettings.SegmentControl"),
        ),
    ]);
}

#[test]
fn segmented_groups_refuse_outputs_they_cannot_hold() {
    check(&[
        (
            "a CMAF output with video and audio",
            |j| {
                let audio = job()
                    .pointer(&format!("{OUTPUT}/AudioDescriptions"))
                    .unwrap()
                    .clone();
                cmaf(j);
                set(j, &format!("{OUTPUT}/AudioDescriptions"), audio);
            },
            INVALID,
            AT_OUTPUT.into(),
        ),
        (
            "frame capture in an HLS group",
            |j| {
                frame_capture(j);
                hls(j);
            },
            INVALID,
            format!("{AT_OUTPUT}.VideoDescription.CodecSettings.Codec"),
        ),
        (
            "frame capture in a CMAF group",
            |j| {
                frame_capture(j);
                cmaf(j);
            },
            INVALID,
            format!("{AT_OUTPUT}.VideoDescription.CodecSettings.Codec"),
        ),
    ]);
}

#[test]
fn containers_must_fit_their_group_and_output() {
    const AT: &str = "Settings.OutputGroups[0].Outputs[0].ContainerSettings";
    check(&[
        (
            "a file output without a description",
            |j| remove(j, &format!("{OUTPUT}/VideoDescription")),
            INVALID,
            format!("{AT_OUTPUT}.VideoDescription"),
        ),
        (
            "a file output without a container",
            |j| remove(j, &format!("{OUTPUT}/ContainerSettings")),
            INVALID,
            format!("{AT}.Container"),
        ),
        (
            "an M3U8 file",
            |j| {
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/Container"),
                    json!("M3U8"),
                )
            },
            INVALID,
            format!("{AT}.Container"),
        ),
        (
            "M2TS settings in an MP4",
            |j| {
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/M2tsSettings"),
                    json!({}),
                )
            },
            INVALID,
            format!("{AT}.M2tsSettings"),
        ),
        (
            "CTTS version 2",
            |j| {
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/Mp4Settings"),
                    json!({"CttsVersion": 2}),
                )
            },
            INVALID,
            format!("{AT}.Mp4Settings.CttsVersion"),
        ),
        (
            "constant rate MPEG-TS",
            |j| {
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings"),
                    json!({"Container": "M2TS", "M2tsSettings": {"RateMode": "CBR"}}),
                )
            },
            INVALID,
            format!("{AT}.M2tsSettings.RateMode"),
        ),
        (
            "an MPEG-TS PMT interval",
            |j| {
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings"),
                    json!({"Container": "M2TS", "M2tsSettings": {"PmtInterval": 100}}),
                )
            },
            INVALID,
            format!("{AT}.M2tsSettings.PmtInterval"),
        ),
        (
            "frame capture with audio",
            |j| {
                let audio = job()
                    .pointer(&format!("{OUTPUT}/AudioDescriptions"))
                    .unwrap()
                    .clone();
                frame_capture(j);
                set(j, &format!("{OUTPUT}/AudioDescriptions"), audio);
            },
            INVALID,
            format!("{AT_OUTPUT}.AudioDescriptions"),
        ),
        (
            "frame capture in MP4",
            |j| {
                frame_capture(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/Container"),
                    json!("MP4"),
                );
            },
            INVALID,
            format!("{AT}.Container"),
        ),
        (
            "frame capture with MP4 settings",
            |j| {
                frame_capture(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/Mp4Settings"),
                    json!({}),
                );
            },
            INVALID,
            format!("{AT}.Mp4Settings"),
        ),
    ]);
}

#[test]
fn segmented_containers_must_fit_their_group() {
    const AT: &str = "Settings.OutputGroups[0].Outputs[0].ContainerSettings";
    check(&[
        (
            "an HLS variant in MP4",
            |j| {
                hls(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/Container"),
                    json!("MP4"),
                );
            },
            INVALID,
            format!("{AT}.Container"),
        ),
        (
            "an HLS variant with an extension",
            |j| {
                hls(j);
                set(j, &format!("{OUTPUT}/Extension"), json!("ts"));
            },
            INVALID,
            format!("{AT_OUTPUT}.Extension"),
        ),
        (
            "an HLS PMT interval",
            |j| {
                hls(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/M3u8Settings"),
                    json!({"PmtInterval": 100}),
                );
            },
            INVALID,
            format!("{AT}.M3u8Settings.PmtInterval"),
        ),
        (
            "an HLS variant with CMFC settings",
            |j| {
                hls(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/CmfcSettings"),
                    json!({}),
                );
            },
            INVALID,
            format!("{AT}.CmfcSettings"),
        ),
        (
            "a CMAF track in M3U8",
            |j| {
                cmaf(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/Container"),
                    json!("M3U8"),
                );
            },
            INVALID,
            format!("{AT}.Container"),
        ),
        (
            "a CMAF track with an extension",
            |j| {
                cmaf(j);
                set(j, &format!("{OUTPUT}/Extension"), json!("mp4"));
            },
            INVALID,
            format!("{AT_OUTPUT}.Extension"),
        ),
        (
            "a CMAF I-frame manifest",
            |j| {
                cmaf(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/CmfcSettings"),
                    json!({"IFrameOnlyManifest": "INCLUDE"}),
                );
            },
            INVALID,
            format!("{AT}.CmfcSettings.IFrameOnlyManifest"),
        ),
        (
            "a CMAF track with M3U8 settings",
            |j| {
                cmaf(j);
                set(
                    j,
                    &format!("{OUTPUT}/ContainerSettings/M3u8Settings"),
                    json!({}),
                );
            },
            INVALID,
            format!("{AT}.M3u8Settings"),
        ),
    ]);
}
