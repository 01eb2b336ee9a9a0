//! Runs one assembler task input (a JSON file in the shape of `events/assembler/*.json`) in-process against local
//! paths and prints the task output: `cargo run -p vidpipe-assembler --example assemble_local -- event.json`.
//! `scripts/bench-assemble.sh` uses it to time the join of a long render.

use vidpipe_engine::{Assembler, Storage};
use vidpipe_lambda::ErrorType;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: assemble_local <event.json> (local paths only)")?;
    let payload = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let output = vidpipe_assembler::run(
        payload,
        &Assembler::from_env(Storage::local(), |name| std::env::var(name).ok()),
    )
    .await
    .map_err(|e| format!("{}: {e}", e.error_type()))?;
    println!("{}", serde_json::to_string(&output)?);
    Ok(())
}
