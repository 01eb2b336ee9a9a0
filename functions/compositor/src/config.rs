//! Configuration from environment variables (documented, with defaults, in the README). Every variable the
//! compositor reads is read here.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

pub use vidpipe_core::config::ConfigError;
use vidpipe_core::config::Vars;
use vidpipe_core::job::JobContext;
use vidpipe_core::keys::check_prefix;
use vidpipe_core::limits::SourceLimits;
use vidpipe_core::playback::PlaybackSource;

/// Which service runs MediaConvert jobs (`MEDIACONVERT_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscoderBackendKind {
    /// `mediaconvert` (the default): AWS Elemental MediaConvert through the SDK.
    MediaConvert,
    /// `lambda`: the ffmpeg backend on Lambda (`functions/transcoder`, the function `TRANSCODER_FUNCTION`), which
    /// puts MediaConvert-shaped job events on the bus.
    Lambda,
    /// `engine`: vidpipe-engine in this process, putting MediaConvert-shaped job events on the bus (local runs;
    /// builds with the `local` feature).
    #[cfg(feature = "local")]
    Engine,
}

impl FromStr for TranscoderBackendKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "mediaconvert" => Ok(Self::MediaConvert),
            "lambda" => Ok(Self::Lambda),
            #[cfg(feature = "local")]
            "engine" => Ok(Self::Engine),
            #[cfg(not(feature = "local"))]
            "engine" => Err("engine needs a build with the `local` feature".to_owned()),
            other => Err(format!(
                "must be mediaconvert, lambda or engine, not {other:?}"
            )),
        }
    }
}

/// Which partner timer runs (`PARTNER_TIMER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerBackendKind {
    /// `stepfunctions` (the default): an execution of the partner-timeout state machine.
    StepFunctions,
    /// `local`: the same definition run in this process by vidpipe-stepfn (builds with the `local` feature).
    #[cfg(feature = "local")]
    Local,
}

impl FromStr for TimerBackendKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "stepfunctions" => Ok(Self::StepFunctions),
            #[cfg(feature = "local")]
            "local" => Ok(Self::Local),
            #[cfg(not(feature = "local"))]
            "local" => Err("local needs a build with the `local` feature".to_owned()),
            other => Err(format!("must be stepfunctions or local, not {other:?}")),
        }
    }
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
    /// `MEDIACONVERT_BACKEND`: `mediaconvert` (default), `lambda` or `engine`.
    pub transcoder: TranscoderBackendKind,
    /// `PLAYBACK_BACKEND` (`MEDIACONVERT_BACKEND`'s by default): the backend of playback packages' jobs. A package is
    /// one job the ffmpeg backend does not cut into chunks, at about 1.7 s per second of source on two vCPUs
    /// (docs/benchmarks.md, "Playback package on the engine"): past about 8 minutes of source it would not finish
    /// in one 15-minute invocation, so a stack whose recordings run longer packages them on MediaConvert.
    pub playback_transcoder: TranscoderBackendKind,
    /// `TRANSCODER_FUNCTION`: the transcoder function's name or ARN; required when either backend is `lambda`.
    pub transcoder_function: Option<String>,
    /// `TRANSCODE_STATE_MACHINE_ARN`: the transcoder function's state machine for jobs in chunks, whose executions
    /// a canceled job's are (the lambda backend; unset: a canceled job on it runs to its end).
    pub transcode_state_machine_arn: Option<String>,
    /// `PARTNER_TIMER`: `stepfunctions` (default) or `local`.
    pub timer: TimerBackendKind,
    /// `PARTNER_TIMER_STATE_MACHINE_ARN`: required with `PARTNER_TIMER=stepfunctions`.
    pub timer_state_machine_arn: Option<String>,
    /// `COMPOSITE_WAIT_SECONDS` (900): how long to wait for the partner recording.
    pub composite_wait: Duration,
    /// `FUNCTION_TIMEOUT_SECONDS` (60): the function's timeout, as deployed; the longest a handler can run.
    pub function_timeout: Duration,
    /// `CLAIM_LEASE_SECONDS` (the timeout + 30): how long a claim holds before another handler may take it over.
    /// Longer than the timeout, so a running handler never loses its claim; the shorter it is, the sooner a retry
    /// takes over from a handler that stopped (Lambda retries an event that failed twice, about 1 and 3 minutes
    /// later).
    pub claim_lease: Duration,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing, for endpoints such as moto.
    pub s3_force_path_style: bool,
    /// `JOB_STALL_SECONDS` (21600: six hours): a `processing` stream whose job has not reported for this long is
    /// failed by the sweeper (MediaConvert reports a running job every minute).
    pub job_stall: Duration,
    /// `PLAYBACK_KINDS` (empty): what gets a playback package, comma-separated: `recording`, `asset` (uploads of
    /// that kind) and `composite` (a stream's output).
    pub playback_kinds: BTreeSet<PlaybackSource>,
    /// `MAX_SOURCE_BYTES`, `MAX_SOURCE_SECONDS`, `MAX_SOURCE_PIXELS`, `MAX_SOURCE_FPS`: a recording over them is
    /// not used.
    pub limits: SourceLimits,
    /// The engine backend's `FFMPEG_PATH` and `FFPROBE_PATH` (the binaries on `PATH` by default).
    #[cfg(feature = "local")]
    pub engine_tools: vidpipe_engine::Tools,
    /// The engine backend's `AWS_ACCOUNT_ID` and `AWS_REGION`, for its job ARNs and events.
    #[cfg(feature = "local")]
    pub engine_identity: vidpipe_engine::Identity,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(var);
        let key_prefix = vars.optional("KEY_PREFIX").unwrap_or_default();
        check_prefix(&key_prefix).map_err(|why| ConfigError::new("KEY_PREFIX", why))?;
        let timer = vars.parsed("PARTNER_TIMER", TimerBackendKind::StepFunctions)?;
        let timer_state_machine_arn = vars.optional("PARTNER_TIMER_STATE_MACHINE_ARN");
        if timer == TimerBackendKind::StepFunctions && timer_state_machine_arn.is_none() {
            return Err(ConfigError::new(
                "PARTNER_TIMER_STATE_MACHINE_ARN",
                "must be set when PARTNER_TIMER is stepfunctions",
            ));
        }
        let transcoder =
            vars.parsed("MEDIACONVERT_BACKEND", TranscoderBackendKind::MediaConvert)?;
        let playback_transcoder = vars.parsed("PLAYBACK_BACKEND", transcoder)?;
        let transcoder_function = vars.optional("TRANSCODER_FUNCTION");
        let on_lambda = [transcoder, playback_transcoder].contains(&TranscoderBackendKind::Lambda);
        if on_lambda && transcoder_function.is_none() {
            return Err(ConfigError::new(
                "TRANSCODER_FUNCTION",
                "must be set when MEDIACONVERT_BACKEND or PLAYBACK_BACKEND is lambda",
            ));
        }
        let retention_days = vars.whole_number("RETENTION_DAYS", 30, 1..=u64::from(u32::MAX))?;
        let timeout = vars.whole_number("FUNCTION_TIMEOUT_SECONDS", 60, 1..=900)?;
        // A claim that could end while its holder still runs would let a second handler submit beside it.
        let claim_lease = vars.whole_number("CLAIM_LEASE_SECONDS", timeout + 30, 1..=u64::MAX)?;
        if claim_lease <= timeout {
            return Err(ConfigError::new(
                "CLAIM_LEASE_SECONDS",
                format!(
                    "must be longer than FUNCTION_TIMEOUT_SECONDS ({timeout}): a handler still running could lose \
                     its claim"
                ),
            ));
        }
        Ok(Self {
            bucket: vars.required("BUCKET")?,
            table: vars.required("TABLE_NAME")?,
            key_prefix,
            retention_days: retention_days as u32,
            job_context: JobContext {
                role: vars.required("MEDIACONVERT_ROLE_ARN")?,
                queue: vars.optional("MEDIACONVERT_QUEUE_ARN"),
            },
            event_bus: vars
                .optional("EVENT_BUS_NAME")
                .unwrap_or_else(|| "default".to_owned()),
            transcoder,
            playback_transcoder,
            transcoder_function,
            transcode_state_machine_arn: vars.optional("TRANSCODE_STATE_MACHINE_ARN"),
            timer,
            timer_state_machine_arn,
            composite_wait: Duration::from_secs(vars.whole_number(
                "COMPOSITE_WAIT_SECONDS",
                900,
                0..=u64::MAX,
            )?),
            function_timeout: Duration::from_secs(timeout),
            claim_lease: Duration::from_secs(claim_lease),
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
            limits: SourceLimits::from_vars(&vars)?,
            playback_kinds: vars
                .list("PLAYBACK_KINDS")
                .iter()
                .map(|kind| kind.parse())
                .collect::<Result<_, String>>()
                .map_err(|why| ConfigError::new("PLAYBACK_KINDS", why))?,
            job_stall: Duration::from_secs(vars.whole_number(
                "JOB_STALL_SECONDS",
                21_600,
                60..=u64::MAX,
            )?),
            #[cfg(feature = "local")]
            engine_tools: vidpipe_engine::Tools::from_env(|name| vars.optional(name)),
            #[cfg(feature = "local")]
            engine_identity: vidpipe_engine::Identity::from_env(|name| vars.optional(name)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidpipe_testkit::config::vars;

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
        let config = Config::from_env(vars(&REQUIRED)).unwrap();
        assert_eq!(config.key_prefix, "");
        assert_eq!(config.retention_days, 30);
        assert_eq!(config.event_bus, "default");
        assert_eq!(config.transcoder, TranscoderBackendKind::MediaConvert);
        assert_eq!(config.timer, TimerBackendKind::StepFunctions);
        assert_eq!(config.composite_wait, Duration::from_secs(900));
        assert_eq!(config.function_timeout, Duration::from_secs(60));
        assert_eq!(config.claim_lease, Duration::from_secs(90));
        assert_eq!(config.job_context.queue, None);
        assert!(!config.s3_force_path_style);
        assert!(config.playback_kinds.is_empty());
    }

    #[test]
    fn the_lambda_backend_names_its_function() {
        let mut pairs = REQUIRED.to_vec();
        pairs.extend([
            ("MEDIACONVERT_BACKEND", "lambda"),
            ("TRANSCODER_FUNCTION", "vidpipe-transcoder"),
        ]);
        let config = Config::from_env(vars(&pairs)).unwrap();
        assert_eq!(config.transcoder, TranscoderBackendKind::Lambda);
        assert_eq!(
            config.playback_transcoder,
            TranscoderBackendKind::Lambda,
            "the same by default"
        );
        assert_eq!(
            config.transcoder_function.as_deref(),
            Some("vidpipe-transcoder")
        );
        assert_eq!(config.transcode_state_machine_arn, None);
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:vidpipe-transcode";
        let mut with_machine = pairs.clone();
        with_machine.push(("TRANSCODE_STATE_MACHINE_ARN", machine));
        let config = Config::from_env(vars(&with_machine)).unwrap();
        assert_eq!(config.transcode_state_machine_arn.as_deref(), Some(machine));
        // Packages on MediaConvert beside composites on Lambda, and the other way round.
        pairs.push(("PLAYBACK_BACKEND", "mediaconvert"));
        let config = Config::from_env(vars(&pairs)).unwrap();
        assert_eq!(
            (config.transcoder, config.playback_transcoder),
            (
                TranscoderBackendKind::Lambda,
                TranscoderBackendKind::MediaConvert
            )
        );
        let mut pairs = REQUIRED.to_vec();
        pairs.push(("PLAYBACK_BACKEND", "lambda"));
        assert_eq!(
            Config::from_env(vars(&pairs)).unwrap_err().name,
            "TRANSCODER_FUNCTION"
        );
    }

    #[test]
    fn playback_kinds_are_a_list() {
        let mut pairs = REQUIRED.to_vec();
        pairs.push(("PLAYBACK_KINDS", "recording, composite"));
        let kinds = Config::from_env(vars(&pairs)).unwrap().playback_kinds;
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            [PlaybackSource::Recording, PlaybackSource::Composite]
        );
        for bad in ["screen", "recording,film"] {
            let mut pairs = REQUIRED.to_vec();
            pairs.push(("PLAYBACK_KINDS", bad));
            assert_eq!(
                Config::from_env(vars(&pairs)).unwrap_err().name,
                "PLAYBACK_KINDS"
            );
        }
    }

    #[test]
    fn bad_values_are_named() {
        let cases: [(&[(&str, &str)], &str); 10] = [
            // The lease must outlast a running handler.
            (&[("CLAIM_LEASE_SECONDS", "60")], "CLAIM_LEASE_SECONDS"),
            (
                &[
                    ("FUNCTION_TIMEOUT_SECONDS", "120"),
                    ("CLAIM_LEASE_SECONDS", "90"),
                ],
                "CLAIM_LEASE_SECONDS",
            ),
            (
                &[("MEDIACONVERT_BACKEND", "ffmpeg")],
                "MEDIACONVERT_BACKEND",
            ),
            (&[("PARTNER_TIMER", "cron")], "PARTNER_TIMER"),
            (&[("PLAYBACK_BACKEND", "elemental")], "PLAYBACK_BACKEND"),
            (&[("MEDIACONVERT_BACKEND", "lambda")], "TRANSCODER_FUNCTION"),
            (&[("KEY_PREFIX", "videos")], "KEY_PREFIX"),
            (
                &[("COMPOSITE_WAIT_SECONDS", "-1")],
                "COMPOSITE_WAIT_SECONDS",
            ),
            (&[("BUCKET", "")], "BUCKET"),
            (&[("S3_FORCE_PATH_STYLE", "yes")], "S3_FORCE_PATH_STYLE"),
        ];
        for (overrides, name) in cases {
            let mut pairs: Vec<(&str, &str)> = REQUIRED.to_vec();
            pairs.retain(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
            pairs.extend_from_slice(overrides);
            assert_eq!(Config::from_env(vars(&pairs)).unwrap_err().name, name);
        }
        let local_only: Vec<(&str, &str)> = REQUIRED[..3].to_vec();
        assert_eq!(
            Config::from_env(vars(&local_only)).unwrap_err().name,
            "PARTNER_TIMER_STATE_MACHINE_ARN"
        );
        let mut local = local_only.clone();
        local.push(("PARTNER_TIMER", "local"));
        let timer = Config::from_env(vars(&local)).map(|c| c.timer);
        #[cfg(feature = "local")]
        assert_eq!(timer.unwrap(), TimerBackendKind::Local);
        #[cfg(not(feature = "local"))]
        assert_eq!(timer.unwrap_err().name, "PARTNER_TIMER");
    }
}
