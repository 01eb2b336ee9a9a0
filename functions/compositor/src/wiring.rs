//! Builds the compositor `main` runs from its configuration: the AWS adapters behind the ports, and the backends the
//! configuration chooses (the local ones only in builds with the `local` feature).

use std::sync::Arc;

use vidpipe_aws::dynamo::{
    DynamoCalls, DynamoCanceledJobs, DynamoPlaybacks, DynamoRecordings, DynamoStreams,
};
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::lambda::LambdaTranscoder;
use vidpipe_aws::mediaconvert::MediaConvertTranscoder;
use vidpipe_aws::publisher::EventBridgePublisher;
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_aws::stepfunctions::{StepFunctionsRenders, StepFunctionsTimer};
use vidpipe_core::job::{CreateJobRequest, JobKind, METADATA_KIND, MediaInfo};
use vidpipe_core::ports::{CancelOutcome, PartnerTimer, TimerError, TranscodeError, Transcoder};
use vidpipe_core::s3uri::S3Uri;

use crate::config::{Config, TimerBackendKind, TranscoderBackendKind};
use crate::handler::{Compositor, system_now};
#[cfg(feature = "local")]
use crate::local::{EngineTranscoder, LocalTimer};

/// The compositor on AWS's services, with the backends its configuration chose.
pub type LambdaCompositor = Compositor<
    DynamoStreams,
    DynamoRecordings,
    S3Objects,
    Transcoders,
    EventBridgePublisher,
    TimerBackend,
    DynamoPlaybacks,
    DynamoCalls,
>;

/// Why the compositor could not be built: only the local timer's definition can fail to load.
#[cfg(feature = "local")]
pub type WiringError = crate::local::LocalTimerError;
/// Why the compositor could not be built: nothing can fail without the local backends.
#[cfg(not(feature = "local"))]
pub type WiringError = std::convert::Infallible;

/// The transcoder `MEDIACONVERT_BACKEND` chose.
pub enum TranscoderBackend {
    /// AWS Elemental MediaConvert.
    MediaConvert(MediaConvertTranscoder),
    /// The ffmpeg backend on Lambda.
    Lambda(LambdaTranscoder),
    /// vidpipe-engine in this process.
    #[cfg(feature = "local")]
    Engine(EngineTranscoder),
}

impl Transcoder for TranscoderBackend {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, TranscodeError> {
        match self {
            Self::MediaConvert(mediaconvert) => mediaconvert.probe(uri).await,
            Self::Lambda(lambda) => lambda.probe(uri).await,
            #[cfg(feature = "local")]
            Self::Engine(engine) => engine.probe(uri).await,
        }
    }

    async fn create_job(&self, job: &CreateJobRequest) -> Result<String, TranscodeError> {
        match self {
            Self::MediaConvert(mediaconvert) => mediaconvert.create_job(job).await,
            Self::Lambda(lambda) => lambda.create_job(job).await,
            #[cfg(feature = "local")]
            Self::Engine(engine) => engine.create_job(job).await,
        }
    }

    async fn find_job(
        &self,
        stream: &str,
        generation: u64,
        created_after_ms: u64,
    ) -> Result<Option<String>, TranscodeError> {
        match self {
            Self::MediaConvert(mediaconvert) => {
                mediaconvert
                    .find_job(stream, generation, created_after_ms)
                    .await
            }
            Self::Lambda(lambda) => lambda.find_job(stream, generation, created_after_ms).await,
            #[cfg(feature = "local")]
            Self::Engine(engine) => engine.find_job(stream, generation, created_after_ms).await,
        }
    }

    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        match self {
            Self::MediaConvert(mediaconvert) => mediaconvert.cancel_job(job_id).await,
            Self::Lambda(lambda) => lambda.cancel_job(job_id).await,
            #[cfg(feature = "local")]
            Self::Engine(engine) => engine.cancel_job(job_id).await,
        }
    }
}

/// The transcoders `MEDIACONVERT_BACKEND` and `PLAYBACK_BACKEND` chose: a playback package's job goes to the
/// second when it differs (its `UserMetadata` kind is `playback`); every other job (composites, single-source jobs,
/// call previews), the probes, and finding and canceling a stream's job, to the first.
pub struct Transcoders {
    /// `MEDIACONVERT_BACKEND`'s.
    pub jobs: TranscoderBackend,
    /// `PLAYBACK_BACKEND`'s, when it is another.
    pub playback: Option<TranscoderBackend>,
}

impl Transcoders {
    /// The backend that runs `job`.
    fn running(&self, job: &CreateJobRequest) -> &TranscoderBackend {
        let kind = job
            .user_metadata
            .as_ref()
            .and_then(|m| m.get(METADATA_KIND));
        match &self.playback {
            Some(playback) if kind.map(String::as_str) == Some(JobKind::Playback.as_str()) => {
                playback
            }
            _ => &self.jobs,
        }
    }
}

// `probe` and `create_job` boxed: one more layer of those backends' futures passes the compiler's layout depth
// limit in `main`'s.
impl Transcoder for Transcoders {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, TranscodeError> {
        Box::pin(self.jobs.probe(uri)).await
    }

    async fn create_job(&self, job: &CreateJobRequest) -> Result<String, TranscodeError> {
        Box::pin(self.running(job).create_job(job)).await
    }

    async fn find_job(
        &self,
        stream: &str,
        generation: u64,
        created_after_ms: u64,
    ) -> Result<Option<String>, TranscodeError> {
        self.jobs
            .find_job(stream, generation, created_after_ms)
            .await
    }

    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        self.jobs.cancel_job(job_id).await
    }
}

/// The partner timer `PARTNER_TIMER` chose.
pub enum TimerBackend {
    /// An execution of the partner-timeout state machine on AWS Step Functions.
    StepFunctions(StepFunctionsTimer),
    /// The same definition in this process.
    #[cfg(feature = "local")]
    Local(LocalTimer),
}

impl PartnerTimer for TimerBackend {
    async fn start(
        &self,
        stream: &str,
        instance: &str,
        wait: std::time::Duration,
    ) -> Result<(), TimerError> {
        match self {
            Self::StepFunctions(step_functions) => {
                step_functions.start(stream, instance, wait).await
            }
            #[cfg(feature = "local")]
            Self::Local(local) => local.start(stream, instance, wait).await,
        }
    }
}

/// The compositor for `config`, with clients from `sdk`.
pub fn compositor(
    config: Config,
    sdk: &aws_config::SdkConfig,
) -> Result<Arc<LambdaCompositor>, WiringError> {
    let s3 = s3::client(sdk, config.s3_force_path_style);
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let bus = EventBus::new(aws_sdk_eventbridge::Client::new(sdk), &config.event_bus);
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let backend = |kind| match kind {
        TranscoderBackendKind::MediaConvert => TranscoderBackend::MediaConvert(
            MediaConvertTranscoder(aws_sdk_mediaconvert::Client::new(sdk)),
        ),
        TranscoderBackendKind::Lambda => {
            let lambda = LambdaTranscoder::new(
                aws_sdk_lambda::Client::new(sdk),
                config.transcoder_function.clone().unwrap_or_default(),
            )
            .with_cancel_marks(DynamoCanceledJobs::new(ddb.clone(), &config.table));
            TranscoderBackend::Lambda(match &config.transcode_state_machine_arn {
                Some(machine) => lambda
                    .with_chunked_jobs(StepFunctionsRenders::new(sfn.clone(), machine.clone())),
                None => lambda,
            })
        }
        #[cfg(feature = "local")]
        TranscoderBackendKind::Engine => TranscoderBackend::Engine(EngineTranscoder::new(
            vidpipe_engine::Engine::new(vidpipe_engine::Storage::with_s3(s3.clone()))
                .with_tools(config.engine_tools.clone())
                .with_identity(config.engine_identity.clone()),
            bus.clone(),
        )),
    };
    let transcoder = Transcoders {
        jobs: backend(config.transcoder),
        playback: (config.playback_transcoder != config.transcoder)
            .then(|| backend(config.playback_transcoder)),
    };
    let timer = match config.timer {
        TimerBackendKind::StepFunctions => TimerBackend::StepFunctions(StepFunctionsTimer::new(
            sfn.clone(),
            config.timer_state_machine_arn.clone().unwrap_or_default(),
        )),
        #[cfg(feature = "local")]
        TimerBackendKind::Local => TimerBackend::Local(LocalTimer::new()?),
    };
    // The notifier's publisher, on the bus only: webhooks are the notifier's (`WEBHOOK_URL`); adding them here is
    // `with_webhook` on this value.
    let publisher = EventBridgePublisher::new(bus);
    let compositor = Arc::new(Compositor {
        streams: Arc::new(DynamoStreams::new(
            ddb.clone(),
            &config.table,
            config.retention_days,
        )),
        recordings: Arc::new(DynamoRecordings::new(ddb.clone(), &config.table)),
        playbacks: Arc::new(DynamoPlaybacks::new(ddb.clone(), &config.table)),
        calls: Arc::new(DynamoCalls::new(ddb, &config.table)),
        objects: Arc::new(S3Objects::new(s3, &config.bucket)),
        transcoder: Arc::new(transcoder),
        publisher: Arc::new(publisher),
        timer: Arc::new(timer),
        now_ms: system_now(),
        config,
    });
    #[cfg(feature = "local")]
    if let TimerBackend::Local(local) = compositor.timer.as_ref() {
        local.bind(&compositor);
    }
    Ok(compositor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: &str) -> CreateJobRequest {
        serde_json::from_value(serde_json::json!({
            "Role": "arn:aws:iam::000000000000:role/mc", "Settings": {},
            "UserMetadata": {"kind": kind}}))
        .unwrap()
    }

    #[test]
    fn playback_packages_go_to_their_own_backend_and_everything_else_to_the_first() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let transcoders = Transcoders {
            jobs: TranscoderBackend::Lambda(LambdaTranscoder::new(
                aws_sdk_lambda::Client::new(&sdk),
                "vidpipe-transcoder",
            )),
            playback: Some(TranscoderBackend::MediaConvert(MediaConvertTranscoder(
                aws_sdk_mediaconvert::Client::new(&sdk),
            ))),
        };
        let on_mediaconvert = |kind: &str| {
            matches!(
                transcoders.running(&job(kind)),
                TranscoderBackend::MediaConvert(_)
            )
        };
        assert!(on_mediaconvert("playback"));
        for kind in ["composite", "single", "call_preview", ""] {
            assert!(!on_mediaconvert(kind), "{kind}");
        }
        let same = Transcoders {
            playback: None,
            ..transcoders
        };
        assert!(matches!(
            same.running(&job("playback")),
            TranscoderBackend::Lambda(_)
        ));
    }
}
