//! Builds the transcoder `main` runs from its configuration: the engine and the assembler on S3, the bus on
//! EventBridge, the transcode state machine on Step Functions, the cancel marks on DynamoDB.

use vidpipe_aws::dynamo::DynamoCanceledJobs;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::stepfunctions::StepFunctionsRenders;
use vidpipe_engine::{Assembler, Engine, Storage};

use crate::config::Config;
use crate::flow::ChunkedFlow;
use crate::{CANCEL_LOOK_INTERVAL, CancelMarks, Transcoder};

/// The transcoder for `config`, with clients from `sdk`.
pub fn transcoder(config: Config, sdk: &aws_config::SdkConfig) -> Transcoder {
    let s3 = vidpipe_aws::s3::client(sdk, config.s3_force_path_style);
    Transcoder {
        engine: Engine::new(Storage::with_s3(s3.clone()))
            .with_tools(config.tools.clone())
            .with_identity(config.identity),
        assembler: Assembler::new(Storage::with_s3(s3.clone())).with_tools(config.tools),
        bus: EventBus::new(aws_sdk_eventbridge::Client::new(sdk), config.event_bus),
        documents: vidpipe_aws::requests::S3RequestStore(s3.clone()),
        memory_mb: config.memory_mb,
        canceled: config.table.map(|table| CancelMarks {
            marks: DynamoCanceledJobs::new(aws_sdk_dynamodb::Client::new(sdk), table),
            every: CANCEL_LOOK_INTERVAL,
        }),
        flow: config.transcode_state_machine.map(|machine| ChunkedFlow {
            executions: StepFunctionsRenders::new(aws_sdk_sfn::Client::new(sdk), machine),
            chunking: ChunkedFlow::chunking(config.chunk_seconds),
        }),
    }
}
