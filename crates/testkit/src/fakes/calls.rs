//! [`InMemoryCalls`]: call recordings, their tracks, compositions, previews, exports and token grants in memory, with the conditions
//! the DynamoDB adapter writes under.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use vidpipe_core::call::composition::{CompositionState, SavedComposition};
use vidpipe_core::call::export::ExportState;
use vidpipe_core::call::preview::PreviewState;
use vidpipe_core::call::token::{TokenGrant, TokenUse};
use vidpipe_core::call::{Call, CallTrack};
use vidpipe_core::capability::CapabilityDigest;
use vidpipe_core::ports::{
    CallExports, CallPreviews, CallTracks, CompositionStore, CompositionTokens, SaveOutcome,
    StoreError, StoredPreview, VersionMatch,
};

/// Calls and grants in memory. Writes that applied are counted.
#[derive(Debug, Default)]
pub struct InMemoryCalls {
    /// The call recordings, by id.
    pub calls: Mutex<HashMap<String, Call>>,
    /// The token grants, by stored digest.
    pub grants: Mutex<HashMap<String, TokenGrant>>,
    /// Writes that applied.
    pub writes: AtomicUsize,
}

impl InMemoryCalls {
    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, Call>> {
        self.calls.lock().expect("calls lock")
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenGrant>> {
        self.grants.lock().expect("grants lock")
    }

    /// Stores `state` in the call's `slot` (its previews or its export) only if the stored one's revision is
    /// `expected` (`None`: none stored yet), as the DynamoDB adapter's conditional write does.
    fn replace_revised<T: Clone>(
        &self,
        recording_id: &str,
        slot: impl FnOnce(&mut Call) -> &mut Option<T>,
        revision: impl Fn(&T) -> u64,
        state: &T,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut calls = self.calls();
        let call = calls
            .get_mut(recording_id)
            .ok_or(StoreError::Conflict("no such call recording"))?;
        let stored = slot(call);
        if stored.as_ref().map(&revision) != expected {
            return Ok(false);
        }
        *stored = Some(state.clone());
        self.wrote();
        Ok(true)
    }
}

impl CallTracks for InMemoryCalls {
    async fn get_call(&self, recording_id: &str) -> Result<Option<Call>, StoreError> {
        Ok(self.calls().get(recording_id).cloned())
    }

    async fn register_track(
        &self,
        room_id: &str,
        recording_id: &str,
        track: &CallTrack,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut calls = self.calls();
        let call = calls
            .entry(recording_id.to_owned())
            .or_insert_with(|| Call {
                recording_id: recording_id.to_owned(),
                room_id: room_id.to_owned(),
                owner: track.uploader.clone(),
                created_at_ms: track.created_at_ms,
                expires_at,
                tracks: Vec::new(),
                composition: None,
                preview: None,
                export: None,
            });
        if call.room_id != room_id {
            return Err(StoreError::Conflict(
                "the call recording is in another room",
            ));
        }
        if call.tracks.iter().any(|t| t.track_id == track.track_id) {
            return Err(StoreError::Conflict("this track is already registered"));
        }
        call.expires_at = expires_at;
        call.tracks.push(track.clone());
        self.wrote();
        Ok(())
    }
}

impl CompositionStore for InMemoryCalls {
    async fn save_composition(
        &self,
        recording_id: &str,
        state: &CompositionState,
        expected: VersionMatch,
        now_ms: u64,
    ) -> Result<SaveOutcome, StoreError> {
        let mut calls = self.calls();
        let call = calls
            .get_mut(recording_id)
            .ok_or(StoreError::Conflict("no such call recording"))?;
        let current = call.composition.as_ref().map(|c| c.version);
        if !expected.matches(current) {
            return Ok(SaveOutcome::Mismatch { current });
        }
        let saved = SavedComposition {
            state: state.clone(),
            version: current.unwrap_or(0) + 1,
            updated_at_ms: now_ms,
        };
        call.composition = Some(saved.clone());
        self.wrote();
        Ok(SaveOutcome::Saved(saved))
    }
}

impl CallPreviews for InMemoryCalls {
    async fn get_preview(&self, recording_id: &str) -> Result<Option<StoredPreview>, StoreError> {
        let calls = self.calls();
        Ok(calls.get(recording_id).and_then(|call| {
            let state = call.preview.clone()?;
            Some(StoredPreview {
                room_id: call.room_id.clone(),
                state,
            })
        }))
    }

    async fn replace_preview(
        &self,
        recording_id: &str,
        state: &PreviewState,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let revision = |p: &PreviewState| p.revision;
        self.replace_revised(recording_id, |c| &mut c.preview, revision, state, expected)
    }
}

impl CallExports for InMemoryCalls {
    async fn replace_export(
        &self,
        recording_id: &str,
        state: &ExportState,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let revision = |e: &ExportState| e.revision;
        self.replace_revised(recording_id, |c| &mut c.export, revision, state, expected)
    }
}

impl CompositionTokens for InMemoryCalls {
    async fn put_grant(&self, grant: &TokenGrant) -> Result<(), StoreError> {
        let mut grants = self.grants();
        let key = grant.digest.to_stored();
        if grants.contains_key(&key) {
            return Err(StoreError::Conflict("a token with this digest exists"));
        }
        grants.insert(key, grant.clone());
        self.wrote();
        Ok(())
    }

    async fn get_grant(&self, digest: &CapabilityDigest) -> Result<Option<TokenGrant>, StoreError> {
        Ok(self.grants().get(&digest.to_stored()).cloned())
    }

    async fn burn(
        &self,
        digest: &CapabilityDigest,
        use_: &TokenUse<'_>,
    ) -> Result<bool, StoreError> {
        let mut grants = self.grants();
        let key = digest.to_stored();
        if grants.get(&key).is_some_and(|g| g.check(use_).is_ok()) {
            grants.remove(&key);
            self.wrote();
            return Ok(true);
        }
        Ok(false)
    }
}
