//! The compositor's side of a stream item ([`StreamStore`]): arrivals, the claim lease, the submitted job and
//! failure. Every write that decides something is one conditional write; the trait says which.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use vidpipe_core::pairing::{
    Arrival, ClaimOutcome, Source, StreamFailure, StreamState, Submission,
};
use vidpipe_core::ports::{StalledStream, StoreError, StreamStore};
use vidpipe_core::stream_status::StreamStatus;

use super::{DynamoStreams, STREAM_SK, claim_from_item, state_from_item};
use crate::dynamo::TTL_ATTRIBUTE;
use crate::dynamo::conditional::{applied, conditional, unavailable};
use crate::dynamo::item::{get_n, get_s, n, s};

/// Whether a write's condition failed (the caller lost a race, which is not an error).
fn lost_race<T, R>(result: &Result<T, SdkError<UpdateItemError, R>>) -> bool {
    matches!(result, Err(e) if e.as_service_error().is_some_and(UpdateItemError::is_conditional_check_failed_exception))
}

impl StreamStore for DynamoStreams {
    async fn get(&self, stream: &str) -> Result<Option<StreamState>, StoreError> {
        self.read(stream)
            .await?
            .as_ref()
            .map(state_from_item)
            .transpose()
    }

    /// Records the arrival of `source`, and returns the item after it and whether the arrival was new. The same
    /// object (same etag) arriving again changes nothing; a new object (a re-upload) replaces the arrival. The first
    /// arrival creates the item as `queued`, with `expires_at` = now + the retention.
    async fn record_arrival(
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
                 {side}_uploads = if_not_exists({side}_uploads, :zero) + :one, updated_at = :now"
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
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if lost_race(&result) {
            let state = self.get(stream).await?.ok_or_else(|| {
                StoreError::Corrupt("stream item vanished after a duplicate arrival".into())
            })?;
            return Ok((state, false));
        }
        let out = result.map_err(unavailable)?;
        let item = out
            .attributes()
            .ok_or_else(|| StoreError::Corrupt("UpdateItem returned no attributes".into()))?;
        Ok((state_from_item(item)?, true))
    }

    /// Takes the claim for `submission` with `token` until `now_ms + lease_ms`, in one conditional write: only if no
    /// live claim exists and the stored generation is still the one the decision was made on. The item as it was
    /// tells a takeover (the old claim), a live claim (its lease) and a moved generation apart.
    async fn claim(
        &self,
        stream: &str,
        submission: &Submission,
        token: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        let expected = submission.expected_generation();
        let generation = if expected == 0 {
            "(attribute_not_exists(generation) OR generation = :generation)"
        } else {
            "generation = :generation"
        };
        let result = self
            .update(stream)
            .update_expression(
                "SET claim_token = :token, claimed_at = :now, claim_expires_at = :until, \
                 claim_generation = :next, updated_at = :now",
            )
            .condition_expression(format!(
                "attribute_exists(pk) AND (attribute_not_exists(claim_token) OR claim_expires_at <= :now) \
                 AND {generation}"
            ))
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":until", n(now_ms + lease_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":generation", n(expected))
            .expression_attribute_values(":next", n(submission.generation))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let before = out.attributes().and_then(claim_from_item);
                Ok(ClaimOutcome::Taken {
                    taken_over: before.filter(|c| c.generation == submission.generation),
                })
            }
            Err(e) => {
                let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
                    e.as_service_error()
                else {
                    return Err(unavailable(e));
                };
                let item = failed.item();
                let live = item.and_then(claim_from_item).filter(|c| c.is_live(now_ms));
                Ok(match live {
                    Some(claim) => ClaimOutcome::HeldElsewhere {
                        until_ms: claim.expires_at_ms,
                    },
                    None => ClaimOutcome::GenerationMoved,
                })
            }
        }
    }

    /// Records the job submitted under the claim `token`: `generation`, `status = processing`, `progress = 0`,
    /// `job_id`, `job_kind`, `fallback_reason` (single-source jobs only), and clears the claim, `output_key` and
    /// `error_*` (events of older generations are then ignored by the notifier). A conflict if the claim was lost.
    async fn record_submitted(
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
            " REMOVE claim_token, claimed_at, claim_expires_at, claim_generation, output_key, error_code, \
             error_message, cost_micro_usd, cost_output_seconds, cost_basis",
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
        conditional(result, "the claim was lost before the job was recorded")
    }

    /// Records `generation` as superseded under the claim `token` (the notifier then refuses its job's
    /// cancellation). A conflict if the claim was lost.
    async fn supersede(
        &self,
        stream: &str,
        token: &str,
        generation: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .update(stream)
            .update_expression("SET superseded_generation = :generation")
            .condition_expression("claim_token = :token")
            .expression_attribute_values(":generation", n(generation))
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        conditional(
            result,
            "the claim was lost before the fallback was superseded",
        )
    }

    /// Scans the table for stalled stream items, page by page, until `limit` are found. A scan reads every item;
    /// the sweeper runs every few minutes, and a stalled stream is rare, so no index is kept for it.
    async fn stalled(
        &self,
        queued_before_ms: u64,
        processing_before_ms: u64,
        limit: usize,
    ) -> Result<Vec<StalledStream>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "sk = :sk AND ((#status = :queued AND updated_at < :q) OR \
                     (#status = :processing AND updated_at < :p))",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":sk", s(STREAM_SK))
                .expression_attribute_values(":queued", s(StreamStatus::Queued.as_str()))
                .expression_attribute_values(":processing", s(StreamStatus::Processing.as_str()))
                .expression_attribute_values(":q", n(queued_before_ms))
                .expression_attribute_values(":p", n(processing_before_ms))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                let status = get_s(item, "status").and_then(|v| StreamStatus::parse(&v));
                if let (Some(stream), Some(status)) = (get_s(item, "stream"), status) {
                    found.push(StalledStream {
                        stream,
                        status,
                        generation: get_n(item, "generation").unwrap_or(0),
                        updated_at_ms: get_n(item, "updated_at").unwrap_or(0),
                    });
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() || found.len() >= limit {
                found.truncate(limit);
                return Ok(found);
            }
        }
    }

    /// Marks a stalled stream failed, if it is still `processing` with the same generation and `updated_at`.
    async fn fail_stalled(
        &self,
        stalled: &StalledStream,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let result = self
            .update(&stalled.stream)
            .update_expression(
                "SET #status = :failed, error_code = :code, error_message = :message, updated_at = :now",
            )
            .condition_expression("#status = :processing AND generation = :g AND updated_at = :seen")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", s(StreamStatus::Failed.as_str()))
            .expression_attribute_values(":processing", s(StreamStatus::Processing.as_str()))
            .expression_attribute_values(":code", s(&failure.code))
            .expression_attribute_values(":message", s(&failure.message))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":g", n(stalled.generation))
            .expression_attribute_values(":seen", n(stalled.updated_at_ms))
            .send()
            .await;
        applied(result)
    }

    /// Gives the claim `token` back (after a transient failure), so a retry can take it at once. Returns `false`
    /// if the claim was no longer held (it expired and was taken over).
    async fn release(&self, stream: &str, token: &str) -> Result<bool, StoreError> {
        let result = self
            .update(stream)
            .update_expression("REMOVE claim_token, claimed_at, claim_expires_at, claim_generation")
            .condition_expression("claim_token = :token")
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        applied(result)
    }

    /// Marks the stream `failed` with `failure` under the claim `token` (a recording that cannot be processed),
    /// and clears the claim. A conflict if the claim was lost.
    async fn mark_failed(
        &self,
        stream: &str,
        token: &str,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .update(stream)
            .update_expression(
                "SET #status = :failed, error_code = :code, error_message = :message, updated_at = :now \
                 REMOVE claim_token, claimed_at, claim_expires_at, claim_generation",
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
        conditional(result, "the claim was lost before the failure was recorded")
    }
}
