//! The assembler's configuration, from environment variables (documented, with defaults, in the README). Work
//! files go to the process's temporary folder (`TMPDIR`, `/tmp` in Lambda), which the standard library reads.

use std::path::PathBuf;

pub use vidpipe_core::config::ConfigError;
use vidpipe_core::config::Vars;

/// Everything the assembler needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `FFMPEG_PATH` (`ffmpeg` on `PATH`; in Lambda the ffmpeg layer's `/opt/bin/ffmpeg`).
    pub ffmpeg: PathBuf,
    /// `FFPROBE_PATH` (`ffprobe` on `PATH`; in Lambda `/opt/bin/ffprobe`).
    pub ffprobe: PathBuf,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing, for endpoints such as moto.
    pub s3_force_path_style: bool,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(var);
        let path = |name: &str, default: &str| {
            vars.optional(name)
                .map_or_else(|| default.into(), PathBuf::from)
        };
        Ok(Self {
            ffmpeg: path("FFMPEG_PATH", "ffmpeg"),
            ffprobe: path("FFPROBE_PATH", "ffprobe"),
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(vidpipe_testkit::config::vars(pairs))
    }

    #[test]
    fn the_tools_default_to_the_path_and_the_layer_sets_them() {
        let defaults = config(&[]).unwrap();
        assert_eq!(defaults.ffmpeg, PathBuf::from("ffmpeg"));
        assert_eq!(defaults.ffprobe, PathBuf::from("ffprobe"));
        assert!(!defaults.s3_force_path_style);
        let layer = config(&[
            ("FFMPEG_PATH", "/opt/bin/ffmpeg"),
            ("FFPROBE_PATH", "/opt/bin/ffprobe"),
            ("S3_FORCE_PATH_STYLE", "true"),
        ])
        .unwrap();
        assert_eq!(
            layer,
            Config {
                ffmpeg: "/opt/bin/ffmpeg".into(),
                ffprobe: "/opt/bin/ffprobe".into(),
                s3_force_path_style: true,
            }
        );
    }
}
