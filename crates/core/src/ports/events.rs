//! [`EventPublisher`]: where domain events go.

use std::future::Future;

use crate::error::{Cause, Chain};
use crate::notify::DomainEvent;

/// Why a domain event was not published. Delivery is at least once: the caller fails its invocation, and the
/// retry publishes the same event (same id) again.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The bus refused the event or could not be reached.
    #[error("the event bus did not take the event: {}", Chain(.0.as_ref()))]
    Bus(#[source] Cause),
    /// The webhook failed for good, and its dead-letter queue refused the failure too.
    #[error(
        "the webhook failed ({webhook}) and its dead-letter queue refused it: {}",
        Chain(.dead_letter.as_ref())
    )]
    DeadLetter {
        /// The webhook's last error.
        webhook: String,
        /// The dead-letter queue's error.
        #[source]
        dead_letter: Cause,
    },
    /// The event does not serialize (never happens for a [`DomainEvent`]).
    #[error("the event is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
}

/// Where domain events go: the bus (source `vidpipe`), then the webhook when one is configured.
pub trait EventPublisher: Send + Sync {
    /// Publishes one event.
    fn publish(&self, event: &DomainEvent)
    -> impl Future<Output = Result<(), PublishError>> + Send;
}
