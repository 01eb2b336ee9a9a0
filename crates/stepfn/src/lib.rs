//! vidpipe-stepfn: runs an Amazon States Language definition on one machine.
//!
//! Load a definition with [`StateMachine::from_json`] (anything the interpreter does not implement is refused
//! there, with a [`DefinitionError`]), then run it with an [`Interpreter`] and a [`TaskInvoker`] that maps Task
//! resources to handlers. Implemented: Task, Pass, Choice, Wait, Succeed, Fail, Parallel and inline Map states;
//! InputPath, Parameters (with `.$` paths, the context object `$$` and intrinsic functions), ResultSelector,
//! ResultPath and OutputPath; Retry, Catch and timeouts; the `arn:aws:states:::lambda:invoke` integration.

mod choice;
mod definition;
mod error;
mod exec;
mod intrinsic;
mod path;
mod template;

pub use definition::StateMachine;
pub use error::{DefinitionError, TaskError, names};
pub use exec::{
    Clock, EventKind, Execution, HistoryEvent, Interpreter, LAMBDA_INVOKE, MAX_PAYLOAD_BYTES,
    Outcome, TaskInvoker, TokioClock,
};
