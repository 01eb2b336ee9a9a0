//! `vidpipe-job-builder` Lambda: reads its configuration, builds clients once, runs the handler.
//!
//! Environment: `MEDIACONVERT_ROLE_ARN` (required), `MEDIACONVERT_QUEUE_ARN` (optional, Default queue otherwise).

use lambda_runtime::{Error, service_fn};
use vidpipe_core::job::JobContext;
use vidpipe_job_builder::{S3RequestStore, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let context = JobContext {
        role: std::env::var("MEDIACONVERT_ROLE_ARN")
            .map_err(|_| "MEDIACONVERT_ROLE_ARN is not set")?,
        queue: std::env::var("MEDIACONVERT_QUEUE_ARN")
            .ok()
            .filter(|q| !q.is_empty()),
    };
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = S3RequestStore(aws_sdk_s3::Client::new(&config));
    lambda_runtime::run(service_fn(|event| handle(event, &context, &store))).await
}
