//! The EventBridge bus: domain events (source `vidpipe`) and, from the local engine, MediaConvert-shaped events.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use vidpipe_core::error::{Cause, Chain};
use vidpipe_core::jobevent::{JOB_STATE_CHANGE, MEDIACONVERT_SOURCE};
use vidpipe_core::notify::{DomainEvent, EVENT_SOURCE};

/// Why an event was not put on the bus.
#[derive(Debug, thiserror::Error)]
pub enum EventBusError {
    /// The call failed (network, throttling, permissions).
    #[error("EventBridge PutEvents failed: {}", Chain(.0.as_ref()))]
    Call(#[source] Cause),
    /// EventBridge answered but refused the entry.
    #[error("EventBridge refused the event: {code}: {message}")]
    Refused {
        /// EventBridge's error code.
        code: String,
        /// EventBridge's message.
        message: String,
    },
    /// The detail could not be serialized.
    #[error("event detail is not JSON: {0}")]
    Detail(#[from] serde_json::Error),
}

/// One EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: Client,
    bus_name: String,
}

impl EventBus {
    /// A bus by name (`default` for the account's default bus) or ARN.
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// The bus name or ARN.
    pub fn name(&self) -> &str {
        &self.bus_name
    }

    /// Puts one event; an entry EventBridge refuses is an error, never dropped.
    pub async fn put(
        &self,
        source: &str,
        detail_type: &str,
        detail: &serde_json::Value,
        resources: &[String],
    ) -> Result<(), EventBusError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(source)
            .detail_type(detail_type)
            .detail(serde_json::to_string(detail)?)
            .set_resources((!resources.is_empty()).then(|| resources.to_vec()))
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| EventBusError::Call(Box::new(e)))?;
        if out.failed_entry_count() > 0 {
            let failed = out.entries().iter().find(|e| e.error_code().is_some());
            return Err(EventBusError::Refused {
                code: failed
                    .and_then(|e| e.error_code())
                    .unwrap_or_default()
                    .to_owned(),
                message: failed
                    .and_then(|e| e.error_message())
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// Puts an AWS service's event that a local stand-in emitted (the engine's MediaConvert "Job State Change",
    /// the local Step Functions endpoint's "Execution Status Change") as the service puts it: its `source`,
    /// `detail-type`, `resources` and `detail`, so rules route it as they would on AWS.
    pub async fn put_service_event(&self, event: &serde_json::Value) -> Result<(), EventBusError> {
        let resources: Vec<String> = event["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
        self.put(
            event["source"].as_str().unwrap_or(MEDIACONVERT_SOURCE),
            event["detail-type"].as_str().unwrap_or(JOB_STATE_CHANGE),
            &event["detail"],
            &resources,
        )
        .await
    }

    /// Publishes a domain event: source `vidpipe`, `detail-type` the event type, `detail` the event.
    pub async fn publish(&self, event: &DomainEvent) -> Result<(), EventBusError> {
        self.put(
            EVENT_SOURCE,
            event.event_type.as_str(),
            &serde_json::to_value(event)?,
            &[],
        )
        .await
    }
}
