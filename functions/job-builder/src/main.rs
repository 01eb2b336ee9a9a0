//! `vidpipe-job-builder` Lambda: reads its configuration, builds clients once, runs the handler.
//!
//! Environment: `MEDIACONVERT_ROLE_ARN` (required), `MEDIACONVERT_QUEUE_ARN` (optional, Default queue otherwise),
//! `S3_FORCE_PATH_STYLE` (`true` for endpoints such as moto).

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
    let force_path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
    let store = S3RequestStore(vidpipe_aws::s3::client(&config, force_path_style));
    lambda_runtime::run(service_fn(|event| handle(event, &context, &store))).await
}
