//! Every job kind over what real browsers record: MediaRecorder files from Debian's Chromium (WebM without duration
//! or cues, VP8 and VP9, with and without Opus, fragmented MP4 with VP9 or H.264, a variable frame rate with the
//! video starting after the audio, a resolution change mid-recording, a portrait picture, a screen capture).
//!
//! Each job is what the functions build: the recording is probed through the engine (as the compositor and chunker
//! do locally), the job comes from `vidpipe_core`'s builders, the engine runs it on moto's S3, and the output is
//! measured: size, frames, the picture's colour where it must be, and the sound.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{Recorder, assert_complete, run_with};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use vidpipe_core::job::{
    self, CompositeOptions, CompositeOutput, JobContext, MediaInfo, PreviewFormat, PreviewOptions,
    Recording, SingleOptions, Size, pip,
};
use vidpipe_core::render::{Chunk, RenderRequest};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_engine::{Engine, Storage};
use vidpipe_testkit::audio::{RATE, decode_mono, fit_tone};
use vidpipe_testkit::browser::{self, BrowserRecording};
use vidpipe_testkit::media::{self, Frame, Picture, VideoSpec, colour_close};
use vidpipe_testkit::moto::MotoServer;
use vidpipe_testkit::unique_name;

const BLUE: [u8; 3] = [0, 0, 255];
const BLACK: [u8; 3] = [0, 0, 0];
/// The tone of the generated screen recording (as AddPipe's recording service delivers it: H.264/AAC MP4).
const SCREEN_TONE_HZ: u32 = 440;
/// Colour tolerance: VP8/VP9 from a realtime browser encoder, then H.264.
const TOLERANCE: u8 = 60;

/// A bucket on moto and an engine reading and writing it.
struct Stack {
    client: aws_sdk_s3::Client,
    bucket: String,
    engine: Engine,
    work: tempfile::TempDir,
}

impl Stack {
    async fn new() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(MotoServer::shared().endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .load()
            .await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let bucket = unique_name("browser");
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        Self {
            engine: Engine::new(Storage::with_s3(client.clone())),
            client,
            bucket,
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn uri(&self, key: &str) -> S3Uri {
        S3Uri::new(self.bucket.clone(), key).unwrap()
    }

    async fn upload(&self, file: &Path, key: &str) -> S3Uri {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from_path(file).await.unwrap())
            .send()
            .await
            .unwrap();
        self.uri(key)
    }

    /// The recording in the bucket with its probe results, through the engine's Probe.
    async fn recording(&self, file: &Path, key: &str) -> Recording {
        let uri = self.upload(file, key).await;
        let response = self.engine.probe(&[uri.to_string()]).await.unwrap();
        let media = response.probe_results[0]
            .media_info()
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        Recording { uri, media }
    }

    /// Runs the job to COMPLETE.
    async fn run(&self, request: &job::CreateJobRequest) {
        let request = serde_json::to_value(request).unwrap();
        let (job, _recorder): (_, Recorder) = run_with(&self.engine, &request).await;
        assert_complete(&job);
    }

    /// Downloads every object under `prefix` into the work folder; returns the local folder.
    async fn download(&self, prefix: &str) -> PathBuf {
        let folder = self.work.path().join(prefix.trim_end_matches('/'));
        vidpipe_testkit::s3::download_folder(&self.client, &self.bucket, prefix, &folder).await;
        folder
    }
}

fn context() -> JobContext {
    JobContext {
        role: "arn:aws:iam::000000000000:role/MediaConvert".into(),
        queue: None,
    }
}

/// Every recording, with its file name as the stream-safe id (`camera-vp9.webm` -> `camera-vp9-webm`).
fn recordings() -> Vec<(String, &'static BrowserRecording)> {
    browser::recordings()
        .values()
        .map(|r| (r.name.replace('.', "-"), r))
        .collect()
}

/// The frame rate the output has (composites and singles follow their source).
fn rate_of(media: &MediaInfo) -> f64 {
    media.frame_rate_or_fallback().fps()
}

/// Whether the tone is clearly present in `[start, start + seconds)` of the decoded samples.
fn has_tone(samples: &[f32], hz: u32, start: f64, seconds: f64) -> bool {
    let a = (start * f64::from(RATE)) as usize;
    let b = ((start + seconds) * f64::from(RATE)) as usize;
    b <= samples.len() && fit_tone(samples, a..b, f64::from(hz)).amplitude > 0.05
}

/// Checks a frame's colour at a point, naming the case.
fn expect_colour(frame: &Frame, (x, y): (u32, u32), colour: [u8; 3], case: &str) {
    let seen = frame.pixel(x, y);
    assert!(
        colour_close(seen, colour, TOLERANCE),
        "{case}: pixel ({x},{y}) is {seen:?}, expected {colour:?}"
    );
}

/// The colour a recording shows at `seconds` of its own time: its first frame before the video starts, then its
/// colour, then the switched colour.
fn colour_at(recording: &BrowserRecording, seconds: f64) -> Option<[u8; 3]> {
    match recording.switch {
        Some((at, colour)) if seconds > at => Some(colour),
        _ => recording.colour,
    }
}

/// Times to sample a recording's picture, away from its colour switch and resize (capture timing varies by a frame
/// or two of the source).
fn sample_times(recording: &BrowserRecording) -> Vec<f64> {
    let mut times = vec![0.3, 1.2, 3.3];
    if let Some((at, _)) = recording.switch {
        times.extend([at - 0.4, at + 0.4]);
    }
    times
}

#[tokio::test]
async fn every_browser_recording_probes_with_its_length_rate_size_and_sound() {
    let stack = Stack::new().await;
    for (id, recording) in recordings() {
        let probed = stack
            .recording(&recording.path, &format!("in/browser/{}", recording.name))
            .await
            .media;
        let duration = probed.duration_ms.expect("a duration") as f64 / 1000.0;
        assert!(
            (duration - recording.seconds).abs() < 0.4,
            "{id}: duration {duration} s, recorded for {} s",
            recording.seconds
        );
        let rate = probed.frame_rate.expect("a frame rate");
        assert!(
            rate.is_recording_rate() && (5.0..=60.0).contains(&rate.fps()),
            "{id}: rate {rate:?}"
        );
        assert_eq!((probed.width, probed.height), recording.size, "{id}: size");
        assert_eq!(
            probed.has_audio,
            recording.audio_hz.is_some(),
            "{id}: audio"
        );
    }
}

#[tokio::test]
async fn a_single_job_keeps_every_browser_recording_whole_and_in_sync() {
    let stack = Stack::new().await;
    for (id, recording) in recordings() {
        let source = stack
            .recording(&recording.path, &format!("in/browser/{}", recording.name))
            .await;
        let output = CompositeOutput::new(&stack.bucket, "out/", &id).unwrap();
        let request =
            job::single_job(&context(), &output, &source, &SingleOptions::default()).unwrap();
        stack.run(&request).await;
        let folder = stack.download("out/").await;
        let file = folder.join(format!("{id}_composited.mp4"));

        let info = media::probe(&file);
        let video = info.video().expect("video");
        let size = job::output_size(source.media.display_size(), job::DEFAULT_MAX_WIDTH).unwrap();
        assert_eq!(
            (video.width, video.height),
            (size.width, size.height),
            "{id}"
        );
        let seconds = source.media.duration_ms.unwrap() as f64 / 1000.0;
        let expected_frames = (seconds * rate_of(&source.media)).round() as i64;
        let frames = i64::from(media::video_frame_count(&file));
        assert!(
            (frames - expected_frames).abs() <= 1,
            "{id}: {frames} frames, expected {expected_frames} ({seconds} s at {} fps)",
            rate_of(&source.media)
        );
        check_picture(recording, &file, (size.width, size.height), &id);
        match recording.audio_hz {
            Some(hz) => {
                let samples = decode_mono(&file);
                // From the very start: the audio is not moved to where the video starts.
                for start in [0.1, 1.5, 3.0] {
                    assert!(
                        has_tone(&samples, hz, start, 0.4),
                        "{id}: no {hz} Hz at {start} s"
                    );
                }
            }
            None => assert!(info.audio().is_none(), "{id}: audio from nowhere"),
        }
    }
}

/// The recording's picture, fitted into `size`, at its sample times: the colour in the middle, and after a
/// resolution change, the letterbox bars a narrower picture leaves at the sides.
fn check_picture(recording: &BrowserRecording, file: &Path, size: (u32, u32), id: &str) {
    let (width, height) = size;
    for t in sample_times(recording) {
        let frame = Frame::at_time(file, t);
        if let Some(colour) = colour_at(recording, t) {
            expect_colour(
                &frame,
                (width / 2, height / 2),
                colour,
                &format!("{id} at {t} s"),
            );
        }
        if let Some(((w, h), at)) = recording.resize
            && t > at + 0.3
        {
            let fitted_width = w * height / h;
            assert!(
                fitted_width + 20 < width,
                "{id}: the new size must leave bars"
            );
            expect_colour(
                &frame,
                (4, height / 2),
                BLACK,
                &format!("{id} bar at {t} s"),
            );
            expect_colour(
                &frame,
                ((width - fitted_width) / 2 + 6, height / 2),
                recording.colour.unwrap(),
                &format!("{id} picture edge at {t} s"),
            );
        }
    }
}

/// An AddPipe-like screen recording: H.264/AAC MP4, blue, 1280x720 at 30 fps with a 440 Hz tone.
fn addpipe_screen(dir: &Path) -> PathBuf {
    let file = dir.join("screen.mp4");
    media::write_mp4(
        &file,
        &VideoSpec::new(Picture::Solid("blue".into()), 1280, 720, 30, 4.0)
            .with_tone(SCREEN_TONE_HZ),
    );
    file
}

/// Where the default layout puts a camera of `camera` size on a `frame`.
fn camera_rect(frame: Size, camera: Size) -> pip::Rect {
    let layout = CompositeOptions::default().layout;
    pip::place(
        frame,
        camera,
        layout.width_pct / 100.0,
        layout.margin_pct / 100.0,
        layout.corner.align(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_composite_places_every_browser_camera_in_its_corner_with_the_screens_sound() {
    let stack = Stack::new().await;
    let screen_file = addpipe_screen(stack.work.path());
    let screen = stack.recording(&screen_file, "in/screen.mp4").await;
    for (id, recording) in recordings() {
        let camera = stack
            .recording(&recording.path, &format!("in/browser/{}", recording.name))
            .await;
        let output = CompositeOutput::new(&stack.bucket, "pip/", &id).unwrap();
        let request = job::composite_job(
            &context(),
            &output,
            &screen,
            &camera,
            &CompositeOptions::default(),
        )
        .unwrap();
        stack.run(&request).await;
        let file = stack
            .download("pip/")
            .await
            .join(format!("{id}_composited.mp4"));

        let info = media::probe(&file);
        let video = info.video().expect("video");
        assert_eq!((video.width, video.height), (1280, 720), "{id}");
        assert_eq!(
            media::video_frame_count(&file),
            120,
            "{id}: the screen's frames"
        );
        let rect = camera_rect(Size::new(1280, 720), camera.media.display_size());
        if recording.is_portrait() {
            assert!(
                rect.height > rect.width,
                "{id}: a portrait camera stays portrait"
            );
        }
        let centre = (rect.x + rect.width / 2, rect.y + rect.height / 2);
        for t in sample_times(recording) {
            let frame = Frame::at_time(&file, t);
            let case = format!("{id} at {t} s");
            match colour_at(recording, t) {
                Some(colour) => expect_colour(&frame, centre, colour, &case),
                // The browser's synthetic screen, as a camera: anything but the screen's blue.
                None => assert!(
                    !colour_close(frame.pixel(centre.0, centre.1), BLUE, 40),
                    "{case}"
                ),
            }
            expect_colour(
                &frame,
                (rect.x - 6, centre.1),
                BLUE,
                &format!("{case} left of the camera"),
            );
            expect_colour(
                &frame,
                (centre.0, rect.y - 6),
                BLUE,
                &format!("{case} above the camera"),
            );
            expect_colour(&frame, (100, 100), BLUE, &case);
        }
        let samples = decode_mono(&file);
        assert!(
            has_tone(&samples, SCREEN_TONE_HZ, 0.5, 3.0),
            "{id}: the screen's sound"
        );
        if let Some(hz) = recording.audio_hz {
            assert!(
                !has_tone(&samples, hz, 0.5, 3.0),
                "{id}: the camera's sound is not used"
            );
        }
    }
}

#[tokio::test]
async fn a_composite_over_every_browser_recording_as_the_screen() {
    let stack = Stack::new().await;
    let camera_file = stack.work.path().join("camera.webm");
    media::write_webm(
        &camera_file,
        &VideoSpec::new(Picture::Solid("blue".into()), 640, 360, 30, 4.0),
    );
    let camera = stack.recording(&camera_file, "in/camera.webm").await;
    for (id, recording) in recordings() {
        let screen = stack
            .recording(&recording.path, &format!("in/browser/{}", recording.name))
            .await;
        let output = CompositeOutput::new(&stack.bucket, "screen/", &id).unwrap();
        let request = job::composite_job(
            &context(),
            &output,
            &screen,
            &camera,
            &CompositeOptions::default(),
        )
        .unwrap();
        stack.run(&request).await;
        let file = stack
            .download("screen/")
            .await
            .join(format!("{id}_composited.mp4"));
        let size = job::output_size(screen.media.display_size(), job::DEFAULT_MAX_WIDTH).unwrap();
        let video = media::probe(&file).video().cloned().expect("video");
        assert_eq!(
            (video.width, video.height),
            (size.width, size.height),
            "{id}"
        );
        let rect = camera_rect(size, Size::new(640, 360));
        let frame = Frame::at_time(&file, 1.2);
        expect_colour(
            &frame,
            (rect.x + rect.width / 2, rect.y + rect.height / 2),
            BLUE,
            &format!("{id}: the camera"),
        );
        if let Some(colour) = colour_at(recording, 1.2) {
            expect_colour(
                &frame,
                (size.width / 3, size.height / 3),
                colour,
                &format!("{id}: the screen"),
            );
        }
        if let Some(hz) = recording.audio_hz {
            assert!(
                has_tone(&decode_mono(&file), hz, 0.5, 3.0),
                "{id}: the screen's sound"
            );
        }
    }
}

#[tokio::test]
async fn a_render_chunk_takes_a_scene_from_every_browser_recording_frame_exactly() {
    let stack = Stack::new().await;
    let fps = 30;
    for (id, recording) in recordings() {
        let source = stack
            .recording(&recording.path, &format!("in/browser/{}", recording.name))
            .await;
        // Seconds 0.5 to 2.5 of the recording as a 2 s scene: 60 frames at 30 fps, a whole number of frames at
        // every capture rate.
        let request: RenderRequest = serde_json::from_value(serde_json::json!({
            "render_id": id,
            "output": {"uri": stack.uri(&format!("renders/{id}.mp4")).to_string(),
                       "width": 640, "height": 360, "fps": fps},
            "scenes": [{"id": "clip", "duration_s": 2.0, "video": source.uri.to_string(), "start_s": 0.5}]
        }))
        .unwrap();
        let chunk = Chunk {
            index: 0,
            start_frame: 0,
            end_frame: 60,
        };
        let media = BTreeMap::from([(source.uri.to_string(), source.media.clone())]);
        assert!(
            job::short_video_scenes(&request, &media).is_empty(),
            "{id}: the recording is long enough for the scene"
        );
        // The render's work folder, named as an execution of the render id would name it.
        let chunk_uri = request.work_folder(&id).unwrap().chunk(chunk.index);
        let built = job::chunk_job(&context(), &request, &chunk, &chunk_uri, &media).unwrap();
        stack.run(&built).await;
        let work = format!("renders/work/{id}/");
        let folder = stack.download(&work).await;
        let file = folder.join(chunk_uri.key().strip_prefix(&work).unwrap());
        assert_eq!(media::video_frame_count(&file), 60, "{id}: frames");
        let video = media::probe(&file).video().cloned().expect("video");
        assert_eq!((video.width, video.height), (640, 360), "{id}");
        for t in sample_times(recording)
            .into_iter()
            .filter(|t| (0.6..2.4).contains(t))
        {
            let frame = Frame::at_time(&file, t - 0.5);
            if let Some(colour) = colour_at(recording, t) {
                expect_colour(&frame, (320, 180), colour, &format!("{id} at source {t} s"));
            }
        }
    }
}

#[tokio::test]
async fn a_preview_packages_every_browser_recording() {
    let stack = Stack::new().await;
    for (id, recording) in recordings() {
        let source = stack
            .recording(&recording.path, &format!("in/browser/{}", recording.name))
            .await;
        let prefix = format!("previews/{id}/");
        let options = PreviewOptions {
            format: PreviewFormat::Hls,
            ..PreviewOptions::default()
        };
        let request =
            job::preview_job(&context(), &source, &stack.uri(&prefix), &id, &options).unwrap();
        stack.run(&request).await;
        let folder = stack.download(&prefix).await;
        let size = job::output_size(source.media.display_size(), options.max_width).unwrap();
        let playlist = folder.join("index.m3u8");
        assert!(
            playlist.is_file(),
            "{id}: no playlist in {}",
            folder.display()
        );
        let seconds = source.media.duration_ms.unwrap() as f64 / 1000.0;
        let expected = (seconds * rate_of(&source.media)).round() as i64;
        let frames = i64::from(media::video_frame_count(&playlist));
        assert!(
            (frames - expected).abs() <= 1,
            "{id}: {frames} frames, expected {expected}"
        );
        let poster = std::fs::read_dir(&folder)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == "jpg"))
            .unwrap_or_else(|| panic!("{id}: no poster"));
        let still = media::probe(&poster);
        let still = still.video().expect("poster picture");
        assert_eq!(
            (still.width, still.height),
            (size.width, size.height),
            "{id}: poster"
        );
        if let Some(colour) = recording.colour {
            expect_colour(
                &Frame::at_index(&poster, 0),
                (size.width / 2, size.height / 2),
                colour,
                &format!("{id}: poster"),
            );
        }
        assert_eq!(
            media::probe(&playlist).audio().is_some(),
            recording.audio_hz.is_some(),
            "{id}: the preview's sound"
        );
    }
}
