//! Tiled scenes and placed sounds: what a call's export needs of a render request.
//!
//! A scene with `tiles` is a black frame with videos placed on it in pixels (each a `VideoOverlay` of the chunk's
//! job, at most [`MAX_TILES`]); its tiles are silent. Sound comes from `sounds`: sources placed on the video's
//! timeline, mixed once with the soundtrack and the video scenes' sound, so a sound runs across any number of
//! scenes and chunks without a cut.

use serde::{Deserialize, Serialize};

use super::{
    MAX_TOTAL_SECONDS, Problems, RenderRequest, SCENE_VOLUME_RANGE, Scene, SceneSound,
    VIDEO_EXTENSIONS, frames_of, render_uri, source_problem,
};

/// Most tiles in one scene: MediaConvert takes up to 99 video overlays per input.
pub const MAX_TILES: usize = 99;
/// Most placed sounds in one request.
pub const MAX_SOUNDS: usize = 1000;

/// A video placed on a tiled scene's black frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneTile {
    /// The video (its picture only).
    pub video: String,
    /// Where in the video the scene starts, in seconds (default 0). A tile whose video ends before the scene does
    /// leaves black where it was.
    #[serde(default)]
    pub start_s: f64,
    /// Left edge, pixels of the output.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (even, at least 2): the video is scaled to it.
    pub width: u32,
    /// Height (even, at least 2).
    pub height: u32,
}

impl Scene {
    /// A scene of `duration_s` seconds whose picture is `tiles` on a black frame.
    pub fn tiled(id: String, duration_s: f64, tiles: Vec<SceneTile>) -> Self {
        Self {
            id,
            duration_s,
            image: None,
            video: None,
            tiles: Some(tiles),
            start_s: None,
            volume: None,
            overlay: None,
        }
    }
}

/// A sound placed on the video's timeline: `source`'s first audio track from `start_s`, heard from `at_s` for
/// `duration_s` at `volume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacedSound {
    /// An audio or video file; one without an audio track is silence.
    pub source: String,
    /// Where on the video it starts, in seconds.
    pub at_s: f64,
    /// Where in the source it starts, in seconds (default 0).
    #[serde(default)]
    pub start_s: f64,
    /// How long it is heard, in seconds (cut at the video's end).
    pub duration_s: f64,
    /// Gain in (0, 2] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
}

impl RenderRequest {
    /// `scenes[i].tiles`: each tile's video, start and rectangle within the output.
    pub(super) fn check_tiles(&self, i: usize, tiles: &[SceneTile], problems: &mut Problems) {
        if tiles.len() > MAX_TILES {
            problems.add(
                format!("scenes[{i}].tiles"),
                format!(
                    "{} tiles is more than {MAX_TILES} (video overlays per input)",
                    tiles.len()
                ),
            );
        }
        for (k, tile) in tiles.iter().enumerate() {
            let at = |field: &str| format!("scenes[{i}].tiles[{k}].{field}");
            if let Some(message) = source_problem(&tile.video, &VIDEO_EXTENSIONS) {
                problems.add(at("video"), message);
            }
            if !(tile.start_s.is_finite() && (0.0..MAX_TOTAL_SECONDS).contains(&tile.start_s)) {
                problems.add(
                    at("start_s"),
                    format!("{} must be a number within [0, 86400)", tile.start_s),
                );
            }
            for (field, size) in [("width", tile.width), ("height", tile.height)] {
                if size < 2 || !size.is_multiple_of(2) {
                    problems.add(at(field), format!("{size} must be even and at least 2"));
                }
            }
            if u64::from(tile.x) + u64::from(tile.width) > u64::from(self.output.width) {
                problems.add(
                    at("x"),
                    format!(
                        "the tile ({} + {}) passes the output's width {}",
                        tile.x, tile.width, self.output.width
                    ),
                );
            }
            if u64::from(tile.y) + u64::from(tile.height) > u64::from(self.output.height) {
                problems.add(
                    at("y"),
                    format!(
                        "the tile ({} + {}) passes the output's height {}",
                        tile.y, tile.height, self.output.height
                    ),
                );
            }
        }
    }

    /// `sounds`: each source, and each sound within the video.
    pub(super) fn check_sounds(&self, fps_ok: bool, problems: &mut Problems) {
        if self.sounds.len() > MAX_SOUNDS {
            problems.add(
                "sounds".into(),
                format!("{} sounds is more than {MAX_SOUNDS}", self.sounds.len()),
            );
        }
        let total = fps_ok.then(|| self.total_frames());
        for (k, sound) in self.sounds.iter().enumerate() {
            let at = |field: &str| format!("sounds[{k}].{field}");
            if let Err(message) = render_uri(&sound.source) {
                problems.add(at("source"), message);
            }
            for (field, value) in [("at_s", sound.at_s), ("start_s", sound.start_s)] {
                if !(value.is_finite() && (0.0..MAX_TOTAL_SECONDS).contains(&value)) {
                    problems.add(
                        at(field),
                        format!("{value} must be a number within [0, 86400)"),
                    );
                }
            }
            if !(sound.duration_s.is_finite() && sound.duration_s > 0.0) {
                problems.add(
                    at("duration_s"),
                    format!("{} must be a number > 0", sound.duration_s),
                );
            } else if let Some(total) = total
                && sound.at_s.is_finite()
            {
                let (first, frames) = sound_frames(sound, self.output.fps);
                if frames == 0 {
                    problems.add(at("duration_s"), "is shorter than one frame".into());
                } else if first + frames > total {
                    problems.add(
                        at("duration_s"),
                        format!(
                            "the sound ends at frame {} of a video of {total} frames",
                            first + frames
                        ),
                    );
                }
            }
            if let Some(volume) = sound.volume
                && !(volume > 0.0 && SCENE_VOLUME_RANGE.contains(&volume))
            {
                problems.add(at("volume"), format!("{volume} must be within (0, 2]"));
            }
        }
    }

    /// The placed sounds as pieces of the mix, after the scenes' own ([`RenderRequest::scene_sounds`]); each
    /// piece's `scene_index` is the scene it starts in.
    pub(super) fn placed_sounds(&self) -> Vec<SceneSound> {
        let scene_frames = self.scene_frames();
        self.sounds
            .iter()
            .map(|sound| {
                let (start_frame, frames) = sound_frames(sound, self.output.fps);
                let mut scene_end = 0;
                let scene_index = scene_frames
                    .iter()
                    .position(|f| {
                        scene_end += f;
                        start_frame < scene_end
                    })
                    .unwrap_or(0);
                SceneSound {
                    scene_index,
                    video: sound.source.clone(),
                    start_s: sound.start_s,
                    start_frame,
                    frames,
                    volume: sound.volume.unwrap_or(1.0),
                }
            })
            .collect()
    }
}

/// A sound's first frame on the video and its frames: its start and its end rounded to the nearest frame.
fn sound_frames(sound: &PlacedSound, fps: u32) -> (u64, u64) {
    let first = frames_of(sound.at_s, fps);
    let end = frames_of(sound.at_s + sound.duration_s, fps);
    (first, end.saturating_sub(first))
}
