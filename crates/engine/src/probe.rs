//! Probing media with ffprobe: facts the engine plans with, and MediaConvert's Probe response shape
//! (`ProbeResponse{ProbeResults[{Container, Metadata, TrackMappings}]}`, PascalCase as in the model).
//!
//! Recordings from browsers often leave out what the header usually states (see [`timing`]): when the container
//! gives no duration, or no constant frame rate, both are read from the packets' timestamps.

mod timing;

use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use vidpipe_core::job::MediaInfo;

use crate::storage::ObjectInfo;
use crate::tools::{ToolError, Tools};
use timing::{PacketTiming, StreamTiming};

/// A frame rate as a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FrameRate {
    /// Frames per `denominator` seconds.
    pub numerator: i32,
    /// Seconds per `numerator` frames.
    pub denominator: i32,
}

impl FrameRate {
    /// Frames per second as a float.
    pub fn fps(&self) -> f64 {
        f64::from(self.numerator) / f64::from(self.denominator.max(1))
    }
}

/// What the engine knows about one media file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFacts {
    /// Duration in seconds: the container's, or (when it states none) from the first packet to the end of the last.
    pub duration: f64,
    /// Width, height and frame rate of the first video stream, if any.
    pub video: Option<(u32, u32, FrameRate)>,
    /// Whether the file has an audio stream.
    pub has_audio: bool,
    /// The embedded start timecode (`HH:MM:SS:FF`), if the file carries one.
    pub start_timecode: Option<String>,
    /// The whole Probe result for this file.
    pub probe: ProbeResult,
}

impl MediaFacts {
    /// The facts of a file that was not probed: a picture of `video` (width, height, rate) if any, `seconds` long,
    /// with `audio_tracks` audio tracks, in an MP4 container. What the planner's tests and [`crate::dry_plan`] plan
    /// with instead of ffprobe's answer.
    pub(crate) fn assumed(
        video: Option<(u32, u32, FrameRate)>,
        seconds: f64,
        audio_tracks: i32,
    ) -> Self {
        MediaFacts {
            duration: seconds,
            video,
            has_audio: audio_tracks > 0,
            start_timecode: None,
            probe: ProbeResult {
                container: Container {
                    format: Some("mp4".into()),
                    duration: seconds,
                    bit_rate: None,
                    start_timecode: None,
                    tracks: Vec::new(),
                },
                metadata: Metadata {
                    file_size: 1,
                    etag: None,
                    last_modified: None,
                    mime_type: None,
                },
                track_mappings: vec![TrackMapping {
                    video_track_indexes: video.map_or(vec![], |_| vec![1]),
                    audio_track_indexes: (2..2 + audio_tracks).collect(),
                    data_track_indexes: vec![],
                }],
            },
        }
    }
}

/// The Probe response: one result per input file, in request order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProbeResponse {
    /// The results.
    pub probe_results: Vec<ProbeResult>,
}

/// Probe's answer for one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProbeResult {
    /// Container and tracks.
    pub container: Container,
    /// Size and identity of the file.
    pub metadata: Metadata,
    /// Track indexes by kind.
    pub track_mappings: Vec<TrackMapping>,
}

impl ProbeResult {
    /// vidpipe's [`MediaInfo`] from this result, by the same rules as `vidpipe_aws::mediaconvert::media_info`: the
    /// first video track's size, rate and rotation, the container's duration, whether any track is audio.
    pub fn media_info(&self) -> Result<MediaInfo, String> {
        let video = self
            .container
            .tracks
            .iter()
            .find(|t| t.track_type == "video")
            .ok_or("no video track")?;
        let properties = video
            .video_properties
            .as_ref()
            .ok_or("no video properties")?;
        let dimension = |v: i32| u32::try_from(v).ok().filter(|v| *v > 0);
        let (Some(width), Some(height)) =
            (dimension(properties.width), dimension(properties.height))
        else {
            return Err("no video width and height".into());
        };
        let frame_rate = properties.frame_rate.and_then(|r| {
            let rate = vidpipe_core::job::FrameRate {
                numerator: u32::try_from(r.numerator).ok()?,
                denominator: u32::try_from(r.denominator).ok()?,
            };
            rate.is_recording_rate().then_some(rate)
        });
        let stated = |d: Option<f64>| d.filter(|d| d.is_finite() && *d > 0.0);
        let duration_ms = stated(Some(self.container.duration))
            .or(stated(video.duration))
            .map(|seconds| (seconds * 1000.0).round() as u64);
        Ok(MediaInfo {
            width,
            height,
            duration_ms,
            frame_rate,
            has_audio: self
                .container
                .tracks
                .iter()
                .any(|t| t.track_type == "audio"),
            rotation: properties.rotation.map_or(0, |r| r.rem_euclid(360) as u16),
        })
    }
}

/// The container of a probed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Container {
    /// The model's `Format` enum value (`mp4`, `webm`, `matroska`, `mpegts`, `wave`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Duration in seconds.
    pub duration: f64,
    /// Overall bit rate in bits per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<i64>,
    /// The embedded start timecode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timecode: Option<String>,
    /// The tracks.
    pub tracks: Vec<Track>,
}

/// One track of a probed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Track {
    /// 1-based index.
    pub index: i32,
    /// `video`, `audio` or `data`.
    pub track_type: String,
    /// The model's `Codec` enum value (`AVC`, `VP8`, `AAC`, `OPUS`, …; `UNKNOWN` otherwise).
    pub codec: String,
    /// Duration in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Video details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_properties: Option<VideoProperties>,
    /// Audio details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_properties: Option<AudioProperties>,
}

/// Video track details.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VideoProperties {
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// Frame rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<FrameRate>,
    /// Bits per sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_depth: Option<i32>,
    /// Bit rate in bits per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<i64>,
    /// Rotation in degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<i32>,
}

/// Audio track details.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AudioProperties {
    /// Channel count.
    pub channels: i32,
    /// Sample rate in Hz.
    pub sample_rate: i32,
    /// Bit rate in bits per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<i64>,
    /// Channel layout (`stereo`, `mono`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_layout: Option<String>,
    /// Language code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

/// Size and identity of a probed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    /// Size in bytes.
    pub file_size: i64,
    /// The S3 ETag.
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Last modification, seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<i64>,
    /// MIME type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// Track indexes by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrackMapping {
    /// Indexes of video tracks.
    pub video_track_indexes: Vec<i32>,
    /// Indexes of audio tracks.
    pub audio_track_indexes: Vec<i32>,
    /// Indexes of data tracks.
    pub data_track_indexes: Vec<i32>,
}

/// A file ffprobe could not read.
#[derive(Debug, thiserror::Error)]
pub enum FfprobeError {
    /// ffprobe failed (not a media file, or ffprobe missing).
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// ffprobe printed something that is not its JSON.
    #[error("ffprobe output is not JSON: {0}")]
    Output(#[source] serde_json::Error),
}

/// Probes a local file with ffprobe. `info` supplies size and identity; `name` the name for MIME type and format.
/// When the container states no duration or no constant frame rate, a second ffprobe run reads them from the
/// packets' timestamps.
pub async fn probe_file(
    tools: &Tools,
    path: &Path,
    info: &ObjectInfo,
    name: &str,
) -> Result<MediaFacts, FfprobeError> {
    let path = path.display().to_string();
    let args = [
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        &path,
    ]
    .map(String::from);
    let out = tools.ffprobe(&args).await?;
    let json: Value = serde_json::from_str(&out).map_err(FfprobeError::Output)?;
    let timing = if needs_packet_timing(&json) {
        Some(PacketTiming::parse(
            &tools.ffprobe(&timing::packet_args(&path)).await?,
        ))
    } else {
        None
    };
    Ok(facts_from_ffprobe(&json, timing.as_ref(), info, name))
}

/// Whether the header leaves out the duration, or the first video stream's constant frame rate (its mean rate is
/// missing or differs from the rate ffprobe guessed, or is no camera's rate).
fn needs_packet_timing(json: &Value) -> bool {
    let stated = number::<f64>(&json["format"]["duration"]).is_some_and(|d| d > 0.0);
    let video = json["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["codec_type"] == "video"));
    let constant_rate = video.is_none_or(|v| constant_rate(v).is_some());
    !(stated && constant_rate)
}

/// The stream's rate when the header states a constant, plausible one: the mean rate equals the guessed one and
/// is at most 120 fps (a WebM without a rate reports its millisecond timestamps as `1000/1`).
fn constant_rate(stream: &Value) -> Option<FrameRate> {
    let average = frame_rate(&stream["avg_frame_rate"])?;
    (frame_rate(&stream["r_frame_rate"]) == Some(average) && average.fps() <= 120.0)
        .then_some(average)
}

fn number<T: std::str::FromStr>(value: &Value) -> Option<T> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn frame_rate(value: &Value) -> Option<FrameRate> {
    let (n, d) = value.as_str()?.split_once('/')?;
    let rate = FrameRate {
        numerator: n.parse().ok()?,
        denominator: d.parse().ok()?,
    };
    (rate.numerator > 0 && rate.denominator > 0).then_some(rate)
}

fn container_format(format_name: &str, name: &str) -> Option<String> {
    let extension = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let format = match format_name {
        f if f.starts_with("mov,mp4") => match extension.as_str() {
            "mov" => "quicktime",
            "3gp" => "three_gp",
            "3g2" => "three_g2",
            _ => "mp4",
        },
        f if f.starts_with("matroska") => {
            if extension == "webm" {
                "webm"
            } else {
                "matroska"
            }
        }
        "mpegts" => "mpegts",
        "mpeg" => "mpegps",
        "wav" => "wave",
        "avi" => "avi",
        "mp3" => "mp3",
        "flac" => "flac",
        "ogg" => "ogg",
        "asf" => "asf",
        "mxf" => "mxf",
        "aac" => "aac",
        "ac3" => "ac3",
        "eac3" => "eac3",
        _ => return None,
    };
    Some(format.to_string())
}

fn codec(name: &str) -> &'static str {
    match name {
        "h264" => "AVC",
        "hevc" => "HEVC",
        "vp8" => "VP8",
        "vp9" => "VP9",
        "av1" => "AV1",
        "mpeg2video" => "MPEG2",
        "mpeg1video" => "MPEG1",
        "mpeg4" => "MP4V",
        "prores" => "PRORES",
        "mjpeg" => "MJPEG",
        "theora" => "THEORA",
        "aac" => "AAC",
        "ac3" => "AC3",
        "eac3" => "EAC3",
        "mp3" => "MP3",
        "mp2" => "MP2",
        "opus" => "OPUS",
        "vorbis" => "VORBIS",
        "flac" => "FLAC",
        n if n.starts_with("pcm_") => "PCM",
        "rawvideo" => "UNCOMPRESSED",
        _ => "UNKNOWN",
    }
}

fn mime_type(format: Option<&str>) -> Option<String> {
    let mime = match format? {
        "mp4" => "video/mp4",
        "quicktime" => "video/quicktime",
        "webm" => "video/webm",
        "matroska" => "video/x-matroska",
        "mpegts" => "video/mp2t",
        "wave" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        _ => return None,
    };
    Some(mime.to_string())
}

/// A video stream's properties; its rate is its constant rate, else the rate its `packets` were recorded at, else
/// the rate ffprobe guessed.
fn video_properties(stream: &Value, packets: Option<&StreamTiming>) -> VideoProperties {
    let rate = constant_rate(stream)
        .or_else(|| packets.and_then(|p| p.nominal_rate()))
        .or_else(|| frame_rate(&stream["avg_frame_rate"]))
        .or_else(|| frame_rate(&stream["r_frame_rate"]));
    VideoProperties {
        width: number::<u32>(&stream["width"]).unwrap_or(0) as i32,
        height: number::<u32>(&stream["height"]).unwrap_or(0) as i32,
        frame_rate: rate,
        bit_depth: number(&stream["bits_per_raw_sample"]),
        bit_rate: number(&stream["bit_rate"]),
        rotation: number(&stream["tags"]["rotate"]),
    }
}

/// An audio stream's properties.
fn audio_properties(stream: &Value) -> AudioProperties {
    AudioProperties {
        channels: number(&stream["channels"]).unwrap_or(0),
        sample_rate: number(&stream["sample_rate"]).unwrap_or(0),
        bit_rate: number(&stream["bit_rate"]),
        channel_layout: stream["channel_layout"].as_str().map(String::from),
        language_code: stream["tags"]["language"].as_str().map(String::from),
    }
}

/// Turns ffprobe's `-show_format -show_streams` JSON, and the packets' timing where it was read, into the engine's
/// facts and the Probe result.
///
/// The duration is the container's, else the packets' span. A video stream's rate is its constant rate, else the
/// rate its packets were recorded at ([`timing`]), else the rate ffprobe guessed, else 30 fps.
fn facts_from_ffprobe(
    json: &Value,
    timing: Option<&PacketTiming>,
    info: &ObjectInfo,
    name: &str,
) -> MediaFacts {
    let format = &json["format"];
    let duration: f64 = number(&format["duration"])
        .filter(|d: &f64| *d > 0.0)
        .or_else(|| timing.and_then(PacketTiming::duration))
        .unwrap_or(0.0);
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let mut tracks = Vec::new();
    let mut mapping = TrackMapping {
        video_track_indexes: vec![],
        audio_track_indexes: vec![],
        data_track_indexes: vec![],
    };
    let mut video = None;
    let mut has_audio = false;
    let mut start_timecode = format["tags"]["timecode"].as_str().map(String::from);
    for (position, stream) in streams.iter().enumerate() {
        let index = tracks.len() as i32 + 1;
        let kind = stream["codec_type"].as_str().unwrap_or_default();
        let packets = timing.and_then(|t| t.stream(number(&stream["index"]).unwrap_or(position)));
        let track_duration = number(&stream["duration"]).or_else(|| {
            let packets = packets?;
            Some(packets.end()? - packets.first()?)
        });
        let codec_name = stream["codec_name"].as_str().unwrap_or_default();
        if start_timecode.is_none() {
            start_timecode = stream["tags"]["timecode"].as_str().map(String::from);
        }
        let track = match kind {
            "video" => {
                let properties = video_properties(stream, packets);
                if video.is_none() {
                    video = Some((
                        properties.width as u32,
                        properties.height as u32,
                        properties.frame_rate.unwrap_or(FrameRate {
                            numerator: 30,
                            denominator: 1,
                        }),
                    ));
                }
                mapping.video_track_indexes.push(index);
                Track {
                    index,
                    track_type: "video".into(),
                    codec: codec(codec_name).into(),
                    duration: track_duration,
                    video_properties: Some(properties),
                    audio_properties: None,
                }
            }
            "audio" => {
                has_audio = true;
                mapping.audio_track_indexes.push(index);
                Track {
                    index,
                    track_type: "audio".into(),
                    codec: codec(codec_name).into(),
                    duration: track_duration,
                    video_properties: None,
                    audio_properties: Some(audio_properties(stream)),
                }
            }
            _ => {
                mapping.data_track_indexes.push(index);
                Track {
                    index,
                    track_type: "data".into(),
                    codec: codec(codec_name).into(),
                    duration: track_duration,
                    video_properties: None,
                    audio_properties: None,
                }
            }
        };
        tracks.push(track);
    }
    let format_value = container_format(format["format_name"].as_str().unwrap_or_default(), name);
    let probe = ProbeResult {
        container: Container {
            format: format_value.clone(),
            duration,
            bit_rate: number(&format["bit_rate"]),
            start_timecode: start_timecode.clone(),
            tracks,
        },
        metadata: Metadata {
            file_size: info.size as i64,
            etag: info.etag.clone(),
            last_modified: info.last_modified,
            mime_type: mime_type(format_value.as_deref()),
        },
        track_mappings: vec![mapping],
    };
    MediaFacts {
        duration,
        video,
        has_audio,
        start_timecode,
        probe,
    }
}
