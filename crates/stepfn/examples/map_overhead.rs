//! Measures the interpreter's own cost: a Map over many items whose task returns at once.
//!
//! `cargo run --release -p vidpipe-stepfn --example map_overhead -- 3000 10` (items, MaxConcurrency). Much
//! beyond 3,000 items the input and output pass Step Functions' 256 KiB payload limit, which the interpreter
//! enforces (States.DataLimitExceeded).

use std::time::Instant;

use serde_json::{Value, json};
use vidpipe_stepfn::{Interpreter, Outcome, StateMachine, TaskError, TaskInvoker};

struct Echo;

impl TaskInvoker for Echo {
    async fn invoke(&self, _resource: &str, input: Value) -> Result<Value, TaskError> {
        Ok(input)
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let items: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3_000);
    let concurrency: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let machine = StateMachine::from_value(&json!({
        "StartAt": "Chunks",
        "States": {"Chunks": {
            "Type": "Map",
            "ItemsPath": "$.chunks",
            "MaxConcurrency": concurrency,
            "ItemSelector": {"index.$": "$$.Map.Item.Index", "chunk.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"StartAt": "Render", "States": {"Render": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "render", "Payload.$": "$"},
                "ResultSelector": {"output.$": "$.Payload.chunk"},
                "End": true
            }}},
            "ResultPath": "$.rendered",
            "End": true
        }}
    }))
    .expect("the definition loads");
    let input = json!({"chunks": (0..items).map(|i| json!({"start": i * 60, "frames": 60})).collect::<Vec<_>>()});
    let started = Instant::now();
    let execution = Interpreter::new("overhead", machine, Echo)
        .execute("run", input)
        .await;
    let elapsed = started.elapsed();
    match execution.outcome {
        Outcome::Succeeded { .. } => println!(
            "{items} Map items, MaxConcurrency {concurrency}: {:.1} ms, {:.1} µs per item, {} history events",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / items as f64,
            execution.history.len()
        ),
        Outcome::Failed { error } => eprintln!("failed: {error}"),
    }
}
