//! Test media made with ffmpeg's lavfi sources, and measurements of media files with ffmpeg and ffprobe.
//!
//! Generators write small files (solid colours, tones, frame counters, a VP8/Opus WebM "camera", an H.264/AAC MP4
//! "screen", PNG images). Readers decode one frame to RGB and sample pixels, read a frame counter back, probe
//! durations, frame counts, sizes and streams, and measure audio levels.
//!
//! The tools come from `FFMPEG_PATH` / `FFPROBE_PATH`, else `ffmpeg` / `ffprobe` on `PATH`. A missing tool is a setup
//! failure: every helper panics with a message that says how to install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Width in pixels of one bit column of the frame counter picture (see [`frame_counter_mp4`]).
pub const COUNTER_BIT_WIDTH: u32 = 32;
/// Number of bit columns in the frame counter picture, so the counter counts up to `2^COUNTER_BITS - 1`.
pub const COUNTER_BITS: u32 = 10;

fn tool(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// The ffmpeg binary: `$FFMPEG_PATH`, else `ffmpeg` on `PATH`.
pub fn ffmpeg_binary() -> PathBuf {
    tool("FFMPEG_PATH", "ffmpeg")
}

/// The ffprobe binary: `$FFPROBE_PATH`, else `ffprobe` on `PATH`.
pub fn ffprobe_binary() -> PathBuf {
    tool("FFPROBE_PATH", "ffprobe")
}

fn run(binary: PathBuf, args: &[String]) -> Output {
    let output = Command::new(&binary).args(args).output().unwrap_or_else(|e| {
        panic!(
            "setup: cannot run {} ({e}); install ffmpeg (scripts/setup.sh does it) or set FFMPEG_PATH/FFPROBE_PATH",
            binary.display()
        )
    });
    assert!(
        output.status.success(),
        "{} {} failed: {}",
        binary.display(),
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs ffmpeg with the given arguments (after `-y -hide_banner -loglevel error`) and returns its output.
/// Panics when ffmpeg is missing or fails.
pub fn ffmpeg(args: &[String]) -> Output {
    let mut all: Vec<String> = ["-y", "-hide_banner", "-loglevel", "error"]
        .map(String::from)
        .to_vec();
    all.extend_from_slice(args);
    run(ffmpeg_binary(), &all)
}

/// Runs ffprobe with the given arguments (after `-v error`) and returns its standard output.
pub fn ffprobe(args: &[String]) -> String {
    let mut all: Vec<String> = vec!["-v".into(), "error".into()];
    all.extend_from_slice(args);
    String::from_utf8_lossy(&run(ffprobe_binary(), &all).stdout).into_owned()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A picture source for generated video.
#[derive(Debug, Clone, PartialEq)]
pub enum Picture {
    /// One colour, in any ffmpeg colour syntax (`red`, `0x102030`).
    Solid(String),
    /// A frame counter: the frame index in binary, [`COUNTER_BITS`] columns of [`COUNTER_BIT_WIDTH`] pixels,
    /// least significant bit at the left, white for 1 and black for 0. Read it back with [`read_frame_counter`].
    FrameCounter,
}

/// What a generated video file holds. Build one with [`VideoSpec::new`] and adjust the public fields.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoSpec {
    /// The picture.
    pub picture: Picture,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Length in seconds.
    pub seconds: f64,
    /// A sine tone of this frequency in Hz on the audio track (48 kHz stereo), or no audio track.
    pub tone_hz: Option<u32>,
    /// An embedded start timecode (`HH:MM:SS:FF`) written into the container, or none.
    pub timecode: Option<String>,
}

impl VideoSpec {
    /// A silent video with the given picture, size, rate and length.
    pub fn new(picture: Picture, width: u32, height: u32, fps: u32, seconds: f64) -> Self {
        Self {
            picture,
            width,
            height,
            fps,
            seconds,
            tone_hz: None,
            timecode: None,
        }
    }

    /// The same video with a sine tone on its audio track.
    pub fn with_tone(mut self, hz: u32) -> Self {
        self.tone_hz = Some(hz);
        self
    }

    /// The same video with an embedded start timecode.
    pub fn with_timecode(mut self, timecode: &str) -> Self {
        self.timecode = Some(timecode.to_string());
        self
    }

    fn lavfi_args(&self) -> Vec<String> {
        let size = format!("{}x{}", self.width, self.height);
        let video = match &self.picture {
            Picture::Solid(colour) => format!("color=c={colour}:size={size}:rate={}", self.fps),
            Picture::FrameCounter => format!(
                "color=c=black:size={size}:rate={},geq=lum='255*mod(floor(N/pow(2\\,floor(X/{COUNTER_BIT_WIDTH})))\\,2)':cb=128:cr=128",
                self.fps
            ),
        };
        let mut args = strings(&["-f", "lavfi", "-i", &video]);
        if let Some(hz) = self.tone_hz {
            args.extend(strings(&[
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency={hz}:sample_rate=48000"),
            ]));
        }
        args.extend(strings(&["-t", &self.seconds.to_string()]));
        if let Some(tc) = &self.timecode {
            args.extend(strings(&["-timecode", tc]));
        }
        args
    }
}

/// Writes an H.264/AAC MP4 (the "screen" kind of recording), near-lossless so pixel samples stay exact.
pub fn write_mp4(path: &Path, spec: &VideoSpec) {
    let mut args = spec.lavfi_args();
    args.extend(strings(&[
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "1",
        "-pix_fmt",
        "yuv420p",
    ]));
    if spec.tone_hz.is_some() {
        args.extend(strings(&["-c:a", "aac", "-b:a", "128k", "-ac", "2"]));
    }
    args.push(path.display().to_string());
    ffmpeg(&args);
}

/// Writes a VP8/Opus WebM (the "camera" kind of recording, as browsers record it).
pub fn write_webm(path: &Path, spec: &VideoSpec) {
    let mut args = spec.lavfi_args();
    args.extend(strings(&[
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "2M",
        "-pix_fmt",
        "yuv420p",
    ]));
    if spec.tone_hz.is_some() {
        args.extend(strings(&["-c:a", "libopus", "-b:a", "96k", "-ac", "2"]));
    }
    args.push(path.display().to_string());
    ffmpeg(&args);
}

/// Writes a WAV file with a sine tone of `hz` Hz (48 kHz stereo) lasting `seconds`.
pub fn write_tone_wav(path: &Path, hz: u32, seconds: f64) {
    ffmpeg(&strings(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency={hz}:sample_rate=48000"),
        "-t",
        &seconds.to_string(),
        "-ac",
        "2",
        &path.display().to_string(),
    ]));
}

/// Writes an opaque PNG image of one colour.
pub fn write_png(path: &Path, colour: &str, width: u32, height: u32) {
    ffmpeg(&strings(&[
        "-f",
        "lavfi",
        "-i",
        &format!("color=c={colour}:size={width}x{height}"),
        "-frames:v",
        "1",
        &path.display().to_string(),
    ]));
}

/// Writes a `width`x`height` PNG whose header is valid (so header readers accept its size) but whose pixel data is
/// garbage, so decoding it fails.
pub fn write_png_with_corrupt_pixels(path: &Path, width: u32, height: u32) {
    write_png(path, "white", width, height);
    // The 8-byte signature and the 25-byte IHDR chunk, then bytes that are no valid chunk.
    let mut bytes = std::fs::read(path).expect("the PNG was written")[..33].to_vec();
    bytes.extend([0xAB; 256]);
    std::fs::write(path, bytes).expect("the PNG can be rewritten");
}

/// Writes a Matroska file whose container is valid (a prober reads its H.264 track, size and duration) but whose
/// decoder setup (the track's `CodecPrivate`, the SPS and PPS) is garbage, so no frame decodes: ffmpeg fails with
/// "Cannot determine format of input stream" at the end of the input. A recording that passes a probe and fails
/// the job.
pub fn write_undecodable_mkv(path: &Path, spec: &VideoSpec) {
    let mut args = spec.lavfi_args();
    args.extend(strings(&[
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "matroska",
    ]));
    args.push(path.display().to_string());
    ffmpeg(&args);
    let mut bytes = std::fs::read(path).expect("the MKV was written");
    // Matroska's CodecPrivate element: ID 0x63A2, then its size as a one-byte EBML number (libx264's avcC is short).
    let at = bytes
        .windows(2)
        .position(|w| w == [0x63, 0xA2])
        .expect("the H.264 track has a CodecPrivate");
    let size = usize::from(bytes[at + 2] & 0x7F);
    bytes[at + 3..at + 3 + size].fill(0xFF);
    std::fs::write(path, bytes).expect("the MKV can be rewritten");
}

/// One decoded video frame in RGB (8 bits per channel).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Rows of `width * 3` bytes, top to bottom.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// Decodes the frame with index `index` (0 = first frame) of the file's first video stream.
    pub fn at_index(path: &Path, index: u32) -> Frame {
        Self::decode(path, &[], &format!("select=eq(n\\,{index})"))
    }

    /// Decodes the frame shown at `seconds` from the start of the file.
    pub fn at_time(path: &Path, seconds: f64) -> Frame {
        Self::decode(path, &["-ss".to_string(), format!("{seconds:.4}")], "null")
    }

    /// Decodes every frame of the file's first video stream, in order.
    pub fn all(path: &Path) -> Vec<Frame> {
        let (width, height, rgb) =
            Self::decode_raw(path, &[], &strings(&["-fps_mode", "passthrough"]));
        rgb.chunks_exact((width * height * 3) as usize)
            .map(|frame| Frame {
                width,
                height,
                rgb: frame.to_vec(),
            })
            .collect()
    }

    fn decode(path: &Path, before_input: &[String], filter: &str) -> Frame {
        let (width, height, rgb) = Self::decode_raw(
            path,
            before_input,
            &strings(&["-vf", filter, "-frames:v", "1"]),
        );
        assert_eq!(
            rgb.len(),
            (width * height * 3) as usize,
            "decoded frame of {} has {} bytes, expected {width}x{height} RGB",
            path.display(),
            rgb.len()
        );
        Frame { width, height, rgb }
    }

    /// Decodes the file's first video stream to RGB24 with `options` after the input.
    fn decode_raw(path: &Path, before_input: &[String], options: &[String]) -> (u32, u32, Vec<u8>) {
        let info = probe(path);
        let video = info
            .video()
            .unwrap_or_else(|| panic!("{} has no video stream", path.display()));
        let (width, height) = (video.width, video.height);
        let mut args = before_input.to_vec();
        args.extend(strings(&["-i", &path.display().to_string()]));
        args.extend(options.iter().cloned());
        args.extend(strings(&["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]));
        (width, height, ffmpeg(&args).stdout)
    }

    /// The RGB colour of the pixel at column `x`, row `y`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x},{y}) outside {}x{}",
            self.width,
            self.height
        );
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// True when `actual` is within `tolerance` of `expected` on every channel.
pub fn colour_close(actual: [u8; 3], expected: [u8; 3], tolerance: u8) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| a.abs_diff(e) <= tolerance)
}

/// Reads the frame index drawn by [`Picture::FrameCounter`] from a decoded frame whose top-left corner holds the
/// counter at its original scale.
pub fn read_frame_counter(frame: &Frame) -> u32 {
    (0..COUNTER_BITS)
        .filter(|bit| {
            let x = bit * COUNTER_BIT_WIDTH + COUNTER_BIT_WIDTH / 2;
            frame.pixel(x, frame.height / 2)[0] > 128
        })
        .map(|bit| 1 << bit)
        .sum()
}

/// One stream as ffprobe sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// `video` or `audio` (or another ffprobe codec type).
    pub kind: String,
    /// ffprobe's codec name, for example `h264`, `aac`, `vp8`, `opus`.
    pub codec: String,
    /// Width in pixels (0 for audio).
    pub width: u32,
    /// Height in pixels (0 for audio).
    pub height: u32,
    /// Sample rate in Hz (0 for video).
    pub sample_rate: u32,
    /// Channel count (0 for video).
    pub channels: u32,
}

/// What ffprobe reports about a file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Container duration in seconds.
    pub duration: f64,
    /// ffprobe's format name, for example `mov,mp4,m4a,3gp,3g2,mj2`.
    pub format: String,
    /// The streams in file order.
    pub streams: Vec<StreamInfo>,
}

impl MediaInfo {
    /// The first video stream.
    pub fn video(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == "video")
    }

    /// The first audio stream.
    pub fn audio(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == "audio")
    }
}

/// Probes a file's container and streams with ffprobe.
pub fn probe(path: &Path) -> MediaInfo {
    let out = ffprobe(&strings(&[
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        &path.display().to_string(),
    ]));
    let json: serde_json::Value = serde_json::from_str(&out).expect("ffprobe prints JSON");
    let number = |v: &serde_json::Value| -> u32 {
        v.as_u64()
            .map(|n| n as u32)
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0)
    };
    let streams = json["streams"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|s| StreamInfo {
                    kind: s["codec_type"].as_str().unwrap_or_default().to_string(),
                    codec: s["codec_name"].as_str().unwrap_or_default().to_string(),
                    width: number(&s["width"]),
                    height: number(&s["height"]),
                    sample_rate: number(&s["sample_rate"]),
                    channels: number(&s["channels"]),
                })
                .collect()
        })
        .unwrap_or_default();
    MediaInfo {
        duration: json["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0.0),
        format: json["format"]["format_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        streams,
    }
}

/// The number of decoded frames in the file's first video stream.
pub fn video_frame_count(path: &Path) -> u32 {
    let out = ffprobe(&strings(&[
        "-select_streams",
        "v:0",
        "-count_frames",
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "csv=p=0",
        &path.display().to_string(),
    ]));
    // A playlist lists its stream once per program too: the first count is the stream's.
    out.split_whitespace()
        .next()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("ffprobe frame count of {}: {out:?}", path.display()))
}

/// The mean audio level in dBFS of the file's first audio stream between `start` and `start + seconds`
/// (`-91` or lower means silence).
pub fn mean_volume_db(path: &Path, start: f64, seconds: f64) -> f64 {
    let out = ffmpeg(&strings(&[
        "-loglevel",
        "info",
        "-ss",
        &start.to_string(),
        "-t",
        &seconds.to_string(),
        "-i",
        &path.display().to_string(),
        "-map",
        "0:a:0",
        "-af",
        "volumedetect",
        "-f",
        "null",
        "-",
    ]));
    let log = String::from_utf8_lossy(&out.stderr);
    log.lines()
        .find_map(|line| line.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no mean_volume in volumedetect output of {}: {log}",
                path.display()
            )
        })
}

/// The frames ffmpeg decodes from stream `stream` (`v:0`, `a:0`) through `manifest` (HLS or DASH, local segments of
/// any extension).
pub fn decoded_frames(manifest: &str, stream: &str) -> usize {
    let out = ffmpeg(
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
