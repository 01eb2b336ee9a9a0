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
    GroupKind, GroupPlan, MediaMap, OutputKind, OutputPlan, reject, required, unsupported,
};
use crate::graph::Graph;
use crate::lifecycle::JobError;
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

fn split_destination(base: &str) -> (String, String) {
    match base.rfind('/') {
        Some(i) => (base[..=i].to_string(), base[i + 1..].to_string()),
        None => (String::new(), base.to_string()),
    }
}

pub(super) fn output_group(
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
