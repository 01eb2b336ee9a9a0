//! `vidpipe-chunker` Lambda: reads its configuration, builds the S3 client and the probe backend once, runs the
//! handler.

use lambda_runtime::{Error, service_fn};
use vidpipe_aws::prober::MediaConvertProber;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_chunker::config::{Config, ProbeBackendKind};
use vidpipe_chunker::{ProbeBackend, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let sdk = vidpipe_aws::sdk::load().await?;
    let s3 = vidpipe_aws::s3::client(&sdk, config.s3_force_path_style);
    let prober = match config.probe_backend {
        ProbeBackendKind::MediaConvert => {
            ProbeBackend::MediaConvert(MediaConvertProber(aws_sdk_mediaconvert::Client::new(&sdk)))
        }
        #[cfg(feature = "local")]
        ProbeBackendKind::Engine => {
            let storage = vidpipe_engine::Storage::with_s3(s3.clone());
            let tools = vidpipe_engine::Tools {
                ffmpeg: "ffmpeg".into(),
                ffprobe: config.ffprobe,
            };
            ProbeBackend::Engine(vidpipe_engine::Engine::new(storage).with_tools(tools))
        }
    };
    let store = S3RequestStore(s3);
    let (limits, scope) = (config.limits, config.scope);
    lambda_runtime::run(service_fn(|event| {
        handle(event, &store, &prober, &limits, &scope)
    }))
    .await
}
