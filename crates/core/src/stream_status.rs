//! A stream's client-facing status, the forward-only rule for job events, and the domain events the notifier
//! publishes for composites and renders.
//!
//! Order: `queued < processing < ready = failed` (terminal). Within `processing`, `progress` only grows. Events
//! apply only to the stream's current `generation`; a new generation (a job the compositor submits later) starts
//! again at `processing`, so events of older generations change nothing.

use crate::capability::CapabilityDigest;
use crate::cost::JobCost;
use crate::jobevent::StreamUpdate;
use crate::notify::{DomainEvent, DomainEventType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The status clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamStatus {
    /// Waiting for the partner recording, or claimed but not yet submitted.
    Queued,
    /// A job is submitted or running.
    Processing,
    /// The output is written.
    Ready,
    /// The output could not be made.
    Failed,
}

impl StreamStatus {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "queued" => Some(Self::Queued),
            "processing" => Some(Self::Processing),
            "ready" => Some(Self::Ready),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// True for `ready` and `failed`.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Ready | Self::Failed)
    }
}

/// The part of a stream item that job events may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobProgressState {
    /// The current generation (0 before the first job).
    pub generation: u64,
    /// The status.
    pub status: StreamStatus,
    /// Percent complete (0 when absent).
    pub progress: u8,
    /// The last generation whose job the compositor canceled itself, to replace it (0: none): that job's
    /// cancellation fails nothing.
    pub superseded_generation: u64,
}

impl JobProgressState {
    /// Whether an event of job `generation` asking for `update` moves this state forward. The DynamoDB adapter
    /// enforces the same rule in its condition expression.
    pub fn admits(&self, generation: u64, update: &StreamUpdate) -> bool {
        if generation != self.generation
            || update.is_cancellation() && generation <= self.superseded_generation
        {
            return false;
        }
        match (self.status, update) {
            (StreamStatus::Queued, _) => true,
            (StreamStatus::Processing, StreamUpdate::Progress(p)) => *p > self.progress,
            (StreamStatus::Processing, _) => true,
            (StreamStatus::Ready | StreamStatus::Failed, _) => false,
        }
    }

    /// The state after an admitted `update`.
    pub fn after(&self, update: &StreamUpdate) -> Self {
        match update {
            StreamUpdate::Progress(p) => Self {
                status: StreamStatus::Processing,
                progress: *p,
                ..*self
            },
            StreamUpdate::Ready { .. } => Self {
                status: StreamStatus::Ready,
                progress: 100,
                ..*self
            },
            StreamUpdate::Failed { .. } => Self {
                status: StreamStatus::Failed,
                ..*self
            },
        }
    }
}

/// A stream as clients see it (and as job events change it): owner, status, the current job and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// The stream name.
    pub stream: String,
    /// Who signed its uploads.
    pub owner: Option<String>,
    /// The digest of the capability an anonymous owner must present to sign or read it again.
    pub capability: Option<CapabilityDigest>,
    /// The status (`queued` while the item carries none).
    pub status: StreamStatus,
    /// Percent complete of the current job.
    pub progress: u8,
    /// The current generation (0 before the first job).
    pub generation: u64,
    /// The current job.
    pub job_id: Option<String>,
    /// `composite` or `single`.
    pub job_kind: Option<String>,
    /// Why the job is single-source.
    pub fallback_reason: Option<String>,
    /// The output's key, once ready.
    pub output_key: Option<String>,
    /// The error code, once failed.
    pub error_code: Option<String>,
    /// The error message, once failed.
    pub error_message: Option<String>,
    /// The last generation the compositor canceled itself to replace it (0: none).
    pub superseded_generation: u64,
    /// How many different objects arrived as the screen recording (more than one: it was overwritten).
    pub screen_uploads: u32,
    /// How many different objects arrived as the camera recording.
    pub camera_uploads: u32,
    /// The estimated cost of the job that made the output (`cost::JobCost`), once ready.
    pub cost: Option<JobCost>,
}

impl StreamRecord {
    /// A stream with only a name (and perhaps an owner): `queued`, no job yet.
    pub fn new(stream: impl Into<String>, owner: Option<String>) -> Self {
        Self {
            stream: stream.into(),
            owner,
            capability: None,
            status: StreamStatus::Queued,
            progress: 0,
            generation: 0,
            job_id: None,
            job_kind: None,
            fallback_reason: None,
            output_key: None,
            error_code: None,
            error_message: None,
            superseded_generation: 0,
            screen_uploads: 0,
            camera_uploads: 0,
            cost: None,
        }
    }

    /// The part job events change.
    pub fn progress_state(&self) -> JobProgressState {
        JobProgressState {
            generation: self.generation,
            status: self.status,
            progress: self.progress,
            superseded_generation: self.superseded_generation,
        }
    }
}

/// What the notifier knows about a stream job when it announces its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeOutcome<'a> {
    /// The stream.
    pub stream: &'a str,
    /// The generation that ended.
    pub generation: u64,
    /// The MediaConvert job id.
    pub job_id: &'a str,
    /// `composite` or `single`.
    pub job_kind: &'a str,
    /// Why a single-source job was made (`camera_missing`, `screen_missing`).
    pub fallback_reason: Option<&'a str>,
}

/// `composite.ready` or `composite.failed` for a terminal `update`; `None` for progress. The id derives from the
/// MediaConvert event id, so a redelivered event gives the same domain event.
pub fn composite_event(
    source_event_id: &str,
    time: &str,
    outcome: &CompositeOutcome<'_>,
    update: &StreamUpdate,
) -> Option<DomainEvent> {
    let mut data = json!({
        "stream": outcome.stream, "generation": outcome.generation, "job_id": outcome.job_id,
        "job_kind": outcome.job_kind,
    });
    if let Some(reason) = outcome.fallback_reason {
        data["fallback_reason"] = json!(reason);
    }
    let event_type = match update {
        StreamUpdate::Progress(_) => return None,
        StreamUpdate::Ready { output_key, cost } => {
            data["status"] = json!("ready");
            if let Some(key) = output_key {
                data["output_key"] = json!(key);
            }
            if let Some(cost) = cost {
                data["cost"] = cost.to_json();
            }
            DomainEventType::CompositeReady
        }
        StreamUpdate::Failed { code, message } => {
            data["status"] = json!("failed");
            data["error"] = json!({"code": code, "message": message});
            DomainEventType::CompositeFailed
        }
    };
    Some(DomainEvent {
        id: derived_id(&["mediaconvert", source_event_id]),
        event_type,
        time: time.to_owned(),
        data,
    })
}

/// A stable id (32 hex digits) for what `parts` name.
fn derived_id(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}

/// A render's end as the render state machine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderStatus {
    /// The output is written.
    Ready,
    /// The render failed.
    Failed,
}

impl RenderStatus {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }
}

/// The error a failed render carries (Step Functions' `Error` and `Cause`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderFailure {
    /// The error name, such as `States.TaskFailed`.
    pub error: String,
    /// Its cause.
    #[serde(default)]
    pub cause: String,
}

/// `{"render_result": {...}}`: the render state machine's last word on a render.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderResult {
    /// The render.
    pub render_id: String,
    /// `ready` or `failed`.
    pub status: String,
    /// Where the output is, for `ready`.
    #[serde(default)]
    pub output_uri: Option<String>,
    /// Frames rendered.
    #[serde(default)]
    pub frames: Option<u64>,
    /// Length of the video in ms.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// What failed, for `failed`.
    #[serde(default)]
    pub error: Option<RenderFailure>,
    /// The execution id or name.
    #[serde(default)]
    pub execution: Option<String>,
}

/// Why a render result is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderResultError {
    /// It does not parse.
    #[error("malformed render result: {0}")]
    Malformed(String),
    /// A field has a bad value.
    #[error("render_result.{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl RenderResult {
    /// Parses and checks a `render_result` object.
    pub fn parse(value: &Value) -> Result<(Self, RenderStatus), RenderResultError> {
        let result: Self = serde_json::from_value(value.clone())
            .map_err(|e| RenderResultError::Malformed(e.to_string()))?;
        // A render's id, or the execution's name it stands for when the request could not be read (up to 128 of
        // the identifier rule).
        let id = &result.render_id;
        if !crate::render::is_render_id(id) {
            crate::validate::identifier("render_id", id, 128).map_err(|e| {
                RenderResultError::Invalid {
                    field: "render_id",
                    message: e.message,
                }
            })?;
        }
        let status = match result.status.as_str() {
            "ready" => RenderStatus::Ready,
            "failed" => RenderStatus::Failed,
            other => {
                return Err(RenderResultError::Invalid {
                    field: "status",
                    message: format!("must be ready or failed, not {other:?}"),
                });
            }
        };
        if let Some(uri) = &result.output_uri {
            crate::s3uri::S3Uri::parse_str(uri).map_err(|e| RenderResultError::Invalid {
                field: "output_uri",
                message: e.to_string(),
            })?;
        }
        Ok((result, status))
    }

    /// `render.ready` or `render.failed`; the id derives from the render id and status.
    pub fn event(&self, status: &RenderStatus, time: &str) -> DomainEvent {
        let mut data = json!({"render_id": self.render_id, "status": status.as_str()});
        let optional = [
            ("output_uri", self.output_uri.as_ref().map(|u| json!(u))),
            ("frames", self.frames.map(|f| json!(f))),
            ("duration_ms", self.duration_ms.map(|d| json!(d))),
            ("error", self.error.as_ref().map(|e| json!(e))),
            ("execution", self.execution.as_ref().map(|e| json!(e))),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                data[name] = value;
            }
        }
        DomainEvent {
            id: derived_id(&["render", &self.render_id, status.as_str()]),
            event_type: match status {
                RenderStatus::Ready => DomainEventType::RenderReady,
                RenderStatus::Failed => DomainEventType::RenderFailed,
            },
            time: time.to_owned(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(generation: u64, status: StreamStatus, progress: u8) -> JobProgressState {
        JobProgressState {
            generation,
            status,
            progress,
            superseded_generation: 0,
        }
    }

    #[test]
    fn a_cancellation_the_compositor_made_to_replace_a_job_fails_nothing() {
        let canceled = StreamUpdate::Failed {
            code: crate::jobevent::CANCELED_CODE.into(),
            message: "the job was canceled".into(),
        };
        let error = StreamUpdate::Failed {
            code: "1040".into(),
            message: "bad input".into(),
        };
        let superseded = JobProgressState {
            superseded_generation: 1,
            ..state(1, StreamStatus::Processing, 40)
        };
        assert!(!superseded.admits(1, &canceled));
        // Anything else of that generation still counts, and so does someone else's cancellation of a later job.
        assert!(superseded.admits(1, &error));
        assert!(superseded.admits(1, &StreamUpdate::Progress(50)));
        let later = JobProgressState {
            superseded_generation: 1,
            ..state(2, StreamStatus::Processing, 0)
        };
        assert!(later.admits(2, &canceled));
        assert!(state(1, StreamStatus::Processing, 40).admits(1, &canceled));
    }

    fn ready() -> StreamUpdate {
        StreamUpdate::Ready {
            output_key: None,
            cost: None,
        }
    }

    #[test]
    fn statuses_only_move_forward() {
        let processing = state(1, StreamStatus::Processing, 40);
        assert!(processing.admits(1, &StreamUpdate::Progress(41)));
        assert!(!processing.admits(1, &StreamUpdate::Progress(40)));
        assert!(!processing.admits(1, &StreamUpdate::Progress(10)));
        assert!(processing.admits(1, &ready()));
        let done = processing.after(&ready());
        assert_eq!((done.status, done.progress), (StreamStatus::Ready, 100));
        assert!(!done.admits(1, &StreamUpdate::Progress(99)));
        assert!(!done.admits(
            1,
            &StreamUpdate::Failed {
                code: "1".into(),
                message: String::new()
            }
        ));
        // Another generation's events change nothing.
        assert!(!processing.admits(2, &ready()));
        assert!(!state(2, StreamStatus::Processing, 0).admits(1, &ready()));
        assert!(state(1, StreamStatus::Queued, 0).admits(1, &StreamUpdate::Progress(0)));
    }

    proptest! {
        #[test]
        fn any_sequence_of_admitted_updates_is_monotonic(
            updates in proptest::collection::vec((0u8..=101, 0u8..3), 0..40)
        ) {
            let mut s = state(1, StreamStatus::Processing, 0);
            for (p, what) in updates {
                let update = match what {
                    0 => StreamUpdate::Progress(p.min(100)),
                    1 => ready(),
                    _ => StreamUpdate::Failed { code: "e".into(), message: String::new() },
                };
                if s.admits(1, &update) {
                    let next = s.after(&update);
                    prop_assert!(next.progress >= s.progress || next.status == StreamStatus::Failed);
                    prop_assert!(!s.status.is_terminal());
                    s = next;
                }
            }
        }
    }

    #[test]
    fn composite_events_carry_the_contract_fields_and_a_stable_id() {
        let outcome = CompositeOutcome {
            stream: "s1",
            generation: 2,
            job_id: "j1",
            job_kind: "single",
            fallback_reason: Some("camera_missing"),
        };
        let ready = StreamUpdate::Ready {
            output_key: Some("videos/s1_composited.mp4".into()),
            cost: Some(JobCost {
                micro_usd: 15_000,
                output_seconds: 60,
                basis: crate::cost::CostBasis::MediaConvertOnDemand,
            }),
        };
        let e = composite_event("evt-1", "2026-11-21T10:00:00Z", &outcome, &ready).unwrap();
        assert_eq!(e.event_type, DomainEventType::CompositeReady);
        assert_eq!(
            e.data,
            json!({"stream": "s1", "status": "ready", "generation": 2, "job_id": "j1", "job_kind": "single",
                   "fallback_reason": "camera_missing", "output_key": "videos/s1_composited.mp4",
                   "cost": {"estimated_usd": 0.015, "output_minutes": 1.0, "basis": "mediaconvert-on-demand"}})
        );
        let again = composite_event("evt-1", "2026-11-21T10:00:00Z", &outcome, &ready).unwrap();
        assert_eq!(e, again);
        let other = composite_event("evt-2", "2026-11-21T10:00:00Z", &outcome, &ready).unwrap();
        assert_ne!(e.id, other.id);
        let failed = StreamUpdate::Failed {
            code: "1040".into(),
            message: "bad".into(),
        };
        let f = composite_event("evt-3", "t", &outcome, &failed).unwrap();
        assert_eq!(f.event_type, DomainEventType::CompositeFailed);
        assert_eq!(f.data["error"], json!({"code": "1040", "message": "bad"}));
        assert!(composite_event("evt-4", "t", &outcome, &StreamUpdate::Progress(5)).is_none());
    }

    #[test]
    fn render_results_are_checked_and_announced() {
        let (r, status) = RenderResult::parse(&json!({"render_id": "promo-42", "status": "ready",
            "output_uri": "s3://media-bucket/renders/promo-42.mp4", "frames": 9000, "execution": "exec-1"}))
        .unwrap();
        let e = r.event(&status, "2026-11-21T10:00:00Z");
        assert_eq!(e.event_type, DomainEventType::RenderReady);
        assert_eq!(
            e.data["output_uri"],
            "s3://media-bucket/renders/promo-42.mp4"
        );
        assert_eq!(e.data["frames"], 9000);
        let (f, failed) = RenderResult::parse(&json!({"render_id": "promo-42", "status": "failed",
            "error": {"error": "States.TaskFailed", "cause": "chunk 3"}}))
        .unwrap();
        let fe = f.event(&failed, "t");
        assert_eq!(fe.event_type, DomainEventType::RenderFailed);
        assert_eq!(fe.data["error"]["cause"], "chunk 3");
        assert_ne!(fe.id, e.id);
        // A render id as requests allow it (dots too), or an execution's name.
        for id in ["promo.v2", "render-1796601012364", &"x".repeat(128)] {
            assert!(
                RenderResult::parse(&json!({"render_id": id, "status": "ready"})).is_ok(),
                "{id}"
            );
        }
        for bad in [
            json!({"render_id": "a b", "status": "ready"}),
            json!({"render_id": "..", "status": "ready"}),
            json!({"render_id": "r", "status": "done"}),
            json!({"render_id": "r", "status": "ready", "output_uri": "http://x"}),
            json!({"render_id": "r", "status": "ready", "extra": 1}),
            json!({"status": "ready"}),
        ] {
            assert!(RenderResult::parse(&bad).is_err(), "{bad}");
        }
    }
}
