//! Pairing a stream's screen and camera recordings into exactly one output: the rules as a small state machine over
//! the stream's item, from what is stored to the action to take.
//!
//! The compositor records each arrival on the item (idempotently, on the object's etag), then asks
//! [`after_arrival`] what to do; the partner timer asks [`after_partner_timeout`]. A submission is always made under a
//! claim (a lease on the item, taken with a conditional write that also checks the generation the decision was made
//! on), so concurrent handlers that reach the same decision submit one job between them.

use serde::{Deserialize, Serialize};

use crate::stream_status::StreamStatus;

/// Which recording of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The screen recording, `{prefix}{stream}.mp4`.
    Screen,
    /// The camera recording, `{prefix}{stream}_camera.webm`.
    Camera,
}

impl Source {
    /// The attribute prefix and name on the wire: `screen` or `camera`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Screen => "screen",
            Self::Camera => "camera",
        }
    }

    /// The other recording of the pair.
    pub const fn partner(self) -> Self {
        match self {
            Self::Screen => Self::Camera,
            Self::Camera => Self::Screen,
        }
    }

    /// The `fallback_reason` of a single-source job made because this recording cannot be used.
    pub const fn unusable_reason(self) -> &'static str {
        match self {
            Self::Screen => "screen_unusable",
            Self::Camera => "camera_unusable",
        }
    }

    /// The `fallback_reason` of a single-source job made from this recording alone.
    pub const fn fallback_reason(self) -> &'static str {
        match self {
            Self::Screen => "camera_missing",
            Self::Camera => "screen_missing",
        }
    }
}

/// One recording as it arrived in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Object key (decoded).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The object's ETag, without quotes.
    pub etag: String,
    /// When the compositor recorded it (epoch ms).
    pub arrived_at_ms: u64,
}

/// Why a stream's output could not be made: stored on its item as `error_code` / `error_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFailure {
    /// A short machine-readable code, for example `recording_unusable`.
    pub code: String,
    /// What is wrong, for a human.
    pub message: String,
}

/// What a stream's submitted job makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Screen with the camera in a corner.
    Composite,
    /// One recording alone, because its partner did not arrive in time.
    Single,
}

impl OutputKind {
    /// The stored `job_kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Composite => "composite",
            Self::Single => "single",
        }
    }

    /// Parses a stored `job_kind`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "composite" => Some(Self::Composite),
            "single" => Some(Self::Single),
            _ => None,
        }
    }
}

/// A claim on the stream: whoever holds it may submit a job until `expires_at_ms`. The claim is the job's intent,
/// written before the job is created: a handler that takes over an expired claim of the same generation looks for
/// the job its holder may have created before it stopped, instead of creating a second one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The holder's random token.
    pub token: String,
    /// When it was taken (epoch ms): a job its holder created is no older.
    pub claimed_at_ms: u64,
    /// End of the lease (epoch ms); after it, anyone may take the claim over.
    pub expires_at_ms: u64,
    /// The generation the holder is submitting.
    pub generation: u64,
}

/// What became of an attempt to claim a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The claim is ours. `taken_over` is the expired claim of an earlier handler for the same generation: it may
    /// have created the job before it stopped.
    Taken {
        /// The expired claim this one replaced, when it was for the same generation.
        taken_over: Option<Claim>,
    },
    /// Another handler's claim is live until `until_ms`: it may still submit, or it may have crashed, so the
    /// caller retries after the lease rather than counting the event as handled.
    HeldElsewhere {
        /// End of that claim's lease (epoch ms).
        until_ms: u64,
    },
    /// The stored generation is no longer the one the decision was made on: another handler submitted.
    GenerationMoved,
}

impl Claim {
    /// Whether the lease still holds at `now_ms`.
    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_at_ms
    }
}

/// The stream's item, as the pairing rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamState {
    /// The stream name.
    pub stream: String,
    /// The screen recording, once it arrived.
    pub screen: Option<Arrival>,
    /// The camera recording, once it arrived.
    pub camera: Option<Arrival>,
    /// Client-facing status (absent before the first arrival).
    pub status: Option<StreamStatus>,
    /// Number of jobs submitted so far (0: none).
    pub generation: u64,
    /// What the current generation's job makes.
    pub job_kind: Option<OutputKind>,
    /// The current generation's job id.
    pub job_id: Option<String>,
    /// The current claim, if any (it may have expired).
    pub claim: Option<Claim>,
    /// Why the current generation's job is single-source (`camera_missing`, `camera_unusable`, ...), if it is.
    pub fallback_reason: Option<String>,
}

impl StreamState {
    /// The arrival of `source`, if any.
    pub fn arrival(&self, source: Source) -> Option<&Arrival> {
        match source {
            Source::Screen => self.screen.as_ref(),
            Source::Camera => self.camera.as_ref(),
        }
    }

    /// Whether the current job is a fallback made because the late partner could not be used.
    fn partner_unusable(&self) -> bool {
        self.fallback_reason
            .as_deref()
            .is_some_and(|reason| reason.ends_with("_unusable"))
    }

    fn live_claim(&self, now_ms: u64) -> bool {
        self.claim.as_ref().is_some_and(|c| c.is_live(now_ms))
    }

    /// The running job a new generation must cancel first: a single-source fallback that has not finished, so it
    /// can never overwrite the composite.
    fn running_fallback(&self) -> Option<String> {
        let finished = self.status.is_some_and(StreamStatus::is_terminal);
        (self.job_kind == Some(OutputKind::Single) && !finished)
            .then(|| self.job_id.clone())
            .flatten()
    }
}

/// A job to submit under a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// What it makes.
    pub kind: OutputKind,
    /// For a single-source job: the recording it is made from.
    pub source: Option<Source>,
    /// The generation this job will be (the stored generation + 1); the claim is conditional on the stored one.
    pub generation: u64,
    /// A job of the previous generation to cancel before submitting.
    pub cancel_job_id: Option<String>,
    /// For a single-source job: the other recording arrived but cannot be used (rather than never arriving).
    pub partner_unusable: bool,
    /// The recording to make the output from alone if this job fails on its inputs (a recording that passed the
    /// probe but cannot be decoded): the screen for a composite, the camera for a screen that replaced a failed
    /// composite. Carried in the job's `UserMetadata` (`input_fallback`), so the job's ERROR event says what to do.
    pub input_fallback: Option<Source>,
}

impl Submission {
    /// The generation the decision was made on: the claim must find exactly this one stored.
    pub fn expected_generation(&self) -> u64 {
        self.generation.saturating_sub(1)
    }

    /// The `fallback_reason` of a single-source job.
    pub fn fallback_reason(&self) -> Option<&'static str> {
        self.source.map(|source| {
            if self.partner_unusable {
                source.partner().unusable_reason()
            } else {
                source.fallback_reason()
            }
        })
    }
}

/// Why nothing is to be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// The composite is already submitted: a duplicate or late event.
    AlreadySubmitted,
    /// A fallback is submitted and the partner has not come: a duplicate of the arrival that started it.
    FallbackSubmitted,
    /// Another handler holds a live claim and is submitting.
    ClaimedElsewhere,
    /// The stream failed and nothing new arrived.
    Failed,
    /// Nothing arrived yet (a timeout for an unknown stream).
    NothingArrived,
}

impl Idle {
    /// A short name for logs and answers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AlreadySubmitted => "already_submitted",
            Self::FallbackSubmitted => "fallback_submitted",
            Self::ClaimedElsewhere => "claimed_elsewhere",
            Self::Failed => "failed",
            Self::NothingArrived => "nothing_arrived",
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// One recording is here and no job exists: start (or confirm) the partner timer.
    StartPartnerTimer,
    /// Claim the stream and submit this job.
    Submit(Submission),
    /// Nothing.
    Nothing(Idle),
}

/// The action after an arrival was recorded; `new_arrival` says whether it changed the item (not a duplicate).
///
/// - both recordings and no composite yet: submit the composite (the next generation, replacing a fallback),
///   unless another handler's claim is live;
/// - one recording and no job: start the partner timer;
/// - a failed stream, or a fallback made because the partner could not be used, acts again only on a new arrival
///   (a re-upload).
pub fn after_arrival(state: &StreamState, new_arrival: bool, now_ms: u64) -> Action {
    if state.status == Some(StreamStatus::Failed) && state.generation == 0 && !new_arrival {
        return Action::Nothing(Idle::Failed);
    }
    // The same unusable partner again: only a new upload of it is worth another probe.
    if state.partner_unusable() && !new_arrival {
        return Action::Nothing(Idle::FallbackSubmitted);
    }
    match (&state.screen, &state.camera) {
        (Some(_), Some(_)) => composite(state, now_ms),
        (None, None) => Action::Nothing(Idle::NothingArrived),
        _ if state.generation == 0 => Action::StartPartnerTimer,
        _ => Action::Nothing(Idle::FallbackSubmitted),
    }
}

/// The action when the partner timer fires: the single-source fallback from what exists, or the composite if the
/// pair completed without a job (its handler failed and was not retried), or nothing.
pub fn after_partner_timeout(state: &StreamState, now_ms: u64) -> Action {
    if state.generation > 0 {
        return Action::Nothing(match state.job_kind {
            Some(OutputKind::Single) => Idle::FallbackSubmitted,
            _ => Idle::AlreadySubmitted,
        });
    }
    if state.status == Some(StreamStatus::Failed) {
        return Action::Nothing(Idle::Failed);
    }
    if state.live_claim(now_ms) {
        return Action::Nothing(Idle::ClaimedElsewhere);
    }
    let source = match (&state.screen, &state.camera) {
        (Some(_), Some(_)) => return composite(state, now_ms),
        (Some(_), None) => Source::Screen,
        (None, Some(_)) => Source::Camera,
        (None, None) => return Action::Nothing(Idle::NothingArrived),
    };
    Action::Submit(Submission {
        kind: OutputKind::Single,
        source: Some(source),
        generation: 1,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: None,
    })
}

fn composite(state: &StreamState, now_ms: u64) -> Action {
    if state.generation > 0 && state.job_kind != Some(OutputKind::Single) {
        return Action::Nothing(Idle::AlreadySubmitted);
    }
    if state.live_claim(now_ms) {
        return Action::Nothing(Idle::ClaimedElsewhere);
    }
    Action::Submit(Submission {
        kind: OutputKind::Composite,
        source: None,
        generation: state.generation + 1,
        cancel_job_id: state.running_fallback(),
        partner_unusable: false,
        input_fallback: Some(Source::Screen),
    })
}

/// The action when the job of `generation` failed on its inputs and named `fallback` to make the output from
/// alone (its `input_fallback`): a single-source job from it, as for a partner that cannot be used, unless a newer
/// job was submitted meanwhile. The screen is tried first (a composite's likelier culprit is the browser-made camera
/// file); a screen that fails too leaves the camera, and a camera that fails names no fallback, so the stream fails.
/// MediaConvert charges nothing for a job that ends in ERROR, so a wrong guess costs only time.
pub fn after_input_failure(state: &StreamState, generation: u64, fallback: Source) -> Action {
    if state.generation != generation {
        return Action::Nothing(Idle::AlreadySubmitted);
    }
    if state.arrival(fallback).is_none() {
        return Action::Nothing(Idle::NothingArrived);
    }
    let partner = fallback.partner();
    Action::Submit(Submission {
        kind: OutputKind::Single,
        source: Some(fallback),
        generation: generation + 1,
        cancel_job_id: None,
        partner_unusable: true,
        input_fallback: (fallback == Source::Screen && state.arrival(partner).is_some())
            .then_some(partner),
    })
}

/// Whether a claim may be taken on `state` for `submission` at `now_ms`: no live claim, and the stored generation is
/// still the one the decision was made on. The store applies the same rule in one conditional write.
pub fn may_claim(state: &StreamState, submission: &Submission, now_ms: u64) -> bool {
    !state.live_claim(now_ms) && state.generation == submission.expected_generation()
}

#[cfg(test)]
mod tests;
