//! Signed `GET /play` URLs: `?expires={epoch seconds}&sig={hex}`, an HMAC-SHA256 with the API's playback key over
//! the package and the expiry.
//!
//! The signature covers the whole package, not one file, as CloudFront's custom policy over a prefix does: a player
//! that fetched the main playlist with it fetches the variant playlists with the same query, and nothing else
//! (no `Authorization` header, which native HLS players cannot send). Only the package's owner is given one (in the
//! `playback` object), so the owner-only rule is kept at minting; the expiry keeps a leaked URL short-lived.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The query parameter carrying the expiry.
pub const EXPIRES: &str = "expires";
/// The query parameter carrying the signature.
pub const SIGNATURE: &str = "sig";

/// Why a `GET /play` URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlayUrlError {
    /// No expiry or signature, or not in their form.
    #[error("the URL is not signed")]
    Unsigned,
    /// The signature is not the key's over this package and expiry (tampered, or another package's).
    #[error("the URL's signature does not match")]
    Mismatch,
    /// The expiry has passed.
    #[error("the URL has expired")]
    Expired,
}

fn mac(key: &[u8], asset: &str, expires: u64) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    // The asset (`kind/id`) never holds a newline, so the message is unambiguous.
    mac.update(b"vidpipe-play\n");
    mac.update(asset.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    mac
}

/// The query (`expires=...&sig=...`, no `?`) that lets `GET /play` serve `asset`'s files until `expires`.
pub fn query(key: &[u8], asset: &str, expires: u64) -> String {
    let tag = mac(key, asset, expires).finalize().into_bytes();
    format!("{EXPIRES}={expires}&{SIGNATURE}={}", hex::encode(tag))
}

/// Checks a request's `expires` and `sig` for `asset` at `now` (epoch seconds): the signature first (in constant
/// time), so an expired URL is told apart from a forged one only when it was really issued. The verified expiry.
pub fn verify(
    key: &[u8],
    asset: &str,
    expires: Option<&str>,
    signature: Option<&str>,
    now: u64,
) -> Result<u64, PlayUrlError> {
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return Err(PlayUrlError::Unsigned);
    };
    let expires: u64 = expires.parse().map_err(|_| PlayUrlError::Unsigned)?;
    let tag = hex::decode(signature).map_err(|_| PlayUrlError::Unsigned)?;
    mac(key, asset, expires)
        .verify_slice(&tag)
        .map_err(|_| PlayUrlError::Mismatch)?;
    if now >= expires {
        return Err(PlayUrlError::Expired);
    }
    Ok(expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn parts(query: &str) -> (String, String) {
        let mut expires = String::new();
        let mut sig = String::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some((EXPIRES, v)) => expires = v.to_owned(),
                Some((SIGNATURE, v)) => sig = v.to_owned(),
                _ => panic!("unexpected {pair}"),
            }
        }
        (expires, sig)
    }

    #[test]
    fn a_signed_url_plays_until_it_expires() {
        let (expires, sig) = parts(&query(KEY, "recording/r1", 1_000));
        assert_eq!(expires, "1000");
        assert_eq!(sig.len(), 64);
        let check = |now| verify(KEY, "recording/r1", Some(&expires), Some(&sig), now);
        assert_eq!(check(999), Ok(1_000));
        assert_eq!(check(1_000), Err(PlayUrlError::Expired));
    }

    #[test]
    fn another_package_key_or_expiry_is_a_mismatch() {
        let (expires, sig) = parts(&query(KEY, "recording/r1", 1_000));
        let other_key = b"fedcba9876543210fedcba9876543210";
        for (key, asset, exp) in [
            (KEY, "recording/r2", expires.as_str()),
            (KEY, "stream/r1", expires.as_str()),
            (other_key.as_slice(), "recording/r1", expires.as_str()),
            (KEY, "recording/r1", "2000"),
        ] {
            assert_eq!(
                verify(key, asset, Some(exp), Some(&sig), 0),
                Err(PlayUrlError::Mismatch),
                "{asset} {exp}"
            );
        }
    }

    #[test]
    fn missing_or_malformed_parameters_are_unsigned() {
        let (expires, sig) = parts(&query(KEY, "recording/r1", 1_000));
        for (e, s) in [
            (None, Some(sig.as_str())),
            (Some(expires.as_str()), None),
            (Some("-1"), Some(sig.as_str())),
            (Some("soon"), Some(sig.as_str())),
            (Some(expires.as_str()), Some("zz")),
        ] {
            assert_eq!(
                verify(KEY, "recording/r1", e, s, 0),
                Err(PlayUrlError::Unsigned)
            );
        }
    }
}
