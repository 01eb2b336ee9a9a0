//! Retry, Catch, timeouts, Wait states and the clock, with fake tasks on tokio's paused (virtual) clock.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Tasks, failure, output, run};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;
use vidpipe_stepfn::{
    Clock, EventKind, Interpreter, MAX_PAYLOAD_BYTES, StateMachine, TaskError, TaskInvoker,
};

/// Fails with `error` for the first `failures` calls, then returns `{"attempt": n}`; records when each call began.
#[derive(Clone)]
struct Flaky {
    error: &'static str,
    failures: usize,
    calls: Arc<Mutex<Vec<Instant>>>,
}

impl Flaky {
    fn new(error: &'static str, failures: usize) -> Self {
        Self {
            error,
            failures,
            calls: Arc::default(),
        }
    }

    /// Seconds between consecutive calls.
    fn gaps(&self) -> Vec<f64> {
        let calls = self.calls.lock().unwrap();
        calls
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_secs_f64())
            .collect()
    }

    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl TaskInvoker for Flaky {
    async fn invoke(&self, _resource: &str, _input: Value) -> Result<Value, TaskError> {
        let attempt = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Instant::now());
            calls.len()
        };
        if attempt <= self.failures {
            Err(TaskError::new(
                self.error,
                format!("attempt {attempt} failed"),
            ))
        } else {
            Ok(json!({"attempt": attempt}))
        }
    }
}

fn task_machine(task_fields: Value) -> StateMachine {
    let mut task = json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": true});
    task.as_object_mut()
        .unwrap()
        .extend(task_fields.as_object().unwrap().clone());
    StateMachine::from_value(&json!({
        "StartAt": "Work",
        "States": {"Work": task, "Recover": {"Type": "Pass", "End": true}}
    }))
    .unwrap()
}

async fn execute(machine: StateMachine, invoker: impl TaskInvoker) -> vidpipe_stepfn::Execution {
    Interpreter::new("errors", machine, invoker)
        .execute("run", json!({"job": 7}))
        .await
}

#[tokio::test(start_paused = true)]
async fn retry_backs_off_exponentially() {
    let flaky = Flaky::new("Lambda.ServiceException", 3);
    let machine = task_machine(json!({"Retry": [{
        "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
        "IntervalSeconds": 2,
        "BackoffRate": 3,
        "MaxAttempts": 3
    }]}));
    let execution = execute(machine, flaky.clone()).await;
    assert_eq!(output(&execution), &json!({"attempt": 4}));
    assert_eq!(flaky.gaps(), [2.0, 6.0, 18.0]);
    let scheduled: Vec<f64> = execution
        .history
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::RetryScheduled { delay_seconds, .. } => Some(*delay_seconds),
            _ => None,
        })
        .collect();
    assert_eq!(scheduled, [2.0, 6.0, 18.0]);
}

#[tokio::test(start_paused = true)]
async fn max_delay_caps_and_full_jitter_shortens() {
    let flaky = Flaky::new("Throttled", 3);
    let machine = task_machine(json!({"Retry": [{
        "ErrorEquals": ["States.TaskFailed"],
        "IntervalSeconds": 1,
        "BackoffRate": 10,
        "MaxDelaySeconds": 5,
        "MaxAttempts": 3
    }]}));
    execute(machine, flaky.clone()).await;
    assert_eq!(flaky.gaps(), [1.0, 5.0, 5.0]);

    let flaky = Flaky::new("Throttled", 3);
    let machine = task_machine(json!({"Retry": [{
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 4,
        "BackoffRate": 2,
        "MaxAttempts": 3,
        "JitterStrategy": "FULL"
    }]}));
    execute(machine, flaky.clone()).await;
    let gaps = flaky.gaps();
    assert_eq!(gaps.len(), 3);
    for (gap, ceiling) in gaps.iter().zip([4.0, 8.0, 16.0]) {
        assert!(*gap <= ceiling, "jittered delay {gap} exceeds {ceiling}");
    }
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_fall_through_to_catch() {
    let flaky = Flaky::new("Render.Failed", usize::MAX);
    let machine = task_machine(json!({
        "Retry": [{"ErrorEquals": ["Render.Failed"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["Render.Failed"], "ResultPath": "$.error", "Next": "Recover"}]
    }));
    let execution = execute(machine, flaky.clone()).await;
    assert_eq!(flaky.count(), 3, "one call and two retries");
    assert_eq!(
        output(&execution),
        &json!({"job": 7, "error": {"Error": "Render.Failed", "Cause": "attempt 3 failed"}})
    );
    assert!(execution.history.iter().any(|event| matches!(
        &event.kind,
        EventKind::ErrorCaught { next, .. } if next == "Recover"
    )));
}

#[tokio::test(start_paused = true)]
async fn only_the_first_matching_retrier_applies() {
    let flaky = Flaky::new("A", usize::MAX);
    let machine = task_machine(json!({"Retry": [
        {"ErrorEquals": ["A"], "MaxAttempts": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}
    ]}));
    let execution = execute(machine, flaky.clone()).await;
    assert_eq!(flaky.count(), 2);
    assert_eq!(failure(&execution).error, "A");

    let flaky = Flaky::new("B", usize::MAX);
    let machine = task_machine(json!({"Retry": [{"ErrorEquals": ["B"], "MaxAttempts": 0}]}));
    execute(machine, flaky.clone()).await;
    assert_eq!(flaky.count(), 1, "MaxAttempts 0 never retries");
}

/// Sleeps `seconds` (virtual time) before answering.
#[derive(Clone)]
struct Slow {
    seconds: u64,
    calls: Arc<AtomicUsize>,
}

impl TaskInvoker for Slow {
    fn invoke(
        &self,
        _resource: &str,
        _input: Value,
    ) -> impl Future<Output = Result<Value, TaskError>> + Send {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let seconds = self.seconds;
        async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            Ok(json!("finished"))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn task_timeout_raises_states_timeout_which_task_failed_does_not_match() {
    let slow = Slow {
        seconds: 60,
        calls: Arc::default(),
    };
    let machine = task_machine(json!({
        "TimeoutSeconds": 5,
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3}],
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Recover"}]
    }));
    let started = Instant::now();
    let execution = execute(machine, slow.clone()).await;
    assert_eq!(
        slow.calls.load(Ordering::SeqCst),
        1,
        "States.TaskFailed does not retry a timeout"
    );
    assert_eq!(output(&execution)["Error"], "States.Timeout");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(
        execution
            .history
            .iter()
            .any(|event| matches!(event.kind, EventKind::TaskTimedOut { .. }))
    );

    // TimeoutSecondsPath reads the limit from the input; a fast enough task succeeds.
    let machine = StateMachine::from_value(&json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": "work", "TimeoutSecondsPath": "$.limit", "End": true}}
    }))
    .unwrap();
    let fast = Slow {
        seconds: 3,
        calls: Arc::default(),
    };
    let execution = Interpreter::new("t", machine, fast)
        .execute("run", json!({"limit": 4}))
        .await;
    assert_eq!(output(&execution), &json!("finished"));
}

#[tokio::test(start_paused = true)]
async fn execution_timeout_ends_a_long_wait() {
    let machine = StateMachine::from_value(&json!({
        "TimeoutSeconds": 10,
        "StartAt": "Sleep",
        "States": {"Sleep": {"Type": "Wait", "Seconds": 100, "End": true}}
    }))
    .unwrap();
    let started = Instant::now();
    let execution = Interpreter::new("t", machine, Tasks::new())
        .execute("run", json!({}))
        .await;
    assert_eq!(failure(&execution).error, "States.Timeout");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn wait_states_wait_for_seconds_and_timestamps() {
    let target = (OffsetDateTime::now_utc() + Duration::from_secs(40))
        .replace_nanosecond(0)
        .unwrap();
    let definition = json!({
        "StartAt": "Fixed",
        "States": {
            "Fixed": {"Type": "Wait", "Seconds": 10, "Next": "FromInput"},
            "FromInput": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Until"},
            "Until": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": true}
        }
    });
    let started = Instant::now();
    let execution = run(
        &definition.to_string(),
        &Tasks::new(),
        json!({"delay": 5, "until": target.format(&Rfc3339).unwrap()}),
    )
    .await;
    assert_eq!(output(&execution)["delay"], 5);
    let waited = started.elapsed().as_secs_f64();
    // 10 s, 5 s, then up to the timestamp 40 s after the start; the past timestamp does not wait.
    assert!((39.0..=40.0).contains(&waited), "waited {waited} s");
}

/// A clock that records sleeps and advances its time without waiting.
#[derive(Clone)]
struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        *self.now.lock().unwrap() += duration;
        self.sleeps.lock().unwrap().push(duration);
        std::future::ready(())
    }
}

#[tokio::test]
async fn waits_and_retries_go_through_the_clock() {
    let clock = ManualClock {
        now: Arc::new(Mutex::new(
            OffsetDateTime::parse("2030-01-01T00:00:00Z", &Rfc3339).unwrap(),
        )),
        sleeps: Arc::default(),
    };
    let machine = StateMachine::from_value(&json!({
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Until"},
            "Until": {"Type": "Wait", "Timestamp": "2030-01-01T00:01:00Z", "Next": "Work"},
            "Work": {
                "Type": "Task",
                "Resource": "work",
                "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 3}],
                "End": true
            }
        }
    }))
    .unwrap();
    let flaky = Flaky::new("Busy", 1);
    let execution = Interpreter::with_clock("clocked", machine, flaky, clock.clone())
        .execute("run", json!({}))
        .await;
    assert_eq!(output(&execution), &json!({"attempt": 2}));
    assert_eq!(
        *clock.sleeps.lock().unwrap(),
        [
            Duration::from_secs(30),
            Duration::from_secs(30),
            Duration::from_secs(3)
        ]
    );
    assert_eq!(execution.history[0].timestamp, "2030-01-01T00:00:00.000Z");
}

#[tokio::test]
async fn fail_states_name_their_error_from_paths() {
    let definition = json!({
        "StartAt": "Stop",
        "States": {"Stop": {"Type": "Fail", "ErrorPath": "$.code", "CausePath": "$.why"}}
    });
    let execution = run(
        &definition.to_string(),
        &Tasks::new(),
        json!({"code": "Chunk.Missing", "why": "chunk 3 was not rendered"}),
    )
    .await;
    assert_eq!(
        failure(&execution),
        &TaskError::new("Chunk.Missing", "chunk 3 was not rendered")
    );
}

#[tokio::test]
async fn oversized_payloads_fail_with_data_limit_exceeded_even_under_states_all() {
    let definition = json!({
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Task",
                "Resource": "big",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Succeed"}
        }
    });
    let tasks = Tasks::new().on("big", |_| Ok(json!("x".repeat(MAX_PAYLOAD_BYTES + 1))));
    let execution = run(&definition.to_string(), &tasks, json!({})).await;
    assert_eq!(failure(&execution).error, "States.DataLimitExceeded");
}

#[tokio::test]
async fn unmatched_choice_without_default_fails() {
    let definition = json!({
        "StartAt": "Pick",
        "States": {
            "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}]},
            "One": {"Type": "Succeed"}
        }
    });
    let execution = run(&definition.to_string(), &Tasks::new(), json!({"n": 2})).await;
    assert_eq!(failure(&execution).error, "States.NoChoiceMatched");
}

/// Fails with the listed error names in turn, then succeeds; records when each call began.
#[derive(Clone)]
struct Scripted {
    errors: Arc<Vec<&'static str>>,
    calls: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    fn new(errors: Vec<&'static str>) -> Self {
        Self {
            errors: Arc::new(errors),
            calls: Arc::default(),
        }
    }

    fn gaps(&self) -> Vec<f64> {
        let calls = self.calls.lock().unwrap();
        calls
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_secs_f64())
            .collect()
    }
}

impl TaskInvoker for Scripted {
    async fn invoke(&self, _resource: &str, _input: Value) -> Result<Value, TaskError> {
        let attempt = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Instant::now());
            calls.len()
        };
        match self.errors.get(attempt - 1) {
            Some(error) => Err(TaskError::new(*error, "scripted")),
            None => Ok(json!("done")),
        }
    }
}

/// "Error handling in Step Functions" (docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html),
/// "Complex retry scenarios": errors ErrorA, ErrorB, ErrorC, ErrorB wait 1, 2 and 5 seconds; the fourth error
/// finds its retrier exhausted (MaxAttempts 2 across ErrorA and ErrorB) and goes to Z through the Catch.
#[tokio::test(start_paused = true)]
async fn complex_retry_scenario_example() {
    let machine = StateMachine::from_value(&json!({
        "StartAt": "X",
        "States": {
            "X": {
                "Type": "Task",
                "Resource": "arn:aws:states:us-east-1:123456789012:task:X",
                "Next": "Y",
                "Retry": [
                    {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2},
                    {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]
            },
            "Y": {"Type": "Pass", "Result": "Y", "End": true},
            "Z": {"Type": "Pass", "End": true}
        }
    }))
    .unwrap();
    let scripted = Scripted::new(vec!["ErrorA", "ErrorB", "ErrorC", "ErrorB", "ErrorB"]);
    let execution = execute(machine, scripted.clone()).await;
    assert_eq!(scripted.gaps(), [1.0, 2.0, 5.0]);
    assert_eq!(
        output(&execution),
        &json!({"Error": "ErrorB", "Cause": "scripted"})
    );
}

/// Same page: "makes 2 retry attempts after waiting for 3 and 4.5 seconds", and the retrier pair that "retries
/// any error except States.Timeout".
#[tokio::test(start_paused = true)]
async fn retry_field_examples() {
    let machine = task_machine(json!({"Retry": [{
        "ErrorEquals": ["States.Timeout"],
        "IntervalSeconds": 3,
        "MaxAttempts": 2,
        "BackoffRate": 1.5
    }]}));
    let scripted = Scripted::new(vec!["States.Timeout"; 3]);
    let execution = execute(machine, scripted.clone()).await;
    assert_eq!(scripted.gaps(), [3.0, 4.5]);
    assert_eq!(failure(&execution).error, "States.Timeout");

    let all_but_timeout = json!({"Retry": [
        {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"]}
    ]});
    let scripted = Scripted::new(vec!["States.Timeout"]);
    execute(task_machine(all_but_timeout.clone()), scripted.clone()).await;
    assert!(scripted.gaps().is_empty(), "a timeout is not retried");
    let scripted = Scripted::new(vec!["Lambda.ServiceException"; 3]);
    let execution = execute(task_machine(all_but_timeout), scripted.clone()).await;
    assert_eq!(scripted.gaps(), [1.0, 2.0, 4.0]);
    assert_eq!(output(&execution), &json!("done"));
}

/// Same page, "Handling a failure using Catch" (HandledError goes to the fallback Pass state), and "Cause
/// payloads and service integrations" (States.StringToJson on the caught Cause).
#[tokio::test]
async fn catch_examples() {
    let fail_function = "arn:aws:lambda:us-east-1:123456789012:function:FailFunction";
    let definition = json!({
        "Comment": "A Hello World example of the Amazon States Language using an AWS Lambda function",
        "StartAt": "HelloWorld",
        "States": {
            "HelloWorld": {
                "Type": "Task",
                "Resource": fail_function,
                "Catch": [{"ErrorEquals": ["HandledError"], "Next": "fallback"}],
                "End": true
            },
            "fallback": {"Type": "Pass", "Result": "Hello, AWS Step Functions!", "End": true}
        }
    });
    let tasks = Tasks::new().on(fail_function, |_| {
        Err(TaskError::new("HandledError", "error"))
    });
    let execution = run(&definition.to_string(), &tasks, json!({})).await;
    assert_eq!(output(&execution), &json!("Hello, AWS Step Functions!"));

    let definition = json!({
        "StartAt": "Query",
        "States": {
            "Query": {
                "Type": "Task",
                "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle escaped JSON with JSONtoString"}],
                "End": true
            },
            "Handle escaped JSON with JSONtoString": {
                "Type": "Pass",
                "Parameters": {"Cause.$": "States.StringToJson($.Cause)"},
                "End": true
            }
        }
    });
    let tasks = Tasks::new().on("arn:aws:states:::athena:startQueryExecution.sync", |_| {
        Err(TaskError::new(
            "Athena.AmazonAthenaException",
            r#"{"QueryExecution": {"Status": {"State": "FAILED"}}}"#,
        ))
    });
    let execution = run(&definition.to_string(), &tasks, json!({})).await;
    assert_eq!(
        output(&execution),
        &json!({"Cause": {"QueryExecution": {"Status": {"State": "FAILED"}}}})
    );
}
