//! DynamoDB: a stream's item in the recordings table (`pk = STREAM#{stream}`, `sk = STREAM`), as the compositor
//! writes it: arrivals, the claim lease, the submitted job, and failure.
//!
//! Every write that decides something is one conditional write: arrivals are idempotent on the object's etag, a
//! claim is taken only if no live claim exists and the generation is the one the decision was made on, and the
//! submitted job (or a failure) is recorded only by the claim's holder.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use vidpipe_core::pairing::{
    Arrival, Claim, OutputKind, Source, StreamState, StreamStatus, Submission,
};

use crate::recordings::{StoreError, TTL_ATTRIBUTE, get_n, get_s, n, s};

const SORT_KEY: &str = "STREAM";

fn pk(stream: &str) -> String {
    format!("STREAM#{stream}")
}

fn arrival(item: &HashMap<String, AttributeValue>, source: Source) -> Option<Arrival> {
    let name = |field: &str| format!("{}_{field}", source.as_str());
    Some(Arrival {
        key: get_s(item, &name("key"))?,
        size: get_n(item, &name("size")).unwrap_or(0),
        etag: get_s(item, &name("etag")).unwrap_or_default(),
        arrived_at_ms: get_n(item, &name("arrived_at")).unwrap_or(0),
    })
}

/// Decodes a stream item; attributes the compositor does not use are ignored.
pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<StreamState, StoreError> {
    let stream = get_s(item, "stream")
        .ok_or_else(|| StoreError::Corrupt("stream item without stream".into()))?;
    let status = match get_s(item, "status") {
        Some(name) => Some(
            StreamStatus::parse(&name)
                .ok_or_else(|| StoreError::Corrupt(format!("stream status {name}")))?,
        ),
        None => None,
    };
    let job_kind = match get_s(item, "job_kind") {
        Some(name) => Some(
            OutputKind::parse(&name)
                .ok_or_else(|| StoreError::Corrupt(format!("job kind {name}")))?,
        ),
        None => None,
    };
    let claim = match (get_s(item, "claim_token"), get_n(item, "claim_expires_at")) {
        (Some(token), Some(expires_at_ms)) => Some(Claim {
            token,
            expires_at_ms,
        }),
        _ => None,
    };
    Ok(StreamState {
        screen: arrival(item, Source::Screen),
        camera: arrival(item, Source::Camera),
        status,
        generation: get_n(item, "generation").unwrap_or(0),
        job_kind,
        job_id: get_s(item, "job_id"),
        claim,
        stream,
    })
}

/// Why the stream could not be submitted: stored on the item as `error_code` / `error_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A short machine-readable code, for example `recording_unusable`.
    pub code: String,
    /// What is wrong, for a human.
    pub message: String,
}

/// The streams in the recordings table.
#[derive(Debug, Clone)]
pub struct StreamTable {
    client: Client,
    table: String,
    retention_days: u32,
}

/// Whether a write's condition failed (the caller lost a race, which is not an error).
fn lost_race<T, R>(result: &Result<T, SdkError<UpdateItemError, R>>) -> bool {
    matches!(result, Err(e) if e.as_service_error().is_some_and(UpdateItemError::is_conditional_check_failed_exception))
}

impl StreamTable {
    /// The streams of `table`, through `client`; items expire `retention_days` after their last arrival.
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
        }
    }

    fn update(&self, stream: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(stream)))
            .key("sk", s(SORT_KEY))
    }

    /// Reads a stream's item (strongly consistent).
    pub async fn get(&self, stream: &str) -> Result<Option<StreamState>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(stream)))
            .key("sk", s(SORT_KEY))
            .consistent_read(true)
            .send()
            .await?;
        out.item().map(from_item).transpose()
    }

    /// Records the arrival of `source`, and returns the item after it and whether the arrival was new. The same
    /// object (same etag) arriving again changes nothing; a new object (a re-upload) replaces the arrival. The first
    /// arrival creates the item as `queued`, with `expires_at` = now + the retention.
    pub async fn record_arrival(
        &self,
        stream: &str,
        source: Source,
        arrival: &Arrival,
        now_ms: u64,
    ) -> Result<(StreamState, bool), StoreError> {
        let side = source.as_str();
        let expires_at = now_ms / 1000 + u64::from(self.retention_days) * 86_400;
        let result = self
            .update(stream)
            .update_expression(format!(
                "SET #stream = :stream, #ttl = :ttl, #status = if_not_exists(#status, :queued), \
                 {side}_key = :key, {side}_size = :size, {side}_etag = :etag, {side}_arrived_at = :arrived, \
                 updated_at = :now"
            ))
            .condition_expression(format!(
                "attribute_not_exists({side}_etag) OR {side}_etag <> :etag"
            ))
            .expression_attribute_names("#stream", "stream")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":stream", s(stream))
            .expression_attribute_values(":ttl", n(expires_at))
            .expression_attribute_values(":queued", s(StreamStatus::Queued.as_str()))
            .expression_attribute_values(":key", s(&arrival.key))
            .expression_attribute_values(":size", n(arrival.size))
            .expression_attribute_values(":etag", s(&arrival.etag))
            .expression_attribute_values(":arrived", n(arrival.arrived_at_ms))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if lost_race(&result) {
            let state = self.get(stream).await?.ok_or_else(|| {
                StoreError::Corrupt("stream item vanished after a duplicate arrival".into())
            })?;
            return Ok((state, false));
        }
        let out = result?;
        let item = out
            .attributes()
            .ok_or_else(|| StoreError::Corrupt("UpdateItem returned no attributes".into()))?;
        Ok((from_item(item)?, true))
    }

    /// Takes the claim for `submission` with `token` until `now_ms + lease_ms`: only if no live claim exists and
    /// the stored generation is still the one the decision was made on. `false` when another handler won.
    pub async fn claim(
        &self,
        stream: &str,
        submission: &Submission,
        token: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<bool, StoreError> {
        let expected = submission.expected_generation();
        let generation = if expected == 0 {
            "(attribute_not_exists(generation) OR generation = :generation)"
        } else {
            "generation = :generation"
        };
        let result = self
            .update(stream)
            .update_expression("SET claim_token = :token, claim_expires_at = :until, updated_at = :now")
            .condition_expression(format!(
                "attribute_exists(pk) AND (attribute_not_exists(claim_token) OR claim_expires_at <= :now) \
                 AND {generation}"
            ))
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":until", n(now_ms + lease_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":generation", n(expected))
            .send()
            .await;
        if lost_race(&result) {
            return Ok(false);
        }
        result?;
        Ok(true)
    }

    /// Records the job submitted under the claim `token`: `generation`, `status = processing`, `progress = 0`,
    /// `job_id`, `job_kind`, `fallback_reason` (single-source jobs only), and clears the claim, `output_key` and
    /// `error_*` (events of older generations are then ignored by the notifier). A conflict if the claim was lost.
    pub async fn record_submitted(
        &self,
        stream: &str,
        token: &str,
        submission: &Submission,
        job_id: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut set = String::from(
            "SET generation = :generation, #status = :processing, progress = :zero, job_id = :job, \
             job_kind = :kind, updated_at = :now",
        );
        let mut remove = String::from(
            " REMOVE claim_token, claim_expires_at, output_key, error_code, error_message",
        );
        let mut update = self.update(stream);
        match submission.fallback_reason() {
            Some(reason) => {
                set.push_str(", fallback_reason = :reason");
                update = update.expression_attribute_values(":reason", s(reason));
            }
            None => remove.push_str(", fallback_reason"),
        }
        let result = update
            .update_expression(format!("{set}{remove}"))
            .condition_expression("claim_token = :token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":generation", n(submission.generation))
            .expression_attribute_values(":processing", s(StreamStatus::Processing.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":job", s(job_id))
            .expression_attribute_values(":kind", s(submission.kind.as_str()))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        if lost_race(&result) {
            return Err(StoreError::Conflict(
                "the claim was lost before the job was recorded",
            ));
        }
        result?;
        Ok(())
    }

    /// Gives the claim `token` back (after a transient failure), so a retry can take it at once. Returns `false`
    /// if the claim was no longer held (it expired and was taken over).
    pub async fn release(&self, stream: &str, token: &str) -> Result<bool, StoreError> {
        let result = self
            .update(stream)
            .update_expression("REMOVE claim_token, claim_expires_at")
            .condition_expression("claim_token = :token")
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        if lost_race(&result) {
            return Ok(false);
        }
        result?;
        Ok(true)
    }

    /// Marks the stream `failed` with `failure` under the claim `token` (a recording that cannot be processed),
    /// and clears the claim. A conflict if the claim was lost.
    pub async fn mark_failed(
        &self,
        stream: &str,
        token: &str,
        failure: &Failure,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .update(stream)
            .update_expression(
                "SET #status = :failed, error_code = :code, error_message = :message, updated_at = :now \
                 REMOVE claim_token, claim_expires_at",
            )
            .condition_expression("claim_token = :token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", s(StreamStatus::Failed.as_str()))
            .expression_attribute_values(":code", s(&failure.code))
            .expression_attribute_values(":message", s(&failure.message))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        if lost_race(&result) {
            return Err(StoreError::Conflict(
                "the claim was lost before the failure was recorded",
            ));
        }
        result?;
        Ok(())
    }
}
