//! What an execution leaves behind: how it ended ([`Outcome`]) and its history, event by event.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::TaskError;

/// One entry of an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// Position in the history, from 1.
    pub id: usize,
    /// When it happened (RFC 3339, milliseconds, UTC).
    pub timestamp: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened, with the state it happened in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// The execution began with this input.
    ExecutionStarted {
        /// The execution's input.
        input: Value,
    },
    /// The execution ended with this output.
    ExecutionSucceeded {
        /// The execution's output.
        output: Value,
    },
    /// The execution ended with this error.
    ExecutionFailed {
        /// The error name.
        error: String,
        /// Its description.
        cause: String,
    },
    /// The execution was stopped from outside (`StopExecution`) with this error.
    ExecutionAborted {
        /// The error name given to the stop, if any.
        error: String,
        /// Its description.
        cause: String,
    },
    /// A state began with this raw input.
    StateEntered {
        /// The state's name.
        state: String,
        /// The state's `Type` (`Task`, `Map`, ...).
        state_type: &'static str,
        /// Its raw input.
        input: Value,
    },
    /// A state finished with this output.
    StateExited {
        /// The state's name.
        state: String,
        /// The state's `Type` (`Task`, `Map`, ...).
        state_type: &'static str,
        /// Its output.
        output: Value,
    },
    /// A Task state called its resource with this input.
    TaskScheduled {
        /// The state's name.
        state: String,
        /// The resource (the `FunctionName` of `lambda:invoke`).
        resource: String,
        /// What the resource was called with.
        input: Value,
    },
    /// The resource returned this result.
    TaskSucceeded {
        /// The state's name.
        state: String,
        /// The resource.
        resource: String,
        /// Its result.
        output: Value,
    },
    /// The resource failed with this error.
    TaskFailed {
        /// The state's name.
        state: String,
        /// The resource.
        resource: String,
        /// The error name.
        error: String,
        /// Its description.
        cause: String,
    },
    /// The resource ran past the Task's timeout.
    TaskTimedOut {
        /// The state's name.
        state: String,
        /// The resource.
        resource: String,
    },
    /// A retrier matched: attempt `attempt` follows after `delay_seconds`.
    RetryScheduled {
        /// The state's name.
        state: String,
        /// The error retried.
        error: String,
        /// The attempt that follows, from 1.
        attempt: u64,
        /// The wait before it.
        delay_seconds: f64,
    },
    /// A catcher matched and sends the error output to `next`.
    ErrorCaught {
        /// The state's name.
        state: String,
        /// The error caught.
        error: String,
        /// The state it goes to.
        next: String,
    },
    /// A Map iteration began.
    MapIterationStarted {
        /// The Map state's name.
        state: String,
        /// The item's index.
        index: usize,
    },
    /// A Map iteration finished.
    MapIterationSucceeded {
        /// The Map state's name.
        state: String,
        /// The item's index.
        index: usize,
    },
    /// A Map iteration failed, failing its Map state.
    MapIterationFailed {
        /// The Map state's name.
        state: String,
        /// The item's index.
        index: usize,
        /// The error name.
        error: String,
    },
    /// A Wait state waits this long.
    WaitStarted {
        /// The state's name.
        state: String,
        /// How long it waits.
        seconds: f64,
    },
}

/// How an execution ended (serialized as `{"status": "SUCCEEDED", "output": ...}` or
/// `{"status": "FAILED", "error": {"Error": ..., "Cause": ...}}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// The execution's output.
    Succeeded {
        /// The last state's output.
        output: Value,
    },
    /// The error that ended it.
    Failed {
        /// Its name and description.
        error: TaskError,
    },
}

/// A finished execution: its outcome and its history.
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    /// How it ended.
    pub outcome: Outcome,
    /// Every event, in order.
    pub history: Vec<HistoryEvent>,
}

/// An execution's history as it grows: the interpreter appends to it while the execution runs, and whoever holds a
/// clone (the local Step Functions endpoint) reads it meanwhile, or appends the event of a stop.
#[derive(Debug, Clone, Default)]
pub struct HistoryLog(Arc<Mutex<Vec<HistoryEvent>>>);

impl HistoryLog {
    /// Appends an event that happened at `at`, numbered after the last one.
    pub fn push(&self, at: OffsetDateTime, kind: EventKind) {
        let mut events = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let id = events.len() + 1;
        events.push(HistoryEvent {
            id,
            timestamp: timestamp(at),
            kind,
        });
    }

    /// The events so far, in order.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A history timestamp: RFC 3339 in UTC, milliseconds.
pub(crate) fn timestamp(time: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}
