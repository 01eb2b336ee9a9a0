//! `vidpipe-chunker` Lambda: builds the S3 client once, runs the handler.
//!
//! Environment: `S3_FORCE_PATH_STYLE` (`true` for endpoints such as moto).

use lambda_runtime::{Error, service_fn};
use vidpipe_chunker::{S3RequestStore, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let force_path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
    let store = S3RequestStore(vidpipe_aws::s3::client(&config, force_path_style));
    lambda_runtime::run(service_fn(|event| handle(event, &store))).await
}
