//! [`InMemoryStreams`]: stream items in memory, both ports ([`StreamStore`] and [`StreamStatusStore`]), with the
//! conditions the DynamoDB adapter writes under.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use vidpipe_core::capability::CapabilityDigest;
use vidpipe_core::cost::JobCost;
use vidpipe_core::jobevent::StreamUpdate;
use vidpipe_core::pairing::{
    Arrival, Claim, ClaimOutcome, OutputKind, Source, StreamFailure, StreamState, Submission,
};
use vidpipe_core::ports::{
    ClaimIf, JobEventOutcome, OwnerClaim, StalledStream, StoreError, StreamStatusStore, StreamStore,
};
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};

/// One stream item: what either side reads or writes.
#[derive(Debug, Clone, Default)]
struct Item {
    stream: String,
    owner: Option<String>,
    capability: Option<CapabilityDigest>,
    status: Option<StreamStatus>,
    progress: u8,
    generation: u64,
    job_id: Option<String>,
    job_kind: Option<OutputKind>,
    fallback_reason: Option<String>,
    output_key: Option<String>,
    error: Option<(String, String)>,
    cost: Option<JobCost>,
    screen: Option<Arrival>,
    camera: Option<Arrival>,
    claim: Option<Claim>,
    superseded_generation: u64,
    updated_at: u64,
    screen_uploads: u32,
    camera_uploads: u32,
    last_event_id: Option<String>,
}

impl Item {
    fn state(&self) -> StreamState {
        StreamState {
            stream: self.stream.clone(),
            screen: self.screen.clone(),
            camera: self.camera.clone(),
            status: self.status,
            generation: self.generation,
            job_kind: self.job_kind,
            job_id: self.job_id.clone(),
            claim: self.claim.clone(),
            fallback_reason: self.fallback_reason.clone(),
        }
    }

    fn record(&self) -> StreamRecord {
        StreamRecord {
            stream: self.stream.clone(),
            owner: self.owner.clone(),
            capability: self.capability.clone(),
            status: self.status.unwrap_or(StreamStatus::Queued),
            progress: self.progress,
            generation: self.generation,
            job_id: self.job_id.clone(),
            job_kind: self.job_kind.map(|k| k.as_str().to_owned()),
            fallback_reason: self.fallback_reason.clone(),
            output_key: self.output_key.clone(),
            error_code: self.error.as_ref().map(|(code, _)| code.clone()),
            error_message: self.error.as_ref().map(|(_, message)| message.clone()),
            superseded_generation: self.superseded_generation,
            screen_uploads: self.screen_uploads,
            camera_uploads: self.camera_uploads,
            cost: self.cost,
        }
    }

    fn holds(&self, token: &str) -> bool {
        self.claim.as_ref().is_some_and(|c| c.token == token)
    }
}

/// `stream`'s item, if the claim `token` holds it; otherwise the conflict `lost` says, as the adapter's condition
/// on `claim_token` answers.
fn held<'a>(
    items: &'a mut HashMap<String, Item>,
    stream: &str,
    token: &str,
    lost: &'static str,
) -> Result<&'a mut Item, StoreError> {
    items
        .get_mut(stream)
        .filter(|item| item.holds(token))
        .ok_or(StoreError::Conflict(lost))
}

/// Stream items in memory. Every write that applies is counted ([`InMemoryStreams::writes`]).
#[derive(Debug, Default)]
pub struct InMemoryStreams {
    items: Mutex<HashMap<String, Item>>,
    writes: AtomicUsize,
}

impl InMemoryStreams {
    /// Stores `record` as a stream's item, as another writer left it.
    pub fn insert(&self, record: StreamRecord) {
        let item = Item {
            stream: record.stream.clone(),
            owner: record.owner,
            capability: record.capability,
            status: Some(record.status),
            progress: record.progress,
            generation: record.generation,
            job_id: record.job_id,
            job_kind: record.job_kind.as_deref().and_then(OutputKind::parse),
            fallback_reason: record.fallback_reason,
            output_key: record.output_key,
            error: record.error_code.zip(record.error_message),
            superseded_generation: record.superseded_generation,
            screen_uploads: record.screen_uploads,
            camera_uploads: record.camera_uploads,
            cost: record.cost,
            ..Item::default()
        };
        self.lock().insert(record.stream, item);
    }

    /// The stream's item as clients see it.
    pub fn record(&self, stream: &str) -> Option<StreamRecord> {
        self.lock().get(stream).map(Item::record)
    }

    /// The writes that applied so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Item>> {
        self.items.lock().expect("stream items lock")
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

impl StreamStore for InMemoryStreams {
    async fn get(&self, stream: &str) -> Result<Option<StreamState>, StoreError> {
        Ok(self.lock().get(stream).map(Item::state))
    }

    async fn record_arrival(
        &self,
        stream: &str,
        source: Source,
        arrival: &Arrival,
        now_ms: u64,
    ) -> Result<(StreamState, bool), StoreError> {
        let mut items = self.lock();
        let item = items.entry(stream.to_owned()).or_default();
        let (side, uploads) = match source {
            Source::Screen => (&mut item.screen, &mut item.screen_uploads),
            Source::Camera => (&mut item.camera, &mut item.camera_uploads),
        };
        if side.as_ref().is_some_and(|a| a.etag == arrival.etag) {
            return Ok((item.state(), false));
        }
        *side = Some(arrival.clone());
        *uploads += 1;
        item.stream = stream.to_owned();
        item.status.get_or_insert(StreamStatus::Queued);
        item.updated_at = now_ms;
        self.wrote();
        Ok((item.state(), true))
    }

    async fn claim(
        &self,
        stream: &str,
        submission: &Submission,
        token: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut items = self.lock();
        let Some(item) = items.get_mut(stream) else {
            return Ok(ClaimOutcome::GenerationMoved);
        };
        if let Some(live) = item.claim.as_ref().filter(|c| c.is_live(now_ms)) {
            return Ok(ClaimOutcome::HeldElsewhere {
                until_ms: live.expires_at_ms,
            });
        }
        if item.generation != submission.expected_generation() {
            return Ok(ClaimOutcome::GenerationMoved);
        }
        let taken_over = item
            .claim
            .take()
            .filter(|c| c.generation == submission.generation);
        item.claim = Some(Claim {
            token: token.to_owned(),
            claimed_at_ms: now_ms,
            expires_at_ms: now_ms + lease_ms,
            generation: submission.generation,
        });
        item.updated_at = now_ms;
        self.wrote();
        Ok(ClaimOutcome::Taken { taken_over })
    }

    async fn record_submitted(
        &self,
        stream: &str,
        token: &str,
        submission: &Submission,
        job_id: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut items = self.lock();
        let item = held(
            &mut items,
            stream,
            token,
            "the claim was lost before the job was recorded",
        )?;
        item.generation = submission.generation;
        item.status = Some(StreamStatus::Processing);
        item.progress = 0;
        item.job_id = Some(job_id.to_owned());
        item.job_kind = Some(submission.kind);
        item.fallback_reason = submission.fallback_reason().map(str::to_owned);
        item.claim = None;
        item.output_key = None;
        item.error = None;
        item.cost = None;
        item.updated_at = now_ms;
        self.wrote();
        Ok(())
    }

    async fn supersede(
        &self,
        stream: &str,
        token: &str,
        generation: u64,
    ) -> Result<(), StoreError> {
        let mut items = self.lock();
        let item = held(
            &mut items,
            stream,
            token,
            "the claim was lost before the fallback was superseded",
        )?;
        item.superseded_generation = generation;
        self.wrote();
        Ok(())
    }

    async fn stalled(
        &self,
        queued_before_ms: u64,
        processing_before_ms: u64,
        limit: usize,
    ) -> Result<Vec<StalledStream>, StoreError> {
        Ok(self
            .lock()
            .values()
            .filter(|item| match item.status {
                Some(StreamStatus::Queued) => item.updated_at < queued_before_ms,
                Some(StreamStatus::Processing) => item.updated_at < processing_before_ms,
                _ => false,
            })
            .take(limit)
            .map(|item| StalledStream {
                stream: item.stream.clone(),
                status: item.status.unwrap_or(StreamStatus::Queued),
                generation: item.generation,
                updated_at_ms: item.updated_at,
            })
            .collect())
    }

    async fn fail_stalled(
        &self,
        stalled: &StalledStream,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut items = self.lock();
        let Some(item) = items.get_mut(&stalled.stream).filter(|item| {
            item.status == Some(StreamStatus::Processing)
                && item.generation == stalled.generation
                && item.updated_at == stalled.updated_at_ms
        }) else {
            return Ok(false);
        };
        item.status = Some(StreamStatus::Failed);
        item.error = Some((failure.code.clone(), failure.message.clone()));
        item.updated_at = now_ms;
        self.wrote();
        Ok(true)
    }

    async fn release(&self, stream: &str, token: &str) -> Result<bool, StoreError> {
        let mut items = self.lock();
        match items.get_mut(stream).filter(|item| item.holds(token)) {
            Some(item) => {
                item.claim = None;
                self.wrote();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn mark_failed(
        &self,
        stream: &str,
        token: &str,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut items = self.lock();
        let item = held(
            &mut items,
            stream,
            token,
            "the claim was lost before the failure was recorded",
        )?;
        item.status = Some(StreamStatus::Failed);
        item.error = Some((failure.code.clone(), failure.message.clone()));
        item.claim = None;
        item.updated_at = now_ms;
        self.wrote();
        Ok(())
    }
}

impl StreamStatusStore for InMemoryStreams {
    async fn get_status(&self, stream: &str) -> Result<Option<StreamRecord>, StoreError> {
        Ok(self.record(stream))
    }

    async fn claim_owner(
        &self,
        stream: &str,
        owner: &str,
        capability: Option<&CapabilityDigest>,
        _expires_at: u64,
        scope: ClaimIf,
    ) -> Result<OwnerClaim, StoreError> {
        let mut items = self.lock();
        let item = items.entry(stream.to_owned()).or_default();
        if let Some(owner) = &item.owner {
            return Ok(OwnerClaim::Owned {
                owner: owner.clone(),
                capability: item.capability.clone(),
            });
        }
        if scope == ClaimIf::New && !item.stream.is_empty() {
            return Ok(OwnerClaim::Unowned);
        }
        item.stream = stream.to_owned();
        item.owner = Some(owner.to_owned());
        item.capability = capability.cloned();
        self.wrote();
        Ok(OwnerClaim::Claimed)
    }

    async fn release_owner(
        &self,
        stream: &str,
        capability: &CapabilityDigest,
    ) -> Result<bool, StoreError> {
        let mut items = self.lock();
        match items
            .get_mut(stream)
            .filter(|item| item.capability.as_ref() == Some(capability))
        {
            Some(item) => {
                item.owner = None;
                item.capability = None;
                self.wrote();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn apply_job_event(
        &self,
        stream: &str,
        generation: u64,
        update: &StreamUpdate,
        event_id: &str,
        now_ms: u64,
    ) -> Result<JobEventOutcome, StoreError> {
        let mut items = self.lock();
        let Some(item) = items.get_mut(stream).filter(|item| !item.stream.is_empty()) else {
            return Ok(JobEventOutcome::UnknownStream);
        };
        let record = item.record();
        let state = record.progress_state();
        if !state.admits(generation, update) {
            return Ok(if item.last_event_id.as_deref() == Some(event_id) {
                JobEventOutcome::AppliedBefore(record)
            } else if record.generation < generation {
                JobEventOutcome::AheadOfItem(record)
            } else {
                JobEventOutcome::Stale(record)
            });
        }
        let after = state.after(update);
        item.status = Some(after.status);
        item.progress = after.progress;
        match update {
            StreamUpdate::Ready { output_key, cost } => {
                if let Some(key) = output_key {
                    item.output_key = Some(key.clone());
                }
                item.cost = *cost;
            }
            StreamUpdate::Failed { code, message } => {
                item.error = Some((code.clone(), message.clone()));
            }
            _ => {}
        }
        item.last_event_id = Some(event_id.to_owned());
        item.updated_at = now_ms;
        self.wrote();
        Ok(JobEventOutcome::Applied(item.record()))
    }
}
