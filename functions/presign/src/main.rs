//! `vidpipe-presign` Lambda: reads its configuration, builds clients once, answers each request.

use lambda_http::tower::ServiceBuilder;
use lambda_http::{Adapter, Error, Request, service_fn};
use vidpipe_presign::config::Config;
use vidpipe_presign::event_guard::guard;

// One thread: the function answers one request at a time, and its work is waiting on S3 and DynamoDB. The
// multi-threaded runtime's worker threads, and the cgroup reads that size them, cost 1.7 ms of CPU and 0.7 ms of
// the cold start (docs/benchmarks.md, "Cold start: one thread, credentials from the environment").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = vidpipe_aws::sdk::load().await?;
    let app = vidpipe_presign::wiring::app(config, &sdk).await?;
    let app = &app;
    // lambda_http::run, with each event made safe for lambda_http's conversion first (event_guard).
    let handler = Adapter::from(service_fn(move |request: Request| async move {
        Ok::<_, Error>(app.handle(request).await)
    }));
    lambda_http::lambda_runtime::run(ServiceBuilder::new().map_request(guard).service(handler))
        .await
}
