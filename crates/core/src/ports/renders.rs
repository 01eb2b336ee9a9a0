//! [`RenderStore`] and [`ProcessedEventStore`]: what the notifier records besides streams.

use std::future::Future;

use super::StoreError;
use crate::stream_status::{RenderResult, RenderStatus};

/// What recording a render result did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderOutcome {
    /// The render item now has this status (written now, or by an earlier delivery of the same result).
    Recorded,
    /// The render already ended with another status (the first terminal status wins); nothing changed.
    AlreadyEnded(String),
}

/// The renders' terminal statuses.
pub trait RenderStore: Send + Sync {
    /// Records a render's terminal status, expiring at `expires_at` (epoch seconds). The first terminal status
    /// wins; the same result again is harmless.
    fn record_render(
        &self,
        result: &RenderResult,
        status: &RenderStatus,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<RenderOutcome, StoreError>> + Send;
}

/// Markers of the events already processed, so a redelivered event publishes nothing.
pub trait ProcessedEventStore: Send + Sync {
    /// Whether the event `event_id` was processed.
    fn is_processed(&self, event_id: &str)
    -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks the event `event_id` processed, until `expires_at` (epoch seconds).
    fn mark_processed(
        &self,
        event_id: &str,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
