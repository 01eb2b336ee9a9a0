//! `vidpipe-notifier` Lambda: reads its configuration, builds clients once, runs the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vidpipe_lambda::diagnostic;
use vidpipe_notifier::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = vidpipe_aws::sdk::load().await?;
    let notifier = vidpipe_notifier::wiring::notifier(config, &sdk).await?;
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        notifier
            .handle(event.payload)
            .await
            .map_err(|e| diagnostic(&e))
    }))
    .await
}
