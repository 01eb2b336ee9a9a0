//! Builder e: the playback package of a video (an upload, a composite, a render): an ABR ladder in CMAF with HLS
//! and DASH manifests, a progressive MP4 when the source is not one already, a poster and storyboard frames.

use serde::{Deserialize, Serialize};

use super::composite::Recording;
use super::encoding::{aac_stereo, mp4_file_group, output_size};
use super::pip::even_round;
use super::preview::{captures, cmaf_group, frame_capture_group, segmented_video, source_input};
use super::*;
use crate::s3uri::S3Uri;

/// The ladder's rungs, by the picture's short side (its height in landscape, its width in portrait).
pub const LADDER_RUNGS: [u32; 4] = [1080, 720, 540, 360];
/// A lower rung must be at most this share of the top one, so no two renditions are nearly the same.
const RUNG_SPACING: f64 = 0.9;

/// Names inside the package's folder.
pub mod names {
    /// The HLS main playlist.
    pub const HLS: &str = "index.m3u8";
    /// The DASH manifest.
    pub const DASH: &str = "index.mpd";
    /// The progressive MP4 (when the job makes one).
    pub const MP4: &str = "video.mp4";
    /// The storyboard's frame captures: `thumbs/thumb.NNNNNNN.jpg`.
    pub const THUMBS: &str = "thumbs/thumb";
    /// The storyboard's sprites (thumbnails tiled in rows of 10, 100 per sheet): `storyboard_NNN.jpg`.
    pub const SPRITE: &str = "storyboard";
    /// The storyboard's WebVTT (one cue per thumbnail, `storyboard.jpg#xywh=x,y,w,h`).
    pub const STORYBOARD: &str = "storyboard.vtt";
}

/// Options of a playback package.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaybackOptions {
    /// Whether the source is already a progressive MP4 with H.264 and AAC, index first (vidpipe's composites and
    /// renders are): then no MP4 is made and the source itself is the package's MP4.
    pub source_is_mp4: bool,
    /// When the poster is taken, in seconds (default 2), kept within the first half of a source of known length.
    pub poster_s: u32,
    /// The longer side of a storyboard thumbnail in pixels (default 160).
    pub thumbnail_long_side: u32,
}

impl Default for PlaybackOptions {
    fn default() -> Self {
        Self {
            source_is_mp4: false,
            poster_s: 2,
            thumbnail_long_side: 160,
        }
    }
}

/// The storyboard aims at this many thumbnails over a source of known length.
pub const STORYBOARD_TILES: u64 = 100;
/// The storyboard's interval bounds in seconds (the shortest one also serves a source of unknown length).
const STORYBOARD_INTERVAL_S: std::ops::RangeInclusive<u64> = 2..=60;
/// At most this many storyboard captures (a 2 s interval over 5.5 hours).
const MAX_THUMBNAILS: i32 = 10_000;

/// What the playback job of a source makes: its ladder, when its poster is taken, its storyboard's interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybackPlan {
    /// The renditions, largest first.
    pub ladder: Vec<Size>,
    /// The poster's time in whole seconds; 0 is the first frame.
    pub poster_s: u32,
    /// Seconds between storyboard thumbnails.
    pub storyboard_interval_s: u32,
    /// A storyboard thumbnail's size.
    pub thumbnail: Size,
    /// Whether the job writes `video.mp4`.
    pub makes_mp4: bool,
}

impl PlaybackPlan {
    /// The plan for a source.
    pub fn new(media: &MediaInfo, options: &PlaybackOptions) -> Result<Self, JobError> {
        let display = media.display_size();
        let duration_s = media.duration_ms.map(|ms| ms / 1000);
        // A poster past the end would not exist; half the length keeps it inside the video.
        let poster_s = match duration_s {
            Some(seconds) => options.poster_s.min((seconds / 2) as u32),
            None => 0,
        };
        let interval = duration_s.map_or(*STORYBOARD_INTERVAL_S.start(), |seconds| {
            seconds
                .div_ceil(STORYBOARD_TILES)
                .clamp(*STORYBOARD_INTERVAL_S.start(), *STORYBOARD_INTERVAL_S.end())
        });
        Ok(Self {
            ladder: ladder(display)?,
            poster_s,
            storyboard_interval_s: interval as u32,
            thumbnail: thumbnail_size(display, options.thumbnail_long_side)?,
            makes_mp4: !options.source_is_mp4,
        })
    }

    /// The poster's file name: the second capture (at `poster_s`), or the first when the poster is the first frame.
    pub fn poster_name(&self) -> &'static str {
        if self.poster_s == 0 {
            "poster.0000000.jpg"
        } else {
            "poster.0000001.jpg"
        }
    }
}

/// The ABR ladder of a source of `display` size: the source's own size capped at 1080 on the short side, then every
/// rung of [`LADDER_RUNGS`] clearly below it. Never upscaled; a portrait source gets portrait renditions.
pub fn ladder(display: Size) -> Result<Vec<Size>, JobError> {
    let short = display.width.min(display.height);
    let top = short.min(LADDER_RUNGS[0]);
    let mut shorts = vec![top];
    shorts.extend(
        LADDER_RUNGS
            .iter()
            .copied()
            .filter(|&rung| f64::from(rung) <= f64::from(top) * RUNG_SPACING),
    );
    shorts
        .into_iter()
        .map(|rung| scaled_to_short_side(display, rung))
        .collect()
}

/// `display` scaled so its short side is `short` (even sizes, aspect kept), by [`output_size`]'s rules.
fn scaled_to_short_side(display: Size, short: u32) -> Result<Size, JobError> {
    let max_width = if display.width <= display.height {
        short
    } else {
        even_round(f64::from(display.width) * f64::from(short) / f64::from(display.height))
    };
    output_size(display, max_width.max(2))
}

/// The thumbnail: `display` fitted into a square of `long_side`.
fn thumbnail_size(display: Size, long_side: u32) -> Result<Size, JobError> {
    let scale = f64::from(long_side) / f64::from(display.width.max(display.height));
    let width = even_round(f64::from(display.width) * scale);
    output_size(display, width.max(2))
}

/// The playback package of `source` in the folder `destination` (`s3://bucket/.../playback/`, ending in `/`):
/// `index.m3u8` and `index.mpd` over a CMAF ladder (4 s segments, one audio rendition), `video.mp4` unless
/// [`PlaybackOptions::source_is_mp4`], the poster ([`PlaybackPlan::poster_name`]) and the storyboard's frames
/// (`thumbs/thumb.NNNNNNN.jpg`, one every [`PlaybackPlan::storyboard_interval_s`]), which a step after the job
/// tiles into sprites and `storyboard.vtt` ([`crate::playback::Storyboard`]).
///
/// Its `UserMetadata` holds the folder (`destination`) and the storyboard's interval; the caller adds what the
/// package belongs to with [`CreateJobRequest::with_user_metadata`].
pub fn playback_job(
    context: &JobContext,
    source: &Recording,
    destination: &S3Uri,
    options: &PlaybackOptions,
) -> Result<CreateJobRequest, JobError> {
    check_media("source", &source.media)?;
    if !destination.key().ends_with('/') {
        return Err(JobError::InvalidOutput(format!(
            "playback destination {destination} must end with `/`"
        )));
    }
    let plan = PlaybackPlan::new(&source.media, options)?;
    let folder = destination.to_string();
    let audio = source.media.has_audio.then(|| vec![aac_stereo()]);
    let renditions = plan
        .ladder
        .iter()
        .map(|&size| (rung_modifier(size), segmented_video(size)))
        .collect();
    let mut groups = vec![cmaf_group(&folder, renditions, audio.clone())];
    if plan.makes_mp4 {
        let top = plan.ladder[0];
        let output = Output {
            video_description: Some(segmented_video(top)),
            audio_descriptions: audio,
            ..Default::default()
        };
        let base = names::MP4.trim_end_matches(".mp4");
        groups.push(mp4_file_group("MP4", format!("{folder}{base}"), output));
    }
    groups.push(frame_capture_group(
        "Poster",
        format!("{folder}poster"),
        plan.ladder[0],
        captures(
            plan.poster_s.max(1),
            if plan.poster_s == 0 { 1 } else { 2 },
            80,
        ),
    ));
    groups.push(frame_capture_group(
        "Storyboard",
        format!("{folder}{}", names::THUMBS),
        plan.thumbnail,
        captures(plan.storyboard_interval_s, MAX_THUMBNAILS, 60),
    ));
    let settings = JobSettings {
        inputs: Some(vec![source_input(source)]),
        timecode_config: Some(TimecodeConfig {
            source: Some(TimecodeSource::Zerobased),
            ..Default::default()
        }),
        output_groups: Some(groups),
    };
    let metadata = BTreeMap::from([
        (METADATA_DESTINATION.to_owned(), folder),
        (
            METADATA_STORYBOARD_INTERVAL.to_owned(),
            plan.storyboard_interval_s.to_string(),
        ),
    ]);
    Ok(finish(
        context,
        JobKind::Playback,
        settings,
        metadata,
        source.media.frame_rate,
    ))
}

/// `UserMetadata` key of a playback job: its folder.
pub const METADATA_DESTINATION: &str = "destination";
/// `UserMetadata` key of a playback job: seconds between storyboard frames.
pub const METADATA_STORYBOARD_INTERVAL: &str = "storyboard_interval_s";

/// A rendition's name modifier: `_{short side}p`, as players and people name renditions (`_720p` for 1280x720 and
/// for 720x1280 alike).
fn rung_modifier(size: Size) -> String {
    format!("_{}p", size.width.min(size.height))
}
