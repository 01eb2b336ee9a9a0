//! `vidpipe-chunker` Lambda: builds the S3 client and the probe backend once, runs the handler.
//!
//! Environment: `S3_FORCE_PATH_STYLE` (`true` for endpoints such as moto); `MEDIACONVERT_BACKEND`
//! (`mediaconvert`, the default: videos are probed with MediaConvert's `Probe`; `engine`: with ffprobe in this
//! process, `FFPROBE_PATH` or `ffprobe` on `PATH`).

use lambda_runtime::{Error, service_fn};
use vidpipe_chunker::{ProbeBackend, S3RequestStore, handle};
use vidpipe_engine::{Engine, Storage};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let force_path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
    let s3 = vidpipe_aws::s3::client(&config, force_path_style);
    let prober = match std::env::var("MEDIACONVERT_BACKEND").ok().as_deref() {
        None | Some("mediaconvert") => {
            ProbeBackend::MediaConvert(aws_sdk_mediaconvert::Client::new(&config))
        }
        Some("engine") => {
            ProbeBackend::Engine(Engine::from_env(Storage::with_s3(s3.clone()), |name| {
                std::env::var(name).ok()
            }))
        }
        Some(other) => {
            return Err(format!(
                "MEDIACONVERT_BACKEND must be mediaconvert or engine, not {other:?}"
            )
            .into());
        }
    };
    let store = S3RequestStore(s3);
    lambda_runtime::run(service_fn(|event| handle(event, &store, &prober))).await
}
