//! [`RecordingStore`]: what the API records about uploads, and their `uploaded` mark.

use std::future::Future;

use super::StoreError;
use crate::recording::{Recording, RecordingStatus};

/// One page of a caller's recordings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingPage {
    /// Items, newest first.
    pub items: Vec<Recording>,
    /// Opaque cursor for the next page, if any.
    pub next_cursor: Option<String>,
}

/// The recordings: written when an upload is signed, marked `uploaded` when its object arrives.
pub trait RecordingStore: Send + Sync {
    /// Writes a new recording; a [`StoreError::Conflict`] if its id is taken.
    fn put_new(&self, recording: &Recording)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads one recording.
    fn get(
        &self,
        recording_id: &str,
    ) -> impl Future<Output = Result<Option<Recording>, StoreError>> + Send;
    /// Moves a recording from `from` to `to`; a [`StoreError::Conflict`] if it is no longer in `from`.
    fn set_status(
        &self,
        recording_id: &str,
        from: RecordingStatus,
        to: RecordingStatus,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Lists `owner`'s recordings newest first, optionally in one room, `limit` per page; a
    /// [`StoreError::InvalidCursor`] for a cursor this store did not hand to this owner.
    fn list_by_owner(
        &self,
        owner: &str,
        room_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<RecordingPage, StoreError>> + Send;
    /// Marks a recording `uploaded` with its object's `size` and `etag` (from its ObjectCreated event). Repeating
    /// it is harmless; a [`StoreError::Conflict`] if the recording is unknown or was aborted.
    fn mark_uploaded(
        &self,
        recording_id: &str,
        size: u64,
        etag: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a recording's item (nothing when there is none).
    fn delete(&self, recording_id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
