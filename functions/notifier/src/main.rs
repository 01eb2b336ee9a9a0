//! `vidpipe-notifier` Lambda: reads its configuration, builds clients once, runs the handler.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::notify::Publisher;
use vidpipe_aws::streams::StatusTable;
use vidpipe_notifier::Notifier;
use vidpipe_notifier::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut publisher = Publisher::new(EventBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        &config.event_bus,
    ));
    if let Some(webhook) = config.webhook {
        publisher = publisher.with_webhook(webhook, aws_sdk_sqs::Client::new(&sdk))?;
    }
    let notifier = Notifier {
        store: StatusTable::new(aws_sdk_dynamodb::Client::new(&sdk), config.table),
        publisher,
        retention_days: config.retention_days,
    };
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        notifier
            .handle(event.payload)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
