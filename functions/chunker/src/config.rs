//! The chunker's configuration, from environment variables (documented, with defaults, in the README).

use std::path::PathBuf;
use std::str::FromStr;

pub use vidpipe_core::config::ConfigError;
use vidpipe_core::config::Vars;
use vidpipe_core::limits::SourceLimits;
use vidpipe_core::render::scope::RenderScope;

use crate::RenderLimits;

/// How videos are probed (`MEDIACONVERT_BACKEND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeBackendKind {
    /// `mediaconvert` (the default): AWS Elemental MediaConvert's `Probe`.
    MediaConvert,
    /// `engine`: ffprobe through vidpipe-engine in this process (local runs; builds with the `local` feature).
    #[cfg(feature = "local")]
    Engine,
}

impl FromStr for ProbeBackendKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "mediaconvert" => Ok(Self::MediaConvert),
            #[cfg(feature = "local")]
            "engine" => Ok(Self::Engine),
            #[cfg(not(feature = "local"))]
            "engine" => Err("engine needs a build with the `local` feature".to_owned()),
            other => Err(format!("must be mediaconvert or engine, not {other:?}")),
        }
    }
}

/// Everything the chunker needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `MEDIACONVERT_BACKEND` (`mediaconvert`): how videos are probed.
    pub probe_backend: ProbeBackendKind,
    /// `FFPROBE_PATH` (`ffprobe` on `PATH`): the engine backend's ffprobe.
    pub ffprobe: PathBuf,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing, for endpoints such as moto.
    pub s3_force_path_style: bool,
    /// `MAX_SOURCE_*` and `ASSEMBLER_EPHEMERAL_MB`: what one render may ask for.
    pub limits: RenderLimits,
    /// `BUCKET` (required), `KEY_PREFIX`, `SHARED_ASSETS_PREFIX`, `RENDERER_ARNS`: where renders read and write,
    /// and which custom renderers they may name.
    pub scope: RenderScope,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(var);
        Ok(Self {
            probe_backend: vars.parsed("MEDIACONVERT_BACKEND", ProbeBackendKind::MediaConvert)?,
            ffprobe: vars
                .optional("FFPROBE_PATH")
                .map_or_else(|| "ffprobe".into(), PathBuf::from),
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
            limits: RenderLimits {
                sources: SourceLimits::from_vars(&vars)?,
                assembler_disk_bytes: vars.whole_number(
                    "ASSEMBLER_EPHEMERAL_MB",
                    10_240,
                    512..=10_240,
                )? * 1024
                    * 1024,
            },
            scope: RenderScope::from_vars(&vars)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = vec![("BUCKET", "media")];
        all.extend_from_slice(pairs);
        Config::from_env(vidpipe_testkit::config::vars(&all))
    }

    #[test]
    fn defaults_probe_with_mediaconvert_on_virtual_hosted_s3() {
        assert_eq!(
            config(&[]),
            Ok(Config {
                probe_backend: ProbeBackendKind::MediaConvert,
                ffprobe: "ffprobe".into(),
                s3_force_path_style: false,
                limits: RenderLimits::default(),
                scope: RenderScope {
                    bucket: Some("media".into()),
                    ..RenderScope::default()
                },
            })
        );
    }

    #[test]
    fn the_render_scope_is_read_and_checked() {
        let scope = config(&[
            ("KEY_PREFIX", "videos/"),
            ("SHARED_ASSETS_PREFIX", "videos/shared/"),
            (
                "RENDERER_ARNS",
                "arn:aws:lambda:us-east-1:1:function:a,arn:aws:lambda:us-east-1:1:function:b",
            ),
        ])
        .unwrap()
        .scope;
        assert_eq!(scope.renderer_arns.len(), 2);
        assert_eq!(
            scope.shared_assets_prefix.as_deref(),
            Some("videos/shared/")
        );
        assert_eq!(
            Config::from_env(vidpipe_testkit::config::vars(&[]))
                .unwrap_err()
                .name,
            "BUCKET"
        );
        assert_eq!(
            config(&[("KEY_PREFIX", "videos")]).unwrap_err().name,
            "KEY_PREFIX"
        );
    }

    #[test]
    fn every_variable_is_read_and_bad_values_are_named() {
        let local = config(&[
            ("MEDIACONVERT_BACKEND", "engine"),
            ("FFPROBE_PATH", "/opt/bin/ffprobe"),
            ("S3_FORCE_PATH_STYLE", "true"),
        ]);
        #[cfg(feature = "local")]
        {
            let local = local.unwrap();
            assert_eq!(local.probe_backend, ProbeBackendKind::Engine);
            assert_eq!(local.ffprobe, PathBuf::from("/opt/bin/ffprobe"));
            assert!(local.s3_force_path_style);
        }
        #[cfg(not(feature = "local"))]
        assert_eq!(local.unwrap_err().name, "MEDIACONVERT_BACKEND");
        let error = config(&[("MEDIACONVERT_BACKEND", "ffmpeg")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "MEDIACONVERT_BACKEND: must be mediaconvert or engine, not \"ffmpeg\""
        );
        assert_eq!(
            config(&[("S3_FORCE_PATH_STYLE", "yes")]).unwrap_err().name,
            "S3_FORCE_PATH_STYLE"
        );
    }
}
