//! CloudFront signed URLs, verified as CloudFront verifies them (the policy and signature decoded from its base64,
//! RSA-SHA1 against the public key, the resource and the expiry), and by the OpenSSL command line independently.

use vidpipe_aws::cloudfront::{CloudFrontSigner, SignerError, cloudfront_base64};
use vidpipe_testkit::cloudfront::{cloudfront_accepts, from_cloudfront_base64, key_pair, openssl};

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
