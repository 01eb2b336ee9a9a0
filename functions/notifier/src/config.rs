//! Configuration from environment variables (documented, with defaults, in the README).

use std::time::Duration;

use vidpipe_aws::webhook::WebhookConfig;
pub use vidpipe_core::config::ConfigError;
use vidpipe_core::config::{SecretSource, Vars, check_secret};

/// Everything the notifier needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME` (required).
    pub table: String,
    /// `EVENT_BUS_NAME` (`default`).
    pub event_bus: String,
    /// `RETENTION_DAYS` (30): how long render items and processed-event markers are kept.
    pub retention_days: u32,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing (the storyboard step), for endpoints such as moto.
    pub s3_force_path_style: bool,
    /// The webhook, when `WEBHOOK_URL` is set.
    /// (`WEBHOOK_SECRET_ARN` or `WEBHOOK_SECRET`, `WEBHOOK_DLQ_URL`, `WEBHOOK_MAX_ATTEMPTS` (4), `WEBHOOK_BACKOFF_MS`
    /// (500, doubled before each further attempt), `WEBHOOK_TIMEOUT_SECONDS` (10) per attempt.)
    pub webhook: Option<Webhook>,
}

/// The webhook as configured: where and how it goes, and where its signing key is still to be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Where the HMAC key comes from.
    pub secret: SecretSource,
    /// The delivery settings; their `secret` is empty until [`Webhook::with_key`] fills it.
    delivery: WebhookConfig,
}

impl Webhook {
    /// The delivery settings signed with `key` (the secret's value), which must be at least 32 bytes.
    pub fn with_key(self, key: Vec<u8>) -> Result<WebhookConfig, ConfigError> {
        check_secret("WEBHOOK_SECRET", &key, MIN_KEY_BYTES)?;
        Ok(WebhookConfig {
            secret: key,
            ..self.delivery
        })
    }
}

/// A webhook key's least length, wherever it comes from.
const MIN_KEY_BYTES: usize = 32;

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(var);
        Ok(Self {
            table: vars.required("TABLE_NAME")?,
            event_bus: vars
                .optional("EVENT_BUS_NAME")
                .unwrap_or_else(|| "default".to_owned()),
            retention_days: vars.whole_number("RETENTION_DAYS", 30, 1..=3650)? as u32,
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
            webhook: webhook(&vars)?,
        })
    }
}

/// The webhook, when `WEBHOOK_URL` is set: it then needs a secret (its ARN, or the key itself) and a dead-letter
/// queue.
fn webhook<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Option<Webhook>, ConfigError> {
    let Some(url) = vars.optional("WEBHOOK_URL") else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ConfigError::new("WEBHOOK_URL", "must be an http(s) URL"));
    }
    let secret = vars
        .secret("WEBHOOK_SECRET_ARN", "WEBHOOK_SECRET", MIN_KEY_BYTES)?
        .ok_or_else(|| {
            ConfigError::new(
                "WEBHOOK_SECRET_ARN",
                "must be set when WEBHOOK_URL is set (or WEBHOOK_SECRET, locally)",
            )
        })?;
    let dead_letter_queue_url = vars.optional("WEBHOOK_DLQ_URL").ok_or_else(|| {
        ConfigError::new(
            "WEBHOOK_DLQ_URL",
            "must be set when WEBHOOK_URL is set (failed webhooks are never dropped)",
        )
    })?;
    let delivery = WebhookConfig {
        url,
        secret: Vec::new(),
        dead_letter_queue_url,
        max_attempts: vars.whole_number("WEBHOOK_MAX_ATTEMPTS", 4, 1..=10)? as u32,
        first_backoff: Duration::from_millis(vars.whole_number(
            "WEBHOOK_BACKOFF_MS",
            500,
            0..=60_000,
        )?),
        attempt_timeout: Duration::from_secs(vars.whole_number(
            "WEBHOOK_TIMEOUT_SECONDS",
            10,
            1..=300,
        )?),
    };
    Ok(Some(Webhook { secret, delivery }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(vidpipe_testkit::config::vars(pairs))
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_match_the_readme() {
        let c = config(&[("TABLE_NAME", "t")]).unwrap();
        assert_eq!(
            c,
            Config {
                table: "t".into(),
                event_bus: "default".into(),
                retention_days: 30,
                s3_force_path_style: false,
                webhook: None
            }
        );
        let c = config(&[
            ("TABLE_NAME", "t"),
            ("WEBHOOK_URL", "https://example.com/hook"),
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_DLQ_URL", "https://sqs/q"),
        ])
        .unwrap();
        let w = c.webhook.unwrap();
        assert!(!format!("{w:?}").contains(SECRET));
        assert_eq!(w.secret, SecretSource::Value(SECRET.into()));
        let w = w.with_key(SECRET.into()).unwrap();
        assert_eq!(
            (w.max_attempts, w.first_backoff, w.attempt_timeout),
            (4, Duration::from_millis(500), Duration::from_secs(10))
        );
        assert!(!format!("{w:?}").contains(SECRET));
    }

    #[test]
    fn on_aws_the_secret_is_named_by_its_arn_and_its_value_checked_when_read() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hook-AbCdEf";
        let webhook = |pairs: &[(&str, &str)]| {
            let mut all = vec![
                ("TABLE_NAME", "t"),
                ("WEBHOOK_URL", "https://e.com/h"),
                ("WEBHOOK_DLQ_URL", "q"),
            ];
            all.extend_from_slice(pairs);
            config(&all).map(|c| c.webhook.unwrap())
        };
        let w = webhook(&[("WEBHOOK_SECRET_ARN", arn)]).unwrap();
        assert_eq!(w.secret, SecretSource::SecretsManager(arn.into()));
        assert_eq!(
            w.clone().with_key(b"short".to_vec()).unwrap_err().name,
            "WEBHOOK_SECRET"
        );
        assert_eq!(w.with_key(SECRET.into()).unwrap().secret, SECRET.as_bytes());
        let both = webhook(&[("WEBHOOK_SECRET_ARN", arn), ("WEBHOOK_SECRET", SECRET)]);
        assert_eq!(both.unwrap_err().name, "WEBHOOK_SECRET");
    }

    #[test]
    fn a_webhook_needs_a_secret_and_a_dead_letter_queue() {
        let err = |vars: &[(&str, &str)]| {
            let mut all = vec![("TABLE_NAME", "t"), ("WEBHOOK_URL", "https://e.com/h")];
            all.extend_from_slice(vars);
            config(&all).unwrap_err().name
        };
        assert_eq!(err(&[("WEBHOOK_DLQ_URL", "q")]), "WEBHOOK_SECRET_ARN");
        assert_eq!(
            err(&[("WEBHOOK_DLQ_URL", "q"), ("WEBHOOK_SECRET", "short")]),
            "WEBHOOK_SECRET"
        );
        assert_eq!(err(&[("WEBHOOK_SECRET", SECRET)]), "WEBHOOK_DLQ_URL");
        assert_eq!(
            err(&[
                ("WEBHOOK_SECRET", SECRET),
                ("WEBHOOK_DLQ_URL", "q"),
                ("WEBHOOK_MAX_ATTEMPTS", "0")
            ]),
            "WEBHOOK_MAX_ATTEMPTS"
        );
        assert_eq!(config(&[]).unwrap_err().name, "TABLE_NAME");
        assert_eq!(
            config(&[("TABLE_NAME", "t"), ("WEBHOOK_URL", "ftp://x")])
                .unwrap_err()
                .name,
            "WEBHOOK_URL"
        );
    }
}
