//! [`InMemoryProcessedEvents`] and [`RecordingPublisher`]: what the notifier marks and publishes, in memory.

use std::collections::HashSet;
use std::sync::Mutex;

use vidpipe_core::notify::DomainEvent;
use vidpipe_core::ports::{EventPublisher, ProcessedEventStore, PublishError, StoreError};

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
