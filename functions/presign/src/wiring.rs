//! Builds the API `main` runs from its configuration: the AWS adapters behind its ports.

use vidpipe_aws::dynamo::{
    DynamoCalls, DynamoPlaybacks, DynamoRecordings, DynamoRenders, DynamoStreams,
};
use vidpipe_aws::mediaconvert::MediaConvertTranscoder;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_aws::secrets::{SecretError, resolve_secret};
use vidpipe_aws::stepfunctions::StepFunctionsRenders;

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
pub type LambdaRenders =
    RenderBackends<DynamoRenders, StepFunctionsRenders, S3RequestStore, MediaConvertTranscoder>;

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
            executions: StepFunctionsRenders::new(
                aws_sdk_sfn::Client::new(sdk),
                config.render_state_machine_arn.clone().unwrap_or_default(),
            ),
            files: S3RequestStore(s3),
            jobs: MediaConvertTranscoder(aws_sdk_mediaconvert::Client::new(sdk)),
        },
        config,
    })
}
