//! Configuration from environment variables (documented, with defaults, in the README).

use std::time::Duration;
pub use vidpipe_core::config::ConfigError;
use vidpipe_core::upload::{UploadKind, UploadLimits};

const MIB: u64 = 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = 5 * MIB;

/// How callers are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Identity from the API Gateway JWT authorizer's claims (`sub`).
    Jwt,
    /// `Authorization: Bearer` validated here against a shared HS256 secret.
    Hs256 {
        /// The shared secret.
        secret: Vec<u8>,
        /// Required `aud`, if set.
        audience: Option<String>,
        /// Required `iss`, if set.
        issuer: Option<String>,
    },
    /// No identity (survey pages): only some kinds may be uploaded, nothing may be listed or read.
    Anonymous {
        /// Kinds an anonymous caller may upload.
        kinds: Vec<UploadKind>,
    },
}

/// Everything the HTTP API needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// `KEY_PREFIX`: prefix of every key (default empty).
    pub key_prefix: String,
    /// `RETENTION_DAYS` (30).
    pub retention_days: u32,
    /// `UPLOAD_URL_TTL_SECONDS` (1800).
    pub upload_url_ttl: Duration,
    /// `DOWNLOAD_URL_TTL_SECONDS` (3600).
    pub download_url_ttl: Duration,
    /// `MULTIPART_THRESHOLD` bytes (100 MiB): larger uploads get a multipart plan.
    pub multipart_threshold: u64,
    /// `MULTIPART_PART_SIZE` bytes (8 MiB, at least 5 MiB): smallest part size of a multipart plan.
    pub multipart_part_size: u64,
    /// `MAX_UPLOAD_BYTES` (5 GiB).
    pub limits: UploadLimits,
    /// `ALLOWED_ORIGINS`: comma-separated origins allowed by CORS (default none; `*` only if configured).
    pub allowed_origins: Vec<String>,
    /// `AUTH_MODE` (`jwt`), with `JWT_SECRET`, `JWT_AUDIENCE`, `JWT_ISSUER`, `ANONYMOUS_KINDS`.
    pub auth: AuthMode,
    /// `LIST_PAGE_SIZE` (50): recordings per page.
    pub list_page_size: usize,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: u64, min: u64| -> Result<u64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    _ => Err(ConfigError::new(
                        name,
                        format!("must be an integer >= {min}"),
                    )),
                },
            }
        };
        let auth = match var("AUTH_MODE").as_deref().unwrap_or("jwt") {
            "jwt" => AuthMode::Jwt,
            "hs256" => AuthMode::Hs256 {
                secret: var("JWT_SECRET")
                    .filter(|s| s.len() >= 32)
                    .ok_or_else(|| {
                        ConfigError::new(
                            "JWT_SECRET",
                            "must be set, at least 32 bytes, when AUTH_MODE=hs256",
                        )
                    })?
                    .into_bytes(),
                audience: var("JWT_AUDIENCE").filter(|s| !s.is_empty()),
                issuer: var("JWT_ISSUER").filter(|s| !s.is_empty()),
            },
            "anonymous" => AuthMode::Anonymous {
                kinds: var("ANONYMOUS_KINDS")
                    .unwrap_or_else(|| "camera,screen".to_owned())
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|k| {
                        UploadKind::parse("ANONYMOUS_KINDS", k)
                            .map_err(|e| ConfigError::new("ANONYMOUS_KINDS", e.message))
                    })
                    .collect::<Result<_, _>>()?,
            },
            _ => {
                return Err(ConfigError::new(
                    "AUTH_MODE",
                    "must be jwt, hs256 or anonymous",
                ));
            }
        };
        let list_page_size = number("LIST_PAGE_SIZE", 50, 1)?;
        if list_page_size > 1000 {
            return Err(ConfigError::new("LIST_PAGE_SIZE", "must be at most 1000"));
        }
        Ok(Self {
            key_prefix: var("KEY_PREFIX").unwrap_or_default(),
            retention_days: u32::try_from(number("RETENTION_DAYS", 30, 1)?)
                .map_err(|_| ConfigError::new("RETENTION_DAYS", "too large"))?,
            upload_url_ttl: Duration::from_secs(number("UPLOAD_URL_TTL_SECONDS", 1800, 1)?),
            download_url_ttl: Duration::from_secs(number("DOWNLOAD_URL_TTL_SECONDS", 3600, 1)?),
            multipart_threshold: number("MULTIPART_THRESHOLD", 100 * MIB, MIN_PART_SIZE)?,
            multipart_part_size: number("MULTIPART_PART_SIZE", 8 * MIB, MIN_PART_SIZE)?,
            limits: UploadLimits {
                max_upload_bytes: number("MAX_UPLOAD_BYTES", 5 * 1024 * MIB, 1)?,
            },
            allowed_origins: var("ALLOWED_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            auth,
            list_page_size: list_page_size as usize,
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

    #[test]
    fn defaults_match_the_readme() {
        let c = config(&[]).unwrap();
        assert_eq!(c.retention_days, 30);
        assert_eq!(c.upload_url_ttl, Duration::from_secs(1800));
        assert_eq!(c.download_url_ttl, Duration::from_secs(3600));
        assert_eq!(c.multipart_threshold, 100 * MIB);
        assert_eq!(c.limits.max_upload_bytes, 5 * 1024 * MIB);
        assert_eq!(c.auth, AuthMode::Jwt);
        assert!(c.allowed_origins.is_empty());
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            config(&[("RETENTION_DAYS", "x")]).unwrap_err().name,
            "RETENTION_DAYS"
        );
        assert_eq!(
            config(&[("AUTH_MODE", "none")]).unwrap_err().name,
            "AUTH_MODE"
        );
        assert_eq!(
            config(&[("AUTH_MODE", "hs256")]).unwrap_err().name,
            "JWT_SECRET"
        );
        assert_eq!(
            config(&[("AUTH_MODE", "hs256"), ("JWT_SECRET", "short")])
                .unwrap_err()
                .name,
            "JWT_SECRET"
        );
        assert_eq!(
            config(&[("MULTIPART_PART_SIZE", "1024")]).unwrap_err().name,
            "MULTIPART_PART_SIZE"
        );
        let err = config(&[
            ("AUTH_MODE", "anonymous"),
            ("ANONYMOUS_KINDS", "camera,movie"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "ANONYMOUS_KINDS");
    }
}
