//! Builds the transcoder `main` runs from its configuration: the engine on S3, the bus on EventBridge.

use vidpipe_aws::eventbridge::EventBus;
use vidpipe_engine::{Engine, Storage};

use crate::Transcoder;
use crate::config::Config;

/// The transcoder for `config`, with clients from `sdk`.
pub fn transcoder(config: Config, sdk: &aws_config::SdkConfig) -> Transcoder {
    let s3 = vidpipe_aws::s3::client(sdk, config.s3_force_path_style);
    Transcoder {
        engine: Engine::new(Storage::with_s3(s3.clone()))
            .with_tools(config.tools)
            .with_identity(config.identity),
        bus: EventBus::new(aws_sdk_eventbridge::Client::new(sdk), config.event_bus),
        documents: vidpipe_aws::requests::S3RequestStore(s3.clone()),
        memory_mb: config.memory_mb,
    }
}
