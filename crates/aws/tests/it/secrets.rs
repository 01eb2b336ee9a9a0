//! The Secrets Manager read against a real moto server: string and binary secrets, and a missing one named.

use aws_smithy_types::Blob;
use vidpipe_aws::secrets::{SecretError, secret_value};
use vidpipe_testkit::{moto::MotoServer, unique_name};

#[tokio::test]
async fn a_secret_is_read_as_its_string_or_its_binary_and_a_missing_one_is_named() {
    let client = aws_sdk_secretsmanager::Client::new(&MotoServer::shared().sdk_config().await);
    let text = client
        .create_secret()
        .name(unique_name("webhook"))
        .secret_string("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    assert_eq!(
        secret_value(&client, &text).await.unwrap(),
        b"0123456789abcdef0123456789abcdef"
    );
    let binary = client
        .create_secret()
        .name(unique_name("key"))
        .secret_binary(Blob::new(vec![0u8, 1, 2, 255]))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    assert_eq!(
        secret_value(&client, &binary).await.unwrap(),
        vec![0u8, 1, 2, 255]
    );
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf";
    match secret_value(&client, missing).await {
        Err(error @ SecretError::Unreadable { .. }) => {
            let shown = vidpipe_core::error::Chain(&error).to_string();
            assert!(shown.contains(missing), "{shown}");
            assert!(shown.contains("ResourceNotFound"), "{shown}");
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
}
