//! Translating a CreateJob request into one ffmpeg run that follows MediaConvert's semantics.
//!
//! The inputs are assembled on one timeline (each input at its own frame rate: overlays and images, then clipping,
//! then conforming to the first input's size and rate), concatenated in order, then split into the outputs (output
//! image inserter, scaling, encoding, packaging). Every model field is read through an exhaustive destructuring, so a
//! field the engine does not implement is a named error, never silently ignored.

mod audio;
mod frames;
mod h264;
mod inputs;
mod outputs;
mod overlays;
#[cfg(test)]
mod refusals;
mod video;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use vidpipe_core::job as m;

use crate::graph::Graph;
use crate::lifecycle::JobFailure;
use crate::probe::{FrameRate, MediaFacts};

use audio::{audio_source_names, source_name};
use frames::{frames_to_seconds, seconds_to_frames};
use inputs::{Segment, input_segment, output_origin};
use outputs::{OutputContext, Pads, output_group};
use overlays::images;

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
pub enum RenditionKind {
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
    pub kind: RenditionKind,
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

fn unsupported(field: &str, value: impl std::fmt::Debug) -> JobFailure {
    JobFailure::invalid_setting(
        field,
        format!("value {value:?} is not supported by the engine"),
    )
}

fn reject<T: std::fmt::Debug>(field: &str, value: &Option<T>) -> Result<(), JobFailure> {
    match value {
        Some(v) => Err(unsupported(field, v)),
        None => Ok(()),
    }
}

fn required<'a, T>(field: &str, value: &'a Option<T>) -> Result<&'a T, JobFailure> {
    value
        .as_ref()
        .ok_or_else(|| JobFailure::invalid_setting(field, "is required"))
}

/// Every URI the job reads, with the field naming it, in job order. A URI holding NUL is refused as unreadable
/// (1010): no file name holds one, so no fetch could write it and no ffmpeg argument could name it.
pub fn media_uris(request: &m::CreateJobRequest) -> Result<Vec<(String, String)>, JobFailure> {
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
    if let Some((uri, field)) = uris.iter().find(|(uri, _)| uri.contains('\0')) {
        return Err(JobFailure::input_access(
            uri,
            format!("{field} holds a NUL, which no file name holds"),
        ));
    }
    Ok(uris)
}

/// Builds the ffmpeg run for `request` from the fetched `media`; outputs render under the local folder `work`, one
/// folder per group (`GroupPlan::local_dir`) that the caller creates. Pure: reads and writes nothing.
pub fn plan(
    request: &m::CreateJobRequest,
    media: &MediaMap,
    work: &Path,
) -> Result<Plan, JobFailure> {
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
        JobFailure::invalid_setting("Settings.Inputs", "a job needs at least one input")
    })?;
    let groups = output_groups
        .as_ref()
        .filter(|g| !g.is_empty())
        .ok_or_else(|| {
            JobFailure::invalid_setting(
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
    let (video, audio) = concatenate(&mut graph, segments, audio_names.len());

    // The output timecode counts in the first input's frames; the canvas may run at another rate.
    let output_origin = seconds_to_frames(
        frames_to_seconds(
            output_origin(timecode_config, first_embedded.as_deref(), first_rate)?,
            first_rate,
        ),
        canvas_rate,
    );
    let mut pads = split_for_outputs(&mut graph, groups, &video, &audio, &audio_names);
    let context = OutputContext {
        canvas: (canvas_w, canvas_h, canvas_rate),
        origin: output_origin,
        first_input: inputs[0].file_input.as_deref(),
        media,
        duration,
    };
    let mut plans = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let local_dir = work.join(format!("group{g}"));
        plans.push(output_group(
            &mut graph, group, g, &context, &local_dir, &mut pads,
        )?);
    }
    Ok(Plan {
        args: graph.into_args(),
        duration,
        groups: plans,
    })
}

/// Concatenates the segments (video then each of the `audio_sources`, per segment): the timeline's video pad and
/// one audio pad per source.
fn concatenate(
    graph: &mut Graph,
    mut segments: Vec<Segment>,
    audio_sources: usize,
) -> (String, Vec<String>) {
    if segments.len() == 1 {
        let only = segments.pop().expect("one segment");
        return (only.video, only.audio);
    }
    let mut pads = String::new();
    for s in &segments {
        pads.push_str(&s.video);
        for a in &s.audio {
            pads.push_str(a);
        }
    }
    let labels: Vec<String> = (0..=audio_sources).map(|_| graph.label()).collect();
    let filter = format!(
        "{pads}concat=n={}:v=1:a={audio_sources}{}",
        segments.len(),
        labels.concat()
    );
    graph.push_raw(filter);
    (labels[0].clone(), labels[1..].to_vec())
}

/// Splits the timeline's video once per output with video and each audio source once per audio description that
/// reads it.
fn split_for_outputs(
    graph: &mut Graph,
    groups: &[m::OutputGroup],
    video: &str,
    audio: &[String],
    audio_names: &[String],
) -> Pads {
    let mut video_uses = 0;
    let mut audio_uses: BTreeMap<String, usize> = BTreeMap::new();
    for output in groups.iter().flat_map(|g| g.outputs.iter().flatten()) {
        if output.video_description.is_some() {
            video_uses += 1;
        }
        for description in output.audio_descriptions.iter().flatten() {
            *audio_uses.entry(source_name(description)).or_default() += 1;
        }
    }
    let mut video_pads = graph.fan_out(video, "split", video_uses.max(1)).into_iter();
    let mut audio_pads = BTreeMap::new();
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
    if video_uses == 0 {
        // The split output nobody reads still needs a sink.
        let unused = video_pads.next().expect("split has one output");
        graph.push_raw(format!("{unused}nullsink"));
    }
    Pads {
        video: video_pads,
        audio: audio_pads,
    }
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
fn media_for<'a>(media: &'a MediaMap, uri: &str, field: &str) -> Result<&'a Media, JobFailure> {
    let source = media
        .get(uri)
        .ok_or_else(|| JobFailure::input_access(uri, format!("{field} was not fetched")))?;
    if let Some((width, height, _)) = source.facts.video
        && (width == 0 || height == 0)
    {
        return Err(JobFailure::input_access(
            uri,
            format!("{field}: the picture cannot be decoded (it reads as {width}x{height})"),
        ));
    }
    Ok(source)
}
