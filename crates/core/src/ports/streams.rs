//! The stream items, two ways: [`StreamStore`] is the compositor's side (arrivals, the claim, the submitted job),
//! [`StreamStatusStore`] the side clients see (owner and status) and job events move forward.

use std::future::Future;

use super::StoreError;
use crate::capability::CapabilityDigest;
use crate::jobevent::StreamUpdate;
use crate::pairing::{Arrival, ClaimOutcome, Source, StreamFailure, StreamState, Submission};
use crate::stream_status::{StreamRecord, StreamStatus};

/// The compositor's side of a stream item. Every write that decides something is conditional: an arrival is
/// idempotent on the object's etag, a claim is taken only if no live claim exists and the stored generation is the
/// one the decision was made on, and the submitted job (or a failure) is recorded only by the claim's holder.
pub trait StreamStore: Send + Sync {
    /// Reads a stream's item (strongly consistent), as the pairing rules see it.
    fn get(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Option<StreamState>, StoreError>> + Send;
    /// Records the arrival of `source`; returns the item after it and whether the arrival was new. The same object
    /// (same etag) again changes nothing; a new object (a re-upload) replaces the arrival. The first arrival creates
    /// the item as `queued`.
    fn record_arrival(
        &self,
        stream: &str,
        source: Source,
        arrival: &Arrival,
        now_ms: u64,
    ) -> impl Future<Output = Result<(StreamState, bool), StoreError>> + Send;
    /// Takes the claim for `submission` with `token` until `now_ms + lease_ms`, recording the generation it is for
    /// (the job's intent). Refused while another handler's claim is live or when the stored generation moved;
    /// [`ClaimOutcome::Taken`] names an expired claim for the same generation that it replaced.
    fn claim(
        &self,
        stream: &str,
        submission: &Submission,
        token: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;
    /// Records the job submitted under the claim `token` (its generation, id and kind; `processing` at 0 %) and
    /// clears the claim; a [`StoreError::Conflict`] if the claim was lost.
    fn record_submitted(
        &self,
        stream: &str,
        token: &str,
        submission: &Submission,
        job_id: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records, under the claim `token`, that the job of `generation` is being canceled to be replaced: its
    /// cancellation then fails nothing. A [`StoreError::Conflict`] if the claim was lost.
    fn supersede(
        &self,
        stream: &str,
        token: &str,
        generation: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Streams `queued` and unchanged since `queued_before_ms`, or `processing` and unchanged since
    /// `processing_before_ms`: at most `limit`, for the sweeper.
    fn stalled(
        &self,
        queued_before_ms: u64,
        processing_before_ms: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StalledStream>, StoreError>> + Send;
    /// Marks `stalled` failed with `failure` if it is still as the sweeper found it (`processing`, same generation,
    /// unchanged since); `false` if it moved meanwhile.
    fn fail_stalled(
        &self,
        stalled: &StalledStream,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Gives the claim `token` back (after a transient failure); `false` if it was no longer held.
    fn release(
        &self,
        stream: &str,
        token: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks the stream `failed` with `failure` under the claim `token`, and clears the claim; a
    /// [`StoreError::Conflict`] if the claim was lost.
    fn mark_failed(
        &self,
        stream: &str,
        token: &str,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A stream left waiting, as the sweeper finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalledStream {
    /// The stream name.
    pub stream: String,
    /// `queued` (no job: its events and timer did not finish) or `processing` (its job stopped reporting).
    pub status: StreamStatus,
    /// The current generation.
    pub generation: u64,
    /// When the item last changed (epoch ms).
    pub updated_at_ms: u64,
}

/// Which streams [`StreamStatusStore::claim_owner`] may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimIf {
    /// Only a stream without an item: no one has claimed it and none of its files has arrived (every claim and
    /// every arrival writes the item, which lives at least the retention period past its last arrival), so none
    /// of its keys holds a file the pipeline knows of.
    New,
    /// Any stream without an owner, item or not.
    Unowned,
}

/// What [`StreamStatusStore::claim_owner`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerClaim {
    /// The stream had no owner (under [`ClaimIf::New`], no item); now it is the caller's, with the capability
    /// given.
    Claimed,
    /// Under [`ClaimIf::New`]: the stream has an item but no owner (its files arrived first, or a claim was given
    /// back); nothing was written.
    Unowned,
    /// The stream already had an owner; nothing was written.
    Owned {
        /// Its owner.
        owner: String,
        /// The digest of the capability it was claimed with, if any.
        capability: Option<CapabilityDigest>,
    },
}

/// What applying a job event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEventOutcome {
    /// The event moved the stream forward; the item after it.
    Applied(StreamRecord),
    /// This same event (by id) moved the stream forward before: a redelivery. The item as it is.
    AppliedBefore(StreamRecord),
    /// Refused by the forward-only rule (repeated, out of order, or of an older generation); nothing changed.
    Stale(StreamRecord),
    /// The event's generation is newer than the item's: the compositor has not recorded the job yet.
    AheadOfItem(StreamRecord),
    /// No such stream.
    UnknownStream,
}

/// The side of a stream item that clients see: who owns it and where its job stands. Job events move it only
/// forward ([`crate::stream_status::JobProgressState::admits`]), so concurrent, repeated and stale events never
/// move a status backwards.
pub trait StreamStatusStore: Send + Sync {
    /// Reads a stream's status (strongly consistent).
    fn get_status(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Option<StreamRecord>, StoreError>> + Send;
    /// Makes `owner` the stream's owner if it has none (under [`ClaimIf::New`], only if it has no item), with
    /// `capability` (an anonymous owner's) stored beside it, creating the item (expiring at `expires_at`) if
    /// needed: one conditional write, so of concurrent first claims exactly one is [`OwnerClaim::Claimed`]. A
    /// stream that has an owner is left as it is and answered with [`OwnerClaim::Owned`]: whether the caller may
    /// use it is the caller's decision.
    fn claim_owner(
        &self,
        stream: &str,
        owner: &str,
        capability: Option<&CapabilityDigest>,
        expires_at: u64,
        scope: ClaimIf,
    ) -> impl Future<Output = Result<OwnerClaim, StoreError>> + Send;
    /// Undoes a claim made with `capability` whose request then failed (its capability never reached the client,
    /// so no one could use the stream again): removes the owner and the capability if the item still holds that
    /// capability. `false` if it did not.
    fn release_owner(
        &self,
        stream: &str,
        capability: &CapabilityDigest,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Applies an event of job `generation` to `stream` if it moves the stream forward, recording `event_id` with
    /// the change (so a redelivery after a crash is told from a stale event).
    fn apply_job_event(
        &self,
        stream: &str,
        generation: u64,
        update: &StreamUpdate,
        event_id: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<JobEventOutcome, StoreError>> + Send;
}
