//! What the builders know about a source: probe results, passed in (never fetched here).

use serde::{Deserialize, Serialize};

/// A width and a height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Size {
    /// A size.
    pub const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl std::str::FromStr for Size {
    type Err = String;

    /// Parses `WIDTHxHEIGHT`, for example `1920x1080`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |part: &str| part.trim().parse::<u32>().ok().filter(|n| *n > 0);
        match s.split_once(['x', 'X']).map(|(w, h)| (parse(w), parse(h))) {
            Some((Some(width), Some(height))) => Ok(Self { width, height }),
            _ => Err(format!("`{s}` is not a size like 1920x1080")),
        }
    }
}

/// A frame rate as a fraction, e.g. 30/1 or 30000/1001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameRate {
    /// Frames per `denominator` seconds.
    pub numerator: u32,
    /// Seconds per `numerator` frames.
    pub denominator: u32,
}

impl FrameRate {
    /// The rate assumed when a probe did not report one.
    pub const FALLBACK: FrameRate = FrameRate {
        numerator: 30,
        denominator: 1,
    };

    /// A whole number of frames per second.
    pub const fn per_second(fps: u32) -> Self {
        Self {
            numerator: fps,
            denominator: 1,
        }
    }

    /// Whether both parts are positive and the rate is at most 1000 fps.
    pub fn is_valid(self) -> bool {
        self.numerator > 0 && self.denominator > 0 && self.numerator / self.denominator <= 1000
    }

    /// Whether a probe's rate can be a recording's frame rate: valid and at most 120 fps. A browser's WebM states
    /// no rate, and probes then report its millisecond timestamps as `1000/1`.
    pub fn is_recording_rate(self) -> bool {
        self.is_valid() && self.fps() <= 120.0
    }

    /// Frames per second as a float.
    pub fn fps(self) -> f64 {
        f64::from(self.numerator) / f64::from(self.denominator)
    }

    /// Frames per timecode second: the rate rounded to a whole number (30 for 29.97).
    pub fn timecode_base(self) -> u64 {
        (self.fps().round() as u64).max(1)
    }

    /// The frame index nearest to `ms` milliseconds.
    pub fn frame_at_ms(self, ms: u64) -> u64 {
        let n = u128::from(ms) * u128::from(self.numerator);
        let d = 1000 * u128::from(self.denominator);
        ((n + d / 2) / d) as u64
    }

    /// Milliseconds taken by `frames` frames, rounded to the nearest millisecond.
    ///
    /// The error is under half a millisecond, less than half a frame at any rate up to 1000 fps, so rounding the
    /// duration back to frames with [`FrameRate::frame_at_ms`] gives `frames` again.
    pub fn ms_of_frames(self, frames: u64) -> u64 {
        let n = u128::from(frames) * 1000 * u128::from(self.denominator);
        let d = u128::from(self.numerator);
        ((n + d / 2) / d) as u64
    }
}

/// Probe results for one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaInfo {
    /// Coded width in pixels (before rotation).
    pub width: u32,
    /// Coded height in pixels (before rotation).
    pub height: u32,
    /// Duration in milliseconds (0 for a still image); `None` when the probe states none. MediaConvert's Probe may
    /// state none for a browser's recording (MediaRecorder writes WebM as a live stream, with no duration in its
    /// header); builders that need a length say so where they use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Video frame rate, when the container reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<FrameRate>,
    /// Whether the source has an audio track.
    pub has_audio: bool,
    /// Clockwise display rotation in degrees from the container's metadata (0, 90, 180 or 270).
    #[serde(default)]
    pub rotation: u16,
}

impl MediaInfo {
    /// The size as displayed: coded size, swapped for a 90 or 270 degree rotation.
    pub fn display_size(&self) -> Size {
        if self.rotation % 180 == 90 {
            Size::new(self.height, self.width)
        } else {
            Size::new(self.width, self.height)
        }
    }

    /// The frame rate, or [`FrameRate::FALLBACK`] when unknown.
    pub fn frame_rate_or_fallback(&self) -> FrameRate {
        self.frame_rate
            .filter(|r| r.is_valid())
            .unwrap_or(FrameRate::FALLBACK)
    }
}
