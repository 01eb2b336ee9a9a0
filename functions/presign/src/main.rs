//! `vidpipe-presign` Lambda: reads its configuration, builds clients once, answers each request.

use lambda_http::{Error, Request, service_fn};
use vidpipe_presign::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let app = vidpipe_presign::wiring::app(config, &sdk);
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(app.handle(request).await)
    }))
    .await
}
