//! [`RenderExecutions`]: starting and stopping executions of the render state machine.

use std::future::Future;

use crate::error::{Cause, Chain};

/// A started execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Its ARN (what [`RenderExecutions::stop`] takes).
    pub execution_arn: String,
}

/// Why an execution could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// An execution of this name exists with another input (Step Functions' `ExecutionAlreadyExists`; the same
    /// name and input again is not an error).
    #[error("an execution named {0} exists with another input")]
    AlreadyExists(String),
    /// The service failed.
    #[error("step functions: {}", Chain(.0.as_ref()))]
    Unavailable(#[source] Cause),
}

/// The render state machine's executions, named after their render.
pub trait RenderExecutions: Send + Sync {
    /// Starts the execution `name` with `input` (`StartExecution`); the same name and input again answers the
    /// same execution.
    fn start(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<Started, ExecutionError>> + Send;
    /// Stops the execution (`StopExecution`) with `error`; one that already ended is not an error.
    fn stop(
        &self,
        execution_arn: &str,
        error: &str,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send;
}
