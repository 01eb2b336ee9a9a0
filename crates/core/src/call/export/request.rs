//! The export as a render request: one tiled scene per interval of the layout, the heard tracks as placed sounds.
//! The export route builds it and starts the render state machine with it; the chunked render flow does the rest
//! (frame-exact chunks, one MediaConvert job per chunk, the sound mixed once, the join without re-encoding).

use super::{ExportLayout, ExportTrack};
use crate::call::TrackRole;
use crate::call::composition::CompositionState;
use crate::job::FrameRate;
use crate::render::{
    Chunking, PlacedSound, RenderError, RenderOutput, RenderRequest, Renderer, Scene, SceneTile,
};

/// Where the export goes, under which render id, and how it is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportTarget {
    /// The render id (1..=64 of `A-Za-z0-9._-`): the export's id.
    pub render_id: String,
    /// `s3://bucket/{prefix}rooms/{room_id}/{recording_id}/processed/exports/{export_id}.mp4`.
    pub uri: String,
    /// Chunk limits (the render flow's defaults: chunks of at most 120 s, 10 at once).
    pub chunking: Chunking,
    /// Who renders each chunk's job: MediaConvert, or a function running it on the engine (`docs/calls.md`,
    /// "Rendering the export").
    pub renderer: Renderer,
}

/// The render request drawing `layout` (laid out by [`super::export_layout`] from `state` and `tracks`) to
/// `target`, at the state's size and rate.
///
/// Interval boundaries are rounded to the nearest output frame; an interval shorter than half a frame disappears.
/// Each tile starts in its track where the scene starts on the call's time (its offset subtracted). Sound: each
/// `av` track of a peer the state does not mute, placed at its offset for its length (cut at the export's end);
/// screenshares are silent. The request is validated before it is returned.
pub fn export_request(
    state: &CompositionState,
    tracks: &[ExportTrack],
    layout: &ExportLayout,
    target: &ExportTarget,
) -> Result<RenderRequest, RenderError> {
    let fps = state.export.fps;
    let rate = FrameRate::per_second(fps);
    let seconds = |frames: u64| frames as f64 / f64::from(fps);
    let total_frames = rate.frame_at_ms(layout.duration_ms);
    let mut scenes = Vec::with_capacity(layout.intervals.len());
    for (index, interval) in layout.intervals.iter().enumerate() {
        let first = rate.frame_at_ms(interval.start_ms);
        let end = rate.frame_at_ms(interval.end_ms);
        if end <= first {
            continue;
        }
        let start_ms = rate.ms_of_frames(first);
        let tiles = interval
            .tiles
            .iter()
            .map(|tile| {
                let track = &tracks[tile.track];
                SceneTile {
                    video: track.uri.clone(),
                    start_s: start_ms.saturating_sub(track.offset_ms) as f64 / 1000.0,
                    x: tile.rect.x,
                    y: tile.rect.y,
                    width: tile.rect.width,
                    height: tile.rect.height,
                }
            })
            .collect();
        scenes.push(Scene::tiled(
            format!("interval-{index}"),
            seconds(end - first),
            tiles,
        ));
    }
    let muted = |track: &ExportTrack| {
        state
            .tracks
            .iter()
            .any(|s| s.muted && s.peer_id == track.peer_id.as_str())
    };
    let sounds = tracks
        .iter()
        .filter(|t| t.role == TrackRole::Av && !muted(t))
        .filter_map(|track| {
            let first = rate.frame_at_ms(track.offset_ms);
            let end = rate.frame_at_ms(track.end_ms()).min(total_frames);
            (end > first).then(|| PlacedSound {
                source: track.uri.clone(),
                at_s: seconds(first),
                start_s: 0.0,
                duration_s: seconds(end - first),
                volume: None,
            })
        })
        .collect();
    let (width, height) = state.export.size();
    let request = RenderRequest {
        render_id: target.render_id.clone(),
        output: RenderOutput {
            uri: target.uri.clone(),
            width,
            height,
            fps,
            thumbnails: None,
        },
        scenes,
        soundtrack: None,
        sounds,
        chunking: target.chunking.clone(),
        renderer: target.renderer.clone(),
    };
    request.validate()?;
    Ok(request)
}
