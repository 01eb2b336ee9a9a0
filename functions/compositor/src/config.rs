//! Configuration from environment variables (documented, with defaults, in the README).

use std::time::Duration;
pub use vidpipe_core::config::ConfigError;

use vidpipe_core::job::JobContext;

/// Which service runs MediaConvert jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscoderBackend {
    /// AWS Elemental MediaConvert through the SDK.
    MediaConvert,
    /// vidpipe-engine in this process, putting MediaConvert-shaped job events on the bus.
    Engine,
}

/// Which partner timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerBackend {
    /// A Step Functions execution of the partner-timeout state machine.
    StepFunctions,
    /// The same definition run in this process by vidpipe-stepfn.
    Local,
}

/// Everything the compositor needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// `BUCKET`: the uploads bucket; events from other buckets are ignored.
    pub bucket: String,
    /// `TABLE_NAME`: the recordings table (streams live in it too).
    pub table: String,
    /// `KEY_PREFIX`: prefix of every key (default empty); keys outside it are ignored.
    pub key_prefix: String,
    /// `RETENTION_DAYS` (30): stream items expire this long after their last arrival.
    pub retention_days: u32,
    /// `MEDIACONVERT_ROLE_ARN` (required) and `MEDIACONVERT_QUEUE_ARN` (optional).
    pub job_context: JobContext,
    /// `EVENT_BUS_NAME` (`default`): where domain events (and the engine's job events) go.
    pub event_bus: String,
    /// `MEDIACONVERT_BACKEND`: `mediaconvert` (default) or `engine`.
    pub transcoder: TranscoderBackend,
    /// `PARTNER_TIMER`: `stepfunctions` (default) or `local`.
    pub timer: TimerBackend,
    /// `PARTNER_TIMER_STATE_MACHINE_ARN`: required with `PARTNER_TIMER=stepfunctions`.
    pub timer_state_machine_arn: Option<String>,
    /// `COMPOSITE_WAIT_SECONDS` (900): how long to wait for the partner recording.
    pub composite_wait: Duration,
    /// `CLAIM_LEASE_SECONDS` (300): how long a claim holds before another handler may take it over; longer than
    /// the function's timeout.
    pub claim_lease: Duration,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing, for endpoints such as moto.
    pub s3_force_path_style: bool,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &'static str| var(name).filter(|v| !v.trim().is_empty());
        let required =
            |name: &'static str| value(name).ok_or_else(|| ConfigError::new(name, "must be set"));
        let number = |name: &'static str, default: u64, min: u64| -> Result<u64, ConfigError> {
            match value(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    _ => Err(ConfigError::new(
                        name,
                        format!("must be a whole number >= {min}, not {v:?}"),
                    )),
                },
            }
        };
        let key_prefix = value("KEY_PREFIX").unwrap_or_default();
        if !(key_prefix.is_empty() || key_prefix.ends_with('/')) || key_prefix.starts_with('/') {
            return Err(ConfigError::new(
                "KEY_PREFIX",
                "must be empty or end with '/', and not start with '/'",
            ));
        }
        let transcoder = match value("MEDIACONVERT_BACKEND").as_deref() {
            None | Some("mediaconvert") => TranscoderBackend::MediaConvert,
            Some("engine") => TranscoderBackend::Engine,
            Some(other) => {
                return Err(ConfigError::new(
                    "MEDIACONVERT_BACKEND",
                    format!("must be mediaconvert or engine, not {other:?}"),
                ));
            }
        };
        let timer = match value("PARTNER_TIMER").as_deref() {
            None | Some("stepfunctions") => TimerBackend::StepFunctions,
            Some("local") => TimerBackend::Local,
            Some(other) => {
                return Err(ConfigError::new(
                    "PARTNER_TIMER",
                    format!("must be stepfunctions or local, not {other:?}"),
                ));
            }
        };
        let timer_state_machine_arn = value("PARTNER_TIMER_STATE_MACHINE_ARN");
        if timer == TimerBackend::StepFunctions && timer_state_machine_arn.is_none() {
            return Err(ConfigError::new(
                "PARTNER_TIMER_STATE_MACHINE_ARN",
                "must be set when PARTNER_TIMER is stepfunctions",
            ));
        }
        let retention_days = number("RETENTION_DAYS", 30, 1)?;
        Ok(Self {
            bucket: required("BUCKET")?,
            table: required("TABLE_NAME")?,
            key_prefix,
            retention_days: u32::try_from(retention_days)
                .map_err(|_| ConfigError::new("RETENTION_DAYS", "is too large"))?,
            job_context: JobContext {
                role: required("MEDIACONVERT_ROLE_ARN")?,
                queue: value("MEDIACONVERT_QUEUE_ARN"),
            },
            event_bus: value("EVENT_BUS_NAME").unwrap_or_else(|| "default".to_owned()),
            transcoder,
            timer,
            timer_state_machine_arn,
            composite_wait: Duration::from_secs(number("COMPOSITE_WAIT_SECONDS", 900, 0)?),
            claim_lease: Duration::from_secs(number("CLAIM_LEASE_SECONDS", 300, 1)?),
            s3_force_path_style: value("S3_FORCE_PATH_STYLE").is_some_and(|v| v == "true"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const REQUIRED: [(&str, &str); 4] = [
        ("BUCKET", "uploads"),
        ("TABLE_NAME", "vidpipe"),
        ("MEDIACONVERT_ROLE_ARN", "arn:aws:iam::1:role/mc"),
        (
            "PARTNER_TIMER_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:1:stateMachine:t",
        ),
    ];

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = Config::from_env(env(&REQUIRED)).unwrap();
        assert_eq!(config.key_prefix, "");
        assert_eq!(config.retention_days, 30);
        assert_eq!(config.event_bus, "default");
        assert_eq!(config.transcoder, TranscoderBackend::MediaConvert);
        assert_eq!(config.timer, TimerBackend::StepFunctions);
        assert_eq!(config.composite_wait, Duration::from_secs(900));
        assert_eq!(config.claim_lease, Duration::from_secs(300));
        assert_eq!(config.job_context.queue, None);
        assert!(!config.s3_force_path_style);
    }

    #[test]
    fn bad_values_are_named() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[("MEDIACONVERT_BACKEND", "ffmpeg")],
                "MEDIACONVERT_BACKEND",
            ),
            (&[("PARTNER_TIMER", "cron")], "PARTNER_TIMER"),
            (&[("KEY_PREFIX", "videos")], "KEY_PREFIX"),
            (
                &[("COMPOSITE_WAIT_SECONDS", "-1")],
                "COMPOSITE_WAIT_SECONDS",
            ),
            (&[("BUCKET", "")], "BUCKET"),
        ];
        for (overrides, name) in cases {
            let mut vars: Vec<(&str, &str)> = REQUIRED.to_vec();
            vars.retain(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
            vars.extend_from_slice(overrides);
            assert_eq!(Config::from_env(env(&vars)).unwrap_err().name, name);
        }
        let local_only: Vec<(&str, &str)> = REQUIRED[..3].to_vec();
        assert_eq!(
            Config::from_env(env(&local_only)).unwrap_err().name,
            "PARTNER_TIMER_STATE_MACHINE_ARN"
        );
        let mut local = local_only.clone();
        local.push(("PARTNER_TIMER", "local"));
        assert_eq!(
            Config::from_env(env(&local)).unwrap().timer,
            TimerBackend::Local
        );
    }
}
