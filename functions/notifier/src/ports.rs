//! What the notifier needs: one small trait per dependency, implemented by the AWS adapters and, in handler unit
//! tests, by fakes.

use std::future::Future;
use vidpipe_aws::notify::{PublishError, Publisher};
use vidpipe_aws::recordings::StoreError;
use vidpipe_aws::streams::{JobEventOutcome, RenderOutcome, StatusTable};
use vidpipe_core::jobevent::StreamUpdate;
use vidpipe_core::notify::DomainEvent;
use vidpipe_core::stream_status::{RenderResult, RenderStatus};

/// Stream and render status, and processed-event markers.
pub trait StatusStore: Send + Sync {
    /// Applies a job event to a stream, forward only.
    fn apply_job_event(
        &self,
        stream: &str,
        generation: u64,
        update: &StreamUpdate,
        event_id: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<JobEventOutcome, StoreError>> + Send;
    /// Records a render's terminal status.
    fn record_render(
        &self,
        result: &RenderResult,
        status: &RenderStatus,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<RenderOutcome, StoreError>> + Send;
    /// Whether an event was processed.
    fn event_processed(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks an event processed.
    fn mark_event_processed(
        &self,
        id: &str,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where domain events go.
pub trait EventPublisher: Send + Sync {
    /// Publishes one event (bus, then webhook).
    fn publish(&self, event: &DomainEvent)
    -> impl Future<Output = Result<(), PublishError>> + Send;
}

impl StatusStore for StatusTable {
    fn apply_job_event(
        &self,
        stream: &str,
        generation: u64,
        update: &StreamUpdate,
        event_id: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<JobEventOutcome, StoreError>> + Send {
        StatusTable::apply_job_event(self, stream, generation, update, event_id, now_ms)
    }
    fn record_render(
        &self,
        result: &RenderResult,
        status: &RenderStatus,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<RenderOutcome, StoreError>> + Send {
        StatusTable::record_render(self, result, status, now_ms, expires_at)
    }
    fn event_processed(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send {
        StatusTable::event_processed(self, id)
    }
    fn mark_event_processed(
        &self,
        id: &str,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        StatusTable::mark_event_processed(self, id, now_ms, expires_at)
    }
}

impl EventPublisher for Publisher {
    fn publish(
        &self,
        event: &DomainEvent,
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        Publisher::publish(self, event)
    }
}
