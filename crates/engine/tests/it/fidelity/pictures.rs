//! The picture and sound of the timeline: overlays, stitched and clipped inputs, image inserters, external audio,
//! transitions, output scaling.

use std::path::Path;

use serde_json::json;
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close, read_frame_counter};

use super::{BLUE, RED, path};
use crate::common::{assert_complete, file_job, first_output, mp4_output, run_local};

#[tokio::test]
async fn camera_lands_exactly_in_the_bottom_right_rectangle() {
    let dir = tempfile::tempdir().unwrap();
    let screen = path(dir.path(), "screen.mp4");
    let camera = path(dir.path(), "camera.webm");
    let spec = VideoSpec::new(Picture::Solid("blue".into()), 1920, 1080, 10, 1.0).with_tone(440);
    media::write_mp4(Path::new(&screen), &spec);
    media::write_webm(
        Path::new(&camera),
        &VideoSpec::new(Picture::Solid("red".into()), 640, 360, 10, 1.0),
    );
    // Camera at its own size, 20 px from the right and bottom edges: x = 1260..1899, y = 700..1059.
    let inputs = json!([{
        "FileInput": screen,
        "TimecodeSource": "ZEROBASED",
        "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}},
        "VideoOverlays": [{
            "Input": {"FileInput": camera, "TimecodeSource": "ZEROBASED"},
            "InitialPosition": {"XPosition": 1260, "YPosition": 700, "Width": 640, "Height": 360, "Unit": "PIXELS"},
            "Playback": "ONCE"
        }]
    }]);
    let out = path(dir.path(), "out/composited");
    let (job, recorder) = run_local(&file_job(inputs, &out, json!([mp4_output(None, true)]))).await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    assert_eq!(output, format!("{out}.mp4"));
    let output = Path::new(&output);
    let info = media::probe(output);
    let video = info.video().unwrap();
    assert_eq!((video.width, video.height), (1920, 1080));
    assert!(
        (info.duration - 1.0).abs() <= 0.1,
        "duration {} within one frame of 1 s",
        info.duration
    );
    assert_eq!(media::video_frame_count(output), 10);
    let frame = Frame::at_index(output, 5);
    let (left, top, right, bottom) = (1260, 700, 1899, 1059);
    for (x, y) in [
        (left + 3, 880),
        (right - 3, 880),
        (1580, top + 3),
        (1580, bottom - 3),
        (1580, 880),
    ] {
        assert!(
            colour_close(frame.pixel(x, y), RED, 40),
            "inside ({x},{y}) is {:?}",
            frame.pixel(x, y)
        );
    }
    for (x, y) in [
        (left - 3, 880),
        (right + 3, 880),
        (1580, top - 3),
        (1580, bottom + 3),
        (100, 100),
    ] {
        assert!(
            colour_close(frame.pixel(x, y), BLUE, 40),
            "outside ({x},{y}) is {:?}",
            frame.pixel(x, y)
        );
    }
    assert!(
        media::mean_volume_db(output, 0.0, 1.0) > -30.0,
        "the screen's tone is in the output"
    );
}

fn counter_overlay_job(dir: &Path, playback: &str, start: Option<&str>) -> serde_json::Value {
    let base = path(dir, "base.mp4");
    let counter = path(dir, "counter.mp4");
    media::write_mp4(
        Path::new(&base),
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 10, 3.0),
    );
    media::write_mp4(
        Path::new(&counter),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 10, 1.0),
    );
    let mut overlay = json!({"Input": {"FileInput": counter, "TimecodeSource": "ZEROBASED"}, "Playback": playback});
    if let Some(start) = start {
        overlay["StartTimecode"] = json!(start);
    }
    let inputs =
        json!([{"FileInput": base, "TimecodeSource": "ZEROBASED", "VideoOverlays": [overlay]}]);
    file_job(
        inputs,
        &path(dir, "out/"),
        json!([mp4_output(Some("_pip"), false)]),
    )
}

fn is_counter(frame: &Frame) -> bool {
    // The counter's background is grey-black, never blue.
    !colour_close(frame.pixel(300, 170), BLUE, 40)
}

#[tokio::test]
async fn a_shorter_camera_with_once_disappears_after_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let (job, recorder) = run_local(&counter_overlay_job(dir.path(), "ONCE", None)).await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    assert!(output.ends_with("out/base_pip.mp4"), "{output}");
    let output = Path::new(&output);
    let last_shown = Frame::at_index(output, 9);
    assert!(is_counter(&last_shown));
    assert_eq!(read_frame_counter(&last_shown), 9);
    for index in [10, 15, 29] {
        assert!(
            !is_counter(&Frame::at_index(output, index)),
            "frame {index} still shows the camera"
        );
    }
}

#[tokio::test]
async fn a_shorter_camera_with_repeat_loops() {
    let dir = tempfile::tempdir().unwrap();
    let (job, recorder) = run_local(&counter_overlay_job(dir.path(), "REPEAT", None)).await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    for (index, expected) in [(3, 3), (10, 0), (15, 5), (29, 9)] {
        let frame = Frame::at_index(output, index);
        assert!(is_counter(&frame), "frame {index} shows the camera");
        assert_eq!(read_frame_counter(&frame), expected, "frame {index}");
    }
}

#[tokio::test]
async fn an_offset_start_appears_at_the_right_frame() {
    let dir = tempfile::tempdir().unwrap();
    // 00:00:01:05 at 10 fps is frame 15 of the base input.
    let (job, recorder) = run_local(&counter_overlay_job(
        dir.path(),
        "ONCE",
        Some("00:00:01:05"),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    assert!(
        !is_counter(&Frame::at_index(output, 14)),
        "frame 14 is before the overlay"
    );
    for (index, expected) in [(15, 0), (16, 1), (24, 9)] {
        let frame = Frame::at_index(output, index);
        assert!(is_counter(&frame), "frame {index} shows the overlay");
        assert_eq!(read_frame_counter(&frame), expected, "frame {index}");
    }
    assert!(
        !is_counter(&Frame::at_index(output, 25)),
        "ONCE: gone after its 10 frames"
    );
}

#[tokio::test]
async fn an_overlay_clipped_late_in_a_long_file_shows_exactly_its_frames() {
    // A browser-like recording (VP8 WebM, a key frame every 12 frames) 8 s long at 10 fps, clipped to frames 53 to
    // 62: the engine seeks its file to 3.3 s instead of decoding it from the start, and must show the same frames.
    let dir = tempfile::tempdir().unwrap();
    let base = path(dir.path(), "base.mp4");
    let counter = path(dir.path(), "counter.webm");
    media::write_mp4(
        Path::new(&base),
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 10, 2.0),
    );
    media::write_webm(
        Path::new(&counter),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 10, 8.0),
    );
    let overlay = json!({"Input": {"FileInput": counter, "TimecodeSource": "ZEROBASED",
                                   "InputClippings": [{"StartTimecode": "00:00:05:03", "EndTimecode": "00:00:06:02"}]},
                         "Playback": "ONCE"});
    let inputs =
        json!([{"FileInput": base, "TimecodeSource": "ZEROBASED", "VideoOverlays": [overlay]}]);
    let job = file_job(
        inputs,
        &path(dir.path(), "out/"),
        json!([mp4_output(Some("_pip"), false)]),
    );
    let (job, recorder) = run_local(&job).await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    for (index, expected) in [(0, 53), (1, 54), (5, 58), (9, 62)] {
        let frame = Frame::at_index(output, index);
        assert!(is_counter(&frame), "frame {index} shows the overlay");
        assert_eq!(read_frame_counter(&frame), expected, "frame {index}");
    }
    assert!(
        !is_counter(&Frame::at_index(output, 10)),
        "ONCE: gone after its 10 frames"
    );
}

#[tokio::test]
async fn stitched_inputs_last_the_sum_of_their_parts() {
    let dir = tempfile::tempdir().unwrap();
    let a = path(dir.path(), "a.mp4");
    let b = path(dir.path(), "b.webm");
    media::write_mp4(
        Path::new(&a),
        &VideoSpec::new(Picture::Solid("red".into()), 320, 180, 10, 1.0).with_tone(440),
    );
    media::write_webm(
        Path::new(&b),
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 10, 2.0),
    );
    let inputs = json!([
        {"FileInput": a, "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}}},
        {"FileInput": b},
        {"VideoGenerator": {"Duration": 500, "Width": 320, "Height": 180, "FramerateNumerator": 10, "FramerateDenominator": 1}}
    ]);
    let (job, recorder) = run_local(&file_job(
        inputs,
        &path(dir.path(), "out/"),
        json!([mp4_output(None, true)]),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    assert_eq!(media::video_frame_count(output), 35, "10 + 20 + 5 frames");
    let info = media::probe(output);
    assert!(
        (info.duration - 3.5).abs() <= 0.1,
        "duration {}",
        info.duration
    );
    let detail =
        &recorder.events.last().unwrap()["detail"]["outputGroupDetails"][0]["outputDetails"][0];
    assert!(
        (detail["durationInMs"].as_i64().unwrap() - 3500).abs() <= 100,
        "{detail}"
    );
    assert!(colour_close(
        Frame::at_index(output, 5).pixel(160, 90),
        RED,
        40
    ));
    assert!(colour_close(
        Frame::at_index(output, 20).pixel(160, 90),
        BLUE,
        40
    ));
    assert!(
        colour_close(Frame::at_index(output, 32).pixel(160, 90), [0, 0, 0], 20),
        "generator is black"
    );
    assert!(
        media::mean_volume_db(output, 0.1, 0.8) > -30.0,
        "input 1 has its tone"
    );
    assert!(
        media::mean_volume_db(output, 1.5, 1.0) < -80.0,
        "input 2 has no selector: silence"
    );
}

#[tokio::test]
async fn clipping_is_frame_exact_with_zerobased_and_embedded_timecodes() {
    let dir = tempfile::tempdir().unwrap();
    let zero = path(dir.path(), "zero.mp4");
    let embedded = path(dir.path(), "embedded.mp4");
    media::write_mp4(
        Path::new(&zero),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 25, 4.0),
    );
    media::write_mp4(
        Path::new(&embedded),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 25, 3.0).with_timecode("01:00:00:00"),
    );
    let inputs = json!([
        {"FileInput": zero, "TimecodeSource": "ZEROBASED",
         "InputClippings": [{"StartTimecode": "00:00:01:00", "EndTimecode": "00:00:02:10"}]},
        {"FileInput": embedded,
         "InputClippings": [{"StartTimecode": "01:00:01:00", "EndTimecode": "01:00:01:24"}]}
    ]);
    let (job, recorder) = run_local(&file_job(
        inputs,
        &path(dir.path(), "clip"),
        json!([mp4_output(None, false)]),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    // Frames 25..=60 of the first input (36), then frames 25..=49 of the second (25).
    assert_eq!(media::video_frame_count(output), 61);
    assert_eq!(read_frame_counter(&Frame::at_index(output, 0)), 25);
    assert_eq!(read_frame_counter(&Frame::at_index(output, 35)), 60);
    assert_eq!(read_frame_counter(&Frame::at_index(output, 36)), 25);
    assert_eq!(read_frame_counter(&Frame::at_index(output, 60)), 49);
}

#[tokio::test]
async fn image_inserter_opacity_layers_and_fades_are_measured() {
    let dir = tempfile::tempdir().unwrap();
    let base = path(dir.path(), "black.mp4");
    let white = path(dir.path(), "white.png");
    let red = path(dir.path(), "red.png");
    media::write_mp4(
        Path::new(&base),
        &VideoSpec::new(Picture::Solid("black".into()), 320, 180, 10, 4.0),
    );
    media::write_png(Path::new(&white), "white", 100, 80);
    media::write_png(Path::new(&red), "red", 40, 40);
    let inputs = json!([{
        "FileInput": base,
        "TimecodeSource": "ZEROBASED",
        "ImageInserter": {"InsertableImages": [
            // Default opacity (50); fades in over 1 s, stays 2 s from its start, fades out over 1 s.
            {"ImageInserterInput": white, "ImageX": 20, "ImageY": 30, "Layer": 1,
             "Duration": 2000, "FadeIn": 1000, "FadeOut": 1000},
            // Opaque, on top (higher layer), from 00:00:00:05, scaled to 60x60.
            {"ImageInserterInput": red, "ImageX": 100, "ImageY": 50, "Width": 60, "Height": 60, "Layer": 5,
             "Opacity": 100, "StartTime": "00:00:00:05"}
        ]}
    }]);
    let (job, recorder) = run_local(&file_job(
        inputs,
        &path(dir.path(), "img"),
        json!([mp4_output(None, false)]),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    let grey = |index: u32| Frame::at_index(output, index).pixel(40, 50)[1] as i32;
    // Opacity 50 of white over black is mid grey; during the fades it scales with the fade.
    assert!(
        (grey(0)).abs() <= 10,
        "fade starts transparent: {}",
        grey(0)
    );
    assert!(
        (grey(5) - 64).abs() <= 16,
        "half way through the fade-in: {}",
        grey(5)
    );
    assert!(
        (grey(15) - 128).abs() <= 12,
        "full opacity 50: {}",
        grey(15)
    );
    assert!(
        (grey(25) - 64).abs() <= 16,
        "half way through the fade-out: {}",
        grey(25)
    );
    assert!(grey(35) <= 10, "gone after the fade-out: {}", grey(35));
    // Layer order and size: the opaque red image covers the white one where they overlap (x 100..119).
    assert!(
        colour_close(Frame::at_index(output, 4).pixel(110, 60), [64, 64, 64], 20),
        "red not yet shown"
    );
    let frame = Frame::at_index(output, 15);
    assert!(
        colour_close(frame.pixel(110, 60), RED, 40),
        "red on top: {:?}",
        frame.pixel(110, 60)
    );
    assert!(
        colour_close(frame.pixel(155, 105), RED, 40),
        "scaled to 60x60: {:?}",
        frame.pixel(155, 105)
    );
    assert!(
        colour_close(frame.pixel(165, 115), [0, 0, 0], 20),
        "outside the 60x60 image"
    );
}

#[tokio::test]
async fn external_audio_file_is_used_for_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let video = path(dir.path(), "silent.mp4");
    let audio = path(dir.path(), "voice.wav");
    media::write_mp4(
        Path::new(&video),
        &VideoSpec::new(Picture::Solid("gray".into()), 320, 180, 10, 2.0),
    );
    media::write_tone_wav(Path::new(&audio), 1000, 1.0);
    let inputs = json!([{"FileInput": video,
        "AudioSelectors": {"Audio Selector 1": {"ExternalAudioFileInput": audio, "DefaultSelection": "DEFAULT"}}}]);
    let (job, recorder) = run_local(&file_job(
        inputs,
        &path(dir.path(), "mixed"),
        json!([mp4_output(None, true)]),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    assert!(
        (media::probe(output).duration - 2.0).abs() <= 0.1,
        "audio padded to the video's length"
    );
    assert!(
        media::mean_volume_db(output, 0.1, 0.8) > -30.0,
        "the external tone is heard"
    );
    assert!(
        media::mean_volume_db(output, 1.2, 0.7) < -80.0,
        "silence after the external file ends"
    );
}

#[tokio::test]
async fn transitions_move_an_overlay_placed_in_percentages() {
    let dir = tempfile::tempdir().unwrap();
    let base = path(dir.path(), "base.mp4");
    let badge = path(dir.path(), "badge.mp4");
    media::write_mp4(
        Path::new(&base),
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 10, 3.0),
    );
    media::write_mp4(
        Path::new(&badge),
        &VideoSpec::new(Picture::Solid("red".into()), 128, 72, 10, 3.0),
    );
    // X/Y in percent of the base frame, Width in percent of the overlay source: 50% of 128x72 is 64x36 at y = 90.
    let inputs = json!([{
        "FileInput": base,
        "TimecodeSource": "ZEROBASED",
        "VideoOverlays": [{
            "Input": {"FileInput": badge, "TimecodeSource": "ZEROBASED"},
            "InitialPosition": {"XPosition": 0, "YPosition": 50, "Width": 50, "Unit": "PERCENTAGE"},
            "Transitions": [{"StartTimecode": "00:00:01:00", "EndTimecode": "00:00:02:00",
                "EndPosition": {"XPosition": 50, "YPosition": 50, "Unit": "PERCENTAGE"}}]
        }]
    }]);
    let (job, recorder) = run_local(&file_job(
        inputs,
        &path(dir.path(), "moved"),
        json!([mp4_output(None, false)]),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    let red_at = |frame: &Frame, x: u32| colour_close(frame.pixel(x, 108), RED, 40);
    let start = Frame::at_index(output, 5);
    assert!(
        red_at(&start, 3) && red_at(&start, 60) && !red_at(&start, 68),
        "64 px wide at x = 0"
    );
    assert!(
        colour_close(start.pixel(30, 93), RED, 40) && colour_close(start.pixel(30, 129), BLUE, 40),
        "36 px high at y = 90"
    );
    let middle = Frame::at_index(output, 15);
    assert!(
        !red_at(&middle, 76)
            && red_at(&middle, 84)
            && red_at(&middle, 140)
            && !red_at(&middle, 148),
        "half way: x = 80"
    );
    let end = Frame::at_index(output, 25);
    assert!(
        !red_at(&end, 156) && red_at(&end, 164) && red_at(&end, 220),
        "after the transition: x = 160"
    );
}

#[tokio::test]
async fn output_size_and_scaling_behavior_shape_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let source = path(dir.path(), "wide.mp4");
    media::write_mp4(
        Path::new(&source),
        &VideoSpec::new(Picture::Solid("red".into()), 320, 180, 10, 1.0),
    );
    let output = |modifier: &str, behavior: &str| {
        let mut output = mp4_output(Some(modifier), false);
        output["VideoDescription"]["Width"] = json!(160);
        output["VideoDescription"]["Height"] = json!(160);
        output["VideoDescription"]["ScalingBehavior"] = json!(behavior);
        output
    };
    let outputs = json!([
        output("_default", "DEFAULT"),
        output("_stretch", "STRETCH_TO_OUTPUT"),
        output("_fit", "FIT"),
        output("_fill", "FILL")
    ]);
    let folder = path(dir.path(), "out/");
    let (job, recorder) =
        run_local(&file_job(json!([{"FileInput": source}]), &folder, outputs)).await;
    assert_complete(&job);
    let details =
        &recorder.events.last().unwrap()["detail"]["outputGroupDetails"][0]["outputDetails"];
    let sizes: Vec<_> = (0..4).map(|i| details[i]["videoDetails"].clone()).collect();
    assert_eq!(sizes[0], json!({"widthInPx": 160, "heightInPx": 160}));
    assert_eq!(
        sizes[2],
        json!({"widthInPx": 160, "heightInPx": 90}),
        "FIT does not pad"
    );
    let frame = |name: &str| Frame::at_index(Path::new(&format!("{folder}wide_{name}.mp4")), 0);
    let letterboxed = frame("default");
    assert!(
        colour_close(letterboxed.pixel(80, 20), [0, 0, 0], 20),
        "DEFAULT pads with black"
    );
    assert!(colour_close(letterboxed.pixel(80, 80), RED, 40));
    assert!(
        colour_close(frame("stretch").pixel(80, 5), RED, 40),
        "STRETCH fills the frame"
    );
    assert!(
        colour_close(frame("fill").pixel(80, 5), RED, 40),
        "FILL crops instead of padding"
    );
    assert!(colour_close(frame("fit").pixel(80, 45), RED, 40));
}

#[tokio::test]
async fn output_image_inserter_is_timed_on_the_stitched_output_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, logo) = (
        path(dir.path(), "a.mp4"),
        path(dir.path(), "b.mp4"),
        path(dir.path(), "logo.png"),
    );
    media::write_mp4(
        Path::new(&a),
        &VideoSpec::new(Picture::Solid("red".into()), 320, 180, 10, 1.0),
    );
    media::write_mp4(
        Path::new(&b),
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 10, 1.0),
    );
    media::write_png(Path::new(&logo), "white", 40, 40);
    let mut output = mp4_output(None, false);
    output["VideoDescription"]["VideoPreprocessors"] = json!({"ImageInserter": {"InsertableImages": [
        {"ImageInserterInput": logo, "ImageX": 10, "ImageY": 10, "Layer": 0, "Opacity": 100, "StartTime": "00:00:00:05"}
    ]}});
    let mut request = file_job(
        json!([{"FileInput": a}, {"FileInput": b}]),
        &path(dir.path(), "logo"),
        json!([output]),
    );
    request["Settings"]["TimecodeConfig"] = json!({"Source": "ZEROBASED"});
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    let white = |index: u32| {
        colour_close(
            Frame::at_index(output, index).pixel(30, 30),
            [255, 255, 255],
            30,
        )
    };
    assert!(!white(4), "frame 4 is before the logo");
    assert!(
        white(5) && white(12) && white(19),
        "the logo stays across the stitch into the second input"
    );
    assert!(colour_close(
        Frame::at_index(output, 12).pixel(200, 100),
        BLUE,
        40
    ));
}
