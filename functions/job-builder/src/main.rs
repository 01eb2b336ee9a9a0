//! `vidpipe-job-builder` Lambda: reads its configuration, builds the S3 client once, runs the handler.

use lambda_runtime::{Error, service_fn};
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_job_builder::config::Config;
use vidpipe_job_builder::handle;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = vidpipe_aws::sdk::load().await?;
    let store = S3RequestStore(vidpipe_aws::s3::client(&sdk, config.s3_force_path_style));
    let context = &config.job_context;
    lambda_runtime::run(service_fn(|event| handle(event, context, &store))).await
}
