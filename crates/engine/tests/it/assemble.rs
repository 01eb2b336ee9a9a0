//! The assembler on real media: chunks rendered from a frame-counter source are joined without re-encoding, and
//! soundtracks are mixed to the video's exact length, checked by decoding pictures and sound.

use std::path::{Path, PathBuf};

use vidpipe_core::render::{Chunk, Ducking, SceneSound};
use vidpipe_engine::{AssembleError, Assembler, Storage};
use vidpipe_engine::{ChunkFile, JoinSpec, MixSpec};
use vidpipe_testkit::audio::{self, RATE, fit_tone, tone_continuity};
use vidpipe_testkit::media::{
    self, COUNTER_BIT_WIDTH, COUNTER_BITS, Picture, VideoSpec, write_mp4, write_tone_wav,
};

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
const FPS: u32 = 30;
/// Amplitude of ffmpeg's `sine` source.
const SINE_AMPLITUDE: f64 = 0.125;
/// Ducking turned off.
const NO_DUCKING: Ducking = Ducking {
    threshold_db: -30.0,
    ratio: 1.0,
    attack_ms: 20,
    release_ms: 400,
};

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn assembler() -> Assembler {
    Assembler::new(Storage::local())
}

/// A frame-counter video of `frames` frames (counter = frame index).
fn counter_source(dir: &Path, frames: u64) -> PathBuf {
    let path = dir.join("source.mp4");
    let seconds = frames as f64 / f64::from(FPS);
    write_mp4(
        &path,
        &VideoSpec::new(Picture::FrameCounter, WIDTH, HEIGHT, FPS, seconds),
    );
    path
}

/// Renders frames `[start, end)` of `source` into a chunk MP4 the way chunk jobs are encoded (H.264, closed GOPs,
/// no B-frames, video only), with `extra` encoder arguments.
fn render_chunk(source: &Path, start: u64, end: u64, out: &Path, extra: &[&str]) {
    let mut args = strings(&[
        "-i",
        &source.display().to_string(),
        "-vf",
        &format!("trim=start_frame={start}:end_frame={end},setpts=PTS-STARTPTS"),
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-bf",
        "0",
        "-g",
        "30",
        "-pix_fmt",
        "yuv420p",
    ]);
    args.extend(strings(extra));
    args.push(out.display().to_string());
    media::ffmpeg(&args);
}

/// Renders the chunks of `ranges` from `source`, returning the join's chunk list.
fn render_chunks(dir: &Path, source: &Path, ranges: &[(u64, u64)]) -> Vec<ChunkFile> {
    ranges
        .iter()
        .enumerate()
        .map(|(index, &(start, end))| {
            let path = dir.join(format!("chunk-{index:05}.mp4"));
            render_chunk(source, start, end, &path, &[]);
            ChunkFile {
                chunk: Chunk {
                    index: index as u32,
                    start_frame: start,
                    end_frame: end,
                },
                uri: path.display().to_string(),
            }
        })
        .collect()
}

fn join_spec(chunks: Vec<ChunkFile>, total_frames: u64, output: &Path) -> JoinSpec {
    JoinSpec {
        chunks,
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        total_frames,
        soundtrack_uri: None,
        output_uri: output.display().to_string(),
        thumbnails: None,
        replace: false,
    }
}

/// The frame counter of every frame of `path`, decoded in one pass.
fn all_counters(path: &Path) -> Vec<u32> {
    let out = media::ffmpeg(&strings(&[
        "-i",
        &path.display().to_string(),
        "-map",
        "0:v:0",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-",
    ]));
    let frame_size = (WIDTH * HEIGHT) as usize;
    assert_eq!(out.stdout.len() % frame_size, 0);
    out.stdout
        .chunks_exact(frame_size)
        .map(|frame| {
            let row = &frame[(HEIGHT / 2 * WIDTH) as usize..];
            (0..COUNTER_BITS)
                .filter(|bit| row[(bit * COUNTER_BIT_WIDTH + COUNTER_BIT_WIDTH / 2) as usize] > 128)
                .map(|bit| 1 << bit)
                .sum()
        })
        .collect()
}

/// Size and MD5 of every packet of the first video stream.
fn video_packets(path: &Path) -> Vec<String> {
    media::ffprobe(&strings(&[
        "-select_streams",
        "v:0",
        "-show_data_hash",
        "MD5",
        "-show_entries",
        "packet=size,data_hash",
        "-of",
        "csv=p=0",
        &path.display().to_string(),
    ]))
    .lines()
    .map(String::from)
    .collect()
}

/// ffprobe's duration of the first audio stream (from the MP4 edit list), in seconds.
fn audio_stream_duration(path: &Path) -> f64 {
    media::ffprobe(&strings(&[
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=duration",
        "-of",
        "csv=p=0",
        &path.display().to_string(),
    ]))
    .trim()
    .parse()
    .expect("an audio stream duration")
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

fn seconds(s: f64) -> usize {
    (s * f64::from(RATE)).round() as usize
}

#[tokio::test]
async fn join_keeps_every_frame_and_packet_with_the_soundtrack_and_the_index_first() {
    let dir = tempfile::tempdir().unwrap();
    let total = 100;
    let source = counter_source(dir.path(), total);
    let ranges = [(0, 30), (30, 65), (65, 100)];
    let chunks = render_chunks(dir.path(), &source, &ranges);

    let voiceover = dir.path().join("vo.wav");
    write_tone_wav(&voiceover, 440, 5.0);
    let soundtrack = dir.path().join("soundtrack.m4a");
    assembler()
        .mix(&MixSpec {
            voiceover: Some(voiceover.display().to_string()),
            music: None,
            music_volume: None,
            ducking: Ducking::default(),
            scenes: Vec::new(),
            frames: total,
            fps: FPS,
            output_uri: soundtrack.display().to_string(),
        })
        .await
        .unwrap();

    let output = dir.path().join("out/render.mp4");
    let mut spec = join_spec(chunks.clone(), total, &output);
    spec.soundtrack_uri = Some(soundtrack.display().to_string());
    let joined = assembler().join(&spec).await.unwrap();
    assert_eq!(joined.frames, 100);
    assert_eq!(joined.duration_ms, 3333);

    // Every frame, in order: nothing dropped or repeated at the boundaries (30 and 65).
    let counters = all_counters(&output);
    assert_eq!(counters, (0..100).collect::<Vec<u32>>());
    assert_eq!(media::video_frame_count(&output), 100);

    // The video was not re-encoded: the packets are the chunks' packets, byte for byte.
    let chunk_packets: Vec<String> = chunks
        .iter()
        .flat_map(|c| video_packets(Path::new(&c.uri)))
        .collect();
    assert_eq!(chunk_packets.len(), 100);
    assert_eq!(video_packets(&output), chunk_packets);

    // The index is at the front.
    let boxes = vidpipe_engine::box_types(&output).unwrap();
    let moov = boxes.iter().position(|b| b == "moov").expect("a moov box");
    let mdat = boxes.iter().position(|b| b == "mdat").expect("an mdat box");
    assert!(moov < mdat, "box order {boxes:?}");

    // The soundtrack: AAC 48 kHz stereo, as long as the video, the tone unbroken across both chunk boundaries.
    let info = media::probe(&output);
    let audio_stream = info.audio().expect("an audio stream");
    assert_eq!(
        (
            audio_stream.codec.as_str(),
            audio_stream.sample_rate,
            audio_stream.channels
        ),
        ("aac", 48_000, 2)
    );
    assert!((audio_stream_duration(&output) - 100.0 / 30.0).abs() < 0.001);
    let samples = audio::decode_mono(&output);
    let report = tone_continuity(&samples, 0..seconds(3.3), 440.0, 480);
    assert_eq!(report.windows, 330);
    assert!(
        db(report.min_amplitude / SINE_AMPLITUDE).abs() < 0.5
            && db(report.max_amplitude / SINE_AMPLITUDE).abs() < 0.5,
        "{report:?}"
    );
    assert!(report.max_phase_drift < 0.05, "{report:?}");
    assert!(report.max_residual < 0.05, "{report:?}");
}

#[tokio::test]
async fn a_join_without_soundtrack_has_no_audio_and_overwrites_its_output_only_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let source = counter_source(dir.path(), 40);
    let chunks = render_chunks(dir.path(), &source, &[(0, 20), (20, 40)]);
    let output = dir.path().join("silent.mp4");
    let joined = assembler()
        .join(&join_spec(chunks, 40, &output))
        .await
        .unwrap();
    assert_eq!(joined.frames, 40);
    let info = media::probe(&output);
    assert!(info.audio().is_none(), "{info:?}");
    assert_eq!(all_counters(&output), (0..40).collect::<Vec<u32>>());

    // Another join to the same output (another render's chunks) is refused by name, not retried, and the first
    // video stays as it was.
    let first = std::fs::read(&output).unwrap();
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = render_chunks(&other_dir, &source, &[(0, 20)]);
    let error = assembler()
        .join(&join_spec(other, 20, &output))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "OutputExists", "{error}");
    assert!(
        std::fs::read(&output).unwrap() == first,
        "the first output is kept"
    );

    // A transcoder job's join replaces it, as the next generation of a stream's job does.
    let other = render_chunks(&other_dir, &source, &[(0, 20)]);
    let joined = assembler()
        .join(&JoinSpec {
            replace: true,
            ..join_spec(other, 20, &output)
        })
        .await
        .unwrap();
    assert_eq!(joined.frames, 20);
    assert_eq!(all_counters(&output), (0..20).collect::<Vec<u32>>());
}

/// Joins `chunks` and expects `error_type` naming chunk `index`, with no output written.
async fn expect_join_error(
    dir: &Path,
    chunks: Vec<ChunkFile>,
    total: u64,
    error_type: &str,
) -> AssembleError {
    let output = dir.join("never.mp4");
    let error = assembler()
        .join(&join_spec(chunks, total, &output))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), error_type, "{error}");
    assert!(!output.exists(), "a failed join wrote {}", output.display());
    error
}

#[tokio::test]
async fn a_missing_chunk_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let source = counter_source(dir.path(), 40);
    let mut chunks = render_chunks(dir.path(), &source, &[(0, 20), (20, 40)]);
    chunks[1].uri = dir.path().join("absent.mp4").display().to_string();
    let error = expect_join_error(dir.path(), chunks, 40, "ChunkMissing").await;
    assert!(
        matches!(error, AssembleError::ChunkMissing { index: 1, ref uri } if uri.ends_with("absent.mp4")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_chunk_that_does_not_match_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let source = counter_source(dir.path(), 40);
    let chunks = render_chunks(dir.path(), &source, &[(0, 20), (20, 40)]);
    let cases: [(&str, &[&str], &str); 4] = [
        ("size", &["-s", "352x240"], "352x240"),
        ("frame rate", &["-r", "25"], "25/1"),
        (
            "profile",
            &["-profile:v", "baseline"],
            "Constrained Baseline",
        ),
        ("pixel format", &["-pix_fmt", "yuv444p"], "yuv444p"),
    ];
    for (property, extra, found_value) in cases {
        let odd = dir
            .path()
            .join(format!("odd-{}.mp4", property.replace(' ', "-")));
        render_chunk(&source, 20, 40, &odd, extra);
        let mut chunks = chunks.clone();
        chunks[1].uri = odd.display().to_string();
        let error = expect_join_error(dir.path(), chunks, 40, "ChunkMismatch").await;
        match error {
            AssembleError::ChunkMismatch {
                index,
                property: p,
                ref found,
                ..
            } => {
                assert_eq!((index, p), (1, property), "{error}");
                assert!(found.starts_with(found_value), "{error}");
            }
            other => panic!("expected ChunkMismatch, got {other:?}"),
        }
    }

    // A chunk with fewer frames than planned.
    let short = dir.path().join("short.mp4");
    render_chunk(&source, 20, 38, &short, &[]);
    let mut with_short = chunks.clone();
    with_short[1].uri = short.display().to_string();
    let error = expect_join_error(dir.path(), with_short, 40, "ChunkMismatch").await;
    assert!(
        matches!(error, AssembleError::ChunkMismatch { property: "frames", ref expected, ref found, .. }
            if expected == "20" && found == "18"),
        "{error:?}"
    );

    // Something that is not a video at all.
    let text = dir.path().join("text.mp4");
    std::fs::write(&text, "not a video").unwrap();
    let mut with_text = chunks.clone();
    with_text[0].uri = text.display().to_string();
    let error = expect_join_error(dir.path(), with_text, 40, "ChunkMismatch").await;
    assert!(
        matches!(
            error,
            AssembleError::ChunkMismatch {
                index: 0,
                property: "media",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn mix_puts_looped_music_under_the_voiceover_at_its_volume_and_fades_it_out() {
    let dir = tempfile::tempdir().unwrap();
    // A 44.1 kHz mono voice-over (resampled by the mix) shorter than the video, and 1.3 s of music looped.
    let voiceover = dir.path().join("vo.wav");
    media::ffmpeg(&strings(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        "3",
        &voiceover.display().to_string(),
    ]));
    let music = dir.path().join("music.wav");
    write_tone_wav(&music, 1000, 1.3);
    let output = dir.path().join("mix/soundtrack.m4a");
    let mixed = assembler()
        .mix(&MixSpec {
            voiceover: Some(voiceover.display().to_string()),
            music: Some(music.display().to_string()),
            music_volume: Some(0.25),
            // Not ducked: this test measures the music's own volume under the voice.
            ducking: NO_DUCKING,
            scenes: Vec::new(),
            frames: 120,
            fps: FPS,
            output_uri: output.display().to_string(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((mixed.samples, mixed.duration_ms), (192_000, 4000));

    let info = media::probe(&output);
    let stream = info.audio().expect("an audio stream");
    assert_eq!(
        (stream.codec.as_str(), stream.sample_rate, stream.channels),
        ("aac", 48_000, 2)
    );
    assert!(info.video().is_none());
    // Exactly the video's length: the container says 4 s; the decoder adds at most the last AAC frame's padding.
    assert!((audio_stream_duration(&output) - 4.0).abs() < 0.001);
    let samples = audio::decode_mono(&output);
    assert!(
        (192_000..192_000 + 1024).contains(&samples.len()),
        "{} samples",
        samples.len()
    );

    // The music sits 12 dB (x0.25) under the voice-over.
    let voice = fit_tone(&samples, seconds(0.5)..seconds(1.0), 440.0).amplitude;
    let bed = fit_tone(&samples, seconds(0.5)..seconds(1.0), 1000.0).amplitude;
    assert!(db(voice / SINE_AMPLITUDE).abs() < 0.5, "voice {voice}");
    assert!(
        (db(bed / voice) - db(0.25)).abs() < 0.5,
        "music {bed} voice {voice}"
    );
    // Looped: the music carries on after its 1.3 s and 2.6 s ends, up to the fade.
    for at in [1.5, 2.7] {
        let level = fit_tone(&samples, seconds(at)..seconds(at + 0.2), 1000.0).amplitude;
        assert!(
            (db(level / bed)).abs() < 0.5,
            "music at {at} s: {level} vs {bed}"
        );
    }
    // The voice-over ends after 3 s; the music fades out over the last second.
    let voice_after = fit_tone(&samples, seconds(3.2)..seconds(3.4), 440.0).amplitude;
    assert!(
        voice_after < voice * 0.01,
        "voice after its end: {voice_after}"
    );
    let before_fade = fit_tone(&samples, seconds(2.8)..seconds(2.95), 1000.0).amplitude;
    let mid_fade = fit_tone(&samples, seconds(3.45)..seconds(3.55), 1000.0).amplitude;
    let end_fade = fit_tone(&samples, seconds(3.9)..seconds(4.0), 1000.0).amplitude;
    assert!(db(before_fade / bed).abs() < 0.5, "{before_fade}");
    assert!(
        (0.3..0.7).contains(&(mid_fade / bed)),
        "half way through the fade: {mid_fade} of {bed}"
    );
    assert!(end_fade < bed * 0.1, "end of the fade: {end_fade} of {bed}");

    // The voice-over tone runs without gap or click from start to end.
    let report = tone_continuity(&samples, 0..seconds(2.95), 440.0, 4800);
    assert!(report.max_phase_drift < 0.05, "{report:?}");
    assert!(
        db(report.min_amplitude / voice).abs() < 0.3
            && db(report.max_amplitude / voice).abs() < 0.3,
        "{report:?}"
    );
}

#[tokio::test]
async fn music_alone_is_cut_to_the_length_and_voiceover_alone_is_padded() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music.wav");
    write_tone_wav(&music, 1000, 5.0);
    let output = dir.path().join("music-only.m4a");
    let mixed = assembler()
        .mix(&MixSpec {
            voiceover: None,
            music: Some(music.display().to_string()),
            music_volume: None,
            ducking: Ducking::default(),
            scenes: Vec::new(),
            frames: 50,
            fps: 25,
            output_uri: output.display().to_string(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mixed.duration_ms, 2000);
    assert!((audio_stream_duration(&output) - 2.0).abs() < 0.001);
    let samples = audio::decode_mono(&output);
    let level = fit_tone(&samples, seconds(0.2)..seconds(0.8), 1000.0).amplitude;
    assert!(
        db(level / SINE_AMPLITUDE).abs() < 0.5,
        "music at its own level: {level}"
    );
    let end = fit_tone(&samples, seconds(1.9)..seconds(2.0), 1000.0).amplitude;
    assert!(end < level * 0.1, "faded out: {end}");

    let voiceover = dir.path().join("vo.wav");
    write_tone_wav(&voiceover, 440, 1.0);
    let output = dir.path().join("voice-only.m4a");
    assembler()
        .mix(&MixSpec {
            voiceover: Some(voiceover.display().to_string()),
            music: None,
            music_volume: Some(0.5),
            ducking: Ducking::default(),
            scenes: Vec::new(),
            frames: 60,
            fps: FPS,
            output_uri: output.display().to_string(),
        })
        .await
        .unwrap();
    assert!((audio_stream_duration(&output) - 2.0).abs() < 0.001);
    let samples = audio::decode_mono(&output);
    let voice = fit_tone(&samples, seconds(0.2)..seconds(0.8), 440.0).amplitude;
    assert!(
        db(voice / SINE_AMPLITUDE).abs() < 0.5,
        "voice-over: {voice}"
    );
    assert!(
        media::mean_volume_db(&output, 1.2, 0.7) < -80.0,
        "silence after the voice-over"
    );
}

#[tokio::test]
async fn a_missing_source_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("never.m4a");
    let absent = dir.path().join("absent.mp3").display().to_string();
    let error = assembler()
        .mix(&MixSpec {
            voiceover: None,
            music: Some(absent.clone()),
            music_volume: Some(0.2),
            ducking: Ducking::default(),
            scenes: Vec::new(),
            frames: 30,
            fps: FPS,
            output_uri: output.display().to_string(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, AssembleError::SourceMissing { ref uri } if *uri == absent),
        "{error:?}"
    );
    assert_eq!(error.error_type(), "SourceMissing");
    assert!(!output.exists());
}

/// A `hz` sine tone of `seconds`, silent outside `[from, to)` seconds, on the audio track of a 30 fps video when
/// `video` (else a WAV).
fn tone_between(path: &Path, hz: u32, seconds: f64, from: f64, to: f64, video: bool) {
    let mut args = Vec::new();
    if video {
        args.extend(strings(&[
            "-f",
            "lavfi",
            "-i",
            "color=c=gray:size=64x48:rate=30",
        ]));
    }
    args.extend(strings(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency={hz}:sample_rate=48000"),
        "-t",
        &seconds.to_string(),
        "-af",
        &format!("volume=0:enable='lt(t,{from})+gte(t,{to})'"),
        "-ac",
        "2",
    ]));
    if video {
        args.extend(strings(&[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
        ]));
    }
    args.push(path.display().to_string());
    media::ffmpeg(&args);
}

#[tokio::test]
async fn the_music_ducks_under_the_voiceover_and_comes_back_after_it() {
    let dir = tempfile::tempdir().unwrap();
    // The voice speaks from 1 s to 2 s of a 4 s video; the music plays throughout.
    let voiceover = dir.path().join("vo.wav");
    tone_between(&voiceover, 440, 4.0, 1.0, 2.0, false);
    let music = dir.path().join("music.wav");
    write_tone_wav(&music, 1000, 4.0);
    let output = dir.path().join("ducked.m4a");
    assembler()
        .mix(&MixSpec {
            voiceover: Some(voiceover.display().to_string()),
            music: Some(music.display().to_string()),
            music_volume: None,
            ducking: Ducking::default(),
            scenes: Vec::new(),
            frames: 120,
            fps: FPS,
            output_uri: output.display().to_string(),
        })
        .await
        .unwrap()
        .unwrap();
    let samples = audio::decode_mono(&output);
    let music_at =
        |from: f64, to: f64| fit_tone(&samples, seconds(from)..seconds(to), 1000.0).amplitude;
    let before = music_at(0.4, 0.9);
    let under = music_at(1.3, 1.9);
    let after = music_at(2.6, 2.95);
    assert!(
        db(before / SINE_AMPLITUDE).abs() < 0.5,
        "music before the voice: {before}"
    );
    // The voice's RMS is 9 dB over the -30 dBFS threshold; at 8:1 the music goes down by about 8 dB.
    assert!(
        db(under / before) < -6.0,
        "music under the voice: {under} vs {before}"
    );
    assert!(
        db(after / before).abs() < 0.5,
        "music after the voice: {after} vs {before}"
    );
    let voice = fit_tone(&samples, seconds(1.3)..seconds(1.9), 440.0).amplitude;
    assert!(
        db(voice / SINE_AMPLITUDE).abs() < 0.5,
        "the voice is not ducked: {voice}"
    );
}

#[tokio::test]
async fn a_scenes_own_sound_is_heard_in_its_scene_only_and_a_video_without_audio_is_silence() {
    let dir = tempfile::tempdir().unwrap();
    // A 3 s clip whose 660 Hz tone runs from 1 s on, and a clip without audio.
    let clip = dir.path().join("clip.mp4");
    tone_between(&clip, 660, 3.0, 1.0, 3.0, true);
    let silent = dir.path().join("silent.mp4");
    write_mp4(
        &silent,
        &VideoSpec::new(Picture::Solid("blue".into()), 64, 48, FPS, 2.0),
    );
    let voiceover = dir.path().join("vo.wav");
    write_tone_wav(&voiceover, 440, 5.0);
    let scene = |scene_index, video: &Path, start_s, start_frame, frames, volume| SceneSound {
        scene_index,
        video: video.display().to_string(),
        start_s,
        start_frame,
        frames,
        volume,
    };
    // Four scenes of 1 s at 30 fps: the clip from 1 s (its tone from the first sample), the silent clip, the clip
    // from 1.5 s at half volume, and (not a sound) a still.
    let output = dir.path().join("scenes.m4a");
    let mixed = assembler()
        .mix(&MixSpec {
            voiceover: Some(voiceover.display().to_string()),
            music: None,
            music_volume: None,
            ducking: Ducking::default(),
            scenes: vec![
                scene(0, &clip, 1.0, 0, 30, 1.0),
                scene(1, &silent, 0.0, 30, 30, 1.0),
                scene(2, &clip, 1.5, 60, 30, 0.5),
            ],
            frames: 120,
            fps: FPS,
            output_uri: output.display().to_string(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((mixed.samples, mixed.scenes_heard), (192_000, 2));
    let samples = audio::decode_mono(&output);
    let tone = |from: f64, to: f64| fit_tone(&samples, seconds(from)..seconds(to), 660.0).amplitude;
    let first = tone(0.02, 0.98);
    assert!(db(first / SINE_AMPLITUDE).abs() < 0.5, "scene 0: {first}");
    assert!(
        tone(1.02, 1.98) < first * 0.01,
        "scene 1 (no audio) is silent"
    );
    let third = tone(2.02, 2.98);
    assert!(
        (db(third / first) - db(0.5)).abs() < 0.5,
        "scene 2 at half volume: {third}"
    );
    assert!(tone(3.02, 3.98) < first * 0.01, "the still scene is silent");
    // Cut at the scene's edges, within 5 ms (the AAC encoding smears an edge by a few milliseconds, at a fifth of the
    // level at most).
    assert!(tone(0.985, 0.995) > first * 0.8, "scene 0 sounds up to 1 s");
    assert!(tone(1.005, 1.015) < first * 0.2, "scene 0 ends at 1 s");
    assert!(tone(1.985, 1.995) < first * 0.2, "scene 2 starts at 2 s");
    assert!(tone(2.005, 2.015) > third * 0.8, "scene 2 sounds from 2 s");
    // The voice-over runs under everything, unbroken.
    let report = tone_continuity(&samples, 0..seconds(3.95), 440.0, 4800);
    assert!(report.max_phase_drift < 0.05, "{report:?}");
    assert!(
        db(report.min_amplitude / SINE_AMPLITUDE).abs() < 0.5,
        "{report:?}"
    );

    // Only videos without audio and no soundtrack: nothing to mix, nothing written.
    let nothing = dir.path().join("nothing.m4a");
    let none = assembler()
        .mix(&MixSpec {
            voiceover: None,
            music: None,
            music_volume: None,
            ducking: Ducking::default(),
            scenes: vec![scene(0, &silent, 0.0, 0, 30, 1.0)],
            frames: 30,
            fps: FPS,
            output_uri: nothing.display().to_string(),
        })
        .await
        .unwrap();
    assert_eq!(none, None);
    assert!(!nothing.exists());
}

#[tokio::test]
async fn voices_summed_past_full_scale_are_limited_not_clipped() {
    let dir = tempfile::tempdir().unwrap();
    // Three peers talking at once, each at three quarters of full scale (440, 550 and 660 Hz): their sum reaches
    // 2.25, which an encoder would clip.
    let voices: Vec<PathBuf> = [440, 550, 660]
        .iter()
        .map(|hz| {
            let path = dir.path().join(format!("voice-{hz}.wav"));
            let tone = format!("sine=frequency={hz}:sample_rate=48000");
            let mut args = strings(&[
                "-f", "lavfi", "-i", &tone, "-t", "2", "-af", "volume=6", "-ac", "2",
            ]);
            args.push(path.display().to_string());
            media::ffmpeg(&args);
            path
        })
        .collect();
    let output = dir.path().join("voices.m4a");
    assembler()
        .mix(&MixSpec {
            voiceover: None,
            music: None,
            music_volume: None,
            ducking: Ducking::default(),
            scenes: voices
                .iter()
                .enumerate()
                .map(|(scene_index, voice)| SceneSound {
                    scene_index,
                    video: voice.display().to_string(),
                    start_s: 0.0,
                    start_frame: 0,
                    frames: 60,
                    volume: 1.0,
                })
                .collect(),
            frames: 60,
            fps: FPS,
            output_uri: output.display().to_string(),
        })
        .await
        .unwrap()
        .unwrap();
    // One channel as it is (a mono downmix of the equal channels would add 3 dB).
    let left = media::ffmpeg(&strings(&[
        "-i",
        &output.display().to_string(),
        "-af",
        "pan=mono|c0=c0",
        "-f",
        "f32le",
        "-",
    ]));
    let peak = left
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).abs())
        .fold(0f32, f32::max);
    assert!(
        peak <= 1.02,
        "the sum is limited below full scale: peak {peak}"
    );
    let samples = audio::decode_mono(&output);
    // Each voice is still there, and the limiter turned all of them down alike.
    let levels: Vec<f64> = [440.0, 550.0, 660.0]
        .iter()
        .map(|hz| fit_tone(&samples, seconds(0.2)..seconds(1.8), *hz).amplitude)
        .collect();
    for level in &levels {
        assert!(
            *level > 0.15 && db(level / levels[0]).abs() < 1.0,
            "{levels:?}"
        );
    }
}
