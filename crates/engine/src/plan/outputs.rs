//! Output groups (file, HLS, CMAF) and their outputs (media file, frame capture, HLS variant, CMAF track).

use std::collections::BTreeMap;
use std::path::Path;

use vidpipe_core::job as m;

use super::audio::{audio_output, source_name};
use super::frames::seconds_to_frames;
use super::inputs::Timeline;
use super::overlays::insert_images;
use super::video::{VideoOutput, video_output};
use super::{
    GroupKind, GroupPlan, MediaMap, OutputPlan, RenditionKind, reject, required, unsupported,
};
use crate::graph::Graph;
use crate::lifecycle::JobFailure;
use crate::naming;
use crate::probe::FrameRate;

/// What every output needs to know about the assembled timeline.
pub(super) struct OutputContext<'a> {
    pub(super) canvas: (u32, u32, FrameRate),
    pub(super) origin: u64,
    pub(super) first_input: Option<&'a str>,
    pub(super) media: &'a MediaMap,
    pub(super) duration: f64,
}

/// The assembled timeline split once per use: each output with video takes the next video pad, each audio
/// description the next pad of its source name.
pub(super) struct Pads {
    pub(super) video: std::vec::IntoIter<String>,
    pub(super) audio: BTreeMap<String, std::vec::IntoIter<String>>,
}

/// What the outputs of one group share.
struct GroupContext<'a> {
    kind: GroupKind,
    /// Segmenting options (HLS, CMAF).
    hls: Option<&'a HlsOptions>,
    /// The destination's file name part, which every output's name starts with.
    base_name: &'a str,
    /// The local folder the group renders into.
    local_dir: &'a Path,
}

fn split_destination(base: &str) -> (String, String) {
    match base.rfind('/') {
        Some(i) => (base[..=i].to_string(), base[i + 1..].to_string()),
        None => (String::new(), base.to_string()),
    }
}

/// Plans the `g`-th output group, rendering into `local_dir`.
pub(super) fn output_group(
    graph: &mut Graph,
    group: &m::OutputGroup,
    g: usize,
    context: &OutputContext<'_>,
    local_dir: &Path,
    pads: &mut Pads,
) -> Result<GroupPlan, JobFailure> {
    let at = format!("Settings.OutputGroups[{g}]");
    let m::OutputGroup {
        name: _,
        custom_name: _,
        output_group_settings,
        outputs,
    } = group;
    let settings = required(&format!("{at}.OutputGroupSettings"), output_group_settings)?;
    let at_settings = format!("{at}.OutputGroupSettings");
    let outputs = outputs.as_ref().filter(|o| !o.is_empty()).ok_or_else(|| {
        JobFailure::invalid_setting(
            &format!("{at}.Outputs"),
            "an output group needs at least one output",
        )
    })?;
    let (kind, destination, hls) = group_settings(settings, &at_settings)?;
    if outputs.len() > 1 && outputs.iter().any(|o| o.name_modifier.is_none()) {
        return Err(JobFailure::invalid_setting(
            &format!("{at}.Outputs"),
            "NameModifier is required when a group has more than one output",
        ));
    }
    let base = naming::output_base(destination, context.first_input)
        .map_err(|e| JobFailure::invalid_setting(&format!("{at_settings}.Destination"), e))?;
    let (folder, base_name) = split_destination(&base);
    naming::check_file_name(&base_name)
        .map_err(|e| JobFailure::invalid_setting(&format!("{at_settings}.Destination"), e))?;
    let shared = GroupContext {
        kind,
        hls: hls.as_ref(),
        base_name: &base_name,
        local_dir,
    };
    let mut plans = Vec::new();
    for (o, output) in outputs.iter().enumerate() {
        let at = format!("{at}.Outputs[{o}]");
        plans.push(output_plan(graph, output, &at, &shared, context, pads)?);
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

/// The group's kind, destination and segmenting options: the settings member its Type names; the other segmented
/// members must be blank.
fn group_settings<'a>(
    settings: &'a m::OutputGroupSettings,
    at: &str,
) -> Result<(GroupKind, &'a String, Option<HlsOptions>), JobFailure> {
    let m::OutputGroupSettings {
        group_type,
        file_group_settings,
        hls_group_settings,
        cmaf_group_settings,
    } = settings;
    let (kind, destination, hls) = match required(&format!("{at}.Type"), group_type)? {
        m::OutputGroupType::FileGroupSettings => {
            let at = format!("{at}.FileGroupSettings");
            let m::FileGroupSettings { destination } = required(&at, file_group_settings)?;
            let destination = required(&format!("{at}.Destination"), destination)?;
            (GroupKind::File, destination, None)
        }
        m::OutputGroupType::HlsGroupSettings => {
            let at = format!("{at}.HlsGroupSettings");
            let (destination, hls) = hls_group(required(&at, hls_group_settings)?, &at)?;
            (GroupKind::Hls, destination, Some(hls))
        }
        m::OutputGroupType::CmafGroupSettings => {
            let at = format!("{at}.CmafGroupSettings");
            let (destination, cmaf) = cmaf_group(required(&at, cmaf_group_settings)?, &at)?;
            (GroupKind::Cmaf, destination, Some(cmaf))
        }
        other => return Err(unsupported(&format!("{at}.Type"), other)),
    };
    if kind != GroupKind::Hls {
        reject(&format!("{at}.HlsGroupSettings"), hls_group_settings)?;
    }
    if kind != GroupKind::Cmaf {
        reject(&format!("{at}.CmafGroupSettings"), cmaf_group_settings)?;
    }
    Ok((kind, destination, hls))
}

/// Segmented group settings (HLS, CMAF) the engine implements.
pub(super) struct HlsOptions {
    pub(super) segment_length: u32,
    pub(super) single_file: bool,
    pub(super) write_manifests: bool,
    pub(super) integer_durations: bool,
    /// CMAF: write the DASH manifest.
    pub(super) write_dash_manifest: bool,
}

/// Checks a segment length (default 10 s) and segment length control (EXACT and GOP_MULTIPLE: keyframes are forced
/// at every segment boundary, so both give segments of exactly the segment length).
fn checked_segment_length(
    length: &Option<i32>,
    control: &Option<m::SegmentLengthControl>,
    at: &str,
) -> Result<u32, JobFailure> {
    let length = length.unwrap_or(10);
    if length < 1 {
        return Err(JobFailure::invalid_setting(
            &format!("{at}.SegmentLength"),
            "must be at least 1",
        ));
    }
    if let Some(control) = control.filter(|c| *c == m::SegmentLengthControl::Match) {
        return Err(unsupported(&format!("{at}.SegmentLengthControl"), control));
    }
    Ok(length as u32)
}

/// A CMAF group's destination and the options the engine implements.
fn cmaf_group<'a>(
    cmaf: &'a m::CmafGroupSettings,
    at: &str,
) -> Result<(&'a String, HlsOptions), JobFailure> {
    let m::CmafGroupSettings {
        destination,
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
    let destination = required(&format!("{at}.Destination"), destination)?;
    let segment_length = checked_segment_length(length, segment_length_control, at)?;
    if let Some(fragment) = fragment_length {
        if *fragment < 1 {
            return Err(JobFailure::invalid_setting(
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
    let options = HlsOptions {
        segment_length,
        single_file: false,
        write_manifests: *write_hls_manifest != Some(m::EnabledDisabled::Disabled),
        integer_durations: *manifest_duration_format == Some(m::ManifestDurationFormat::Integer),
        write_dash_manifest: *write_dash_manifest != Some(m::EnabledDisabled::Disabled),
    };
    Ok((destination, options))
}

/// An HLS group's destination and the options the engine implements.
fn hls_group<'a>(
    hls: &'a m::HlsGroupSettings,
    at: &str,
) -> Result<(&'a String, HlsOptions), JobFailure> {
    let m::HlsGroupSettings {
        destination,
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
    let destination = required(&format!("{at}.Destination"), destination)?;
    let segment_length = checked_segment_length(segment_length, segment_length_control, at)?;
    if let Some(min) = min_segment_length.filter(|m| *m != 0) {
        return Err(unsupported(&format!("{at}.MinSegmentLength"), min));
    }
    if let Some(structure) =
        directory_structure.filter(|d| *d != m::HlsDirectoryStructure::SingleDirectory)
    {
        return Err(unsupported(&format!("{at}.DirectoryStructure"), structure));
    }
    let options = HlsOptions {
        segment_length,
        single_file: *segment_control == Some(m::SegmentControl::SingleFile),
        write_manifests: *output_selection != Some(m::HlsOutputSelection::SegmentsOnly),
        integer_durations: *manifest_duration_format == Some(m::ManifestDurationFormat::Integer),
        write_dash_manifest: false,
    };
    Ok((destination, options))
}

/// One output: its picture, its audio, then its container and files.
fn output_plan(
    graph: &mut Graph,
    output: &m::Output,
    at: &str,
    group: &GroupContext<'_>,
    context: &OutputContext<'_>,
    pads: &mut Pads,
) -> Result<OutputPlan, JobFailure> {
    let m::Output {
        name_modifier,
        extension,
        container_settings,
        video_description,
        audio_descriptions,
    } = output;
    // A CMAF output holds one kind of track: video, or audio only (no VideoDescription).
    let description = match group.kind {
        GroupKind::Cmaf => video_description.as_ref(),
        _ => Some(required(
            &format!("{at}.VideoDescription"),
            video_description,
        )?),
    };
    let descriptions = audio_descriptions.clone().unwrap_or_default();
    if group.kind == GroupKind::Cmaf && description.is_some() != descriptions.is_empty() {
        return Err(JobFailure::invalid_setting(
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
    let (size, rate) = match description {
        Some(description) => {
            output_video(graph, description, at, context, group.hls, pads, &mut args)?
        }
        None => ((context.canvas.0, context.canvas.1), context.canvas.2),
    };

    let name = output_name(group.base_name, name_modifier, extension, at, context, size)?;
    if frame_capture && !descriptions.is_empty() {
        return Err(JobFailure::invalid_setting(
            &format!("{at}.AudioDescriptions"),
            "a FRAME_CAPTURE output has no audio",
        ));
    }
    for (a, description) in descriptions.iter().enumerate() {
        let pad = pads
            .audio
            .get_mut(&source_name(description))
            .and_then(|p| p.next())
            .expect("one asplit output per audio description");
        let (filters, codec) =
            audio_output(description, &format!("{at}.AudioDescriptions[{a}]"), a)?;
        args.extend(["-map".to_string(), graph.chain(&pad, &filters)]);
        args.extend(codec);
    }

    let files = OutputFiles {
        container: container_settings.as_ref(),
        extension,
        name: &name,
        local_dir: group.local_dir,
        at: format!("{at}.ContainerSettings"),
    };
    let written = match (group.kind, frame_capture) {
        (GroupKind::File, true) => frame_capture_output(&files, &mut args)?,
        (GroupKind::File, false) => file_output(&files, &mut args)?,
        (GroupKind::Hls, true) => {
            return Err(unsupported(
                &format!("{at}.VideoDescription.CodecSettings.Codec"),
                "FRAME_CAPTURE in an HLS group",
            ));
        }
        (GroupKind::Hls, false) => {
            let hls = group.hls.expect("HLS groups have options");
            hls_variant_output(&files, hls, at, &mut args)?
        }
        (GroupKind::Cmaf, true) => {
            return Err(unsupported(
                &format!("{at}.VideoDescription.CodecSettings.Codec"),
                "FRAME_CAPTURE in a CMAF group",
            ));
        }
        (GroupKind::Cmaf, false) => {
            let hls = group.hls.expect("CMAF groups have options");
            let track = if description.is_some() {
                "cmfv"
            } else {
                "cmfa"
            };
            cmaf_track_output(&files, hls, track, at, &mut args)?
        }
    };
    graph.output(args);
    Ok(OutputPlan {
        kind: written.kind,
        file_name: written.file_name,
        size: description.is_some().then_some(size),
        rate,
        free_space_box: written.free_space_box,
    })
}

/// An output's file name without extension: the group's base name and the expanded NameModifier, each part (and
/// the Extension) checked to fit in one file name.
fn output_name(
    base_name: &str,
    name_modifier: &Option<String>,
    extension: &Option<String>,
    at: &str,
    context: &OutputContext<'_>,
    (width, height): (u32, u32),
) -> Result<String, JobFailure> {
    let invalid = |field: &str, e| JobFailure::invalid_setting(&format!("{at}.{field}"), e);
    let modifier = naming::expand_modifier(
        name_modifier.as_deref().unwrap_or(""),
        context.first_input,
        width,
        height,
    )
    .map_err(|e| invalid("NameModifier", e))?;
    naming::check_file_name(&modifier).map_err(|e| invalid("NameModifier", e))?;
    if let Some(extension) = extension {
        naming::check_file_name(extension).map_err(|e| invalid("Extension", e))?;
    }
    Ok(format!("{base_name}{modifier}"))
}

/// An output's picture: the encoder's arguments and the mapped, filtered pad (with the output's image inserter)
/// appended to `args`; returns the picture's size and rate.
fn output_video(
    graph: &mut Graph,
    description: &m::VideoDescription,
    at: &str,
    context: &OutputContext<'_>,
    hls: Option<&HlsOptions>,
    pads: &mut Pads,
    args: &mut Vec<String>,
) -> Result<((u32, u32), FrameRate), JobFailure> {
    let VideoOutput {
        size,
        rate,
        filters,
        args: codec_args,
    } = video_output(description, &format!("{at}.VideoDescription"), context, hls)?;
    let mut video = pads
        .video
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
    args.extend(["-map".to_string(), graph.chain(&video, &filters)]);
    args.extend(codec_args);
    Ok((size, rate))
}

/// Where an output's files go, and the container settings that say how they are written.
struct OutputFiles<'a> {
    container: Option<&'a m::ContainerSettings>,
    /// The output's Extension.
    extension: &'a Option<String>,
    /// The output's name: the destination's base name with the NameModifier.
    name: &'a str,
    local_dir: &'a Path,
    /// The ContainerSettings field, for errors.
    at: String,
}

impl OutputFiles<'_> {
    fn container_type(&self) -> Option<m::ContainerType> {
        self.container.and_then(|c| c.container)
    }

    /// The local path of `file_name`, as ffmpeg's argument.
    fn path(&self, file_name: &str) -> String {
        self.local_dir.join(file_name).display().to_string()
    }
}

/// What an output writes.
struct Written {
    kind: RenditionKind,
    file_name: String,
    free_space_box: Option<bool>,
}

impl Written {
    fn new(kind: RenditionKind, file_name: String) -> Self {
        Self {
            kind,
            file_name,
            free_space_box: None,
        }
    }
}

/// FRAME_CAPTURE in a file group: numbered JPEG stills, RAW container (or none).
fn frame_capture_output(
    files: &OutputFiles<'_>,
    args: &mut Vec<String>,
) -> Result<Written, JobFailure> {
    if let Some(c) = files
        .container_type()
        .filter(|c| *c != m::ContainerType::Raw)
    {
        return Err(unsupported(&format!("{}.Container", files.at), c));
    }
    reject_container_members(files.container, &files.at, None)?;
    let name = files.name;
    let extension = files.extension.clone().unwrap_or_else(|| "jpg".into());
    args.extend(["-f", "image2", "-start_number", "0"].map(String::from));
    args.push(files.path(&format!("{name}.%07d.{extension}")));
    Ok(Written::new(
        RenditionKind::FrameCapture,
        format!("{name}.{extension}"),
    ))
}

/// One media file in a file group (MP4, MPEG-TS).
fn file_output(files: &OutputFiles<'_>, args: &mut Vec<String>) -> Result<Written, JobFailure> {
    let at = &files.at;
    let container_type = *required(&format!("{at}.Container"), &files.container_type())?;
    let FileContainer {
        format,
        extension: default_extension,
        muxer,
        include_free_box,
    } = file_container(
        files.container.expect("container is set"),
        container_type,
        at,
    )?;
    let extension = files
        .extension
        .clone()
        .unwrap_or_else(|| default_extension.into());
    let file_name = format!("{}.{extension}", files.name);
    args.extend(["-f".to_string(), format.to_string()]);
    args.extend(muxer);
    args.push(files.path(&file_name));
    Ok(Written {
        free_space_box: include_free_box,
        ..Written::new(RenditionKind::File, file_name)
    })
}

/// Checks a segmented output's container type (HLS: M3U8, CMAF: CMFC) and its Extension: segmented outputs name
/// their files themselves.
fn check_segmented_container(
    files: &OutputFiles<'_>,
    expected: m::ContainerType,
    at: &str,
) -> Result<(), JobFailure> {
    if let Some(c) = files.container_type().filter(|c| *c != expected) {
        return Err(unsupported(&format!("{}.Container", files.at), c));
    }
    reject(&format!("{at}.Extension"), files.extension)
}

/// An HLS variant: a child playlist and its MPEG-TS segments (or one file with byte ranges).
fn hls_variant_output(
    files: &OutputFiles<'_>,
    hls: &HlsOptions,
    at: &str,
    args: &mut Vec<String>,
) -> Result<Written, JobFailure> {
    check_segmented_container(files, m::ContainerType::M3u8, at)?;
    if let Some(m::ContainerSettings {
        m3u8_settings: Some(settings),
        ..
    }) = files.container
    {
        let m::M3u8Settings {
            audio_duration: _,
            pat_interval,
            pmt_interval,
        } = settings;
        reject(
            &format!("{}.M3u8Settings.PmtInterval", files.at),
            pmt_interval,
        )?;
        if let Some(ms) = pat_interval {
            args.extend([
                "-pat_period".to_string(),
                format!("{}", f64::from(*ms) / 1000.0),
            ]);
        }
    }
    reject_container_members(files.container, &files.at, Some(m::ContainerType::M3u8))?;
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
            files.path(&format!("{}_%05d.ts", files.name)),
        ]);
    }
    let file_name = format!("{}.m3u8", files.name);
    args.push(files.path(&file_name));
    Ok(Written::new(RenditionKind::HlsVariant, file_name))
}

/// A CMAF track: a child playlist, an init segment and fragmented MP4 segments with the extension `track`
/// (`cmfv` for video, `cmfa` for audio).
fn cmaf_track_output(
    files: &OutputFiles<'_>,
    hls: &HlsOptions,
    track: &str,
    at: &str,
    args: &mut Vec<String>,
) -> Result<Written, JobFailure> {
    check_segmented_container(files, m::ContainerType::Cmfc, at)?;
    if let Some(m::ContainerSettings {
        cmfc_settings: Some(settings),
        ..
    }) = files.container
    {
        // AudioDuration: audio always matches the video's length here (see the module documentation).
        let m::CmfcSettings {
            audio_duration: _,
            i_frame_only_manifest,
        } = settings;
        if let Some(include) = i_frame_only_manifest.filter(|i| *i == m::IncludeExclude::Include) {
            return Err(unsupported(
                &format!("{}.CmfcSettings.IFrameOnlyManifest", files.at),
                include,
            ));
        }
    }
    reject_container_members(files.container, &files.at, Some(m::ContainerType::Cmfc))?;
    let name = files.name;
    args.extend(hls_muxer_args(hls));
    args.extend([
        "-hls_flags".to_string(),
        "independent_segments".to_string(),
        "-hls_segment_type".to_string(),
        "fmp4".to_string(),
        "-hls_fmp4_init_filename".to_string(),
        format!("{name}_init.{track}"),
        "-hls_segment_filename".to_string(),
        files.path(&format!("{name}_%05d.{track}")),
    ]);
    let file_name = format!("{name}.m3u8");
    args.push(files.path(&file_name));
    Ok(Written::new(RenditionKind::CmafTrack, file_name))
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
) -> Result<(), JobFailure> {
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
) -> Result<FileContainer, JobFailure> {
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
