//! What `vidpipe render` and `vidpipe local stepfunctions` share: the state machine definitions carried in the
//! binary, the local ARNs of the functions they invoke, and `mediaconvert:createJob.sync` on the engine.

use std::collections::HashMap;

use serde_json::{Value, json};
use vidpipe_engine::{Engine, JobObserver, JobStatus};
use vidpipe_stepfn::{DefinitionError, StateMachine, TaskError, substitute};

/// `statemachines/render.asl.json`, the render flow Step Functions runs on AWS.
pub const RENDER_DEFINITION: &str = include_str!("../../../statemachines/render.asl.json");

/// `statemachines/partner-timeout.asl.json`, the compositor's partner timer.
pub const PARTNER_TIMEOUT_DEFINITION: &str =
    include_str!("../../../statemachines/partner-timeout.asl.json");

/// `statemachines/transcode.asl.json`, the ffmpeg backend's long jobs in chunks.
pub const TRANSCODE_DEFINITION: &str = include_str!("../../../statemachines/transcode.asl.json");

/// The Run a Job integration of MediaConvert.
pub const CREATE_JOB_SYNC: &str = "arn:aws:states:::mediaconvert:createJob.sync";

/// The ARN of the state machine `name` as `vidpipe local stepfunctions` serves it, in the region and account of
/// this process's environment (`vidpipe_engine::Identity`).
pub fn local_state_machine_arn(name: &str) -> String {
    let identity = vidpipe_engine::Identity::from_env(|name| std::env::var(name).ok());
    format!(
        "arn:aws:states:{}:{}:stateMachine:{name}",
        identity.region, identity.account_id
    )
}

/// The functions the state machines invoke, by their local ARNs (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`,
/// NAME the binary `cargo lambda watch` serves).
pub struct FunctionArns {
    /// `vidpipe-chunker`.
    pub chunker: String,
    /// `vidpipe-job-builder`.
    pub job_builder: String,
    /// `vidpipe-assembler`.
    pub assembler: String,
    /// `vidpipe-notifier`.
    pub notifier: String,
    /// `vidpipe-compositor`.
    pub compositor: String,
    /// `vidpipe-transcoder`.
    pub transcoder: String,
    /// The MediaConvert queue chunk jobs name.
    queue: String,
}

impl FunctionArns {
    /// The ARNs in `region` and `account`.
    pub fn local(region: &str, account: &str) -> Self {
        let arn = |name: &str| format!("arn:aws:lambda:{region}:{account}:function:{name}");
        Self {
            chunker: arn("vidpipe-chunker"),
            job_builder: arn("vidpipe-job-builder"),
            assembler: arn("vidpipe-assembler"),
            notifier: arn("vidpipe-notifier"),
            compositor: arn("vidpipe-compositor"),
            transcoder: arn("vidpipe-transcoder"),
            queue: format!("arn:aws:mediaconvert:{region}:{account}:queues/Default"),
        }
    }

    /// Loads `definition` with its `${...}` placeholders replaced as `infra/template.yaml` replaces them.
    pub fn machine(&self, definition: &str) -> Result<StateMachine, DefinitionError> {
        let values = HashMap::from(
            [
                ("ChunkerFunctionArn", &self.chunker),
                ("JobBuilderFunctionArn", &self.job_builder),
                ("AssemblerFunctionArn", &self.assembler),
                ("NotifierFunctionArn", &self.notifier),
                ("CompositorFunctionArn", &self.compositor),
                ("TranscoderFunctionArn", &self.transcoder),
                ("MediaConvertQueueArn", &self.queue),
            ]
            .map(|(name, value)| (name.to_owned(), value.clone())),
        );
        StateMachine::from_json(&substitute(definition, &values)?)
    }
}

/// A value as a task's JSON result.
pub fn json_value(value: impl serde::Serialize) -> Result<Value, TaskError> {
    serde_json::to_value(value).map_err(|e| TaskError::new("Local.Serialization", e.to_string()))
}

/// `createJob.sync`: runs the job on the engine and answers like GetJob, `{"Job": {...}}`; a job that ends in ERROR
/// fails the task with `States.TaskFailed` and the job as the cause, as Step Functions does.
pub async fn create_job_sync(
    engine: &Engine,
    parameters: &Value,
    observer: &mut dyn JobObserver,
) -> Result<Value, TaskError> {
    let job = engine.run(parameters, observer).await;
    let answer = json!({"Job": json_value(&job)?});
    if job.status == JobStatus::Complete {
        Ok(answer)
    } else {
        Err(TaskError::new("States.TaskFailed", answer.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_in_the_binary_load_with_every_placeholder_replaced() {
        let arns = FunctionArns::local("us-east-1", "000000000000");
        for definition in [
            RENDER_DEFINITION,
            PARTNER_TIMEOUT_DEFINITION,
            TRANSCODE_DEFINITION,
        ] {
            arns.machine(definition).unwrap();
        }
        // A placeholder left unreplaced is refused by substitute, so a loaded definition names no `${...}`.
        assert!(RENDER_DEFINITION.contains("${ChunkerFunctionArn}"));
    }
}
