//! The playback job (`playback_480x640.json`): a CMAF ladder with HLS and DASH manifests, an MP4, a poster and
//! storyboard frames, from a portrait phone recording.

use std::path::Path;

use serde_json::{Value, json};
use vidpipe_core::manifest::{resolve, rewrite_dash, rewrite_hls};

use crate::media::{self, Frame, Picture, VideoSpec, decoded_frames, read_frame_counter};

/// The playback golden job.
pub const PLAYBACK_JOB: &str = "playback_480x640.json";
/// The playback folder as the golden job names it (replace it before the job's `streams/` folder).
pub const PLAYBACK_FOLDER: &str = "s3://vidpipe-uploads/streams/s-42_camera/playback/";

/// Writes the playback job's source into `streams`: `s-42_camera.webm`, a 480x640 frame counter with a 440 Hz tone,
/// 6 s at 10 fps (one full 4 s segment and a 2 s one per rendition).
pub fn write_source(streams: &Path) {
    let camera = VideoSpec::new(Picture::FrameCounter, 480, 640, 10, 6.0).with_tone(440);
    media::write_webm(&streams.join("s-42_camera.webm"), &camera);
}

/// Checks the playback job's outputs in the local folder `playback` (ending in `/`), which the job named `named`;
/// `scratch` is a folder for the check's own files.
pub fn assert_playback(playback: &str, named: &str, detail: &Value, scratch: &Path) {
    assert_eq!(
        detail["outputGroupDetails"][0]["playlistFilePaths"],
        json!([format!("{named}index.m3u8"), format!("{named}index.mpd")])
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
        assert_segments_start_on_keyframes(scratch, playback, rendition);
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
    assert_eq!(mpd.matches("<Representation ").count(), 3, "{mpd}");
    assert_served_manifests_play(playback, &mpd, scratch);
    assert_mp4_poster_and_storyboard(playback);
}

/// Rewritten as the API serves them without a CDN (every URI an absolute location elsewhere), both manifests still
/// play.
fn assert_served_manifests_play(playback: &str, mpd: &str, scratch: &Path) {
    let served = scratch.join("served");
    std::fs::create_dir_all(&served).unwrap();
    let locate = |uri: &str| resolve(playback, uri).map(|path| format!("file://{path}"));
    std::fs::write(served.join("index.mpd"), rewrite_dash(mpd, locate).unwrap()).unwrap();
    let child = std::fs::read_to_string(format!("{playback}index_480p.m3u8")).unwrap();
    std::fs::write(
        served.join("index_480p.m3u8"),
        rewrite_hls(&child, locate).unwrap(),
    )
    .unwrap();
    for manifest in ["index.mpd", "index_480p.m3u8"] {
        let manifest = served.join(manifest).display().to_string();
        assert_eq!(decoded_frames(&manifest, "v:0"), 60, "{manifest}");
    }
}

/// The MP4 (H.264 and AAC at the top rung), the poster at 2 s and the storyboard frames every 2 s.
fn assert_mp4_poster_and_storyboard(playback: &str) {
    let mp4 = Path::new(&format!("{playback}video.mp4")).to_path_buf();
    let info = media::probe(&mp4);
    let video = info.video().unwrap();
    assert_eq!(
        (video.codec.as_str(), video.width, video.height),
        ("h264", 480, 640)
    );
    assert_eq!(info.audio().unwrap().codec, "aac");
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

/// Each 4 s segment of `rendition` (then the 2 s one) starts on a keyframe and decodes on its own after the init
/// segment: 40 and 20 frames at 10 fps.
fn assert_segments_start_on_keyframes(scratch: &Path, playback: &str, rendition: &str) {
    let init = std::fs::read(format!("{playback}index_{rendition}_init.cmfv")).unwrap();
    for (n, frames) in [(1, 40), (2, 20)] {
        let mut bytes = init.clone();
        bytes.extend(std::fs::read(format!("{playback}index_{rendition}_{n:05}.cmfv")).unwrap());
        let segment = scratch.join(format!("{rendition}_{n}.mp4"));
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
