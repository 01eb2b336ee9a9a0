//! The Composition State a call's editor saves (`PUT /recordings/{recording_id}/composition`) and the export will
//! follow: a starting layout, a timeline of layout and pin changes, muted tracks, and the export's size and rate.
//!
//! Checked against the call's peers by [`CompositionState::parse`], every error named by its JSON path
//! (`timeline[2].peer_id`). The recording's duration is not known when a state is saved (no track has been probed
//! yet), so times are bounded by [`MAX_CALL_MS`] instead. The timeline must come sorted by `t` (equal times keep
//! their order): what is saved is exactly what was sent, so the editor reads back its own timeline.

use serde::{Deserialize, Serialize};

use super::PeerId;
use crate::validate::{FieldError, JsonFields};

/// Longest call a timeline may describe, in ms (24 hours): the bound on `t` while the duration is unknown.
pub const MAX_CALL_MS: u64 = 24 * 3_600_000;
/// Most timeline events accepted.
pub const MAX_TIMELINE_EVENTS: usize = 1000;
/// Smallest export size: width, height.
pub const MIN_EXPORT_SIZE: (u32, u32) = (160, 90);
/// Largest export size: width, height (portrait sizes fit too: 1080x1920).
pub const MAX_EXPORT_SIZE: (u32, u32) = (3840, 2160);
/// Export frame rates accepted.
pub const EXPORT_FPS: std::ops::RangeInclusive<u64> = 1..=60;

/// How the peers are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Every visible peer in a tile.
    Grid,
    /// The active or chosen speaker large, the others in a strip.
    Speaker,
    /// The pinned peer large.
    Pin,
}

impl Layout {
    fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        match value {
            "grid" => Ok(Self::Grid),
            "speaker" => Ok(Self::Speaker),
            "pin" => Ok(Self::Pin),
            _ => Err(FieldError::new(field, "must be grid, speaker or pin")),
        }
    }
}

/// One change on the timeline, at `t` ms after the call's time zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TimelineEvent {
    /// The layout changes.
    Layout {
        /// When, ms from time zero.
        t: u64,
        /// The new layout.
        layout: Layout,
    },
    /// A peer is pinned.
    Pin {
        /// When, ms from time zero.
        t: u64,
        /// The peer (one of the call's).
        peer_id: String,
    },
}

impl TimelineEvent {
    /// When it happens, ms from time zero.
    pub fn t(&self) -> u64 {
        match self {
            Self::Layout { t, .. } | Self::Pin { t, .. } => *t,
        }
    }
}

/// A peer's audio setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSetting {
    /// The peer (one of the call's).
    pub peer_id: String,
    /// Whether the export leaves its audio out.
    pub muted: bool,
}

/// The export's picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSettings {
    /// `WxH`, even sizes within [`MIN_EXPORT_SIZE`]..=[`MAX_EXPORT_SIZE`].
    pub resolution: String,
    /// Frames per second, 1–60.
    pub fps: u32,
}

impl ExportSettings {
    /// Width and height.
    pub fn size(&self) -> (u32, u32) {
        parse_resolution(&self.resolution).unwrap_or(MIN_EXPORT_SIZE)
    }
}

/// A Composition State, as saved and as sent (the wire form is the serde form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositionState {
    /// The layout at time zero.
    pub layout: Layout,
    /// Changes, sorted by `t`.
    pub timeline: Vec<TimelineEvent>,
    /// Audio settings of some peers (a peer not listed is heard).
    pub tracks: Vec<TrackSetting>,
    /// The export's size and rate.
    pub export: ExportSettings,
}

/// A saved Composition State with its version (1, 2, ...) and when it was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedComposition {
    /// The state.
    pub state: CompositionState,
    /// Its version: 1 for the first save, one more for each save after.
    pub version: u64,
    /// When it was saved, epoch ms.
    pub updated_at_ms: u64,
}

impl CompositionState {
    /// Parses and checks a `PUT .../composition` body against the call's `peers`. Unknown fields are refused.
    pub fn parse(body: &[u8], peers: &[PeerId]) -> Result<Self, FieldError> {
        let mut f = JsonFields::parse(body)?;
        let layout = Layout::parse("layout", &f.str("layout", 16)?)?;
        let timeline = f.array("timeline")?;
        let tracks = f.array("tracks")?;
        let mut export = f.nested("export")?;
        f.finish()?;
        let known = |field: &str, value: String| -> Result<String, FieldError> {
            let peer = PeerId::parse(field, &value)?;
            if peers.contains(&peer) {
                Ok(value)
            } else {
                Err(FieldError::new(field, "is not a peer of this recording"))
            }
        };
        if timeline.len() > MAX_TIMELINE_EVENTS {
            return Err(FieldError::new(
                "timeline",
                format!("must have at most {MAX_TIMELINE_EVENTS} events"),
            ));
        }
        let mut events = Vec::with_capacity(timeline.len());
        for (i, item) in timeline.into_iter().enumerate() {
            let path = format!("timeline[{i}]");
            let event = timeline_event(&path, item, &known)?;
            if let Some(previous) = events.last().map(TimelineEvent::t)
                && event.t() < previous
            {
                return Err(FieldError::new(
                    format!("{path}.t"),
                    format!(
                        "must not be before the previous event's t ({previous}): send the timeline sorted"
                    ),
                ));
            }
            events.push(event);
        }
        if tracks.len() > peers.len() {
            return Err(FieldError::new(
                "tracks",
                "must list each peer of this recording at most once",
            ));
        }
        let mut settings: Vec<TrackSetting> = Vec::with_capacity(tracks.len());
        for (i, item) in tracks.into_iter().enumerate() {
            let path = format!("tracks[{i}]");
            let mut t = JsonFields::object(&path, item)?;
            let setting = (|| {
                let peer_id = known("peer_id", t.str("peer_id", 256)?)?;
                let muted = t.bool("muted")?;
                t.finish()?;
                Ok(TrackSetting { peer_id, muted })
            })()
            .map_err(|e: FieldError| e.within(&path))?;
            if settings.iter().any(|s| s.peer_id == setting.peer_id) {
                return Err(FieldError::new(
                    format!("{path}.peer_id"),
                    "is listed twice",
                ));
            }
            settings.push(setting);
        }
        let export = export_settings(&mut export)
            .and_then(|s| export.finish().map(|()| s))
            .map_err(|e| e.within("export"))?;
        Ok(Self {
            layout,
            timeline: events,
            tracks: settings,
            export,
        })
    }
}

fn timeline_event(
    path: &str,
    item: serde_json::Value,
    known: &impl Fn(&str, String) -> Result<String, FieldError>,
) -> Result<TimelineEvent, FieldError> {
    let mut e = JsonFields::object(path, item)?;
    let event = (|| {
        let t = e.u64("t")?;
        if t > MAX_CALL_MS {
            return Err(FieldError::new(
                "t",
                format!(
                    "must be at most {MAX_CALL_MS} ms (24 hours) after the recording's time zero"
                ),
            ));
        }
        let event = match e.str("type", 16)?.as_str() {
            "layout" => TimelineEvent::Layout {
                t,
                layout: Layout::parse("layout", &e.str("layout", 16)?)?,
            },
            "pin" => TimelineEvent::Pin {
                t,
                peer_id: known("peer_id", e.str("peer_id", 256)?)?,
            },
            _ => return Err(FieldError::new("type", "must be layout or pin")),
        };
        e.finish()?;
        Ok(event)
    })();
    event.map_err(|e| e.within(path))
}

fn export_settings(f: &mut JsonFields) -> Result<ExportSettings, FieldError> {
    let resolution = f.str("resolution", 16)?;
    let (min, max) = (MIN_EXPORT_SIZE, MAX_EXPORT_SIZE);
    if parse_resolution(&resolution).is_none() {
        return Err(FieldError::new(
            "resolution",
            format!(
                "must be WxH with even sizes from {}x{} to {}x{}",
                min.0, min.1, max.0, max.1
            ),
        ));
    }
    let fps = f.u64("fps")?;
    if !EXPORT_FPS.contains(&fps) {
        return Err(FieldError::new("fps", "must be an integer from 1 to 60"));
    }
    Ok(ExportSettings {
        resolution,
        fps: fps as u32,
    })
}

/// `WxH` as (W, H) when both are even and within the bounds; `None` otherwise.
fn parse_resolution(value: &str) -> Option<(u32, u32)> {
    let (w, h) = value.split_once('x')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(w) || !digits(h) {
        return None;
    }
    let (w, h): (u32, u32) = (w.parse().ok()?, h.parse().ok()?);
    let fits = (MIN_EXPORT_SIZE.0..=MAX_EXPORT_SIZE.0).contains(&w)
        && (MIN_EXPORT_SIZE.1..=MAX_EXPORT_SIZE.1).contains(&h);
    (fits && w.is_multiple_of(2) && h.is_multiple_of(2)).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers() -> Vec<PeerId> {
        ["peer-1", "peer-2", "peer-7"]
            .iter()
            .map(|p| PeerId::parse("peer_id", p).unwrap())
            .collect()
    }

    const CONTRACT: &str = r#"{"layout": "speaker", "timeline": [{"t": 0, "type": "layout", "layout": "grid"},
        {"t": 120000, "type": "pin", "peer_id": "peer-7"}], "tracks": [{"peer_id": "peer-1", "muted": false},
        {"peer_id": "peer-2", "muted": true}], "export": {"resolution": "1920x1080", "fps": 30}}"#;

    #[test]
    fn the_issues_example_is_accepted_and_round_trips_in_its_wire_form() {
        let state = CompositionState::parse(CONTRACT.as_bytes(), &peers()).unwrap();
        assert_eq!(state.layout, Layout::Speaker);
        assert_eq!(
            state.timeline[1],
            TimelineEvent::Pin {
                t: 120_000,
                peer_id: "peer-7".into()
            }
        );
        assert_eq!(state.export.size(), (1920, 1080));
        let wire = serde_json::to_value(&state).unwrap();
        let sent: serde_json::Value = serde_json::from_str(CONTRACT).unwrap();
        assert_eq!(wire, sent);
        let back: CompositionState = serde_json::from_value(wire).unwrap();
        assert_eq!(back, state);
    }

    #[test]
    fn every_bad_value_is_named_by_its_json_path() {
        let with = |from: &str, to: &str| {
            assert!(CONTRACT.contains(from), "{from}");
            CONTRACT.replacen(from, to, 1)
        };
        let cases = [
            ("[", "body".to_owned()),
            ("[]", "body".to_owned()),
            (&with(r#""speaker""#, r#""mosaic""#), "layout".to_owned()),
            (&with(r#""layout": "speaker","#, ""), "layout".to_owned()),
            (
                &with(r#""t": 0,"#, r#""t": -5,"#),
                "timeline[0].t".to_owned(),
            ),
            (
                &with(r#""t": 0,"#, r#""t": "0","#),
                "timeline[0].t".to_owned(),
            ),
            (
                &with(r#""t": 0,"#, r#""t": 86400001,"#),
                "timeline[0].t".to_owned(),
            ),
            (&with(r#""t": 120000"#, r#""t": 0"#), "".to_owned()),
            (
                &with(r#""t": 0,"#, r#""t": 130000,"#),
                "timeline[1].t".to_owned(),
            ),
            (
                &with(r#""type": "layout""#, r#""type": "zoom""#),
                "timeline[0].type".to_owned(),
            ),
            (
                &with(r#""layout": "grid""#, r#""layout": "pip""#),
                "timeline[0].layout".to_owned(),
            ),
            (
                &with(r#""peer_id": "peer-7""#, r#""peer_id": "peer-9""#),
                "timeline[1].peer_id".to_owned(),
            ),
            (
                &with(r#""peer_id": "peer-7""#, r#""peer_id": "../x""#),
                "timeline[1].peer_id".to_owned(),
            ),
            (
                &with(r#""peer_id": "peer-7""#, r#""peer_id": "peer-7", "x": 1"#),
                "timeline[1].x".to_owned(),
            ),
            (
                &with(r#"{"t": 0,"#, r#"7, {"t": 0,"#),
                "timeline[0]".to_owned(),
            ),
            (
                &with(r#""muted": false"#, r#""muted": "no""#),
                "tracks[0].muted".to_owned(),
            ),
            (
                &with(r#""peer_id": "peer-2""#, r#""peer_id": "peer-1""#),
                "tracks[1].peer_id".to_owned(),
            ),
            (
                &with(r#""peer_id": "peer-1""#, r#""peer_id": "peer-1%2F""#),
                "tracks[0].peer_id".to_owned(),
            ),
            (
                &with("1920x1080", "1921x1080"),
                "export.resolution".to_owned(),
            ),
            (
                &with("1920x1080", "4096x2160"),
                "export.resolution".to_owned(),
            ),
            (&with("1920x1080", "158x90"), "export.resolution".to_owned()),
            (
                &with("1920x1080", "+1920x1080"),
                "export.resolution".to_owned(),
            ),
            (
                &with("1920x1080", "1920X1080"),
                "export.resolution".to_owned(),
            ),
            (
                &with(r#""fps": 30"#, r#""fps": 0"#),
                "export.fps".to_owned(),
            ),
            (
                &with(r#""fps": 30"#, r#""fps": 61"#),
                "export.fps".to_owned(),
            ),
            (
                &with(r#""fps": 30"#, r#""fps": 29.97"#),
                "export.fps".to_owned(),
            ),
            (
                &with(r#""fps": 30}"#, r#""fps": 30, "codec": "h264"}"#),
                "export.codec".to_owned(),
            ),
            (
                &with(r#""export": {"#, r#""recording_id": "x", "export": {"#),
                "recording_id".to_owned(),
            ),
        ];
        for (body, field) in cases {
            let result = CompositionState::parse(body.as_bytes(), &peers());
            if field.is_empty() {
                assert!(result.is_ok(), "{body}: equal times are in order");
                continue;
            }
            assert_eq!(result.unwrap_err().field, field, "{body}");
        }
    }

    #[test]
    fn a_timeline_is_bounded_in_length() {
        let long: Vec<String> = (0..=MAX_TIMELINE_EVENTS)
            .map(|i| format!(r#"{{"t": {i}, "type": "layout", "layout": "grid"}}"#))
            .collect();
        let body = format!(
            r#"{{"layout": "grid", "timeline": [{}], "tracks": [], "export": {{"resolution": "640x360", "fps": 1}}}}"#,
            long.join(",")
        );
        assert_eq!(
            CompositionState::parse(body.as_bytes(), &peers())
                .unwrap_err()
                .field,
            "timeline"
        );
    }

    #[test]
    fn sizes_are_even_and_bounded_portrait_included() {
        for good in ["160x90", "3840x2160", "1080x1920", "1280x720"] {
            assert!(parse_resolution(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "x",
            "1920",
            "1920x",
            "x1080",
            "1920x1081",
            "3842x2160",
            "160x88",
            "1920x1080x2",
        ] {
            assert!(parse_resolution(bad).is_none(), "{bad}");
        }
    }
}
