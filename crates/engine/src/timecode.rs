//! Timecodes (`HH:MM:SS:FF`, or `HH:MM:SS;FF`) as frame numbers at a frame rate.
//!
//! Frames are counted at the nominal (rounded) rate, as non-drop-frame timecode counts them: at 29.97 fps a second
//! of timecode is 30 frames.

use crate::probe::FrameRate;

/// A timecode that is not `HH:MM:SS:FF` with a frame number below the rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timecode [{timecode}] is not HH:MM:SS:FF at {fps} fps")]
pub struct TimecodeError {
    /// The timecode as given.
    pub timecode: String,
    /// The nominal frame rate it was read at.
    pub fps: u32,
}

/// Frames per timecode second at `rate` (30 for 29.97).
pub fn nominal_fps(rate: FrameRate) -> u32 {
    rate.fps().round().max(1.0) as u32
}

/// The frame number of `timecode` counted from 00:00:00:00 at `rate`.
pub fn to_frames(timecode: &str, rate: FrameRate) -> Result<u64, TimecodeError> {
    let fps = nominal_fps(rate);
    let error = || TimecodeError {
        timecode: timecode.into(),
        fps,
    };
    // An `@…` suffix is allowed by the model's pattern for clippings; its meaning is not documented.
    if timecode.contains('@') {
        return Err(error());
    }
    let parts: Vec<&str> = timecode.split([':', ';']).collect();
    let [h, m, s, f] = parts.as_slice() else {
        return Err(error());
    };
    let number = |p: &str| p.parse::<u64>().ok().filter(|_| p.len() == 2);
    let (Some(h), Some(m), Some(s), Some(f)) = (number(h), number(m), number(s), number(f)) else {
        return Err(error());
    };
    if m > 59 || s > 59 || f >= u64::from(fps) {
        return Err(error());
    }
    Ok(((h * 60 + m) * 60 + s) * u64::from(fps) + f)
}

/// The timecode of frame `frames` at `rate`.
pub fn from_frames(frames: u64, rate: FrameRate) -> String {
    let fps = u64::from(nominal_fps(rate));
    let (seconds, f) = (frames / fps, frames % fps);
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        f
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS25: FrameRate = FrameRate {
        numerator: 25,
        denominator: 1,
    };
    const NTSC: FrameRate = FrameRate {
        numerator: 30000,
        denominator: 1001,
    };

    #[test]
    fn converts_both_ways() {
        assert_eq!(to_frames("00:00:01:05", FPS25).unwrap(), 30);
        assert_eq!(to_frames("01:00:00:00", FPS25).unwrap(), 90000);
        assert_eq!(to_frames("00:00:01;00", NTSC).unwrap(), 30);
        assert_eq!(from_frames(90_030, FPS25), "01:00:01:05");
    }

    #[test]
    fn rejects_bad_timecodes() {
        for bad in [
            "00:00:01",
            "00:00:01:25",
            "0:00:01:00",
            "00:60:00:00",
            "00:00:00:00@1",
        ] {
            assert!(to_frames(bad, FPS25).is_err(), "{bad}");
        }
    }
}
