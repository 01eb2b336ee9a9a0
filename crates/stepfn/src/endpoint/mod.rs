//! A local Step Functions endpoint: the actions an application uses to run workflows (`StartExecution`,
//! `DescribeExecution`, `StopExecution`, `ListExecutions`, `GetExecutionHistory`) over the AWS JSON 1.0 protocol
//! (`POST /`, `X-Amz-Target: AWSStepFunctions.<Action>`), running the registered state machines with the
//! interpreter, so that `aws-sdk-sfn`, boto3 or the AWS CLI pointed at it (`AWS_ENDPOINT_URL_SFN`) work unchanged.
//!
//! Executions run in background tasks; their records live in memory only, so a restart forgets them (and stops
//! the running ones). Requests are not authenticated: bind it to loopback.

mod events;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::definition::StateMachine;
use crate::exec::{Interpreter, MAX_PAYLOAD_BYTES, TaskInvoker};
use crate::history::{EventKind, HistoryLog, Outcome};

/// The `X-Amz-Target` prefix of the Step Functions actions.
const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// A state machine ARN that cannot be registered.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)")]
pub struct InvalidStateMachineArn(String);

/// The endpoint: registered state machines and their executions. Cloning shares them.
pub struct Endpoint<T> {
    machines: Arc<HashMap<String, Arc<Interpreter<T>>>>,
    executions: Arc<Mutex<Executions>>,
    status_changes: Option<tokio::sync::mpsc::UnboundedSender<Value>>,
}

impl<T> Clone for Endpoint<T> {
    fn clone(&self) -> Self {
        Self {
            machines: Arc::clone(&self.machines),
            executions: Arc::clone(&self.executions),
            status_changes: self.status_changes.clone(),
        }
    }
}

#[derive(Default)]
struct Executions {
    by_arn: HashMap<String, Record>,
    /// Execution ARNs in the order they started.
    started: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
        }
    }
}

/// One execution, as `DescribeExecution` reports it.
struct Record {
    machine_arn: String,
    name: String,
    input: Value,
    started: OffsetDateTime,
    status: Status,
    stopped: Option<OffsetDateTime>,
    output: Option<Value>,
    error: Option<(String, String)>,
    history: HistoryLog,
    task: Option<tokio::task::AbortHandle>,
}

/// An AWS JSON 1.0 error: `{"__type": kind, "message": message}` with status 400.
#[derive(Debug)]
struct ApiError {
    kind: &'static str,
    message: String,
}

fn error(kind: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        kind,
        message: message.into(),
    }
}

/// Reads a state machine ARN's name; `None` if `arn` is not one.
fn state_machine_name(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 7 && parts[..3] == ["arn", "aws", "states"] && parts[5] == "stateMachine")
        .then(|| parts[6])
        .filter(|name| !name.is_empty())
}

fn is_execution_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 8
        && parts[..3] == ["arn", "aws", "states"]
        && parts[5] == "execution"
        && !parts[7].is_empty()
}

/// An execution name Step Functions accepts: 1-80 characters, none of them whitespace, control characters or
/// `<>{}[]?*"#%\^|~`$&,;:/`.
fn check_name(name: &str) -> Result<(), ApiError> {
    const REFUSED: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let length = name.chars().count();
    if !(1..=80).contains(&length) {
        return Err(error(
            "InvalidName",
            format!("the name has {length} characters; 1 to 80 are allowed"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || REFUSED.contains(*c))
    {
        return Err(error(
            "InvalidName",
            format!("the name {name:?} contains {bad:?}, which execution names may not"),
        ));
    }
    Ok(())
}

fn parse<R: DeserializeOwned>(body: &[u8]) -> Result<R, ApiError> {
    let body = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| {
        let kind = if e.is_data() {
            "ValidationException"
        } else {
            "SerializationException"
        };
        error(kind, e.to_string())
    })
}

/// `maxResults`: 0 or absent is the default of 100; at most 1000.
fn page_size(max_results: Option<u32>) -> Result<usize, ApiError> {
    match max_results.unwrap_or(0) {
        0 => Ok(100),
        n @ 1..=1000 => Ok(n as usize),
        n => Err(error(
            "ValidationException",
            format!("maxResults is {n}; at most 1000 are allowed"),
        )),
    }
}

/// One page of `items` from `next_token` (the index of the first item, as this endpoint hands it out).
fn page(
    items: Vec<Value>,
    next_token: Option<&str>,
    size: usize,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let start = match next_token {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|start| *start <= items.len())
            .ok_or_else(|| {
                error(
                    "InvalidToken",
                    format!("{token:?} is not a token of this endpoint"),
                )
            })?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartExecution {
    state_machine_arn: String,
    name: Option<String>,
    input: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionRef {
    execution_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopExecution {
    execution_arn: String,
    error: Option<String>,
    cause: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListExecutions {
    state_machine_arn: String,
    status_filter: Option<String>,
    max_results: Option<u32>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetExecutionHistory {
    execution_arn: String,
    max_results: Option<u32>,
    #[serde(default)]
    reverse_order: bool,
    next_token: Option<String>,
    include_execution_data: Option<bool>,
}

impl<T: TaskInvoker> Default for Endpoint<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TaskInvoker> Endpoint<T> {
    /// An endpoint with no state machines.
    pub fn new() -> Self {
        Self {
            machines: Arc::default(),
            executions: Arc::default(),
            status_changes: None,
        }
    }

    /// Sends each execution's status changes (RUNNING, then SUCCEEDED, FAILED or ABORTED) to `events`, as the
    /// EventBridge events Step Functions puts on the default bus ("Step Functions Execution Status Change").
    pub fn with_status_changes(self, events: tokio::sync::mpsc::UnboundedSender<Value>) -> Self {
        Self {
            status_changes: Some(events),
            ..self
        }
    }

    /// Sends `record`'s status as a status change event, if anyone listens.
    fn announce(&self, arn: &str, record: &Record) {
        let Some(events) = &self.status_changes else {
            return;
        };
        let event = events::status_change(&events::StatusChange {
            execution_arn: arn,
            state_machine_arn: &record.machine_arn,
            name: &record.name,
            status: record.status.name(),
            started: record.started,
            stopped: record.stopped,
            input: &record.input,
            output: record.output.as_ref(),
            error: record
                .error
                .as_ref()
                .map(|(error, cause)| (error.as_str(), cause.as_str())),
        });
        // A closed receiver means nobody listens any more: nothing to do.
        let _ = events.send(event);
    }

    /// Registers `machine` under `arn`, its tasks run by `invoker` (clones made before see only what they had).
    pub fn register(
        mut self,
        arn: &str,
        machine: StateMachine,
        invoker: T,
    ) -> Result<Self, InvalidStateMachineArn> {
        if state_machine_name(arn).is_none() {
            return Err(InvalidStateMachineArn(arn.to_owned()));
        }
        let interpreter = Arc::new(Interpreter::with_arn(arn, machine, invoker));
        Arc::make_mut(&mut self.machines).insert(arn.to_owned(), interpreter);
        Ok(self)
    }

    /// Serves the protocol on `listener` until the process ends (or accepting fails).
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        loop {
            let (socket, _) = listener.accept().await?;
            let endpoint = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let endpoint = endpoint.clone();
                    async move { Ok::<_, Infallible>(endpoint.respond(request).await) }
                });
                if let Err(e) = http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await
                {
                    tracing::debug!(error = %e, "step functions connection ended");
                }
            });
        }
    }

    async fn respond(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let (status, body) = match request.into_body().collect().await {
            Ok(body) => self.handle(target.as_deref(), &body.to_bytes()),
            Err(e) => (
                400,
                json!({"__type": "SerializationException", "message": e.to_string()}),
            ),
        };
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        response
    }

    /// Answers one request: the `X-Amz-Target` header and the JSON body give the HTTP status and the JSON answer.
    pub fn handle(&self, target: Option<&str>, body: &[u8]) -> (u16, Value) {
        let action = target
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .unwrap_or_default();
        let result = match action {
            "StartExecution" => parse(body).and_then(|r| self.start(r)),
            "DescribeExecution" => {
                parse(body).and_then(|r: ExecutionRef| self.describe(&r.execution_arn))
            }
            "StopExecution" => parse(body).and_then(|r| self.stop(r)),
            "ListExecutions" => parse(body).and_then(|r| self.list(r)),
            "GetExecutionHistory" => parse(body).and_then(|r| self.history(r)),
            _ => Err(error(
                "UnknownOperationException",
                format!("{target:?} is not an action this endpoint serves"),
            )),
        };
        match result {
            Ok(answer) => (200, answer),
            Err(e) => {
                tracing::info!(action, kind = e.kind, message = %e.message, "step functions request refused");
                (400, json!({"__type": e.kind, "message": e.message}))
            }
        }
    }

    fn executions(&self) -> std::sync::MutexGuard<'_, Executions> {
        self.executions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn machine(&self, arn: &str) -> Result<&Arc<Interpreter<T>>, ApiError> {
        if state_machine_name(arn).is_none() {
            return Err(error(
                "InvalidArn",
                format!("{arn:?} is not a state machine ARN"),
            ));
        }
        self.machines.get(arn).ok_or_else(|| {
            error(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn}'"),
            )
        })
    }

    fn start(&self, request: StartExecution) -> Result<Value, ApiError> {
        let interpreter = Arc::clone(self.machine(&request.state_machine_arn)?);
        let name = request
            .name
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        check_name(&name)?;
        let text = request.input.unwrap_or_else(|| "{}".to_owned());
        if text.len() > MAX_PAYLOAD_BYTES {
            return Err(error(
                "InvalidExecutionInput",
                format!(
                    "the input has {} bytes; at most {MAX_PAYLOAD_BYTES} are allowed",
                    text.len()
                ),
            ));
        }
        let input: Value = serde_json::from_str(&text).map_err(|e| {
            error(
                "InvalidExecutionInput",
                format!("the input is not JSON: {e}"),
            )
        })?;
        let arn = interpreter.execution_arn(&name);
        let mut executions = self.executions();
        if let Some(existing) = executions.by_arn.get(&arn) {
            // Standard workflows: the same name and input while the execution runs is the same start.
            if existing.status == Status::Running && existing.input == input {
                return Ok(
                    json!({"executionArn": arn, "startDate": events::seconds(existing.started)}),
                );
            }
            return Err(error(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        let history = HistoryLog::default();
        let started = OffsetDateTime::now_utc();
        let endpoint = self.clone();
        let task = {
            let (arn, name, input, history) =
                (arn.clone(), name.clone(), input.clone(), history.clone());
            tokio::spawn(async move {
                let outcome = interpreter.execute_logged(&name, input, history).await;
                endpoint.finish(&arn, outcome);
            })
        };
        executions.by_arn.insert(
            arn.clone(),
            Record {
                machine_arn: request.state_machine_arn,
                name,
                input,
                started,
                status: Status::Running,
                stopped: None,
                output: None,
                error: None,
                history,
                task: Some(task.abort_handle()),
            },
        );
        executions.started.push(arn.clone());
        if let Some(record) = executions.by_arn.get(&arn) {
            self.announce(&arn, record);
        }
        Ok(json!({"executionArn": arn, "startDate": events::seconds(started)}))
    }

    /// Records how a running execution ended (a stopped one stays ABORTED).
    fn finish(&self, arn: &str, outcome: Outcome) {
        let mut executions = self.executions();
        let Some(record) = executions.by_arn.get_mut(arn) else {
            return;
        };
        if record.status != Status::Running {
            return;
        }
        record.stopped = Some(OffsetDateTime::now_utc());
        record.task = None;
        match outcome {
            Outcome::Succeeded { output } => {
                record.status = Status::Succeeded;
                record.output = Some(output);
            }
            Outcome::Failed { error } => {
                record.status = Status::Failed;
                record.error = Some((error.error, error.cause));
            }
        }
        self.announce(arn, record);
    }

    fn record<'a>(executions: &'a mut Executions, arn: &str) -> Result<&'a mut Record, ApiError> {
        if !is_execution_arn(arn) {
            return Err(error(
                "InvalidArn",
                format!("{arn:?} is not an execution ARN"),
            ));
        }
        executions.by_arn.get_mut(arn).ok_or_else(|| {
            error(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })
    }

    fn describe(&self, arn: &str) -> Result<Value, ApiError> {
        let mut executions = self.executions();
        let record = Self::record(&mut executions, arn)?;
        let mut answer = summary(arn, record);
        answer["input"] = json!(record.input.to_string());
        answer["inputDetails"] = json!({"included": true});
        if let Some(output) = &record.output {
            answer["output"] = json!(output.to_string());
            answer["outputDetails"] = json!({"included": true});
        }
        if let Some((error, cause)) = &record.error {
            answer["error"] = json!(error);
            answer["cause"] = json!(cause);
        }
        Ok(answer)
    }

    /// Stops a running execution: its task is dropped (the interpreter's branches and the tasks' calls with it),
    /// it becomes ABORTED with an `ExecutionAborted` event. Stopping a closed execution changes nothing.
    fn stop(&self, request: StopExecution) -> Result<Value, ApiError> {
        let mut executions = self.executions();
        let record = Self::record(&mut executions, &request.execution_arn)?;
        if record.status == Status::Running {
            let now = OffsetDateTime::now_utc();
            if let Some(task) = record.task.take() {
                task.abort();
            }
            let (error, cause) = (
                request.error.unwrap_or_default(),
                request.cause.unwrap_or_default(),
            );
            record.history.push(
                now,
                EventKind::ExecutionAborted {
                    error: error.clone(),
                    cause: cause.clone(),
                },
            );
            record.status = Status::Aborted;
            record.stopped = Some(now);
            record.error = Some((error, cause));
            tracing::info!(execution = %request.execution_arn, "execution stopped");
            self.announce(&request.execution_arn, record);
        }
        Ok(json!({"stopDate": record.stopped.map(events::seconds)}))
    }

    fn list(&self, request: ListExecutions) -> Result<Value, ApiError> {
        self.machine(&request.state_machine_arn)?;
        let filter = match request.status_filter.as_deref() {
            None => None,
            Some(status) => Some(
                [
                    Status::Running,
                    Status::Succeeded,
                    Status::Failed,
                    Status::Aborted,
                ]
                .into_iter()
                .find(|s| s.name() == status)
                .map_or_else(
                    // Statuses this endpoint never gives (TIMED_OUT, PENDING_REDRIVE) match nothing.
                    || {
                        ["TIMED_OUT", "PENDING_REDRIVE"]
                            .contains(&status)
                            .then_some(None)
                            .ok_or_else(|| {
                                error(
                                    "ValidationException",
                                    format!("{status:?} is not an execution status"),
                                )
                            })
                    },
                    |s| Ok(Some(s)),
                )?,
            ),
        };
        let size = page_size(request.max_results)?;
        let executions = self.executions();
        let items = executions
            .started
            .iter()
            .rev()
            .filter_map(|arn| Some((arn, executions.by_arn.get(arn)?)))
            .filter(|(_, record)| record.machine_arn == request.state_machine_arn)
            .filter(|(_, record)| filter.is_none_or(|status| status == Some(record.status)))
            .map(|(arn, record)| summary(arn, record))
            .collect();
        let (items, next) = page(items, request.next_token.as_deref(), size)?;
        let mut answer = json!({"executions": items});
        if let Some(next) = next {
            answer["nextToken"] = json!(next);
        }
        Ok(answer)
    }

    fn history(&self, request: GetExecutionHistory) -> Result<Value, ApiError> {
        let size = page_size(request.max_results)?;
        let log = {
            let mut executions = self.executions();
            Self::record(&mut executions, &request.execution_arn)?
                .history
                .clone()
        };
        let mut shaped = events::aws_events(
            &log.events(),
            request.include_execution_data.unwrap_or(true),
        );
        if request.reverse_order {
            shaped.reverse();
        }
        let (items, next) = page(shaped, request.next_token.as_deref(), size)?;
        let mut answer = json!({"events": items});
        if let Some(next) = next {
            answer["nextToken"] = json!(next);
        }
        Ok(answer)
    }
}

/// The fields `ListExecutions` gives for an execution (`DescribeExecution` adds to them).
fn summary(arn: &str, record: &Record) -> Value {
    let mut item = json!({
        "executionArn": arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status.name(),
        "startDate": events::seconds(record.started),
    });
    if let Some(stopped) = record.stopped {
        item["stopDate"] = json!(events::seconds(stopped));
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_step_functions_rules() {
        assert!(check_name("render-01H8_x.y").is_ok());
        for bad in ["", "a b", "a/b", "a:b", "a\u{7}b", &"x".repeat(81)] {
            assert_eq!(check_name(bad).unwrap_err().kind, "InvalidName", "{bad:?}");
        }
    }

    #[test]
    fn arns_are_told_apart() {
        assert_eq!(
            state_machine_name("arn:aws:states:us-east-1:000000000000:stateMachine:render"),
            Some("render")
        );
        assert_eq!(
            state_machine_name("arn:aws:states:us-east-1:000000000000:execution:render:x"),
            None
        );
        assert!(is_execution_arn(
            "arn:aws:states:us-east-1:000000000000:execution:render:x"
        ));
        assert!(!is_execution_arn("render"));
    }

    #[test]
    fn pages_continue_where_the_token_says_and_refuse_foreign_tokens() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (first, next) = page(items.clone(), None, 2).unwrap();
        assert_eq!(first, vec![json!(0), json!(1)]);
        let (second, _) = page(items.clone(), next.as_deref(), 2).unwrap();
        assert_eq!(second, vec![json!(2), json!(3)]);
        let (last, none) = page(items.clone(), Some("4"), 2).unwrap();
        assert_eq!((last, none), (vec![json!(4)], None));
        assert_eq!(page(items, Some("x"), 2).unwrap_err().kind, "InvalidToken");
    }
}
