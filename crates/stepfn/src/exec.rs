//! Running a loaded state machine: state by state, with input/output processing, Retry, Catch, timeouts, and
//! Map/Parallel branches on tokio tasks.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::task::JoinSet;

use crate::choice::parse_timestamp;
use crate::context::Context;
use crate::definition::{
    IntegerSource, Kind, ResultHandling, State, StateMachine, Text, Transition, WaitFor,
};
use crate::error::{TaskError, names};
use crate::history::{EventKind, Execution, HistoryLog, Outcome, timestamp};
use crate::path::Path;
use crate::retry::Retrier;

/// The optimised Lambda integration: `Parameters` carry `FunctionName` and `Payload`, and the result wraps the
/// function's output as `{"Payload": ..., "StatusCode": 200, ...}`.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// Largest payload Step Functions passes between states (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Runs Task states. The caller maps resources (Lambda ARNs, `arn:aws:states:::...` integrations) to handlers.
///
/// For [`LAMBDA_INVOKE`] tasks, `resource` is the `FunctionName` parameter and `input` the `Payload`.
pub trait TaskInvoker: Send + Sync + 'static {
    /// Runs one task; an `Err` is the task's named error, which `Retry` and `Catch` can match.
    fn invoke(
        &self,
        resource: &str,
        input: Value,
    ) -> impl Future<Output = Result<Value, TaskError>> + Send;
}

/// Time as the interpreter sees it: Wait states, retry intervals and timeouts go through it.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The tokio clock: real time, or virtual time in tests that pause tokio's clock (`start_paused`), where sleeps
/// end at once in the right order.
#[derive(Debug, Clone)]
pub struct TokioClock {
    wall: OffsetDateTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock anchored at the current wall time.
    pub fn new() -> Self {
        Self {
            wall: OffsetDateTime::now_utc(),
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        self.wall + self.start.elapsed()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// Executes one state machine definition with the caller's tasks.
pub struct Interpreter<T, C = TokioClock> {
    shared: Arc<Shared<T, C>>,
}

struct Shared<T, C> {
    name: String,
    /// The state machine's ARN; an execution's is derived from it.
    arn: String,
    machine: Arc<StateMachine>,
    invoker: T,
    clock: C,
}

impl<T: TaskInvoker> Interpreter<T, TokioClock> {
    /// An interpreter for `machine` (named `name` in the context object), on the tokio clock.
    pub fn new(name: &str, machine: StateMachine, invoker: T) -> Self {
        Self::with_clock(name, machine, invoker, TokioClock::new())
    }

    /// An interpreter for `machine` registered under `arn` (`arn:aws:states:{region}:{account}:stateMachine:{name}`),
    /// which its executions' ARNs and the context object follow, on the tokio clock.
    pub fn with_arn(arn: &str, machine: StateMachine, invoker: T) -> Self {
        let name = arn.rsplit(':').next().unwrap_or(arn);
        Self::build(name, arn.to_owned(), machine, invoker, TokioClock::new())
    }
}

impl<T: TaskInvoker, C: Clock> Interpreter<T, C> {
    /// An interpreter on the given clock.
    pub fn with_clock(name: &str, machine: StateMachine, invoker: T, clock: C) -> Self {
        let arn = format!("arn:aws:states:local:000000000000:stateMachine:{name}");
        Self::build(name, arn, machine, invoker, clock)
    }

    fn build(name: &str, arn: String, machine: StateMachine, invoker: T, clock: C) -> Self {
        Self {
            shared: Arc::new(Shared {
                name: name.to_owned(),
                arn,
                machine: Arc::new(machine),
                invoker,
                clock,
            }),
        }
    }

    /// The ARN of this state machine's execution named `execution_name` (`$$.Execution.Id`).
    pub fn execution_arn(&self, execution_name: &str) -> String {
        let arn = &self.shared.arn;
        let execution = arn.replacen(":stateMachine:", ":execution:", 1);
        format!("{execution}:{execution_name}")
    }

    /// Runs one execution to its end. Must be called inside a tokio runtime (branches run on tokio tasks).
    pub async fn execute(&self, execution_name: &str, input: Value) -> Execution {
        let history = HistoryLog::default();
        let outcome = self
            .execute_logged(execution_name, input, history.clone())
            .await;
        Execution {
            outcome,
            history: history.events(),
        }
    }

    /// Runs one execution to its end, appending its history to `history` as it goes, so that it can be read while
    /// the execution runs and keeps what happened if the execution's future is dropped (stopped) half-way.
    pub async fn execute_logged(
        &self,
        execution_name: &str,
        input: Value,
        history: HistoryLog,
    ) -> Outcome {
        let shared = &self.shared;
        let start = shared.clock.now();
        let run = Arc::new(Run {
            shared: Arc::clone(shared),
            history,
            execution: json!({
                "Id": self.execution_arn(execution_name),
                "Input": input,
                "Name": execution_name,
                "RoleArn": "arn:aws:iam::000000000000:role/local",
                "StartTime": timestamp(start),
            }),
            state_machine: json!({
                "Id": shared.arn,
                "Name": shared.name,
            }),
        });
        run.record(EventKind::ExecutionStarted {
            input: input.clone(),
        });
        tracing::info!(state_machine = %shared.name, execution = execution_name, "execution started");
        let machine = Arc::clone(&shared.machine);
        let graph = async {
            check_size(&input, "the execution input")?;
            run_graph(Arc::clone(&run), Arc::clone(&machine), input).await
        };
        let result = match machine.timeout_seconds {
            Some(seconds) => tokio::select! {
                result = graph => result,
                () = shared.clock.sleep(Duration::from_secs(seconds)) => Err(TaskError::new(
                    names::TIMEOUT,
                    format!("the execution ran longer than its TimeoutSeconds ({seconds} s)"),
                )),
            },
            None => graph.await,
        };
        match result {
            Ok(output) => {
                run.record(EventKind::ExecutionSucceeded {
                    output: output.clone(),
                });
                Outcome::Succeeded { output }
            }
            Err(error) => {
                tracing::warn!(execution = execution_name, error = %error.error, cause = %error.cause, "execution failed");
                run.record(EventKind::ExecutionFailed {
                    error: error.error.clone(),
                    cause: error.cause.clone(),
                });
                Outcome::Failed { error }
            }
        }
    }
}

struct Run<T, C> {
    shared: Arc<Shared<T, C>>,
    history: HistoryLog,
    /// The context object's `Execution` node.
    execution: Value,
    /// The context object's `StateMachine` node.
    state_machine: Value,
}

impl<T: TaskInvoker, C: Clock> Run<T, C> {
    fn record(&self, kind: EventKind) {
        self.history.push(self.shared.clock.now(), kind);
    }

    fn context(&self, state: &State, entered: &str, retry_count: u64) -> Context<'_> {
        Context {
            execution: &self.execution,
            state_machine: &self.state_machine,
            state: json!({"Name": state.name, "EnteredTime": entered, "RetryCount": retry_count}),
            map: None,
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

enum Step {
    Next(String, Value),
    End(Value),
}

fn run_graph<T: TaskInvoker, C: Clock>(
    run: Arc<Run<T, C>>,
    graph: Arc<StateMachine>,
    input: Value,
) -> BoxFuture<Result<Value, TaskError>> {
    Box::pin(async move {
        let mut current = graph.start_at.clone();
        let mut input = input;
        loop {
            let Some(state) = graph.states.get(&current) else {
                return Err(TaskError::runtime(format!("no state named {current:?}")));
            };
            match run_state(&run, state, input).await? {
                Step::Next(next, output) => {
                    current = next;
                    input = output;
                }
                Step::End(output) => return Ok(output),
            }
        }
    })
}

fn check_size(value: &Value, what: &str) -> Result<(), TaskError> {
    let size = serde_json::to_vec(value)
        .map(|bytes| bytes.len())
        .unwrap_or(0);
    if size > MAX_PAYLOAD_BYTES {
        return Err(TaskError::new(
            names::DATA_LIMIT_EXCEEDED,
            format!(
                "{what} has {size} bytes, more than the {MAX_PAYLOAD_BYTES} Step Functions allows"
            ),
        ));
    }
    Ok(())
}

fn select(
    path: &Path,
    value: &Value,
    context: &Context<'_>,
    field: &str,
) -> Result<Value, TaskError> {
    path.select(value, context)
        .ok_or_else(|| path.missing(value, field))
}

fn apply_result_path(
    result_path: &Option<Path>,
    raw: &Value,
    result: Value,
) -> Result<Value, TaskError> {
    let Some(path) = result_path else {
        return Ok(raw.clone());
    };
    let mut output = raw.clone();
    path.set(&mut output, result)
        .map_err(|error| TaskError::runtime(format!("Unable to apply ResultPath: {error}")))?;
    Ok(output)
}

fn integer(
    value: &IntegerSource,
    input: &Value,
    context: &Context<'_>,
    field: &str,
) -> Result<u64, TaskError> {
    match value {
        IntegerSource::Literal(seconds) => Ok(*seconds),
        IntegerSource::Path(path) => {
            let value = select(path, input, context, field)?;
            value.as_u64().ok_or_else(|| {
                TaskError::runtime(format!(
                    "{field} {path} must give a non-negative integer, got {value}"
                ))
            })
        }
    }
}

async fn run_state<T: TaskInvoker, C: Clock>(
    run: &Arc<Run<T, C>>,
    state: &State,
    raw: Value,
) -> Result<Step, TaskError> {
    let clock = &run.shared.clock;
    let entered = timestamp(clock.now());
    let name = &state.name;
    tracing::debug!(state = %name, "state entered");
    run.record(EventKind::StateEntered {
        state: name.clone(),
        state_type: state.kind.type_name(),
        input: raw.clone(),
    });
    let context = run.context(state, &entered, 0);
    let effective = match &state.input_path {
        None => json!({}),
        Some(path) => select(path, &raw, &context, "InputPath")?,
    };
    let mut next = None;
    let output = match &state.kind {
        Kind::Pass {
            result_value,
            parameters,
            result_path,
        } => {
            let result = match (result_value, parameters) {
                (Some(value), _) => value.clone(),
                (None, Some(template)) => template.render(&effective, &context)?,
                (None, None) => effective,
            };
            apply_result_path(result_path, &raw, result)?
        }
        Kind::Choice { choices, default } => {
            for rule in choices {
                if rule.condition.evaluate(&effective, &context)? {
                    next = Some(rule.next.clone());
                    break;
                }
            }
            next = next.or_else(|| default.clone());
            if next.is_none() {
                return Err(TaskError::new(
                    names::NO_CHOICE_MATCHED,
                    format!("no choice rule of {name:?} matched and it has no Default"),
                ));
            }
            effective
        }
        Kind::Wait(wait) => {
            let duration = wait_duration(wait, &effective, &context, clock.now())?;
            run.record(EventKind::WaitStarted {
                state: name.clone(),
                seconds: duration.as_secs_f64(),
            });
            clock.sleep(duration).await;
            effective
        }
        Kind::Succeed => effective,
        Kind::Fail { error, cause } => {
            let text = |text| fail_text(text, &raw, &context);
            return Err(TaskError::new(text(error)?, text(cause)?));
        }
        Kind::Task { result, .. } | Kind::Parallel { result, .. } | Kind::Map { result, .. } => {
            match with_retries(run, state, result, &effective, &entered).await {
                Ok(value) => {
                    let selected = match &result.result_selector {
                        Some(template) => template.render(&value, &context)?,
                        None => value,
                    };
                    apply_result_path(&result.result_path, &raw, selected)?
                }
                Err(error) => {
                    let Some(catcher) = result
                        .catch
                        .iter()
                        .find(|catcher| error.matches(&catcher.error_equals))
                    else {
                        return Err(error);
                    };
                    run.record(EventKind::ErrorCaught {
                        state: name.clone(),
                        error: error.error.clone(),
                        next: catcher.next.clone(),
                    });
                    let output = apply_result_path(&catcher.result_path, &raw, error.to_output())?;
                    return exit(run, state, Step::Next(catcher.next.clone(), output));
                }
            }
        }
    };
    let output = match &state.output_path {
        None => json!({}),
        Some(path) => select(path, &output, &context, "OutputPath")?,
    };
    let step = match (next, &state.transition) {
        (Some(next), _) => Step::Next(next, output),
        (None, Transition::Next(next)) => Step::Next(next.clone(), output),
        (None, Transition::End | Transition::None) => Step::End(output),
    };
    exit(run, state, step)
}

/// How long a Wait state waits, from now.
fn wait_duration(
    wait: &WaitFor,
    effective: &Value,
    context: &Context<'_>,
    now: OffsetDateTime,
) -> Result<Duration, TaskError> {
    Ok(match wait {
        WaitFor::Seconds(value) => {
            Duration::from_secs(integer(value, effective, context, "SecondsPath")?)
        }
        WaitFor::Timestamp(target) => until(*target, now),
        WaitFor::TimestampPath(path) => {
            let value = select(path, effective, context, "TimestampPath")?;
            let target = value.as_str().and_then(parse_timestamp).ok_or_else(|| {
                TaskError::runtime(format!(
                    "TimestampPath {path} must give an RFC 3339 timestamp, got {value}"
                ))
            })?;
            until(target, now)
        }
    })
}

/// A Fail state's `Error` or `Cause`: literal, from a path of the raw input, or from an intrinsic function.
fn fail_text(text: &Option<Text>, raw: &Value, context: &Context<'_>) -> Result<String, TaskError> {
    match text {
        None => Ok(String::new()),
        Some(Text::Literal(text)) => Ok(text.clone()),
        Some(Text::Path(path)) => match select(path, raw, context, "Fail")? {
            Value::String(text) => Ok(text),
            other => Err(TaskError::runtime(format!(
                "{path} must give a string, got {other}"
            ))),
        },
        Some(Text::Intrinsic(call)) => match call.evaluate(raw, context)? {
            Value::String(text) => Ok(text),
            other => Ok(other.to_string()),
        },
    }
}

fn exit<T: TaskInvoker, C: Clock>(
    run: &Run<T, C>,
    state: &State,
    step: Step,
) -> Result<Step, TaskError> {
    let output = match &step {
        Step::Next(_, output) | Step::End(output) => output,
    };
    check_size(output, &format!("the output of state {:?}", state.name))?;
    run.record(EventKind::StateExited {
        state: state.name.clone(),
        state_type: state.kind.type_name(),
        output: output.clone(),
    });
    Ok(step)
}

fn until(target: OffsetDateTime, now: OffsetDateTime) -> Duration {
    Duration::try_from(target - now).unwrap_or(Duration::ZERO)
}

/// Runs attempts of a Task, Parallel or Map state until one succeeds or no retrier applies.
async fn with_retries<T: TaskInvoker, C: Clock>(
    run: &Arc<Run<T, C>>,
    state: &State,
    handling: &ResultHandling,
    effective: &Value,
    entered: &str,
) -> Result<Value, TaskError> {
    let mut attempts = vec![0u64; handling.retry.len()];
    let mut retry_count = 0;
    loop {
        let context = run.context(state, entered, retry_count);
        let error = match attempt(run, state, effective, &context).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Some(delay) = retry_delay(&handling.retry, &mut attempts, &error) else {
            return Err(error);
        };
        retry_count += 1;
        run.record(EventKind::RetryScheduled {
            state: state.name.clone(),
            error: error.error.clone(),
            attempt: retry_count,
            delay_seconds: delay.as_secs_f64(),
        });
        run.shared.clock.sleep(delay).await;
    }
}

/// The delay before the next attempt, or `None` when the first matching retrier is exhausted (or none matches).
fn retry_delay(retriers: &[Retrier], attempts: &mut [u64], error: &TaskError) -> Option<Duration> {
    let (index, retrier) = retriers
        .iter()
        .enumerate()
        .find(|(_, retrier)| error.matches(&retrier.error_equals))?;
    if attempts[index] >= retrier.max_attempts {
        return None;
    }
    let exponent = i32::try_from(attempts[index]).unwrap_or(i32::MAX);
    let mut delay = retrier.interval_seconds * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        delay = delay.min(max);
    }
    if retrier.full_jitter {
        delay *= fastrand::f64();
    }
    attempts[index] += 1;
    Some(Duration::try_from_secs_f64(delay).unwrap_or(Duration::MAX))
}

async fn attempt<T: TaskInvoker, C: Clock>(
    run: &Arc<Run<T, C>>,
    state: &State,
    effective: &Value,
    context: &Context<'_>,
) -> Result<Value, TaskError> {
    let name = &state.name;
    match &state.kind {
        Kind::Task {
            resource,
            parameters,
            timeout,
            ..
        } => {
            let input = match parameters {
                Some(template) => template.render(effective, context)?,
                None => effective.clone(),
            };
            check_size(&input, &format!("the input of task {name:?}"))?;
            let timeout = timeout
                .as_ref()
                .map(|value| integer(value, effective, context, "TimeoutSecondsPath"))
                .transpose()?;
            run.record(EventKind::TaskScheduled {
                state: name.clone(),
                resource: resource.clone(),
                input: input.clone(),
            });
            let call = invoke(&run.shared.invoker, resource, input);
            let result = match timeout {
                Some(seconds) => tokio::select! {
                    result = call => result,
                    () = run.shared.clock.sleep(Duration::from_secs(seconds)) => {
                        run.record(EventKind::TaskTimedOut { state: name.clone(), resource: resource.clone() });
                        return Err(TaskError::new(
                            names::TIMEOUT,
                            format!("task {name:?} ran longer than its timeout of {seconds} s"),
                        ));
                    }
                },
                None => call.await,
            };
            match &result {
                Ok(output) => {
                    check_size(output, &format!("the result of task {name:?}"))?;
                    run.record(EventKind::TaskSucceeded {
                        state: name.clone(),
                        resource: resource.clone(),
                        output: output.clone(),
                    });
                }
                Err(error) => run.record(EventKind::TaskFailed {
                    state: name.clone(),
                    resource: resource.clone(),
                    error: error.error.clone(),
                    cause: error.cause.clone(),
                }),
            }
            result
        }
        Kind::Parallel {
            branches,
            parameters,
            ..
        } => {
            let input = match parameters {
                Some(template) => template.render(effective, context)?,
                None => effective.clone(),
            };
            let jobs = branches
                .iter()
                .map(|branch| (Arc::clone(branch), input.clone()))
                .collect();
            run_concurrently(run, jobs, 0, None).await.map(Value::Array)
        }
        Kind::Map {
            processor,
            items_path,
            item_selector,
            max_concurrency,
            ..
        } => {
            let items = match select(items_path, effective, context, "ItemsPath")? {
                Value::Array(items) => items,
                other => {
                    return Err(TaskError::runtime(format!(
                        "ItemsPath {items_path} must select a JSON array, got {other}"
                    )));
                }
            };
            let limit = integer(max_concurrency, effective, context, "MaxConcurrencyPath")?;
            let mut jobs = Vec::with_capacity(items.len());
            let mut item_context = context.clone();
            for (index, item) in items.into_iter().enumerate() {
                let input = match item_selector {
                    Some(template) => {
                        item_context.map = Some(json!({"Item": {"Index": index, "Value": item}}));
                        template.render(effective, &item_context)?
                    }
                    None => item,
                };
                jobs.push((Arc::clone(processor), input));
            }
            run_concurrently(
                run,
                jobs,
                usize::try_from(limit).unwrap_or(usize::MAX),
                Some(name),
            )
            .await
            .map(Value::Array)
        }
        _ => Err(TaskError::runtime(format!(
            "state {name:?} has no attempts"
        ))),
    }
}

async fn invoke<T: TaskInvoker>(
    invoker: &T,
    resource: &str,
    input: Value,
) -> Result<Value, TaskError> {
    if resource != LAMBDA_INVOKE {
        return invoker.invoke(resource, input).await;
    }
    let Value::Object(mut parameters) = input else {
        return Err(TaskError::runtime(format!(
            "{LAMBDA_INVOKE} needs an object of parameters"
        )));
    };
    let Some(Value::String(function)) = parameters.remove("FunctionName") else {
        return Err(TaskError::runtime(format!(
            "{LAMBDA_INVOKE} needs a string FunctionName"
        )));
    };
    let payload = parameters.remove("Payload").unwrap_or_else(|| json!({}));
    let output = invoker.invoke(&function, payload).await?;
    Ok(json!({
        "ExecutedVersion": "$LATEST",
        "Payload": output,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {"Content-Type": ["application/json"]},
            "HttpHeaders": {"Content-Type": "application/json"},
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": uuid::Uuid::new_v4().to_string()},
        "StatusCode": 200,
    }))
}

/// Runs the branches on tokio tasks, at most `limit` at once (0: no limit), and returns their outputs in order.
/// The first failure cancels the rest and becomes the result. `map_state` names the Map state for its history.
async fn run_concurrently<T: TaskInvoker, C: Clock>(
    run: &Arc<Run<T, C>>,
    jobs: Vec<(Arc<StateMachine>, Value)>,
    limit: usize,
    map_state: Option<&String>,
) -> Result<Vec<Value>, TaskError> {
    let mut outputs: Vec<Option<Value>> = vec![None; jobs.len()];
    let mut pending = jobs.into_iter().enumerate();
    let mut running = JoinSet::new();
    loop {
        while limit == 0 || running.len() < limit {
            let Some((index, (graph, input))) = pending.next() else {
                break;
            };
            if let Some(state) = map_state {
                run.record(EventKind::MapIterationStarted {
                    state: state.clone(),
                    index,
                });
            }
            let branch_run = Arc::clone(run);
            running.spawn(async move { (index, run_graph(branch_run, graph, input).await) });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (index, result) = joined.map_err(|error| {
            TaskError::runtime(format!("a branch stopped before finishing: {error}"))
        })?;
        match result {
            Ok(output) => {
                if let Some(state) = map_state {
                    run.record(EventKind::MapIterationSucceeded {
                        state: state.clone(),
                        index,
                    });
                }
                outputs[index] = Some(output);
            }
            Err(error) => {
                if let Some(state) = map_state {
                    run.record(EventKind::MapIterationFailed {
                        state: state.clone(),
                        index,
                        error: error.error.clone(),
                    });
                }
                running.abort_all();
                return Err(error);
            }
        }
    }
    Ok(outputs.into_iter().flatten().collect())
}
