//! `vidpipe-transcoder` Lambda: reads its configuration (see the README), builds the engine and the bus once, runs
//! the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vidpipe_lambda::diagnostic;
use vidpipe_transcoder::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = vidpipe_aws::sdk::load().await?;
    let transcoder = vidpipe_transcoder::wiring::transcoder(config, &sdk);
    let transcoder = &transcoder;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = vidpipe_transcoder::job_deadline(event.context.deadline);
        transcoder
            .handle(event.payload, deadline)
            .await
            .map_err(|e| diagnostic(&e))
    }))
    .await
}
