//! Builds the API `main` runs from its configuration: the AWS adapters behind its ports.

use vidpipe_aws::dynamo::{
    DynamoCalls, DynamoPlaybacks, DynamoRecordings, DynamoRenders, DynamoStreams,
};
use vidpipe_aws::mediaconvert::MediaConvertTranscoder;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_aws::stepfunctions::StepFunctionsRenders;

use crate::config::Config;
use crate::playback::PlaybackBackends;
use crate::renders::RenderBackends;
use crate::routes::App;

/// The render routes on DynamoDB, Step Functions, S3 and MediaConvert.
pub type LambdaRenders =
    RenderBackends<DynamoRenders, StepFunctionsRenders, S3RequestStore, MediaConvertTranscoder>;

/// The playback routes on DynamoDB and S3.
pub type LambdaPlayback = PlaybackBackends<DynamoPlaybacks, S3RequestStore>;

/// The API on S3 and DynamoDB.
pub type LambdaApp =
    App<S3Objects, DynamoRecordings, DynamoStreams, LambdaRenders, LambdaPlayback, DynamoCalls>;

/// The API for `config`, with clients from `sdk`.
pub fn app(config: Config, sdk: &aws_config::SdkConfig) -> LambdaApp {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let s3 = s3::client(sdk, config.s3_force_path_style);
    App {
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
    }
}
