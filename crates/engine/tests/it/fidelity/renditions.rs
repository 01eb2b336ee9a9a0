//! What the outputs are made of: HLS and CMAF packaging, output names, frame rate conversion, x264 settings.

use std::path::Path;

use serde_json::json;
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close, read_frame_counter};

use super::{BLUE, RED, path};
use crate::common::{
    assert_complete, decoded_frames, file_job, first_output, mp4_output, run_local,
};

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
