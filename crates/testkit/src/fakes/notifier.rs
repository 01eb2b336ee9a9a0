//! [`InMemoryRenders`], [`InMemoryProcessedEvents`] and [`RecordingPublisher`]: what the notifier writes and
//! publishes, in memory.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use vidpipe_core::notify::DomainEvent;
use vidpipe_core::ports::{
    EventPublisher, ProcessedEventStore, PublishError, RenderOutcome, RenderStore, StoreError,
};
use vidpipe_core::stream_status::{RenderResult, RenderStatus};

/// Renders' terminal statuses: the first one wins, as in the DynamoDB adapter.
#[derive(Debug, Default)]
pub struct InMemoryRenders(Mutex<HashMap<String, String>>);

impl InMemoryRenders {
    /// The status recorded for `render_id`.
    pub fn status(&self, render_id: &str) -> Option<String> {
        self.0.lock().expect("renders lock").get(render_id).cloned()
    }
}

impl RenderStore for InMemoryRenders {
    async fn record_render(
        &self,
        result: &RenderResult,
        status: &RenderStatus,
        _now_ms: u64,
        _expires_at: u64,
    ) -> Result<RenderOutcome, StoreError> {
        let mut renders = self.0.lock().expect("renders lock");
        let stored = renders
            .entry(result.render_id.clone())
            .or_insert_with(|| status.as_str().to_owned());
        Ok(if stored == status.as_str() {
            RenderOutcome::Recorded
        } else {
            RenderOutcome::AlreadyEnded(stored.clone())
        })
    }
}

/// Markers of processed events.
#[derive(Debug, Default)]
pub struct InMemoryProcessedEvents(Mutex<HashSet<String>>);

impl ProcessedEventStore for InMemoryProcessedEvents {
    async fn is_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self.0.lock().expect("markers lock").contains(event_id))
    }

    async fn mark_processed(
        &self,
        event_id: &str,
        _now_ms: u64,
        _expires_at: u64,
    ) -> Result<(), StoreError> {
        self.0
            .lock()
            .expect("markers lock")
            .insert(event_id.to_owned());
        Ok(())
    }
}

/// Keeps every published event, in order.
#[derive(Debug, Default)]
pub struct RecordingPublisher(pub Mutex<Vec<DomainEvent>>);

impl RecordingPublisher {
    /// The events published so far.
    pub fn events(&self) -> Vec<DomainEvent> {
        self.0.lock().expect("events lock").clone()
    }
}

impl EventPublisher for RecordingPublisher {
    async fn publish(&self, event: &DomainEvent) -> Result<(), PublishError> {
        self.0.lock().expect("events lock").push(event.clone());
        Ok(())
    }
}
