//! Map and Parallel run their branches concurrently, within MaxConcurrency, and keep results in order.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{failure, output};
use serde_json::{Value, json};
use tokio::time::Instant;
use vidpipe_stepfn::{EventKind, Interpreter, StateMachine, TaskError, TaskInvoker};

/// Sleeps `input.millis` or `input.seconds` (default 1 s), counting the tasks in flight; fails when `input.fail` is true.
#[derive(Clone, Default)]
struct Gauge {
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    started: Arc<Mutex<Vec<Value>>>,
}

impl TaskInvoker for Gauge {
    fn invoke(
        &self,
        _resource: &str,
        input: Value,
    ) -> impl Future<Output = Result<Value, TaskError>> + Send {
        let gauge = self.clone();
        async move {
            gauge.started.lock().unwrap().push(input["n"].clone());
            let now = gauge.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let pause = match input["millis"].as_u64() {
                Some(millis) => Duration::from_millis(millis),
                None => Duration::from_secs(input["seconds"].as_u64().unwrap_or(1)),
            };
            tokio::time::sleep(pause).await;
            gauge.in_flight.fetch_sub(1, Ordering::SeqCst);
            if input["fail"] == true {
                return Err(TaskError::new(
                    "Chunk.Failed",
                    format!("item {} failed", input["n"]),
                ));
            }
            Ok(json!({"doubled": input["n"].as_u64().unwrap_or(0) * 2}))
        }
    }
}

fn map_machine(max_concurrency: u64) -> StateMachine {
    StateMachine::from_value(&json!({
        "StartAt": "Render",
        "States": {
            "Render": {
                "Type": "Map",
                "ItemsPath": "$.chunks",
                "MaxConcurrency": max_concurrency,
                "ItemSelector": {"n.$": "$$.Map.Item.Value", "seconds.$": "$.seconds"},
                "ItemProcessor": {
                    "StartAt": "Chunk",
                    "States": {"Chunk": {"Type": "Task", "Resource": "render", "End": true}}
                },
                "ResultSelector": {"values.$": "$[*].doubled"},
                "End": true
            }
        }
    }))
    .unwrap()
}

fn items(count: u64) -> Value {
    json!({"chunks": (0..count).collect::<Vec<_>>(), "seconds": 1})
}

#[tokio::test(start_paused = true)]
async fn map_concurrency_is_bounded_and_results_keep_their_order() {
    let gauge = Gauge::default();
    let started = Instant::now();
    let execution = Interpreter::new("map", map_machine(3), gauge.clone())
        .execute("run", items(10))
        .await;
    assert_eq!(
        output(&execution),
        &json!({"values": [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]})
    );
    assert_eq!(gauge.max_in_flight.load(Ordering::SeqCst), 3);
    // Ten one-second items, three at a time: four rounds.
    assert_eq!(started.elapsed(), Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn map_concurrency_zero_is_unbounded_and_one_is_sequential() {
    let gauge = Gauge::default();
    Interpreter::new("map", map_machine(0), gauge.clone())
        .execute("run", items(12))
        .await;
    assert_eq!(gauge.max_in_flight.load(Ordering::SeqCst), 12);

    let gauge = Gauge::default();
    Interpreter::new("map", map_machine(1), gauge.clone())
        .execute("run", items(5))
        .await;
    assert_eq!(gauge.max_in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(
        *gauge.started.lock().unwrap(),
        [json!(0), json!(1), json!(2), json!(3), json!(4)]
    );
}

/// On the multi-threaded runtime, in real time, the bound holds too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_concurrency_is_bounded_on_worker_threads() {
    let gauge = Gauge::default();
    let machine = StateMachine::from_value(&json!({
        "StartAt": "Render",
        "States": {
            "Render": {
                "Type": "Map",
                "MaxConcurrencyPath": "$.limit",
                "ItemsPath": "$.chunks",
                "ItemSelector": {"n.$": "$$.Map.Item.Value", "millis": 30},
                "ItemProcessor": {
                    "StartAt": "Chunk",
                    "States": {"Chunk": {"Type": "Task", "Resource": "render", "End": true}}
                },
                "End": true
            }
        }
    }))
    .unwrap();
    let execution = Interpreter::new("map", machine, gauge.clone())
        .execute(
            "run",
            json!({"chunks": (0..16).collect::<Vec<_>>(), "limit": 4}),
        )
        .await;
    assert_eq!(output(&execution).as_array().unwrap().len(), 16);
    assert_eq!(gauge.max_in_flight.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_failed_iteration_fails_the_map_and_cancels_the_rest() {
    let gauge = Gauge::default();
    let machine = StateMachine::from_value(&json!({
        "StartAt": "Render",
        "States": {
            "Render": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "Chunk",
                    "States": {"Chunk": {"Type": "Task", "Resource": "render", "End": true}}
                },
                "End": true
            }
        }
    }))
    .unwrap();
    let input = json!([
        {"n": 0, "seconds": 1},
        {"n": 1, "seconds": 2, "fail": true},
        {"n": 2, "seconds": 5},
        {"n": 3, "seconds": 5},
        {"n": 4, "seconds": 5}
    ]);
    let execution = Interpreter::new("map", machine, gauge.clone())
        .execute("run", input)
        .await;
    assert_eq!(
        failure(&execution),
        &TaskError::new("Chunk.Failed", "item 1 failed")
    );
    // Items 0 and 1 start; item 2 starts when 0 ends; item 1 fails at 2 s, before item 3 could start.
    assert_eq!(
        *gauge.started.lock().unwrap(),
        [json!(0), json!(1), json!(2)]
    );
    assert!(execution.history.iter().any(|event| matches!(
        &event.kind,
        EventKind::MapIterationFailed { index: 1, error, .. } if error == "Chunk.Failed"
    )));
}

#[tokio::test(start_paused = true)]
async fn parallel_branches_run_together_and_a_failure_is_caught() {
    let machine = StateMachine::from_value(&json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Slow", "States": {"Slow": {
                        "Type": "Task", "Resource": "render",
                        "Parameters": {"n": 1, "seconds": 3}, "End": true
                    }}},
                    {"StartAt": "Fast", "States": {"Fast": {
                        "Type": "Task", "Resource": "render",
                        "Parameters": {"n.$": "$.n", "seconds": 1, "fail.$": "$.fail"}, "End": true
                    }}}
                ],
                "ResultPath": "$.results",
                "Catch": [{"ErrorEquals": ["Chunk.Failed"], "ResultPath": "$.error", "Next": "Report"}],
                "End": true
            },
            "Report": {"Type": "Pass", "End": true}
        }
    }))
    .unwrap();
    let interpreter = Interpreter::new("parallel", machine, Gauge::default());
    let started = Instant::now();
    let execution = interpreter
        .execute("ok", json!({"n": 2, "fail": false}))
        .await;
    assert_eq!(
        output(&execution)["results"],
        json!([{"doubled": 2}, {"doubled": 4}])
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "the branches overlap"
    );

    let execution = interpreter
        .execute("bad", json!({"n": 2, "fail": true}))
        .await;
    assert_eq!(
        output(&execution)["error"],
        json!({"Error": "Chunk.Failed", "Cause": "item 2 failed"})
    );
}

/// An execution can itself run on a spawned task, as the CLI and the render command do.
#[tokio::test]
async fn executions_can_be_spawned() {
    let interpreter = Arc::new(Interpreter::new(
        "spawned",
        map_machine(2),
        Gauge::default(),
    ));
    let handle = tokio::spawn({
        let interpreter = Arc::clone(&interpreter);
        async move {
            interpreter
                .execute("run", json!({"chunks": [1, 2], "seconds": 0}))
                .await
        }
    });
    let execution = handle.await.unwrap();
    assert_eq!(output(&execution), &json!({"values": [2, 4]}));
}
