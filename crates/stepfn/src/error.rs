//! The two kinds of failure: a definition refused at load time, and an error raised while running.

use serde_json::{Value, json};

use crate::intrinsic::IntrinsicError;
use crate::path::PathError;

/// A definition the interpreter refuses to load: invalid, or using a feature it does not implement.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The text is not JSON.
    #[error("the definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The definition breaks a rule of the Amazon States Language.
    #[error("{location}: {violation}")]
    Invalid {
        /// Where: `definition.States.Name.Field`.
        location: String,
        /// What breaks the rule.
        #[source]
        violation: Violation,
    },
    /// The definition uses a feature this interpreter does not implement; it is refused, never skipped.
    #[error("{location}: {feature} is not supported by the local interpreter")]
    Unsupported {
        /// Where: `definition.States.Name.Field`.
        location: String,
        /// The feature.
        feature: String,
    },
}

/// What breaks a rule of the Amazon States Language.
#[derive(Debug, thiserror::Error)]
pub enum Violation {
    /// A rule about the definition's structure or values, described.
    #[error("{0}")]
    Rule(String),
    /// A path that does not parse.
    #[error(transparent)]
    Path(#[from] PathError),
    /// An intrinsic function call that does not parse.
    #[error(transparent)]
    Intrinsic(#[from] IntrinsicError),
}

impl From<String> for Violation {
    fn from(rule: String) -> Self {
        Self::Rule(rule)
    }
}

impl From<&str> for Violation {
    fn from(rule: &str) -> Self {
        Self::Rule(rule.to_owned())
    }
}

impl DefinitionError {
    pub(crate) fn invalid(location: &str, violation: impl Into<Violation>) -> Self {
        Self::Invalid {
            location: location.to_owned(),
            violation: violation.into(),
        }
    }

    pub(crate) fn unsupported(location: &str, feature: impl Into<String>) -> Self {
        Self::Unsupported {
            location: location.to_owned(),
            feature: feature.into(),
        }
    }
}

/// An error as Step Functions names it: the `Error` and `Cause` of a state's error output.
///
/// Tasks return it to fail with a named error that `Retry` and `Catch` can match.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "PascalCase")]
#[error("{error}: {cause}")]
pub struct TaskError {
    /// The error name, for example `States.Timeout` or a function's error type.
    pub error: String,
    /// A human-readable description.
    pub cause: String,
}

/// Error names predefined by the Amazon States Language.
pub mod names {
    /// Matches any error name except the terminal ones.
    pub const ALL: &str = "States.ALL";
    /// Any error raised by a task, except a timeout.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A task or execution ran longer than its `TimeoutSeconds`.
    pub const TIMEOUT: &str = "States.Timeout";
    /// Invalid data at run time (a path that matches nothing, an unusable ResultPath); never retried or caught by `States.ALL`.
    pub const RUNTIME: &str = "States.Runtime";
    /// A Choice state matched no rule and has no Default.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function failed on its arguments.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A payload is larger than 256 KiB; terminal.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
}

impl TaskError {
    /// An error with the given name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    pub(crate) fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(names::INTRINSIC_FAILURE, cause)
    }

    /// The error output a `Catch` passes on: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }

    /// Whether `Retry`/`Catch` with these `ErrorEquals` names match this error.
    pub(crate) fn matches(&self, error_equals: &[String]) -> bool {
        let terminal = self.error == names::RUNTIME || self.error == names::DATA_LIMIT_EXCEEDED;
        error_equals.iter().any(|name| {
            name == &self.error
                || (name == names::ALL && !terminal)
                || (name == names::TASK_FAILED && !terminal && self.error != names::TIMEOUT)
        })
    }
}
