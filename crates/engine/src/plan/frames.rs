//! Frame and rate arithmetic: frame counts and seconds, frame-exact timestamps, rate conversion.

use crate::probe::FrameRate;

pub(super) fn rate_expr(rate: FrameRate) -> String {
    format!("{}/{}", rate.numerator, rate.denominator)
}

/// Filters that stamp each frame with its index plus `first`, in a time base of exactly one frame at `rate`. Exact
/// integers: the expression `N/(rate)/TB` is evaluated in floating point and truncated, so some frames got the
/// previous frame's timestamp (3/20/0.05 is 2.9999...) and a later `fps` filter dropped them.
pub(super) fn frame_index_pts(rate: FrameRate, first: u64) -> String {
    format!(
        "settb={}/{},setpts=N+{first}",
        rate.denominator, rate.numerator
    )
}

pub(super) fn frames_to_seconds(frames: u64, rate: FrameRate) -> f64 {
    frames as f64 * f64::from(rate.denominator) / f64::from(rate.numerator)
}

pub(super) fn seconds_to_frames(seconds: f64, rate: FrameRate) -> u64 {
    (seconds * rate.fps()).round().max(0.0) as u64
}

/// Converts a stream of `seconds` to the frame rate `to`, keeping its duration: exactly `seconds * to` frames
/// (rounded), each the input frame nearest its time. ffmpeg's `fps` filter alone stops at the last input frame's
/// timestamp and so drops the output frames that fall within that frame's duration (a 20 fps stream of 4.3 s gave
/// 127 frames at 30 fps instead of 129). The stream is therefore padded with one second of its last frame and cut
/// to the exact count.
pub(super) fn rate_conversion(seconds: f64, to: FrameRate) -> String {
    format!(
        "tpad=stop_mode=clone:stop_duration=1,fps={},trim=end_frame={}",
        rate_expr(to),
        seconds_to_frames(seconds, to)
    )
}

/// The frames a duration in ms covers, rounded: the inverse of the builders' `round(frames * 1000 / fps)` ms (the
/// convention `VideoGenerator.Duration` follows too). Rounding up made an image of 5 frames at 30 fps (167 ms) stay
/// 6 frames, into the next scene.
pub(super) fn ms_to_frames(ms: i32, rate: FrameRate) -> u64 {
    seconds_to_frames(f64::from(ms.max(0)) / 1000.0, rate)
}

/// An overlay filter's `enable` option that shows the secondary up to frame `last` of the main timeline and not
/// after. It tests the main frame's time, half a frame past `last` so floating point cannot drop that frame, so the
/// main must be stamped with its frame indices ([`frame_index_pts`]; after a `concat` its frames are a fraction of a
/// millisecond off). Not overlay's frame number `n`: it lags one frame behind the main frame's index once a
/// secondary that starts after frame 0 has begun (measured with ffmpeg 5.1: an image from frame 15 with
/// `lte(n,29)` was still on frame 30).
pub(super) fn enable_until(last: u64, rate: FrameRate) -> String {
    format!(
        "enable=lte(t\\,{})",
        (last as f64 + 0.5) * f64::from(rate.denominator) / f64::from(rate.numerator)
    )
}
