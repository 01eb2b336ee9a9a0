//! Test support: a task invoker backed by closures, recording every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use vidpipe_stepfn::{Execution, Interpreter, Outcome, StateMachine, TaskError, TaskInvoker};

type Handler = Box<dyn Fn(&Value) -> Result<Value, TaskError> + Send + Sync>;

/// Tasks answered by closures, keyed by resource (or by FunctionName for `lambda:invoke`).
#[derive(Clone, Default)]
pub struct Tasks {
    handlers: Arc<HashMap<String, Handler>>,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handler for `resource`.
    pub fn on(
        mut self,
        resource: &str,
        handler: impl Fn(&Value) -> Result<Value, TaskError> + Send + Sync + 'static,
    ) -> Self {
        Arc::get_mut(&mut self.handlers)
            .expect("handlers are added before the tasks are shared")
            .insert(resource.to_owned(), Box::new(handler));
        self
    }

    /// Every call so far, in order: (resource, input).
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl TaskInvoker for Tasks {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        self.calls
            .lock()
            .unwrap()
            .push((resource.to_owned(), input.clone()));
        match self.handlers.get(resource) {
            Some(handler) => handler(&input),
            None => Err(TaskError::new(
                "Test.UnknownResource",
                format!("no handler for {resource}"),
            )),
        }
    }
}

/// Loads `definition` and runs it once with `tasks`.
pub async fn run(definition: &str, tasks: &Tasks, input: Value) -> Execution {
    let machine = StateMachine::from_json(definition).expect("the definition loads");
    Interpreter::new("test-machine", machine, tasks.clone())
        .execute("test-execution", input)
        .await
}

/// The output of a successful execution; panics with the error otherwise.
pub fn output(execution: &Execution) -> &Value {
    match &execution.outcome {
        Outcome::Succeeded { output } => output,
        Outcome::Failed { error } => panic!("the execution failed: {error}"),
    }
}

/// The error of a failed execution; panics otherwise.
pub fn failure(execution: &Execution) -> &TaskError {
    match &execution.outcome {
        Outcome::Failed { error } => error,
        Outcome::Succeeded { output } => panic!("the execution succeeded with {output}"),
    }
}
