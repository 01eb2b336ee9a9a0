//! Stream capabilities: what an anonymous caller shows to sign or read a stream again.
//!
//! Anonymous callers (survey pages) all share one owner, so ownership cannot tell one respondent from another. The
//! first sign of a stream issues a [`StreamCapability`]: 32 random bytes, handed to that client once, and stored
//! only as their SHA-256 [`CapabilityDigest`] on the stream's item. Signing or reading the stream again needs it.
//!
//! Why a random token stored hashed, rather than an HMAC of the stream name under a configured secret:
//! - the server issues it in the same conditional write that makes the first signer the stream's owner, so of two
//!   concurrent first signs only one gets a capability (an HMAC is the same for everyone who asks, so something
//!   would have to decide who may ask anyway);
//! - there is no secret to provision and rotate, whose leak would open every stream, past and future; a read of the
//!   table yields digests, which open nothing;
//! - a capability dies with its stream's item (DynamoDB TTL), and a stream name reused after that gets a new one.
//!
//! A plain SHA-256 is enough for the digest: the token carries 256 bits of entropy, so there is nothing to guess and
//! no need for a salt or a slow hash. Digests are compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of entropy in a capability.
pub const CAPABILITY_BYTES: usize = 32;

/// A capability as a client holds it: 64 lowercase hex digits when issued here, any string when presented (a wrong
/// one matches nothing). Its `Debug` output hides the value, so a capability never reaches a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct StreamCapability(String);

impl StreamCapability {
    /// A new capability from `entropy`, which the caller draws from the operating system's CSPRNG (core does no
    /// I/O).
    pub fn issue(entropy: [u8; CAPABILITY_BYTES]) -> Self {
        Self(hex::encode(entropy))
    }

    /// The capability a client presented.
    pub fn presented(value: &str) -> Self {
        Self(value.to_owned())
    }

    /// The value to hand to the client that was issued it, once; never to a log.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The digest stored in the capability's place.
    pub fn digest(&self) -> CapabilityDigest {
        CapabilityDigest(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl std::fmt::Debug for StreamCapability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamCapability(<redacted>)")
    }
}

/// The SHA-256 digest of a [`StreamCapability`]: what a stream's item stores (as 64 lowercase hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityDigest([u8; 32]);

impl CapabilityDigest {
    /// A stored digest, or `None` if `value` is not 64 hex digits.
    pub fn from_stored(value: &str) -> Option<Self> {
        let mut bytes = [0; 32];
        hex::decode_to_slice(value, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The digest as stored: 64 lowercase hex digits.
    pub fn to_stored(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether `capability` is the one this digest was made from. The comparison takes the same time wherever the
    /// digests differ, so response times say nothing about how close a guess was.
    pub fn matches(&self, capability: &StreamCapability) -> bool {
        capability.digest().0.ct_eq(&self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_capability_matches_its_digest_only() {
        let capability = StreamCapability::issue([0xab; CAPABILITY_BYTES]);
        assert_eq!(capability.reveal(), "ab".repeat(32));
        let digest = capability.digest();
        assert!(digest.matches(&capability));
        assert!(digest.matches(&StreamCapability::presented(capability.reveal())));
        for wrong in [
            StreamCapability::issue([8; CAPABILITY_BYTES]),
            StreamCapability::presented(""),
            StreamCapability::presented(&"ab".repeat(31)),
            StreamCapability::presented(&capability.reveal().to_uppercase()),
        ] {
            assert!(!digest.matches(&wrong));
        }
    }

    #[test]
    fn digests_round_trip_through_their_stored_form() {
        let digest = StreamCapability::issue([1; CAPABILITY_BYTES]).digest();
        let stored = digest.to_stored();
        assert_eq!(stored.len(), 64);
        // The SHA-256 of the capability's text, so a stored digest can be checked by hand.
        assert_eq!(
            stored,
            hex::encode(Sha256::digest("01".repeat(32).as_bytes()))
        );
        assert_eq!(CapabilityDigest::from_stored(&stored), Some(digest));
        for bad in ["", "abc", &"zz".repeat(32), &"00".repeat(33)] {
            assert_eq!(CapabilityDigest::from_stored(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_capability() {
        let capability = StreamCapability::presented("secret-value");
        assert!(!format!("{capability:?}").contains("secret-value"));
    }
}
