//! `vidpipe-compositor` Lambda: reads its configuration (see the README), builds clients once, runs the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vidpipe_compositor::config::Config;
use vidpipe_lambda::diagnostic;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = vidpipe_aws::sdk::load().await?;
    let compositor = vidpipe_compositor::wiring::compositor(config, &sdk)?;
    let compositor = &compositor;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        compositor
            .handle(event.payload)
            .await
            .map_err(|e| diagnostic(&e))
    }))
    .await
}
