//! CloudFront's side of signed URLs, for tests: test key pairs made by the OpenSSL command line, and the check
//! CloudFront makes before serving a signed URL (the policy and signature decoded from its base64, RSA-SHA1 against
//! the public key, the resource and the expiry).

use std::path::Path;
use std::process::Command;

use base64::Engine;
use rsa::PublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha1::Sha1;

/// Runs the `openssl` command line with `args`; a failure (or no openssl) fails the test with its output.
pub fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command line (Debian package openssl) is needed to make test keys");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh 2048-bit key pair (the size CloudFront requires): PKCS#1 private PEM, PKCS#8 private PEM, public PEM.
pub fn key_pair(dir: &Path) -> (String, String, String) {
    let p = |name: &str| dir.join(name).display().to_string();
    openssl(&["genrsa", "-traditional", "-out", &p("pkcs1.pem"), "2048"]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        &p("pkcs1.pem"),
        "-out",
        &p("pkcs8.pem"),
    ]);
    openssl(&[
        "rsa",
        "-in",
        &p("pkcs1.pem"),
        "-pubout",
        "-out",
        &p("public.pem"),
    ]);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    (read("pkcs1.pem"), read("pkcs8.pem"), read("public.pem"))
}

/// `text` decoded from CloudFront's URL-safe base64.
pub fn from_cloudfront_base64(text: &str) -> Vec<u8> {
    let standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            other => other,
        })
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(standard)
        .expect("CloudFront base64")
}

/// `*` matches any run of characters, as in a policy's `Resource`.
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (head.len()..=text.len()).any(|i| wildcard_matches(rest, &text[i..]))
        }
    }
}

/// What CloudFront checks before serving `url`: the signature over the policy with the key pair's public key, the
/// policy's resource against the URL, and its expiry against `now`.
pub fn cloudfront_accepts(
    url: &str,
    public_pem: &str,
    key_pair_id: &str,
    now: u64,
) -> Result<(), String> {
    let (base, query) = url.split_once('?').ok_or("no query")?;
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .ok_or(format!("no {name}"))
    };
    if param("Key-Pair-Id")? != key_pair_id {
        return Err("unknown key pair".into());
    }
    let policy = from_cloudfront_base64(param("Policy")?);
    let signature = Signature::try_from(from_cloudfront_base64(param("Signature")?).as_slice())
        .map_err(|e| e.to_string())?;
    let key = VerifyingKey::<Sha1>::new(PublicKey::from_public_key_pem(public_pem).unwrap());
    key.verify(&policy, &signature)
        .map_err(|_| "signature does not match the policy".to_string())?;
    let policy: serde_json::Value = serde_json::from_slice(&policy).map_err(|e| e.to_string())?;
    let statement = &policy["Statement"][0];
    let resource = statement["Resource"].as_str().ok_or("no resource")?;
    if !wildcard_matches(resource, base) {
        return Err(format!("{base} is not covered by {resource}"));
    }
    let expires = statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
        .as_u64()
        .ok_or("no expiry")?;
    if now >= expires {
        return Err("expired".into());
    }
    Ok(())
}
