//! The renders' terminal statuses ([`RenderStore`]): `pk = RENDER#{render_id}`, `sk = RENDER`; the first terminal
//! status wins.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use vidpipe_core::ports::{RenderOutcome, RenderStore, StoreError};
use vidpipe_core::stream_status::{RenderResult, RenderStatus};

use super::TTL_ATTRIBUTE;
use super::conditional::unavailable;
use super::item::{Item, get_s, n, s, with_optional};

/// The render items of the table.
#[derive(Debug, Clone)]
pub struct DynamoRenders {
    client: Client,
    table: String,
}

impl DynamoRenders {
    /// The renders of `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl RenderStore for DynamoRenders {
    /// Writes `status`, `output_uri`, `frames`, `error_*`, `execution`, `updated_at` and `expires_at`, on the
    /// condition that the item has no status or this one.
    async fn record_render(
        &self,
        result: &RenderResult,
        status: &RenderStatus,
        now_ms: u64,
        expires_at: u64,
    ) -> Result<RenderOutcome, StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(format!("RENDER#{}", result.render_id))),
            ("sk".to_owned(), s("RENDER")),
            ("render_id".to_owned(), s(&result.render_id)),
            ("status".to_owned(), s(status.as_str())),
            ("updated_at".to_owned(), n(now_ms)),
            (TTL_ATTRIBUTE.to_owned(), n(expires_at)),
        ]);
        let optional = [
            ("output_uri", result.output_uri.clone().map(s)),
            ("frames", result.frames.map(n)),
            ("error_code", result.error.as_ref().map(|e| s(&e.error))),
            ("error_message", result.error.as_ref().map(|e| s(&e.cause))),
            ("execution", result.execution.clone().map(s)),
        ];
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_optional(item, optional)))
            .condition_expression("attribute_not_exists(#status) OR #status = :status")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(_) => Ok(RenderOutcome::Recorded),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    Ok(RenderOutcome::AlreadyEnded(
                        c.item()
                            .and_then(|i| get_s(i, "status"))
                            .unwrap_or_default(),
                    ))
                }
                _ => Err(unavailable(e)),
            },
        }
    }
}
