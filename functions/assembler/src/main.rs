//! `vidpipe-assembler` Lambda: builds the S3 client once, runs the handler.
//!
//! Environment: `FFMPEG_PATH` / `FFPROBE_PATH` (the ffmpeg layer's binaries; default `ffmpeg` / `ffprobe` on
//! `PATH`), `S3_FORCE_PATH_STYLE` (`true` for endpoints such as moto). Work files go to the temporary folder
//! (`/tmp` in Lambda: size its ephemeral storage for the chunks plus the joined video).

use lambda_runtime::{Error, service_fn};
use vidpipe_engine::{Assembler, Storage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let force_path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
    let assembler = Assembler::from_env(
        Storage::with_s3(vidpipe_aws::s3::client(&config, force_path_style)),
        |name| std::env::var(name).ok(),
    );
    let assembler = &assembler;
    lambda_runtime::run(service_fn(move |event| {
        vidpipe_assembler::handle(event, assembler)
    }))
    .await
}
