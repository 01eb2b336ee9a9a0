//! Configuration from environment variables (documented, with defaults, in the README).

use std::time::Duration;
use vidpipe_aws::notify::WebhookConfig;
pub use vidpipe_core::config::ConfigError;

/// Everything the notifier needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME` (required).
    pub table: String,
    /// `EVENT_BUS_NAME` (`default`).
    pub event_bus: String,
    /// `RETENTION_DAYS` (30): how long render items and processed-event markers are kept.
    pub retention_days: u32,
    /// The webhook, when `WEBHOOK_URL` is set.
    /// (`WEBHOOK_SECRET`, `WEBHOOK_DLQ_URL`, `WEBHOOK_MAX_ATTEMPTS` (4), `WEBHOOK_BACKOFF_MS` (500, doubled before
    /// each further attempt), `WEBHOOK_TIMEOUT_SECONDS` (10) per attempt.)
    pub webhook: Option<WebhookConfig>,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, default: u64, min: u64, max: u64| match set(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(name, format!("must be an integer from {min} to {max}"))
                }),
        };
        let webhook = match set("WEBHOOK_URL") {
            None => None,
            Some(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(ConfigError::new("WEBHOOK_URL", "must be an http(s) URL"));
                }
                let secret = set("WEBHOOK_SECRET")
                    .filter(|s| s.len() >= 32)
                    .ok_or_else(|| {
                        ConfigError::new(
                            "WEBHOOK_SECRET",
                            "must be set, at least 32 bytes, when WEBHOOK_URL is set",
                        )
                    })?;
                let dead_letter_queue_url = set("WEBHOOK_DLQ_URL").ok_or_else(|| {
                    ConfigError::new(
                        "WEBHOOK_DLQ_URL",
                        "must be set when WEBHOOK_URL is set (failed webhooks are never dropped)",
                    )
                })?;
                Some(WebhookConfig {
                    url,
                    secret: secret.into_bytes(),
                    dead_letter_queue_url,
                    max_attempts: number("WEBHOOK_MAX_ATTEMPTS", 4, 1, 10)? as u32,
                    first_backoff: Duration::from_millis(number(
                        "WEBHOOK_BACKOFF_MS",
                        500,
                        0,
                        60_000,
                    )?),
                    attempt_timeout: Duration::from_secs(number(
                        "WEBHOOK_TIMEOUT_SECONDS",
                        10,
                        1,
                        300,
                    )?),
                })
            }
        };
        Ok(Self {
            table: set("TABLE_NAME")
                .ok_or_else(|| ConfigError::new("TABLE_NAME", "must be set"))?,
            event_bus: set("EVENT_BUS_NAME").unwrap_or_else(|| "default".to_owned()),
            retention_days: number("RETENTION_DAYS", 30, 1, 3650)? as u32,
            webhook,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_env(|k| vars.get(k).cloned())
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
        assert_eq!(
            (w.max_attempts, w.first_backoff, w.attempt_timeout),
            (4, Duration::from_millis(500), Duration::from_secs(10))
        );
        assert!(!format!("{w:?}").contains(SECRET));
    }

    #[test]
    fn a_webhook_needs_a_secret_and_a_dead_letter_queue() {
        let err = |vars: &[(&str, &str)]| {
            let mut all = vec![("TABLE_NAME", "t"), ("WEBHOOK_URL", "https://e.com/h")];
            all.extend_from_slice(vars);
            config(&all).unwrap_err().name
        };
        assert_eq!(err(&[("WEBHOOK_DLQ_URL", "q")]), "WEBHOOK_SECRET");
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
