//! A call's previews (`vidpipe_core::job::call_preview_job`) run in the engine: every peer's segments start at the
//! same recording times, and a peer who joined late is black and silent until then.

use std::path::Path;

use vidpipe_core::call::{CallId, PeerId, TrackRole};
use vidpipe_core::job::{
    CallPreview, FrameRate, JobContext, MediaInfo, PreviewTrack, Recording, call_preview_job,
};
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};

use super::{BLUE, RED};
use crate::common::{assert_complete, decoded_frames, run_local};

const BUCKET: &str = "s3://vidpipe-test/";
const GREEN: [u8; 3] = [0, 128, 0];

/// A track of `seconds` at 30 fps, 640x360, in the call's folder, starting `offset_ms` after time zero.
fn track(dir: &Path, name: &str, colour: &str, tone: Option<u32>, offset_ms: u64) -> PreviewTrack {
    let seconds = 3.0;
    let mut spec = VideoSpec::new(Picture::Solid(colour.into()), 640, 360, 30, seconds);
    if let Some(hz) = tone {
        spec = spec.with_tone(hz);
    }
    media::write_webm(&dir.join(format!("{name}.webm")), &spec);
    PreviewTrack {
        recording: Recording {
            uri: format!("{BUCKET}rooms/room-1/rec-1/tracks/{name}.webm")
                .parse()
                .unwrap(),
            media: MediaInfo {
                width: 640,
                height: 360,
                duration_ms: Some(3_000),
                frame_rate: Some(FrameRate::per_second(30)),
                has_audio: tone.is_some(),
                rotation: 0,
            },
        },
        offset_ms,
    }
}

/// Runs the preview of `peer`'s `tracks` of `role`, with the bucket pointed at `root`.
async fn run_preview(root: &Path, peer: &str, role: TrackRole, tracks: &[PreviewTrack]) {
    let folder = format!("{BUCKET}rooms/room-1/rec-1/").parse().unwrap();
    let preview = CallPreview {
        call_folder: &folder,
        recording_id: &CallId::parse("recording_id", "rec-1").unwrap(),
        peer_id: &PeerId::parse("peer_id", peer).unwrap(),
        role,
        tracks,
    };
    let context = JobContext {
        role: "arn:aws:iam::000000000000:role/MediaConvert".into(),
        queue: None,
    };
    let job = call_preview_job(&context, &preview).unwrap();
    let local = format!("{}/", root.display());
    let text = serde_json::to_string(&job)
        .unwrap()
        .replace(BUCKET, &local)
        // The tracks are written flat in the test's folder.
        .replace("rooms/room-1/rec-1/tracks/", "");
    let (job, _) = run_local(&serde_json::from_str(&text).unwrap()).await;
    assert_complete(&job);
}

/// The segments a child playlist lists, as one fragmented MP4 (init segment, then every segment), and each
/// segment's start: its first packet's presentation time, measured on the init segment plus that segment alone.
fn segments(playlist: &Path) -> (std::path::PathBuf, Vec<f64>) {
    let folder = playlist.parent().unwrap();
    let text = std::fs::read_to_string(playlist).unwrap();
    let init = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .map(|l| l.trim_end_matches('"'))
        .expect("an init segment");
    let init = std::fs::read(folder.join(init)).unwrap();
    let mut whole = init.clone();
    let mut starts = Vec::new();
    let names = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    for (n, name) in names.enumerate() {
        let bytes = std::fs::read(folder.join(name)).unwrap();
        let single = folder.join(format!("probe_{n}.mp4"));
        std::fs::write(&single, [init.as_slice(), &bytes].concat()).unwrap();
        starts.push(first_pts(&single));
        whole.extend(bytes);
    }
    let joined = playlist.with_extension("joined.mp4");
    std::fs::write(&joined, whole).unwrap();
    (joined, starts)
}

/// The earliest presentation time of the file's packets (with B-frames, the first packet is not the first shown).
fn first_pts(file: &Path) -> f64 {
    let out = media::ffprobe(
        &[
            "-v",
            "error",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
            &file.display().to_string(),
        ]
        .map(String::from),
    );
    out.lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
        .reduce(f64::min)
        .unwrap_or_else(|| panic!("no packet time in {}: {out:?}", file.display()))
}

#[tokio::test]
async fn every_peers_segments_start_at_the_same_recording_times_and_a_late_peer_is_padded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Time zero is peer-1's start; peer-2 joined 1 s later, peer-1's screenshare 0.5 s later.
    let peer1 = [track(root, "p1", "red", Some(440), 0)];
    let peer2 = [track(root, "p2", "green", Some(880), 1_000)];
    let screen = [track(root, "s1", "blue", None, 500)];
    run_preview(root, "peer-1", TrackRole::Av, &peer1).await;
    run_preview(root, "peer-2", TrackRole::Av, &peer2).await;
    run_preview(root, "peer-1", TrackRole::Screenshare, &screen).await;

    let call = root.join("rooms/room-1/rec-1/preview");
    let playlists = [
        call.join("peers/peer-1/av_video.m3u8"),
        call.join("peers/peer-1/av_audio.m3u8"),
        call.join("peers/peer-2/av_video.m3u8"),
        call.join("peers/peer-2/av_audio.m3u8"),
        call.join("screenshare/peer-1/video_video.m3u8"),
    ];
    let mut measured = Vec::new();
    for playlist in &playlists {
        let (joined, starts) = segments(playlist);
        // Segment N starts at 2N seconds of recording time, to within a frame (an AAC frame for audio).
        for (n, start) in starts.iter().enumerate() {
            assert!(
                (start - 2.0 * n as f64).abs() < 1.0 / 30.0,
                "{}: segment {n} starts at {start} s ({starts:?})",
                playlist.display()
            );
        }
        measured.push((joined, starts.len()));
    }
    // Peer-1 (0..3 s), peer-2 (1..4 s) and the screenshare (0.5..3.5 s) make 2 video segments each. Audio is cut
    // on AAC frames (21.3 ms), so its segments start up to one frame after the boundary, and peer-2's padded sound
    // may end one frame after 4 s, in a third segment that short.
    let counts: Vec<usize> = measured.iter().map(|(_, n)| *n).collect();
    assert_eq!([counts[0], counts[2], counts[4]], [2, 2, 2], "{counts:?}");
    assert!(counts[1] == 2 && (2..=3).contains(&counts[3]), "{counts:?}");

    // Peer-2's first second is padding: black and silent; its own picture and tone after.
    let video2 = &measured[2].0;
    let audio2 = &measured[3].0;
    for t in [0.1, 0.9] {
        let pixel = Frame::at_time(video2, t).pixel(320, 180);
        assert!(
            colour_close(pixel, [0, 0, 0], 24),
            "peer-2 at {t} s: {pixel:?}"
        );
    }
    let pixel = Frame::at_time(video2, 1.2).pixel(320, 180);
    assert!(colour_close(pixel, GREEN, 40), "peer-2 at 1.2 s: {pixel:?}");
    assert!(media::mean_volume_db(audio2, 0.0, 0.9) < -80.0);
    assert!(media::mean_volume_db(audio2, 1.2, 1.0) > -30.0);
    // Peer-1 starts at time zero: its picture and tone from the first frame.
    let pixel = Frame::at_time(&measured[0].0, 0.1).pixel(320, 180);
    assert!(colour_close(pixel, RED, 40), "peer-1 at 0.1 s: {pixel:?}");
    assert!(media::mean_volume_db(&measured[1].0, 0.0, 0.9) > -30.0);
    // The screenshare is black until 0.5 s, then blue.
    let screen_video = &measured[4].0;
    let pixel = Frame::at_time(screen_video, 0.3).pixel(320, 180);
    assert!(
        colour_close(pixel, [0, 0, 0], 24),
        "screenshare at 0.3 s: {pixel:?}"
    );
    let pixel = Frame::at_time(screen_video, 0.7).pixel(320, 180);
    assert!(
        colour_close(pixel, BLUE, 40),
        "screenshare at 0.7 s: {pixel:?}"
    );

    // Each peer's one playlist decodes, picture and sound: 30 frames of padding and 90 of the track for peer-2.
    let peer2 = call.join("peers/peer-2/av.m3u8").display().to_string();
    assert_eq!(decoded_frames(&peer2, "v:0"), 120);
    assert!(decoded_frames(&peer2, "a:0") > 0);
    let screen = call.join("screenshare/peer-1/video.m3u8");
    assert_eq!(decoded_frames(&screen.display().to_string(), "v:0"), 105);
}
