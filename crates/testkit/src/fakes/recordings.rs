//! [`InMemoryRecordings`]: recording items in memory, with the conditions the DynamoDB adapter writes under.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use vidpipe_core::ports::{RecordingPage, RecordingStore, StoreError};
use vidpipe_core::recording::{Recording, RecordingStatus};

/// Recordings in memory. Pages are cut by position: a cursor is the index of the next item. Writes that applied
/// are counted.
#[derive(Debug, Default)]
pub struct InMemoryRecordings {
    /// The recordings, by id.
    pub items: Mutex<HashMap<String, Recording>>,
    /// Writes that applied (or were attempted, for a new recording).
    pub writes: AtomicUsize,
}

impl InMemoryRecordings {
    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Recording>> {
        self.items.lock().expect("recordings lock")
    }
}

impl RecordingStore for InMemoryRecordings {
    async fn put_new(&self, recording: &Recording) -> Result<(), StoreError> {
        self.wrote();
        let mut items = self.lock();
        if items.contains_key(&recording.recording_id) {
            return Err(StoreError::Conflict("exists"));
        }
        items.insert(recording.recording_id.clone(), recording.clone());
        Ok(())
    }

    async fn get(&self, recording_id: &str) -> Result<Option<Recording>, StoreError> {
        Ok(self.lock().get(recording_id).cloned())
    }

    async fn delete(&self, recording_id: &str) -> Result<(), StoreError> {
        self.wrote();
        self.lock().remove(recording_id);
        Ok(())
    }

    async fn set_status(
        &self,
        recording_id: &str,
        from: RecordingStatus,
        to: RecordingStatus,
    ) -> Result<(), StoreError> {
        self.wrote();
        match self.lock().get_mut(recording_id) {
            Some(r) if r.status == from => {
                r.status = to;
                Ok(())
            }
            _ => Err(StoreError::Conflict("state")),
        }
    }

    async fn list_by_owner(
        &self,
        owner: &str,
        room_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<RecordingPage, StoreError> {
        let mut mine: Vec<Recording> = self
            .lock()
            .values()
            .filter(|r| {
                r.owner == owner && room_id.is_none_or(|room| r.room_id.as_deref() == Some(room))
            })
            .cloned()
            .collect();
        mine.sort_by(|a, b| {
            (b.created_at_ms, &b.recording_id).cmp(&(a.created_at_ms, &a.recording_id))
        });
        let start: usize = match cursor {
            Some(c) => c.parse().map_err(|_| StoreError::InvalidCursor)?,
            None => 0,
        };
        let items: Vec<Recording> = mine.iter().skip(start).take(limit).cloned().collect();
        let next_cursor = (start + limit < mine.len()).then(|| (start + limit).to_string());
        Ok(RecordingPage { items, next_cursor })
    }

    async fn mark_uploaded(
        &self,
        recording_id: &str,
        size: u64,
        _etag: &str,
    ) -> Result<(), StoreError> {
        match self.lock().get_mut(recording_id) {
            Some(r)
                if matches!(
                    r.status,
                    RecordingStatus::Uploading | RecordingStatus::Uploaded
                ) =>
            {
                r.status = RecordingStatus::Uploaded;
                r.size = size;
                self.wrote();
                Ok(())
            }
            _ => Err(StoreError::Conflict(
                "no recording is uploading under this id",
            )),
        }
    }
}
