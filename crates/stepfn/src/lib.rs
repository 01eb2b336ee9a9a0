//! vidpipe-stepfn: runs an Amazon States Language definition on one machine.
//!
//! Load a definition with [`StateMachine::from_json`] (after [`substitute`] for SAM-style `${Name}`
//! placeholders), then run it with an [`Interpreter`] and a
//! [`TaskInvoker`] that maps Task resources to handlers.
//!
//! [`Endpoint`] serves registered state machines over the Step Functions API (`StartExecution`,
//! `DescribeExecution`, `StopExecution`, `ListExecutions`, `GetExecutionHistory`; AWS JSON 1.0), so the SDKs can
//! start and watch local executions (`vidpipe local stepfunctions`).
//!
//! Implemented: Task, Pass, Choice, Wait, Succeed, Fail, Parallel and inline Map states (ItemsPath, ItemSelector
//! or the older Parameters, ItemProcessor or Iterator, MaxConcurrency); InputPath, Parameters (with `.$` paths,
//! the context object `$$` and intrinsic functions), ResultSelector, ResultPath and OutputPath; Retry, Catch,
//! Task and execution timeouts; the `arn:aws:states:::lambda:invoke` integration.
//!
//! Refused at load time with a [`DefinitionError`], never skipped: the JSONata query language, variables
//! (`Assign`), the Distributed Map (`ItemReader`, `ResultWriter`, `DISTRIBUTED` mode), callbacks and activities,
//! heartbeats, unknown fields, and intrinsic functions or JSONPath syntax it does not implement.
//!
//! ```
//! use serde_json::{Value, json};
//! use vidpipe_stepfn::{Interpreter, Outcome, StateMachine, TaskError, TaskInvoker};
//!
//! struct Greeter;
//!
//! impl TaskInvoker for Greeter {
//!     async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
//!         match resource {
//!             "greet" => Ok(json!(format!("Hello, {}!", input["who"].as_str().unwrap_or("you")))),
//!             other => Err(TaskError::new("Unknown.Resource", other)),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let machine = StateMachine::from_json(
//!     r#"{"StartAt": "Greet", "States": {"Greet": {
//!         "Type": "Task", "Resource": "greet", "ResultPath": "$.greeting", "End": true}}}"#,
//! )
//! .unwrap();
//! let execution = Interpreter::new("hello", machine, Greeter)
//!     .execute("first", json!({"who": "vidpipe"}))
//!     .await;
//! assert_eq!(
//!     execution.outcome,
//!     Outcome::Succeeded { output: json!({"who": "vidpipe", "greeting": "Hello, vidpipe!"}) }
//! );
//! # }
//! ```

mod choice;
mod context;
mod definition;
mod endpoint;
mod error;
mod exec;
mod history;
mod intrinsic;
mod path;
mod retry;
mod substitution;
mod template;

pub use definition::StateMachine;
pub use endpoint::{Endpoint, InvalidStateMachineArn};
pub use error::{DefinitionError, TaskError, Violation, names};
pub use exec::{Clock, Interpreter, LAMBDA_INVOKE, MAX_PAYLOAD_BYTES, TaskInvoker, TokioClock};
pub use history::{EventKind, Execution, HistoryEvent, HistoryLog, Outcome};
pub use intrinsic::IntrinsicError;
pub use path::PathError;
pub use substitution::substitute;
