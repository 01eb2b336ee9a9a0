//! The inputs on one timeline: files and generators, rotation, timecode origins, clipping, conforming to the
//! job's canvas.

use vidpipe_core::job as m;

use super::audio::segment_audio;
use super::frames::{
    frame_index_pts, frames_to_seconds, rate_conversion, rate_expr, seconds_to_frames,
};
use super::overlays::{insert_images, video_overlay};
use super::{Media, MediaMap, media_for, reject, required, unsupported};
use crate::graph::Graph;
use crate::lifecycle::JobFailure;
use crate::probe::FrameRate;
use crate::timecode;

/// MediaConvert's default frame rate for generated inputs (29.97).
const GENERATOR_DEFAULT_RATE: FrameRate = FrameRate {
    numerator: 30000,
    denominator: 1001,
};

/// A timeline of frames at a rate, with the timecode of its first frame.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeline {
    pub(super) rate: FrameRate,
    pub(super) origin: u64,
    pub(super) frames: u64,
}

impl Timeline {
    /// Whether the inclusive frame `ranges` are the whole timeline.
    pub(super) fn keeps_all(&self, ranges: &[(u64, u64)]) -> bool {
        ranges.len() == 1 && ranges[0] == (0, self.frames.saturating_sub(1))
    }

    /// The frame (from this timeline's start) that `tc` names; `field` names the setting in errors.
    pub(super) fn frame(&self, tc: &str, field: &str) -> Result<u64, JobFailure> {
        let absolute = timecode::to_frames(tc, self.rate)
            .map_err(|e| JobFailure::invalid_setting(field, e))?;
        absolute.checked_sub(self.origin).ok_or_else(|| {
            JobFailure::invalid_setting(
                field,
                format!(
                    "timecode {tc} is before the start of the timeline ({})",
                    timecode::from_frames(self.origin, self.rate)
                ),
            )
        })
    }
}

/// The timecode origin of a source: EMBEDDED (default) uses the file's start timecode, ZEROBASED 00:00:00:00,
/// SPECIFIEDSTART the given start.
pub(super) fn origin(
    source: Option<m::InputTimecodeSource>,
    start: &Option<String>,
    embedded: Option<&str>,
    rate: FrameRate,
    field: &str,
) -> Result<u64, JobFailure> {
    let tc = match source.unwrap_or(m::InputTimecodeSource::Embedded) {
        m::InputTimecodeSource::Embedded => embedded.unwrap_or("00:00:00:00").to_string(),
        m::InputTimecodeSource::Zerobased => "00:00:00:00".to_string(),
        m::InputTimecodeSource::Specifiedstart => {
            required(&format!("{field}.TimecodeStart"), start)?.clone()
        }
    };
    timecode::to_frames(&tc, rate)
        .map_err(|e| JobFailure::invalid_setting(&format!("{field}.TimecodeStart"), e))
}

/// Inclusive frame ranges selected by clippings (the whole timeline without clippings).
pub(super) fn clip_ranges(
    clippings: &Option<Vec<m::InputClipping>>,
    timeline: &Timeline,
    field: &str,
) -> Result<Vec<(u64, u64)>, JobFailure> {
    let last = timeline.frames.saturating_sub(1);
    let Some(clips) = clippings.as_ref().filter(|c| !c.is_empty()) else {
        return Ok(vec![(0, last)]);
    };
    let mut ranges = Vec::new();
    for (i, clip) in clips.iter().enumerate() {
        let m::InputClipping {
            start_timecode,
            end_timecode,
        } = clip;
        let at = format!("{field}.InputClippings[{i}]");
        if start_timecode.is_none() && end_timecode.is_none() {
            return Err(JobFailure::invalid_setting(
                &at,
                "a clipping needs a StartTimecode or an EndTimecode",
            ));
        }
        let start = match start_timecode {
            Some(tc) => timeline.frame(tc, &format!("{at}.StartTimecode"))?,
            None => 0,
        };
        let end = match end_timecode {
            Some(tc) => timeline.frame(tc, &format!("{at}.EndTimecode"))?.min(last),
            None => last,
        };
        if start > end {
            return Err(JobFailure::invalid_setting(
                &at,
                format!("clip starts at frame {start} after its end {end}"),
            ));
        }
        if ranges
            .last()
            .is_some_and(|&(_, previous_end)| start <= previous_end)
        {
            return Err(JobFailure::invalid_setting(
                &at,
                "clippings must be in order and must not overlap",
            ));
        }
        ranges.push((start, end));
    }
    Ok(ranges)
}

/// The first frame's timecode on the output timeline (TimecodeConfig).
pub(super) fn output_origin(
    config: &Option<m::TimecodeConfig>,
    embedded: Option<&str>,
    rate: FrameRate,
) -> Result<u64, JobFailure> {
    let Some(m::TimecodeConfig {
        source,
        start,
        anchor,
    }) = config
    else {
        return timecode::to_frames(embedded.unwrap_or("00:00:00:00"), rate)
            .map_err(|e| JobFailure::invalid_setting("Settings.TimecodeConfig", e));
    };
    reject("Settings.TimecodeConfig.Anchor", anchor)?;
    let tc = match source.unwrap_or(m::TimecodeSource::Embedded) {
        m::TimecodeSource::Embedded => embedded.unwrap_or("00:00:00:00").to_string(),
        m::TimecodeSource::Zerobased => "00:00:00:00".to_string(),
        m::TimecodeSource::Specifiedstart => {
            required("Settings.TimecodeConfig.Start", start)?.clone()
        }
    };
    timecode::to_frames(&tc, rate)
        .map_err(|e| JobFailure::invalid_setting("Settings.TimecodeConfig.Start", e))
}

/// One input, ready to concatenate: its video pad, one audio pad per source name, and its length.
pub(super) struct Segment {
    pub(super) video: String,
    pub(super) audio: Vec<String>,
    pub(super) seconds: f64,
    pub(super) embedded_timecode: Option<String>,
    /// The input's own frame rate.
    pub(super) rate: FrameRate,
}

/// An input's base picture (before overlays, image inserter and clipping): its pad at the input's own rate,
/// timestamps counting frames from 0.
struct BasePicture<'a> {
    video: String,
    size: (u32, u32),
    timeline: Timeline,
    /// The input's file (none for a generator).
    file: Option<&'a Media>,
    /// The file's start timecode.
    embedded: Option<String>,
}

/// The `index`-th input, overlaid, clipped and conformed to the job's canvas, with one audio pad per source name.
/// The first input sets the canvas: its size, and the outputs' common rate or its own.
pub(super) fn input_segment(
    graph: &mut Graph,
    input: &m::Input,
    index: usize,
    media: &MediaMap,
    audio_names: &[String],
    (canvas, outputs_rate): (&mut Option<(u32, u32, FrameRate)>, Option<FrameRate>),
) -> Result<Segment, JobFailure> {
    let at = format!("Settings.Inputs[{index}]");
    let m::Input {
        file_input: _,
        video_generator: _,
        input_clippings,
        timecode_source: _,
        timecode_start: _,
        audio_selectors,
        video_selector: _,
        image_inserter,
        video_overlays,
    } = input;
    let BasePicture {
        mut video,
        size: (width, height),
        timeline,
        file,
        embedded,
    } = base_picture(graph, input, media, &at)?;
    if width % 2 == 1 || height % 2 == 1 {
        return Err(JobFailure::invalid_setting(
            &at,
            format!("input frame {width}x{height} must have even dimensions"),
        ));
    }

    for (j, overlay) in video_overlays.iter().flatten().enumerate() {
        video = video_overlay(
            graph,
            &video,
            overlay,
            (width, height),
            &timeline,
            media,
            &format!("{at}.VideoOverlays[{j}]"),
        )?;
    }
    video = insert_images(
        graph,
        &video,
        image_inserter,
        &timeline,
        media,
        &format!("{at}.ImageInserter"),
    )?;

    let ranges = clip_ranges(input_clippings, &timeline, &at)?;
    let kept = Kept::new(timeline, ranges);
    if !kept.is_whole() {
        video = clip_video(graph, &video, &kept.ranges);
    }

    // Conform to the job's canvas: the first input's size, and the outputs' common rate or the first input's.
    let (cw, ch, crate_) =
        *canvas.get_or_insert((width, height, outputs_rate.unwrap_or(timeline.rate)));
    let mut conform = Vec::new();
    if (cw, ch) != (width, height) {
        conform.push(format!(
            "scale={cw}:{ch}:force_original_aspect_ratio=decrease,pad={cw}:{ch}:(ow-iw)/2:(oh-ih)/2"
        ));
    }
    if crate_ != timeline.rate {
        conform.push(rate_conversion(kept.seconds, crate_));
    }
    conform.push("setsar=1,format=yuv420p".into());
    video = graph.chain(&video, &conform.join(","));

    let mut audio = Vec::new();
    for name in audio_names {
        audio.push(segment_audio(
            graph,
            name,
            audio_selectors,
            file,
            media,
            &kept,
            &at,
        )?);
    }
    Ok(Segment {
        video,
        audio,
        seconds: kept.seconds,
        embedded_timecode: embedded,
        rate: timeline.rate,
    })
}

/// The input's base picture: its file (rotated as its VideoSelector says) or its generator.
fn base_picture<'a>(
    graph: &mut Graph,
    input: &m::Input,
    media: &'a MediaMap,
    at: &str,
) -> Result<BasePicture<'a>, JobFailure> {
    let m::Input {
        file_input,
        video_generator,
        timecode_source,
        timecode_start,
        video_selector,
        ..
    } = input;
    match (file_input, video_generator) {
        (Some(_), Some(_)) => Err(JobFailure::invalid_setting(
            at,
            "FileInput and VideoGenerator are mutually exclusive",
        )),
        (None, None) => Err(JobFailure::invalid_setting(
            at,
            "an input needs FileInput or VideoGenerator",
        )),
        (Some(uri), None) => file_picture(graph, input, uri, media, at),
        (None, Some(generator)) => {
            reject(&format!("{at}.VideoSelector"), video_selector)?;
            let (video, w, h, rate, frames) = generated_video(graph, generator, media, at)?;
            let origin = origin(*timecode_source, timecode_start, None, rate, at)?;
            Ok(BasePicture {
                video,
                size: (w, h),
                timeline: Timeline {
                    rate,
                    origin,
                    frames,
                },
                file: None,
                embedded: None,
            })
        }
    }
}

/// The picture of the input's file `uri`, rotated as its VideoSelector says.
fn file_picture<'a>(
    graph: &mut Graph,
    input: &m::Input,
    uri: &str,
    media: &'a MediaMap,
    at: &str,
) -> Result<BasePicture<'a>, JobFailure> {
    let source = media_for(media, uri, &format!("{at}.FileInput"))?;
    let (w, h, rate) = source
        .facts
        .video
        .ok_or_else(|| JobFailure::input_access(uri, "the file has no video track"))?;
    let (rotation, swaps) = rotation(&input.video_selector, at)?;
    let options: &[&str] = if rotation.is_some_and(|r| r.is_empty()) {
        &[]
    } else {
        &["-noautorotate"]
    };
    let rotate = rotation
        .filter(|r| !r.is_empty())
        .map(|r| format!("{r},"))
        .unwrap_or_default();
    let frames = seconds_to_frames(source.facts.duration, rate);
    let video = file_video(
        graph,
        source,
        options,
        (w, h),
        &rotate,
        (rate, Some(frames), None),
    );
    let embedded = source.facts.start_timecode.clone();
    let origin = origin(
        input.timecode_source,
        &input.timecode_start,
        embedded.as_deref(),
        rate,
        at,
    )?;
    Ok(BasePicture {
        video,
        size: if swaps { (h, w) } else { (w, h) },
        timeline: Timeline {
            rate,
            origin,
            frames,
        },
        file: Some(source),
        embedded,
    })
}

/// The part of an input's timeline its clippings keep.
pub(super) struct Kept {
    pub(super) timeline: Timeline,
    /// Inclusive frame ranges on the timeline, in order.
    pub(super) ranges: Vec<(u64, u64)>,
    /// Their length in seconds.
    pub(super) seconds: f64,
}

impl Kept {
    fn new(timeline: Timeline, ranges: Vec<(u64, u64)>) -> Self {
        let frames: u64 = ranges.iter().map(|(a, b)| b - a + 1).sum();
        Self {
            seconds: frames_to_seconds(frames, timeline.rate),
            timeline,
            ranges,
        }
    }

    /// Whether the ranges keep the whole timeline (no clipping).
    pub(super) fn is_whole(&self) -> bool {
        self.timeline.keeps_all(&self.ranges)
    }
}

/// A recording's picture as a stream of frames at `rate`, numbered from 0 at the file's own time zero.
///
/// What browsers record needs two things here that ffmpeg-made files never showed:
/// - Every frame is fitted into `size` (the first frame's), letterboxed: a camera whose resolution changes
///   mid-recording keeps its picture. `-reinit_filter 0` keeps ffmpeg from rebuilding the graph at the change,
///   which silently dropped every later frame; `scale` and `pad` then evaluate each frame's size.
/// - `fps` counts from the file's time zero (`start_time=0`), so a video that starts after its audio (MediaRecorder
///   stamps the first frame when the camera delivers it) opens on its first frame repeated, as the audio opens
///   with silence, and the two stay in sync. A variable frame rate is converted to `rate` on the way.
/// - With `frames`, the picture lasts exactly that many frames (the file's length): its last frame is held to the
///   end, as in `rate_conversion`. `fps` alone stops at the last frame's timestamp, so a recording whose last
///   frames come sparsely (a variable rate under load) came out frames short, and an overlay vanished early.
/// - With `seek_s`, decoding starts at the key frame before that time of the file (an input `-ss`) instead of at
///   its first frame, and the frames keep their times in the file (`setpts` adds the seek back), so the numbering
///   is the same as without it: for a clip late in a long file, which otherwise decodes and discards every frame
///   before it (measured: the last 2-minute chunk of a 10-minute 4-peer call decoded 131,160 source frames to show
///   14,400, at about 1.1 ms of CPU each). The caller seeks well before its first frame, so the frames around it
///   are the same either way.
pub(super) fn file_video(
    graph: &mut Graph,
    source: &Media,
    input_options: &[&str],
    (width, height): (u32, u32),
    rotate: &str,
    (rate, frames, seek_s): (FrameRate, Option<u64>, Option<f64>),
) -> String {
    let mut options: Vec<String> = input_options.iter().map(|o| o.to_string()).collect();
    options.extend(["-reinit_filter".into(), "0".into()]);
    let restore = match seek_s {
        Some(seconds) => {
            options.extend(["-ss".into(), format!("{seconds:.3}")]);
            format!("setpts=PTS+{seconds:.3}/TB,")
        }
        None => String::new(),
    };
    let k = graph.file_input(&options, &source.path);
    let (hold, cut) = match frames {
        Some(n) => (
            "tpad=stop_mode=clone:stop_duration=1,".to_owned(),
            format!("trim=end_frame={n},"),
        ),
        None => (String::new(), String::new()),
    };
    graph.chain(
        &format!("[{k}:v:0]"),
        &format!(
            "{restore}scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2:eval=frame,\
             pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:eval=frame,{rotate}{hold}fps={}:start_time=0,{cut}{}",
            rate_expr(rate),
            frame_index_pts(rate, 0)
        ),
    )
}

/// The rotation filter for a VideoSelector (`Some("")` means AUTO: let ffmpeg apply the file's rotation), and
/// whether it swaps width and height.
fn rotation(
    selector: &Option<m::VideoSelector>,
    at: &str,
) -> Result<(Option<&'static str>, bool), JobFailure> {
    let Some(m::VideoSelector { rotate, pad_video }) = selector else {
        return Ok((None, false));
    };
    if let Some(pad) = pad_video.filter(|p| *p != m::PadVideo::Disabled) {
        return Err(unsupported(&format!("{at}.VideoSelector.PadVideo"), pad));
    }
    Ok(match rotate {
        None | Some(m::InputRotate::Degree0) => (None, false),
        Some(m::InputRotate::Degrees90) => (Some("transpose=clock"), true),
        Some(m::InputRotate::Degrees180) => (Some("hflip,vflip"), false),
        Some(m::InputRotate::Degrees270) => (Some("transpose=cclock"), true),
        Some(m::InputRotate::Auto) => (Some(""), false),
    })
}

fn generated_video(
    graph: &mut Graph,
    generator: &m::InputVideoGenerator,
    media: &MediaMap,
    at: &str,
) -> Result<(String, u32, u32, FrameRate, u64), JobFailure> {
    let at = format!("{at}.VideoGenerator");
    let m::InputVideoGenerator {
        duration,
        width,
        height,
        framerate_numerator,
        framerate_denominator,
        // The generator's audio is silence; outputs encode it at their own AudioDescription rate and layout.
        sample_rate: _,
        channels: _,
        image_input,
    } = generator;
    let duration = *required(&format!("{at}.Duration"), duration)?;
    if duration < 1 {
        return Err(JobFailure::invalid_setting(
            &format!("{at}.Duration"),
            "must be at least 1 ms",
        ));
    }
    let rate = match (framerate_numerator, framerate_denominator) {
        (Some(n), Some(d)) if *n > 0 && *d > 0 => FrameRate {
            numerator: *n,
            denominator: *d,
        },
        (None, None) => GENERATOR_DEFAULT_RATE,
        _ => {
            return Err(JobFailure::invalid_setting(
                &format!("{at}.FramerateNumerator"),
                "FramerateNumerator and FramerateDenominator go together and must be positive",
            ));
        }
    };
    let image = image_input
        .as_ref()
        .map(|uri| media_for(media, uri, &format!("{at}.ImageInput")))
        .transpose()?;
    let native = image.and_then(|i| i.facts.video).map(|(w, h, _)| (w, h));
    let size =
        |value: &Option<i32>, name: &str, fallback: Option<u32>| -> Result<u32, JobFailure> {
            match value {
                Some(v) if (32..=8192).contains(v) => Ok(*v as u32),
                Some(v) => Err(JobFailure::invalid_setting(
                    &format!("{at}.{name}"),
                    format!("{v} is outside 32..8192"),
                )),
                None => fallback.ok_or_else(|| {
                    JobFailure::invalid_setting(&format!("{at}.{name}"), "is required")
                }),
            }
        };
    let w = size(width, "Width", native.map(|n| n.0))?;
    let h = size(height, "Height", native.map(|n| n.1))?;
    let seconds = f64::from(duration) / 1000.0;
    let frames = seconds_to_frames(seconds, rate).max(1);
    let r = rate_expr(rate);
    let pad = match image {
        Some(image) => {
            let options =
                ["-loop", "1", "-framerate", &r, "-t", &format!("{seconds}")].map(String::from);
            let k = graph.file_input(&options, &image.path);
            graph.chain(
                &format!("[{k}:v:0]"),
                &format!(
                    "scale={w}:{h},format=yuv420p,trim=end_frame={frames},{}",
                    frame_index_pts(rate, 0)
                ),
            )
        }
        None => {
            // A duration in whole milliseconds is rarely whole frames: the source makes every frame that starts
            // before its end (6 for 167 ms at 30 fps), where the job means the nearest count (5).
            let k = graph.lavfi_input(&format!("color=c=black:s={w}x{h}:r={r}:d={seconds}"));
            graph.chain(
                &format!("[{k}:v:0]"),
                &format!("trim=end_frame={frames},{}", frame_index_pts(rate, 0)),
            )
        }
    };
    Ok((pad, w, h, rate, frames))
}

pub(super) fn clip_video(graph: &mut Graph, video: &str, ranges: &[(u64, u64)]) -> String {
    keep_ranges(graph, video, ranges, TrackKind::Video, |a, b| {
        format!(
            "trim=start_frame={a}:end_frame={},setpts=PTS-STARTPTS",
            b + 1
        )
    })
}

/// Whether a stream is pictures or sound: which filters split and join it.
#[derive(Clone, Copy)]
pub(super) enum TrackKind {
    Video,
    Audio,
}

/// Keeps the inclusive frame `ranges` of `stream`, each cut by the filter `trim(first, last)` makes, joined in order.
pub(super) fn keep_ranges(
    graph: &mut Graph,
    stream: &str,
    ranges: &[(u64, u64)],
    kind: TrackKind,
    trim: impl Fn(u64, u64) -> String,
) -> String {
    if let [(a, b)] = ranges {
        return graph.chain(stream, &trim(*a, *b));
    }
    let (split, streams) = match kind {
        TrackKind::Video => ("split", "v=1:a=0"),
        TrackKind::Audio => ("asplit", "v=0:a=1"),
    };
    let parts = graph.fan_out(stream, split, ranges.len());
    let clips: Vec<String> = parts
        .iter()
        .zip(ranges)
        .map(|(p, (a, b))| graph.chain(p, &trim(*a, *b)))
        .collect();
    graph.chain(
        &clips.concat(),
        &format!("concat=n={}:{streams}", ranges.len()),
    )
}
