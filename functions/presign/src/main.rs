use lambda_http::{Error, Request, service_fn};
use vidpipe_aws::recordings::RecordingTable;
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_aws::streams::StatusTable;
use vidpipe_presign::{App, config::Config};

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} must be set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_from_env().await;
    let table = required("TABLE_NAME")?;
    let force_path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
    let app = App {
        config,
        objects: S3Objects::new(s3::client(&sdk, force_path_style), required("BUCKET")?),
        recordings: RecordingTable::new(aws_sdk_dynamodb::Client::new(&sdk), &table),
        streams: StatusTable::new(aws_sdk_dynamodb::Client::new(&sdk), &table),
    };
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(app.handle(request).await)
    }))
    .await
}
