//! The transcoder's configuration, from environment variables (documented, with defaults, in the README). Every
//! variable it reads is read here. Work files go to the process's temporary folder (`TMPDIR`, `/tmp` in Lambda:
//! its ephemeral storage), which the standard library reads.

pub use vidpipe_core::config::ConfigError;
use vidpipe_core::config::Vars;
use vidpipe_engine::{Identity, Tools};

/// Everything the transcoder needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// `EVENT_BUS_NAME` (`default`): where the job events go (the bus the notifier's and the compositor's job
    /// event rules listen on).
    pub event_bus: String,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing, for endpoints such as moto.
    pub s3_force_path_style: bool,
    /// `FFMPEG_PATH` and `FFPROBE_PATH` (the binaries on `PATH`; in Lambda the ffmpeg layer's `/opt/bin/...`).
    pub tools: Tools,
    /// `AWS_ACCOUNT_ID` and `AWS_REGION` (Lambda sets the region): the account and region in job ARNs and events.
    pub identity: Identity,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (set by Lambda, in MB): prices each job's invocation on Lambda's basis;
    /// unset (not on Lambda), the job's events carry only its MediaConvert rate.
    pub memory_mb: Option<u64>,
    /// `TRANSCODE_STATE_MACHINE_ARN` (unset: every job runs whole in one invocation): the transcode state machine,
    /// which runs a long composite or single-source job in chunks (docs/transcoder.md).
    pub transcode_state_machine: Option<String>,
    /// `TRANSCODE_CHUNK_SECONDS` (120, 2 to 600): the longest chunk of a job run in chunks; a job no longer than
    /// one chunk runs whole.
    pub chunk_seconds: u32,
    /// `TABLE_NAME` (unset: no job looks for a cancel mark): the table where the compositor marks the jobs it
    /// cancels; a job run whole looks for its mark and stops (docs/transcoder.md, "Canceled").
    pub table: Option<String>,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(var);
        Ok(Self {
            event_bus: vars
                .optional("EVENT_BUS_NAME")
                .unwrap_or_else(|| "default".to_owned()),
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
            tools: Tools::from_env(|name| vars.optional(name)),
            identity: Identity::from_env(|name| vars.optional(name)),
            memory_mb: match vars.optional("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
                Some(_) => {
                    Some(vars.whole_number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, 128..=10_240)?)
                }
                None => None,
            },
            transcode_state_machine: vars.optional("TRANSCODE_STATE_MACHINE_ARN"),
            chunk_seconds: vars.whole_number("TRANSCODE_CHUNK_SECONDS", 120, 2..=600)? as u32,
            table: vars.optional("TABLE_NAME"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidpipe_testkit::config::vars;

    #[test]
    fn defaults_are_the_documented_ones_and_bad_values_are_named() {
        let config = Config::from_env(vars(&[])).unwrap();
        assert_eq!(config.event_bus, "default");
        assert!(!config.s3_force_path_style);
        assert_eq!(config.tools, Tools::default());
        assert_eq!(config.identity, Identity::default());
        assert_eq!(config.memory_mb, None);
        assert_eq!(config.transcode_state_machine, None);
        assert_eq!(config.chunk_seconds, 120);
        assert_eq!(config.table, None);
        let set = Config::from_env(vars(&[
            ("EVENT_BUS_NAME", "jobs"),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("FFMPEG_PATH", "/opt/bin/ffmpeg"),
            ("AWS_ACCOUNT_ID", "111122223333"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008"),
            (
                "TRANSCODE_STATE_MACHINE_ARN",
                "arn:aws:states:eu-west-1:111122223333:stateMachine:t",
            ),
            ("TRANSCODE_CHUNK_SECONDS", "60"),
            ("TABLE_NAME", "vidpipe"),
        ]))
        .unwrap();
        assert_eq!(set.event_bus, "jobs");
        assert!(set.s3_force_path_style);
        assert_eq!(
            set.tools.ffmpeg,
            std::path::PathBuf::from("/opt/bin/ffmpeg")
        );
        assert_eq!(set.identity.region, "eu-west-1");
        assert_eq!(set.memory_mb, Some(3008));
        assert!(set.transcode_state_machine.unwrap().ends_with(":t"));
        assert_eq!(set.chunk_seconds, 60);
        assert_eq!(set.table.as_deref(), Some("vidpipe"));
        let bad = Config::from_env(vars(&[("TRANSCODE_CHUNK_SECONDS", "1")])).unwrap_err();
        assert_eq!(bad.name, "TRANSCODE_CHUNK_SECONDS");
        let bad = Config::from_env(vars(&[("S3_FORCE_PATH_STYLE", "yes")])).unwrap_err();
        assert_eq!(bad.name, "S3_FORCE_PATH_STYLE");
    }
}
