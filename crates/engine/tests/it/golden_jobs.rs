//! The jobs vidpipe's builders produce (vidpipe-core's golden files) run in the engine, with their S3 locations
//! pointed at local files.

use std::path::{Path, PathBuf};

use crate::common::{assert_complete, decoded_frames, first_output, run_local};
use serde_json::Value;
use vidpipe_core::manifest::{resolve, rewrite_dash, rewrite_hls};
use vidpipe_engine::box_types;
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close, read_frame_counter};

fn golden(name: &str, replacements: &[(&str, String)]) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/golden")
        .join(name);
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

fn folder(dir: &Path, name: &str) -> String {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    format!("{}/", folder.display())
}

#[tokio::test]
async fn the_composite_job_puts_the_camera_where_the_builder_says() {
    let dir = tempfile::tempdir().unwrap();
    let streams = folder(dir.path(), "streams");
    let screen = VideoSpec::new(Picture::Solid("blue".into()), 1920, 1080, 10, 1.0).with_tone(440);
    media::write_mp4(Path::new(&format!("{streams}s-42.mp4")), &screen);
    let camera = VideoSpec::new(Picture::Solid("red".into()), 640, 360, 10, 1.0).with_tone(880);
    media::write_webm(Path::new(&format!("{streams}s-42_camera.webm")), &camera);
    let request = golden(
        "composite_screen1920x1080_camera640x360.json",
        &[("s3://vidpipe-uploads/streams/", streams.clone())],
    );
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let output = first_output(&recorder.events);
    assert_eq!(output, format!("{streams}s-42_composited.mp4"));
    let output = Path::new(&output);
    // The builder places a 288x162 camera at (1594, 880): x 1594..1881, y 880..1041.
    let frame = Frame::at_index(output, 5);
    for (x, y) in [(1597, 960), (1878, 960), (1700, 883), (1700, 1038)] {
        assert!(
            colour_close(frame.pixel(x, y), [255, 0, 0], 40),
            "inside ({x},{y}): {:?}",
            frame.pixel(x, y)
        );
    }
    for (x, y) in [(1590, 960), (1885, 960), (1700, 876), (1700, 1045)] {
        assert!(
            colour_close(frame.pixel(x, y), [0, 0, 255], 40),
            "outside ({x},{y}): {:?}",
            frame.pixel(x, y)
        );
    }
    assert!(media::mean_volume_db(output, 0.0, 1.0) > -30.0);
    assert_eq!(
        box_types(output).unwrap(),
        ["ftyp", "moov", "mdat"],
        "FreeSpaceBox EXCLUDE, moov first"
    );
    assert_eq!(
        recorder.events.last().unwrap()["detail"]["userMetadata"]["stream"],
        "s-42"
    );
}

#[tokio::test]
async fn the_hls_preview_job_writes_integer_playlists_codecs_and_a_poster() {
    let dir = tempfile::tempdir().unwrap();
    let streams = folder(dir.path(), "streams");
    let previews = folder(dir.path(), "previews");
    let camera = VideoSpec::new(Picture::Solid("red".into()), 720, 1280, 10, 5.0).with_tone(440);
    media::write_webm(Path::new(&format!("{streams}s-42_camera.webm")), &camera);
    let request = golden(
        "preview_hls_camera720x1280.json",
        &[
            ("s3://vidpipe-uploads/streams/", streams.clone()),
            ("s3://vidpipe-previews/previews/p-7/", previews.clone()),
        ],
    );
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let groups = &recorder.events.last().unwrap()["detail"]["outputGroupDetails"];
    assert_eq!(
        groups[0]["playlistFilePaths"][0],
        format!("{previews}index.m3u8")
    );
    assert_eq!(
        groups[0]["outputDetails"][0]["outputFilePaths"][0],
        format!("{previews}index_1280p.m3u8")
    );
    assert_eq!(
        groups[1]["outputDetails"][0]["outputFilePaths"][0],
        format!("{previews}poster.0000000.jpg")
    );
    let child = std::fs::read_to_string(format!("{previews}index_1280p.m3u8")).unwrap();
    let durations: Vec<&str> = child
        .lines()
        .filter(|l| l.starts_with("#EXTINF:"))
        .collect();
    assert_eq!(
        durations,
        ["#EXTINF:4,", "#EXTINF:1,"],
        "ManifestDurationFormat INTEGER, 4 s segments"
    );
    let main = std::fs::read_to_string(format!("{previews}index.m3u8")).unwrap();
    assert!(
        main.contains("CODECS=\"avc1.64") && main.contains("mp4a.40.2\""),
        "{main}"
    );
    assert!(main.contains("RESOLUTION=720x1280"), "{main}");
    let poster = Path::new(&format!("{previews}poster.0000000.jpg")).to_path_buf();
    let frame = Frame::at_index(&poster, 0);
    assert_eq!((frame.width, frame.height), (720, 1280));
    assert!(colour_close(frame.pixel(360, 640), [255, 0, 0], 40));
}

#[tokio::test]
async fn the_cmaf_preview_job_writes_hls_and_dash_manifests_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let streams = folder(dir.path(), "streams");
    let previews = folder(dir.path(), "previews");
    let screen = VideoSpec::new(Picture::Solid("blue".into()), 854, 480, 10, 5.0);
    media::write_mp4(Path::new(&format!("{streams}s-42.mp4")), &screen);
    let request = golden(
        "preview_cmaf_screen854x480_silent.json",
        &[
            ("s3://vidpipe-uploads/streams/", streams.clone()),
            ("s3://vidpipe-previews/previews/p-7/", previews.clone()),
        ],
    );
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let groups = &recorder.events.last().unwrap()["detail"]["outputGroupDetails"];
    assert_eq!(groups[0]["type"], "CMAF_GROUP");
    assert_eq!(
        groups[0]["playlistFilePaths"],
        serde_json::json!([
            format!("{previews}index.m3u8"),
            format!("{previews}index.mpd")
        ])
    );
    assert_eq!(groups[0]["outputDetails"][0]["durationInMs"], 5000);
    let child = std::fs::read_to_string(format!("{previews}index_video.m3u8")).unwrap();
    let durations: Vec<&str> = child
        .lines()
        .filter(|l| l.starts_with("#EXTINF:"))
        .collect();
    assert_eq!(
        durations,
        ["#EXTINF:4.000000,", "#EXTINF:1.000000,"],
        "4 s segments"
    );
    for name in [
        "index_video_init.cmfv",
        "index_video_00001.cmfv",
        "index_video_00002.cmfv",
    ] {
        assert!(Path::new(&format!("{previews}{name}")).exists(), "{name}");
    }
    let mpd = std::fs::read_to_string(format!("{previews}index.mpd")).unwrap();
    assert!(
        mpd.contains("width=\"854\" height=\"480\"") && !mpd.contains("contentType=\"audio\""),
        "{mpd}"
    );
    let poster = Path::new(&format!("{previews}poster.0000000.jpg")).to_path_buf();
    let frame = Frame::at_index(&poster, 0);
    assert!(colour_close(frame.pixel(427, 240), [0, 0, 255], 40));
}

/// Each 4 s segment of `rendition` (then the 2 s one) starts on a keyframe and decodes on its own after the init
/// segment: 40 and 20 frames at 10 fps.
fn assert_segments_start_on_keyframes(dir: &Path, playback: &str, rendition: &str) {
    // Every segment starts on a keyframe and decodes on its own after the init segment.
    let init = std::fs::read(format!("{playback}index_{rendition}_init.cmfv")).unwrap();
    for (n, frames) in [(1, 40), (2, 20)] {
        let mut bytes = init.clone();
        bytes.extend(std::fs::read(format!("{playback}index_{rendition}_{n:05}.cmfv")).unwrap());
        let segment = dir.join(format!("{rendition}_{n}.mp4"));
        std::fs::write(&segment, bytes).unwrap();
        let flags = video_packet_flags(&segment);
        assert!(
            flags[0].starts_with('K'),
            "{rendition} segment {n}: {flags:?}"
        );
        assert_eq!(flags.len(), frames, "{rendition} segment {n}");
    }
}

/// The video packets' flags in `file` (`K` marks a keyframe), in order.
fn video_packet_flags(file: &Path) -> Vec<String> {
    let out = media::ffprobe(
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
            &file.display().to_string(),
        ]
        .map(String::from),
    );
    out.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn the_playback_job_of_a_webm_writes_its_ladder_both_manifests_an_mp4_a_poster_and_frames() {
    let dir = tempfile::tempdir().unwrap();
    let streams = folder(dir.path(), "streams");
    let playback = folder(dir.path(), "playback");
    // A portrait phone recording, 6 s at 10 fps: one full 4 s segment and a 2 s one per rendition.
    let camera = VideoSpec::new(Picture::FrameCounter, 480, 640, 10, 6.0).with_tone(440);
    media::write_webm(Path::new(&format!("{streams}s-42_camera.webm")), &camera);
    let request = golden(
        "playback_480x640.json",
        &[
            (
                "s3://vidpipe-uploads/streams/s-42_camera/playback/",
                playback.clone(),
            ),
            ("s3://vidpipe-uploads/streams/", streams.clone()),
        ],
    );
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let groups = &recorder.events.last().unwrap()["detail"]["outputGroupDetails"];
    assert_eq!(
        groups[0]["playlistFilePaths"],
        serde_json::json!([
            format!("{playback}index.m3u8"),
            format!("{playback}index.mpd")
        ])
    );

    let main = std::fs::read_to_string(format!("{playback}index.m3u8")).unwrap();
    for (rendition, size) in [("480p", "480x640"), ("360p", "360x480")] {
        assert!(
            main.contains(&format!("RESOLUTION={size}"))
                && main.contains(&format!("\nindex_{rendition}.m3u8")),
            "{rendition}: {main}"
        );
        let child = std::fs::read_to_string(format!("{playback}index_{rendition}.m3u8")).unwrap();
        let durations: Vec<f64> = child
            .lines()
            .filter_map(|l| l.strip_prefix("#EXTINF:"))
            .map(|l| l.trim_end_matches(',').parse().unwrap())
            .collect();
        assert_eq!(durations.len(), 2, "{child}");
        for (actual, expected) in durations.iter().zip([4.0, 2.0]) {
            assert!((actual - expected).abs() <= 0.03, "{rendition}: {actual} s");
        }
        assert_segments_start_on_keyframes(dir.path(), &playback, rendition);
    }
    assert_eq!(main.matches("#EXT-X-STREAM-INF:").count(), 2, "{main}");
    assert_eq!(
        main.matches("TYPE=AUDIO").count(),
        1,
        "one audio rendition: {main}"
    );
    // Both manifests decode end to end: every frame of the top rendition, and the sound.
    for manifest in [
        format!("{playback}index.m3u8"),
        format!("{playback}index.mpd"),
    ] {
        assert_eq!(decoded_frames(&manifest, "v:0"), 60, "{manifest}");
        assert!(decoded_frames(&manifest, "a:0") > 270, "{manifest}");
    }
    let mpd = std::fs::read_to_string(format!("{playback}index.mpd")).unwrap();
    assert_eq!(mpd.matches("contentType=\"video\"").count(), 1, "{mpd}");
    // Rewritten as the API serves them without a CDN (every URI an absolute location elsewhere), both still play.
    let served = folder(dir.path(), "served");
    let locate = |uri: &str| resolve(&playback, uri).map(|path| format!("file://{path}"));
    std::fs::write(
        format!("{served}index.mpd"),
        rewrite_dash(&mpd, locate).unwrap(),
    )
    .unwrap();
    let child = std::fs::read_to_string(format!("{playback}index_480p.m3u8")).unwrap();
    std::fs::write(
        format!("{served}index_480p.m3u8"),
        rewrite_hls(&child, locate).unwrap(),
    )
    .unwrap();
    for manifest in [
        format!("{served}index.mpd"),
        format!("{served}index_480p.m3u8"),
    ] {
        assert_eq!(decoded_frames(&manifest, "v:0"), 60, "{manifest}");
    }
    assert_eq!(mpd.matches("<Representation ").count(), 3, "{mpd}");

    // The MP4: H.264 and AAC, index first, at the top rung.
    let mp4 = Path::new(&format!("{playback}video.mp4")).to_path_buf();
    let info = media::probe(&mp4);
    let video = info.video().unwrap();
    assert_eq!(
        (video.codec.as_str(), video.width, video.height),
        ("h264", 480, 640)
    );
    assert_eq!(info.audio().unwrap().codec, "aac");
    assert_eq!(&box_types(&mp4).unwrap()[..2], ["ftyp", "moov"]);

    // The poster at 2 s (frame 20 of the counter), at the top rung's size.
    let poster = Frame::at_index(Path::new(&format!("{playback}poster.0000001.jpg")), 0);
    assert_eq!((poster.width, poster.height), (480, 640));
    assert_eq!(read_frame_counter(&poster), 20);
    // Storyboard frames every 2 s, 160 high.
    for n in 0..3 {
        let thumb = Frame::at_index(Path::new(&format!("{playback}thumbs/thumb.{n:07}.jpg")), 0);
        assert_eq!((thumb.width, thumb.height), (120, 160), "thumb {n}");
    }
    assert!(!Path::new(&format!("{playback}thumbs/thumb.0000003.jpg")).exists());
}
