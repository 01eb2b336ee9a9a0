//! [`StepFunctionsRenders`]: starting and stopping executions of `statemachines/render.asl.json` (and of
//! `statemachines/transcode.asl.json`, the ffmpeg backend's jobs in chunks).
//!
//! [`StepFunctionsTimer`]: the partner timer as an execution of `statemachines/partner-timeout.asl.json` on AWS
//! Step Functions (a Wait of `wait_seconds`, then a Task invoking the compositor with
//! `{"partner_timeout": {"stream"}}`, retried with backoff). Why a Step Functions Wait: `docs/compositor.md`.

use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use vidpipe_core::ports::{
    ExecutionError, PartnerTimer, RenderExecutions, Started, TimerError, execution_input,
    execution_name,
};

/// The partner timer on AWS Step Functions. Executions are named after the stream and the recording they wait on,
/// so starting one again is harmless (`ExecutionAlreadyExists` is success).
#[derive(Debug, Clone)]
pub struct StepFunctionsTimer {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl StepFunctionsTimer {
    /// Executions of `state_machine_arn`, through `client`.
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

impl PartnerTimer for StepFunctionsTimer {
    async fn start(&self, stream: &str, instance: &str, wait: Duration) -> Result<(), TimerError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(execution_name(stream, instance))
            .input(execution_input(stream, wait).to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                Ok(())
            }
            Err(e) => Err(TimerError(Box::new(e))),
        }
    }
}

/// The render state machine's executions on AWS Step Functions (or the local endpoint that speaks its API,
/// reached through `AWS_ENDPOINT_URL_SFN`).
#[derive(Debug, Clone)]
pub struct StepFunctionsRenders {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl StepFunctionsRenders {
    /// Executions of `state_machine_arn`, through `client`.
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The ARN of the state machine's execution `name`.
    fn execution_arn(&self, name: &str) -> String {
        let machine = self
            .state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{machine}:{name}")
    }

    /// Stops the state machine's execution `name` with `error` if it is running: `true` when it was, `false` when
    /// it has ended or was never started.
    pub async fn stop_running(&self, name: &str, error: &str) -> Result<bool, ExecutionError> {
        let arn = self.execution_arn(name);
        match self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(execution) if *execution.status() == ExecutionStatus::Running => {}
            Ok(_) => return Ok(false),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_does_not_exist()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(ExecutionError::Unavailable(Box::new(e))),
        }
        self.stop(&arn, error).await?;
        Ok(true)
    }
}

impl RenderExecutions for StepFunctionsRenders {
    async fn start(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<Started, ExecutionError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(out) => Ok(Started {
                execution_arn: out.execution_arn().to_owned(),
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                Err(ExecutionError::AlreadyExists(name.to_owned()))
            }
            Err(e) => Err(ExecutionError::Unavailable(Box::new(e))),
        }
    }

    async fn stop(&self, execution_arn: &str, error: &str) -> Result<(), ExecutionError> {
        let result = self
            .client
            .stop_execution()
            .execution_arn(execution_arn)
            .error(error)
            .cause("canceled by its owner")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_does_not_exist()) =>
            {
                Ok(())
            }
            Err(e) => Err(ExecutionError::Unavailable(Box::new(e))),
        }
    }
}
