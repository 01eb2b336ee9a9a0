//! `vidpipe-presign` Lambda: reads its configuration, builds clients once, answers each request.

use lambda_http::tower::ServiceBuilder;
use lambda_http::{Adapter, Error, Request, service_fn};
use vidpipe_presign::config::Config;
use vidpipe_presign::event_guard::guard;

#[tokio::main]
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
