//! The render request (v1): scenes with durations and sources, a soundtrack, an output; and the chunks of it that
//! are rendered in parallel.
//!
//! Time is counted in integer frames of the output: a scene lasts `round(duration_s * fps)` frames and a chunk is
//! the half-open frame range `[start_frame, end_frame)` of the whole video. This module validates requests and
//! resolves a chunk into the scene segments it covers; [`plan`] cuts a request into chunks.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::job::pip::{HorizontalAlign, VerticalAlign};
use crate::s3uri::S3Uri;

/// Most scenes in one request.
pub const MAX_SCENES: usize = 10_000;
/// Output sizes MediaConvert accepts (each side, even).
pub const SIZE_RANGE: std::ops::RangeInclusive<u32> = 32..=8192;
/// Output frame rates accepted (whole frames per second).
pub const FPS_RANGE: std::ops::RangeInclusive<u32> = 1..=120;
/// Longest render: MediaConvert's timecodes stop at 24 hours.
pub const MAX_TOTAL_SECONDS: f64 = 86_400.0;
/// The render id rule: 1 to 64 of `A-Za-z0-9._-`, no `.` or `..` alone (it names the render's folder).
pub fn is_render_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && id != "."
        && id != ".."
}

/// Image types a still scene or overlay may use (what MediaConvert's image inserter reads).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "tga", "bmp"];
/// Video containers a video scene may use.
pub const VIDEO_EXTENSIONS: [&str; 8] = ["mp4", "m4v", "mov", "webm", "mkv", "ts", "mts", "mxf"];

/// A render request, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderRequest {
    /// Identifies the render in keys, events and job metadata (1..=64 of `A-Za-z0-9._-`).
    pub render_id: String,
    /// The finished video.
    pub output: RenderOutput,
    /// The scenes, in order.
    pub scenes: Vec<Scene>,
    /// Audio mixed once for the whole video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soundtrack: Option<Soundtrack>,
    /// Sounds placed on the video's timeline, mixed once with the rest ([`tiles::PlacedSound`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sounds: Vec<PlacedSound>,
    /// Chunking limits.
    #[serde(default)]
    pub chunking: Chunking,
    /// Who renders chunks.
    #[serde(default)]
    pub renderer: Renderer,
}

/// The finished video: where, what size, what frame rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderOutput {
    /// `s3://bucket/key.mp4`.
    pub uri: String,
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Frames per second (whole).
    pub fps: u32,
    /// Still pictures of the finished video, if wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnails: Option<Thumbnails>,
}

/// Most thumbnails one render makes.
pub const MAX_THUMBNAILS: u32 = 20;

/// Still pictures of a finished video: `count` JPEGs, [`THUMBNAIL_WIDTH`] wide (the video's width if smaller), its
/// aspect kept, taken at the middles of `count` equal spans of the video, named [`thumbnail_name`] in a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thumbnails {
    /// The folder, `s3://bucket/key/` (ending with `/`).
    pub uri: String,
    /// How many: 1 to [`MAX_THUMBNAILS`].
    pub count: u32,
}

/// A thumbnail's width in pixels (a video narrower than this keeps its width).
pub const THUMBNAIL_WIDTH: u32 = 480;

/// The name of thumbnail `n` (from 1) in its folder: `thumb_0001.jpg`, the storage contract of a call's export.
pub fn thumbnail_name(n: u32) -> String {
    format!("thumb_{n:04}.jpg")
}

/// One scene: a still image, a video clip, or videos placed on a black frame (`tiles`), with an optional product
/// overlay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// Unique within the request.
    pub id: String,
    /// Length in seconds (> 0).
    pub duration_s: f64,
    /// A still image (PNG, TGA or BMP); exclusive with `video`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A video; exclusive with `image` and `tiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<String>,
    /// Videos placed on a black frame (silent: their sound goes in `sounds`); exclusive with `image` and `video`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiles: Option<Vec<SceneTile>>,
    /// Where in the video the scene starts, in seconds (video scenes only, default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_s: Option<f64>,
    /// Gain of the video's own sound in [0, 2] (video scenes only, default 1; 0 mutes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    /// A product image over the scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<SceneOverlay>,
}

/// A product image over a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneOverlay {
    /// The image (PNG, TGA or BMP).
    pub image: String,
    /// `left`, `center` or `right`.
    pub x: HorizontalAlign,
    /// `top`, `center` or `bottom`.
    pub y: VerticalAlign,
    /// Width as a fraction of the output width, in (0, 1].
    pub scale: f64,
    /// How the overlay comes in: `fade` (default), `zoom`, `slide` or `none`.
    #[serde(default)]
    pub animation: OverlayAnimation,
    /// Length of the animation in milliseconds (default 0: none). A fade fades in at the scene's start and out at
    /// its end; a zoom or a slide brings the overlay in at the scene's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// The fade's length before `duration_ms` existed (default 0); only with `animation: fade`, and not with
    /// `duration_ms`.
    #[serde(default)]
    pub fade_ms: u32,
}

impl SceneOverlay {
    /// The animation's length in milliseconds: `duration_ms`, else `fade_ms`.
    pub fn animation_ms(&self) -> u32 {
        self.duration_ms.unwrap_or(self.fade_ms)
    }
}

/// How a product overlay comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlayAnimation {
    /// Fades in at the scene's start and out at its end.
    #[default]
    Fade,
    /// Grows from [`ZOOM_FROM`] of its size to its size, about its centre.
    Zoom,
    /// Moves in from outside the frame edge nearest to it.
    Slide,
    /// Shown as is for the whole scene.
    None,
}

/// The size a zooming overlay starts from, as a fraction of its own.
pub const ZOOM_FROM: f64 = 0.5;

/// Most frames a zoom or slide lasts: each of its frames is one image of the chunk's image inserter, whose layers
/// (0 to 99, one per image, 0 left to stills) it shares with the other overlays of the chunk.
pub const MAX_MOTION_FRAMES: u64 = 60;

/// The soundtrack, mixed once and muxed in after the join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Soundtrack {
    /// Voice-over audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voiceover: Option<String>,
    /// Background music, looped or cut to the video's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music: Option<String>,
    /// Music gain in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_volume: Option<f64>,
    /// How the music is ducked under the voice-over (when there are both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ducking: Option<Ducking>,
}

/// Music ducked under the voice-over: a compressor on the music keyed by the voice-over. While the voice-over is
/// louder than `threshold_db`, the music is turned down by `ratio` to one of the excess; `ratio` 1 turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ducking {
    /// Voice-over level (dBFS) above which the music is ducked, in [-60, 0] (default -30).
    pub threshold_db: f64,
    /// Compression ratio in [1, 20] (default 8; 1 = no ducking).
    pub ratio: f64,
    /// How fast the music goes down when the voice starts, in ms, 1..=2000 (default 20).
    pub attack_ms: u32,
    /// How fast it comes back when the voice stops, in ms, 10..=9000 (default 400).
    pub release_ms: u32,
}

impl Default for Ducking {
    fn default() -> Self {
        Self {
            threshold_db: -30.0,
            ratio: 8.0,
            attack_ms: 20,
            release_ms: 400,
        }
    }
}

impl Ducking {
    /// Whether the music is ducked at all.
    pub fn is_on(&self) -> bool {
        self.ratio > 1.0
    }
}

/// Range of a video scene's `volume`.
pub const SCENE_VOLUME_RANGE: std::ops::RangeInclusive<f64> = 0.0..=2.0;

/// The sound of one video scene, placed on the video's timeline: mixed once with the soundtrack, never per chunk,
/// so a chunk boundary never cuts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneSound {
    /// Index of the scene in the request (a placed sound's: the scene it starts in).
    pub scene_index: usize,
    /// The scene's video (or the placed sound's source), whose first audio track is the sound (none: silence).
    pub video: String,
    /// Where in the video the scene starts, in seconds.
    pub start_s: f64,
    /// First frame of the scene in the video being rendered.
    pub start_frame: u64,
    /// Frames of the scene.
    pub frames: u64,
    /// Gain (> 0).
    pub volume: f64,
}

/// Chunking limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chunking {
    /// Longest chunk in seconds (default 120).
    pub max_chunk_s: f64,
    /// Shortest chunk in seconds unless the whole video is shorter (default 10).
    pub min_chunk_s: f64,
    /// Chunks rendered at once (default 10).
    pub max_concurrency: u32,
}

impl Default for Chunking {
    fn default() -> Self {
        Self {
            max_chunk_s: 120.0,
            min_chunk_s: 10.0,
            max_concurrency: 10,
        }
    }
}

/// Who renders chunks: MediaConvert (default) or a Lambda function taking `{request_uri, media_uri, chunk}` and
/// returning `{output_uri}` (vidpipe's own: `functions/transcoder`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Renderer {
    /// A MediaConvert job per chunk.
    #[default]
    #[serde(rename = "mediaconvert")]
    MediaConvert,
    /// A custom renderer function (ARN).
    #[serde(rename = "lambda")]
    Lambda(String),
}

/// One chunk: the output frames `[start_frame, end_frame)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    /// Position in the join order, from 0.
    pub index: u32,
    /// First frame.
    pub start_frame: u64,
    /// One past the last frame.
    pub end_frame: u64,
}

/// One planned chunk and where it is rendered to: an item of the render flow's Map (and of the transcode flow's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChunk {
    /// Position in the join order, from 0.
    pub index: u32,
    /// First frame.
    pub start_frame: u64,
    /// One past the last frame.
    pub end_frame: u64,
    /// `chunks/{index:05}.mp4` in the render's work folder.
    pub output_uri: String,
}

/// The part of one scene that falls in a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SceneSegment {
    /// Index of the scene in the request.
    pub scene_index: usize,
    /// First frame of the segment, counted from the scene's start.
    pub start_in_scene: u64,
    /// Frames in the segment.
    pub frames: u64,
    /// Frames in the whole scene.
    pub scene_frames: u64,
}

impl SceneSegment {
    /// Whether the segment begins where the scene begins.
    pub fn at_scene_start(&self) -> bool {
        self.start_in_scene == 0
    }

    /// Whether the segment ends where the scene ends.
    pub fn at_scene_end(&self) -> bool {
        self.start_in_scene + self.frames == self.scene_frames
    }
}

/// One thing wrong with a request: where (a JSON path) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the offending field, e.g. `scenes[3].duration_s`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a request or chunk is rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// The JSON does not fit the v1 shape (unknown field, wrong type, missing field).
    #[error("render request is not valid JSON of version 1: {0}")]
    Shape(String),
    /// The request breaks one or more rules; every problem is listed.
    #[error("invalid render request: {}", list(.0))]
    Invalid(Vec<Problem>),
    /// The chunk is empty or outside the video.
    #[error(
        "invalid chunk {index} [{start_frame}, {end_frame}): {reason} (the video has {total_frames} frames)"
    )]
    InvalidChunk {
        /// Chunk index.
        index: u32,
        /// Its first frame.
        start_frame: u64,
        /// One past its last frame.
        end_frame: u64,
        /// Frames in the whole video.
        total_frames: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The problems found so far, each at its JSON path.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: String, message: String) {
        self.0.push(Problem { path, message });
    }
}

impl RenderRequest {
    /// Parses and validates a request.
    pub fn from_json(json: &str) -> Result<Self, RenderError> {
        let request: RenderRequest =
            serde_json::from_str(json).map_err(|e| RenderError::Shape(e.to_string()))?;
        request.validate()?;
        Ok(request)
    }

    /// Checks every rule and names every problem found, in the request's order.
    pub fn validate(&self) -> Result<(), RenderError> {
        let mut problems = Problems::default();
        let fps_ok = self.check_output(&mut problems);
        self.check_scenes(fps_ok, &mut problems);
        self.check_soundtrack(&mut problems);
        self.check_sounds(fps_ok, &mut problems);
        self.check_chunking(&mut problems);
        self.check_renderer(&mut problems);
        if problems.0.is_empty() {
            Ok(())
        } else {
            Err(RenderError::Invalid(problems.0))
        }
    }

    /// `render_id` and `output`; whether the frame rate is usable for the scenes' frame counts.
    fn check_output(&self, problems: &mut Problems) -> bool {
        if !is_render_id(&self.render_id) {
            problems.add(
                "render_id".into(),
                "must be 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-', and not '.' or '..'".into(),
            );
        }
        match render_uri(&self.output.uri) {
            Ok(uri) if uri.extension().as_deref() == Some("mp4") => {}
            Ok(_) => problems.add("output.uri".into(), "must name an .mp4 object".into()),
            Err(e) => problems.add("output.uri".into(), e),
        }
        for (name, value) in [("width", self.output.width), ("height", self.output.height)] {
            if !SIZE_RANGE.contains(&value) || value % 2 != 0 {
                problems.add(
                    format!("output.{name}"),
                    format!("{value} must be even and within 32..=8192"),
                );
            }
        }
        if let Some(thumbnails) = &self.output.thumbnails {
            match render_uri(&thumbnails.uri) {
                Ok(uri) if uri.key().ends_with('/') => {}
                Ok(_) => problems.add(
                    "output.thumbnails.uri".into(),
                    "must name a folder (end with `/`)".into(),
                ),
                Err(e) => problems.add("output.thumbnails.uri".into(), e),
            }
            if !(1..=MAX_THUMBNAILS).contains(&thumbnails.count) {
                problems.add(
                    "output.thumbnails.count".into(),
                    format!("{} must be within 1..={MAX_THUMBNAILS}", thumbnails.count),
                );
            }
        }
        let fps_ok = FPS_RANGE.contains(&self.output.fps);
        if !fps_ok {
            problems.add(
                "output.fps".into(),
                format!("{} must be within 1..=120", self.output.fps),
            );
        }
        fps_ok
    }

    /// `scenes`: each scene, unique ids, the total length.
    fn check_scenes(&self, fps_ok: bool, problems: &mut Problems) {
        if self.scenes.is_empty() {
            problems.add("scenes".into(), "must hold at least one scene".into());
        }
        if self.scenes.len() > MAX_SCENES {
            problems.add(
                "scenes".into(),
                format!("{} scenes is more than {MAX_SCENES}", self.scenes.len()),
            );
        }
        let mut ids = BTreeSet::new();
        let mut total_s = 0.0;
        for (i, scene) in self.scenes.iter().enumerate() {
            if self.check_scene(i, scene, fps_ok, &mut ids, problems) {
                total_s += scene.duration_s;
            }
        }
        if total_s > MAX_TOTAL_SECONDS {
            problems.add(
                "scenes".into(),
                format!("total {total_s} s is longer than 24 hours"),
            );
        }
    }

    /// One scene; whether it has a usable length (counted in the total).
    fn check_scene<'a>(
        &self,
        i: usize,
        scene: &'a Scene,
        fps_ok: bool,
        ids: &mut BTreeSet<&'a str>,
        problems: &mut Problems,
    ) -> bool {
        let mut has_length = false;
        let at = |field: &str| format!("scenes[{i}].{field}");
        if scene.id.is_empty() {
            problems.add(at("id"), "must not be empty".into());
        } else if !ids.insert(scene.id.as_str()) {
            problems.add(
                at("id"),
                format!("`{}` is used by an earlier scene", scene.id),
            );
        }
        if !(scene.duration_s.is_finite() && scene.duration_s > 0.0) {
            problems.add(
                at("duration_s"),
                format!("{} must be a number > 0", scene.duration_s),
            );
        } else {
            has_length = true;
            if fps_ok && frames_of(scene.duration_s, self.output.fps) == 0 {
                problems.add(
                    at("duration_s"),
                    format!("{} s is shorter than one frame", scene.duration_s),
                );
            }
        }
        match (&scene.image, &scene.video) {
            _ if scene.tiles.is_some() => {
                if scene.image.is_some() || scene.video.is_some() {
                    problems.add(
                        at("tiles"),
                        "a scene has `image`, `video` or `tiles`, one of them".into(),
                    );
                }
                self.check_tiles(i, scene.tiles.as_deref().unwrap_or_default(), problems);
            }
            (Some(image), None) => {
                if let Some(message) = source_problem(image, &IMAGE_EXTENSIONS) {
                    problems.add(at("image"), message);
                }
            }
            (None, Some(video)) => {
                if let Some(message) = source_problem(video, &VIDEO_EXTENSIONS) {
                    problems.add(at("video"), message);
                }
            }
            (Some(_), Some(_)) => problems.add(
                at("image"),
                "a scene has either `image` or `video`, not both".into(),
            ),
            (None, None) => problems.add(
                at("image"),
                "a scene needs an `image`, a `video` or `tiles`".into(),
            ),
        }
        if scene.start_s.is_some() && scene.video.is_none() {
            problems.add(at("start_s"), "applies to video scenes only".into());
        }
        match scene.start_s {
            Some(start) if !(start.is_finite() && start >= 0.0) => {
                problems.add(at("start_s"), format!("{start} must be a number >= 0"));
            }
            // A chunk job names its source frames by timecode, and MediaConvert's timecodes stop at 24 hours: a
            // scene that ends later in its video could never be clipped (and its frame numbers overflow).
            Some(start) if start + scene.duration_s > MAX_TOTAL_SECONDS => problems.add(
                at("start_s"),
                format!(
                    "the scene would end {} s into its video, past the 24 hours of MediaConvert's timecodes",
                    start + scene.duration_s
                ),
            ),
            _ => {}
        }
        match scene.volume {
            Some(_) if scene.video.is_none() => {
                problems.add(at("volume"), "applies to video scenes only".into());
            }
            Some(volume) if !SCENE_VOLUME_RANGE.contains(&volume) => {
                problems.add(at("volume"), format!("{volume} must be within [0, 2]"));
            }
            _ => {}
        }
        if let Some(overlay) = &scene.overlay {
            if let Some(message) = source_problem(&overlay.image, &IMAGE_EXTENSIONS) {
                problems.add(at("overlay.image"), message);
            }
            if !(overlay.scale > 0.0 && overlay.scale <= 1.0) {
                problems.add(
                    at("overlay.scale"),
                    format!("{} must be within (0, 1]", overlay.scale),
                );
            }
            check_animation(overlay, scene.duration_s, self.output.fps, &at, problems);
        }
        has_length
    }

    /// `soundtrack`.
    fn check_soundtrack(&self, problems: &mut Problems) {
        if let Some(soundtrack) = &self.soundtrack {
            if soundtrack.voiceover.is_none() && soundtrack.music.is_none() {
                problems.add(
                    "soundtrack".into(),
                    "needs a `voiceover`, a `music`, or both".into(),
                );
            }
            for (name, uri) in [
                ("voiceover", &soundtrack.voiceover),
                ("music", &soundtrack.music),
            ] {
                if let Some(message) = uri.as_deref().and_then(|u| render_uri(u).err()) {
                    problems.add(format!("soundtrack.{name}"), message);
                }
            }
            if let Some(volume) = soundtrack.music_volume.filter(|v| !(0.0..=1.0).contains(v)) {
                problems.add(
                    "soundtrack.music_volume".into(),
                    format!("{volume} must be within [0, 1]"),
                );
            }
            if let Some(ducking) = &soundtrack.ducking {
                check_ducking(ducking, problems);
            }
        }
    }

    /// `chunking`.
    fn check_chunking(&self, problems: &mut Problems) {
        let chunking = &self.chunking;
        if !(chunking.max_chunk_s.is_finite() && chunking.max_chunk_s > 0.0) {
            problems.add(
                "chunking.max_chunk_s".into(),
                format!("{} must be a number > 0", chunking.max_chunk_s),
            );
        }
        if !(chunking.min_chunk_s.is_finite() && chunking.min_chunk_s >= 0.0) {
            problems.add(
                "chunking.min_chunk_s".into(),
                format!("{} must be a number >= 0", chunking.min_chunk_s),
            );
        } else if chunking.min_chunk_s > chunking.max_chunk_s {
            problems.add(
                "chunking.min_chunk_s".into(),
                "must not exceed max_chunk_s".into(),
            );
        }
        if !(1..=1000).contains(&chunking.max_concurrency) {
            problems.add(
                "chunking.max_concurrency".into(),
                format!("{} must be within 1..=1000", chunking.max_concurrency),
            );
        }
    }

    /// `renderer`.
    fn check_renderer(&self, problems: &mut Problems) {
        if let Renderer::Lambda(arn) = &self.renderer {
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() < 7
                || parts[0] != "arn"
                || parts[2] != "lambda"
                || parts[5] != "function"
            {
                problems.add(
                    "renderer.lambda".into(),
                    format!("`{arn}` is not a Lambda function ARN"),
                );
            }
        }
    }

    /// The sound of every video scene that is not muted, in scene order, then the placed `sounds`. A scene whose
    /// video turns out to have no audio track is silence: whoever mixes skips it.
    pub fn scene_sounds(&self) -> Vec<SceneSound> {
        let mut start_frame = 0;
        let mut sounds = Vec::new();
        for (scene_index, (scene, frames)) in
            self.scenes.iter().zip(self.scene_frames()).enumerate()
        {
            let volume = scene.volume.unwrap_or(1.0);
            if let Some(video) = scene.video.as_ref().filter(|_| volume > 0.0) {
                sounds.push(SceneSound {
                    scene_index,
                    video: video.clone(),
                    start_s: scene.start_s.unwrap_or(0.0),
                    start_frame,
                    frames,
                    volume,
                });
            }
            start_frame += frames;
        }
        sounds.extend(self.placed_sounds());
        sounds
    }

    /// Frames of each scene: `round(duration_s * fps)`.
    pub fn scene_frames(&self) -> Vec<u64> {
        self.scenes
            .iter()
            .map(|s| frames_of(s.duration_s, self.output.fps))
            .collect()
    }

    /// Frames of the whole video.
    pub fn total_frames(&self) -> u64 {
        self.scene_frames().iter().sum()
    }

    /// The scene segments that make up `chunk`, in order.
    pub fn resolve_chunk(&self, chunk: &Chunk) -> Result<Vec<SceneSegment>, RenderError> {
        let scene_frames = self.scene_frames();
        let total_frames: u64 = scene_frames.iter().sum();
        let invalid = |reason| RenderError::InvalidChunk {
            index: chunk.index,
            start_frame: chunk.start_frame,
            end_frame: chunk.end_frame,
            total_frames,
            reason,
        };
        if chunk.start_frame >= chunk.end_frame {
            return Err(invalid("it holds no frame"));
        }
        if chunk.end_frame > total_frames {
            return Err(invalid("it ends after the video"));
        }
        let mut segments = Vec::new();
        let mut scene_start = 0;
        for (scene_index, &frames) in scene_frames.iter().enumerate() {
            let scene_end = scene_start + frames;
            let (from, to) = (
                chunk.start_frame.max(scene_start),
                chunk.end_frame.min(scene_end),
            );
            if from < to {
                segments.push(SceneSegment {
                    scene_index,
                    start_in_scene: from - scene_start,
                    frames: to - from,
                    scene_frames: frames,
                });
            }
            if scene_end >= chunk.end_frame {
                break;
            }
            scene_start = scene_end;
        }
        Ok(segments)
    }
}

/// `scenes[i].overlay`'s animation and its length: a fade in and out within the scene, a zoom or slide within the
/// scene and [`MAX_MOTION_FRAMES`].
fn check_animation(
    overlay: &SceneOverlay,
    scene_s: f64,
    fps: u32,
    at: &impl Fn(&str) -> String,
    problems: &mut Problems,
) {
    if overlay.duration_ms.is_some() && overlay.fade_ms > 0 {
        problems.add(
            at("overlay.fade_ms"),
            "give `duration_ms` or (for a fade) `fade_ms`, not both".into(),
        );
    }
    if overlay.fade_ms > 0 && overlay.animation != OverlayAnimation::Fade {
        problems.add(
            at("overlay.fade_ms"),
            "applies to `animation: fade` only; use `duration_ms`".into(),
        );
    }
    let field = if overlay.duration_ms.is_some() {
        "overlay.duration_ms"
    } else {
        "overlay.fade_ms"
    };
    let ms = f64::from(overlay.animation_ms());
    let scene_ms = scene_s * 1000.0;
    match overlay.animation {
        OverlayAnimation::Fade if scene_s.is_finite() && ms * 2.0 > scene_ms => problems.add(
            at(field),
            "fade in plus fade out is longer than the scene".into(),
        ),
        OverlayAnimation::Zoom | OverlayAnimation::Slide => {
            if scene_s.is_finite() && ms > scene_ms {
                problems.add(at(field), "the animation is longer than the scene".into());
            }
            let frames = frames_of(ms / 1000.0, fps);
            if frames > MAX_MOTION_FRAMES {
                problems.add(
                    at(field),
                    format!(
                        "{ms} ms is {frames} frames at {fps} fps; a zoom or slide lasts at most {MAX_MOTION_FRAMES} \
                         frames (one overlay image each)"
                    ),
                );
            }
        }
        _ => {}
    }
}

/// `soundtrack.ducking`: each setting within what the mixer's compressor takes.
fn check_ducking(ducking: &Ducking, problems: &mut Problems) {
    let at = |field: &str| format!("soundtrack.ducking.{field}");
    if !(-60.0..=0.0).contains(&ducking.threshold_db) {
        problems.add(
            at("threshold_db"),
            format!("{} must be within [-60, 0]", ducking.threshold_db),
        );
    }
    if !(1.0..=20.0).contains(&ducking.ratio) {
        problems.add(
            at("ratio"),
            format!("{} must be within [1, 20]", ducking.ratio),
        );
    }
    if !(1..=2000).contains(&ducking.attack_ms) {
        problems.add(
            at("attack_ms"),
            format!("{} must be within 1..=2000", ducking.attack_ms),
        );
    }
    if !(10..=9000).contains(&ducking.release_ms) {
        problems.add(
            at("release_ms"),
            format!("{} must be within 10..=9000", ducking.release_ms),
        );
    }
}

/// Frames of a duration at a whole frame rate, rounded to the nearest frame.
fn frames_of(duration_s: f64, fps: u32) -> u64 {
    if duration_s.is_finite() && duration_s > 0.0 {
        (duration_s * f64::from(fps)).round() as u64
    } else {
        0
    }
}

/// `uri` as an object a render reads or writes: an `s3://` URI without control characters and without `.` or `..`
/// key segments. A key may hold them in S3, but no job could name such a file to the engine (a NUL is in no file
/// name or process argument), and a `..` reads as a way out of a folder to every tool that treats keys as paths
/// (the engine's local storage, the console), so a request naming one is refused here, with its other problems,
/// rather than by its first chunk's job.
pub(crate) fn render_uri(uri: &str) -> Result<S3Uri, String> {
    let parsed = S3Uri::parse_str(uri).map_err(|e| e.to_string())?;
    if uri.chars().any(char::is_control) {
        return Err(format!(
            "`{}` holds a control character",
            uri.escape_debug()
        ));
    }
    if parsed
        .key()
        .split('/')
        .any(|segment| matches!(segment, "." | ".."))
    {
        return Err(format!("`{uri}` holds a `.` or `..` key segment"));
    }
    Ok(parsed)
}

/// Why a source URI is not usable, if it is not.
fn source_problem(uri: &str, extensions: &[&str]) -> Option<String> {
    match render_uri(uri) {
        Err(e) => Some(format!("unsupported source: {e}")),
        Ok(parsed) => match parsed.extension() {
            Some(ext) if extensions.contains(&ext.as_str()) => None,
            _ => Some(format!(
                "unsupported source `{uri}`: expected one of {}",
                extensions.join(", ")
            )),
        },
    }
}

pub mod plan;
pub mod ports;
pub mod record;
pub mod scope;
pub mod tiles;

pub use tiles::{PlacedSound, SceneTile};

#[cfg(test)]
mod tests;
