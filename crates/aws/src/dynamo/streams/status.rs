//! The side of a stream item that clients see ([`StreamStatusStore`]): its owner, and its status as job events move
//! it. Job events change the item only through conditional updates that enforce the forward-only rule in DynamoDB
//! itself ([`vidpipe_core::stream_status::JobProgressState::admits`] is the same rule), so concurrent, repeated
//! and stale events never move a status backwards. The update that applies an event also records its id
//! (`last_event_id`), so a redelivery after a crash can tell "already applied by this very event" from "stale".
//! The owner is set once, by a conditional write that also stores an anonymous owner's capability digest
//! (`capability_sha256`), so of concurrent first signers exactly one owns the stream and holds its capability.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use vidpipe_core::capability::CapabilityDigest;
use vidpipe_core::jobevent::StreamUpdate;
use vidpipe_core::ports::{ClaimIf, JobEventOutcome, OwnerClaim, StoreError, StreamStatusStore};
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};

use super::{
    CAPABILITY_ATTRIBUTE, DynamoStreams, STREAM_SK, capability_from_item, record_from_item,
    stream_pk,
};
use crate::dynamo::TTL_ATTRIBUTE;
use crate::dynamo::conditional::{Written, applied, written};
use crate::dynamo::item::{Item, cost_attributes, get_s, n, s};

impl StreamStatusStore for DynamoStreams {
    async fn get_status(&self, stream: &str) -> Result<Option<StreamRecord>, StoreError> {
        self.read(stream)
            .await?
            .as_ref()
            .map(record_from_item)
            .transpose()
    }

    async fn claim_owner(
        &self,
        stream: &str,
        owner: &str,
        capability: Option<&CapabilityDigest>,
        expires_at: u64,
        scope: ClaimIf,
    ) -> Result<OwnerClaim, StoreError> {
        let written = match scope {
            ClaimIf::New => {
                self.put_owned_item(stream, owner, capability, expires_at)
                    .await?
            }
            ClaimIf::Unowned => {
                self.set_owner(stream, owner, capability, expires_at)
                    .await?
            }
        };
        // A failed condition on the item's existence or owner always returns the item.
        let old = match written {
            Written::Applied(()) => return Ok(OwnerClaim::Claimed),
            Written::Refused(old) => old.ok_or_else(|| {
                StoreError::Corrupt(format!("stream {stream}: refused, but no item"))
            })?,
        };
        Ok(match get_s(&old, "owner") {
            Some(owner) => OwnerClaim::Owned {
                owner,
                capability: capability_from_item(&old)?,
            },
            None => OwnerClaim::Unowned,
        })
    }

    async fn release_owner(
        &self,
        stream: &str,
        capability: &CapabilityDigest,
    ) -> Result<bool, StoreError> {
        let result = self
            .update(stream)
            .update_expression("REMOVE #owner, #capability")
            .condition_expression("#capability = :capability")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#capability", CAPABILITY_ATTRIBUTE)
            .expression_attribute_values(":capability", s(capability.to_stored()))
            .send()
            .await;
        applied(result)
    }

    async fn apply_job_event(
        &self,
        stream: &str,
        generation: u64,
        update: &StreamUpdate,
        event_id: &str,
        now_ms: u64,
    ) -> Result<JobEventOutcome, StoreError> {
        let request = self
            .update(stream)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#generation", "generation")
            .expression_attribute_values(":g", n(generation))
            .expression_attribute_values(":queued", s(StreamStatus::Queued.as_str()))
            .expression_attribute_values(":processing", s(StreamStatus::Processing.as_str()))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":event", s(event_id))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match written(forward_only(request, update).send().await)? {
            Written::Applied(out) => {
                let item = out
                    .attributes()
                    .ok_or_else(|| StoreError::Corrupt("no attributes after an update".into()))?;
                Ok(JobEventOutcome::Applied(record_from_item(item)?))
            }
            Written::Refused(old) => refused(old.as_ref(), generation, event_id),
        }
    }
}

/// `request` with the update and the forward-only condition for `update`: same generation, status not terminal,
/// and for progress a larger percentage.
fn forward_only(
    request: UpdateItemFluentBuilder,
    update: &StreamUpdate,
) -> UpdateItemFluentBuilder {
    let not_terminal =
        "(attribute_not_exists(#status) OR #status = :queued OR #status = :processing)";
    let common = "updated_at = :now, last_event_id = :event";
    match update {
        StreamUpdate::Progress(p) => request
            .update_expression(format!(
                "SET #status = :processing, progress = :p, {common}"
            ))
            .condition_expression(
                "#generation = :g AND (attribute_not_exists(#status) OR #status = :queued OR \
                 (#status = :processing AND ((attribute_not_exists(progress) AND :p > :zero) OR \
                 progress < :p)))",
            )
            .expression_attribute_values(":p", n(p))
            .expression_attribute_values(":zero", n(0)),
        StreamUpdate::Ready { output_key, cost } => {
            let mut request = request
                .condition_expression(format!("#generation = :g AND {not_terminal}"))
                .expression_attribute_values(":ready", s(StreamStatus::Ready.as_str()))
                .expression_attribute_values(":hundred", n(100));
            let mut sets = format!("SET #status = :ready, progress = :hundred, {common}");
            let key = output_key.as_ref().map(|key| ("output_key", s(key)));
            let cost = cost.as_ref().map(cost_attributes).into_iter().flatten();
            for (name, value) in key.into_iter().chain(cost) {
                sets.push_str(&format!(", {name} = :{name}"));
                request = request.expression_attribute_values(format!(":{name}"), value);
            }
            request.update_expression(sets)
        }
        StreamUpdate::Failed { code, message } => request
            .condition_expression(if update.is_cancellation() {
                // The compositor records the generation it cancels to replace before it cancels.
                format!(
                    "#generation = :g AND {not_terminal} AND \
                     (attribute_not_exists(superseded_generation) OR superseded_generation < :g)"
                )
            } else {
                format!("#generation = :g AND {not_terminal}")
            })
            .update_expression(format!(
                "SET #status = :failed, error_code = :code, error_message = :message, {common}"
            ))
            .expression_attribute_values(":failed", s(StreamStatus::Failed.as_str()))
            .expression_attribute_values(":code", s(code))
            .expression_attribute_values(":message", s(message)),
    }
}

/// What a refused job event means, from the item as it was (DynamoDB returns it when the condition fails).
fn refused(
    old: Option<&Item>,
    generation: u64,
    event_id: &str,
) -> Result<JobEventOutcome, StoreError> {
    match old {
        None => Ok(JobEventOutcome::UnknownStream),
        Some(item) if !item.contains_key("stream") => Ok(JobEventOutcome::UnknownStream),
        Some(item) => {
            let record = record_from_item(item)?;
            Ok(
                if get_s(item, "last_event_id").as_deref() == Some(event_id) {
                    JobEventOutcome::AppliedBefore(record)
                } else if record.generation < generation {
                    JobEventOutcome::AheadOfItem(record)
                } else {
                    JobEventOutcome::Stale(record)
                },
            )
        }
    }
}

/// The two writes of an owner claim. Each is one conditional write that, when its condition fails, returns the item as
/// it was (its owner and capability) without a second read.
impl DynamoStreams {
    /// Puts `stream`'s item, owned by `owner`, if it has none. A put rather than an update of a missing item: the
    /// same write in DynamoDB, and a request without an update expression, which moto parses in Python (the claim
    /// answered in 3.5 ms as a put against 6.5 as an update: `tools/bench/coldstart/moto_calls.py`, medians of 40).
    async fn put_owned_item(
        &self,
        stream: &str,
        owner: &str,
        capability: Option<&CapabilityDigest>,
        expires_at: u64,
    ) -> Result<Written<()>, StoreError> {
        let mut item = Item::from([
            ("pk".to_owned(), s(stream_pk(stream))),
            ("sk".to_owned(), s(STREAM_SK)),
            ("owner".to_owned(), s(owner)),
            ("stream".to_owned(), s(stream)),
            (TTL_ATTRIBUTE.to_owned(), n(expires_at)),
        ]);
        if let Some(digest) = capability {
            item.insert(CAPABILITY_ATTRIBUTE.to_owned(), s(digest.to_stored()));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        written(result.map(drop))
    }

    /// Makes `owner` the owner of `stream` if it has none, creating the item if needed.
    async fn set_owner(
        &self,
        stream: &str,
        owner: &str,
        capability: Option<&CapabilityDigest>,
        expires_at: u64,
    ) -> Result<Written<()>, StoreError> {
        let set = "SET #owner = :owner, #stream = :stream, #ttl = if_not_exists(#ttl, :ttl)";
        let request = self
            .update(stream)
            .condition_expression("attribute_not_exists(#owner)")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#stream", "stream")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":stream", s(stream))
            .expression_attribute_values(":ttl", n(expires_at))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let request = match capability {
            Some(digest) => request
                .update_expression(format!("{set}, #capability = :capability"))
                .expression_attribute_names("#capability", CAPABILITY_ATTRIBUTE)
                .expression_attribute_values(":capability", s(digest.to_stored())),
            None => request.update_expression(set),
        };
        written(request.send().await.map(drop))
    }
}
