//! A render as its owner follows it: the render item's state and the rules that move it (status, phase, chunks
//! done, progress that never goes backwards, the first terminal status wins, throttled progress announcements).
//!
//! Every writer (the HTTP API, the notifier for chunk job events, phase steps and the final result) reads the item,
//! applies one of these rules, and writes it back on the condition that nobody wrote in between
//! ([`crate::ports::update_render`]): the rules stay here, pure, and a repeated event changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::cost::{CostBasis, JobCost};
use crate::notify::{DomainEvent, DomainEventType};
use crate::stream_status::{RenderFailure, RenderResult, RenderStatus};

use super::RenderRequest;

/// Share of the progress bar the chunks fill; assembling and notifying take the rest.
pub const RENDERING_SHARE: u8 = 90;
/// Progress once the chunks are joined and the render is being announced.
pub const NOTIFYING_PROGRESS: u8 = 95;
/// `render.progress` is announced at most once per this many percent...
pub const ANNOUNCE_STEP: u8 = 5;
/// ...or once this long (ms) after the last announcement, whichever comes first.
pub const ANNOUNCE_INTERVAL_MS: u64 = 10_000;
/// The error code of a render canceled by its owner.
pub const CANCELED: &str = "canceled";

/// A render's status as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderState {
    /// Accepted; the state machine has not started planning.
    Queued,
    /// Being planned, rendered, assembled or announced.
    Processing,
    /// The output is written.
    Ready,
    /// It failed or was canceled.
    Failed,
}

impl RenderState {
    /// The name on the wire and in the item.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Queued, Self::Processing, Self::Ready, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    /// `ready` or `failed`.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Ready | Self::Failed)
    }
}

/// The state machine's step a render is in, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderPhase {
    /// The chunker validates, probes and plans.
    Planning,
    /// The chunks render (and the soundtrack is mixed).
    Rendering,
    /// The chunks are joined and the soundtrack muxed in.
    Assembling,
    /// The result is recorded and announced.
    Notifying,
}

impl RenderPhase {
    /// The name on the wire and in the item.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planning => "planning",
            Self::Rendering => "rendering",
            Self::Assembling => "assembling",
            Self::Notifying => "notifying",
        }
    }

    /// The phase named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Planning,
            Self::Rendering,
            Self::Assembling,
            Self::Notifying,
        ]
        .into_iter()
        .find(|p| p.as_str() == name)
    }
}

/// What a chunk job's event says of its chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkUpdate {
    /// Submitted or running, this far along (0..=100).
    Running(u8),
    /// The chunk is written.
    Complete,
    /// The job failed or was canceled (the state machine decides what becomes of the render).
    Ended,
}

/// The chunks' own state: which are done, how far the running ones are, and their MediaConvert job ids (so a
/// cancel can cancel them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkProgress {
    /// Indexes of the chunks written.
    #[serde(default)]
    pub done: BTreeSet<u32>,
    /// Percent complete of the chunks running, by index.
    #[serde(default)]
    pub running: BTreeMap<u32, u8>,
    /// MediaConvert job id of each chunk that reported, by index.
    #[serde(default)]
    pub jobs: BTreeMap<u32, String>,
    /// What a custom renderer reported a chunk cost, in millionths of a dollar, by index.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reported_micro_usd: BTreeMap<u32, u64>,
    /// What a chunk's MediaConvert job cost by the one rule (`cost`), by index, from its COMPLETE event.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub estimated: BTreeMap<u32, JobCost>,
}

/// One render item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderRecord {
    /// The render (and its execution's name).
    pub render_id: String,
    /// The caller who posted it (`jwt:user-1`); none for renders started outside the HTTP API.
    pub owner: Option<String>,
    /// Status.
    pub status: RenderState,
    /// The step it is in, once the state machine reported one.
    pub phase: Option<RenderPhase>,
    /// SHA-256 (hex) of the accepted request: a repeated POST with another body is a conflict.
    pub request_digest: Option<String>,
    /// Where the stored request is.
    pub request_uri: Option<String>,
    /// Where the video is written.
    pub output_uri: Option<String>,
    /// Chunks planned, once planned.
    pub chunks_total: Option<u32>,
    /// The chunks' state.
    pub chunks: ChunkProgress,
    /// 0..=100, never backwards.
    pub progress: u8,
    /// Frames of the video (from the request; the assembler's count once ready).
    pub frames: Option<u64>,
    /// Length of the video in ms.
    pub duration_ms: Option<u64>,
    /// Why it failed.
    pub error: Option<RenderFailure>,
    /// The execution's ARN.
    pub execution: Option<String>,
    /// The call recording this render is the export of (`POST /recordings/{recording_id}/export`): its end is also
    /// announced as `call.export.ready` / `call.export.failed`.
    pub call_recording_id: Option<String>,
    /// When it was accepted (ms since the epoch).
    pub created_at_ms: u64,
    /// When it last changed (ms since the epoch).
    pub updated_at_ms: u64,
    /// When the item expires (epoch seconds).
    pub expires_at: u64,
    /// The progress last announced as `render.progress`.
    pub announced_progress: u8,
    /// When it was announced (ms since the epoch).
    pub announced_at_ms: u64,
    /// Bumped by every write: the condition of the next one.
    pub version: u64,
}

/// What recording a final result did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishOutcome {
    /// The render now has this status (now, or by an earlier delivery of the same result).
    Recorded,
    /// The render had already ended with another status (the first terminal status wins): nothing changed.
    AlreadyEnded(RenderState),
}

/// SHA-256 (hex) of a request as accepted (its canonical JSON).
pub fn request_digest(request: &RenderRequest) -> String {
    let json = serde_json::to_vec(request).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl RenderRecord {
    /// A render just accepted from `owner`.
    pub fn queued(render_id: &str, owner: Option<&str>, now_ms: u64, expires_at: u64) -> Self {
        Self {
            render_id: render_id.to_owned(),
            owner: owner.map(str::to_owned),
            status: RenderState::Queued,
            phase: None,
            request_digest: None,
            request_uri: None,
            output_uri: None,
            chunks_total: None,
            chunks: ChunkProgress::default(),
            progress: 0,
            frames: None,
            duration_ms: None,
            error: None,
            execution: None,
            call_recording_id: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            expires_at,
            announced_progress: 0,
            announced_at_ms: now_ms,
            version: 0,
        }
    }

    /// The step the state machine entered (`chunks_total` once planned). Phases only move forward, and a
    /// finished render stays as it is; returns whether anything changed.
    pub fn enter_phase(&mut self, phase: RenderPhase, chunks_total: Option<u32>) -> bool {
        if self.status.is_finished() || self.phase.is_some_and(|p| p > phase) {
            return false;
        }
        let before = self.clone();
        self.status = RenderState::Processing;
        self.phase = Some(phase);
        if chunks_total.is_some() {
            self.chunks_total = chunks_total;
        }
        let floor = match phase {
            RenderPhase::Planning | RenderPhase::Rendering => 0,
            RenderPhase::Assembling => RENDERING_SHARE,
            RenderPhase::Notifying => NOTIFYING_PROGRESS,
        };
        self.raise_progress(floor.max(self.chunks_progress()));
        *self != before
    }

    /// A chunk job's event for chunk `index` (job `job_id`). Each chunk counts once however often its events
    /// repeat, a running chunk's percent never goes back, and a finished render stays as it is; returns whether
    /// anything changed.
    pub fn apply_chunk(&mut self, index: u32, job_id: &str, update: ChunkUpdate) -> bool {
        if self.status.is_finished() {
            return false;
        }
        let before = self.clone();
        self.chunks.jobs.insert(index, job_id.to_owned());
        match update {
            ChunkUpdate::Complete => {
                self.chunks.done.insert(index);
                self.chunks.running.remove(&index);
            }
            ChunkUpdate::Running(percent) if !self.chunks.done.contains(&index) => {
                let running = self.chunks.running.entry(index).or_insert(0);
                *running = (*running).max(percent.min(100));
            }
            ChunkUpdate::Running(_) => {}
            ChunkUpdate::Ended => {
                self.chunks.running.remove(&index);
            }
        }
        self.chunk_changed(&before)
    }

    /// A custom renderer wrote chunk `index` (it has no MediaConvert job and no events): the chunk is done, with
    /// the cost the renderer reported, if any (the first report of a chunk stands).
    pub fn apply_rendered_chunk(&mut self, index: u32, reported_usd: Option<f64>) -> bool {
        if self.status.is_finished() {
            return false;
        }
        let before = self.clone();
        self.chunks.done.insert(index);
        self.chunks.running.remove(&index);
        if let Some(usd) = reported_usd.filter(|usd| usd.is_finite() && *usd >= 0.0) {
            self.chunks
                .reported_micro_usd
                .entry(index)
                .or_insert((usd * 1e6).round() as u64);
        }
        self.chunk_changed(&before)
    }

    /// The render after a chunk changed: processing, in the rendering phase at least, its progress raised;
    /// whether anything changed since `before`.
    fn chunk_changed(&mut self, before: &Self) -> bool {
        self.status = RenderState::Processing;
        if self.phase.is_none_or(|p| p < RenderPhase::Rendering) {
            self.phase = Some(RenderPhase::Rendering);
        }
        self.raise_progress(self.chunks_progress());
        self != before
    }

    /// The estimate of chunk `index`'s MediaConvert job (from its COMPLETE event); the first one stands, and a
    /// finished render stays as it is. Returns whether anything changed.
    pub fn apply_chunk_cost(&mut self, index: u32, cost: JobCost) -> bool {
        if self.status.is_finished() || self.chunks.estimated.contains_key(&index) {
            return false;
        }
        self.chunks.estimated.insert(index, cost);
        true
    }

    /// The render's cost so far and how many chunks it counts: each chunk at what its custom renderer reported,
    /// else at its MediaConvert job's estimate; `None` before any chunk has a cost.
    pub fn cost(&self) -> Option<(JobCost, usize)> {
        let reported = &self.chunks.reported_micro_usd;
        let reported_costs = reported.values().map(|&micro_usd| JobCost {
            micro_usd,
            output_seconds: 0,
            basis: CostBasis::RendererReported,
        });
        let estimated = self
            .chunks
            .estimated
            .iter()
            .filter(|(index, _)| !reported.contains_key(index))
            .map(|(_, cost)| *cost);
        let costs: Vec<JobCost> = reported_costs.chain(estimated).collect();
        let chunks = costs.len();
        costs
            .into_iter()
            .reduce(JobCost::plus)
            .map(|cost| (cost, chunks))
    }

    /// `cost` as events and the API show it: `{estimated_usd, output_minutes, basis, chunks}`, or null.
    pub fn cost_json(&self) -> serde_json::Value {
        self.cost()
            .map_or(serde_json::Value::Null, |(cost, chunks)| {
                let mut shown = cost.to_json();
                shown["chunks"] = json!(chunks);
                shown
            })
    }

    /// The render state machine's final result. The first terminal status wins.
    pub fn finish(&mut self, result: &RenderResult, status: &RenderStatus) -> FinishOutcome {
        let state = match status {
            RenderStatus::Ready => RenderState::Ready,
            RenderStatus::Failed => RenderState::Failed,
        };
        if self.status.is_finished() {
            return if self.status == state {
                FinishOutcome::Recorded
            } else {
                FinishOutcome::AlreadyEnded(self.status)
            };
        }
        self.status = state;
        self.chunks.running.clear();
        if let Some(uri) = &result.output_uri {
            self.output_uri = Some(uri.clone());
        }
        if result.frames.is_some() {
            self.frames = result.frames;
        }
        if result.duration_ms.is_some() {
            self.duration_ms = result.duration_ms;
        }
        self.error = result.error.clone();
        if result.execution.is_some() {
            self.execution = result.execution.clone();
        }
        if state == RenderState::Ready {
            self.progress = 100;
        }
        FinishOutcome::Recorded
    }

    /// Its owner canceled it: `failed` with [`CANCELED`]. Returns whether it was still running.
    pub fn cancel(&mut self) -> bool {
        if self.status.is_finished() {
            return false;
        }
        self.status = RenderState::Failed;
        self.chunks.running.clear();
        self.error = Some(RenderFailure {
            error: CANCELED.to_owned(),
            cause: "canceled by its owner".to_owned(),
        });
        true
    }

    /// The chunk jobs that may still run (reported, not done): what a cancel cancels.
    pub fn running_jobs(&self) -> Vec<&str> {
        self.chunks
            .jobs
            .iter()
            .filter(|(index, _)| !self.chunks.done.contains(index))
            .map(|(_, job)| job.as_str())
            .collect()
    }

    /// `render.progress` when the progress moved at least [`ANNOUNCE_STEP`] since the last announcement, or moved
    /// at all [`ANNOUNCE_INTERVAL_MS`] after it; marks it announced. Its id derives from the render and the
    /// percent, so a redelivery carries the same id.
    pub fn announce_progress(&mut self, now_ms: u64, time: &str) -> Option<DomainEvent> {
        let moved = self.progress.saturating_sub(self.announced_progress);
        let due = moved >= ANNOUNCE_STEP
            || (moved > 0 && now_ms.saturating_sub(self.announced_at_ms) >= ANNOUNCE_INTERVAL_MS);
        if self.status != RenderState::Processing || !due {
            return None;
        }
        self.announced_progress = self.progress;
        self.announced_at_ms = now_ms;
        Some(DomainEvent {
            id: format!("render.progress:{}:{}", self.render_id, self.progress),
            event_type: DomainEventType::RenderProgress,
            time: time.to_owned(),
            data: json!({
                "render_id": self.render_id, "status": self.status.as_str(),
                "phase": self.phase.map(RenderPhase::as_str), "progress": self.progress,
                "chunks_total": self.chunks_total, "chunks_done": self.chunks.done.len(),
            }),
        })
    }

    /// Progress from the chunks: the done ones and each running one's percent, over [`RENDERING_SHARE`].
    fn chunks_progress(&self) -> u8 {
        let Some(total) = self.chunks_total.filter(|t| *t > 0) else {
            return 0;
        };
        let percent_sum = self.chunks.done.len() as u64 * 100
            + self
                .chunks
                .running
                .values()
                .map(|p| u64::from(*p))
                .sum::<u64>();
        let share = percent_sum * u64::from(RENDERING_SHARE) / (u64::from(total) * 100);
        share.min(u64::from(RENDERING_SHARE)) as u8
    }

    fn raise_progress(&mut self, progress: u8) {
        self.progress = self.progress.max(progress.min(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(chunks: u32) -> RenderRecord {
        let mut r = RenderRecord::queued("r1", Some("jwt:u1"), 1_000, 9);
        assert!(r.enter_phase(RenderPhase::Planning, None));
        assert!(r.enter_phase(RenderPhase::Rendering, Some(chunks)));
        r
    }

    #[test]
    fn each_chunk_counts_once_and_progress_never_goes_back() {
        let mut r = planned(2);
        assert_eq!((r.status, r.progress), (RenderState::Processing, 0));
        assert!(r.apply_chunk(0, "j0", ChunkUpdate::Running(50)));
        assert_eq!(r.progress, 22); // 50 of 200 percent, over 90
        assert!(
            !r.apply_chunk(0, "j0", ChunkUpdate::Running(40)),
            "a late, lower percent changes nothing"
        );
        assert!(r.apply_chunk(0, "j0", ChunkUpdate::Complete));
        assert_eq!(r.progress, 45);
        assert!(
            !r.apply_chunk(0, "j0", ChunkUpdate::Complete),
            "a repeated COMPLETE counts once"
        );
        assert!(
            !r.apply_chunk(0, "j0", ChunkUpdate::Running(10)),
            "a PROGRESSING after COMPLETE is late"
        );
        assert_eq!(r.chunks.done.len(), 1);
        assert!(r.apply_chunk(1, "j1", ChunkUpdate::Ended));
        assert_eq!(r.progress, 45, "a failed chunk never lowers progress");
        assert_eq!(r.running_jobs(), vec!["j1"]);
        assert!(r.apply_chunk(1, "j1", ChunkUpdate::Complete));
        assert_eq!(r.progress, 90);
        assert!(r.enter_phase(RenderPhase::Assembling, None));
        assert!(
            !r.enter_phase(RenderPhase::Rendering, Some(7)),
            "phases only move forward"
        );
        assert_eq!(
            (r.phase, r.chunks_total),
            (Some(RenderPhase::Assembling), Some(2))
        );
        assert!(r.enter_phase(RenderPhase::Notifying, None));
        assert_eq!(r.progress, NOTIFYING_PROGRESS);
        assert!(r.running_jobs().is_empty());
    }

    #[test]
    fn the_first_terminal_status_wins_and_a_finished_render_stays() {
        let mut r = planned(1);
        let (ready, status) = RenderResult::parse(&json!({"render_id": "r1", "status": "ready",
            "output_uri": "s3://bucket/renders/u/r1/output.mp4", "frames": 48, "duration_ms": 2000}))
        .unwrap();
        assert_eq!(r.finish(&ready, &status), FinishOutcome::Recorded);
        assert_eq!(
            (r.status, r.progress, r.frames, r.duration_ms),
            (RenderState::Ready, 100, Some(48), Some(2000))
        );
        assert_eq!(
            r.finish(&ready, &status),
            FinishOutcome::Recorded,
            "the same result again is harmless"
        );
        let (failed, fstatus) = RenderResult::parse(
            &json!({"render_id": "r1", "status": "failed", "error": {"error": "X", "cause": "y"}}),
        )
        .unwrap();
        assert_eq!(
            r.finish(&failed, &fstatus),
            FinishOutcome::AlreadyEnded(RenderState::Ready)
        );
        assert!(!r.cancel());
        assert!(!r.apply_chunk(0, "j", ChunkUpdate::Running(3)));
        assert!(!r.enter_phase(RenderPhase::Notifying, None));
    }

    #[test]
    fn a_cancel_fails_the_render_with_canceled_and_later_events_change_nothing() {
        let mut r = planned(2);
        r.apply_chunk(0, "j0", ChunkUpdate::Running(10));
        assert!(r.cancel());
        assert_eq!(r.status, RenderState::Failed);
        assert_eq!(r.error.as_ref().unwrap().error, CANCELED);
        assert_eq!(r.running_jobs(), vec!["j0"], "the job a cancel must cancel");
        assert!(!r.apply_chunk(0, "j0", ChunkUpdate::Ended));
        let (ready, status) =
            RenderResult::parse(&json!({"render_id": "r1", "status": "ready"})).unwrap();
        assert_eq!(
            r.finish(&ready, &status),
            FinishOutcome::AlreadyEnded(RenderState::Failed)
        );
    }

    #[test]
    fn progress_is_announced_every_five_percent_or_ten_seconds() {
        let mut r = planned(10);
        r.apply_chunk(0, "j0", ChunkUpdate::Running(30)); // 2 %
        assert!(
            r.announce_progress(2_000, "t").is_none(),
            "2 % after 1 s: not yet"
        );
        let late = r
            .announce_progress(1_000 + ANNOUNCE_INTERVAL_MS, "t")
            .expect("10 s later");
        assert_eq!(late.event_type, DomainEventType::RenderProgress);
        assert_eq!(late.data["progress"], 2);
        assert_eq!(late.id, "render.progress:r1:2");
        assert!(
            r.announce_progress(1_000 + 2 * ANNOUNCE_INTERVAL_MS, "t")
                .is_none(),
            "nothing moved"
        );
        r.apply_chunk(0, "j0", ChunkUpdate::Complete); // 9 %
        assert_eq!(
            r.announce_progress(12_000, "t").unwrap().data["progress"],
            9
        );
    }

    #[test]
    fn a_renders_cost_sums_its_chunks_once_each_reports_first() {
        let mut r = planned(3);
        assert_eq!(r.cost_json(), serde_json::Value::Null);
        let minute = crate::cost::JobRate {
            micro_usd_per_minute: 15_000,
            outputs: 1,
        }
        .cost(60_000);
        assert!(r.apply_chunk_cost(0, minute));
        assert!(!r.apply_chunk_cost(0, minute), "a redelivered COMPLETE");
        assert!(r.apply_chunk_cost(1, minute));
        assert_eq!(
            r.cost_json(),
            json!({"estimated_usd": 0.03, "output_minutes": 2.0, "basis": "mediaconvert-on-demand", "chunks": 2})
        );
        // A chunk its custom renderer reported counts at the reported figure, never twice.
        r.apply_rendered_chunk(1, Some(0.25));
        r.apply_rendered_chunk(2, Some(0.25));
        let (cost, chunks) = r.cost().unwrap();
        assert_eq!((cost.micro_usd, chunks), (15_000 + 500_000, 3));
        assert_eq!(cost.basis, CostBasis::Mixed);
        r.finish(
            &RenderResult::parse(&json!({"render_id": "r1", "status": "ready"}))
                .unwrap()
                .0,
            &RenderStatus::Ready,
        );
        assert!(
            !r.apply_chunk_cost(2, minute),
            "a finished render stays as it is"
        );
    }

    #[test]
    fn names_cost_and_digest() {
        for s in [
            RenderState::Queued,
            RenderState::Processing,
            RenderState::Ready,
            RenderState::Failed,
        ] {
            assert_eq!(RenderState::parse(s.as_str()), Some(s));
        }
        for p in [
            RenderPhase::Planning,
            RenderPhase::Rendering,
            RenderPhase::Assembling,
            RenderPhase::Notifying,
        ] {
            assert_eq!(RenderPhase::parse(p.as_str()), Some(p));
        }
        let events = include_str!("../../../../events/chunker/request.json");
        let value: serde_json::Value = serde_json::from_str(events).unwrap();
        let request = RenderRequest::from_json(&value["request"].to_string()).unwrap();
        let digest = request_digest(&request);
        assert_eq!(digest.len(), 64);
        assert_eq!(
            digest,
            request_digest(&request.clone()),
            "the same request, the same digest"
        );
        let mut other = request;
        other.output.width = 1280;
        assert_ne!(request_digest(&other), digest);
    }
}
