//! A stream's output jobs: the composite (the screen with the camera as a picture-in-picture) and the single one
//! (one recording alone, when its partner never came or cannot be used).

use std::path::Path;

use serde_json::Value;

use crate::media::{self, Frame, Picture, VideoSpec, colour_close};

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// The composite golden job `composite_screen1920x1080_camera640x360.json`.
pub const COMPOSITE_JOB: &str = "composite_screen1920x1080_camera640x360.json";
/// The single golden job `single_camera640x360.json`.
pub const SINGLE_JOB: &str = "single_camera640x360.json";

/// Writes the composite job's sources into `streams` (its `streams/` folder): `s-42.mp4`, a blue 1920x1080 screen
/// with a 440 Hz tone, and `s-42_camera.webm`, a red 640x360 camera with an 880 Hz tone, 1 s at 10 fps each.
pub fn write_composite_sources(streams: &Path) {
    let screen = VideoSpec::new(Picture::Solid("blue".into()), 1920, 1080, 10, 1.0).with_tone(440);
    media::write_mp4(&streams.join("s-42.mp4"), &screen);
    write_single_source(streams);
}

/// Writes the single job's source into `streams`: `s-42_camera.webm`, a red 640x360 camera with an 880 Hz tone,
/// 1 s at 10 fps.
pub fn write_single_source(streams: &Path) {
    let camera = VideoSpec::new(Picture::Solid("red".into()), 640, 360, 10, 1.0).with_tone(880);
    media::write_webm(&streams.join("s-42_camera.webm"), &camera);
}

/// Checks the composite job's output: the COMPLETE event (`detail`) names `named` (the output as the job names
/// it) and the stream; the camera is exactly where the builder puts it, the screen around it, and the sound is in.
pub fn assert_composite(output: &Path, named: &str, detail: &Value) {
    assert_output_named(detail, named);
    // The builder places a 288x162 camera at (1594, 880): x 1594..1881, y 880..1041.
    let frame = Frame::at_index(output, 5);
    for (x, y) in [(1597, 960), (1878, 960), (1700, 883), (1700, 1038)] {
        assert!(
            colour_close(frame.pixel(x, y), RED, 40),
            "inside ({x},{y}): {:?}",
            frame.pixel(x, y)
        );
    }
    for (x, y) in [(1590, 960), (1885, 960), (1700, 876), (1700, 1045)] {
        assert!(
            colour_close(frame.pixel(x, y), BLUE, 40),
            "outside ({x},{y}): {:?}",
            frame.pixel(x, y)
        );
    }
    assert!(media::mean_volume_db(output, 0.0, 1.0) > -30.0);
}

/// Checks the single job's output: named `named` in the COMPLETE event, the camera alone at its size, every frame
/// of its second, its sound.
pub fn assert_single(output: &Path, named: &str, detail: &Value) {
    assert_output_named(detail, named);
    let info = media::probe(output);
    let video = info.video().expect("the output has video");
    assert_eq!((video.width, video.height), (640, 360));
    assert!(
        (info.duration - 1.0).abs() <= 0.1,
        "duration {} within one frame of 1 s",
        info.duration
    );
    assert_eq!(media::video_frame_count(output), 10);
    let frame = Frame::at_index(output, 5);
    for (x, y) in [(5, 5), (320, 180), (634, 354)] {
        assert!(
            colour_close(frame.pixel(x, y), RED, 40),
            "({x},{y}): {:?}",
            frame.pixel(x, y)
        );
    }
    assert!(media::mean_volume_db(output, 0.0, 1.0) > -30.0);
}

fn assert_output_named(detail: &Value, named: &str) {
    assert_eq!(
        detail["outputGroupDetails"][0]["outputDetails"][0]["outputFilePaths"][0], named,
        "{detail}"
    );
    assert_eq!(detail["userMetadata"]["stream"], "s-42");
}
