//! How much work one source may ask for: refused after probing, before any job is bought. A recording of ten hours
//! or an 8K, 240 fps file would otherwise cost a whole job (or every chunk of a render) before anything failed.

use crate::config::{ConfigError, Vars};
use crate::job::MediaInfo;

/// The largest source accepted, by size, length, picture and rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimits {
    /// `MAX_SOURCE_BYTES` (10 GiB): the object's size. The legacy upload routes sign no length, so this is where
    /// their uploads are bounded.
    pub max_bytes: u64,
    /// `MAX_SOURCE_SECONDS` (14400: four hours): the probed length.
    pub max_seconds: u64,
    /// `MAX_SOURCE_PIXELS` (8,847,360: 4096x2160): width times height.
    pub max_pixels: u64,
    /// `MAX_SOURCE_FPS` (120): the probed frame rate.
    pub max_fps: u32,
}

impl Default for SourceLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024 * 1024,
            max_seconds: 4 * 3600,
            max_pixels: 4096 * 2160,
            max_fps: 120,
        }
    }
}

/// What a source exceeds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    /// The object is larger than `MAX_SOURCE_BYTES`.
    #[error("it is {bytes} bytes, over the {limit}-byte limit")]
    Bytes {
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// It lasts longer than `MAX_SOURCE_SECONDS`.
    #[error("it lasts {seconds} s, over the {limit} s limit")]
    Duration {
        /// Its length, whole seconds.
        seconds: u64,
        /// The limit.
        limit: u64,
    },
    /// Its picture is larger than `MAX_SOURCE_PIXELS`.
    #[error("its picture is {width}x{height}, over the {limit}-pixel limit")]
    Pixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The limit.
        limit: u64,
    },
    /// Its frame rate is above `MAX_SOURCE_FPS`.
    #[error("it runs at {fps:.2} fps, over the {limit} fps limit")]
    FrameRate {
        /// Its rate.
        fps: f64,
        /// The limit.
        limit: u32,
    },
}

impl SourceLimits {
    /// Reads `MAX_SOURCE_BYTES`, `MAX_SOURCE_SECONDS`, `MAX_SOURCE_PIXELS` and `MAX_SOURCE_FPS`.
    pub fn from_vars<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            max_bytes: vars.whole_number("MAX_SOURCE_BYTES", default.max_bytes, 1..=u64::MAX)?,
            max_seconds: vars.whole_number(
                "MAX_SOURCE_SECONDS",
                default.max_seconds,
                1..=u64::MAX,
            )?,
            max_pixels: vars.whole_number("MAX_SOURCE_PIXELS", default.max_pixels, 1..=u64::MAX)?,
            max_fps: vars.whole_number("MAX_SOURCE_FPS", u64::from(default.max_fps), 1..=1000)?
                as u32,
        })
    }

    /// Refuses an object of `bytes` over the size limit.
    pub fn check_size(&self, bytes: u64) -> Result<(), LimitError> {
        if bytes > self.max_bytes {
            return Err(LimitError::Bytes {
                bytes,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Refuses probed media over the length, picture or rate limits. An unknown length or rate passes: the
    /// builders that need them say so.
    pub fn check_media(&self, media: &MediaInfo) -> Result<(), LimitError> {
        if let Some(ms) = media.duration_ms
            && ms > self.max_seconds.saturating_mul(1000)
        {
            return Err(LimitError::Duration {
                seconds: ms / 1000,
                limit: self.max_seconds,
            });
        }
        if u64::from(media.width) * u64::from(media.height) > self.max_pixels {
            return Err(LimitError::Pixels {
                width: media.width,
                height: media.height,
                limit: self.max_pixels,
            });
        }
        if let Some(rate) = media.frame_rate.filter(|r| r.denominator > 0) {
            let fps = f64::from(rate.numerator) / f64::from(rate.denominator);
            if fps > f64::from(self.max_fps) {
                return Err(LimitError::FrameRate {
                    fps,
                    limit: self.max_fps,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::FrameRate;

    fn media(width: u32, height: u32, seconds: u64, fps: u32) -> MediaInfo {
        MediaInfo {
            width,
            height,
            duration_ms: Some(seconds * 1000),
            frame_rate: Some(FrameRate::per_second(fps)),
            has_audio: true,
            rotation: 0,
        }
    }

    #[test]
    fn sources_within_the_limits_pass_and_each_limit_is_named() {
        let limits = SourceLimits::default();
        assert_eq!(limits.check_media(&media(3840, 2160, 3600, 60)), Ok(()));
        assert_eq!(limits.check_size(10 * 1024 * 1024 * 1024), Ok(()));
        assert!(matches!(
            limits.check_size(10 * 1024 * 1024 * 1024 + 1),
            Err(LimitError::Bytes { .. })
        ));
        assert!(matches!(
            limits.check_media(&media(1920, 1080, 4 * 3600 + 1, 30)),
            Err(LimitError::Duration { .. })
        ));
        assert!(matches!(
            limits.check_media(&media(7680, 4320, 10, 30)),
            Err(LimitError::Pixels { .. })
        ));
        let error = limits.check_media(&media(1280, 720, 10, 240)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "it runs at 240.00 fps, over the 120 fps limit"
        );
        // A browser recording states no length: it is not refused for that.
        let unknown = MediaInfo {
            duration_ms: None,
            ..media(1280, 720, 0, 30)
        };
        assert_eq!(limits.check_media(&unknown), Ok(()));
    }

    #[test]
    fn the_limits_come_from_the_environment() {
        let vars = Vars::new(|name: &str| match name {
            "MAX_SOURCE_SECONDS" => Some("60".to_owned()),
            "MAX_SOURCE_FPS" => Some("30".to_owned()),
            _ => None,
        });
        let limits = SourceLimits::from_vars(&vars).unwrap();
        assert_eq!((limits.max_seconds, limits.max_fps), (60, 30));
        assert_eq!(limits.max_bytes, SourceLimits::default().max_bytes);
        let bad = Vars::new(|name: &str| (name == "MAX_SOURCE_FPS").then(|| "0".to_owned()));
        assert_eq!(
            SourceLimits::from_vars(&bad).unwrap_err().name,
            "MAX_SOURCE_FPS"
        );
    }
}
