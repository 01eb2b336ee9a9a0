//! Refused inputs: files, generators, timecodes and clippings, audio selectors (and AAC), overlays, images.

use serde_json::json;

use super::*;

#[test]
fn the_job_needs_inputs_and_output_groups_it_can_read() {
    check(&[
        (
            "no inputs",
            |j| set(j, "/Settings/Inputs", json!([])),
            INVALID,
            "Settings.Inputs".into(),
        ),
        (
            "no output groups",
            |j| set(j, "/Settings/OutputGroups", json!([])),
            INVALID,
            "Settings.OutputGroups".into(),
        ),
        (
            "an input that was not fetched",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/FileInput",
                    json!("s3://in/missing.mp4"),
                )
            },
            ACCESS,
            "s3://in/missing.mp4".into(),
        ),
        (
            "an input without video",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/FileInput",
                    json!("s3://in/music.m4a"),
                )
            },
            ACCESS,
            "s3://in/music.m4a".into(),
        ),
        (
            "an input of odd size",
            |j| set(j, "/Settings/Inputs/0/FileInput", json!("s3://in/odd.mp4")),
            INVALID,
            "Settings.Inputs[0]".into(),
        ),
        (
            "a file and a generator",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/VideoGenerator",
                    json!({"Duration": 1000}),
                )
            },
            INVALID,
            "Settings.Inputs[0]".into(),
        ),
        (
            "neither a file nor a generator",
            |j| remove(j, "/Settings/Inputs/0/FileInput"),
            INVALID,
            "Settings.Inputs[0]".into(),
        ),
        (
            "a padded video selector",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/VideoSelector",
                    json!({"PadVideo": "BLACK"}),
                )
            },
            INVALID,
            "Settings.Inputs[0].VideoSelector.PadVideo".into(),
        ),
    ]);
}

#[test]
fn timecodes_and_clippings_must_be_on_the_timeline_and_in_order() {
    check(&[
        (
            "a specified start without a start",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/TimecodeSource",
                    json!("SPECIFIEDSTART"),
                )
            },
            INVALID,
            "Settings.Inputs[0].TimecodeStart".into(),
        ),
        (
            "an unreadable input start",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/TimecodeSource",
                    json!("SPECIFIEDSTART"),
                );
                set(j, "/Settings/Inputs/0/TimecodeStart", json!("ten o'clock"));
            },
            INVALID,
            "Settings.Inputs[0].TimecodeStart".into(),
        ),
        (
            "a clipping with no timecode",
            |j| set(j, "/Settings/Inputs/0/InputClippings", json!([{}])),
            INVALID,
            "Settings.Inputs[0].InputClippings[0]".into(),
        ),
        (
            "a clipping before the timeline",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/TimecodeSource",
                    json!("SPECIFIEDSTART"),
                );
                set(j, "/Settings/Inputs/0/TimecodeStart", json!("01:00:00:00"));
                set(
                    j,
                    "/Settings/Inputs/0/InputClippings",
                    json!([{"StartTimecode": "00:00:01:00"}]),
                );
            },
            INVALID,
            "Settings.Inputs[0].InputClippings[0].StartTimecode".into(),
        ),
        (
            "an unreadable clipping end",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/InputClippings",
                    json!([{"EndTimecode": "soon"}]),
                )
            },
            INVALID,
            "Settings.Inputs[0].InputClippings[0].EndTimecode".into(),
        ),
        (
            "a clipping that ends before it starts",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/InputClippings",
                    json!([{"StartTimecode": "00:00:05:00", "EndTimecode": "00:00:01:00"}]),
                )
            },
            INVALID,
            "Settings.Inputs[0].InputClippings[0]".into(),
        ),
        (
            "overlapping clippings",
            |j| {
                set(
                    j,
                    "/Settings/Inputs/0/InputClippings",
                    json!([
                        {"StartTimecode": "00:00:01:00", "EndTimecode": "00:00:05:00"},
                        {"StartTimecode": "00:00:04:00", "EndTimecode": "00:00:06:00"}
                    ]),
                )
            },
            INVALID,
            "Settings.Inputs[0].InputClippings[1]".into(),
        ),
    ]);
}

#[test]
fn the_output_timecode_must_be_readable() {
    check(&[
        (
            "a timecode anchor",
            |j| {
                set(
                    j,
                    "/Settings/TimecodeConfig",
                    json!({"Anchor": "00:00:00:00"}),
                )
            },
            INVALID,
            "Settings.TimecodeConfig.Anchor".into(),
        ),
        (
            "a specified output start without a start",
            |j| {
                set(
                    j,
                    "/Settings/TimecodeConfig",
                    json!({"Source": "SPECIFIEDSTART"}),
                )
            },
            INVALID,
            "Settings.TimecodeConfig.Start".into(),
        ),
        (
            "an unreadable output start",
            |j| {
                set(
                    j,
                    "/Settings/TimecodeConfig",
                    json!({"Source": "SPECIFIEDSTART", "Start": "noon"}),
                )
            },
            INVALID,
            "Settings.TimecodeConfig.Start".into(),
        ),
    ]);
}

#[test]
fn generators_need_a_length_a_rate_and_a_size() {
    check(&[
        (
            "a selector on a generator",
            |j| {
                generator(j);
                set(
                    j,
                    "/Settings/Inputs/0/VideoSelector",
                    json!({"Rotate": "DEGREE_0"}),
                );
            },
            INVALID,
            "Settings.Inputs[0].VideoSelector".into(),
        ),
        (
            "no duration",
            |j| {
                generator(j);
                remove(j, "/Settings/Inputs/0/VideoGenerator/Duration");
            },
            INVALID,
            "Settings.Inputs[0].VideoGenerator.Duration".into(),
        ),
        (
            "a zero duration",
            |j| {
                generator(j);
                set(j, "/Settings/Inputs/0/VideoGenerator/Duration", json!(0));
            },
            INVALID,
            "Settings.Inputs[0].VideoGenerator.Duration".into(),
        ),
        (
            "half a rate",
            |j| {
                generator(j);
                set(
                    j,
                    "/Settings/Inputs/0/VideoGenerator/FramerateNumerator",
                    json!(25),
                );
            },
            INVALID,
            "Settings.Inputs[0].VideoGenerator.FramerateNumerator".into(),
        ),
        (
            "a width out of range",
            |j| {
                generator(j);
                set(j, "/Settings/Inputs/0/VideoGenerator/Width", json!(16));
            },
            INVALID,
            "Settings.Inputs[0].VideoGenerator.Width".into(),
        ),
        (
            "no height and no image",
            |j| {
                generator(j);
                remove(j, "/Settings/Inputs/0/VideoGenerator/Height");
            },
            INVALID,
            "Settings.Inputs[0].VideoGenerator.Height".into(),
        ),
        (
            "an image that cannot be decoded",
            |j| {
                generator(j);
                set(
                    j,
                    "/Settings/Inputs/0/VideoGenerator/ImageInput",
                    json!("s3://in/corrupt.png"),
                );
            },
            ACCESS,
            "s3://in/corrupt.png".into(),
        ),
        (
            "a destination named after a generator",
            |j| {
                generator(j);
                set(
                    j,
                    &format!("{GROUP_SETTINGS}/FileGroupSettings/Destination"),
                    json!("s3://out/"),
                );
            },
            INVALID,
            "Settings.OutputGroups[0].OutputGroupSettings.Destination".into(),
        ),
    ]);
}

#[test]
fn audio_selectors_and_aac_settings_the_engine_does_not_implement_are_refused() {
    const SELECTOR: &str = "/Settings/Inputs/0/AudioSelectors/Audio Selector 1";
    const AT: &str = "Settings.Inputs[0].AudioSelectors.Audio Selector 1";
    check(&[
        (
            "a PID selector",
            |j| set(j, &format!("{SELECTOR}/SelectorType"), json!("PID")),
            INVALID,
            format!("{AT}.SelectorType"),
        ),
        (
            "two tracks",
            |j| set(j, &format!("{SELECTOR}/Tracks"), json!([1, 2])),
            INVALID,
            format!("{AT}.Tracks"),
        ),
        (
            "external audio without a track",
            |j| {
                set(
                    j,
                    &format!("{SELECTOR}/ExternalAudioFileInput"),
                    json!("s3://in/silent.m4a"),
                )
            },
            ACCESS,
            format!("{AT}.ExternalAudioFileInput"),
        ),
        (
            "no codec settings",
            |j| remove(j, &format!("{OUTPUT}/AudioDescriptions/0/CodecSettings")),
            INVALID,
            "Settings.OutputGroups[0].Outputs[0].AudioDescriptions[0].CodecSettings".into(),
        ),
        (
            "no codec",
            |j| {
                remove(
                    j,
                    &format!("{OUTPUT}/AudioDescriptions/0/CodecSettings/Codec"),
                )
            },
            INVALID,
            "Settings.OutputGroups[0].Outputs[0].AudioDescriptions[0].CodecSettings.Codec".into(),
        ),
        (
            "HE-AAC",
            |j| set(j, &format!("{AAC}/CodecProfile"), json!("HEV1")),
            INVALID,
            format!("{AT_AAC}.CodecProfile"),
        ),
        (
            "variable rate AAC",
            |j| set(j, &format!("{AAC}/RateControlMode"), json!("VBR")),
            INVALID,
            format!("{AT_AAC}.RateControlMode"),
        ),
        (
            "LATM/LOAS",
            |j| set(j, &format!("{AAC}/RawFormat"), json!("LATM_LOAS")),
            INVALID,
            format!("{AT_AAC}.RawFormat"),
        ),
        (
            "a receiver mix",
            |j| set(j, &format!("{AAC}/CodingMode"), json!("AD_RECEIVER_MIX")),
            INVALID,
            format!("{AT_AAC}.CodingMode"),
        ),
        (
            "a sample rate out of range",
            |j| set(j, &format!("{AAC}/SampleRate"), json!(4000)),
            INVALID,
            format!("{AT_AAC}.SampleRate"),
        ),
    ]);
}

#[test]
fn overlays_need_a_source_a_window_and_fixed_sizes() {
    const AT: &str = "Settings.Inputs[0].VideoOverlays[0]";
    check(&[
        (
            "no input",
            |j| {
                overlay(j, "StartTimecode", json!("00:00:00:00"));
                remove(j, "/Settings/Inputs/0/VideoOverlays/0/Input");
            },
            INVALID,
            format!("{AT}.Input"),
        ),
        (
            "no file",
            |j| overlay(j, "Input", json!({})),
            INVALID,
            format!("{AT}.Input.FileInput"),
        ),
        (
            "a file without video",
            |j| overlay(j, "Input", json!({"FileInput": "s3://in/music.m4a"})),
            ACCESS,
            "s3://in/music.m4a".into(),
        ),
        (
            "a window that ends before it starts",
            |j| {
                overlay(j, "StartTimecode", json!("00:00:05:00"));
                set(
                    j,
                    "/Settings/Inputs/0/VideoOverlays/0/EndTimecode",
                    json!("00:00:01:00"),
                );
            },
            INVALID,
            format!("{AT}.StartTimecode"),
        ),
        (
            "an unreadable end",
            |j| overlay(j, "EndTimecode", json!("later")),
            INVALID,
            format!("{AT}.EndTimecode"),
        ),
        (
            "an opacity over 100",
            |j| overlay(j, "InitialPosition", json!({"Opacity": 150})),
            INVALID,
            format!("{AT}.InitialPosition.Opacity"),
        ),
        (
            "an overlay clipping with no timecode",
            |j| {
                overlay(
                    j,
                    "Input",
                    json!({"FileInput": "s3://in/overlay.mp4", "InputClippings": [{}]}),
                )
            },
            INVALID,
            format!("{AT}.Input.InputClippings[0]"),
        ),
        (
            "an overlay's specified start without a start",
            |j| {
                overlay(
                    j,
                    "Input",
                    json!({"FileInput": "s3://in/overlay.mp4", "TimecodeSource": "SPECIFIEDSTART"}),
                )
            },
            INVALID,
            format!("{AT}.Input.TimecodeStart"),
        ),
    ]);
}

#[test]
fn overlay_transitions_only_move_the_overlay() {
    const AT: &str = "Settings.Inputs[0].VideoOverlays[0]";
    check(&[
        (
            "a transition without a start",
            |j| {
                overlay(
                    j,
                    "Transitions",
                    json!([{"EndTimecode": "00:00:02:00", "EndPosition": {}}]),
                )
            },
            INVALID,
            format!("{AT}.Transitions[0].StartTimecode"),
        ),
        (
            "a transition without an end",
            |j| {
                overlay(
                    j,
                    "Transitions",
                    json!([{"StartTimecode": "00:00:02:00", "EndPosition": {}}]),
                )
            },
            INVALID,
            format!("{AT}.Transitions[0].EndTimecode"),
        ),
        (
            "a transition that ends as it starts",
            |j| {
                overlay(
                    j,
                    "Transitions",
                    json!([{"StartTimecode": "00:00:02:00", "EndTimecode": "00:00:02:00", "EndPosition": {}}]),
                )
            },
            INVALID,
            format!("{AT}.Transitions[0]"),
        ),
        (
            "a transition without an end position",
            |j| {
                overlay(
                    j,
                    "Transitions",
                    json!([{"StartTimecode": "00:00:01:00", "EndTimecode": "00:00:02:00"}]),
                )
            },
            INVALID,
            format!("{AT}.Transitions[0].EndPosition"),
        ),
        (
            "a transition that resizes",
            |j| {
                overlay(
                    j,
                    "Transitions",
                    json!([{"StartTimecode": "00:00:01:00", "EndTimecode": "00:00:02:00", "EndPosition": {"Width": 100}}]),
                )
            },
            INVALID,
            format!("{AT}.Transitions[0].EndPosition.Width"),
        ),
        (
            "a transition that fades",
            |j| {
                overlay(
                    j,
                    "Transitions",
                    json!([{"StartTimecode": "00:00:01:00", "EndTimecode": "00:00:02:00", "EndPosition": {"Opacity": 50}}]),
                )
            },
            INVALID,
            format!("{AT}.Transitions[0].EndPosition.Opacity"),
        ),
    ]);
}

#[test]
fn inserted_images_need_a_file_a_position_and_their_own_layer() {
    const AT: &str = "Settings.Inputs[0].ImageInserter.InsertableImages[0]";
    check(&[
        ("two images on one layer", |j| {
            image(j, "Layer", json!(1));
            set(j, "/Settings/Inputs/0/ImageInserter/InsertableImages/1/Layer", json!(1));
        }, INVALID, "Settings.Inputs[0].ImageInserter.InsertableImages[1].Layer".into()),
        ("a layer over 99", |j| image(j, "Layer", json!(100)), INVALID, format!("{AT}.Layer")),
        ("no image", |j| {
            image(j, "Layer", json!(1));
            remove(j, "/Settings/Inputs/0/ImageInserter/InsertableImages/0/ImageInserterInput");
        }, INVALID, format!("{AT}.ImageInserterInput")),
        ("an image that cannot be decoded", |j| image(j, "ImageInserterInput", json!("s3://in/corrupt.png")), ACCESS, "s3://in/corrupt.png".into()),
        ("no X", |j| {
            image(j, "Layer", json!(1));
            remove(j, "/Settings/Inputs/0/ImageInserter/InsertableImages/0/ImageX");
        }, INVALID, format!("{AT}.ImageX")),
        ("no Y", |j| {
            image(j, "Layer", json!(1));
            remove(j, "/Settings/Inputs/0/ImageInserter/InsertableImages/0/ImageY");
        }, INVALID, format!("{AT}.ImageY")),
        ("an opacity over 100", |j| image(j, "Opacity", json!(101)), INVALID, format!("{AT}.Opacity")),
        ("an unreadable start", |j| image(j, "StartTime", json!("now")), INVALID, format!("{AT}.StartTime")),
        ("an output image with no position", |j| {
            set(j, &format!("{OUTPUT}/VideoDescription/VideoPreprocessors/ImageInserter/InsertableImages"), json!([{"ImageInserterInput": "s3://in/logo.png", "ImageY": 0}]));
        }, INVALID, "Settings.OutputGroups[0].Outputs[0].VideoDescription.VideoPreprocessors.ImageInserter.InsertableImages[0].ImageX".into()),
    ]);
}
