//! The durable partner timer: the state machine `statemachines/partner-timeout.asl.json` (a Wait of
//! `wait_seconds`, then a Task invoking the compositor with `{"partner_timeout": {"stream"}}`, retried with backoff).
//!
//! - [`StepFunctionsTimer`] starts an execution of it on AWS Step Functions, named after the stream, so starting it
//!   again for the same stream and recording is harmless (`ExecutionAlreadyExists` is success).
//! - [`LocalTimer`] runs that same file with vidpipe-stepfn in a background task of this process; its Task calls
//!   the compositor in-process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vidpipe_stepfn::{Interpreter, Outcome, StateMachine, TaskError, TaskInvoker, substitute};

use crate::handler::Compositor;
use crate::ports::{BoxFuture, PartnerTimer, TimerError};

/// The partner-timeout state machine definition, with `${CompositorFunctionArn}` to substitute.
pub const DEFINITION: &str = include_str!("../../../statemachines/partner-timeout.asl.json");

/// The execution name for `stream` and the recording `instance` it waits on: deterministic, at most 80 characters of
/// `[A-Za-z0-9-_]`.
pub fn execution_name(stream: &str, instance: &str) -> String {
    let digest = hex::encode(Sha256::digest(format!("{stream}/{instance}").as_bytes()));
    format!("partner-{}", &digest[..40])
}

/// The execution input: `{"stream", "wait_seconds"}`.
pub fn execution_input(stream: &str, wait: Duration) -> Value {
    json!({"stream": stream, "wait_seconds": wait.as_secs()})
}

/// The timer on AWS Step Functions.
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
    fn start<'a>(
        &'a self,
        stream: &'a str,
        instance: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), TimerError>> {
        Box::pin(async move {
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
                Err(e) => Err(TimerError(vidpipe_aws::error_message(&e))),
            }
        })
    }
}

/// The function name the local timer's definition invokes.
const LOCAL_FUNCTION: &str = "vidpipe-compositor";

/// Invokes the compositor in this process: the local timer's Task.
#[derive(Clone)]
struct InProcess(Arc<OnceLock<Weak<Compositor>>>);

impl TaskInvoker for InProcess {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        if resource != LOCAL_FUNCTION {
            return Err(TaskError::new(
                "Lambda.ResourceNotFoundException",
                format!("no function {resource}"),
            ));
        }
        let compositor =
            self.0.get().and_then(Weak::upgrade).ok_or_else(|| {
                TaskError::new("Lambda.ServiceException", "the compositor is gone")
            })?;
        compositor
            .handle(input)
            .await
            .map_err(|e| TaskError::new("Compositor.Transient", e.to_string()))
    }
}

/// The timer in this process: each start runs the definition once (a second start for a stream whose execution is
/// still running is ignored, as Step Functions ignores it).
#[derive(Clone)]
pub struct LocalTimer {
    definition: Arc<String>,
    target: Arc<OnceLock<Weak<Compositor>>>,
    running: Arc<Mutex<HashSet<String>>>,
}

/// The local timer's definition did not load.
#[derive(Debug, thiserror::Error)]
#[error("the partner-timeout definition does not load: {0}")]
pub struct LocalTimerError(String);

impl LocalTimer {
    /// Loads the definition. Call [`LocalTimer::bind`] with the compositor it invokes before it fires.
    pub fn new() -> Result<Self, LocalTimerError> {
        let values = HashMap::from([(
            "CompositorFunctionArn".to_owned(),
            LOCAL_FUNCTION.to_owned(),
        )]);
        let text = substitute(DEFINITION, &values).map_err(|e| LocalTimerError(e.to_string()))?;
        StateMachine::from_json(&text).map_err(|e| LocalTimerError(e.to_string()))?;
        Ok(Self {
            definition: Arc::new(text),
            target: Arc::default(),
            running: Arc::default(),
        })
    }

    /// Sets the compositor the timer's Task invokes (held weakly: the timer never keeps it alive).
    pub fn bind(&self, compositor: &Arc<Compositor>) {
        let _ = self.target.set(Arc::downgrade(compositor));
    }
}

impl PartnerTimer for LocalTimer {
    fn start<'a>(
        &'a self,
        stream: &'a str,
        instance: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), TimerError>> {
        Box::pin(async move {
            let name = execution_name(stream, instance);
            let fresh = self
                .running
                .lock()
                .map_err(|_| TimerError("timer lock poisoned".into()))?
                .insert(name.clone());
            if !fresh {
                return Ok(());
            }
            let machine =
                StateMachine::from_json(&self.definition).map_err(|e| TimerError(e.to_string()))?;
            let interpreter = Interpreter::new(
                "partner-timeout",
                machine,
                InProcess(Arc::clone(&self.target)),
            );
            let input = execution_input(stream, wait);
            let running = Arc::clone(&self.running);
            tokio::spawn(async move {
                let execution = interpreter.execute(&name, input).await;
                match execution.outcome {
                    Outcome::Succeeded { output } => {
                        tracing::info!(execution = %name, %output, "partner timer done");
                    }
                    Outcome::Failed { error } => {
                        tracing::error!(execution = %name, %error, "partner timer failed");
                    }
                }
                if let Ok(mut running) = running.lock() {
                    running.remove(&name);
                }
            });
            Ok(())
        })
    }
}
