//! Audio: the source names outputs ask for, each input's audio per source, and AAC encoding.

use std::collections::BTreeMap;

use vidpipe_core::job as m;

use super::frames::frames_to_seconds;
use super::inputs::{Kept, TrackKind, keep_ranges};
use super::{Media, MediaMap, media_for, required, unsupported};
use crate::graph::Graph;
use crate::lifecycle::JobFailure;

/// Sample rate of the assembled audio timeline (outputs resample to their own rate).
const MIX_RATE: u32 = 48_000;
/// MediaConvert's default for `AudioDescription.AudioSourceName`.
const DEFAULT_AUDIO_SOURCE: &str = "Audio Selector 1";

/// The distinct audio source names the outputs ask for, in first-use order.
pub(super) fn audio_source_names(groups: &[m::OutputGroup]) -> Vec<String> {
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

pub(super) fn source_name(description: &m::AudioDescription) -> String {
    description
        .audio_source_name
        .clone()
        .unwrap_or_else(|| DEFAULT_AUDIO_SOURCE.to_string())
}

/// One audio source for one input: the named selector, else the input's DEFAULT selector, else silence; clipped
/// like the video and padded or cut to exactly the segment's length.
pub(super) fn segment_audio(
    graph: &mut Graph,
    name: &str,
    selectors: &Option<BTreeMap<String, m::AudioSelector>>,
    file: Option<&Media>,
    media: &MediaMap,
    kept: &Kept,
    at: &str,
) -> Result<String, JobFailure> {
    let samples = (kept.seconds * f64::from(MIX_RATE)).round() as u64;
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
            Err(JobFailure::input_access(
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
    if !external && !kept.is_whole() {
        audio = clip_audio(graph, &audio, kept);
    }
    Ok(graph.chain(&audio, &format!("apad,atrim=end_sample={samples}")))
}

/// Keeps the clipped ranges of an input's audio, as `clip_video` keeps its frames.
fn clip_audio(graph: &mut Graph, audio: &str, kept: &Kept) -> String {
    let (timeline, ranges) = (&kept.timeline, kept.ranges.as_slice());
    let sample =
        |frame: u64| (frames_to_seconds(frame, timeline.rate) * f64::from(MIX_RATE)).round() as u64;
    keep_ranges(graph, audio, ranges, TrackKind::Audio, |a, b| {
        format!(
            "atrim=start_sample={}:end_sample={},asetpts=PTS-STARTPTS",
            sample(a),
            sample(b + 1)
        )
    })
}

/// Audio filters and AAC encoder arguments for the `index`-th audio stream of an output.
pub(super) fn audio_output(
    description: &m::AudioDescription,
    at: &str,
    index: usize,
) -> Result<(String, Vec<String>), JobFailure> {
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
        return Err(JobFailure::invalid_setting(
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
