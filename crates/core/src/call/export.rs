//! The export of a call recording: the layout rule that turns a Composition State and the call's tracks into
//! intervals of tiles ([`export_layout`]), and the render request that draws them on the chunked render flow
//! ([`export_request`], in [`request`]).
//!
//! # The rule
//! Time is the call's (ms from time zero). The export lasts until the last track ends (the real duration; timeline
//! events at or after it are ignored). It is cut into intervals at every timeline event and at every track's start
//! and end, so within an interval the set of running tracks, the layout and the pin do not change:
//!
//! - A peer is **visible** while one of its `av` tracks runs (a peer who joins late appears when its track starts;
//!   a peer between two tracks, or gone, is not shown). Several running `av` tracks of one peer: the latest started.
//! - The **featured** peer (speaker and pin layouts) is the peer of the latest pin event at or before the interval,
//!   if visible; otherwise the visible peer whose track started first (ties: peer id). There is no audio-based
//!   active-speaker detection: it would need every track's audio decoded and analysed before the chunks are
//!   planned (minutes of CPU for a long call, on the critical path of every export), and it would override what the
//!   editor chose on the timeline and saw in its preview; the editor's pins are the speaker changes.
//! - **grid**: every visible peer in a tile of an even grid (`ceil(sqrt(n))` columns, the last row centred).
//! - **speaker**: the featured peer in the main tile (the frame above a strip of [`STRIP_FRACTION`] of its
//!   height), the other visible peers in the strip, each in a cell of at most a quarter of the width, centred.
//! - **pin**: the featured peer alone, over the whole frame (the others are heard, not shown).
//! - A **screenshare** running takes the main tile, whatever the layout: grid and speaker show it above the strip
//!   of every visible peer; pin shows it alone. Several at once: the latest started.
//!
//! Every picture keeps its track's aspect ratio inside its tile ([`fit`]), centred, on even pixels. Adjacent
//! intervals that show the same tracks in the same places are merged.
//!
//! Sound does not follow the tiles: every `av` track of a peer not muted in the state is heard for its whole length
//! (a pinned layout's hidden peers too), mixed once for the whole export; screenshares are silent.

pub mod request;
pub mod start;

use std::collections::{BTreeMap, BTreeSet};

use super::composition::{CompositionState, Layout, TimelineEvent};
use super::{PeerId, TrackRole, UploadedTrack};
use crate::job::pip::Rect;
use crate::job::{MediaInfo, Size};

pub use request::{ExportTarget, export_request};
pub use start::{
    CallExport, EXPORT_THUMBNAILS, ExportAsk, ExportRefusal, ExportStart, ExportState,
    export_event, parse_export_request, plan_export,
};

/// The strip's height in the speaker layout (and under a screenshare), as a fraction of the frame's height.
pub const STRIP_FRACTION: f64 = 0.2;
/// The strip's cells are at most this fraction of the frame's width: with few peers, tiles stay small.
pub const STRIP_CELL_MAX_FRACTION: f64 = 0.25;

/// One track of the call, as the export takes it: its peer and role, its file, its place on the call's time, and
/// its probed picture size.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportTrack {
    /// The peer.
    pub peer_id: PeerId,
    /// What it carries.
    pub role: TrackRole,
    /// Its file, `s3://bucket/key`.
    pub uri: String,
    /// Its start after the call's time zero, ms (`Call::offset_ms`).
    pub offset_ms: u64,
    /// Its probed length, ms.
    pub duration_ms: u64,
    /// Its picture as displayed (probed, rotation applied).
    pub size: Size,
}

impl ExportTrack {
    /// When it ends on the call's time, ms.
    pub fn end_ms(&self) -> u64 {
        self.offset_ms + self.duration_ms
    }

    fn runs_at(&self, t: u64) -> bool {
        self.offset_ms <= t && t < self.end_ms()
    }
}

/// One track shown in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedTile {
    /// The track: an index into the tracks given to [`export_layout`].
    pub track: usize,
    /// Where its picture goes in the export's frame, in pixels (aspect kept, inside its tile).
    pub rect: Rect,
}

/// A span of the export during which the same tracks are shown in the same places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportInterval {
    /// First ms (call time).
    pub start_ms: u64,
    /// One past the last ms.
    pub end_ms: u64,
    /// The layout in force.
    pub layout: Layout,
    /// The track in the main tile (speaker or pin, or a screenshare), if any.
    pub main: Option<usize>,
    /// What is shown: main tile first, then the grid or strip in order.
    pub tiles: Vec<PlacedTile>,
}

/// The whole export: its frame, its length, its intervals (contiguous, from 0 to `duration_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLayout {
    /// The frame size.
    pub size: Size,
    /// The export's length, ms: until the last track ends.
    pub duration_ms: u64,
    /// The intervals, in order.
    pub intervals: Vec<ExportInterval>,
}

impl ExportLayout {
    /// The interval showing time `t` (ms), if `t` is within the export.
    pub fn at(&self, t: u64) -> Option<&ExportInterval> {
        self.intervals
            .iter()
            .find(|i| i.start_ms <= t && t < i.end_ms)
    }
}

/// Why an export cannot be laid out or drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    /// A track's key, the room or the recording id is not one of the call's by the key rules.
    #[error("`{0}` is not a track of this call")]
    NotThisCall(String),
    /// The render request drawing it breaks a rule of render requests.
    #[error(transparent)]
    Request(#[from] crate::render::RenderError),
    /// No track has any length.
    #[error("the call has no track with a probed length: there is nothing to export")]
    NoMedia,
    /// A track has no probe results, or its probe states no length.
    #[error("track {0} has no probed length: probe it before the export is laid out")]
    NotProbed(String),
    /// A track's probed picture is empty.
    #[error("track {0} has no picture size")]
    NoPicture(String),
}

/// The tracks an export is made from ([`UploadedTrack`]s: their keys and offsets from the call's time zero) as
/// the layout takes them: each one's file, `s3://{bucket}/{key}`, and its length and displayed size from `media`
/// (probe results by that URI, as the chunker gathers them). A track without probe results or whose probe states no
/// length is [`ExportError::NotProbed`]: it could not be placed on the export's time.
pub fn export_tracks(
    tracks: &[UploadedTrack],
    bucket: &str,
    media: &BTreeMap<String, MediaInfo>,
) -> Result<Vec<ExportTrack>, ExportError> {
    tracks
        .iter()
        .map(|track| {
            let uri = format!("s3://{bucket}/{}", track.key);
            let info = media.get(&uri);
            let Some((info, duration_ms)) = info.and_then(|i| Some((i, i.duration_ms?))) else {
                return Err(ExportError::NotProbed(uri));
            };
            Ok(ExportTrack {
                peer_id: track.peer_id.clone(),
                role: track.role,
                offset_ms: track.offset_ms,
                duration_ms,
                size: info.display_size(),
                uri,
            })
        })
        .collect()
}

/// Lays out the export of `tracks` following `state` (the rule of the module's documentation).
pub fn export_layout(
    state: &CompositionState,
    tracks: &[ExportTrack],
) -> Result<ExportLayout, ExportError> {
    if let Some(t) = tracks
        .iter()
        .find(|t| t.size.width == 0 || t.size.height == 0)
    {
        return Err(ExportError::NoPicture(t.uri.clone()));
    }
    let duration_ms = tracks.iter().map(ExportTrack::end_ms).max().unwrap_or(0);
    if duration_ms == 0 {
        return Err(ExportError::NoMedia);
    }
    let (width, height) = state.export.size();
    let frame = Size::new(width, height);
    let mut cuts: BTreeSet<u64> = BTreeSet::from([0, duration_ms]);
    cuts.extend(state.timeline.iter().map(TimelineEvent::t));
    cuts.extend(tracks.iter().flat_map(|t| [t.offset_ms, t.end_ms()]));
    let cuts: Vec<u64> = cuts.into_iter().filter(|t| *t <= duration_ms).collect();

    let mut intervals: Vec<ExportInterval> = Vec::new();
    for pair in cuts.windows(2) {
        let (start_ms, end_ms) = (pair[0], pair[1]);
        let (layout, pinned) = state_at(state, start_ms);
        let (main, tiles) = arrange(frame, tracks, start_ms, layout, pinned);
        match intervals.last_mut() {
            Some(last) if last.layout == layout && last.main == main && last.tiles == tiles => {
                last.end_ms = end_ms;
            }
            _ => intervals.push(ExportInterval {
                start_ms,
                end_ms,
                layout,
                main,
                tiles,
            }),
        }
    }
    Ok(ExportLayout {
        size: frame,
        duration_ms,
        intervals,
    })
}

/// The layout and the pinned peer in force at `t`: the state's layout changed by every event at or before `t`.
fn state_at(state: &CompositionState, t: u64) -> (Layout, Option<&str>) {
    let mut layout = state.layout;
    let mut pinned = None;
    for event in state.timeline.iter().take_while(|e| e.t() <= t) {
        match event {
            TimelineEvent::Layout { layout: l, .. } => layout = *l,
            TimelineEvent::Pin { peer_id, .. } => pinned = Some(peer_id.as_str()),
        }
    }
    (layout, pinned)
}

/// The latest-started running track of each peer with `role` at `t`, as indices, by peer id.
fn running(tracks: &[ExportTrack], role: TrackRole, t: u64) -> Vec<usize> {
    let mut by_peer: Vec<usize> = Vec::new();
    for (i, track) in tracks.iter().enumerate() {
        if track.role != role || !track.runs_at(t) {
            continue;
        }
        match by_peer
            .iter_mut()
            .find(|j| tracks[**j].peer_id == track.peer_id)
        {
            Some(j) if tracks[*j].offset_ms < track.offset_ms => *j = i,
            Some(_) => {}
            None => by_peer.push(i),
        }
    }
    by_peer.sort_by(|a, b| tracks[*a].peer_id.cmp(&tracks[*b].peer_id));
    by_peer
}

/// The main track (if any) and the tiles of an interval starting at `t`.
fn arrange(
    frame: Size,
    tracks: &[ExportTrack],
    t: u64,
    layout: Layout,
    pinned: Option<&str>,
) -> (Option<usize>, Vec<PlacedTile>) {
    let peers = running(tracks, TrackRole::Av, t);
    let screenshare = running(tracks, TrackRole::Screenshare, t)
        .into_iter()
        .max_by_key(|i| tracks[*i].offset_ms);
    let featured = pinned
        .and_then(|p| {
            peers
                .iter()
                .copied()
                .find(|i| tracks[*i].peer_id.as_str() == p)
        })
        .or_else(|| peers.iter().copied().min_by_key(|i| tracks[*i].offset_ms));
    let place = |cells: Vec<(usize, Rect)>| -> Vec<PlacedTile> {
        cells
            .into_iter()
            .map(|(track, cell)| PlacedTile {
                track,
                rect: fit(cell, tracks[track].size),
            })
            .collect()
    };
    match (layout, screenshare, featured) {
        (Layout::Pin, Some(main), _) | (Layout::Pin, None, Some(main)) => {
            (Some(main), place(vec![(main, full(frame))]))
        }
        (_, Some(main), _) => (Some(main), place(main_and_strip(frame, main, &peers))),
        (Layout::Speaker, None, Some(main)) => {
            let others: Vec<usize> = peers.iter().copied().filter(|i| *i != main).collect();
            (Some(main), place(main_and_strip(frame, main, &others)))
        }
        (Layout::Grid, None, _) => (None, place(grid(frame, &peers))),
        (_, None, None) => (None, Vec::new()),
    }
}

fn even(v: f64) -> u32 {
    ((v / 2.0).floor() * 2.0).max(2.0) as u32
}

fn full(frame: Size) -> Rect {
    Rect {
        x: 0,
        y: 0,
        width: frame.width,
        height: frame.height,
    }
}

/// `items` in an even grid over the frame: `ceil(sqrt(n))` columns, rows of equal height, the last row centred.
fn grid(frame: Size, items: &[usize]) -> Vec<(usize, Rect)> {
    if items.is_empty() {
        return Vec::new();
    }
    let n = items.len();
    let columns = (1..=n).find(|c| c * c >= n).unwrap_or(n);
    let rows = n.div_ceil(columns);
    let cell_w = even(f64::from(frame.width) / columns as f64);
    let cell_h = even(f64::from(frame.height) / rows as f64);
    items
        .chunks(columns)
        .enumerate()
        .flat_map(|(row, line)| {
            let left = even(f64::from(frame.width - cell_w * line.len() as u32) / 2.0)
                .min(frame.width - cell_w * line.len() as u32);
            line.iter().enumerate().map(move |(column, item)| {
                (
                    *item,
                    Rect {
                        x: left + cell_w * column as u32,
                        y: cell_h * row as u32,
                        width: cell_w,
                        height: cell_h,
                    },
                )
            })
        })
        .collect()
}

/// `main` over the frame above a strip of `strip` (a centred row of cells); `main` alone over the whole frame when
/// the strip is empty.
fn main_and_strip(frame: Size, main: usize, strip: &[usize]) -> Vec<(usize, Rect)> {
    if strip.is_empty() {
        return vec![(main, full(frame))];
    }
    let strip_h = even(f64::from(frame.height) * STRIP_FRACTION);
    let main_h = frame.height - strip_h;
    let cell_w = even(
        (f64::from(frame.width) / strip.len() as f64)
            .min(f64::from(frame.width) * STRIP_CELL_MAX_FRACTION),
    );
    let used = cell_w * strip.len() as u32;
    let left = if used >= frame.width {
        0
    } else {
        even(f64::from(frame.width - used) / 2.0).min(frame.width - used)
    };
    let mut cells = vec![(
        main,
        Rect {
            x: 0,
            y: 0,
            width: frame.width,
            height: main_h,
        },
    )];
    cells.extend(strip.iter().enumerate().map(|(k, item)| {
        (
            *item,
            Rect {
                x: left + cell_w * k as u32,
                y: main_h,
                width: cell_w,
                height: strip_h,
            },
        )
    }));
    cells
}

/// A `source` picture as large as it fits in `cell` with its aspect ratio kept, centred; sizes and offsets even.
pub fn fit(cell: Rect, source: Size) -> Rect {
    let scale = (f64::from(cell.width) / f64::from(source.width))
        .min(f64::from(cell.height) / f64::from(source.height));
    let width = even(f64::from(source.width) * scale).min(cell.width);
    let height = even(f64::from(source.height) * scale).min(cell.height);
    let centre = |room: u32| ((room / 2) & !1).min(room);
    Rect {
        x: cell.x + centre(cell.width - width),
        y: cell.y + centre(cell.height - height),
        width,
        height,
    }
}

#[cfg(test)]
mod tests;
