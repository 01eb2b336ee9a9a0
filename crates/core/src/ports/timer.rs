//! [`PartnerTimer`]: the durable timer that ends a stream's wait for its partner recording, and what every
//! implementation of it shares: the execution's name and input.

use std::future::Future;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Cause, Chain};

/// A timer that was not started (the caller fails its invocation, and the retry starts it).
#[derive(Debug, thiserror::Error)]
#[error("starting the partner timer failed: {}", Chain(.0.as_ref()))]
pub struct TimerError(#[source] pub Cause);

/// The durable partner timer: after `wait`, the compositor is invoked with `{"partner_timeout": {"stream"}}`.
pub trait PartnerTimer: Send + Sync {
    /// Starts the timer for `stream`, waiting for the partner of the recording `instance` (its etag): starting it
    /// again for the same stream and instance is harmless; a re-uploaded recording gets a timer of its own.
    fn start(
        &self,
        stream: &str,
        instance: &str,
        wait: Duration,
    ) -> impl Future<Output = Result<(), TimerError>> + Send;
}

/// The timer's execution name for `stream` and the recording `instance` it waits on: deterministic (so a second
/// start is recognised as the same timer), at most 80 characters of `[A-Za-z0-9-_]` (Step Functions' rule).
pub fn execution_name(stream: &str, instance: &str) -> String {
    let digest = hex::encode(Sha256::digest(format!("{stream}/{instance}").as_bytes()));
    format!("partner-{}", &digest[..40])
}

/// The timer's execution input: `{"stream", "wait_seconds"}` (what `statemachines/partner-timeout.asl.json`
/// reads).
pub fn execution_input(stream: &str, wait: Duration) -> serde_json::Value {
    serde_json::json!({"stream": stream, "wait_seconds": wait.as_secs()})
}
