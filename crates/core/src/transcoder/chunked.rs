//! Long jobs of the ffmpeg backend on Lambda, in chunks (`statemachines/transcode.asl.json`).
//!
//! One invocation encodes a job in about its length's worth of CPU time and stops at Lambda's 15 minutes, so a
//! long composite cannot be one invocation. The transcoder lays such a job out as a render request: one scene per
//! stretch of the timeline where the same pictures show (the base input full frame, the overlay in its rectangle
//! over it), the base input's sound placed on the timeline. The render flow's pieces then run it: frame-exact
//! chunks rendered in parallel by the transcoder's chunk invocation (core's `chunk_job`, each chunk starting on a
//! key frame of a closed GOP), the sound mixed once over the whole timeline, the chunks joined without re-encoding.
//! The whole job's events (PROGRESSING when it starts, COMPLETE or ERROR when the flow ends) carry its id and its
//! `UserMetadata`, so the notifier sees one job, as with MediaConvert.
//!
//! Only the shapes vidpipe's builders make for a recording are laid out (`composite_job`, `single_job`): one file
//! input on ZEROBASED timecodes without clippings, at most one overlay (a file played ONCE, placed in pixels, opaque,
//! without crop or transitions, starting at a timecode of the base or clipped at its own start), and one MP4 file
//! output with video and at most one audio track. Any other job runs whole ([`RunsWhole`] says why).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::job::{
    ContainerType, CreateJobRequest, FrameRate, Input, InputTimecodeSource, MediaInfo,
    OutputGroupType, VideoOverlay, VideoOverlayPlayback, VideoOverlayUnit, timecode_frame,
};
use crate::render::{
    Chunking, FPS_RANGE, PlacedSound, PlannedChunk, RenderOutput, RenderRequest, Renderer, Scene,
    SceneTile,
};

/// Why a job runs whole instead of in chunks: its shape is not one the chunked flow lays out, or its sources'
/// probe results leave its length unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the job runs whole: {0}")]
pub struct RunsWhole(pub String);

fn whole<T>(why: impl Into<String>) -> Result<T, RunsWhole> {
    Err(RunsWhole(why.into()))
}

/// The overlay of a chunkable job.
#[derive(Debug, Clone, PartialEq)]
struct Overlay<'a> {
    uri: &'a str,
    /// The base input's timecode where it appears.
    start_timecode: Option<&'a str>,
    /// Its own timecode where it starts playing.
    clip_timecode: Option<&'a str>,
    /// x, y, width, height in pixels of the base input's frame.
    rect: [i32; 4],
}

/// A job whose shape the chunked flow lays out ([`ChunkableJob::of`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkableJob<'a> {
    base: &'a str,
    has_sound: bool,
    overlay: Option<Overlay<'a>>,
    output_uri: String,
    size: (u32, u32),
}

impl<'a> ChunkableJob<'a> {
    /// The job's shape, if it is one the chunked flow lays out.
    pub fn of(job: &'a CreateJobRequest) -> Result<Self, RunsWhole> {
        let settings = &job.settings;
        let [input] = settings.inputs.as_deref().unwrap_or_default() else {
            return whole("it has more or fewer inputs than one");
        };
        let base = base_input(input)?;
        let overlay = match input.video_overlays.as_deref().unwrap_or_default() {
            [] => None,
            [overlay] => Some(overlay_shape(overlay)?),
            _ => return whole("it has more than one overlay"),
        };
        let [group] = settings.output_groups.as_deref().unwrap_or_default() else {
            return whole("it has more or fewer output groups than one");
        };
        let group_settings = group.output_group_settings.as_ref();
        let destination = match group_settings {
            Some(s) if s.group_type == Some(OutputGroupType::FileGroupSettings) => s
                .file_group_settings
                .as_ref()
                .and_then(|f| f.destination.as_deref()),
            _ => None,
        };
        let Some(destination) = destination.filter(|d| !d.ends_with('/')) else {
            return whole("its output group is not a file group with a named destination");
        };
        let [output] = group.outputs.as_deref().unwrap_or_default() else {
            return whole("its file group has more or fewer outputs than one");
        };
        let container = output.container_settings.as_ref().and_then(|c| c.container);
        if container != Some(ContainerType::Mp4)
            || output.extension.as_deref().is_some_and(|e| e != "mp4")
        {
            return whole("its output is not an MP4 file");
        }
        let video = output.video_description.as_ref();
        let (Some(width), Some(height)) = (
            video
                .and_then(|v| v.width)
                .and_then(|w| u32::try_from(w).ok()),
            video
                .and_then(|v| v.height)
                .and_then(|h| u32::try_from(h).ok()),
        ) else {
            return whole("its output has no video of a stated size");
        };
        let audio = output.audio_descriptions.as_deref().unwrap_or_default();
        if audio.len() > 1 {
            return whole("its output has more than one audio track");
        }
        let modifier = output.name_modifier.as_deref().unwrap_or_default();
        Ok(Self {
            base,
            has_sound: !audio.is_empty() && input.audio_selectors.is_some(),
            overlay,
            output_uri: format!("{destination}{modifier}.mp4"),
            size: (width, height),
        })
    }

    /// The files the job reads (the base input, then the overlay's): what must be probed to lay it out.
    pub fn sources(&self) -> Vec<&'a str> {
        std::iter::once(self.base)
            .chain(self.overlay.as_ref().map(|o| o.uri))
            .collect()
    }

    /// Where the job writes its MP4: its file group's destination, name modifier and `.mp4`.
    pub fn output_uri(&self) -> &str {
        &self.output_uri
    }

    /// The job as render request `render_id`, with the probe results of its [`sources`](Self::sources) in
    /// `media`. The frame rate is the base input's (rounded to whole frames per second; 30 when the probe states
    /// a clock rate, as for a browser's WebM), the length the base input's; the overlay shows from its start
    /// timecode for as long as its file lasts, never past the base input's end. Its chunks are at most
    /// `chunking`'s.
    pub fn render_request(
        &self,
        render_id: &str,
        media: &BTreeMap<String, MediaInfo>,
        chunking: Chunking,
    ) -> Result<RenderRequest, RunsWhole> {
        let probed = |uri: &str| {
            media
                .get(uri)
                .ok_or_else(|| RunsWhole(format!("{uri} was not probed")))
        };
        let base = probed(self.base)?;
        let Some(duration_ms) = base.duration_ms.filter(|d| *d > 0) else {
            return whole(format!("the length of {} is unknown", self.base));
        };
        // The builders wrote the base's timecodes at this rate.
        let base_rate = base.frame_rate_or_fallback();
        let fps = if base_rate.is_recording_rate() {
            base_rate.fps().round() as u32
        } else {
            FrameRate::FALLBACK.numerator
        };
        if !FPS_RANGE.contains(&fps) {
            return whole(format!("{} runs at {} fps", self.base, base_rate.fps()));
        }
        let rate = FrameRate::per_second(fps);
        let total = rate.frame_at_ms(duration_ms);
        let (width, height) = self.size;
        let seconds = |frames: u64| frames as f64 / f64::from(fps);
        let overlay = match &self.overlay {
            Some(overlay) => {
                Some(self.overlay_span(overlay, probed(overlay.uri)?, base, rate, total)?)
            }
            None => None,
        };
        let mut cuts = vec![0, total];
        if let Some(span) = &overlay {
            cuts.extend([span.first, span.end]);
        }
        cuts.sort_unstable();
        cuts.dedup();
        let scenes = cuts
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                let (first, end) = (pair[0], pair[1]);
                let mut tiles = vec![SceneTile {
                    video: self.base.to_owned(),
                    start_s: seconds(first),
                    x: 0,
                    y: 0,
                    width,
                    height,
                }];
                if let Some(span) = overlay
                    .as_ref()
                    .filter(|s| s.first <= first && first < s.end)
                {
                    tiles.push(SceneTile {
                        video: span.uri.to_owned(),
                        start_s: span.start_s + seconds(first - span.first),
                        ..span.tile.clone()
                    });
                }
                Scene::tiled(format!("stretch-{index}"), seconds(end - first), tiles)
            })
            .collect();
        let sounds = self
            .has_sound
            .then(|| PlacedSound {
                source: self.base.to_owned(),
                at_s: 0.0,
                start_s: 0.0,
                duration_s: seconds(total),
                volume: None,
            })
            .into_iter()
            .collect();
        let request = RenderRequest {
            render_id: render_id.to_owned(),
            output: RenderOutput {
                uri: self.output_uri.clone(),
                width,
                height,
                fps,
                thumbnails: None,
            },
            scenes,
            soundtrack: None,
            sounds,
            chunking,
            // Not read: the transcode state machine renders every chunk with the transcoder.
            renderer: Renderer::default(),
        };
        request
            .validate()
            .map_err(|e| RunsWhole(format!("its render request is not valid: {e}")))?;
        Ok(request)
    }

    /// Where the overlay shows, in output frames, where its file starts, and its tile in output pixels.
    fn overlay_span(
        &self,
        overlay: &Overlay<'a>,
        info: &MediaInfo,
        base: &MediaInfo,
        rate: FrameRate,
        total: u64,
    ) -> Result<OverlaySpan<'a>, RunsWhole> {
        let frame_of =
            |tc: &str, at: FrameRate| timecode_frame(tc, at).map_err(|e| RunsWhole(e.to_string()));
        let base_rate = base.frame_rate_or_fallback();
        let first = match overlay.start_timecode {
            Some(tc) => rate.frame_at_ms(base_rate.ms_of_frames(frame_of(tc, base_rate)?)),
            None => 0,
        };
        let own_rate = info.frame_rate_or_fallback();
        let start_ms = match overlay.clip_timecode {
            Some(tc) => own_rate.ms_of_frames(frame_of(tc, own_rate)?),
            None => 0,
        };
        let end = match info.duration_ms {
            Some(length) => first + rate.frame_at_ms(length.saturating_sub(start_ms)),
            None => total,
        };
        // The overlay is placed on the base input's frame; the output is that frame scaled to its size.
        let frame = base.display_size();
        let (width, height) = self.size;
        let sx = f64::from(width) / f64::from(frame.width.max(1));
        let sy = f64::from(height) / f64::from(frame.height.max(1));
        let [x, y, w, h] = overlay.rect;
        let even = |v: f64, limit: u32| (((v / 2.0).round() * 2.0).max(2.0) as u32).min(limit);
        let tile_width = even(f64::from(w) * sx, width);
        let tile_height = even(f64::from(h) * sy, height);
        let tile = SceneTile {
            video: String::new(),
            start_s: 0.0,
            x: ((f64::from(x.max(0)) * sx).round() as u32).min(width - tile_width),
            y: ((f64::from(y.max(0)) * sy).round() as u32).min(height - tile_height),
            width: tile_width,
            height: tile_height,
        };
        Ok(OverlaySpan {
            uri: overlay.uri,
            first: first.min(total),
            end: end.min(total),
            start_s: start_ms as f64 / 1000.0,
            tile,
        })
    }
}

/// Where an overlay shows: output frames `[first, end)`, from `start_s` into its file, in `tile`.
struct OverlaySpan<'a> {
    uri: &'a str,
    first: u64,
    end: u64,
    start_s: f64,
    tile: SceneTile,
}

/// The base input of a chunkable job: a file, ZEROBASED, whole, without images; answers its URI.
fn base_input(input: &Input) -> Result<&str, RunsWhole> {
    let Some(uri) = input.file_input.as_deref() else {
        return whole("its input is not a file");
    };
    if input.video_generator.is_some()
        || input
            .input_clippings
            .as_ref()
            .is_some_and(|c| !c.is_empty())
        || input.timecode_source != Some(InputTimecodeSource::Zerobased)
        || input.image_inserter.is_some()
    {
        return whole("its input is clipped, not ZEROBASED, or carries images");
    }
    Ok(uri)
}

/// The overlay of a chunkable job, as the composite builder writes it.
fn overlay_shape(overlay: &VideoOverlay) -> Result<Overlay<'_>, RunsWhole> {
    let input = overlay.input.as_ref();
    let Some(uri) = input.and_then(|i| i.file_input.as_deref()) else {
        return whole("its overlay is not a file");
    };
    let clippings = input
        .and_then(|i| i.input_clippings.as_deref())
        .unwrap_or_default();
    let clip_timecode = match clippings {
        [] => None,
        [clip] if clip.end_timecode.is_none() => clip.start_timecode.as_deref(),
        _ => return whole("its overlay is clipped at its end or more than once"),
    };
    let position = overlay.initial_position.as_ref();
    let rect = position.and_then(|p| Some([p.x_position?, p.y_position?, p.width?, p.height?]));
    let Some(rect) = rect.filter(|r| r[2] > 0 && r[3] > 0) else {
        return whole("its overlay has no position and size");
    };
    let opaque = position.and_then(|p| p.opacity).is_none_or(|o| o == 100);
    if input.and_then(|i| i.timecode_source) != Some(InputTimecodeSource::Zerobased)
        || overlay.end_timecode.is_some()
        || overlay.playback != Some(VideoOverlayPlayback::Once)
        || overlay.transitions.is_some()
        || overlay.crop.is_some()
        || position.and_then(|p| p.unit) == Some(VideoOverlayUnit::Percentage)
        || !opaque
    {
        return whole(
            "its overlay ends early, repeats, moves, is cropped, translucent or in percent",
        );
    }
    Ok(Overlay {
        uri,
        start_timecode: overlay.start_timecode.as_deref(),
        clip_timecode,
        rect,
    })
}

/// A job laid out in chunks: the transcode state machine's input, written by the transcoder when it starts the
/// execution, and what its later steps read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkedJob {
    /// The job's id (the execution's name).
    pub job_id: String,
    /// The job's `UserMetadata`, carried by its events.
    pub user_metadata: BTreeMap<String, String>,
    /// The stored render request the chunks are rendered from.
    pub request_uri: String,
    /// The stored probe results of its sources.
    pub media_uri: String,
    /// The job's output: its MP4, size and frame rate.
    pub output: RenderOutput,
    /// Frames of the output.
    pub total_frames: u64,
    /// Chunks rendered at once.
    pub max_concurrency: u32,
    /// The chunks, each the chunk invocation's `chunk`.
    pub chunks: Vec<PlannedChunk>,
    /// Where the mixed sound goes, when the job has sound.
    pub soundtrack_uri: Option<String>,
    /// What laying the job out cost on Lambda, in micro-dollars (added to the chunks' in the COMPLETE event).
    pub planning_cost_micro_usd: u64,
}

#[cfg(test)]
mod tests;
