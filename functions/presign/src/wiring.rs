//! Builds the API `main` runs from its configuration: the AWS adapters behind its ports.

use vidpipe_aws::dynamo::{DynamoRecordings, DynamoStreams};
use vidpipe_aws::s3::{self, S3Objects};

use crate::config::Config;
use crate::routes::App;

/// The API on S3 and DynamoDB.
pub type LambdaApp = App<S3Objects, DynamoRecordings, DynamoStreams>;

/// The API for `config`, with clients from `sdk`.
pub fn app(config: Config, sdk: &aws_config::SdkConfig) -> LambdaApp {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    App {
        objects: S3Objects::new(s3::client(sdk, config.s3_force_path_style), &config.bucket),
        recordings: DynamoRecordings::new(ddb.clone(), &config.table),
        streams: DynamoStreams::new(ddb, &config.table, config.retention_days),
        config,
    }
}
