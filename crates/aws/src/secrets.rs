//! Secrets Manager: a secret's value, read once at a function's cold start (the webhook and playback signing keys), so that no
//! secret sits in a function's configuration in plain text.

use vidpipe_core::config::SecretSource;
use vidpipe_core::error::Cause;

/// Why a secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager refused or failed the read (no such secret, no permission, unreachable).
    #[error("secret {arn} could not be read")]
    Unreadable {
        /// The secret asked for.
        arn: String,
        /// The SDK's error.
        #[source]
        cause: Cause,
    },
    /// The secret holds neither a string nor binary value (a version without a value).
    #[error("secret {arn} has no value")]
    Empty {
        /// The secret asked for.
        arn: String,
    },
}

/// The current value of the secret `arn` (an ARN or a name): its string, or its binary, as bytes.
pub async fn secret_value(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<Vec<u8>, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| SecretError::Unreadable {
            arn: arn.to_owned(),
            cause: Box::new(e),
        })?;
    if let Some(text) = output.secret_string {
        return Ok(text.into_bytes());
    }
    output
        .secret_binary
        .map(|blob| blob.into_inner())
        .ok_or_else(|| SecretError::Empty {
            arn: arn.to_owned(),
        })
}

/// The key `source` gives: read from Secrets Manager with a client from `sdk`, or the value itself.
pub async fn resolve_secret(
    sdk: &aws_config::SdkConfig,
    source: &SecretSource,
) -> Result<Vec<u8>, SecretError> {
    match source {
        SecretSource::SecretsManager(arn) => {
            secret_value(&aws_sdk_secretsmanager::Client::new(sdk), arn).await
        }
        SecretSource::Value(key) => Ok(key.clone()),
    }
}
