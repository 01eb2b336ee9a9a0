//! The jobs vidpipe's builders produce (vidpipe-core's golden files) run in the engine, with their S3 locations
//! pointed at local files.

use std::path::{Path, PathBuf};

use crate::common::{assert_complete, first_output, run_local};
use serde_json::Value;
use vidpipe_engine::box_types;
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};

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
