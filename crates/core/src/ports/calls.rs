//! Call recordings: their tracks ([`CallTracks`]), their saved composition ([`CompositionStore`]), their
//! previews ([`CallPreviews`]), their latest export ([`CallExports`]) and their single-use tokens ([`CompositionTokens`]).

use std::future::Future;

use super::StoreError;
use crate::call::composition::{CompositionState, SavedComposition};
use crate::call::export::ExportState;
use crate::call::preview::PreviewState;
use crate::call::token::{TokenGrant, TokenUse};
use crate::call::{Call, CallTrack};
use crate::capability::CapabilityDigest;

/// A call recording's head and tracks.
pub trait CallTracks: Send + Sync {
    /// Reads a call recording with its tracks and composition.
    fn get_call(
        &self,
        recording_id: &str,
    ) -> impl Future<Output = Result<Option<Call>, StoreError>> + Send;
    /// Registers `track` on the call recording `recording_id` of `room_id`, creating the recording (its owner the
    /// track's uploader) if it does not exist yet, and keeping it until `expires_at` (epoch seconds) at least. Two
    /// registrations at once both land, and exactly one of their uploaders becomes the owner. A
    /// [`StoreError::Conflict`] if the recording exists in another room (then nothing is written).
    fn register_track(
        &self,
        room_id: &str,
        recording_id: &str,
        track: &CallTrack,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Which saved composition a save may replace (`If-Match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMatch {
    /// Any, or none yet (no `If-Match`).
    Any,
    /// Some saved composition (`If-Match: *`).
    Exists,
    /// No saved composition yet (`If-None-Match: *`): of two first saves at once, one applies.
    Absent,
    /// Exactly this version (`If-Match: "3"`).
    Version(u64),
}

impl VersionMatch {
    /// Whether a composition at `current` (`None`: none saved) satisfies it.
    pub fn matches(self, current: Option<u64>) -> bool {
        match self {
            Self::Any => true,
            Self::Exists => current.is_some(),
            Self::Absent => current.is_none(),
            Self::Version(v) => current == Some(v),
        }
    }
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Saved, as this version.
    Saved(SavedComposition),
    /// Not saved: the stored version does not match (`None`: none saved).
    Mismatch {
        /// The version stored now.
        current: Option<u64>,
    },
}

/// A call recording's Composition State, versioned.
pub trait CompositionStore: Send + Sync {
    /// Saves `state` at `now_ms` as the next version, with one conditional write on the stored version, so of two
    /// saves over the same version exactly one applies. A [`StoreError::Conflict`] if the recording does not exist.
    fn save_composition(
        &self,
        recording_id: &str,
        state: &CompositionState,
        expected: VersionMatch,
        now_ms: u64,
    ) -> impl Future<Output = Result<SaveOutcome, StoreError>> + Send;
}

/// Single-use token grants, by digest.
pub trait CompositionTokens: Send + Sync {
    /// Stores a new grant (kept by the store's TTL until it expires).
    fn put_grant(&self, grant: &TokenGrant) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads a grant.
    fn get_grant(
        &self,
        digest: &CapabilityDigest,
    ) -> impl Future<Output = Result<Option<TokenGrant>, StoreError>> + Send;
    /// Burns the grant for `use_`: deletes it with one conditional write whose condition is [`TokenGrant::check`].
    /// `true` if this call deleted it, `false` if it was unknown, used, expired, or does not cover `use_`. Of any
    /// number of concurrent burns, at most one is `true`.
    fn burn(
        &self,
        digest: &CapabilityDigest,
        use_: &TokenUse<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A call recording's previews as stored, with the room they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreview {
    /// The call's room.
    pub room_id: String,
    /// The previews.
    pub state: PreviewState,
}

/// A call recording's previews, on its head item: read without its tracks, written by revision.
pub trait CallPreviews: Send + Sync {
    /// Reads the previews of `recording_id`; `None` when there is no such call or no preview was started.
    fn get_preview(
        &self,
        recording_id: &str,
    ) -> impl Future<Output = Result<Option<StoredPreview>, StoreError>> + Send;
    /// Stores `state` with one conditional write: only if the stored revision is `expected` (`None`: no preview
    /// stored yet). `false` when another write came first; a [`StoreError::Conflict`] if there is no such call.
    fn replace_preview(
        &self,
        recording_id: &str,
        state: &PreviewState,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A call recording's latest export, on its head item (read with the call).
pub trait CallExports: Send + Sync {
    /// Stores `state` with one conditional write: only if the stored revision is `expected` (`None`: no export
    /// stored yet). `false` when another write came first; a [`StoreError::Conflict`] if there is no such call.
    fn replace_export(
        &self,
        recording_id: &str,
        state: &ExportState,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Most attempts of [`update_preview`] against concurrent writers (a call's jobs report at once).
const PREVIEW_UPDATE_ATTEMPTS: usize = 16;

/// Reads the previews of `recording_id`, applies `rule` and writes them back unless the rule changed nothing,
/// again from a fresh read when another writer came first. `None` when there are none; otherwise the previews as
/// stored and what `rule` answered.
pub async fn update_preview<S: CallPreviews, T>(
    store: &S,
    recording_id: &str,
    mut rule: impl FnMut(&mut PreviewState) -> T + Send,
) -> Result<Option<(StoredPreview, T)>, StoreError> {
    for _ in 0..PREVIEW_UPDATE_ATTEMPTS {
        let Some(stored) = store.get_preview(recording_id).await? else {
            return Ok(None);
        };
        let mut next = stored.clone();
        let answer = rule(&mut next.state);
        if next == stored {
            return Ok(Some((next, answer)));
        }
        next.state.revision = stored.state.revision + 1;
        if store
            .replace_preview(recording_id, &next.state, Some(stored.state.revision))
            .await?
        {
            return Ok(Some((next, answer)));
        }
    }
    Err(StoreError::Conflict(
        "the call's previews kept changing under this write",
    ))
}
