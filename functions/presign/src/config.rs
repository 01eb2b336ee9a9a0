//! Configuration from environment variables (documented, with defaults, in the README).

use std::time::Duration;

pub use vidpipe_core::config::ConfigError;
use vidpipe_core::config::{SecretSource, Vars};
use vidpipe_core::keys::check_prefix;
use vidpipe_core::render::scope::RenderScope;
use vidpipe_core::upload::{UploadKind, UploadLimits};

const MIB: u64 = 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// The longest a SigV4 presigned URL may live (7 days).
const MAX_PRESIGN_SECONDS: u64 = 7 * 24 * 3600;
/// The shortest `GET /play` signing key (HMAC-SHA256's block of entropy).
pub const MIN_PLAY_KEY_BYTES: usize = 32;

/// Delivery through a CloudFront distribution: its base URL and the key pair its trusted key group holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdnConfig {
    /// `CDN_BASE_URL`: the distribution's `https://` URL (the template's output `PlaybackBaseUrl`).
    pub base_url: String,
    /// `CLOUDFRONT_KEY_PAIR_ID`: the id CloudFront gave the public key (output `PlaybackKeyPairId`).
    pub key_pair_id: String,
    /// `CLOUDFRONT_PRIVATE_KEY_SECRET_ARN` (how the template deploys it) or `CLOUDFRONT_PRIVATE_KEY` (PEM, locally).
    pub private_key: SecretSource,
}

/// How callers are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Identity from the API Gateway JWT authorizer's claims (`sub`).
    Jwt,
    /// `Authorization: Bearer` validated here against a shared HS256 secret.
    Hs256(Hs256),
    /// No identity (survey pages): only some kinds may be uploaded, nothing may be listed or read.
    Anonymous {
        /// Kinds an anonymous caller may upload.
        kinds: Vec<UploadKind>,
    },
}

/// What HS256 tokens must be: signed with the secret, within their lifetime, for this audience and issuer.
#[derive(Clone, PartialEq, Eq)]
pub struct Hs256 {
    /// `JWT_SECRET`: the shared secret.
    pub secret: Vec<u8>,
    /// `JWT_AUDIENCE`: the `aud` every token must carry, if set.
    pub audience: Option<String>,
    /// `JWT_ISSUER`: the `iss` every token must carry, if set.
    pub issuer: Option<String>,
    /// `JWT_MAX_LIFETIME_SECONDS` (3600): the longest a token may live, from its `iat` (or from now) to its `exp`.
    pub max_lifetime: Duration,
}

/// The secret stays out of any `Debug` output, so a logged configuration never leaks it.
impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hs256")
            .field("secret", &"<redacted>")
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// Everything the HTTP API needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// `BUCKET` (required): the uploads bucket.
    pub bucket: String,
    /// `TABLE_NAME` (required): the recordings table (stream items live in it too).
    pub table: String,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing, for endpoints such as moto.
    pub s3_force_path_style: bool,
    /// `KEY_PREFIX`: prefix of every key (default empty; else a folder such as `videos/`).
    pub key_prefix: String,
    /// `RETENTION_DAYS` (30).
    pub retention_days: u32,
    /// `UPLOAD_URL_TTL_SECONDS` (1800).
    pub upload_url_ttl: Duration,
    /// `LEGACY_UPLOAD_URL_TTL_SECONDS` (300, at most 7 days): lifetime of the legacy routes' URLs, which S3 takes
    /// again and again until they expire (no `If-None-Match`, and often no signed length), so it is kept short.
    pub legacy_upload_url_ttl: Duration,
    /// `DOWNLOAD_URL_TTL_SECONDS` (3600).
    pub download_url_ttl: Duration,
    /// `PLAYBACK_URL_TTL_SECONDS` (900, at most 7 days): lifetime of the presigned URLs `GET /play` writes into a
    /// manifest (a player fetches the manifest again for new ones).
    pub playback_url_ttl: Duration,
    /// `PLAYBACK_SIGNING_SECRET_ARN` (how the template deploys it) or `PLAYBACK_SIGNING_SECRET` (locally), at least
    /// 32 bytes: the key `GET /play` URLs are signed with.
    pub playback_key: SecretSource,
    /// `CDN_BASE_URL` with `CLOUDFRONT_KEY_PAIR_ID` and the private key: segments, MP4s and images are delivered
    /// through CloudFront (unset: presigned S3 URLs).
    pub cdn: Option<CdnConfig>,
    /// `PUBLIC_BASE_URL` (unset: root-relative paths): the API's public URL, the base of the `/play/` URLs in
    /// `playback` objects.
    pub public_base_url: Option<String>,
    /// `MULTIPART_THRESHOLD` bytes (100 MiB): larger uploads get a multipart plan.
    pub multipart_threshold: u64,
    /// `MULTIPART_PART_SIZE` bytes (8 MiB, at least 5 MiB): smallest part size of a multipart plan.
    pub multipart_part_size: u64,
    /// `MAX_UPLOAD_BYTES` (5 GiB).
    pub limits: UploadLimits,
    /// `ALLOWED_ORIGINS`: comma-separated origins allowed by CORS (default none; `*` only if configured).
    pub allowed_origins: Vec<String>,
    /// `AUTH_MODE` (`jwt`), with `JWT_SECRET`, `JWT_AUDIENCE`, `JWT_ISSUER`, `JWT_MAX_LIFETIME_SECONDS`,
    /// `ANONYMOUS_KINDS`.
    pub auth: AuthMode,
    /// `LIST_PAGE_SIZE` (50): recordings and renders per page.
    pub list_page_size: usize,
    /// `RENDER_STATE_MACHINE_ARN`: the render state machine `POST /renders` starts (unset: the render routes answer
    /// 503).
    pub render_state_machine_arn: Option<String>,
    /// Where a render may read and which renderers it may name (`BUCKET`, `KEY_PREFIX`, `SHARED_ASSETS_PREFIX`,
    /// `RENDERER_ARNS`, as the chunker reads them): `POST /renders` refuses what the chunker would.
    pub render_scope: RenderScope,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(var);
        let key_prefix = vars.optional("KEY_PREFIX").unwrap_or_default();
        check_prefix(&key_prefix).map_err(|why| ConfigError::new("KEY_PREFIX", why))?;
        let seconds = |name, default| {
            vars.whole_number(name, default, 1..=u64::MAX)
                .map(Duration::from_secs)
        };
        let part_size = |name, default| vars.whole_number(name, default, MIN_PART_SIZE..=u64::MAX);
        Ok(Self {
            bucket: vars.required("BUCKET")?,
            table: vars.required("TABLE_NAME")?,
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
            key_prefix,
            retention_days: vars.whole_number("RETENTION_DAYS", 30, 1..=u64::from(u32::MAX))?
                as u32,
            upload_url_ttl: seconds("UPLOAD_URL_TTL_SECONDS", 1800)?,
            legacy_upload_url_ttl: vars
                .whole_number(
                    "LEGACY_UPLOAD_URL_TTL_SECONDS",
                    300,
                    1..=MAX_PRESIGN_SECONDS,
                )
                .map(Duration::from_secs)?,
            download_url_ttl: seconds("DOWNLOAD_URL_TTL_SECONDS", 3600)?,
            playback_url_ttl: vars
                .whole_number("PLAYBACK_URL_TTL_SECONDS", 900, 1..=MAX_PRESIGN_SECONDS)
                .map(Duration::from_secs)?,
            playback_key: vars
                .secret(
                    "PLAYBACK_SIGNING_SECRET_ARN",
                    "PLAYBACK_SIGNING_SECRET",
                    MIN_PLAY_KEY_BYTES,
                )?
                .ok_or_else(|| {
                    ConfigError::new(
                        "PLAYBACK_SIGNING_SECRET_ARN",
                        "must be set (or PLAYBACK_SIGNING_SECRET, locally): it signs the GET /play URLs",
                    )
                })?,
            cdn: cdn(&vars)?,
            public_base_url: vars
                .optional("PUBLIC_BASE_URL")
                .map(|url| url.trim_end_matches('/').to_owned()),
            multipart_threshold: part_size("MULTIPART_THRESHOLD", 100 * MIB)?,
            multipart_part_size: part_size("MULTIPART_PART_SIZE", 8 * MIB)?,
            limits: UploadLimits {
                max_upload_bytes: vars.whole_number(
                    "MAX_UPLOAD_BYTES",
                    5 * 1024 * MIB,
                    1..=u64::MAX,
                )?,
            },
            allowed_origins: vars
                .optional("ALLOWED_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            auth: auth_mode(&vars)?,
            list_page_size: vars.whole_number("LIST_PAGE_SIZE", 50, 1..=1000)? as usize,
            render_state_machine_arn: vars.optional("RENDER_STATE_MACHINE_ARN"),
            render_scope: RenderScope::from_vars(&vars)?,
        })
    }
}

/// The CloudFront delivery, when `CDN_BASE_URL` is set: then the key-pair id and the private key must be too.
fn cdn<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Option<CdnConfig>, ConfigError> {
    let Some(base_url) = vars.optional("CDN_BASE_URL") else {
        return Ok(None);
    };
    if !base_url.starts_with("https://") {
        return Err(ConfigError::new("CDN_BASE_URL", "must be an https:// URL"));
    }
    let required = |name| ConfigError::new(name, "must be set when CDN_BASE_URL is set");
    Ok(Some(CdnConfig {
        base_url: base_url.trim_end_matches('/').to_owned(),
        key_pair_id: vars
            .optional("CLOUDFRONT_KEY_PAIR_ID")
            .ok_or_else(|| required("CLOUDFRONT_KEY_PAIR_ID"))?,
        private_key: vars
            .secret(
                "CLOUDFRONT_PRIVATE_KEY_SECRET_ARN",
                "CLOUDFRONT_PRIVATE_KEY",
                1,
            )?
            .ok_or_else(|| required("CLOUDFRONT_PRIVATE_KEY_SECRET_ARN"))?,
    }))
}

/// `AUTH_MODE` and the variables of its mode.
fn auth_mode<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<AuthMode, ConfigError> {
    match vars.optional("AUTH_MODE").as_deref().unwrap_or("jwt") {
        "jwt" => Ok(AuthMode::Jwt),
        "hs256" => Ok(AuthMode::Hs256(Hs256 {
            secret: vars
                .optional("JWT_SECRET")
                .filter(|s| s.len() >= 32)
                .ok_or_else(|| {
                    ConfigError::new(
                        "JWT_SECRET",
                        "must be set, at least 32 bytes, when AUTH_MODE=hs256",
                    )
                })?
                .into_bytes(),
            audience: vars.optional("JWT_AUDIENCE"),
            issuer: vars.optional("JWT_ISSUER"),
            max_lifetime: Duration::from_secs(vars.whole_number(
                "JWT_MAX_LIFETIME_SECONDS",
                3600,
                1..=u64::MAX,
            )?),
        })),
        "anonymous" => Ok(AuthMode::Anonymous {
            kinds: vars
                .optional("ANONYMOUS_KINDS")
                .unwrap_or_else(|| "camera,screen".to_owned())
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|k| {
                    UploadKind::parse("ANONYMOUS_KINDS", k)
                        .map_err(|e| ConfigError::new("ANONYMOUS_KINDS", e.message))
                })
                .collect::<Result<_, _>>()?,
        }),
        _ => Err(ConfigError::new(
            "AUTH_MODE",
            "must be jwt, hs256 or anonymous",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration with the required variables and `pairs`.
    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = vec![
            ("BUCKET", "uploads"),
            ("TABLE_NAME", "vidpipe"),
            (
                "PLAYBACK_SIGNING_SECRET",
                "0123456789abcdef0123456789abcdef",
            ),
        ];
        all.extend_from_slice(pairs);
        Config::from_env(vidpipe_testkit::config::vars(&all))
    }

    #[test]
    fn playback_urls_need_a_signing_key_and_a_cdn_needs_its_key_pair() {
        let without = Config::from_env(vidpipe_testkit::config::vars(&[
            ("BUCKET", "uploads"),
            ("TABLE_NAME", "vidpipe"),
        ]));
        assert_eq!(without.unwrap_err().name, "PLAYBACK_SIGNING_SECRET_ARN");
        let c = config(&[]).unwrap();
        assert_eq!(format!("{:?}", c.playback_key), "Value(<redacted>)");
        assert_eq!(c.cdn, None);
        let cdn = config(&[
            ("CDN_BASE_URL", "https://d111111abcdef8.cloudfront.net/"),
            ("CLOUDFRONT_KEY_PAIR_ID", "K2JCJMDEHXQW5F"),
            (
                "CLOUDFRONT_PRIVATE_KEY_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:cf",
            ),
        ])
        .unwrap()
        .cdn
        .unwrap();
        assert_eq!(cdn.base_url, "https://d111111abcdef8.cloudfront.net");
        assert_eq!(
            cdn.private_key,
            SecretSource::SecretsManager("arn:aws:secretsmanager:us-east-1:1:secret:cf".into())
        );
        let half = config(&[("CDN_BASE_URL", "https://d111111abcdef8.cloudfront.net")]);
        assert_eq!(half.unwrap_err().name, "CLOUDFRONT_KEY_PAIR_ID");
        let plain = config(&[("CDN_BASE_URL", "http://cdn.example.com")]);
        assert_eq!(plain.unwrap_err().name, "CDN_BASE_URL");
    }

    #[test]
    fn defaults_match_the_readme() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.bucket.as_str(), c.table.as_str()),
            ("uploads", "vidpipe")
        );
        assert!(!c.s3_force_path_style);
        assert_eq!(c.key_prefix, "");
        assert_eq!(c.retention_days, 30);
        assert_eq!(c.upload_url_ttl, Duration::from_secs(1800));
        assert_eq!(c.legacy_upload_url_ttl, Duration::from_secs(300));
        assert_eq!(c.download_url_ttl, Duration::from_secs(3600));
        assert_eq!(c.playback_url_ttl, Duration::from_secs(900));
        assert_eq!(c.public_base_url, None);
        assert_eq!(c.multipart_threshold, 100 * MIB);
        assert_eq!(c.limits.max_upload_bytes, 5 * 1024 * MIB);
        assert_eq!(c.auth, AuthMode::Jwt);
        assert!(c.allowed_origins.is_empty());
        assert_eq!(c.render_state_machine_arn, None);
        let secret = "0123456789abcdef0123456789abcdef";
        let c = config(&[("AUTH_MODE", "hs256"), ("JWT_SECRET", secret)]).unwrap();
        assert_eq!(
            c.auth,
            AuthMode::Hs256(Hs256 {
                secret: secret.as_bytes().to_vec(),
                audience: None,
                issuer: None,
                max_lifetime: Duration::from_secs(3600),
            })
        );
        assert!(
            !format!("{c:?}").contains(secret),
            "the secret is never shown"
        );
    }

    #[test]
    fn lifetimes_are_configurable() {
        let c = config(&[
            ("LEGACY_UPLOAD_URL_TTL_SECONDS", "60"),
            ("AUTH_MODE", "hs256"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("JWT_MAX_LIFETIME_SECONDS", "900"),
        ])
        .unwrap();
        assert_eq!(c.legacy_upload_url_ttl, Duration::from_secs(60));
        let AuthMode::Hs256(hs256) = c.auth else {
            panic!("hs256 mode")
        };
        assert_eq!(hs256.max_lifetime, Duration::from_secs(900));
        for (name, value) in [
            ("LEGACY_UPLOAD_URL_TTL_SECONDS", "0"),
            ("LEGACY_UPLOAD_URL_TTL_SECONDS", "604801"),
        ] {
            assert_eq!(config(&[(name, value)]).unwrap_err().name, name);
        }
        let err = config(&[
            ("AUTH_MODE", "hs256"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("JWT_MAX_LIFETIME_SECONDS", "0"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "JWT_MAX_LIFETIME_SECONDS");
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
        assert_eq!(
            config(&[("KEY_PREFIX", "videos")]).unwrap_err().name,
            "KEY_PREFIX"
        );
        assert_eq!(
            config(&[("S3_FORCE_PATH_STYLE", "yes")]).unwrap_err().name,
            "S3_FORCE_PATH_STYLE"
        );
        assert_eq!(
            Config::from_env(vidpipe_testkit::config::vars(&[("TABLE_NAME", "t")]))
                .unwrap_err()
                .name,
            "BUCKET"
        );
    }
}
