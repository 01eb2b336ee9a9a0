//! Builds the API `main` runs from its configuration: the AWS adapters behind its ports.

use std::sync::OnceLock;

use vidpipe_aws::dynamo::{
    DynamoCalls, DynamoPlaybacks, DynamoRecordings, DynamoRenders, DynamoStreams,
};
use vidpipe_aws::mediaconvert::MediaConvertTranscoder;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_aws::secrets::{SecretError, resolve_secret};
use vidpipe_aws::stepfunctions::StepFunctionsRenders;
use vidpipe_core::ports::{
    CancelOutcome, ExecutionError, JobCanceller, RenderExecutions, Started, TranscodeError,
};

use crate::config::Config;
use crate::playback::PlaybackBackends;
use crate::renders::RenderBackends;
use crate::routes::App;
use crate::signing::{PlaybackSigning, SigningError};

/// Why the API could not be built at cold start.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// A signing key could not be read from Secrets Manager.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A signing key is not usable.
    #[error(transparent)]
    Signing(#[from] SigningError),
}

/// The render routes on DynamoDB, Step Functions, S3 and MediaConvert.
pub type LambdaRenders = RenderBackends<
    DynamoRenders,
    OnFirstUse<StepFunctionsRenders>,
    S3RequestStore,
    OnFirstUse<MediaConvertTranscoder>,
>;

/// The playback routes on DynamoDB and S3.
pub type LambdaPlayback = PlaybackBackends<DynamoPlaybacks, S3RequestStore>;

/// The API on S3 and DynamoDB.
pub type LambdaApp =
    App<S3Objects, DynamoRecordings, DynamoStreams, LambdaRenders, LambdaPlayback, DynamoCalls>;

/// The API for `config`, with clients from `sdk`; the playback signing keys are read here, once per cold start,
/// from Secrets Manager when the configuration names them by ARN.
pub async fn app(config: Config, sdk: &aws_config::SdkConfig) -> Result<LambdaApp, WiringError> {
    let play_key = resolve_secret(sdk, &config.playback_key).await?;
    let cdn_key = match &config.cdn {
        Some(cdn) => Some(resolve_secret(sdk, &cdn.private_key).await?),
        None => None,
    };
    let signing = PlaybackSigning::new(&config, play_key, cdn_key)?;
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let s3 = s3::client(sdk, config.s3_force_path_style);
    let (sfn_config, mediaconvert_config) = (sdk.clone(), sdk.clone());
    let machine = config.render_state_machine_arn.clone().unwrap_or_default();
    Ok(App {
        signing,
        objects: S3Objects::new(s3.clone(), &config.bucket),
        recordings: DynamoRecordings::new(ddb.clone(), &config.table),
        streams: DynamoStreams::new(ddb.clone(), &config.table, config.retention_days),
        calls: DynamoCalls::new(ddb.clone(), &config.table),
        playback: PlaybackBackends {
            store: DynamoPlaybacks::new(ddb.clone(), &config.table),
            files: S3RequestStore(s3.clone()),
        },
        renders: RenderBackends {
            store: DynamoRenders::new(ddb, &config.table),
            executions: OnFirstUse::new(move || {
                StepFunctionsRenders::new(aws_sdk_sfn::Client::new(&sfn_config), machine.clone())
            }),
            files: S3RequestStore(s3),
            jobs: OnFirstUse::new(move || {
                MediaConvertTranscoder(aws_sdk_mediaconvert::Client::new(&mediaconvert_config))
            }),
        },
        config,
    })
}

/// A backend built when a request first needs it. Only the render routes use Step Functions and MediaConvert, and
/// creating their two SDK clients (each parses its endpoint partitions) took 0.33 ms of every start-up, measured on
/// the development machine (docs/benchmarks.md).
pub struct OnFirstUse<T> {
    backend: OnceLock<T>,
    build: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> OnFirstUse<T> {
    /// A backend `build` makes on first use.
    pub fn new(build: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            backend: OnceLock::new(),
            build: Box::new(build),
        }
    }

    fn get(&self) -> &T {
        self.backend.get_or_init(&self.build)
    }
}

impl<T: RenderExecutions> RenderExecutions for OnFirstUse<T> {
    fn start(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<Started, ExecutionError>> + Send {
        self.get().start(name, input)
    }

    fn stop(
        &self,
        execution_arn: &str,
        error: &str,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send {
        self.get().stop(execution_arn, error)
    }
}

impl<T: JobCanceller> JobCanceller for OnFirstUse<T> {
    fn cancel_job(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<CancelOutcome, TranscodeError>> + Send {
        self.get().cancel_job(job_id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Cancels;

    impl JobCanceller for Cancels {
        async fn cancel_job(&self, _: &str) -> Result<CancelOutcome, TranscodeError> {
            Ok(CancelOutcome::Canceled)
        }
    }

    #[tokio::test]
    async fn a_backend_on_first_use_is_built_by_the_first_call_and_only_once() {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = built.clone();
        let jobs = OnFirstUse::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Cancels
        });
        assert_eq!(
            built.load(Ordering::SeqCst),
            0,
            "nothing built before a call"
        );
        for _ in 0..2 {
            assert!(matches!(
                jobs.cancel_job("job").await,
                Ok(CancelOutcome::Canceled)
            ));
        }
        assert_eq!(built.load(Ordering::SeqCst), 1);
    }
}
