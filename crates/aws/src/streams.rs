//! DynamoDB: stream items, render items and processed-event markers, in the recordings table.
//!
//! - The compositor's side of a stream ([`StreamTable`]): arrivals, the claim lease, the submitted job and failure.
//!   Every write that decides something is one conditional write: arrivals are idempotent on the object's etag, a
//!   claim is taken only if no live claim exists and the generation is the one the decision was made on, and the
//!   submitted job (or a failure) is recorded only by the claim's holder.
//! - A stream is `pk = STREAM#{stream}`, `sk = STREAM` (attributes in the streams contract). Job events change it
//!   only through conditional updates that enforce the forward-only rule in DynamoDB itself
//!   ([`vidpipe_core::stream_status::JobProgressState::admits`] is the same rule), so concurrent, repeated and
//!   stale events can never move a status backwards. The update that applies an event also records its id
//!   (`last_event_id`), so a redelivery after a crash can tell "already applied by this very event" from "stale".
//! - A render is `pk = RENDER#{render_id}`, `sk = RENDER`: its first terminal status wins.
//! - A processed event is `pk = EVENT#{id}`, `sk = EVENT`, expiring (TTL `expires_at`) after the retention period.

use crate::recordings::{StoreError, TTL_ATTRIBUTE, applied, conditional, get_n, get_s, n, s};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;
use vidpipe_core::jobevent::StreamUpdate;
use vidpipe_core::pairing::{Arrival, Claim, OutputKind, Source, StreamState, Submission};
use vidpipe_core::stream_status::{JobProgressState, RenderResult, RenderStatus, StreamStatus};

type Item = HashMap<String, AttributeValue>;

/// A stream as the table holds it (the fields the notifier and the status API read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// The stream name.
    pub stream: String,
    /// Who signed its uploads.
    pub owner: Option<String>,
    /// The status (`queued` while the item carries none).
    pub status: StreamStatus,
    /// Percent complete of the current job.
    pub progress: u8,
    /// The current generation (0 before the first job).
    pub generation: u64,
    /// The current job.
    pub job_id: Option<String>,
    /// `composite` or `single`.
    pub job_kind: Option<String>,
    /// Why the job is single-source.
    pub fallback_reason: Option<String>,
    /// The output's key, once ready.
    pub output_key: Option<String>,
    /// The error code, once failed.
    pub error_code: Option<String>,
    /// The error message, once failed.
    pub error_message: Option<String>,
}

impl StreamRecord {
    /// The part job events change.
    pub fn progress_state(&self) -> JobProgressState {
        JobProgressState {
            generation: self.generation,
            status: self.status,
            progress: self.progress,
        }
    }
}

/// What applying a job event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEventOutcome {
    /// The event moved the stream forward; the item after it.
    Applied(StreamRecord),
    /// This same event (by id) moved the stream forward before: a redelivery. The item as it is.
    AppliedBefore(StreamRecord),
    /// Refused by the forward-only rule (repeated, out of order, or of an older generation); nothing changed.
    Stale(StreamRecord),
    /// The event's generation is newer than the item's: the compositor has not recorded the job yet.
    AheadOfItem(StreamRecord),
    /// No such stream.
    UnknownStream,
}

/// What recording a render result did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderOutcome {
    /// The render item now has this status (written now, or by an earlier delivery of the same result).
    Recorded,
    /// The render already ended with another status (the first terminal status wins); nothing changed.
    AlreadyEnded(String),
}

/// Stream items, render items and event markers.
#[derive(Debug, Clone)]
pub struct StatusTable {
    client: Client,
    table: String,
}

fn stream_pk(stream: &str) -> String {
    format!("STREAM#{stream}")
}

const STREAM_SK: &str = "STREAM";

/// Reads a stream's item (strongly consistent): the one read behind both [`StatusTable`] and [`StreamTable`].
async fn read_stream_item(
    client: &Client,
    table: &str,
    stream: &str,
) -> Result<Option<Item>, StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(stream_pk(stream)))
        .key("sk", s(STREAM_SK))
        .consistent_read(true)
        .send()
        .await?;
    Ok(out.item)
}

fn stream_from_item(item: &Item) -> Result<StreamRecord, StoreError> {
    let stream =
        get_s(item, "stream").ok_or_else(|| StoreError::Corrupt("stream without a name".into()))?;
    let status = match get_s(item, "status") {
        None => StreamStatus::Queued,
        Some(v) => StreamStatus::parse(&v)
            .ok_or_else(|| StoreError::Corrupt(format!("stream {stream}: status {v}")))?,
    };
    Ok(StreamRecord {
        owner: get_s(item, "owner"),
        status,
        progress: get_n::<u8>(item, "progress").unwrap_or(0).min(100),
        generation: get_n(item, "generation").unwrap_or(0),
        job_id: get_s(item, "job_id"),
        job_kind: get_s(item, "job_kind"),
        fallback_reason: get_s(item, "fallback_reason"),
        output_key: get_s(item, "output_key"),
        error_code: get_s(item, "error_code"),
        error_message: get_s(item, "error_message"),
        stream,
    })
}

impl StatusTable {
    /// The table `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Reads a stream.
    pub async fn get_stream(&self, stream: &str) -> Result<Option<StreamRecord>, StoreError> {
        read_stream_item(&self.client, &self.table, stream)
            .await?
            .as_ref()
            .map(stream_from_item)
            .transpose()
    }

    /// Records `owner` on the stream (creating the item, with `expires_at`, if needed); a
    /// [`StoreError::Conflict`] if someone else owns it. Nothing is written on a conflict.
    pub async fn claim_stream(
        &self,
        stream: &str,
        owner: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(stream_pk(stream)))
            .key("sk", s(STREAM_SK))
            .update_expression(
                "SET #owner = if_not_exists(#owner, :owner), #stream = :stream, \
                 #ttl = if_not_exists(#ttl, :ttl)",
            )
            .condition_expression("attribute_not_exists(#owner) OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#stream", "stream")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":stream", s(stream))
            .expression_attribute_values(":ttl", n(expires_at))
            .send()
            .await;
        conditional(result, "the stream belongs to someone else")
    }

    /// Applies a job event of job `generation` to `stream`, only if it moves the stream forward: same generation,
    /// status not terminal, and for progress a larger percentage. `event_id` is recorded with the change.
    pub async fn apply_job_event(
        &self,
        stream: &str,
        generation: u64,
        update: &StreamUpdate,
        event_id: &str,
        now_ms: u64,
    ) -> Result<JobEventOutcome, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(stream_pk(stream)))
            .key("sk", s(STREAM_SK))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#generation", "generation")
            .expression_attribute_values(":g", n(generation))
            .expression_attribute_values(":queued", s(StreamStatus::Queued.as_str()))
            .expression_attribute_values(":processing", s(StreamStatus::Processing.as_str()))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":event", s(event_id))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let not_terminal =
            "(attribute_not_exists(#status) OR #status = :queued OR #status = :processing)";
        let common = "updated_at = :now, last_event_id = :event";
        request = match update {
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
            StreamUpdate::Ready { output_key } => {
                let request = request
                    .condition_expression(format!("#generation = :g AND {not_terminal}"))
                    .expression_attribute_values(":ready", s(StreamStatus::Ready.as_str()))
                    .expression_attribute_values(":hundred", n(100));
                match output_key {
                    Some(key) => request
                        .update_expression(format!(
                            "SET #status = :ready, progress = :hundred, output_key = :key, {common}"
                        ))
                        .expression_attribute_values(":key", s(key)),
                    None => request.update_expression(format!(
                        "SET #status = :ready, progress = :hundred, {common}"
                    )),
                }
            }
            StreamUpdate::Failed { code, message } => request
                .condition_expression(format!("#generation = :g AND {not_terminal}"))
                .update_expression(format!(
                    "SET #status = :failed, error_code = :code, error_message = :message, {common}"
                ))
                .expression_attribute_values(":failed", s(StreamStatus::Failed.as_str()))
                .expression_attribute_values(":code", s(code))
                .expression_attribute_values(":message", s(message)),
        };
        match request.send().await {
            Ok(out) => {
                let item = out
                    .attributes()
                    .ok_or_else(|| StoreError::Corrupt("no attributes after an update".into()))?;
                Ok(JobEventOutcome::Applied(stream_from_item(item)?))
            }
            Err(e) => {
                let refused = e.as_service_error().and_then(|e| match e {
                    UpdateItemError::ConditionalCheckFailedException(c) => Some(c.item()),
                    _ => None,
                });
                match refused {
                    None => Err(e.into()),
                    Some(None) => Ok(JobEventOutcome::UnknownStream),
                    Some(Some(item)) if !item.contains_key("stream") => {
                        Ok(JobEventOutcome::UnknownStream)
                    }
                    Some(Some(item)) => {
                        let record = stream_from_item(item)?;
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
        }
    }

    /// Records a render's terminal status on its item (`status`, `output_uri`, `error_*`, `updated_at`,
    /// `expires_at`). The first terminal status wins; the same result again is harmless.
    pub async fn record_render(
        &self,
        result: &RenderResult,
        status: &RenderStatus,
        now_ms: u64,
        expires_at: u64,
    ) -> Result<RenderOutcome, StoreError> {
        let mut item: Item = HashMap::from([
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
        item.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))),
        );
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#status) OR #status = :status")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(_) => Ok(RenderOutcome::Recorded),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                    Ok(RenderOutcome::AlreadyEnded(
                        c.item()
                            .and_then(|i| get_s(i, "status"))
                            .unwrap_or_default(),
                    ))
                }
                _ => Err(e.into()),
            },
        }
    }

    /// Whether the event `event_id` was processed (its marker exists).
    pub async fn event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("EVENT#{event_id}")))
            .key("sk", s("EVENT"))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out.item().is_some())
    }

    /// Marks the event `event_id` processed, until `expires_at` (epoch seconds).
    pub async fn mark_event_processed(
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
            .await?;
        Ok(())
    }
}

fn arrival(item: &Item, source: Source) -> Option<Arrival> {
    let name = |field: &str| format!("{}_{field}", source.as_str());
    Some(Arrival {
        key: get_s(item, &name("key"))?,
        size: get_n(item, &name("size")).unwrap_or(0),
        etag: get_s(item, &name("etag")).unwrap_or_default(),
        arrived_at_ms: get_n(item, &name("arrived_at")).unwrap_or(0),
    })
}

/// Decodes a stream item as the pairing rules see it; attributes the compositor does not use are ignored.
pub fn state_from_item(item: &Item) -> Result<StreamState, StoreError> {
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
            .key("pk", s(stream_pk(stream)))
            .key("sk", s(STREAM_SK))
    }

    /// Reads a stream's item (strongly consistent).
    pub async fn get(&self, stream: &str) -> Result<Option<StreamState>, StoreError> {
        read_stream_item(&self.client, &self.table, stream)
            .await?
            .as_ref()
            .map(state_from_item)
            .transpose()
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
        Ok((state_from_item(item)?, true))
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
        applied(result)
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
        conditional(result, "the claim was lost before the job was recorded")
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
        applied(result)
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
        conditional(result, "the claim was lost before the failure was recorded")
    }
}
