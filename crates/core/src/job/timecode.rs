//! `HH:MM:SS:FF` timecodes on a ZEROBASED timeline.

use super::{FrameRate, JobError};

/// The timecode of frame `frame` (0-based) at `rate`; FF counts frames within a timecode second.
///
/// Fails at 24 hours, where MediaConvert's timecodes end.
pub fn timecode(frame: u64, rate: FrameRate) -> Result<String, JobError> {
    let base = rate.timecode_base();
    let (seconds, ff) = (frame / base, frame % base);
    let (hh, mm, ss) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hh >= 24 || ff > 99 {
        return Err(JobError::TimecodeOutOfRange {
            frame,
            fps: rate.fps(),
        });
    }
    Ok(format!("{hh:02}:{mm:02}:{ss:02}:{ff:02}"))
}

/// The frame (0-based) that the timecode `tc` (`HH:MM:SS:FF`) names at `rate`: the inverse of [`timecode`].
pub fn timecode_frame(tc: &str, rate: FrameRate) -> Result<u64, JobError> {
    let invalid = || JobError::InvalidOption(format!("timecode {tc:?} is not HH:MM:SS:FF"));
    let parts: Vec<u64> = tc
        .split([':', ';'])
        .map(|part| {
            (part.len() == 2)
                .then(|| part.parse().ok())
                .flatten()
                .ok_or_else(invalid)
        })
        .collect::<Result<_, _>>()?;
    let [hh, mm, ss, ff] = parts[..] else {
        return Err(invalid());
    };
    if mm >= 60 || ss >= 60 || ff >= rate.timecode_base() {
        return Err(invalid());
    }
    Ok((hh * 3600 + mm * 60 + ss) * rate.timecode_base() + ff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_hh_mm_ss_ff() {
        let r30 = FrameRate::per_second(30);
        assert_eq!(timecode(0, r30).unwrap(), "00:00:00:00");
        assert_eq!(timecode(29, r30).unwrap(), "00:00:00:29");
        assert_eq!(timecode(30 * 3661 + 7, r30).unwrap(), "01:01:01:07");
        let ntsc = FrameRate {
            numerator: 30000,
            denominator: 1001,
        };
        assert_eq!(timecode(45, ntsc).unwrap(), "00:00:01:15");
        for frame in [0, 29, 30 * 3661 + 7] {
            assert_eq!(
                timecode_frame(&timecode(frame, r30).unwrap(), r30).unwrap(),
                frame
            );
        }
        assert_eq!(timecode_frame("00:00:01:15", ntsc).unwrap(), 45);
        for bad in [
            "",
            "00:00:00",
            "00:00:00:30",
            "00:60:00:00",
            "0:00:00:00",
            "aa:00:00:00",
        ] {
            assert!(timecode_frame(bad, r30).is_err(), "{bad}");
        }
        assert!(matches!(
            timecode(30 * 86400, r30),
            Err(JobError::TimecodeOutOfRange { .. })
        ));
    }
}
