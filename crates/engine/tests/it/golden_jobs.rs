//! The jobs vidpipe's builders produce (vidpipe-core's golden files) run in the engine, with their S3 locations
//! pointed at local files, and checked by `vidpipe_testkit::fidelity` (which the transcoder's tests run them through
//! too).

use std::path::Path;

use crate::common::{assert_complete, run_local};
use vidpipe_engine::box_types;
use vidpipe_testkit::fidelity::{complete_detail, golden, playback, stream};
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};

fn folder(dir: &Path, name: &str) -> String {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    format!("{}/", folder.display())
}

#[tokio::test]
async fn the_composite_job_puts_the_camera_where_the_builder_says() {
    let dir = tempfile::tempdir().unwrap();
    let streams = folder(dir.path(), "streams");
    stream::write_composite_sources(Path::new(&streams));
    let request = golden(
        stream::COMPOSITE_JOB,
        &[("s3://vidpipe-uploads/streams/", streams.clone())],
    );
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let output = format!("{streams}s-42_composited.mp4");
    let detail = complete_detail(&recorder.events);
    stream::assert_composite(Path::new(&output), &output, detail);
    assert_eq!(
        box_types(Path::new(&output)).unwrap(),
        ["ftyp", "moov", "mdat"],
        "FreeSpaceBox EXCLUDE, moov first"
    );
}

#[tokio::test]
async fn the_single_job_makes_the_output_from_the_camera_alone() {
    let dir = tempfile::tempdir().unwrap();
    let streams = folder(dir.path(), "streams");
    stream::write_single_source(Path::new(&streams));
    let request = golden(
        stream::SINGLE_JOB,
        &[("s3://vidpipe-uploads/streams/", streams.clone())],
    );
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let output = format!("{streams}s-42_composited.mp4");
    stream::assert_single(
        Path::new(&output),
        &output,
        complete_detail(&recorder.events),
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

#[tokio::test]
async fn the_playback_job_of_a_webm_writes_its_ladder_both_manifests_an_mp4_a_poster_and_frames() {
    let dir = tempfile::tempdir().unwrap();
    let streams = folder(dir.path(), "streams");
    let playback_folder = folder(dir.path(), "playback");
    playback::write_source(Path::new(&streams));
    let request = golden(
        playback::PLAYBACK_JOB,
        &[
            (playback::PLAYBACK_FOLDER, playback_folder.clone()),
            ("s3://vidpipe-uploads/streams/", streams.clone()),
        ],
    );
    let (job, recorder) = run_local(&request).await;
    assert_complete(&job);
    let detail = complete_detail(&recorder.events);
    playback::assert_playback(&playback_folder, &playback_folder, detail, dir.path());
    // The MP4's index first.
    let mp4 = format!("{playback_folder}video.mp4");
    assert_eq!(&box_types(Path::new(&mp4)).unwrap()[..2], ["ftyp", "moov"]);
}
