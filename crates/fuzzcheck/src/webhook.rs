//! Webhook signatures: `Vidpipe-Signature: t=...,v1=...`, HMAC-SHA256 over `{timestamp}.{body}`.

use vidpipe_core::webhook::{SignatureError, signature_header, verify};

/// When the checks verify ("now", epoch seconds) and how far a timestamp may be from it.
const NOW: u64 = 1_795_194_000;
const TOLERANCE: u64 = 300;

/// Checks signing and verification. The input is `{n}{secret: n bytes}{header}\n{body}` (n is one byte, taken
/// modulo 65): verifying the fuzzed header never panics and accepts it only for this body; a signature made for the
/// body verifies, and fails for another body, another secret and a timestamp outside the tolerance.
pub fn webhook_signature(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (secret, rest) = rest.split_at((usize::from(n) % 65).min(rest.len()));
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    let other_body = [body, b"!"].concat();
    if verify(secret, &header, body, NOW, TOLERANCE).is_ok() {
        assert_eq!(
            verify(secret, &header, &other_body, NOW, TOLERANCE),
            Err(SignatureError::Mismatch),
            "{header:?} verifies for two bodies"
        );
    }

    let signed = signature_header(secret, NOW, body);
    assert_eq!(verify(secret, &signed, body, NOW, 0), Ok(()));
    assert_eq!(
        verify(secret, &signed, &other_body, NOW, TOLERANCE),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(&other_secret(secret), &signed, body, NOW, TOLERANCE),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(secret, &signed, body, NOW + TOLERANCE + 1, TOLERANCE),
        Err(SignatureError::Expired)
    );
    assert_eq!(
        verify(secret, &signed, body, NOW - TOLERANCE - 1, TOLERANCE),
        Err(SignatureError::Expired)
    );
}

/// A secret that signs differently. HMAC pads short keys with zero bytes, so `secret` followed by zeros would sign
/// the same: the first byte is changed instead.
fn other_secret(secret: &[u8]) -> Vec<u8> {
    match secret.split_first() {
        Some((first, rest)) => [&[first ^ 1][..], rest].concat(),
        None => vec![1],
    }
}
