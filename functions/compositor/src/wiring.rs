//! Builds a [`Compositor`] from its configuration: the AWS adapters behind the ports, and the backends the
//! configuration chooses. `main` uses it once per cold start.

use std::sync::Arc;

use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::recordings::RecordingTable;
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_aws::streams::StreamTable;
use vidpipe_engine::{Engine, Storage};

use crate::config::{Config, TimerBackend, TranscoderBackend};
use crate::handler::{Compositor, system_clock};
use crate::ports::{PartnerTimer, Publisher, Transcoder};
use crate::timer::{LocalTimer, LocalTimerError, StepFunctionsTimer};
use crate::transcoder::{EngineTranscoder, MediaConvertTranscoder};

/// The compositor for `config`, with clients from `sdk`.
pub fn compositor(
    config: Config,
    sdk: &aws_config::SdkConfig,
) -> Result<Arc<Compositor>, LocalTimerError> {
    let s3 = s3::client(sdk, config.s3_force_path_style);
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let bus = EventBus::new(aws_sdk_eventbridge::Client::new(sdk), &config.event_bus);
    let transcoder: Arc<dyn Transcoder> = match config.transcoder {
        TranscoderBackend::MediaConvert => Arc::new(MediaConvertTranscoder(
            aws_sdk_mediaconvert::Client::new(sdk),
        )),
        TranscoderBackend::Engine => Arc::new(EngineTranscoder::new(
            Engine::from_env(Storage::with_s3(s3.clone()), |name| {
                std::env::var(name).ok()
            }),
            bus.clone(),
        )),
    };
    let local_timer = match config.timer {
        TimerBackend::Local => Some(LocalTimer::new()?),
        TimerBackend::StepFunctions => None,
    };
    let timer: Arc<dyn PartnerTimer> = match (&local_timer, &config.timer_state_machine_arn) {
        (Some(local), _) => Arc::new(local.clone()),
        (None, arn) => Arc::new(StepFunctionsTimer::new(
            aws_sdk_sfn::Client::new(sdk),
            arn.clone().unwrap_or_default(),
        )),
    };
    // The notifier's publisher, on the bus only: webhooks are the notifier's (`WEBHOOK_URL`); adding them here is
    // `with_webhook` on this value.
    let publisher: Arc<dyn Publisher> = Arc::new(vidpipe_aws::notify::Publisher::new(bus));
    let compositor = Arc::new(Compositor {
        streams: Arc::new(StreamTable::new(
            ddb.clone(),
            &config.table,
            config.retention_days,
        )),
        recordings: Arc::new(RecordingTable::new(ddb, &config.table)),
        objects: Arc::new(S3Objects::new(s3, &config.bucket)),
        transcoder,
        publisher,
        timer,
        clock: system_clock(),
        config,
    });
    if let Some(local) = local_timer {
        local.bind(&compositor);
    }
    Ok(compositor)
}
