//! Domain events: what vidpipe tells the application, on the EventBridge bus and in signed webhooks.
//!
//! Every event goes to one bus with source [`EVENT_SOURCE`] and the event type as its `detail-type`; the `detail`
//! (and a webhook's body) is the [`DomainEvent`] itself.

use serde::{Deserialize, Serialize};

/// The EventBridge `source` of every domain event.
pub const EVENT_SOURCE: &str = "vidpipe";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DomainEventType {
    /// A recording is in S3.
    #[serde(rename = "recording.uploaded")]
    RecordingUploaded,
    /// A stream's output (composite or single-source fallback) is ready.
    #[serde(rename = "composite.ready")]
    CompositeReady,
    /// A stream's output could not be made.
    #[serde(rename = "composite.failed")]
    CompositeFailed,
    /// A chunked render moved forward (throttled: `render::record::ANNOUNCE_STEP` percent or
    /// `ANNOUNCE_INTERVAL_MS`).
    #[serde(rename = "render.progress")]
    RenderProgress,
    /// A chunked render is ready.
    #[serde(rename = "render.ready")]
    RenderReady,
    /// A chunked render failed.
    #[serde(rename = "render.failed")]
    RenderFailed,
    /// A playback package is ready (its storyboard written).
    #[serde(rename = "playback.ready")]
    PlaybackReady,
    /// A playback package could not be made.
    #[serde(rename = "playback.failed")]
    PlaybackFailed,
    /// Every preview of a call recording is ready.
    #[serde(rename = "call.preview.ready")]
    CallPreviewReady,
    /// A preview of a call recording could not be made.
    #[serde(rename = "call.preview.failed")]
    CallPreviewFailed,
    /// A call recording's export is ready.
    #[serde(rename = "call.export.ready")]
    CallExportReady,
    /// A call recording's export could not be made.
    #[serde(rename = "call.export.failed")]
    CallExportFailed,
}

impl DomainEventType {
    /// The name on the wire (`detail-type` on the bus, `type` in the body).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecordingUploaded => "recording.uploaded",
            Self::CompositeReady => "composite.ready",
            Self::CompositeFailed => "composite.failed",
            Self::RenderProgress => "render.progress",
            Self::RenderReady => "render.ready",
            Self::RenderFailed => "render.failed",
            Self::PlaybackReady => "playback.ready",
            Self::PlaybackFailed => "playback.failed",
            Self::CallPreviewReady => "call.preview.ready",
            Self::CallPreviewFailed => "call.preview.failed",
            Self::CallExportReady => "call.export.ready",
            Self::CallExportFailed => "call.export.failed",
        }
    }
}

/// One domain event: the EventBridge `detail` and the webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEvent {
    /// Stable for what caused it (derived from the triggering event), so a redelivery carries the same id and
    /// receivers can drop duplicates.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: DomainEventType,
    /// When it happened, RFC 3339.
    pub time: String,
    /// What it is about, by type: `{"stream", "status", "output_key", ...}`, `{"recording_id", "key", ...}`,
    /// `{"render_id", "status", "output_uri", ...}` or `{"asset", "status", ...}`.
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_named_on_the_wire_as_in_the_contract() {
        for t in [
            DomainEventType::RecordingUploaded,
            DomainEventType::CompositeReady,
            DomainEventType::CompositeFailed,
            DomainEventType::RenderProgress,
            DomainEventType::RenderReady,
            DomainEventType::RenderFailed,
            DomainEventType::PlaybackReady,
            DomainEventType::PlaybackFailed,
            DomainEventType::CallPreviewReady,
            DomainEventType::CallPreviewFailed,
            DomainEventType::CallExportReady,
            DomainEventType::CallExportFailed,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        let event = DomainEvent {
            id: "e1".into(),
            event_type: DomainEventType::CompositeReady,
            time: "2026-11-21T10:00:00Z".into(),
            data: serde_json::json!({"stream": "s1"}),
        };
        let body = serde_json::to_value(&event).unwrap();
        assert_eq!(body["type"], "composite.ready");
        assert_eq!(serde_json::from_value::<DomainEvent>(body).unwrap(), event);
    }
}
