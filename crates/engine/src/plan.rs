//! Translating a CreateJob request into one ffmpeg run that follows MediaConvert's semantics.
//!
//! The inputs are assembled on one timeline (each input at its own frame rate: overlays and images, then clipping,
//! then conforming to the first input's size and rate), concatenated in order, then split into the outputs (output
//! image inserter, scaling, encoding, packaging). Every model field is read through an exhaustive destructuring, so a
//! field the engine does not implement is a named error, never silently ignored.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use vidpipe_core::job as m;

use crate::graph::Graph;
use crate::lifecycle::JobError;
use crate::naming;
use crate::probe::{FrameRate, MediaFacts};
use crate::timecode;

/// Sample rate of the assembled audio timeline (outputs resample to their own rate).
const MIX_RATE: u32 = 48_000;
/// MediaConvert's default for `AudioDescription.AudioSourceName`.
const DEFAULT_AUDIO_SOURCE: &str = "Audio Selector 1";
/// MediaConvert's default frame rate for generated inputs (29.97).
const GENERATOR_DEFAULT_RATE: FrameRate = FrameRate {
    numerator: 30000,
    denominator: 1001,
};

/// A fetched and probed media file.
#[derive(Debug, Clone)]
pub struct Media {
    /// Local path to read.
    pub path: PathBuf,
    /// What ffprobe says about it.
    pub facts: MediaFacts,
}

/// Every fetched file, by the URI the job names it with.
pub type MediaMap = HashMap<String, Media>;

/// The kind of an output group, as the COMPLETE event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// FILE_GROUP.
    File,
    /// HLS_GROUP.
    Hls,
    /// CMAF_GROUP.
    Cmaf,
}

impl GroupKind {
    /// The event's `type` value.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::File => "FILE_GROUP",
            Self::Hls => "HLS_GROUP",
            Self::Cmaf => "CMAF_GROUP",
        }
    }
}

/// What one output produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    /// One media file (MP4, MPEG-TS).
    File,
    /// JPEG stills named `{name}.NNNNNNN.jpg`.
    FrameCapture,
    /// An HLS variant: a child playlist and its segments.
    HlsVariant,
    /// A CMAF track (video or audio): a child playlist, an init segment and fragmented MP4 segments.
    CmafTrack,
}

/// One planned output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPlan {
    /// What it produces.
    pub kind: OutputKind,
    /// The main file name in the group's folder (media file, child playlist, or frame capture prefix).
    pub file_name: String,
    /// Picture size, if the output has video.
    pub size: Option<(u32, u32)>,
    /// Frame rate of the output's video.
    pub rate: FrameRate,
    /// For MP4 outputs: whether a `free` box follows `moov` (Mp4Settings.FreeSpaceBox INCLUDE).
    pub free_space_box: Option<bool>,
}

/// One planned output group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    /// Group kind.
    pub kind: GroupKind,
    /// Where its files go: the destination folder URI, ending with `/`.
    pub folder: String,
    /// The main playlist's file name (HLS, CMAF).
    pub main_playlist: Option<String>,
    /// Whether the HLS manifests are written (HLS `OutputSelection`, CMAF `WriteHlsManifest`).
    pub write_manifests: bool,
    /// The DASH manifest's file name (CMAF with `WriteDashManifest` ENABLED).
    pub dash_manifest: Option<String>,
    /// The nominal segment length in seconds (HLS, CMAF).
    pub segment_length: Option<u32>,
    /// Whether manifest durations are integers (HLS `ManifestDurationFormat`).
    pub integer_durations: bool,
    /// Local folder the group renders into.
    pub local_dir: PathBuf,
    /// The outputs.
    pub outputs: Vec<OutputPlan>,
}

/// A job translated into an ffmpeg run.
#[derive(Debug)]
pub struct Plan {
    /// ffmpeg arguments (inputs, filter graph, outputs).
    pub args: Vec<String>,
    /// Length of the output timeline in seconds.
    pub duration: f64,
    /// The output groups, in job order.
    pub groups: Vec<GroupPlan>,
}

fn unsupported(field: &str, value: impl std::fmt::Debug) -> JobError {
    JobError::invalid_setting(
        field,
        format!("value {value:?} is not supported by the engine"),
    )
}

fn reject<T: std::fmt::Debug>(field: &str, value: &Option<T>) -> Result<(), JobError> {
    match value {
        Some(v) => Err(unsupported(field, v)),
        None => Ok(()),
    }
}

fn required<'a, T>(field: &str, value: &'a Option<T>) -> Result<&'a T, JobError> {
    value
        .as_ref()
        .ok_or_else(|| JobError::invalid_setting(field, "is required"))
}

fn rate_expr(rate: FrameRate) -> String {
    format!("{}/{}", rate.numerator, rate.denominator)
}

/// Filters that stamp each frame with its index plus `first`, in a time base of exactly one frame at `rate`. Exact
/// integers: the expression `N/(rate)/TB` is evaluated in floating point and truncated, so some frames got the
/// previous frame's timestamp (3/20/0.05 is 2.9999...) and a later `fps` filter dropped them.
fn frame_index_pts(rate: FrameRate, first: u64) -> String {
    format!(
        "settb={}/{},setpts=N+{first}",
        rate.denominator, rate.numerator
    )
}

fn frames_to_seconds(frames: u64, rate: FrameRate) -> f64 {
    frames as f64 * f64::from(rate.denominator) / f64::from(rate.numerator)
}

fn seconds_to_frames(seconds: f64, rate: FrameRate) -> u64 {
    (seconds * rate.fps()).round().max(0.0) as u64
}

/// Converts a stream of `seconds` to the frame rate `to`, keeping its duration: exactly `seconds * to` frames
/// (rounded), each the input frame nearest its time. ffmpeg's `fps` filter alone stops at the last input frame's
/// timestamp and so drops the output frames that fall within that frame's duration (a 20 fps stream of 4.3 s gave
/// 127 frames at 30 fps instead of 129). The stream is therefore padded with one second of its last frame and cut
/// to the exact count.
fn rate_conversion(seconds: f64, to: FrameRate) -> String {
    format!(
        "tpad=stop_mode=clone:stop_duration=1,fps={},trim=end_frame={}",
        rate_expr(to),
        seconds_to_frames(seconds, to)
    )
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
///   end, as in [`rate_conversion`]. `fps` alone stops at the last frame's timestamp, so a recording whose last
///   frames come sparsely (a variable rate under load) came out frames short, and an overlay vanished early.
fn file_video(
    graph: &mut Graph,
    source: &Media,
    input_options: &[&str],
    (width, height): (u32, u32),
    rotate: &str,
    (rate, frames): (FrameRate, Option<u64>),
) -> String {
    let mut options: Vec<String> = input_options.iter().map(|o| o.to_string()).collect();
    options.extend(["-reinit_filter".into(), "0".into()]);
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
            "scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2:eval=frame,\
             pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:eval=frame,{rotate}{hold}fps={}:start_time=0,{cut}{}",
            rate_expr(rate),
            frame_index_pts(rate, 0)
        ),
    )
}

fn ms_to_frames(ms: i32, rate: FrameRate) -> u64 {
    (f64::from(ms.max(0)) / 1000.0 * rate.fps()).ceil() as u64
}

/// Every URI the job reads, with the field naming it, in job order.
pub fn media_uris(request: &m::CreateJobRequest) -> Vec<(String, String)> {
    let mut uris = Vec::new();
    let mut push = |uri: &Option<String>, field: &str| {
        if let Some(uri) = uri {
            uris.push((uri.clone(), field.to_string()));
        }
    };
    for (i, input) in request.settings.inputs.iter().flatten().enumerate() {
        let at = format!("Settings.Inputs[{i}]");
        push(&input.file_input, &format!("{at}.FileInput"));
        if let Some(generator) = &input.video_generator {
            push(
                &generator.image_input,
                &format!("{at}.VideoGenerator.ImageInput"),
            );
        }
        for (name, selector) in input.audio_selectors.iter().flatten() {
            push(
                &selector.external_audio_file_input,
                &format!("{at}.AudioSelectors.{name}.ExternalAudioFileInput"),
            );
        }
        for (j, overlay) in input.video_overlays.iter().flatten().enumerate() {
            if let Some(source) = &overlay.input {
                push(
                    &source.file_input,
                    &format!("{at}.VideoOverlays[{j}].Input.FileInput"),
                );
            }
        }
        for (j, image) in images(&input.image_inserter).iter().enumerate() {
            push(
                &image.image_inserter_input,
                &format!("{at}.ImageInserter.InsertableImages[{j}].ImageInserterInput"),
            );
        }
    }
    for (g, group) in request.settings.output_groups.iter().flatten().enumerate() {
        for (o, output) in group.outputs.iter().flatten().enumerate() {
            let inserter = output
                .video_description
                .as_ref()
                .and_then(|d| d.video_preprocessors.as_ref());
            for (j, image) in images(&inserter.and_then(|p| p.image_inserter.clone()))
                .iter()
                .enumerate()
            {
                push(
                    &image.image_inserter_input,
                    &format!(
                        "Settings.OutputGroups[{g}].Outputs[{o}].VideoDescription.VideoPreprocessors.ImageInserter.\
                         InsertableImages[{j}].ImageInserterInput"
                    ),
                );
            }
        }
    }
    uris
}

fn images(inserter: &Option<m::ImageInserter>) -> Vec<m::InsertableImage> {
    inserter
        .as_ref()
        .and_then(|i| i.insertable_images.clone())
        .unwrap_or_default()
}

/// A timeline of frames at a rate, with the timecode of its first frame.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    rate: FrameRate,
    origin: u64,
    frames: u64,
}

impl Timeline {
    /// The frame (from this timeline's start) that `tc` names; `field` names the setting in errors.
    fn frame(&self, tc: &str, field: &str) -> Result<u64, JobError> {
        let absolute =
            timecode::to_frames(tc, self.rate).map_err(|e| JobError::invalid_setting(field, e))?;
        absolute.checked_sub(self.origin).ok_or_else(|| {
            JobError::invalid_setting(
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
fn origin(
    source: Option<m::InputTimecodeSource>,
    start: &Option<String>,
    embedded: Option<&str>,
    rate: FrameRate,
    field: &str,
) -> Result<u64, JobError> {
    let tc = match source.unwrap_or(m::InputTimecodeSource::Embedded) {
        m::InputTimecodeSource::Embedded => embedded.unwrap_or("00:00:00:00").to_string(),
        m::InputTimecodeSource::Zerobased => "00:00:00:00".to_string(),
        m::InputTimecodeSource::Specifiedstart => {
            required(&format!("{field}.TimecodeStart"), start)?.clone()
        }
    };
    timecode::to_frames(&tc, rate)
        .map_err(|e| JobError::invalid_setting(&format!("{field}.TimecodeStart"), e))
}

/// Inclusive frame ranges selected by clippings (the whole timeline without clippings).
fn clip_ranges(
    clippings: &Option<Vec<m::InputClipping>>,
    timeline: &Timeline,
    field: &str,
) -> Result<Vec<(u64, u64)>, JobError> {
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
            return Err(JobError::invalid_setting(
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
            return Err(JobError::invalid_setting(
                &at,
                format!("clip starts at frame {start} after its end {end}"),
            ));
        }
        if ranges
            .last()
            .is_some_and(|&(_, previous_end)| start <= previous_end)
        {
            return Err(JobError::invalid_setting(
                &at,
                "clippings must be in order and must not overlap",
            ));
        }
        ranges.push((start, end));
    }
    Ok(ranges)
}

/// Builds the ffmpeg run for `request` from the fetched `media`; outputs render under the local folder `work`.
pub fn plan(
    request: &m::CreateJobRequest,
    media: &MediaMap,
    work: &Path,
) -> Result<Plan, JobError> {
    let m::CreateJobRequest {
        role: _,
        settings,
        queue: _,
        user_metadata: _,
        tags: _,
        client_request_token: _,
        status_update_interval: _,
        priority: _,
        acceleration_settings: _,
    } = request;
    let m::JobSettings {
        inputs,
        timecode_config,
        output_groups,
    } = settings;
    let inputs = inputs.as_ref().filter(|i| !i.is_empty()).ok_or_else(|| {
        JobError::invalid_setting("Settings.Inputs", "a job needs at least one input")
    })?;
    let groups = output_groups
        .as_ref()
        .filter(|g| !g.is_empty())
        .ok_or_else(|| {
            JobError::invalid_setting(
                "Settings.OutputGroups",
                "a job needs at least one output group",
            )
        })?;

    let mut graph = Graph::default();
    let audio_names = audio_source_names(groups);
    let mut segments = Vec::new();
    let mut canvas: Option<(u32, u32, FrameRate)> = None;
    let outputs_rate = common_specified_rate(groups);
    for (i, input) in inputs.iter().enumerate() {
        segments.push(input_segment(
            &mut graph,
            input,
            i,
            media,
            &audio_names,
            (&mut canvas, outputs_rate),
        )?);
    }
    let (canvas_w, canvas_h, canvas_rate) = canvas.expect("the first input sets the canvas");
    let (first_embedded, first_rate) = (segments[0].embedded_timecode.clone(), segments[0].rate);
    let duration: f64 = segments.iter().map(|s| s.seconds).sum();

    // Concatenate the segments (video then each audio source, per segment).
    let (video, audio): (String, Vec<String>) = if segments.len() == 1 {
        let only = segments.pop().expect("one segment");
        (only.video, only.audio)
    } else {
        let mut pads = String::new();
        for s in &segments {
            pads.push_str(&s.video);
            for a in &s.audio {
                pads.push_str(a);
            }
        }
        let labels: Vec<String> = (0..=audio_names.len()).map(|_| graph.label()).collect();
        let filter = format!(
            "{pads}concat=n={}:v=1:a={}{}",
            segments.len(),
            audio_names.len(),
            labels.concat()
        );
        graph.push_raw(filter);
        (labels[0].clone(), labels[1..].to_vec())
    };

    // The output timecode counts in the first input's frames; the canvas may run at another rate.
    let output_origin = seconds_to_frames(
        frames_to_seconds(
            output_origin(timecode_config, first_embedded.as_deref(), first_rate)?,
            first_rate,
        ),
        canvas_rate,
    );
    let first_input = inputs[0].file_input.as_deref();
    let mut plans = Vec::new();
    let mut video_uses = Vec::new();
    let mut audio_uses: BTreeMap<String, usize> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        for output in group.outputs.iter().flatten() {
            if output.video_description.is_some() {
                video_uses.push(g);
            }
            for description in output.audio_descriptions.iter().flatten() {
                *audio_uses.entry(source_name(description)).or_default() += 1;
            }
        }
    }
    let mut video_pads = graph
        .fan_out(&video, "split", video_uses.len().max(1))
        .into_iter();
    let mut audio_pads: BTreeMap<String, std::vec::IntoIter<String>> = BTreeMap::new();
    for (name, uses) in &audio_uses {
        let index = audio_names
            .iter()
            .position(|n| n == name)
            .expect("every source name is assembled");
        audio_pads.insert(
            name.clone(),
            graph.fan_out(&audio[index], "asplit", *uses).into_iter(),
        );
    }
    if video_uses.is_empty() {
        // The split output nobody reads still needs a sink.
        let unused = video_pads.next().expect("split has one output");
        graph.push_raw(format!("{unused}nullsink"));
    }
    for (g, group) in groups.iter().enumerate() {
        let context = OutputContext {
            canvas: (canvas_w, canvas_h, canvas_rate),
            origin: output_origin,
            first_input,
            media,
            duration,
        };
        let local_dir = work.join(format!("group{g}"));
        std::fs::create_dir_all(&local_dir).map_err(|e| {
            JobError::transcode(format!("cannot create {}: {e}", local_dir.display()))
        })?;
        plans.push(output_group(
            &mut graph,
            group,
            g,
            &context,
            &local_dir,
            &mut video_pads,
            &mut audio_pads,
        )?);
    }
    Ok(Plan {
        args: graph.into_args(),
        duration,
        groups: plans,
    })
}

/// The distinct audio source names the outputs ask for, in first-use order.
fn audio_source_names(groups: &[m::OutputGroup]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for output in groups.iter().flat_map(|g| g.outputs.iter().flatten()) {
        for description in output.audio_descriptions.iter().flatten() {
            let name = source_name(description);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn source_name(description: &m::AudioDescription) -> String {
    description
        .audio_source_name
        .clone()
        .unwrap_or_else(|| DEFAULT_AUDIO_SOURCE.to_string())
}

/// One input, ready to concatenate: its video pad, one audio pad per source name, and its length.
struct Segment {
    video: String,
    audio: Vec<String>,
    seconds: f64,
    embedded_timecode: Option<String>,
    /// The input's own frame rate.
    rate: FrameRate,
}

/// The frame rate every video output specifies, when they all specify the same one. The canvas then runs at that
/// rate, so each input is converted once, straight to the outputs' rate, as MediaConvert converts each input to the
/// output's rate. Otherwise the canvas runs at the first input's rate (what INITIALIZE_FROM_SOURCE outputs get).
fn common_specified_rate(groups: &[m::OutputGroup]) -> Option<FrameRate> {
    let mut common = None;
    for description in groups
        .iter()
        .flat_map(|g| g.outputs.iter().flatten())
        .filter_map(|o| o.video_description.as_ref())
    {
        let h264 = description
            .codec_settings
            .as_ref()
            .and_then(|c| c.h264_settings.as_ref())?;
        if h264.framerate_control != Some(m::H264FramerateControl::Specified) {
            return None;
        }
        let rate = match (h264.framerate_numerator, h264.framerate_denominator) {
            (Some(numerator), Some(denominator)) if numerator > 0 && denominator > 0 => FrameRate {
                numerator,
                denominator,
            },
            _ => return None,
        };
        if *common.get_or_insert(rate) != rate {
            return None;
        }
    }
    common
}

/// The fetched file `field` names. A video stream ffprobe could not size (a corrupt image reads as 0x0) is refused
/// here: looped with `-loop 1`, such an image never yields a frame and ffmpeg would spin forever.
fn media_for<'a>(media: &'a MediaMap, uri: &str, field: &str) -> Result<&'a Media, JobError> {
    let source = media
        .get(uri)
        .ok_or_else(|| JobError::input_access(uri, format!("{field} was not fetched")))?;
    if let Some((width, height, _)) = source.facts.video
        && (width == 0 || height == 0)
    {
        return Err(JobError::input_access(
            uri,
            format!("{field}: the picture cannot be decoded (it reads as {width}x{height})"),
        ));
    }
    Ok(source)
}

fn input_segment(
    graph: &mut Graph,
    input: &m::Input,
    index: usize,
    media: &MediaMap,
    audio_names: &[String],
    (canvas, outputs_rate): (&mut Option<(u32, u32, FrameRate)>, Option<FrameRate>),
) -> Result<Segment, JobError> {
    let at = format!("Settings.Inputs[{index}]");
    let m::Input {
        file_input,
        video_generator,
        input_clippings,
        timecode_source,
        timecode_start,
        audio_selectors,
        video_selector,
        image_inserter,
        video_overlays,
    } = input;

    // The base picture, at the input's own rate, timestamps counting frames from 0.
    let (mut video, width, height, timeline, file, embedded) = match (file_input, video_generator) {
        (Some(_), Some(_)) => {
            return Err(JobError::invalid_setting(
                &at,
                "FileInput and VideoGenerator are mutually exclusive",
            ));
        }
        (None, None) => {
            return Err(JobError::invalid_setting(
                &at,
                "an input needs FileInput or VideoGenerator",
            ));
        }
        (Some(uri), None) => {
            let source = media_for(media, uri, &format!("{at}.FileInput"))?;
            let (w, h, rate) = source
                .facts
                .video
                .ok_or_else(|| JobError::input_access(uri, "the file has no video track"))?;
            let (rotation, swaps) = rotation(video_selector, &at)?;
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
            let pad = file_video(
                graph,
                source,
                options,
                (w, h),
                &rotate,
                (rate, Some(frames)),
            );
            let (w, h) = if swaps { (h, w) } else { (w, h) };
            let embedded = source.facts.start_timecode.clone();
            let origin = origin(
                *timecode_source,
                timecode_start,
                embedded.as_deref(),
                rate,
                &at,
            )?;
            (
                pad,
                w,
                h,
                Timeline {
                    rate,
                    origin,
                    frames,
                },
                Some(source),
                embedded,
            )
        }
        (None, Some(generator)) => {
            reject(&format!("{at}.VideoSelector"), video_selector)?;
            let (pad, w, h, rate, frames) = generated_video(graph, generator, media, &at)?;
            let origin = origin(*timecode_source, timecode_start, None, rate, &at)?;
            (
                pad,
                w,
                h,
                Timeline {
                    rate,
                    origin,
                    frames,
                },
                None,
                None,
            )
        }
    };
    if width % 2 == 1 || height % 2 == 1 {
        return Err(JobError::invalid_setting(
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
    let kept: u64 = ranges.iter().map(|(a, b)| b - a + 1).sum();
    let seconds = frames_to_seconds(kept, timeline.rate);
    let whole = ranges.len() == 1 && ranges[0] == (0, timeline.frames.saturating_sub(1));
    if !whole {
        video = clip_video(graph, &video, &ranges);
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
        conform.push(rate_conversion(seconds, crate_));
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
            &timeline,
            &ranges,
            seconds,
            &at,
        )?);
    }
    Ok(Segment {
        video,
        audio,
        seconds,
        embedded_timecode: embedded,
        rate: timeline.rate,
    })
}

/// The rotation filter for a VideoSelector (`Some("")` means AUTO: let ffmpeg apply the file's rotation), and
/// whether it swaps width and height.
fn rotation(
    selector: &Option<m::VideoSelector>,
    at: &str,
) -> Result<(Option<&'static str>, bool), JobError> {
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
) -> Result<(String, u32, u32, FrameRate, u64), JobError> {
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
        return Err(JobError::invalid_setting(
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
            return Err(JobError::invalid_setting(
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
    let size = |value: &Option<i32>, name: &str, fallback: Option<u32>| -> Result<u32, JobError> {
        match value {
            Some(v) if (32..=8192).contains(v) => Ok(*v as u32),
            Some(v) => Err(JobError::invalid_setting(
                &format!("{at}.{name}"),
                format!("{v} is outside 32..8192"),
            )),
            None => fallback
                .ok_or_else(|| JobError::invalid_setting(&format!("{at}.{name}"), "is required")),
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
                &format!("scale={w}:{h},format=yuv420p,{}", frame_index_pts(rate, 0)),
            )
        }
        None => {
            let k = graph.lavfi_input(&format!("color=c=black:s={w}x{h}:r={r}:d={seconds}"));
            graph.chain(&format!("[{k}:v:0]"), &frame_index_pts(rate, 0))
        }
    };
    Ok((pad, w, h, rate, frames))
}

fn clip_video(graph: &mut Graph, video: &str, ranges: &[(u64, u64)]) -> String {
    let trim = |a: u64, b: u64| {
        format!(
            "trim=start_frame={a}:end_frame={},setpts=PTS-STARTPTS",
            b + 1
        )
    };
    if let [(a, b)] = ranges {
        return graph.chain(video, &trim(*a, *b));
    }
    let parts = graph.fan_out(video, "split", ranges.len());
    let clips: Vec<String> = parts
        .iter()
        .zip(ranges)
        .map(|(p, (a, b))| graph.chain(p, &trim(*a, *b)))
        .collect();
    graph.chain(
        &clips.concat(),
        &format!("concat=n={}:v=1:a=0", ranges.len()),
    )
}

/// One audio source for one input: the named selector, else the input's DEFAULT selector, else silence; clipped
/// like the video and padded or cut to exactly the segment's length.
#[allow(clippy::too_many_arguments)]
fn segment_audio(
    graph: &mut Graph,
    name: &str,
    selectors: &Option<BTreeMap<String, m::AudioSelector>>,
    file: Option<&Media>,
    media: &MediaMap,
    timeline: &Timeline,
    ranges: &[(u64, u64)],
    seconds: f64,
    at: &str,
) -> Result<String, JobError> {
    let samples = (seconds * f64::from(MIX_RATE)).round() as u64;
    let layout = "aformat=sample_fmts=fltp:channel_layouts=stereo";
    let selectors = selectors.as_ref();
    let chosen = selectors.and_then(|s| s.get_key_value(name)).or_else(|| {
        selectors.and_then(|s| {
            s.iter()
                .find(|(_, sel)| sel.default_selection == Some(m::AudioDefaultSelection::Default))
        })
    });
    let silence = |graph: &mut Graph| {
        let k = graph.lavfi_input(&format!("anullsrc=r={MIX_RATE}:cl=stereo"));
        graph.chain(
            &format!("[{k}:a:0]"),
            &format!("atrim=end_sample={samples},aresample={MIX_RATE},{layout}"),
        )
    };
    let Some((selector_name, selector)) = chosen else {
        return Ok(silence(graph));
    };
    let at = format!("{at}.AudioSelectors.{selector_name}");
    let m::AudioSelector {
        default_selection: _,
        external_audio_file_input,
        selector_type,
        tracks,
        offset,
    } = selector;
    if let Some(kind) = selector_type.filter(|t| *t != m::AudioSelectorType::Track) {
        return Err(unsupported(&format!("{at}.SelectorType"), kind));
    }
    let track = match tracks.as_deref() {
        None | Some([]) => 1,
        Some([t]) if *t >= 1 => *t as usize,
        Some(other) => return Err(unsupported(&format!("{at}.Tracks"), other)),
    };
    let (source, external) = match external_audio_file_input {
        Some(uri) => (
            media_for(media, uri, &format!("{at}.ExternalAudioFileInput"))?,
            true,
        ),
        None => match file {
            Some(file) => (file, false),
            None => return Ok(silence(graph)),
        },
    };
    let audio_tracks = source
        .facts
        .probe
        .track_mappings
        .first()
        .map_or(0, |t| t.audio_track_indexes.len());
    if audio_tracks < track {
        return if external {
            Err(JobError::input_access(
                &format!("{at}.ExternalAudioFileInput"),
                "the file has no such audio track",
            ))
        } else {
            Ok(silence(graph))
        };
    }
    let k = graph.file_input(&[], &source.path);
    // Audio from the file's time zero, as its video (`file_video`): silence before a late first packet, and in
    // any gap a recording left (`async=1` fills gaps longer than 0.1 s).
    let mut filters = vec![format!("aresample={MIX_RATE}:async=1:first_pts=0,{layout}")];
    match offset {
        Some(ms) if *ms > 0 => filters.push(format!("adelay=delays={ms}:all=1")),
        Some(ms) if *ms < 0 => filters.push(format!(
            "atrim=start={},asetpts=PTS-STARTPTS",
            f64::from(-ms) / 1000.0
        )),
        _ => {}
    }
    let mut audio = graph.chain(&format!("[{k}:a:{}]", track - 1), &filters.join(","));
    // External audio is not clipped with the video: it starts with the input.
    let whole = ranges.len() == 1 && ranges[0] == (0, timeline.frames.saturating_sub(1));
    if !external && !whole {
        let sample = |frame: u64| {
            (frames_to_seconds(frame, timeline.rate) * f64::from(MIX_RATE)).round() as u64
        };
        let trim = |a: u64, b: u64| {
            format!(
                "atrim=start_sample={}:end_sample={},asetpts=PTS-STARTPTS",
                sample(a),
                sample(b + 1)
            )
        };
        audio = if let [(a, b)] = ranges {
            graph.chain(&audio, &trim(*a, *b))
        } else {
            let parts = graph.fan_out(&audio, "asplit", ranges.len());
            let clips: Vec<String> = parts
                .iter()
                .zip(ranges)
                .map(|(p, (a, b))| graph.chain(p, &trim(*a, *b)))
                .collect();
            graph.chain(
                &clips.concat(),
                &format!("concat=n={}:v=0:a=1", ranges.len()),
            )
        };
    }
    Ok(graph.chain(&audio, &format!("apad,atrim=end_sample={samples}")))
}

/// Pixel size of an overlay: blank width and height mean the base frame's size; one of them keeps the overlay
/// source's aspect ratio; PERCENTAGE sizes are relative to the overlay source's own size.
fn overlay_size(
    position: &m::VideoOverlayPosition,
    base: (u32, u32),
    source: (u32, u32),
) -> (u32, u32) {
    let percent = position.unit == Some(m::VideoOverlayUnit::Percentage);
    let scale = |value: i32, of: u32| -> u32 {
        if percent {
            (f64::from(value) * f64::from(of) / 100.0).round() as u32
        } else {
            value.max(0) as u32
        }
    };
    let width = position
        .width
        .filter(|w| *w >= 0)
        .map(|w| scale(w, source.0));
    let height = position
        .height
        .filter(|h| *h >= 0)
        .map(|h| scale(h, source.1));
    let even = |v: f64| ((v / 2.0).round() * 2.0).max(2.0) as u32;
    match (width, height) {
        (None, None) => base,
        (Some(w), None) => (
            w,
            even(f64::from(w) * f64::from(source.1) / f64::from(source.0)),
        ),
        (None, Some(h)) => (
            even(f64::from(h) * f64::from(source.0) / f64::from(source.1)),
            h,
        ),
        (Some(w), Some(h)) => (w, h),
    }
}

/// Pixel position of an overlay: PERCENTAGE positions are relative to the base frame.
fn overlay_xy(position: &m::VideoOverlayPosition, base: (u32, u32)) -> (i64, i64) {
    let percent = position.unit == Some(m::VideoOverlayUnit::Percentage);
    let place = |value: Option<i32>, of: u32| -> i64 {
        let value = i64::from(value.unwrap_or(0));
        if percent {
            (value as f64 * f64::from(of) / 100.0).round() as i64
        } else {
            value
        }
    };
    (
        place(position.x_position, base.0),
        place(position.y_position, base.1),
    )
}

fn video_overlay(
    graph: &mut Graph,
    base: &str,
    overlay: &m::VideoOverlay,
    base_size: (u32, u32),
    timeline: &Timeline,
    media: &MediaMap,
    at: &str,
) -> Result<String, JobError> {
    let m::VideoOverlay {
        input,
        start_timecode,
        end_timecode,
        initial_position,
        playback,
        transitions,
        crop,
    } = overlay;
    let source = required(&format!("{at}.Input"), input)?;
    let m::VideoOverlayInput {
        file_input,
        input_clippings,
        timecode_source,
        timecode_start,
    } = source;
    let uri = required(&format!("{at}.Input.FileInput"), file_input)?;
    let source_media = media_for(media, uri, &format!("{at}.Input.FileInput"))?;
    let (sw, sh, source_rate) = source_media
        .facts
        .video
        .ok_or_else(|| JobError::input_access(uri, "the overlay file has no video track"))?;

    let start = match start_timecode {
        Some(tc) => timeline.frame(tc, &format!("{at}.StartTimecode"))?,
        None => 0,
    };
    let last = timeline.frames.saturating_sub(1);
    let end = match end_timecode {
        Some(tc) => timeline.frame(tc, &format!("{at}.EndTimecode"))?.min(last),
        None => last,
    };
    if start > end {
        return Err(JobError::invalid_setting(
            &format!("{at}.StartTimecode"),
            "the overlay starts after it ends",
        ));
    }
    let window = end - start + 1;
    let repeat =
        playback.unwrap_or(m::VideoOverlayPlayback::Repeat) == m::VideoOverlayPlayback::Repeat;

    // The overlay's own timeline and clippings.
    let source_embedded = source_media.facts.start_timecode.as_deref();
    let source_origin = origin(
        *timecode_source,
        timecode_start,
        source_embedded,
        source_rate,
        &format!("{at}.Input"),
    )?;
    let source_timeline = Timeline {
        rate: source_rate,
        origin: source_origin,
        frames: seconds_to_frames(source_media.facts.duration, source_rate),
    };
    let ranges = clip_ranges(input_clippings, &source_timeline, &format!("{at}.Input"))?;
    let whole = ranges.len() == 1 && ranges[0] == (0, source_timeline.frames.saturating_sub(1));
    let loop_input = repeat && whole;
    let options: &[&str] = if loop_input {
        &["-stream_loop", "-1"]
    } else {
        &[]
    };
    // A looped overlay runs on; one shown once holds its last frame until its file ends.
    let length = (!loop_input).then_some(source_timeline.frames);
    let mut pad = file_video(
        graph,
        source_media,
        options,
        (sw, sh),
        "",
        (source_rate, length),
    );
    if !whole {
        pad = clip_video(graph, &pad, &ranges);
    }
    let base_rate = rate_expr(timeline.rate);
    let mut filters = vec![format!("fps={base_rate}")];
    if repeat && !whole {
        let kept: u64 = ranges.iter().map(|(a, b)| b - a + 1).sum();
        let kept_at_base =
            seconds_to_frames(frames_to_seconds(kept, source_rate), timeline.rate).max(1);
        filters.push(format!("loop=loop=-1:size={kept_at_base}"));
    }
    // One frame more than shown, cut by `enable`: ffmpeg's overlay drops the secondary's last frame when the
    // secondary ends at that very frame.
    filters.push(format!("trim=end_frame={}", window + 1));

    // Crop, then size and opacity.
    let mut cropped = (sw, sh);
    if let Some(m::VideoOverlayCrop {
        x,
        y,
        width,
        height,
        unit,
    }) = crop
    {
        let percent = *unit == Some(m::VideoOverlayUnit::Percentage);
        let px = |v: Option<i32>, of: u32| -> u32 {
            let v = v.unwrap_or(0).max(0) as u32;
            if percent {
                (f64::from(v) * f64::from(of) / 100.0).round() as u32
            } else {
                v
            }
        };
        let (cx, cy) = (
            px(*x, sw).min(sw.saturating_sub(2)),
            px(*y, sh).min(sh.saturating_sub(2)),
        );
        let cw = Some(px(*width, sw))
            .filter(|w| *w > 0)
            .unwrap_or(sw - cx)
            .min(sw - cx);
        let ch = Some(px(*height, sh))
            .filter(|h| *h > 0)
            .unwrap_or(sh - cy)
            .min(sh - cy);
        filters.push(format!("crop={cw}:{ch}:{cx}:{cy}"));
        cropped = (cw, ch);
    }
    let position = initial_position.clone().unwrap_or_default();
    let (w, h) = overlay_size(&position, base_size, cropped);
    if (w, h) != cropped {
        filters.push(format!("scale={w}:{h}"));
    }
    match position.opacity {
        Some(o) if !(0..=100).contains(&o) => {
            return Err(JobError::invalid_setting(
                &format!("{at}.InitialPosition.Opacity"),
                "must be 0..100",
            ));
        }
        Some(o) if o < 100 => {
            filters.push(format!(
                "format=yuva420p,colorchannelmixer=aa={:.4}",
                f64::from(o) / 100.0
            ));
        }
        _ => {}
    }
    filters.push(frame_index_pts(timeline.rate, start));
    let moving = graph.chain(&pad, &filters.join(","));

    let (x0, y0) = overlay_xy(&position, base_size);
    let (x, y) = transition_expressions(
        transitions,
        &position,
        (x0, y0),
        (w, h),
        base_size,
        timeline,
        at,
    )?;
    Ok(graph.chain(
        &format!("{base}{moving}"),
        &format!(
            "overlay=x='{x}':y='{y}':eof_action=pass:eval=frame:enable=lte(n\\,{})",
            start + window - 1
        ),
    ))
}

/// Overlay position expressions in `t` (seconds on the base timeline): the initial position, moved linearly by
/// each transition from its start to its end.
fn transition_expressions(
    transitions: &Option<Vec<m::VideoOverlayTransition>>,
    initial: &m::VideoOverlayPosition,
    start_xy: (i64, i64),
    size: (u32, u32),
    base: (u32, u32),
    timeline: &Timeline,
    at: &str,
) -> Result<(String, String), JobError> {
    let (mut x, mut y) = (start_xy.0.to_string(), start_xy.1.to_string());
    let mut current = start_xy;
    for (i, transition) in transitions.iter().flatten().enumerate() {
        let at = format!("{at}.Transitions[{i}]");
        let m::VideoOverlayTransition {
            start_timecode,
            end_timecode,
            end_position,
        } = transition;
        let s = timeline.frame(
            required(&format!("{at}.StartTimecode"), start_timecode)?,
            &format!("{at}.StartTimecode"),
        )?;
        let e = timeline.frame(
            required(&format!("{at}.EndTimecode"), end_timecode)?,
            &format!("{at}.EndTimecode"),
        )?;
        if e <= s {
            return Err(JobError::invalid_setting(
                &at,
                "EndTimecode must be after StartTimecode",
            ));
        }
        let mut target = required(&format!("{at}.EndPosition"), end_position)?.clone();
        if target.unit.is_none() {
            target.unit = initial.unit;
        }
        if overlay_size(&target, base, size) != size
            && (target.width.is_some() || target.height.is_some())
        {
            return Err(unsupported(
                &format!("{at}.EndPosition.Width"),
                "a size change during a transition",
            ));
        }
        if let Some(o) = target.opacity {
            return Err(unsupported(&format!("{at}.EndPosition.Opacity"), o));
        }
        let goal = overlay_xy(&target, base);
        let (ts, te) = (
            frames_to_seconds(s, timeline.rate),
            frames_to_seconds(e, timeline.rate),
        );
        let ramp = |from: i64, to: i64, before: &str| {
            format!(
                "if(lt(t,{ts}),{before},if(lt(t,{te}),{from}+({to}-{from})*(t-{ts})/({te}-{ts}),{to}))"
            )
        };
        x = ramp(current.0, goal.0, &x);
        y = ramp(current.1, goal.1, &y);
        current = goal;
    }
    // Commas inside the expression must be escaped for the filter graph parser.
    Ok((x.replace(',', "\\,"), y.replace(',', "\\,")))
}

/// Inserts still images over `video`, lowest Layer first, each at its pixel position and size, with opacity
/// (default 50), start time on the timeline, duration (fade-in included) and fade-out after the duration.
fn insert_images(
    graph: &mut Graph,
    video: &str,
    inserter: &Option<m::ImageInserter>,
    timeline: &Timeline,
    media: &MediaMap,
    at: &str,
) -> Result<String, JobError> {
    let mut list: Vec<(usize, m::InsertableImage)> =
        images(inserter).into_iter().enumerate().collect();
    let mut layers = std::collections::HashSet::new();
    for (j, image) in &list {
        let layer = image.layer.unwrap_or(0);
        if !(0..=99).contains(&layer) || !layers.insert(layer) {
            return Err(JobError::invalid_setting(
                &format!("{at}.InsertableImages[{j}].Layer"),
                format!("{layer} must be 0..99 and unique within the inserter"),
            ));
        }
    }
    list.sort_by_key(|(_, image)| image.layer.unwrap_or(0));
    let r = rate_expr(timeline.rate);
    let mut video = video.to_string();
    for (j, image) in list {
        let at = format!("{at}.InsertableImages[{j}]");
        let m::InsertableImage {
            image_inserter_input,
            image_x,
            image_y,
            width,
            height,
            layer: _,
            opacity,
            start_time,
            duration,
            fade_in,
            fade_out,
        } = &image;
        let uri = required(&format!("{at}.ImageInserterInput"), image_inserter_input)?;
        let source = media_for(media, uri, &format!("{at}.ImageInserterInput"))?;
        let x = *required(&format!("{at}.ImageX"), image_x)?;
        let y = *required(&format!("{at}.ImageY"), image_y)?;
        let opacity = opacity.unwrap_or(50);
        if !(0..=100).contains(&opacity) {
            return Err(JobError::invalid_setting(
                &format!("{at}.Opacity"),
                "must be 0..100",
            ));
        }
        let start = match start_time {
            Some(tc) => timeline.frame(tc, &format!("{at}.StartTime"))?,
            None => 0,
        };
        let remaining = timeline.frames.saturating_sub(start);
        let fade_in_s = f64::from(fade_in.unwrap_or(0).max(0)) / 1000.0;
        let fade_out_s = f64::from(fade_out.unwrap_or(0).max(0)) / 1000.0;
        let visible = match duration {
            Some(ms) => (ms_to_frames(*ms, timeline.rate)
                + ms_to_frames(fade_out.unwrap_or(0), timeline.rate))
            .min(remaining),
            None => remaining,
        };
        if visible == 0 {
            continue;
        }
        let mut filters = Vec::new();
        match (width.filter(|w| *w > 0), height.filter(|h| *h > 0)) {
            (None, None) => {}
            (w, h) => filters.push(format!(
                "scale={}:{}",
                w.map_or("iw".to_string(), |w| w.to_string()),
                h.map_or("ih".to_string(), |h| h.to_string())
            )),
        }
        filters.push(format!(
            "format=rgba,colorchannelmixer=aa={:.4}",
            f64::from(opacity) / 100.0
        ));
        if fade_in_s > 0.0 {
            filters.push(format!("fade=t=in:st=0:d={fade_in_s}:alpha=1"));
        }
        if let (Some(ms), true) = (duration, fade_out_s > 0.0) {
            filters.push(format!(
                "fade=t=out:st={}:d={fade_out_s}:alpha=1",
                f64::from(*ms) / 1000.0
            ));
        }
        filters.push(format!(
            "trim=end_frame={},{}",
            visible + 1,
            frame_index_pts(timeline.rate, start)
        ));
        let options = ["-loop", "1", "-framerate", &r].map(String::from);
        let k = graph.file_input(&options, &source.path);
        let pad = graph.chain(&format!("[{k}:v:0]"), &filters.join(","));
        video = graph.chain(
            &format!("{video}{pad}"),
            // One frame more than shown (see video_overlay), cut by `enable`.
            &format!(
                "overlay=x={x}:y={y}:eof_action=pass:enable=lte(n\\,{})",
                start + visible - 1
            ),
        );
    }
    Ok(video)
}

/// The first frame's timecode on the output timeline (TimecodeConfig).
fn output_origin(
    config: &Option<m::TimecodeConfig>,
    embedded: Option<&str>,
    rate: FrameRate,
) -> Result<u64, JobError> {
    let Some(m::TimecodeConfig {
        source,
        start,
        anchor,
    }) = config
    else {
        return timecode::to_frames(embedded.unwrap_or("00:00:00:00"), rate)
            .map_err(|e| JobError::invalid_setting("Settings.TimecodeConfig", e));
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
        .map_err(|e| JobError::invalid_setting("Settings.TimecodeConfig.Start", e))
}

/// What every output needs to know about the assembled timeline.
struct OutputContext<'a> {
    canvas: (u32, u32, FrameRate),
    origin: u64,
    first_input: Option<&'a str>,
    media: &'a MediaMap,
    duration: f64,
}

fn split_destination(base: &str) -> (String, String) {
    match base.rfind('/') {
        Some(i) => (base[..=i].to_string(), base[i + 1..].to_string()),
        None => (String::new(), base.to_string()),
    }
}

fn output_group(
    graph: &mut Graph,
    group: &m::OutputGroup,
    g: usize,
    context: &OutputContext<'_>,
    local_dir: &Path,
    video_pads: &mut impl Iterator<Item = String>,
    audio_pads: &mut BTreeMap<String, std::vec::IntoIter<String>>,
) -> Result<GroupPlan, JobError> {
    let at = format!("Settings.OutputGroups[{g}]");
    let m::OutputGroup {
        name: _,
        custom_name: _,
        output_group_settings,
        outputs,
    } = group;
    let settings = required(&format!("{at}.OutputGroupSettings"), output_group_settings)?;
    let m::OutputGroupSettings {
        group_type,
        file_group_settings,
        hls_group_settings,
        cmaf_group_settings,
    } = settings;
    let at_settings = format!("{at}.OutputGroupSettings");
    let outputs = outputs.as_ref().filter(|o| !o.is_empty()).ok_or_else(|| {
        JobError::invalid_setting(
            &format!("{at}.Outputs"),
            "an output group needs at least one output",
        )
    })?;
    let (kind, destination, hls) = match required(&format!("{at_settings}.Type"), group_type)? {
        m::OutputGroupType::FileGroupSettings => {
            let m::FileGroupSettings { destination } = required(
                &format!("{at_settings}.FileGroupSettings"),
                file_group_settings,
            )?;
            (
                GroupKind::File,
                required(
                    &format!("{at_settings}.FileGroupSettings.Destination"),
                    destination,
                )?,
                None,
            )
        }
        m::OutputGroupType::HlsGroupSettings => {
            let hls = required(
                &format!("{at_settings}.HlsGroupSettings"),
                hls_group_settings,
            )?;
            let destination = required(
                &format!("{at_settings}.HlsGroupSettings.Destination"),
                &hls.destination,
            )?;
            (
                GroupKind::Hls,
                destination,
                Some(hls_options(
                    hls,
                    &format!("{at_settings}.HlsGroupSettings"),
                )?),
            )
        }
        m::OutputGroupType::CmafGroupSettings => {
            let cmaf = required(
                &format!("{at_settings}.CmafGroupSettings"),
                cmaf_group_settings,
            )?;
            let destination = required(
                &format!("{at_settings}.CmafGroupSettings.Destination"),
                &cmaf.destination,
            )?;
            (
                GroupKind::Cmaf,
                destination,
                Some(cmaf_options(
                    cmaf,
                    &format!("{at_settings}.CmafGroupSettings"),
                )?),
            )
        }
        other => return Err(unsupported(&format!("{at_settings}.Type"), other)),
    };
    if kind != GroupKind::Hls {
        reject(
            &format!("{at_settings}.HlsGroupSettings"),
            hls_group_settings,
        )?;
    }
    if kind != GroupKind::Cmaf {
        reject(
            &format!("{at_settings}.CmafGroupSettings"),
            cmaf_group_settings,
        )?;
    }
    if outputs.len() > 1 && outputs.iter().any(|o| o.name_modifier.is_none()) {
        return Err(JobError::invalid_setting(
            &format!("{at}.Outputs"),
            "NameModifier is required when a group has more than one output",
        ));
    }
    let base = naming::output_base(destination, context.first_input)
        .map_err(|e| JobError::invalid_setting(&format!("{at_settings}.Destination"), e))?;
    let (folder, base_name) = split_destination(&base);
    let mut plans = Vec::new();
    for (o, output) in outputs.iter().enumerate() {
        let at = format!("{at}.Outputs[{o}]");
        plans.push(output_plan(
            graph,
            output,
            &at,
            kind,
            hls.as_ref(),
            &base_name,
            context,
            local_dir,
            video_pads,
            audio_pads,
        )?);
    }
    let (write_manifests, integer_durations) = hls
        .as_ref()
        .map_or((false, false), |h| (h.write_manifests, h.integer_durations));
    Ok(GroupPlan {
        kind,
        folder,
        main_playlist: (kind != GroupKind::File).then(|| format!("{base_name}.m3u8")),
        write_manifests,
        dash_manifest: hls
            .as_ref()
            .filter(|h| h.write_dash_manifest)
            .map(|_| format!("{base_name}.mpd")),
        segment_length: hls.as_ref().map(|h| h.segment_length),
        integer_durations,
        local_dir: local_dir.to_path_buf(),
        outputs: plans,
    })
}

/// Segmented group settings (HLS, CMAF) the engine implements.
struct HlsOptions {
    segment_length: u32,
    single_file: bool,
    write_manifests: bool,
    integer_durations: bool,
    /// CMAF: write the DASH manifest.
    write_dash_manifest: bool,
}

/// Checks a segment length (default 10 s) and segment length control (EXACT and GOP_MULTIPLE: keyframes are forced
/// at every segment boundary, so both give segments of exactly the segment length).
fn checked_segment_length(
    length: &Option<i32>,
    control: &Option<m::SegmentLengthControl>,
    at: &str,
) -> Result<u32, JobError> {
    let length = length.unwrap_or(10);
    if length < 1 {
        return Err(JobError::invalid_setting(
            &format!("{at}.SegmentLength"),
            "must be at least 1",
        ));
    }
    if let Some(control) = control.filter(|c| *c == m::SegmentLengthControl::Match) {
        return Err(unsupported(&format!("{at}.SegmentLengthControl"), control));
    }
    Ok(length as u32)
}

fn cmaf_options(cmaf: &m::CmafGroupSettings, at: &str) -> Result<HlsOptions, JobError> {
    let m::CmafGroupSettings {
        destination: _,
        segment_length: length,
        fragment_length,
        segment_length_control,
        segment_control,
        write_hls_manifest,
        write_dash_manifest,
        manifest_duration_format,
        // For H.264 and AAC, RFC 6381 and RFC 4281 give the same CODECS strings (avc1.PPCCLL, mp4a.40.2).
        codec_specification: _,
    } = cmaf;
    let segment_length = checked_segment_length(length, segment_length_control, at)?;
    if let Some(fragment) = fragment_length {
        if *fragment < 1 {
            return Err(JobError::invalid_setting(
                &format!("{at}.FragmentLength"),
                "must be at least 1",
            ));
        }
        if *fragment as u32 != segment_length {
            tracing::warn!(
                fragment_length = fragment,
                segment_length,
                "CMAF FragmentLength: the engine writes one fragment per segment"
            );
        }
    }
    if let Some(control) = segment_control.filter(|c| *c == m::SegmentControl::SingleFile) {
        return Err(unsupported(&format!("{at}.SegmentControl"), control));
    }
    Ok(HlsOptions {
        segment_length,
        single_file: false,
        write_manifests: *write_hls_manifest != Some(m::EnabledDisabled::Disabled),
        integer_durations: *manifest_duration_format == Some(m::ManifestDurationFormat::Integer),
        write_dash_manifest: *write_dash_manifest != Some(m::EnabledDisabled::Disabled),
    })
}

fn hls_options(hls: &m::HlsGroupSettings, at: &str) -> Result<HlsOptions, JobError> {
    let m::HlsGroupSettings {
        destination: _,
        segment_length,
        min_segment_length,
        segment_length_control,
        segment_control,
        directory_structure,
        manifest_duration_format,
        output_selection,
        // For H.264 and AAC, RFC 6381 and RFC 4281 give the same CODECS strings (avc1.PPCCLL, mp4a.40.2).
        codec_specification: _,
    } = hls;
    let segment_length = checked_segment_length(segment_length, segment_length_control, at)?;
    if let Some(min) = min_segment_length.filter(|m| *m != 0) {
        return Err(unsupported(&format!("{at}.MinSegmentLength"), min));
    }
    if let Some(structure) =
        directory_structure.filter(|d| *d != m::HlsDirectoryStructure::SingleDirectory)
    {
        return Err(unsupported(&format!("{at}.DirectoryStructure"), structure));
    }
    Ok(HlsOptions {
        segment_length,
        single_file: *segment_control == Some(m::SegmentControl::SingleFile),
        write_manifests: *output_selection != Some(m::HlsOutputSelection::SegmentsOnly),
        integer_durations: *manifest_duration_format == Some(m::ManifestDurationFormat::Integer),
        write_dash_manifest: false,
    })
}

#[allow(clippy::too_many_arguments)]
fn output_plan(
    graph: &mut Graph,
    output: &m::Output,
    at: &str,
    kind: GroupKind,
    hls: Option<&HlsOptions>,
    base_name: &str,
    context: &OutputContext<'_>,
    local_dir: &Path,
    video_pads: &mut impl Iterator<Item = String>,
    audio_pads: &mut BTreeMap<String, std::vec::IntoIter<String>>,
) -> Result<OutputPlan, JobError> {
    let m::Output {
        name_modifier,
        extension,
        container_settings,
        video_description,
        audio_descriptions,
    } = output;
    // A CMAF output holds one kind of track: video, or audio only (no VideoDescription).
    let description = match kind {
        GroupKind::Cmaf => video_description.as_ref(),
        _ => Some(required(
            &format!("{at}.VideoDescription"),
            video_description,
        )?),
    };
    let descriptions = audio_descriptions.clone().unwrap_or_default();
    if kind == GroupKind::Cmaf && description.is_some() != descriptions.is_empty() {
        return Err(JobError::invalid_setting(
            at,
            "a CMAF output holds either a VideoDescription or AudioDescriptions",
        ));
    }
    let frame_capture = matches!(
        description
            .and_then(|d| d.codec_settings.as_ref())
            .and_then(|c| c.codec),
        Some(m::VideoCodec::FrameCapture)
    );
    let mut args = Vec::new();
    let (mut size, mut rate) = ((context.canvas.0, context.canvas.1), context.canvas.2);
    if let Some(description) = description {
        let VideoOutput {
            size: video_size,
            rate: video_rate,
            filters: video_filters,
            args: codec_args,
        } = video_output(description, &format!("{at}.VideoDescription"), context, hls)?;
        (size, rate) = (video_size, video_rate);
        let mut video = video_pads
            .next()
            .expect("one split output per output with video");
        if let Some(preprocessors) = &description.video_preprocessors {
            let m::VideoPreprocessors { image_inserter } = preprocessors;
            let timeline = Timeline {
                rate: context.canvas.2,
                origin: context.origin,
                frames: seconds_to_frames(context.duration, context.canvas.2),
            };
            video = insert_images(
                graph,
                &video,
                image_inserter,
                &timeline,
                context.media,
                &format!("{at}.VideoDescription.VideoPreprocessors.ImageInserter"),
            )?;
        }
        args.extend(["-map".to_string(), graph.chain(&video, &video_filters)]);
        args.extend(codec_args);
    }

    let modifier = naming::expand_modifier(
        name_modifier.as_deref().unwrap_or(""),
        context.first_input,
        size.0,
        size.1,
    )
    .map_err(|e| JobError::invalid_setting(&format!("{at}.NameModifier"), e))?;
    let name = format!("{base_name}{modifier}");

    if frame_capture && !descriptions.is_empty() {
        return Err(JobError::invalid_setting(
            &format!("{at}.AudioDescriptions"),
            "a FRAME_CAPTURE output has no audio",
        ));
    }
    for (a, description) in descriptions.iter().enumerate() {
        let name = source_name(description);
        let pad = audio_pads
            .get_mut(&name)
            .and_then(|p| p.next())
            .expect("one asplit output per audio description");
        let (filters, codec) =
            audio_output(description, &format!("{at}.AudioDescriptions[{a}]"), a)?;
        let pad = graph.chain(&pad, &filters);
        args.extend(["-map".to_string(), pad]);
        args.extend(codec);
    }

    let container = container_settings.as_ref();
    let container_type = container.and_then(|c| c.container);
    let at_container = format!("{at}.ContainerSettings");
    let mut free_space_box = None;
    let (kind, file_name) = match (kind, frame_capture) {
        (GroupKind::File, true) => {
            if let Some(c) = container_type.filter(|c| *c != m::ContainerType::Raw) {
                return Err(unsupported(&format!("{at_container}.Container"), c));
            }
            reject_container_members(container, &at_container, None)?;
            let extension = extension.clone().unwrap_or_else(|| "jpg".into());
            args.extend(["-f", "image2", "-start_number", "0"].map(String::from));
            args.push(
                local_dir
                    .join(format!("{name}.%07d.{extension}"))
                    .display()
                    .to_string(),
            );
            (OutputKind::FrameCapture, format!("{name}.{extension}"))
        }
        (GroupKind::File, false) => {
            let container_type = *required(&format!("{at_container}.Container"), &container_type)?;
            let FileContainer {
                format,
                extension: default_extension,
                muxer,
                include_free_box,
            } = file_container(
                container.expect("container is set"),
                container_type,
                &at_container,
            )?;
            free_space_box = include_free_box;
            let file_name = format!(
                "{name}.{}",
                extension
                    .clone()
                    .unwrap_or_else(|| default_extension.into())
            );
            args.extend(["-f".to_string(), format.to_string()]);
            args.extend(muxer);
            args.push(local_dir.join(&file_name).display().to_string());
            (OutputKind::File, file_name)
        }
        (GroupKind::Hls, true) => {
            return Err(unsupported(
                &format!("{at}.VideoDescription.CodecSettings.Codec"),
                "FRAME_CAPTURE in an HLS group",
            ));
        }
        (GroupKind::Hls, false) => {
            let hls = hls.expect("HLS groups have options");
            if let Some(c) = container_type.filter(|c| *c != m::ContainerType::M3u8) {
                return Err(unsupported(&format!("{at_container}.Container"), c));
            }
            reject(&format!("{at}.Extension"), extension)?;
            if let Some(m::ContainerSettings {
                m3u8_settings: Some(settings),
                ..
            }) = container
            {
                let m::M3u8Settings {
                    audio_duration: _,
                    pat_interval,
                    pmt_interval,
                } = settings;
                reject(
                    &format!("{at_container}.M3u8Settings.PmtInterval"),
                    pmt_interval,
                )?;
                if let Some(ms) = pat_interval {
                    args.extend([
                        "-pat_period".to_string(),
                        format!("{}", f64::from(*ms) / 1000.0),
                    ]);
                }
            }
            reject_container_members(container, &at_container, Some(m::ContainerType::M3u8))?;
            args.extend(hls_muxer_args(hls));
            if hls.single_file {
                args.extend([
                    "-hls_flags".to_string(),
                    "single_file+independent_segments".to_string(),
                ]);
            } else {
                args.extend(["-hls_flags".to_string(), "independent_segments".to_string()]);
                args.extend([
                    "-hls_segment_filename".to_string(),
                    local_dir
                        .join(format!("{name}_%05d.ts"))
                        .display()
                        .to_string(),
                ]);
            }
            let file_name = format!("{name}.m3u8");
            args.push(local_dir.join(&file_name).display().to_string());
            (OutputKind::HlsVariant, file_name)
        }
        (GroupKind::Cmaf, true) => {
            return Err(unsupported(
                &format!("{at}.VideoDescription.CodecSettings.Codec"),
                "FRAME_CAPTURE in a CMAF group",
            ));
        }
        (GroupKind::Cmaf, false) => {
            let hls = hls.expect("CMAF groups have options");
            if let Some(c) = container_type.filter(|c| *c != m::ContainerType::Cmfc) {
                return Err(unsupported(&format!("{at_container}.Container"), c));
            }
            reject(&format!("{at}.Extension"), extension)?;
            if let Some(m::ContainerSettings {
                cmfc_settings: Some(settings),
                ..
            }) = container
            {
                // AudioDuration: audio always matches the video's length here (see the module documentation).
                let m::CmfcSettings {
                    audio_duration: _,
                    i_frame_only_manifest,
                } = settings;
                if let Some(include) =
                    i_frame_only_manifest.filter(|i| *i == m::IncludeExclude::Include)
                {
                    return Err(unsupported(
                        &format!("{at_container}.CmfcSettings.IFrameOnlyManifest"),
                        include,
                    ));
                }
            }
            reject_container_members(container, &at_container, Some(m::ContainerType::Cmfc))?;
            let extension = if description.is_some() {
                "cmfv"
            } else {
                "cmfa"
            };
            args.extend(hls_muxer_args(hls));
            args.extend([
                "-hls_flags".to_string(),
                "independent_segments".to_string(),
                "-hls_segment_type".to_string(),
                "fmp4".to_string(),
                "-hls_fmp4_init_filename".to_string(),
                format!("{name}_init.{extension}"),
                "-hls_segment_filename".to_string(),
                local_dir
                    .join(format!("{name}_%05d.{extension}"))
                    .display()
                    .to_string(),
            ]);
            let file_name = format!("{name}.m3u8");
            args.push(local_dir.join(&file_name).display().to_string());
            (OutputKind::CmafTrack, file_name)
        }
    };
    graph.output(args);
    Ok(OutputPlan {
        kind,
        file_name,
        size: description.is_some().then_some(size),
        rate,
        free_space_box,
    })
}

/// The HLS muxer writing a VOD playlist of segments of `hls.segment_length` seconds, numbered from 1.
fn hls_muxer_args(hls: &HlsOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        "-f",
        "hls",
        "-hls_playlist_type",
        "vod",
        "-hls_list_size",
        "0",
        "-start_number",
        "1",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["-hls_time".to_string(), hls.segment_length.to_string()]);
    args
}

/// Rejects container settings members that do not belong to `allowed` (FRAME_CAPTURE allows none).
fn reject_container_members(
    container: Option<&m::ContainerSettings>,
    at: &str,
    allowed: Option<m::ContainerType>,
) -> Result<(), JobError> {
    let Some(m::ContainerSettings {
        container: _,
        mp4_settings,
        m2ts_settings,
        m3u8_settings,
        cmfc_settings,
    }) = container
    else {
        return Ok(());
    };
    if allowed != Some(m::ContainerType::Mp4) {
        reject(&format!("{at}.Mp4Settings"), mp4_settings)?;
    }
    if allowed != Some(m::ContainerType::M2ts) {
        reject(&format!("{at}.M2tsSettings"), m2ts_settings)?;
    }
    if allowed != Some(m::ContainerType::M3u8) {
        reject(&format!("{at}.M3u8Settings"), m3u8_settings)?;
    }
    if allowed != Some(m::ContainerType::Cmfc) {
        reject(&format!("{at}.CmfcSettings"), cmfc_settings)?;
    }
    Ok(())
}

/// How a FILE_GROUP container is written.
struct FileContainer {
    /// ffmpeg's muxer.
    format: &'static str,
    /// MediaConvert's default extension.
    extension: &'static str,
    /// Muxer options.
    muxer: Vec<String>,
    /// MP4: whether a `free` box follows `moov`.
    include_free_box: Option<bool>,
}

/// ffmpeg muxer, default extension and muxer options of a FILE_GROUP container.
fn file_container(
    container: &m::ContainerSettings,
    container_type: m::ContainerType,
    at: &str,
) -> Result<FileContainer, JobError> {
    reject_container_members(Some(container), at, Some(container_type))?;
    match container_type {
        m::ContainerType::Mp4 => {
            let mut muxer = Vec::new();
            let mut faststart = true;
            let mut movflags = Vec::new();
            let mut include_free_box = false;
            if let Some(settings) = &container.mp4_settings {
                let m::Mp4Settings {
                    moov_placement,
                    cslg_atom,
                    ctts_version,
                    free_space_box,
                    audio_duration: _,
                    mp4_major_brand,
                } = settings;
                faststart = *moov_placement != Some(m::Mp4MoovPlacement::Normal);
                if *cslg_atom == Some(m::IncludeExclude::Include) {
                    // ffmpeg's MP4 muxer never writes `cslg`; composition still starts at zero through its edit
                    // list. Documented in docs/engine.md.
                    tracing::warn!(field = %format!("{at}.Mp4Settings.CslgAtom"), "INCLUDE: no cslg box is written");
                }
                match ctts_version {
                    None | Some(0) => {}
                    Some(1) => movflags.push("+negative_cts_offsets"),
                    Some(other) => {
                        return Err(unsupported(&format!("{at}.Mp4Settings.CttsVersion"), other));
                    }
                }
                include_free_box = *free_space_box == Some(m::IncludeExclude::Include);
                if let Some(brand) = mp4_major_brand {
                    muxer.extend(["-brand".to_string(), brand.clone()]);
                }
            }
            if faststart {
                movflags.push("+faststart");
            }
            if !movflags.is_empty() {
                muxer.extend(["-movflags".to_string(), movflags.concat()]);
            }
            Ok(FileContainer {
                format: "mp4",
                extension: "mp4",
                muxer,
                include_free_box: Some(include_free_box),
            })
        }
        m::ContainerType::M2ts => {
            let mut muxer = Vec::new();
            if let Some(m::M2tsSettings {
                audio_duration: _,
                rate_mode,
                pat_interval,
                pmt_interval,
            }) = &container.m2ts_settings
            {
                if let Some(mode) = rate_mode.filter(|r| *r != m::M2tsRateMode::Vbr) {
                    return Err(unsupported(&format!("{at}.M2tsSettings.RateMode"), mode));
                }
                reject(&format!("{at}.M2tsSettings.PmtInterval"), pmt_interval)?;
                if let Some(ms) = pat_interval {
                    muxer.extend([
                        "-pat_period".to_string(),
                        format!("{}", f64::from(*ms) / 1000.0),
                    ]);
                }
            }
            Ok(FileContainer {
                format: "mpegts",
                extension: "m2ts",
                muxer,
                include_free_box: None,
            })
        }
        other => Err(unsupported(&format!("{at}.Container"), other)),
    }
}

/// Output picture size from VideoDescription Width/Height and the canvas: both blank follows the source, one
/// keeps the aspect ratio.
fn requested_size(
    width: &Option<i32>,
    height: &Option<i32>,
    canvas: (u32, u32),
    at: &str,
) -> Result<(u32, u32), JobError> {
    let check = |v: &Option<i32>, name: &str| -> Result<Option<u32>, JobError> {
        match v {
            Some(v) if (32..=8192).contains(v) && v % 2 == 0 => Ok(Some(*v as u32)),
            Some(v) => Err(JobError::invalid_setting(
                &format!("{at}.{name}"),
                format!("{v} must be even and 32..8192"),
            )),
            None => Ok(None),
        }
    };
    let even = |v: f64| ((v / 2.0).round() * 2.0) as u32;
    Ok(match (check(width, "Width")?, check(height, "Height")?) {
        (None, None) => canvas,
        (Some(w), None) => (
            w,
            even(f64::from(w) * f64::from(canvas.1) / f64::from(canvas.0)),
        ),
        (None, Some(h)) => (
            even(f64::from(h) * f64::from(canvas.0) / f64::from(canvas.1)),
            h,
        ),
        (Some(w), Some(h)) => (w, h),
    })
}

/// Scaling filters for a ScalingBehavior, and the resulting size (FIT and FIT_NO_UPSCALE do not pad).
fn scaling(
    behavior: Option<m::ScalingBehavior>,
    want: (u32, u32),
    canvas: (u32, u32),
) -> (Vec<String>, (u32, u32)) {
    let (w, h) = want;
    if want == canvas {
        return (vec![], want);
    }
    let even = |v: f64| ((v / 2.0).floor() * 2.0).max(2.0) as u32;
    let fit = |w: u32, h: u32| {
        let ratio = (f64::from(w) / f64::from(canvas.0)).min(f64::from(h) / f64::from(canvas.1));
        (
            even(f64::from(canvas.0) * ratio),
            even(f64::from(canvas.1) * ratio),
        )
    };
    match behavior.unwrap_or(m::ScalingBehavior::Default) {
        m::ScalingBehavior::Default => (
            vec![format!(
                "scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"
            )],
            want,
        ),
        m::ScalingBehavior::StretchToOutput => (vec![format!("scale={w}:{h}")], want),
        m::ScalingBehavior::Fit => {
            let (fw, fh) = fit(w, h);
            (vec![format!("scale={fw}:{fh}")], (fw, fh))
        }
        m::ScalingBehavior::FitNoUpscale => {
            if canvas.0 <= w && canvas.1 <= h {
                (vec![], canvas)
            } else {
                let (fw, fh) = fit(w, h);
                (vec![format!("scale={fw}:{fh}")], (fw, fh))
            }
        }
        m::ScalingBehavior::Fill => (
            vec![format!(
                "scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
            )],
            want,
        ),
    }
}

/// An output's picture: size, rate, filter chain and encoder arguments.
struct VideoOutput {
    size: (u32, u32),
    rate: FrameRate,
    filters: String,
    args: Vec<String>,
}

/// The output's size, rate, video filter chain and encoder arguments.
fn video_output(
    description: &m::VideoDescription,
    at: &str,
    context: &OutputContext<'_>,
    hls: Option<&HlsOptions>,
) -> Result<VideoOutput, JobError> {
    let m::VideoDescription {
        width,
        height,
        scaling_behavior,
        sharpness,
        anti_alias: _,
        color_metadata,
        timecode_insertion,
        codec_settings,
        video_preprocessors: _,
    } = description;
    reject(&format!("{at}.Sharpness"), sharpness)?;
    if let Some(insertion) =
        timecode_insertion.filter(|t| *t != m::VideoTimecodeInsertion::Disabled)
    {
        return Err(unsupported(&format!("{at}.TimecodeInsertion"), insertion));
    }
    let (cw, ch, canvas_rate) = context.canvas;
    let want = requested_size(width, height, (cw, ch), at)?;
    let (mut filters, size) = scaling(*scaling_behavior, want, (cw, ch));
    let codec = required(&format!("{at}.CodecSettings"), codec_settings)?;
    let m::VideoCodecSettings {
        codec,
        h264_settings,
        frame_capture_settings,
    } = codec;
    let at_codec = format!("{at}.CodecSettings");
    let mut rate = canvas_rate;
    let mut args;
    match required(&format!("{at_codec}.Codec"), codec)? {
        m::VideoCodec::H264 => {
            reject(
                &format!("{at_codec}.FrameCaptureSettings"),
                frame_capture_settings,
            )?;
            let settings = required(&format!("{at_codec}.H264Settings"), h264_settings)?;
            let (encoder, output_rate) = h264_args(
                settings,
                &format!("{at_codec}.H264Settings"),
                canvas_rate,
                hls,
            )?;
            if output_rate != canvas_rate {
                filters.push(rate_conversion(context.duration, output_rate));
                rate = output_rate;
            }
            args = encoder;
            if *color_metadata != Some(m::ColorMetadata::Ignore) {
                args.extend(
                    [
                        "-color_primaries",
                        "bt709",
                        "-color_trc",
                        "bt709",
                        "-colorspace",
                        "bt709",
                    ]
                    .map(String::from),
                );
            }
        }
        m::VideoCodec::FrameCapture => {
            reject(&format!("{at_codec}.H264Settings"), h264_settings)?;
            let settings = frame_capture_settings.clone().unwrap_or_default();
            let m::FrameCaptureSettings {
                framerate_numerator,
                framerate_denominator,
                max_captures,
                quality,
            } = settings;
            let (n, d) = (
                framerate_numerator.unwrap_or(1),
                framerate_denominator.unwrap_or(1),
            );
            if n < 1 || d < 1 {
                return Err(JobError::invalid_setting(
                    &format!("{at_codec}.FrameCaptureSettings"),
                    "capture rate must be positive",
                ));
            }
            rate = FrameRate {
                numerator: n,
                denominator: d,
            };
            filters.push(format!("fps={n}/{d}:round=up"));
            let quality = quality.unwrap_or(80).clamp(1, 100);
            // mjpeg's -q:v runs from 2 (best) to 31 (worst).
            let q = 2 + (100 - quality) * 29 / 99;
            args = vec![
                "-c:v".into(),
                "mjpeg".into(),
                "-q:v".into(),
                q.to_string(),
                "-pix_fmt".into(),
                "yuvj420p".into(),
            ];
            if let Some(max) = max_captures {
                args.extend(["-frames:v".to_string(), max.to_string()]);
            }
        }
    }
    if filters.is_empty() || !filters.iter().any(|f| f.starts_with("setsar")) {
        filters.push("setsar=1".into());
    }
    Ok(VideoOutput {
        size,
        rate,
        filters: filters.join(","),
        args,
    })
}

/// The QVBR quality level (1..10, with its fine tune) as an x264 CRF: `CRF = 33 - 2 * (level - 1) - 2 * fine_tune`,
/// so level 1 is CRF 33, level 7 (MediaConvert's typical web quality, and the engine's AUTO) is CRF 21, and level
/// 10 is CRF 15. MaxBitrate caps the rate (`-maxrate`, `-bufsize` from HrdBufferSize or twice MaxBitrate).
pub fn qvbr_crf(level: i32, fine_tune: f64) -> f64 {
    let thirds = (fine_tune.clamp(0.0, 1.0) * 3.0).round() / 3.0;
    33.0 - 2.0 * f64::from(level.clamp(1, 10) - 1) - 2.0 * thirds
}

/// The rate-control lookahead of `SINGLE_PASS_HQ` ("a good balance between encoding speed and video quality"): one
/// second of output frames, from veryfast's own 10 up to 60. Macroblock-tree rate control then sees far enough
/// ahead to spend bits on the parts of the picture that later frames reuse, which matters most for screen
/// recordings (static panels, scrolling text): on the benchmark's screen-like input it raises SSIM from 0.99862 to
/// 0.99889 for 5 % more bits, at no measurable CPU cost there and 5 to 7 % on full-frame motion (docs/benchmarks.md).
fn balanced_lookahead(rate: FrameRate) -> u32 {
    // Clamped to 10..=60 before the conversion, so the cast cannot truncate.
    rate.fps().round().clamp(10.0, 60.0) as u32
}

fn h264_args(
    settings: &m::H264Settings,
    at: &str,
    canvas_rate: FrameRate,
    hls: Option<&HlsOptions>,
) -> Result<(Vec<String>, FrameRate), JobError> {
    let m::H264Settings {
        rate_control_mode,
        bitrate,
        max_bitrate,
        qvbr_settings,
        codec_profile,
        codec_level,
        interlace_mode,
        gop_size,
        gop_size_units,
        gop_closed_cadence,
        gop_b_reference,
        number_b_frames_between_reference_frames,
        number_reference_frames,
        min_i_interval,
        scene_change_detect,
        quality_tuning_level,
        framerate_control,
        framerate_conversion_algorithm,
        framerate_numerator,
        framerate_denominator,
        par_control,
        par_numerator,
        par_denominator,
        entropy_encoding,
        adaptive_quantization,
        hrd_buffer_size,
    } = settings;
    let tuning = quality_tuning_level.unwrap_or(m::H264QualityTuningLevel::SinglePassHq);
    let preset = match tuning {
        m::H264QualityTuningLevel::SinglePass => "superfast",
        m::H264QualityTuningLevel::SinglePassHq => "veryfast",
        m::H264QualityTuningLevel::MultiPassHq => "medium",
    };
    let mut args: Vec<String> = ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"]
        .map(String::from)
        .to_vec();
    let mut x264 = Vec::new();
    let bufsize = |peak: i32| {
        hrd_buffer_size
            .filter(|b| *b > 0)
            .unwrap_or(peak.saturating_mul(2))
    };
    match rate_control_mode.unwrap_or(m::H264RateControlMode::Cbr) {
        m::H264RateControlMode::Qvbr => {
            let max = *required(&format!("{at}.MaxBitrate"), max_bitrate)?;
            let (level, fine) = match qvbr_settings {
                Some(m::H264QvbrSettings {
                    qvbr_quality_level,
                    qvbr_quality_level_fine_tune,
                    max_average_bitrate,
                }) => {
                    reject(
                        &format!("{at}.QvbrSettings.MaxAverageBitrate"),
                        max_average_bitrate,
                    )?;
                    (
                        qvbr_quality_level.unwrap_or(7),
                        qvbr_quality_level_fine_tune.unwrap_or(0.0),
                    )
                }
                None => (7, 0.0),
            };
            reject(&format!("{at}.Bitrate"), bitrate)?;
            args.extend(["-crf".to_string(), format!("{:.2}", qvbr_crf(level, fine))]);
            args.extend([
                "-maxrate".to_string(),
                max.to_string(),
                "-bufsize".to_string(),
                bufsize(max).to_string(),
            ]);
        }
        m::H264RateControlMode::Vbr => {
            reject(&format!("{at}.QvbrSettings"), qvbr_settings)?;
            let average = *required(&format!("{at}.Bitrate"), bitrate)?;
            args.extend(["-b:v".to_string(), average.to_string()]);
            if let Some(max) = max_bitrate {
                args.extend([
                    "-maxrate".to_string(),
                    max.to_string(),
                    "-bufsize".to_string(),
                    bufsize(*max).to_string(),
                ]);
            }
        }
        m::H264RateControlMode::Cbr => {
            reject(&format!("{at}.QvbrSettings"), qvbr_settings)?;
            reject(&format!("{at}.MaxBitrate"), max_bitrate)?;
            let rate = *required(&format!("{at}.Bitrate"), bitrate)?;
            args.extend(
                [
                    "-b:v",
                    &rate.to_string(),
                    "-minrate",
                    &rate.to_string(),
                    "-maxrate",
                    &rate.to_string(),
                ]
                .map(String::from),
            );
            args.extend(["-bufsize".to_string(), bufsize(rate).to_string()]);
            x264.push("nal-hrd=cbr".to_string());
        }
    }
    if let Some(profile) = codec_profile {
        let name = match profile {
            m::H264CodecProfile::Baseline => "baseline",
            m::H264CodecProfile::Main => "main",
            m::H264CodecProfile::High => "high",
            other => return Err(unsupported(&format!("{at}.CodecProfile"), other)),
        };
        args.extend(["-profile:v".to_string(), name.to_string()]);
    }
    if let Some(level) = codec_level.filter(|l| *l != m::H264CodecLevel::Auto) {
        let level = level
            .as_str()
            .trim_start_matches("LEVEL_")
            .replace('_', ".");
        args.extend(["-level:v".to_string(), level]);
    }
    if let Some(mode) = interlace_mode.filter(|m| *m != m::H264InterlaceMode::Progressive) {
        return Err(unsupported(&format!("{at}.InterlaceMode"), mode));
    }
    let output_rate =
        match framerate_control.unwrap_or(m::H264FramerateControl::InitializeFromSource) {
            m::H264FramerateControl::InitializeFromSource => canvas_rate,
            m::H264FramerateControl::Specified => {
                let n = *required(&format!("{at}.FramerateNumerator"), framerate_numerator)?;
                let d = *required(&format!("{at}.FramerateDenominator"), framerate_denominator)?;
                if n < 1 || d < 1 {
                    return Err(JobError::invalid_setting(
                        &format!("{at}.FramerateNumerator"),
                        "must be positive",
                    ));
                }
                FrameRate {
                    numerator: n,
                    denominator: d,
                }
            }
        };
    if let Some(algorithm) = framerate_conversion_algorithm
        .filter(|a| *a != m::H264FramerateConversionAlgorithm::DuplicateDrop)
    {
        return Err(unsupported(
            &format!("{at}.FramerateConversionAlgorithm"),
            algorithm,
        ));
    }
    if tuning == m::H264QualityTuningLevel::SinglePassHq {
        x264.push(format!("rc-lookahead={}", balanced_lookahead(output_rate)));
    }
    // GOP: AUTO (or blank) gives a keyframe at every HLS segment boundary, or x264's default elsewhere.
    match (
        gop_size_units.unwrap_or(m::H264GopSizeUnits::Frames),
        gop_size,
    ) {
        (m::H264GopSizeUnits::Auto, Some(size)) => {
            return Err(unsupported(&format!("{at}.GopSize"), size));
        }
        (_, Some(size)) if *size > 0.0 => {
            let frames = match gop_size_units.unwrap_or(m::H264GopSizeUnits::Frames) {
                m::H264GopSizeUnits::Seconds => (size * output_rate.fps()).round(),
                _ => size.round(),
            };
            args.extend(["-g".to_string(), format!("{}", frames.max(1.0))]);
        }
        _ => {}
    }
    if let Some(hls) = hls {
        args.extend([
            "-force_key_frames".to_string(),
            format!("expr:gte(t,n_forced*{})", hls.segment_length),
        ]);
    }
    match gop_closed_cadence {
        Some(0) | None => {}
        Some(_) => args.extend(["-flags".to_string(), "+cgop".to_string()]),
    }
    if let Some(reference) = gop_b_reference {
        x264.push(format!(
            "b-pyramid={}",
            if *reference == m::EnabledDisabled::Enabled {
                "normal"
            } else {
                "none"
            }
        ));
    }
    if let Some(b) = number_b_frames_between_reference_frames {
        if !(0..=7).contains(b) {
            return Err(JobError::invalid_setting(
                &format!("{at}.NumberBFramesBetweenReferenceFrames"),
                "must be 0..7",
            ));
        }
        args.extend(["-bf".to_string(), b.to_string()]);
    }
    if let Some(refs) = number_reference_frames {
        if !(1..=6).contains(refs) {
            return Err(JobError::invalid_setting(
                &format!("{at}.NumberReferenceFrames"),
                "must be 1..6",
            ));
        }
        args.extend(["-refs".to_string(), refs.to_string()]);
    }
    if let Some(min) = min_i_interval {
        x264.push(format!("min-keyint={}", (*min).max(1)));
    }
    if *scene_change_detect == Some(m::H264SceneChangeDetect::Disabled) {
        args.extend(["-sc_threshold".to_string(), "0".to_string()]);
    }
    match par_control.unwrap_or(m::H264ParControl::InitializeFromSource) {
        m::H264ParControl::InitializeFromSource => {}
        m::H264ParControl::Specified => {
            let n = required(&format!("{at}.ParNumerator"), par_numerator)?;
            let d = required(&format!("{at}.ParDenominator"), par_denominator)?;
            x264.push(format!("sar={n}/{d}"));
        }
    }
    if *entropy_encoding == Some(m::H264EntropyEncoding::Cavlc) {
        x264.push("cabac=0".into());
    }
    if let Some(aq) = adaptive_quantization {
        let setting = match aq {
            m::H264AdaptiveQuantization::Off => "aq-mode=0",
            m::H264AdaptiveQuantization::Auto | m::H264AdaptiveQuantization::Medium => {
                "aq-strength=1.0"
            }
            m::H264AdaptiveQuantization::Low => "aq-strength=0.6",
            m::H264AdaptiveQuantization::High => "aq-strength=1.3",
            m::H264AdaptiveQuantization::Higher => "aq-strength=1.6",
            m::H264AdaptiveQuantization::Max => "aq-strength=2.0",
        };
        x264.push(setting.into());
    }
    if !x264.is_empty() {
        args.extend(["-x264-params".to_string(), x264.join(":")]);
    }
    Ok((args, output_rate))
}

/// Audio filters and AAC encoder arguments for the `index`-th audio stream of an output.
fn audio_output(
    description: &m::AudioDescription,
    at: &str,
    index: usize,
) -> Result<(String, Vec<String>), JobError> {
    let m::AudioDescription {
        audio_source_name: _,
        codec_settings,
    } = description;
    let settings = required(&format!("{at}.CodecSettings"), codec_settings)?;
    let m::AudioCodecSettings {
        codec,
        aac_settings,
    } = settings;
    match required(&format!("{at}.CodecSettings.Codec"), codec)? {
        m::AudioCodec::Aac => {}
    }
    let at = format!("{at}.CodecSettings.AacSettings");
    let aac = aac_settings.clone().unwrap_or_default();
    let m::AacSettings {
        bitrate,
        coding_mode,
        sample_rate,
        codec_profile,
        rate_control_mode,
        raw_format,
        specification,
    } = aac;
    if let Some(profile) = codec_profile.filter(|p| *p != m::AacCodecProfile::Lc) {
        return Err(unsupported(&format!("{at}.CodecProfile"), profile));
    }
    if let Some(mode) = rate_control_mode.filter(|r| *r != m::AacRateControlMode::Cbr) {
        return Err(unsupported(&format!("{at}.RateControlMode"), mode));
    }
    if let Some(format) = raw_format.filter(|r| *r != m::AacRawFormat::None) {
        return Err(unsupported(&format!("{at}.RawFormat"), format));
    }
    let channels = match coding_mode.unwrap_or(m::AacCodingMode::CodingMode20) {
        m::AacCodingMode::CodingMode10 => "mono",
        m::AacCodingMode::CodingMode20 | m::AacCodingMode::CodingMode11 => "stereo",
        m::AacCodingMode::CodingMode51 => "5.1",
        other => return Err(unsupported(&format!("{at}.CodingMode"), other)),
    };
    let sample_rate = sample_rate.unwrap_or(48_000);
    if !(8_000..=96_000).contains(&sample_rate) {
        return Err(JobError::invalid_setting(
            &format!("{at}.SampleRate"),
            "must be 8000..96000",
        ));
    }
    let bitrate = bitrate.unwrap_or(96_000);
    let profile = if specification == Some(m::AacSpecification::Mpeg2) {
        "mpeg2_aac_low"
    } else {
        "aac_low"
    };
    let filters = format!("aresample={sample_rate},aformat=channel_layouts={channels}");
    let codec = vec![
        format!("-c:a:{index}"),
        "aac".into(),
        format!("-profile:a:{index}"),
        profile.into(),
        format!("-b:a:{index}"),
        bitrate.to_string(),
    ];
    Ok((filters, codec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(
        x: Option<i32>,
        y: Option<i32>,
        w: Option<i32>,
        h: Option<i32>,
        unit: m::VideoOverlayUnit,
    ) -> m::VideoOverlayPosition {
        m::VideoOverlayPosition {
            x_position: x,
            y_position: y,
            width: w,
            height: h,
            unit: Some(unit),
            opacity: None,
        }
    }

    #[test]
    fn overlay_units_are_asymmetric() {
        let base = (1920, 1080);
        let camera = (640, 360);
        let p = position(
            Some(10),
            Some(50),
            Some(50),
            None,
            m::VideoOverlayUnit::Percentage,
        );
        assert_eq!(
            overlay_xy(&p, base),
            (192, 540),
            "X/Y are percentages of the base frame"
        );
        assert_eq!(
            overlay_size(&p, base, camera),
            (320, 180),
            "Width is a percentage of the overlay source"
        );
        let blank = position(None, None, None, None, m::VideoOverlayUnit::Pixels);
        assert_eq!(
            overlay_size(&blank, base, camera),
            base,
            "blank size means the base size"
        );
        let one = position(None, None, None, Some(270), m::VideoOverlayUnit::Pixels);
        assert_eq!(
            overlay_size(&one, base, camera),
            (480, 270),
            "one dimension keeps the aspect ratio"
        );
    }

    #[test]
    fn qvbr_levels_map_to_crf() {
        assert_eq!(qvbr_crf(1, 0.0), 33.0);
        assert_eq!(qvbr_crf(7, 0.0), 21.0);
        assert_eq!(qvbr_crf(10, 0.0), 15.0);
        assert!(
            (qvbr_crf(7, 0.5) - (21.0 - 2.0 * 2.0 / 3.0)).abs() < 1e-9,
            "fine tune rounds to thirds"
        );
    }

    #[test]
    fn the_balanced_lookahead_is_one_second_of_frames_within_bounds() {
        let rate = |numerator, denominator| FrameRate {
            numerator,
            denominator,
        };
        assert_eq!(balanced_lookahead(rate(30, 1)), 30);
        assert_eq!(balanced_lookahead(rate(30000, 1001)), 30);
        assert_eq!(
            balanced_lookahead(rate(5, 1)),
            10,
            "never below veryfast's own"
        );
        assert_eq!(balanced_lookahead(rate(120, 1)), 60, "capped for memory");
    }

    #[test]
    fn scaling_behaviors() {
        let canvas = (1920, 1080);
        assert_eq!(scaling(None, (640, 480), canvas).1, (640, 480));
        assert!(scaling(None, (640, 480), canvas).0[0].contains("pad=640:480"));
        assert_eq!(
            scaling(Some(m::ScalingBehavior::Fit), (640, 480), canvas).1,
            (640, 360)
        );
        assert_eq!(
            scaling(Some(m::ScalingBehavior::FitNoUpscale), (3840, 2160), canvas).1,
            canvas
        );
        assert!(
            scaling(Some(m::ScalingBehavior::Fill), (640, 480), canvas).0[0]
                .contains("crop=640:480")
        );
        assert_eq!(
            requested_size(&Some(1280), &None, canvas, "x").unwrap(),
            (1280, 720)
        );
        assert!(requested_size(&Some(1281), &None, canvas, "x").is_err());
    }
}
