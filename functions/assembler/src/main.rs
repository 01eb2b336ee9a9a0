//! `vidpipe-assembler` Lambda: reads its configuration, builds the S3 client and the assembler once, runs the
//! handler.

use lambda_runtime::{Error, service_fn};
use vidpipe_assembler::config::Config;
use vidpipe_engine::{Assembler, Storage, Tools};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = vidpipe_aws::sdk::load().await?;
    let s3 = vidpipe_aws::s3::client(&sdk, config.s3_force_path_style);
    let assembler = Assembler::new(Storage::with_s3(s3)).with_tools(Tools {
        ffmpeg: config.ffmpeg,
        ffprobe: config.ffprobe,
    });
    let assembler = &assembler;
    lambda_runtime::run(service_fn(move |event| {
        vidpipe_assembler::handle(event, assembler)
    }))
    .await
}
