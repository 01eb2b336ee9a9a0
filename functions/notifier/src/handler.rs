//! The handler: one invocation is an EventBridge MediaConvert "Job State Change" event (a stream's job, or a render's
//! chunk job), or, from the render state machine, a `{"render_phase": {...}}` as it enters a step or its
//! `{"render_result": {...}}`.

use serde::Serialize;
use serde_json::{Value, json};
use tracing::Instrument;
use vidpipe_core::call::export::export_event;
use vidpipe_core::clock::{now_ms, rfc3339_ms};
use vidpipe_core::jobevent::{
    JobRoute, JobState, JobStateChange, RouteError, STATES_SOURCE, StreamUpdate, route,
};
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, JobEventOutcome, PackageFiles, PlaybackStore,
    ProcessedEventStore, PublishError, RenderStore, StoreError, StreamStatusStore, update_render,
};
use vidpipe_core::recording::expiry;
use vidpipe_core::render::ports::FolderRemover;
use vidpipe_core::render::record::{FinishOutcome, RenderPhase, RenderRecord};
use vidpipe_core::stream_status::{
    CompositeOutcome, RenderResult, RenderResultError, StreamRecord, composite_event,
};
use vidpipe_lambda::ErrorType;

/// The notifier with its dependencies, one port each: stream statuses `S`, render statuses `R`, processed-event
/// markers `E`, the domain events' publisher `P`, playback packages `B` and their files `F`, and call recordings'
/// previews `C`.
#[derive(Debug)]
pub struct Notifier<S, R, E, P, B, F, C> {
    /// Stream statuses.
    pub streams: S,
    /// Render statuses.
    pub renders: R,
    /// Markers of processed events.
    pub events: E,
    /// The bus and webhook.
    pub publisher: P,
    /// Playback packages.
    pub playbacks: B,
    /// Playback packages' files (the storyboard step).
    pub files: F,
    /// Call recordings' previews.
    pub calls: C,
    /// `RETENTION_DAYS`: how long render items and event markers are kept.
    pub retention_days: u32,
}

/// Why an invocation fails (and is retried by Lambda or caught by the state machine). Bad or foreign events are
/// not errors: they are logged and acknowledged, so they never cause retry storms.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    /// DynamoDB failed.
    #[error("status store: {0}")]
    Store(#[from] StoreError),
    /// The bus refused the event, or a failed webhook could not even reach the dead-letter queue.
    #[error("publish: {0}")]
    Publish(#[from] PublishError),
    /// The event belongs to a job newer than the stream's recorded generation: the compositor has not recorded
    /// the job yet, so the event is retried rather than lost.
    #[error(
        "stream {stream}: job generation {event} is newer than the recorded generation {recorded}"
    )]
    GenerationNotRecorded {
        /// The stream.
        stream: String,
        /// The event's generation.
        event: u64,
        /// The item's generation.
        recorded: u64,
    },
    /// A playback package's thumbnail could not be read (the store failed).
    #[error("package files: {0}")]
    FilesRead(#[source] vidpipe_core::render::ports::FetchError),
    /// A playback package's storyboard could not be written.
    #[error("package files: {0}")]
    FilesWrite(#[source] vidpipe_core::render::ports::PutError),
    /// The render state machine sent a result that does not follow the contract.
    #[error("{0}")]
    InvalidRenderResult(#[source] RenderResultError),
    /// The render state machine sent a phase that does not follow the contract.
    #[error("invalid render_phase: {0}")]
    InvalidRenderPhase(String),
    /// The render state machine sent a chunk report that does not follow the contract.
    #[error("invalid render_chunk: {0}")]
    InvalidChunkReport(String),
}

impl ErrorType for NotifierError {
    /// The error type Lambda reports (and a state machine can Retry or Catch on).
    fn error_type(&self) -> &'static str {
        match self {
            Self::Store(_) => "StatusStoreUnavailable",
            Self::Publish(_) => "PublishFailed",
            Self::FilesRead(_) | Self::FilesWrite(_) => "PackageFilesUnavailable",
            Self::GenerationNotRecorded { .. } => "GenerationNotRecorded",
            Self::InvalidRenderResult(_) => "InvalidRenderResult",
            Self::InvalidRenderPhase(_) => "InvalidRenderPhase",
            Self::InvalidChunkReport(_) => "InvalidChunkReport",
        }
    }
}

/// What became of a MediaConvert event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum JobEventHandled {
    /// The stream moved forward (or this event had moved it before a crash); `published` is the domain event id
    /// for terminal changes.
    Applied {
        /// The stream.
        stream: String,
        /// Its status now.
        status: String,
        /// Its progress now.
        progress: u8,
        /// The domain event published, if any.
        published: Option<String>,
    },
    /// A render's chunk job reported: the render item counts it (once) and its progress moved (or not).
    ChunkApplied {
        /// The render.
        render_id: String,
        /// The chunk.
        chunk: u32,
        /// The render's progress now.
        progress: u8,
        /// Chunks done.
        chunks_done: usize,
        /// The `render.progress` event published, if any.
        published: Option<String>,
    },
    /// A call's preview job moved forward; `status` is the call's aggregate `preview_status` now.
    PreviewApplied {
        /// The call recording.
        recording_id: String,
        /// The call's `preview_status` now.
        status: String,
        /// The domain event published, if any.
        published: Option<String>,
    },
    /// The forward-only rule refused a preview job's event (another generation, repeated, out of order).
    PreviewStale {
        /// The call recording.
        recording_id: String,
    },
    /// A playback package moved forward.
    PlaybackApplied {
        /// The package's asset.
        asset: String,
        /// Its status now.
        status: String,
    },
    /// The forward-only rule refused a playback job's event: nothing changed.
    PlaybackStale {
        /// The package's asset.
        asset: String,
    },
    /// This event was processed before: nothing done.
    Duplicate {
        /// The event id.
        event_id: String,
    },
    /// The forward-only rule refused it (repeated, out of order, older generation): nothing changed.
    Stale {
        /// The stream.
        stream: String,
    },
    /// The job failed on its inputs and named a recording to make the output from alone: the compositor submits
    /// that job, so the stream stays as it is (never `failed` while a usable recording remains).
    LeftToFallback {
        /// The stream.
        stream: String,
        /// The recording the output is to be made from (`screen` or `camera`).
        fallback: String,
    },
    /// A status that changes nothing (input information, warnings, queue hops).
    NoStatusChange {
        /// The MediaConvert status.
        status: String,
    },
    /// Not for the notifier (another service's event, another application's job, a chunk job, an unknown stream).
    Ignored {
        /// Why.
        reason: String,
    },
    /// Malformed: logged and acknowledged, never retried.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// `{"render_phase": {"render_id", "phase", "chunks_total"?}}`: the render state machine entered a step.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseReport {
    render_id: String,
    phase: String,
    #[serde(default)]
    chunks_total: Option<u32>,
}

/// `{"render_chunk": {...}}`: a custom renderer wrote a chunk, and answered `reported` (its cost, if it says).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChunkReport {
    render_id: String,
    index: u32,
    #[serde(default)]
    reported: Value,
}

/// The answer to a render result: `{"render_id", "status"}` (the status the render item holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderAnswer {
    /// The render.
    pub render_id: String,
    /// `ready` or `failed`.
    pub status: String,
}

/// The span of one invocation, read from the raw event before it is parsed (so a rejected event is logged with it
/// too): a render report's `render_id` (or a render execution's name), or a job event's `jobId` and its `userMetadata` `stream` and `render_id`.
/// With `AWS_LAMBDA_LOG_FORMAT=JSON` every line then holds them (`span`, `spans`): one log search by any id finds
/// the whole invocation.
fn invocation_span(payload: &Value) -> tracing::Span {
    let text = |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(report) = payload
        .get("render_result")
        .or_else(|| payload.get("render_phase"))
        .or_else(|| payload.get("render_chunk"))
    {
        return tracing::info_span!("render", render_id = %text(report.get("render_id")));
    }
    let detail = payload.get("detail");
    if payload["source"] == STATES_SOURCE {
        // A render execution's status change: the execution is named after the render.
        return tracing::info_span!("render", render_id = %text(detail.and_then(|d| d.get("name"))));
    }
    let metadata = detail.and_then(|d| d.get("userMetadata"));
    tracing::info_span!(
        "job",
        job_id = %text(detail.and_then(|d| d.get("jobId"))),
        stream = %text(metadata.and_then(|m| m.get("stream"))),
        render_id = %text(metadata.and_then(|m| m.get("render_id"))),
    )
}

impl<S, R, E, P, B, F, C> Notifier<S, R, E, P, B, F, C>
where
    S: StreamStatusStore,
    R: RenderStore,
    E: ProcessedEventStore,
    P: EventPublisher,
    B: PlaybackStore,
    F: PackageFiles + FolderRemover,
    C: CallPreviews,
{
    /// Handles one invocation; the JSON answer says what happened. Every log line of it carries what it is about
    /// ([`invocation_span`]).
    pub async fn handle(&self, payload: Value) -> Result<Value, NotifierError> {
        let span = invocation_span(&payload);
        async move {
            let answer = if let Some(result) = payload.get("render_result") {
                serde_json::to_value(self.render_result(result).await?)
            } else if let Some(phase) = payload.get("render_phase") {
                serde_json::to_value(self.render_phase(phase).await?)
            } else if let Some(report) = payload.get("render_chunk") {
                serde_json::to_value(self.render_chunk(report).await?)
            } else if payload["source"] == STATES_SOURCE {
                return self.render_execution_ended(&payload).await;
            } else {
                serde_json::to_value(self.job_event(payload).await?)
            };
            Ok(answer.unwrap_or_default())
        }
        .instrument(span)
        .await
    }

    /// Handles a MediaConvert job state change.
    pub async fn job_event(&self, payload: Value) -> Result<JobEventHandled, NotifierError> {
        let event = match JobStateChange::from_eventbridge(payload) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "event rejected");
                return Ok(JobEventHandled::Rejected {
                    reason: e.to_string(),
                });
            }
        };
        let detail = &event.detail;
        let job_status = detail.state.name();
        if let JobState::Error {
            error_code,
            error_message,
        } = &detail.state
        {
            // Clients get the code and a plain message; what the service said goes here only.
            tracing::warn!(job_id = %detail.job_id, code = ?error_code, message = ?error_message, "job failed");
        }
        let (stream, generation, kind) = match route(&detail.user_metadata) {
            Ok(JobRoute::Stream {
                stream,
                generation,
                kind,
            }) => (stream, generation, kind),
            Ok(JobRoute::Chunk { render_id, index }) => {
                return self.chunk_event(&event, &render_id, index).await;
            }
            Ok(JobRoute::Playback { asset, source_etag }) => {
                return self
                    .playback_event(&event, &asset, source_etag.as_deref())
                    .await;
            }
            Ok(JobRoute::CallPreview(preview)) => {
                return self.preview_event(&event, &preview).await;
            }
            Ok(JobRoute::NotOurs { kind }) => {
                tracing::info!(job_id = %detail.job_id, kind, "job of a kind the notifier does not track");
                return Ok(JobEventHandled::Ignored {
                    reason: format!("job kind {kind}"),
                });
            }
            Err(e @ RouteError::ForeignApp(_)) => {
                tracing::info!(job_id = %detail.job_id, error = %e, "job of another application");
                return Ok(JobEventHandled::Ignored {
                    reason: e.to_string(),
                });
            }
            Err(e) => {
                tracing::warn!(job_id = %detail.job_id, error = %e, "job metadata rejected");
                return Ok(JobEventHandled::Rejected {
                    reason: e.to_string(),
                });
            }
        };
        if let Some(left) = left_to_fallback(detail, stream.as_str(), generation) {
            return Ok(left);
        }
        let Some(update) = detail.priced_stream_update() else {
            tracing::info!(job_id = %detail.job_id, stream = stream.as_str(), job_status, state = ?detail.state, "job event without a status change");
            return Ok(JobEventHandled::NoStatusChange {
                status: job_status.to_owned(),
            });
        };
        if self.events.is_processed(&event.id).await? {
            tracing::info!(event_id = %event.id, "event already processed");
            return Ok(JobEventHandled::Duplicate { event_id: event.id });
        }
        let now = now_ms();
        let outcome = self
            .streams
            .apply_job_event(stream.as_str(), generation, &update, &event.id, now)
            .await?;
        let handled = match outcome {
            JobEventOutcome::Applied(record) | JobEventOutcome::AppliedBefore(record) => {
                let published = match announce(&event, &record, generation, kind.as_str(), &update)
                {
                    Some(domain_event) => {
                        self.publisher.publish(&domain_event).await?;
                        Some(domain_event.id)
                    }
                    None => None,
                };
                tracing::info!(stream = %record.stream, generation, job_status, status = record.status.as_str(), progress = record.progress, cost_micro_usd = record.cost.map(|c| c.micro_usd), "stream status updated");
                JobEventHandled::Applied {
                    stream: record.stream,
                    status: record.status.as_str().to_owned(),
                    progress: record.progress,
                    published,
                }
            }
            JobEventOutcome::Stale(record) => {
                tracing::info!(stream = %record.stream, generation, recorded_generation = record.generation, job_status, status = record.status.as_str(), "stale job event ignored");
                JobEventHandled::Stale {
                    stream: record.stream,
                }
            }
            JobEventOutcome::AheadOfItem(record) => {
                return Err(NotifierError::GenerationNotRecorded {
                    stream: record.stream,
                    event: generation,
                    recorded: record.generation,
                });
            }
            JobEventOutcome::UnknownStream => {
                tracing::warn!(stream = stream.as_str(), job_id = %detail.job_id, "job event for an unknown stream");
                JobEventHandled::Ignored {
                    reason: format!("unknown stream {}", stream.as_str()),
                }
            }
        };
        self.events
            .mark_processed(&event.id, now, expiry(now, self.retention_days))
            .await?;
        Ok(handled)
    }

    /// A render execution that ended without reporting its result (Step Functions' "Execution Status Change",
    /// routed here for `ABORTED` and `TIMED_OUT` only): a render stopped by its owner's cancel (its item already
    /// says `canceled`) or by an operator, or one past its time, is `failed` and announced once, as a failed render
    /// the state machine reports.
    async fn render_execution_ended(&self, event: &Value) -> Result<Value, NotifierError> {
        let detail = &event["detail"];
        let text = |field: &str| detail[field].as_str().filter(|s| !s.is_empty());
        let (error, cause) = match text("status") {
            Some("ABORTED") => (
                text("error").unwrap_or("aborted"),
                text("cause").unwrap_or("the render's execution was stopped"),
            ),
            Some("TIMED_OUT") => (
                "States.Timeout",
                text("cause").unwrap_or("the render's execution timed out"),
            ),
            other => {
                tracing::warn!(status = ?other, "execution status change ignored");
                return Ok(json!({"ignored": format!("execution status {other:?}")}));
            }
        };
        let result = json!({"render_id": text("name"), "status": "failed",
                            "error": {"error": error, "cause": cause}, "execution": text("executionArn")});
        match self.render_result(&result).await {
            Ok(answer) => Ok(serde_json::to_value(answer).unwrap_or_default()),
            // Logged by render_result; an event that names no render is not worth a retry.
            Err(NotifierError::InvalidRenderResult(e)) => Ok(json!({"ignored": e.to_string()})),
            Err(e) => Err(e),
        }
    }

    /// Handles a render result from the render state machine.
    pub async fn render_result(&self, result: &Value) -> Result<RenderAnswer, NotifierError> {
        let (result, status) = RenderResult::parse(result).map_err(|e| {
            tracing::warn!(error = %e, "render result rejected");
            NotifierError::InvalidRenderResult(e)
        })?;
        let mut domain_event = result.event(&status, &rfc3339_ms(now_ms()));
        let answer = |status: &str| RenderAnswer {
            render_id: result.render_id.clone(),
            status: status.to_owned(),
        };
        if self.events.is_processed(&domain_event.id).await? {
            tracing::info!(render_id = %result.render_id, "render result already processed");
            return Ok(answer(status.as_str()));
        }
        let now = now_ms();
        let expires_at = expiry(now, self.retention_days);
        match self
            .finish_render(&result, &status, now, expires_at)
            .await?
        {
            (FinishOutcome::Recorded, record) => {
                // What the render's chunk jobs cost (or its renderer reported), summed on its item.
                domain_event.data["cost"] = record.cost_json();
                self.publisher.publish(&domain_event).await?;
                // A call's export: announced to the call's application too, under the recording it knows.
                if let Some(export) = export_event(&record, domain_event.time.clone()) {
                    self.publisher.publish(&export).await?;
                }
                tracing::info!(render_id = %result.render_id, status = status.as_str(), "render status recorded");
            }
            (FinishOutcome::AlreadyEnded(stored), _) => {
                tracing::warn!(render_id = %result.render_id, status = status.as_str(), stored = stored.as_str(), "render already ended with another status");
                return Ok(answer(stored.as_str()));
            }
        }
        self.events
            .mark_processed(&domain_event.id, now, expires_at)
            .await?;
        Ok(answer(status.as_str()))
    }
}

impl<S, R, E, P, B, F, C> Notifier<S, R, E, P, B, F, C>
where
    S: StreamStatusStore,
    R: RenderStore,
    E: ProcessedEventStore,
    P: EventPublisher,
    B: PlaybackStore,
    F: PackageFiles + FolderRemover,
    C: CallPreviews,
{
    /// A custom renderer wrote a chunk (it has no MediaConvert events): the chunk counts as done once, with the
    /// cost the renderer reported (`cost_usd`, dollars) if any.
    pub async fn render_chunk(&self, report: &Value) -> Result<Value, NotifierError> {
        let report: ChunkReport = serde_json::from_value(report.clone())
            .map_err(|e| NotifierError::InvalidChunkReport(e.to_string()))?;
        let cost_usd = report.reported.get("cost_usd").and_then(Value::as_f64);
        let now = now_ms();
        let time = rfc3339_ms(now);
        let updated = update_render(&self.renders, &report.render_id, now, |r| {
            r.apply_rendered_chunk(report.index, cost_usd);
            r.announce_progress(now, &time)
        })
        .await?;
        let Some((record, announcement)) = updated else {
            return Ok(json!({"render_id": report.render_id, "ignored": "no render item"}));
        };
        if let Some(progress) = announcement {
            self.publisher.publish(&progress).await?;
        }
        tracing::info!(render_id = %record.render_id, chunk = report.index, cost_usd, "chunk rendered by a custom renderer");
        Ok(json!({
            "render_id": record.render_id, "chunk": report.index, "progress": record.progress,
            "chunks_done": record.chunks.done.len(),
        }))
    }

    /// Records a final result on the render's item, and answers it with the item; a render started outside the
    /// HTTP API has none yet, and gets one without an owner.
    async fn finish_render(
        &self,
        result: &RenderResult,
        status: &vidpipe_core::stream_status::RenderStatus,
        now: u64,
        expires_at: u64,
    ) -> Result<(FinishOutcome, RenderRecord), NotifierError> {
        loop {
            let finished = update_render(&self.renders, &result.render_id, now, |r| {
                r.finish(result, status)
            })
            .await?;
            if let Some((record, outcome)) = finished {
                return Ok((outcome, record));
            }
            let mut record = RenderRecord::queued(&result.render_id, None, now, expires_at);
            let outcome = record.finish(result, status);
            if self.renders.create_render(&record).await? {
                return Ok((outcome, record));
            }
        }
    }

    /// A render's chunk job reported: the chunk is counted once, its percent never goes back, and a throttled
    /// `render.progress` is published when the progress moved enough.
    async fn chunk_event(
        &self,
        event: &JobStateChange,
        render_id: &str,
        index: u32,
    ) -> Result<JobEventHandled, NotifierError> {
        let detail = &event.detail;
        let Some(update) = detail.state.chunk_update() else {
            return Ok(JobEventHandled::NoStatusChange {
                status: detail.state.name().to_owned(),
            });
        };
        let now = now_ms();
        let time = rfc3339_ms(now);
        let cost = detail.cost();
        let updated = update_render(&self.renders, render_id, now, |r| {
            r.apply_chunk(index, &detail.job_id, update);
            if let Some(cost) = cost {
                r.apply_chunk_cost(index, cost);
            }
            r.announce_progress(now, &time)
        })
        .await?;
        let Some((record, announcement)) = updated else {
            tracing::info!(render_id, job_id = %detail.job_id, "chunk job of a render without an item");
            return Ok(JobEventHandled::Ignored {
                reason: format!("unknown render {render_id}"),
            });
        };
        let published = match announcement {
            Some(progress) => {
                self.publisher.publish(&progress).await?;
                Some(progress.id)
            }
            None => None,
        };
        tracing::info!(render_id, chunk = index, job_id = %detail.job_id, state = detail.state.name(), progress = record.progress, cost_micro_usd = cost.map(|c| c.micro_usd), "chunk job event applied");
        Ok(JobEventHandled::ChunkApplied {
            render_id: render_id.to_owned(),
            chunk: index,
            progress: record.progress,
            chunks_done: record.chunks.done.len(),
            published,
        })
    }

    /// The render state machine entered a step: the render's phase (and, once planned, its chunk count).
    pub async fn render_phase(&self, report: &Value) -> Result<Value, NotifierError> {
        let report: PhaseReport = serde_json::from_value(report.clone())
            .map_err(|e| NotifierError::InvalidRenderPhase(e.to_string()))?;
        let phase = RenderPhase::parse(&report.phase).ok_or_else(|| {
            NotifierError::InvalidRenderPhase(format!("unknown phase {:?}", report.phase))
        })?;
        let now = now_ms();
        let time = rfc3339_ms(now);
        let updated = update_render(&self.renders, &report.render_id, now, |r| {
            r.enter_phase(phase, report.chunks_total);
            r.announce_progress(now, &time)
        })
        .await?;
        let Some((record, announcement)) = updated else {
            return Ok(
                serde_json::json!({"render_id": report.render_id, "ignored": "no render item"}),
            );
        };
        if let Some(progress) = announcement {
            self.publisher.publish(&progress).await?;
        }
        Ok(serde_json::json!({
            "render_id": record.render_id, "status": record.status.as_str(),
            "phase": record.phase.map(RenderPhase::as_str), "progress": record.progress,
        }))
    }
}

/// The answer to a job that failed on its inputs and named a recording to make the output from alone: the
/// compositor submits that job, so the stream is left as it is.
fn left_to_fallback(
    detail: &vidpipe_core::jobevent::JobStateDetail,
    stream: &str,
    generation: u64,
) -> Option<JobEventHandled> {
    let fallback = detail.input_fallback()?;
    tracing::info!(stream, job_id = %detail.job_id, generation, fallback = fallback.as_str(),
        "input failure: the compositor makes the output from one recording");
    Some(JobEventHandled::LeftToFallback {
        stream: stream.to_owned(),
        fallback: fallback.as_str().to_owned(),
    })
}

/// The domain event for a terminal change of `record` (none for progress).
fn announce(
    event: &JobStateChange,
    record: &StreamRecord,
    generation: u64,
    kind: &str,
    update: &StreamUpdate,
) -> Option<vidpipe_core::notify::DomainEvent> {
    composite_event(
        &event.id,
        &event.time,
        &CompositeOutcome {
            stream: &record.stream,
            generation,
            job_id: &event.detail.job_id,
            job_kind: record.job_kind.as_deref().unwrap_or(kind),
            fallback_reason: record.fallback_reason.as_deref(),
        },
        update,
    )
}
