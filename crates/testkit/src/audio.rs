//! Measurements of decoded audio: the amplitude and phase of a sine tone, and whether a tone runs without a gap or
//! a click (its fitted phase stays constant and its amplitude steady, window after window).

use std::ops::Range;
use std::path::Path;

use crate::media::ffmpeg;

/// Sample rate the helpers decode to, in Hz.
pub const RATE: u32 = 48_000;

/// Decodes the file's first audio stream to mono (channels averaged) float samples at [`RATE`].
pub fn decode_mono(path: &Path) -> Vec<f32> {
    let out = ffmpeg(
        &[
            "-i",
            &path.display().to_string(),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            &RATE.to_string(),
            "-f",
            "f32le",
            "-",
        ]
        .map(String::from),
    );
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A sine tone fitted to some samples: `amplitude * sin(2π hz n / RATE + phase)` with `n` the sample's index in the
/// whole stream, so a continuous tone has the same phase in every window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneFit {
    /// Peak amplitude (full scale = 1).
    pub amplitude: f64,
    /// Phase in radians, in (-π, π].
    pub phase: f64,
    /// RMS of what the tone does not explain, relative to the amplitude.
    pub residual: f64,
}

/// Fits a `hz` tone (least squares) to `samples[range]`.
pub fn fit_tone(samples: &[f32], range: Range<usize>, hz: f64) -> ToneFit {
    assert!(
        range.end <= samples.len() && !range.is_empty(),
        "window {range:?} outside {} samples",
        samples.len()
    );
    let omega = 2.0 * std::f64::consts::PI * hz / f64::from(RATE);
    let (mut ss, mut cc, mut sc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for n in range.clone() {
        let (s, c) = (omega * n as f64).sin_cos();
        let x = f64::from(samples[n]);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        xs += x * s;
        xc += x * c;
    }
    let det = ss * cc - sc * sc;
    let a = (xs * cc - xc * sc) / det;
    let b = (xc * ss - xs * sc) / det;
    let amplitude = a.hypot(b);
    let mut residual = 0.0;
    for n in range.clone() {
        let (s, c) = (omega * n as f64).sin_cos();
        let error = f64::from(samples[n]) - (a * s + b * c);
        residual += error * error;
    }
    let residual = (residual / range.len() as f64).sqrt() / amplitude.max(1e-12);
    ToneFit {
        amplitude,
        phase: b.atan2(a),
        residual,
    }
}

/// How steady a tone is over a stretch of samples, window by window.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneContinuity {
    /// Windows measured.
    pub windows: usize,
    /// Smallest window amplitude.
    pub min_amplitude: f64,
    /// Largest window amplitude.
    pub max_amplitude: f64,
    /// Largest phase difference from the first window, in radians (a gap or a cut shifts the phase).
    pub max_phase_drift: f64,
    /// Largest relative residual of a window (a click adds energy the tone does not explain).
    pub max_residual: f64,
    /// Start sample of the window with the largest phase drift or residual.
    pub worst_window_start: usize,
}

/// Fits a `hz` tone in consecutive windows of `window` samples over `range` and reports how steady it is.
pub fn tone_continuity(
    samples: &[f32],
    range: Range<usize>,
    hz: f64,
    window: usize,
) -> ToneContinuity {
    let mut report = ToneContinuity {
        windows: 0,
        min_amplitude: f64::INFINITY,
        max_amplitude: 0.0,
        max_phase_drift: 0.0,
        max_residual: 0.0,
        worst_window_start: range.start,
    };
    let mut first_phase = None;
    let mut worst = 0.0;
    let mut start = range.start;
    while start + window <= range.end {
        let fit = fit_tone(samples, start..start + window, hz);
        let reference = *first_phase.get_or_insert(fit.phase);
        let drift = wrap(fit.phase - reference).abs();
        report.windows += 1;
        report.min_amplitude = report.min_amplitude.min(fit.amplitude);
        report.max_amplitude = report.max_amplitude.max(fit.amplitude);
        report.max_phase_drift = report.max_phase_drift.max(drift);
        report.max_residual = report.max_residual.max(fit.residual);
        let badness = drift + fit.residual;
        if badness > worst {
            worst = badness;
            report.worst_window_start = start;
        }
        start += window;
    }
    report
}

/// An angle wrapped into (-π, π].
fn wrap(angle: f64) -> f64 {
    use std::f64::consts::PI;
    let wrapped = angle.rem_euclid(2.0 * PI);
    if wrapped > PI {
        wrapped - 2.0 * PI
    } else {
        wrapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, amplitude: f64, phase: f64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|n| {
                let t = 2.0 * std::f64::consts::PI * hz * n as f64 / f64::from(RATE);
                (amplitude * (t + phase).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn fits_amplitude_and_phase() {
        let samples = tone(440.0, 0.5, 1.0, 4800);
        let fit = fit_tone(&samples, 1000..1480, 440.0);
        assert!((fit.amplitude - 0.5).abs() < 1e-4, "{fit:?}");
        assert!((fit.phase - 1.0).abs() < 1e-4, "{fit:?}");
        assert!(fit.residual < 1e-4, "{fit:?}");
    }

    #[test]
    fn a_gap_or_a_click_is_seen() {
        let steady = tone(440.0, 0.5, 0.0, 48_000);
        let report = tone_continuity(&steady, 0..48_000, 440.0, 480);
        assert_eq!(report.windows, 100);
        assert!(report.max_phase_drift < 1e-3 && report.max_residual < 1e-3);

        let mut gap = steady[..24_000].to_vec();
        gap.extend(vec![0.0; 100]);
        gap.extend_from_slice(&steady[24_000..47_900]);
        let report = tone_continuity(&gap, 0..48_000, 440.0, 480);
        assert!(report.max_phase_drift > 0.5, "{report:?}");
        assert!((23_520..=24_100).contains(&report.worst_window_start));

        let mut click = steady.clone();
        click[30_000] = 1.0;
        let report = tone_continuity(&click, 0..48_000, 440.0, 480);
        assert!(report.max_residual > 0.05, "{report:?}");
    }
}
