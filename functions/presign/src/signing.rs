//! How playback URLs are signed: `GET /play` URLs with the API's own key (`vidpipe_core::play_url`), and, when a
//! CloudFront distribution is configured, every segment, MP4 and image as a CloudFront signed URL whose custom policy
//! covers the package's folder, so the bytes come from the CDN's cache and the bucket stays private.

use std::time::Duration;

use vidpipe_aws::cloudfront::{CloudFrontSigner, SignerError};
use vidpipe_core::clock::now_ms;
use vidpipe_core::config::{ConfigError, SecretSource};
use vidpipe_core::play_url::{self, PlayUrlError};

use crate::config::Config;

/// Why the signing keys are not usable.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// A key read from Secrets Manager is too short.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The CloudFront private key or key-pair id is not usable.
    #[error(transparent)]
    CloudFront(#[from] SignerError),
}

/// The keys playback URLs are signed with, read once per cold start.
#[derive(Debug)]
pub struct PlaybackSigning {
    play_key: PlayKey,
    ttl: Duration,
    cdn: Option<Cdn>,
}

/// The `GET /play` key; never shown.
struct PlayKey(Vec<u8>);

impl std::fmt::Debug for PlayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlayKey(<redacted>)")
    }
}

/// The distribution's base URL and its signer.
#[derive(Debug)]
struct Cdn {
    base_url: String,
    signer: CloudFrontSigner,
}

impl PlaybackSigning {
    /// The signing of `config` with the keys its sources gave: `play_key` (from `playback_key`) and, when
    /// `config.cdn` is set, the CloudFront private key in PEM (from its `private_key`).
    pub fn new(
        config: &Config,
        play_key: Vec<u8>,
        cdn_private_key: Option<Vec<u8>>,
    ) -> Result<Self, SigningError> {
        vidpipe_core::config::check_secret(
            "PLAYBACK_SIGNING_SECRET",
            &play_key,
            crate::config::MIN_PLAY_KEY_BYTES,
        )?;
        let cdn = match (&config.cdn, cdn_private_key) {
            (Some(cdn), Some(pem)) => Some(Cdn {
                base_url: cdn.base_url.clone(),
                signer: CloudFrontSigner::from_pem(
                    &cdn.key_pair_id,
                    &String::from_utf8_lossy(&pem),
                )?,
            }),
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "CLOUDFRONT_PRIVATE_KEY_SECRET_ARN",
                    "the CloudFront private key was not given",
                )
                .into());
            }
            (None, _) => None,
        };
        Ok(Self {
            play_key: PlayKey(play_key),
            ttl: config.playback_url_ttl,
            cdn,
        })
    }

    /// The signing of a configuration whose keys are given as values (local development and tests); one naming a
    /// Secrets Manager secret is resolved by `wiring::app` instead.
    pub fn from_values(config: &Config) -> Result<Self, SigningError> {
        let value = |source: &SecretSource, name| match source {
            SecretSource::Value(key) => Ok(key.clone()),
            SecretSource::SecretsManager(_) => Err(ConfigError::new(
                name,
                "names a Secrets Manager secret, which wiring::app reads",
            )),
        };
        let play_key = value(&config.playback_key, "PLAYBACK_SIGNING_SECRET_ARN")?;
        let cdn_key = match &config.cdn {
            Some(cdn) => Some(value(
                &cdn.private_key,
                "CLOUDFRONT_PRIVATE_KEY_SECRET_ARN",
            )?),
            None => None,
        };
        Self::new(config, play_key, cdn_key)
    }

    /// When URLs signed now expire (epoch seconds).
    pub fn expiry(&self) -> u64 {
        now_ms() / 1000 + self.ttl.as_secs()
    }

    /// The `?expires=...&sig=...` query of `GET /play` URLs of `asset` (`kind/id`) until `expires`.
    pub fn play_query(&self, asset: &str, expires: u64) -> String {
        play_url::query(&self.play_key.0, asset, expires)
    }

    /// Checks a `GET /play` request's `expires` and `sig` for `asset`, now; the verified expiry.
    pub fn verify_play(
        &self,
        asset: &str,
        expires: Option<&str>,
        signature: Option<&str>,
    ) -> Result<u64, PlayUrlError> {
        play_url::verify(&self.play_key.0, asset, expires, signature, now_ms() / 1000)
    }

    /// A signer of CDN URLs for the files under `folder` (a key ending in `/`) until `expires`, when a distribution
    /// is configured; one signature serves every file of the folder.
    pub fn cdn_folder(&self, folder: &str, expires: u64) -> Option<CdnFolder> {
        let cdn = self.cdn.as_ref()?;
        let base = format!("{}/{}", cdn.base_url, folder);
        let policy = cdn.signer.sign(&format!("{base}*"), expires);
        Some(CdnFolder {
            folder: folder.to_owned(),
            base,
            policy,
        })
    }
}

/// CloudFront URLs of one folder's files, under one signed policy.
#[derive(Debug)]
pub struct CdnFolder {
    folder: String,
    base: String,
    policy: vidpipe_aws::cloudfront::SignedPolicy,
}

impl CdnFolder {
    /// The signed CDN URL of `key`, a key inside the folder; `None` for a key outside it.
    pub fn url(&self, key: &str) -> Option<String> {
        let file = key.strip_prefix(&self.folder)?;
        Some(self.policy.url(&format!("{}{}", self.base, file)))
    }
}
