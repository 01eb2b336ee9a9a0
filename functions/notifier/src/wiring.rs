//! Builds the notifier `main` runs (and `vidpipe render` runs in-process) from its configuration: the AWS adapters
//! behind its ports.

use vidpipe_aws::dynamo::{
    DynamoCalls, DynamoPlaybacks, DynamoProcessedEvents, DynamoRenders, DynamoStreams,
};
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::publisher::EventBridgePublisher;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_aws::secrets::{SecretError, resolve_secret};
use vidpipe_aws::webhook::WebhookError;

use crate::config::{Config, ConfigError};
use crate::handler::Notifier;

/// Why the notifier could not be built at cold start.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The webhook's signing secret could not be read from Secrets Manager.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The secret's value is not a usable key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The webhook sender could not be built.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
}

/// The notifier on DynamoDB, EventBridge and (optionally) a webhook.
pub type LambdaNotifier = Notifier<
    DynamoStreams,
    DynamoRenders,
    DynamoProcessedEvents,
    EventBridgePublisher,
    DynamoPlaybacks,
    S3RequestStore,
    DynamoCalls,
>;

/// The notifier for `config`, with clients from `sdk`; the webhook's key is read here, once per cold start, from
/// Secrets Manager when the configuration names it by ARN.
pub async fn notifier(
    config: Config,
    sdk: &aws_config::SdkConfig,
) -> Result<LambdaNotifier, WiringError> {
    let mut publisher = EventBridgePublisher::new(EventBus::new(
        aws_sdk_eventbridge::Client::new(sdk),
        &config.event_bus,
    ));
    if let Some(webhook) = config.webhook {
        let key = resolve_secret(sdk, &webhook.secret).await?;
        let webhook = webhook.with_key(key)?;
        publisher = publisher.with_webhook(webhook, aws_sdk_sqs::Client::new(sdk))?;
    }
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    Ok(Notifier {
        streams: DynamoStreams::new(ddb.clone(), &config.table, config.retention_days),
        renders: DynamoRenders::new(ddb.clone(), &config.table),
        events: DynamoProcessedEvents::new(ddb.clone(), &config.table),
        playbacks: DynamoPlaybacks::new(ddb.clone(), &config.table),
        calls: DynamoCalls::new(ddb, &config.table),
        files: S3RequestStore(vidpipe_aws::s3::client(sdk, config.s3_force_path_style)),
        publisher,
        retention_days: config.retention_days,
    })
}
