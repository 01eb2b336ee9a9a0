//! CloudFront signed URLs and signed cookies with a custom policy, so one authorization covers every file under an
//! asset's prefix (every segment of a playlist).
//!
//! As CloudFront documents it: the policy is JSON with one statement, a `Resource` (a URL, `*` as a wildcard) and a
//! `DateLessThan` expiry in epoch seconds; the signature is RSA-SHA1 (PKCS#1 v1.5) over the policy's bytes; both
//! travel in CloudFront's URL-safe base64 (standard base64 with `+` as `-`, `=` as `_` and `/` as `~`), with the
//! public key's id as `Key-Pair-Id`. The private key is a PEM (PKCS#1 or PKCS#8) read from Secrets Manager by the
//! caller, never from an environment variable. Pure Rust (the `rsa` crate), no OpenSSL.

use base64::Engine;
use rsa::PrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha1::Sha1;

/// Why a signer cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The PEM is neither a PKCS#1 nor a PKCS#8 RSA private key.
    #[error("the CloudFront private key is not an RSA private key in PEM (PKCS#1 or PKCS#8)")]
    InvalidKey,
    /// The key-pair id is empty or not printable ASCII.
    #[error("the CloudFront key-pair id {0:?} is not a key id")]
    InvalidKeyPairId(String),
}

/// Signs CloudFront URLs and cookies with one key pair.
#[derive(Clone)]
pub struct CloudFrontSigner {
    key_pair_id: String,
    key: SigningKey<Sha1>,
}

impl std::fmt::Debug for CloudFrontSigner {
    /// Shows the key-pair id, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFrontSigner")
            .field("key_pair_id", &self.key_pair_id)
            .finish_non_exhaustive()
    }
}

/// A signed custom policy: the three values CloudFront reads, already in its base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPolicy {
    /// `Policy` / `CloudFront-Policy`.
    pub policy: String,
    /// `Signature` / `CloudFront-Signature`.
    pub signature: String,
    /// `Key-Pair-Id` / `CloudFront-Key-Pair-Id`.
    pub key_pair_id: String,
}

impl SignedPolicy {
    /// `url` with the policy's query parameters appended (none of the three values needs escaping).
    pub fn url(&self, url: &str) -> String {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!(
            "{url}{separator}Policy={}&Signature={}&Key-Pair-Id={}",
            self.policy, self.signature, self.key_pair_id
        )
    }

    /// The three cookies (name, value) that authorize every URL the policy covers.
    pub fn cookies(&self) -> [(&'static str, &str); 3] {
        [
            ("CloudFront-Policy", &self.policy),
            ("CloudFront-Signature", &self.signature),
            ("CloudFront-Key-Pair-Id", &self.key_pair_id),
        ]
    }
}

impl CloudFrontSigner {
    /// A signer for the public key `key_pair_id` (the id CloudFront gave the public key) with its private key in PEM.
    pub fn from_pem(key_pair_id: &str, pem: &str) -> Result<Self, SignerError> {
        if key_pair_id.is_empty() || !key_pair_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SignerError::InvalidKeyPairId(key_pair_id.to_owned()));
        }
        let key = PrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| PrivateKey::from_pkcs8_pem(pem))
            .map_err(|_| SignerError::InvalidKey)?;
        Ok(Self {
            key_pair_id: key_pair_id.to_owned(),
            key: SigningKey::<Sha1>::new(key),
        })
    }

    /// Signs the custom policy that allows `resource` (a URL; `https://cdn.example/assets/a1/playback/*` covers
    /// the asset's whole package) until `expires_epoch_s`.
    pub fn sign(&self, resource: &str, expires_epoch_s: u64) -> SignedPolicy {
        let policy = custom_policy(resource, expires_epoch_s);
        let signature = self.key.sign(policy.as_bytes()).to_vec();
        SignedPolicy {
            policy: cloudfront_base64(policy.as_bytes()),
            signature: cloudfront_base64(&signature),
            key_pair_id: self.key_pair_id.clone(),
        }
    }
}

/// The custom policy's JSON, without whitespace, as CloudFront's examples write it.
pub fn custom_policy(resource: &str, expires_epoch_s: u64) -> String {
    serde_json::json!({
        "Statement": [{
            "Resource": resource,
            "Condition": {"DateLessThan": {"AWS:EpochTime": expires_epoch_s}}
        }]
    })
    .to_string()
}

/// CloudFront's URL-safe base64: standard base64 with `+` -> `-`, `=` -> `_`, `/` -> `~`.
pub fn cloudfront_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            other => other,
        })
        .collect()
}
