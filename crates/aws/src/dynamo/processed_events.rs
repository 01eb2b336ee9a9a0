//! Markers of processed events ([`ProcessedEventStore`]): `pk = EVENT#{id}`, `sk = EVENT`, expiring (TTL
//! `expires_at`) after the retention period.

use aws_sdk_dynamodb::Client;
use vidpipe_core::ports::{ProcessedEventStore, StoreError};

use super::TTL_ATTRIBUTE;
use super::conditional::unavailable;
use super::item::{n, s};

/// The processed-event markers of the table.
#[derive(Debug, Clone)]
pub struct DynamoProcessedEvents {
    client: Client,
    table: String,
}

impl DynamoProcessedEvents {
    /// The markers of `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl ProcessedEventStore for DynamoProcessedEvents {
    async fn is_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("EVENT#{event_id}")))
            .key("sk", s("EVENT"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item().is_some())
    }

    async fn mark_processed(
        &self,
        event_id: &str,
        now_ms: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("EVENT#{event_id}")))
            .item("sk", s("EVENT"))
            .item("processed_at", n(now_ms))
            .item(TTL_ATTRIBUTE, n(expires_at))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
