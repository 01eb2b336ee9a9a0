//! Marks of canceled jobs ([`CanceledJobs`]): `pk = JOB#{job_id}`, `sk = CANCELED`, expiring (TTL `expires_at`).

use aws_sdk_dynamodb::Client;
use vidpipe_core::ports::{CanceledJobs, StoreError};

use super::TTL_ATTRIBUTE;
use super::conditional::unavailable;
use super::item::{n, s};

/// The canceled-job marks of the table.
#[derive(Debug, Clone)]
pub struct DynamoCanceledJobs {
    client: Client,
    table: String,
}

impl DynamoCanceledJobs {
    /// The marks of `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn job_pk(job_id: &str) -> String {
    format!("JOB#{job_id}")
}

impl CanceledJobs for DynamoCanceledJobs {
    async fn mark_canceled(&self, job_id: &str, expires_at: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(job_pk(job_id)))
            .item("sk", s("CANCELED"))
            .item(TTL_ATTRIBUTE, n(expires_at))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn is_canceled(&self, job_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(job_pk(job_id)))
            .key("sk", s("CANCELED"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item().is_some())
    }
}
