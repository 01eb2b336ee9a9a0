//! CloudFront signed URLs, verified as CloudFront verifies them (the policy and signature decoded from its base64,
//! RSA-SHA1 against the public key, the resource and the expiry), and by the OpenSSL command line independently.

use std::path::Path;
use std::process::Command;

use base64::Engine;
use rsa::PublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha1::Sha1;
use vidpipe_aws::cloudfront::{CloudFrontSigner, SignerError, cloudfront_base64};

fn openssl(args: &[&str]) {
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
fn key_pair(dir: &Path) -> (String, String, String) {
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

fn from_cloudfront_base64(text: &str) -> Vec<u8> {
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
fn cloudfront_accepts(
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

#[test]
fn a_signed_policy_covers_every_file_of_the_package_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (pkcs1, pkcs8, public) = key_pair(dir.path());
    let prefix = "https://d111111abcdef8.cloudfront.net/streams/s-42_composited/playback/";
    let expires = 1_900_000_300;
    for pem in [&pkcs1, &pkcs8] {
        let signer = CloudFrontSigner::from_pem("K2JCJMDEHXQW5F", pem).unwrap();
        let signed = signer.sign(&format!("{prefix}*"), expires);
        // One authorization, every segment of the playlist.
        for file in [
            "index.m3u8",
            "index_720p_00001.cmfv",
            "thumbs/thumb.0000000.jpg",
        ] {
            let url = signed.url(&format!("{prefix}{file}"));
            assert_eq!(
                cloudfront_accepts(&url, &public, "K2JCJMDEHXQW5F", expires - 1),
                Ok(()),
                "{url}"
            );
        }
        let url = signed.url(&format!("{prefix}index.m3u8"));
        assert_eq!(
            cloudfront_accepts(&url, &public, "K2JCJMDEHXQW5F", expires),
            Err("expired".into())
        );
        let other = signed.url(
            "https://d111111abcdef8.cloudfront.net/streams/s-43_composited/playback/index.m3u8",
        );
        assert!(cloudfront_accepts(&other, &public, "K2JCJMDEHXQW5F", 0).is_err());
        // A policy changed in transit (a later expiry) no longer matches its signature.
        let forged = url.replace(
            &signed.policy,
            &cloudfront_base64(
                vidpipe_aws::cloudfront::custom_policy(&format!("{prefix}*"), expires + 3600)
                    .as_bytes(),
            ),
        );
        assert_eq!(
            cloudfront_accepts(&forged, &public, "K2JCJMDEHXQW5F", 0),
            Err("signature does not match the policy".into())
        );
        assert_eq!(
            signed.cookies().map(|(name, _)| name),
            [
                "CloudFront-Policy",
                "CloudFront-Signature",
                "CloudFront-Key-Pair-Id"
            ]
        );
        // OpenSSL agrees: RSA-SHA1 over the policy's bytes.
        let policy_file = dir.path().join("policy.json");
        let signature_file = dir.path().join("signature.bin");
        std::fs::write(&policy_file, from_cloudfront_base64(&signed.policy)).unwrap();
        std::fs::write(&signature_file, from_cloudfront_base64(&signed.signature)).unwrap();
        openssl(&[
            "dgst",
            "-sha1",
            "-verify",
            &dir.path().join("public.pem").display().to_string(),
            "-signature",
            &signature_file.display().to_string(),
            &policy_file.display().to_string(),
        ]);
    }
}

#[test]
fn cloudfront_base64_replaces_the_three_characters_and_bad_keys_are_refused() {
    assert_eq!(cloudfront_base64(&[0xfb, 0xff, 0xfe]), "-~~-");
    assert_eq!(cloudfront_base64(b"a"), "YQ__");
    assert!(matches!(
        CloudFrontSigner::from_pem("K2JCJMDEHXQW5F", "not a key"),
        Err(SignerError::InvalidKey)
    ));
    assert!(matches!(
        CloudFrontSigner::from_pem("", "not a key"),
        Err(SignerError::InvalidKeyPairId(_))
    ));
}
