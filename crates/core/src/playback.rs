//! The playback package of a video: what it belongs to ([`PlaybackAsset`]), its record and status
//! ([`PlaybackPackage`], with [`StreamStatus`]'s names and forward-only order), what clients see ([`PlaybackView`]),
//! and the storyboard made after its job (thumbnails tiled into sprites, and the WebVTT that points into them).
//!
//! MediaConvert's frame capture writes one JPEG per thumbnail; players scrub with a WebVTT whose cues name a region
//! of a sprite (`storyboard_000.jpg#xywh=x,y,w,h`), so a step after the job tiles the frames and writes the `.vtt`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::cost::JobCost;
use crate::job::{Size, names};
use crate::jobevent::{JobState, StreamUpdate};
use crate::keys::StreamName;
use crate::stream_status::StreamStatus;

/// What a playback package belongs to; its wire form (`recording/{id}`, `stream/{name}`) is the `asset` of the
/// job's `UserMetadata` and of the package's item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PlaybackAsset {
    /// An uploaded recording, by its server-chosen id.
    Recording(String),
    /// A stream's composite (or single-source) output.
    Stream(StreamName),
    /// A render's video, by its render id.
    Render(String),
}

/// Why an asset id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a playback asset (recording/{{id}}, stream/{{name}} or render/{{id}})")]
pub struct InvalidAsset(pub String);

impl PlaybackAsset {
    /// Parses the wire form; a recording id is `[A-Za-z0-9-]{1,64}` (the API makes UUIDs), a stream name follows
    /// the one stream-name rule.
    pub fn parse(value: &str) -> Result<Self, InvalidAsset> {
        let invalid = || InvalidAsset(value.to_owned());
        match value.split_once('/').ok_or_else(invalid)? {
            ("recording", id)
                if (1..=64).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Ok(Self::Recording(id.to_owned()))
            }
            ("stream", name) => StreamName::parse("asset", name)
                .map(Self::Stream)
                .map_err(|_| invalid()),
            ("render", id) if crate::render::is_render_id(id) => Ok(Self::Render(id.to_owned())),
            _ => Err(invalid()),
        }
    }

    /// The wire form.
    pub fn as_wire(&self) -> String {
        match self {
            Self::Recording(id) => format!("recording/{id}"),
            Self::Stream(name) => format!("stream/{}", name.as_str()),
            Self::Render(id) => format!("render/{id}"),
        }
    }
}

/// What gets a playback package (`PLAYBACK_KINDS`): uploads of kind `recording` or `asset` (by their recording
/// id) and stream outputs (`composite`, the composite or its single-source fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlaybackSource {
    /// A generic recording upload.
    Recording,
    /// A render asset upload.
    Asset,
    /// A stream's output (`{stream}_composited.mp4`).
    Composite,
    /// A render's video (`{prefix}renders/{owner}/{render_id}/output.mp4`).
    Render,
}

impl std::str::FromStr for PlaybackSource {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "recording" => Ok(Self::Recording),
            "asset" => Ok(Self::Asset),
            "composite" => Ok(Self::Composite),
            "render" => Ok(Self::Render),
            // A stream's recordings are played through its output, which is made from them.
            "screen" | "camera" => Err(format!(
                "{value} recordings are played through their stream's output: use composite"
            )),
            other => Err(format!(
                "must be recording, asset, composite or render, not {other:?}"
            )),
        }
    }
}

/// A playback package as stored: whose, where, how far, and what its job said about the video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackPackage {
    /// The asset's wire form.
    pub asset: String,
    /// Who may play it.
    pub owner: String,
    /// The bucket.
    pub bucket: String,
    /// The package's folder key (ends in `playback/`).
    pub folder: String,
    /// `queued` when submitted, then forward only.
    pub status: StreamStatus,
    /// The MP4's key: `{folder}video.mp4`, or the source itself when it already is one.
    pub mp4_key: String,
    /// The poster's file name in the folder.
    pub poster: String,
    /// From the COMPLETE event: the video's length.
    pub duration_ms: Option<u64>,
    /// From the COMPLETE event: the top rendition's width.
    pub width: Option<u32>,
    /// From the COMPLETE event: the top rendition's height.
    pub height: Option<u32>,
    /// MediaConvert's error code when `failed`.
    pub error_code: Option<String>,
    /// The ETag of the source object the package is made from: its generation. A later object at the same key (a
    /// late partner's composite replacing the fallback) makes the package again, and the earlier job's events are
    /// then stale. `None` for packages recorded before it was kept.
    pub source_etag: Option<String>,
    /// The package's job, once submitted: `DELETE /recordings/{id}` cancels it while it runs.
    pub job_id: Option<String>,
    /// From the COMPLETE event: the job's estimated cost (`cost::JobCost`).
    pub cost: Option<JobCost>,
}

/// The folder of the package of the video at `source_key`: next to it, named after it without its extension
/// (`streams/s-42_composited.mp4` -> `streams/s-42_composited/playback/`). No upload key classifies inside it, so
/// the package's own files never start work.
pub fn package_folder(source_key: &str) -> String {
    let (dir, file) = source_key.rsplit_once('/').unwrap_or(("", source_key));
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let dir = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    format!("{dir}{stem}/{}", PACKAGE_DIR)
}

/// The last segment of every package folder.
pub const PACKAGE_DIR: &str = "playback/";

/// Whether `key` lies in a package folder ([`package_folder`]: some folder's `playback/`, or a generation's folder
/// in it).
pub fn is_in_package_folder(key: &str) -> bool {
    key.starts_with(PACKAGE_DIR) || key.contains(&format!("/{PACKAGE_DIR}"))
}

impl PlaybackPackage {
    /// A `queued` package of `asset`, made by `plan` from the video at `source_key` (whose ETag is `source_etag`),
    /// in its [`package_folder`].
    pub fn queued(
        asset: &PlaybackAsset,
        owner: &str,
        bucket: &str,
        (source_key, source_etag): (&str, &str),
        plan: &crate::job::PlaybackPlan,
    ) -> Self {
        let folder = package_folder(source_key);
        let mp4_key = if plan.makes_mp4 {
            format!("{folder}{}", names::MP4)
        } else {
            source_key.to_owned()
        };
        Self {
            asset: asset.as_wire(),
            owner: owner.to_owned(),
            bucket: bucket.to_owned(),
            folder,
            status: StreamStatus::Queued,
            mp4_key,
            poster: plan.poster_name().to_owned(),
            duration_ms: None,
            width: None,
            height: None,
            error_code: None,
            source_etag: Some(source_etag.to_owned()),
            job_id: None,
            cost: None,
        }
    }

    /// The package made again from a later object at the same key: its files go to a folder of their own inside the
    /// first one (`{folder}{generation}/`, named after the new source's ETag), so the earlier job, which may still
    /// be running, writes nothing over them.
    pub fn in_own_folder(mut self) -> Self {
        let generation: String = self
            .source_etag
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        let folder = format!("{}g{generation}/", self.folder);
        if let Some(name) = self.mp4_key.strip_prefix(&self.folder) {
            self.mp4_key = format!("{folder}{name}");
        }
        self.folder = folder;
        self
    }

    /// Whether an event of a job made from the source whose ETag is `job_source` (its `source` metadata) is about
    /// this package: not when the package was made again from another source since (either unknown: it is).
    pub fn is_made_from(&self, job_source: Option<&str>) -> bool {
        match (self.source_etag.as_deref(), job_source) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => true,
        }
    }

    /// Whether the package may move to `next`: statuses only move forward (`queued < processing < ready |
    /// failed`), and a terminal status never changes, so a late PROGRESSING never overwrites COMPLETE.
    pub fn can_move_to(&self, next: StreamStatus) -> bool {
        statuses_before(next).contains(&self.status)
    }

    /// What clients see, with every file's URL made by `url` from its key (a CDN URL, a presigned URL, a
    /// `/play/` route); files are shown only once the package is `ready`.
    pub fn view(&self, url: impl Fn(&str) -> String) -> PlaybackView {
        let ready = self.status == StreamStatus::Ready;
        let file = |name: &str| ready.then(|| url(&format!("{}{name}", self.folder)));
        PlaybackView {
            status: self.status,
            hls: file(names::HLS),
            dash: file(names::DASH),
            mp4: ready.then(|| url(&self.mp4_key)),
            poster: file(&self.poster),
            storyboard: file(names::STORYBOARD),
            duration_ms: self.duration_ms,
            width: self.width,
            height: self.height,
            cost: self.cost.as_ref().map(JobCost::to_json),
        }
    }
}

/// The statuses a package may move to `next` from: `queued < processing < ready | failed`, terminal ones never
/// change (the condition of the store's conditional write).
pub fn statuses_before(next: StreamStatus) -> &'static [StreamStatus] {
    match next {
        StreamStatus::Queued => &[],
        StreamStatus::Processing => &[StreamStatus::Queued],
        StreamStatus::Ready | StreamStatus::Failed => {
            &[StreamStatus::Queued, StreamStatus::Processing]
        }
    }
}

/// A playback job's route: its `asset` and the ETag of its `source`.
pub(crate) fn job_route(
    user_metadata: &std::collections::BTreeMap<String, String>,
) -> Result<crate::jobevent::JobRoute, crate::jobevent::RouteError> {
    let asset = user_metadata
        .get("asset")
        .ok_or(crate::jobevent::RouteError::Missing("asset"))?;
    let asset = PlaybackAsset::parse(asset).map_err(|_| crate::jobevent::RouteError::Invalid {
        field: "asset",
        value: asset.clone(),
    })?;
    Ok(crate::jobevent::JobRoute::Playback {
        asset,
        source_etag: user_metadata.get("source").cloned(),
    })
}

/// What a job event changes on a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybackUpdate {
    /// The new status.
    pub status: StreamStatus,
    /// The video's length, from COMPLETE.
    pub duration_ms: Option<u64>,
    /// The top rendition's size, from COMPLETE.
    pub size: Option<Size>,
    /// MediaConvert's error code, from ERROR.
    pub error_code: Option<String>,
    /// The ETag of the source the reporting job was made from: the update applies only to the package made from
    /// it (or when either is unknown), never to a package made again from a later source since.
    pub source_etag: Option<String>,
    /// The job's estimated cost, from COMPLETE (`JobStateDetail::cost`; the state alone does not carry it).
    pub cost: Option<JobCost>,
}

impl PlaybackUpdate {
    /// What a playback job's event changes: PROGRESSING and STATUS_UPDATE make the package `processing`; COMPLETE
    /// `ready` with the longest output's length and the largest picture (the top rendition); ERROR and CANCELED
    /// `failed` with the code. `None` for events that change nothing.
    pub fn from_job_state(state: &JobState) -> Option<Self> {
        let update = |status| Self {
            status,
            duration_ms: None,
            size: None,
            error_code: None,
            source_etag: None,
            cost: None,
        };
        Some(match state.stream_update()? {
            StreamUpdate::Progress(_) => update(StreamStatus::Processing),
            StreamUpdate::Failed { code, .. } => Self {
                error_code: Some(code),
                ..update(StreamStatus::Failed)
            },
            StreamUpdate::Ready { .. } => {
                let JobState::Complete {
                    output_group_details,
                } = state
                else {
                    return None;
                };
                let outputs = || {
                    output_group_details
                        .iter()
                        .flat_map(|group| &group.output_details)
                };
                Self {
                    duration_ms: outputs().filter_map(|o| o.duration_in_ms).max(),
                    size: outputs()
                        .filter_map(|o| o.video_details)
                        .max_by_key(|v| u64::from(v.width_in_px) * u64::from(v.height_in_px))
                        .map(|v| Size::new(v.width_in_px, v.height_in_px)),
                    ..update(StreamStatus::Ready)
                }
            }
        })
    }
}

/// The storyboard thumbnails' paths a COMPLETE event lists (for [`capture_count`]; the poster's captures aside).
pub fn thumbnail_paths(state: &JobState) -> Vec<&str> {
    let thumbs = format!("/{}.", names::THUMBS);
    match state {
        JobState::Complete {
            output_group_details,
        } => output_group_details
            .iter()
            .flat_map(|group| &group.output_details)
            .flat_map(|output| &output.output_file_paths)
            .map(String::as_str)
            .filter(|path| path.contains(&thumbs))
            .collect(),
        _ => Vec::new(),
    }
}

/// The `playback` object of `GET /recordings/{id}` and `GET /streams/{stream}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaybackView {
    /// `queued`, `processing`, `ready` or `failed`.
    pub status: StreamStatus,
    /// The HLS main playlist.
    pub hls: Option<String>,
    /// The DASH manifest.
    pub dash: Option<String>,
    /// The progressive MP4.
    pub mp4: Option<String>,
    /// The poster JPEG.
    pub poster: Option<String>,
    /// The storyboard WebVTT.
    pub storyboard: Option<String>,
    /// The video's length.
    pub duration_ms: Option<u64>,
    /// The top rendition's width.
    pub width: Option<u32>,
    /// The top rendition's height.
    pub height: Option<u32>,
    /// The package job's estimated cost (`JobCost::to_json`), once ready.
    pub cost: Option<serde_json::Value>,
}

/// Thumbnails per sprite row.
pub const SPRITE_COLUMNS: u32 = 10;
/// Thumbnails per sprite (10 rows of 10): a 160x90 grid makes a 1600x900 JPEG, well under any decoder's limit.
pub const SPRITE_TILES: u32 = 100;

/// Where each thumbnail of a storyboard goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storyboard {
    /// How many thumbnails.
    pub count: u32,
    /// A thumbnail's size (every one has the first one's).
    pub tile: Size,
    /// Seconds between thumbnails.
    pub interval_s: u32,
}

/// One thumbnail's place: its sprite and its top-left corner there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The sprite's index.
    pub sheet: u32,
    /// Left edge in pixels.
    pub x: u32,
    /// Top edge in pixels.
    pub y: u32,
}

impl Storyboard {
    /// How many sprites.
    pub fn sheets(&self) -> u32 {
        self.count.div_ceil(SPRITE_TILES)
    }

    /// Sprite `sheet`'s file name, `storyboard_NNN.jpg`.
    pub fn sheet_name(sheet: u32) -> String {
        format!("{}_{sheet:03}.jpg", names::SPRITE)
    }

    /// The size of sprite `sheet`: as many columns as it needs up to [`SPRITE_COLUMNS`], as many rows as it fills.
    pub fn sheet_size(&self, sheet: u32) -> Size {
        let tiles = (self.count - sheet * SPRITE_TILES).min(SPRITE_TILES);
        let columns = tiles.min(SPRITE_COLUMNS);
        Size::new(
            columns * self.tile.width,
            tiles.div_ceil(SPRITE_COLUMNS) * self.tile.height,
        )
    }

    /// Where thumbnail `index` goes: row by row, [`SPRITE_TILES`] to a sprite.
    pub fn place(&self, index: u32) -> Placement {
        let within = index % SPRITE_TILES;
        Placement {
            sheet: index / SPRITE_TILES,
            x: (within % SPRITE_COLUMNS) * self.tile.width,
            y: (within / SPRITE_COLUMNS) * self.tile.height,
        }
    }

    /// The WebVTT: thumbnail `i` covers `i * interval` up to the next one, the last one up to `duration_ms` (or
    /// one interval when the length is unknown or shorter).
    pub fn vtt(&self, duration_ms: Option<u64>) -> String {
        let interval_ms = u64::from(self.interval_s) * 1000;
        let mut text = String::from("WEBVTT\n");
        for index in 0..self.count {
            let start = u64::from(index) * interval_ms;
            let end = if index + 1 == self.count {
                duration_ms
                    .filter(|&d| d > start)
                    .unwrap_or(start + interval_ms)
            } else {
                start + interval_ms
            };
            let at = self.place(index);
            write!(
                text,
                "\n{} --> {}\n{}#xywh={},{},{},{}\n",
                cue_time(start),
                cue_time(end),
                Self::sheet_name(at.sheet),
                at.x,
                at.y,
                self.tile.width,
                self.tile.height
            )
            .expect("writing to a String");
        }
        text
    }
}

/// `HH:MM:SS.mmm`, WebVTT's cue timestamp.
fn cue_time(ms: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// The number of frame captures a job wrote, from the paths its COMPLETE event lists for them: MediaConvert names
/// captures `{base}.NNNNNNN.jpg` from 0, so the highest index plus one (whether the event lists every capture, as
/// the engine does, or only the last one).
pub fn capture_count<'a>(paths: impl IntoIterator<Item = &'a str>) -> Option<u32> {
    paths
        .into_iter()
        .filter_map(|path| {
            let stem = path.strip_suffix(".jpg")?;
            let (_, index) = stem.rsplit_once('.')?;
            index.parse::<u32>().ok()
        })
        .max()
        .map(|last| last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_recordings_streams_or_renders() {
        let id = "0b6f1c2e-4a6b-4f4e-9d57-1f0c1d2e3f40";
        let recording = PlaybackAsset::parse(&format!("recording/{id}")).unwrap();
        assert_eq!(recording, PlaybackAsset::Recording(id.into()));
        assert_eq!(recording.as_wire(), format!("recording/{id}"));
        let stream = PlaybackAsset::parse("stream/s-42").unwrap();
        assert_eq!(stream.as_wire(), "stream/s-42");
        for bad in [
            "s-42",
            "recording/",
            "recording/../x",
            "recording/a/b",
            "stream/s-42_camera",
            "upload/r1",
            "",
        ] {
            assert!(PlaybackAsset::parse(bad).is_err(), "{bad:?}");
        }
    }

    fn package(status: StreamStatus) -> PlaybackPackage {
        PlaybackPackage {
            asset: "stream/s-42".into(),
            owner: "jwt:u1".into(),
            bucket: "b".into(),
            folder: "streams/s-42_composited/playback/".into(),
            status,
            mp4_key: "streams/s-42_composited.mp4".into(),
            poster: "poster.0000001.jpg".into(),
            duration_ms: Some(6_000),
            width: Some(1280),
            height: Some(720),
            error_code: None,
            source_etag: Some("etag-1".into()),
            job_id: None,
            cost: None,
        }
    }

    #[test]
    fn a_package_made_again_has_a_folder_of_its_own_and_ignores_the_earlier_jobs() {
        let first = package(StreamStatus::Ready);
        assert!(first.is_made_from(Some("etag-1")));
        assert!(first.is_made_from(None));
        let again = PlaybackPackage {
            source_etag: Some("0cc175b9c0f1b6a831c399e269772661".into()),
            mp4_key: format!("{}video.mp4", first.folder),
            ..first.clone()
        }
        .in_own_folder();
        assert_eq!(
            again.folder,
            "streams/s-42_composited/playback/g0cc175b9c0f1b6a8/"
        );
        assert_eq!(again.mp4_key, format!("{}video.mp4", again.folder));
        assert!(!again.is_made_from(Some("etag-1")));
        // A source's own MP4 stays where it is.
        let source_mp4 = package(StreamStatus::Ready).in_own_folder();
        assert_eq!(source_mp4.mp4_key, "streams/s-42_composited.mp4");
    }

    #[test]
    fn a_renders_asset_is_named_by_its_render_id() {
        let asset = PlaybackAsset::parse("render/promo.v2").unwrap();
        assert_eq!(asset, PlaybackAsset::Render("promo.v2".into()));
        assert_eq!(asset.as_wire(), "render/promo.v2");
        for bad in ["render/", "render/..", "render/a/b", "render/a%2Fb"] {
            assert!(PlaybackAsset::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            "render".parse::<PlaybackSource>(),
            Ok(PlaybackSource::Render)
        );
    }

    #[test]
    fn a_package_sits_next_to_its_source() {
        assert_eq!(
            package_folder("streams/s-42_composited.mp4"),
            "streams/s-42_composited/playback/"
        );
        assert_eq!(
            package_folder("recordings/room-1/abc/call.webm"),
            "recordings/room-1/abc/call/playback/"
        );
        assert_eq!(package_folder("s-42.mp4"), "s-42/playback/");
        for inside in [
            "streams/s-42_composited/playback/",
            "streams/s-42_composited/playback/g0cc175b9c0f1b6a8/",
            "playback/",
        ] {
            assert!(is_in_package_folder(inside), "{inside}");
        }
        for outside in [
            "streams/",
            "streams/s-42_composited/",
            "streams/myplayback/",
            "playbacks/x/",
        ] {
            assert!(!is_in_package_folder(outside), "{outside}");
        }
    }

    #[test]
    fn statuses_only_move_forward() {
        use StreamStatus::*;
        assert!(package(Queued).can_move_to(Processing));
        assert!(package(Queued).can_move_to(Ready));
        assert!(package(Processing).can_move_to(Failed));
        assert!(!package(Ready).can_move_to(Processing));
        assert!(!package(Ready).can_move_to(Failed));
        assert!(!package(Processing).can_move_to(Processing));
        assert!(!package(Failed).can_move_to(Queued));
    }

    #[test]
    fn the_view_shows_files_once_ready() {
        let url = |key: &str| format!("https://cdn.example/{key}");
        let view = package(StreamStatus::Processing).view(url);
        assert_eq!((view.hls, view.mp4, view.poster), (None, None, None));
        let mut ready = package(StreamStatus::Ready);
        ready.cost = Some(JobCost {
            micro_usd: 6_850,
            output_seconds: 60,
            basis: crate::cost::CostBasis::MediaConvertOnDemand,
        });
        let view = ready.view(url);
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            serde_json::json!({
                "status": "ready",
                "hls": "https://cdn.example/streams/s-42_composited/playback/index.m3u8",
                "dash": "https://cdn.example/streams/s-42_composited/playback/index.mpd",
                "mp4": "https://cdn.example/streams/s-42_composited.mp4",
                "poster": "https://cdn.example/streams/s-42_composited/playback/poster.0000001.jpg",
                "storyboard": "https://cdn.example/streams/s-42_composited/playback/storyboard.vtt",
                "duration_ms": 6000, "width": 1280, "height": 720,
                "cost": {"estimated_usd": 0.00685, "output_minutes": 1.0, "basis": "mediaconvert-on-demand"}
            })
        );
    }

    fn board(count: u32) -> Storyboard {
        Storyboard {
            count,
            tile: Size::new(160, 90),
            interval_s: 2,
        }
    }

    #[test]
    fn thumbnails_fill_rows_of_ten_and_sheets_of_a_hundred() {
        let b = board(123);
        assert_eq!(b.sheets(), 2);
        assert_eq!(b.sheet_size(0), Size::new(1600, 900));
        // 23 left: 10 columns, 3 rows.
        assert_eq!(b.sheet_size(1), Size::new(1600, 270));
        assert_eq!(board(3).sheet_size(0), Size::new(480, 90));
        assert_eq!(
            b.place(0),
            Placement {
                sheet: 0,
                x: 0,
                y: 0
            }
        );
        assert_eq!(
            b.place(13),
            Placement {
                sheet: 0,
                x: 480,
                y: 90
            }
        );
        assert_eq!(
            b.place(105),
            Placement {
                sheet: 1,
                x: 800,
                y: 0
            }
        );
    }

    #[test]
    fn the_vtt_has_one_cue_per_thumbnail_up_to_the_end() {
        let vtt = board(3).vtt(Some(5_500));
        assert_eq!(
            vtt,
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard_000.jpg#xywh=0,0,160,90\n\
             \n00:00:02.000 --> 00:00:04.000\nstoryboard_000.jpg#xywh=160,0,160,90\n\
             \n00:00:04.000 --> 00:00:05.500\nstoryboard_000.jpg#xywh=320,0,160,90\n"
        );
        // Unknown length: the last cue lasts one interval.
        assert!(board(1).vtt(None).contains("00:00:00.000 --> 00:00:02.000"));
        let long = board(101).vtt(Some(3_600_000));
        assert!(long.contains("00:03:20.000 --> 01:00:00.000\nstoryboard_001.jpg#xywh=0,0,160,90"));
    }

    #[test]
    fn job_events_move_a_package() {
        let event =
            |detail: serde_json::Value| -> JobState { serde_json::from_value(detail).unwrap() };
        let processing = PlaybackUpdate::from_job_state(&event(serde_json::json!(
            {"status": "STATUS_UPDATE", "jobProgress": {"jobPercentComplete": 40}}
        )))
        .unwrap();
        assert_eq!(processing.status, StreamStatus::Processing);
        let complete = event(
            serde_json::json!({"status": "COMPLETE", "outputGroupDetails": [
            {"type": "CMAF_GROUP", "outputDetails": [
                {"outputFilePaths": ["s3://b/p/index_720p.m3u8"], "durationInMs": 6000,
                 "videoDetails": {"widthInPx": 1280, "heightInPx": 720}},
                {"outputFilePaths": ["s3://b/p/index_360p.m3u8"], "durationInMs": 6000,
                 "videoDetails": {"widthInPx": 640, "heightInPx": 360}}]},
            {"type": "FILE_GROUP", "outputDetails": [
                {"outputFilePaths": ["s3://b/p/poster.0000004.jpg"]},
                {"outputFilePaths": ["s3://b/p/thumbs/thumb.0000000.jpg", "s3://b/p/thumbs/thumb.0000002.jpg"],
                 "durationInMs": 6021, "videoDetails": {"widthInPx": 160, "heightInPx": 90}}]}]}),
        );
        let ready = PlaybackUpdate::from_job_state(&complete).unwrap();
        assert_eq!(
            (ready.status, ready.duration_ms, ready.size),
            (StreamStatus::Ready, Some(6021), Some(Size::new(1280, 720)))
        );
        assert_eq!(capture_count(thumbnail_paths(&complete)), Some(3));
        let failed = PlaybackUpdate::from_job_state(&event(
            serde_json::json!({"status": "ERROR", "errorCode": 1040}),
        ))
        .unwrap();
        assert_eq!(
            (failed.status, failed.error_code.as_deref()),
            (StreamStatus::Failed, Some("1040"))
        );
        assert_eq!(
            PlaybackUpdate::from_job_state(&event(serde_json::json!({"status": "NEW_WARNING"}))),
            None
        );
    }

    #[test]
    fn the_capture_count_is_the_last_index_plus_one() {
        let engine = [
            "s3://b/p/thumbs/thumb.0000000.jpg",
            "s3://b/p/thumbs/thumb.0000001.jpg",
        ];
        assert_eq!(capture_count(engine), Some(2));
        assert_eq!(
            capture_count(["s3://b/p/thumbs/thumb.0000029.jpg"]),
            Some(30)
        );
        assert_eq!(capture_count(["s3://b/p/index.m3u8"]), None);
    }
}
