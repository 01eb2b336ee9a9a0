//! Fidelity tests: jobs run on generated media, and the pictures and sound that come out are measured.

mod common;

use std::path::Path;

use common::{assert_complete, file_job, first_output, mp4_output, run_local};
use serde_json::json;
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close, read_frame_counter};

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

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
async fn hls_segments_and_playlists() {
    let dir = tempfile::tempdir().unwrap();
    let source = path(dir.path(), "talk.mp4");
    media::write_mp4(
        Path::new(&source),
        &VideoSpec::new(Picture::Solid("green".into()), 320, 180, 10, 5.0).with_tone(440),
    );
    let destination = path(dir.path(), "hls/talk");
    let mut output = mp4_output(Some("_180p"), true);
    output["ContainerSettings"] = json!({"Container": "M3U8"});
    let request = json!({
        "Role": "arn:aws:iam::000000000000:role/MediaConvert",
        "Settings": {
            "Inputs": [{"FileInput": source, "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}}}],
            "OutputGroups": [{
                "OutputGroupSettings": {"Type": "HLS_GROUP_SETTINGS",
                    "HlsGroupSettings": {"Destination": destination, "SegmentLength": 2}},
                "Outputs": [output]
            }]
        }
    });
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let group = &recorder.events.last().unwrap()["detail"]["outputGroupDetails"][0];
    assert_eq!(group["type"], "HLS_GROUP");
    assert_eq!(
        group["playlistFilePaths"],
        json!([format!("{destination}.m3u8")])
    );
    assert_eq!(
        group["outputDetails"][0]["outputFilePaths"],
        json!([format!("{destination}_180p.m3u8")])
    );
    let child = std::fs::read_to_string(format!("{destination}_180p.m3u8")).unwrap();
    let durations: Vec<f64> = child
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse().unwrap())
        .collect();
    assert_eq!(durations.len(), 3, "{child}");
    for (actual, expected) in durations.iter().zip([2.0, 2.0, 1.0]) {
        assert!(
            (actual - expected).abs() <= 0.11,
            "segment {actual} s, expected {expected} s"
        );
    }
    for n in 1..=3 {
        let segment = format!("{destination}_180p_{n:05}.ts");
        assert!(Path::new(&segment).exists(), "{segment}");
        assert!(child.contains(&format!("talk_180p_{n:05}.ts")));
    }
    let main = std::fs::read_to_string(format!("{destination}.m3u8")).unwrap();
    assert!(
        main.contains("#EXT-X-STREAM-INF:")
            && main.contains("RESOLUTION=320x180")
            && main.contains("\ntalk_180p.m3u8"),
        "{main}"
    );
}

/// The frames ffmpeg decodes from stream `stream` (`v:0`, `a:0`) through `manifest` (HLS or DASH, local segments of
/// any extension).
fn decoded_frames(manifest: &str, stream: &str) -> usize {
    let out = media::ffmpeg(
        &[
            "-allowed_extensions",
            "ALL",
            "-i",
            manifest,
            "-map",
            &format!("0:{stream}"),
            "-f",
            "framecrc",
            "-",
        ]
        .map(String::from),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| l.starts_with("0,")).count()
}

#[tokio::test]
async fn cmaf_segments_and_hls_and_dash_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let source = path(dir.path(), "talk.mp4");
    media::write_mp4(
        Path::new(&source),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 10, 5.0).with_tone(440),
    );
    let destination = path(dir.path(), "cmaf/index");
    let mut video = mp4_output(Some("_video"), false);
    video["ContainerSettings"] =
        json!({"Container": "CMFC", "CmfcSettings": {"AudioDuration": "DEFAULT_CODEC_DURATION"}});
    let mut audio = mp4_output(Some("_audio"), true);
    audio.as_object_mut().unwrap().remove("VideoDescription");
    audio["ContainerSettings"] = json!({"Container": "CMFC"});
    let request = json!({
        "Role": "arn:aws:iam::000000000000:role/MediaConvert",
        "Settings": {
            "Inputs": [{"FileInput": source, "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}}}],
            "OutputGroups": [{
                "OutputGroupSettings": {"Type": "CMAF_GROUP_SETTINGS",
                    "CmafGroupSettings": {"Destination": destination, "SegmentLength": 2, "FragmentLength": 2,
                        "SegmentLengthControl": "EXACT", "SegmentControl": "SEGMENTED_FILES",
                        "WriteHlsManifest": "ENABLED", "WriteDashManifest": "ENABLED",
                        "ManifestDurationFormat": "FLOATING_POINT", "CodecSpecification": "RFC_6381"}},
                "Outputs": [video, audio]
            }]
        }
    });
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let group = &recorder.events.last().unwrap()["detail"]["outputGroupDetails"][0];
    assert_eq!(group["type"], "CMAF_GROUP");
    assert_eq!(
        group["playlistFilePaths"],
        json!([format!("{destination}.m3u8"), format!("{destination}.mpd")])
    );
    let details = group["outputDetails"].as_array().unwrap();
    assert_eq!(details.len(), 2);
    assert!(
        details.iter().all(|d| d.get("outputFilePaths").is_none()),
        "{group}"
    );
    assert_eq!(details[0]["durationInMs"], 5000);
    assert_eq!(
        details[0]["videoDetails"],
        json!({"widthInPx": 320, "heightInPx": 180})
    );
    assert!(details[1].get("videoDetails").is_none());

    // Segments of 2 s (keyframes forced at each boundary), named like the HLS ones, video and audio apart.
    for (track, extension) in [("video", "cmfv"), ("audio", "cmfa")] {
        let child = std::fs::read_to_string(format!("{destination}_{track}.m3u8")).unwrap();
        assert!(
            child.contains(&format!(
                "#EXT-X-MAP:URI=\"index_{track}_init.{extension}\""
            )),
            "{child}"
        );
        let durations: Vec<f64> = child
            .lines()
            .filter_map(|l| l.strip_prefix("#EXTINF:"))
            .map(|l| l.trim_end_matches(',').parse().unwrap())
            .collect();
        assert_eq!(durations.len(), 3, "{child}");
        for (actual, expected) in durations.iter().zip([2.0, 2.0, 1.0]) {
            assert!(
                (actual - expected).abs() <= 0.03,
                "{track} segment {actual} s, expected {expected} s"
            );
        }
        for n in 1..=3 {
            assert!(
                child.contains(&format!("\nindex_{track}_{n:05}.{extension}\n")),
                "{child}"
            );
        }
    }
    // Each video segment decodes on its own after the init segment, with the expected frames.
    let init = std::fs::read(format!("{destination}_video_init.cmfv")).unwrap();
    let mut first_frame = 0;
    for (n, frames) in [(1, 20), (2, 20), (3, 10)] {
        let mut bytes = init.clone();
        bytes.extend(std::fs::read(format!("{destination}_video_{n:05}.cmfv")).unwrap());
        let segment = dir.path().join(format!("segment{n}.mp4"));
        std::fs::write(&segment, bytes).unwrap();
        assert_eq!(media::video_frame_count(&segment), frames, "segment {n}");
        let frame = Frame::at_index(&segment, 0);
        assert_eq!(
            read_frame_counter(&frame),
            first_frame,
            "first frame of segment {n}"
        );
        first_frame += frames;
    }

    // Both manifests parse and play: every frame, and the audio rendition.
    let main = std::fs::read_to_string(format!("{destination}.m3u8")).unwrap();
    assert!(
        main.contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"program_audio\"")
            && main.contains("URI=\"index_audio.m3u8\"")
            && main.contains("RESOLUTION=320x180")
            && main.contains("CODECS=\"avc1.")
            && main.contains(",mp4a.40.2\",AUDIO=\"program_audio\"\nindex_video.m3u8"),
        "{main}"
    );
    // Every video frame, and 5 s of 48 kHz AAC: 235 frames of 1024 samples plus the encoder's priming frame.
    for manifest in [format!("{destination}.m3u8"), format!("{destination}.mpd")] {
        assert_eq!(decoded_frames(&manifest, "v:0"), 50, "{manifest}");
        assert_eq!(decoded_frames(&manifest, "a:0"), 236, "{manifest}");
    }
    let mpd = std::fs::read_to_string(format!("{destination}.mpd")).unwrap();
    assert!(
        mpd.contains("mediaPresentationDuration=\"PT5.000S\""),
        "{mpd}"
    );
}

#[tokio::test]
async fn outputs_are_named_exactly_as_mediaconvert_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let source = path(dir.path(), "in/screen.mp4");
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    media::write_mp4(
        Path::new(&source),
        &VideoSpec::new(Picture::Solid("gray".into()), 320, 180, 10, 1.0),
    );
    let folder = path(dir.path(), "out/");
    let capture = json!({
        "NameModifier": "_thumb",
        "ContainerSettings": {"Container": "RAW"},
        "VideoDescription": {"CodecSettings": {"Codec": "FRAME_CAPTURE",
            "FrameCaptureSettings": {"FramerateNumerator": 2, "FramerateDenominator": 1, "MaxCaptures": 2, "Quality": 80}}}
    });
    let mut ts = mp4_output(Some("_$w$x$h$"), false);
    ts["ContainerSettings"] = json!({"Container": "M2TS"});
    ts["VideoDescription"]["Width"] = json!(160);
    let request = json!({
        "Role": "arn:aws:iam::000000000000:role/MediaConvert",
        "Settings": {
            "Inputs": [{"FileInput": source}],
            "OutputGroups": [
                {"OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS", "FileGroupSettings": {"Destination": folder}},
                 "Outputs": [mp4_output(Some("_720p"), false), ts, capture]},
                {"OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS",
                    "FileGroupSettings": {"Destination": path(dir.path(), "out/named")}},
                 "Outputs": [mp4_output(None, false)]}
            ]
        }
    });
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let groups = &recorder.events.last().unwrap()["detail"]["outputGroupDetails"];
    let names = |g: usize, o: usize| groups[g]["outputDetails"][o]["outputFilePaths"].clone();
    assert_eq!(names(0, 0), json!([format!("{folder}screen_720p.mp4")]));
    assert_eq!(names(0, 1), json!([format!("{folder}screen_160x90.m2ts")]));
    assert_eq!(
        names(0, 2),
        json!([
            format!("{folder}screen_thumb.0000000.jpg"),
            format!("{folder}screen_thumb.0000001.jpg")
        ])
    );
    assert_eq!(names(1, 0), json!([path(dir.path(), "out/named.mp4")]));
    assert_eq!(
        groups[0]["outputDetails"][1]["videoDetails"],
        json!({"widthInPx": 160, "heightInPx": 90})
    );
    assert!(
        media::probe(Path::new(&format!("{folder}screen_160x90.m2ts")))
            .format
            .contains("mpegts")
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "named.mp4",
            "screen_160x90.m2ts",
            "screen_720p.mp4",
            "screen_thumb.0000000.jpg",
            "screen_thumb.0000001.jpg"
        ]
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

/// A video-only MP4 output at a specified 30 fps.
fn mp4_output_at_30_fps() -> serde_json::Value {
    let mut output = mp4_output(None, false);
    let h264 = &mut output["VideoDescription"]["CodecSettings"]["H264Settings"];
    h264["FramerateControl"] = json!("SPECIFIED");
    h264["FramerateNumerator"] = json!(30);
    h264["FramerateDenominator"] = json!(1);
    output
}

#[tokio::test]
async fn a_converted_frame_rate_keeps_every_frame_of_the_duration() {
    // A 24 fps input clipped to 36 frames (1.5 s) stitched with a 20 fps one (1 s), written at a specified 30 fps:
    // exactly 75 frames (ffmpeg's `fps` filter alone drops the last ones at the end of the stream).
    let dir = tempfile::tempdir().unwrap();
    let a = path(dir.path(), "a.mp4");
    let b = path(dir.path(), "b.mp4");
    media::write_mp4(
        Path::new(&a),
        &VideoSpec::new(Picture::Solid("red".into()), 320, 180, 24, 2.0),
    );
    media::write_mp4(
        Path::new(&b),
        &VideoSpec::new(Picture::Solid("blue".into()), 320, 180, 20, 1.0),
    );
    let output = mp4_output_at_30_fps();
    let (job, recorder) = run_local(&file_job(
        json!([{"FileInput": a, "TimecodeSource": "ZEROBASED",
                 "InputClippings": [{"StartTimecode": "00:00:00:12", "EndTimecode": "00:00:01:23"}]},
               {"FileInput": b}]),
        &path(dir.path(), "out/"),
        json!([output]),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let output = Path::new(&output);
    assert_eq!(media::video_frame_count(output), 75, "2.5 s at 30 fps");
    assert!(colour_close(
        Frame::at_index(output, 44).pixel(160, 90),
        RED,
        40
    ));
    assert!(colour_close(
        Frame::at_index(output, 45).pixel(160, 90),
        BLUE,
        40
    ));
    assert!(colour_close(
        Frame::at_index(output, 74).pixel(160, 90),
        BLUE,
        40
    ));
}

/// The settings x264 recorded in the stream (its SEI "options: ..." string), as `name=value` pairs.
fn x264_options(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap();
    let marker = b"options: ";
    let start = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("x264 writes its options into the stream")
        + marker.len();
    let end = start + bytes[start..].iter().position(|b| *b == 0).unwrap();
    String::from_utf8_lossy(&bytes[start..end])
        .split(' ')
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn each_quality_tuning_level_encodes_with_its_documented_x264_settings() {
    // docs/engine.md: SINGLE_PASS is preset superfast, SINGLE_PASS_HQ (the default) veryfast with one second of
    // rate-control lookahead, MULTI_PASS_HQ medium.
    let dir = tempfile::tempdir().unwrap();
    let input = path(dir.path(), "in.mp4");
    media::write_mp4(
        Path::new(&input),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 25, 1.0),
    );
    let output = |modifier: &str, tuning: Option<&str>| {
        let mut output = mp4_output(Some(modifier), false);
        if let Some(tuning) = tuning {
            output["VideoDescription"]["CodecSettings"]["H264Settings"]["QualityTuningLevel"] =
                json!(tuning);
        }
        output
    };
    let out = path(dir.path(), "out/t");
    let (job, _) = run_local(&file_job(
        json!([{"FileInput": input}]),
        &out,
        json!([
            output("_default", None),
            output("_single", Some("SINGLE_PASS")),
            output("_hq", Some("SINGLE_PASS_HQ")),
            output("_multi", Some("MULTI_PASS_HQ")),
        ]),
    ))
    .await;
    assert_complete(&job);
    let expected = [
        ("_default", ["subme=2", "rc_lookahead=25"]),
        ("_hq", ["subme=2", "rc_lookahead=25"]),
        ("_single", ["subme=1", "rc_lookahead=0"]),
        ("_multi", ["subme=7", "rc_lookahead=40"]),
    ];
    for (modifier, settings) in expected {
        let options = x264_options(Path::new(&format!("{out}{modifier}.mp4")));
        for setting in settings {
            assert!(
                options.iter().any(|o| o == setting),
                "{modifier}: {setting} not in {options:?}"
            );
        }
    }
}

#[tokio::test]
async fn inputs_at_other_rates_are_converted_once_to_the_specified_rate() {
    // A chunk render's shape: a 20 fps clip first, then a 30 fps clip, written at a specified 30 fps. The 30 fps clip
    // must come out frame for frame (not through a 20 fps canvas), and the output must last exactly 1.3 s + 1 s.
    let dir = tempfile::tempdir().unwrap();
    let slow = path(dir.path(), "slow.mp4");
    let fast = path(dir.path(), "fast.mp4");
    media::write_mp4(
        Path::new(&slow),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 20, 5.0),
    );
    media::write_mp4(
        Path::new(&fast),
        &VideoSpec::new(Picture::FrameCounter, 320, 180, 30, 2.0),
    );
    let output = mp4_output_at_30_fps();
    let (job, recorder) = run_local(&file_job(
        json!([{"FileInput": slow, "TimecodeSource": "ZEROBASED",
                 "InputClippings": [{"StartTimecode": "00:00:03:07", "EndTimecode": "00:00:04:12"}]},
               {"FileInput": fast, "TimecodeSource": "ZEROBASED",
                 "InputClippings": [{"StartTimecode": "00:00:01:00", "EndTimecode": "00:00:01:29"}]}]),
        &path(dir.path(), "out/"),
        json!([output]),
    ))
    .await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    let counters: Vec<u32> = Frame::all(Path::new(&output))
        .iter()
        .map(read_frame_counter)
        .collect();
    // Frames 67..=92 of the 20 fps input (26 frames, 1.3 s = 39 output frames), then 30..=59 of the 30 fps one.
    assert_eq!(counters.len(), 69, "2.3 s at 30 fps: {counters:?}");
    let (slow_part, fast_part) = counters.split_at(39);
    for (k, shown) in slow_part.iter().enumerate() {
        let at = k as f64 * 20.0 / 30.0;
        assert!(
            (67 + at.floor() as u32..=67 + at.ceil() as u32).contains(shown),
            "output frame {k} shows 20 fps frame {shown}, the one at {at} expected: {counters:?}"
        );
    }
    assert_eq!(slow_part.last(), Some(&92), "{counters:?}");
    assert_eq!(fast_part, (30..60).collect::<Vec<u32>>().as_slice());
}
