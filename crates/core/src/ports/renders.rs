//! [`RenderStore`] (the render items the HTTP API creates and serves and the notifier moves forward) and
//! [`ProcessedEventStore`].

use std::future::Future;

use super::StoreError;
use crate::render::record::RenderRecord;

/// One page of an owner's renders, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderPage {
    /// The renders.
    pub items: Vec<RenderRecord>,
    /// Opaque cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

/// The render items (`render::record`): written whole, each write conditional on the version read, so the rules
/// that move a render stay in core ([`update_render`]).
pub trait RenderStore: Send + Sync {
    /// Writes a new render item (version 1); `false` when the render id is taken.
    fn create_render(
        &self,
        record: &RenderRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The render, if there is one.
    fn get_render(
        &self,
        render_id: &str,
    ) -> impl Future<Output = Result<Option<RenderRecord>, StoreError>> + Send;
    /// Writes `record` over the item whose version is `record.version - 1`; `false` when another write came
    /// first (or the item is gone).
    fn replace_render(
        &self,
        record: &RenderRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// `owner`'s renders, newest first, `limit` at most, from `cursor` (a page's `next_cursor`).
    fn list_renders(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<RenderPage, StoreError>> + Send;
    /// Deletes the render item.
    fn delete_render(&self, render_id: &str)
    -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Most attempts of [`update_render`] against concurrent writers.
const UPDATE_ATTEMPTS: usize = 16;

/// Reads `render_id`, applies `rule` to it and writes it back (at `now_ms`) unless the rule changed nothing,
/// again from a fresh read when another writer came first. `None` when there is no such render; otherwise the
/// record as stored and what `rule` answered.
pub async fn update_render<S: RenderStore, T>(
    store: &S,
    render_id: &str,
    now_ms: u64,
    mut rule: impl FnMut(&mut RenderRecord) -> T + Send,
) -> Result<Option<(RenderRecord, T)>, StoreError> {
    for _ in 0..UPDATE_ATTEMPTS {
        let Some(stored) = store.get_render(render_id).await? else {
            return Ok(None);
        };
        let mut record = stored.clone();
        let answer = rule(&mut record);
        if record == stored {
            return Ok(Some((record, answer)));
        }
        record.version = stored.version + 1;
        record.updated_at_ms = now_ms.max(stored.updated_at_ms);
        if store.replace_render(&record).await? {
            return Ok(Some((record, answer)));
        }
    }
    Err(StoreError::Conflict(
        "the render item kept changing under this write",
    ))
}

/// Markers of the events already processed, so a redelivered event publishes nothing.
pub trait ProcessedEventStore: Send + Sync {
    /// Whether the event `event_id` was processed.
    fn is_processed(&self, event_id: &str)
    -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks the event `event_id` processed, until `expires_at` (epoch seconds).
    fn mark_processed(
        &self,
        event_id: &str,
        now_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
