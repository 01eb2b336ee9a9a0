//! The compositor's handler: records uploads, pairs a stream's recordings, and submits its output exactly once.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use serde_json::{Value, json};
use tracing::Instrument;
use vidpipe_core::clock::rfc3339_ms;
use vidpipe_core::jobevent::{JobRoute, JobStateChange, route};
use vidpipe_core::keys::{KeyKind, StreamName, classify_key};
use vidpipe_core::notify::{DomainEvent, DomainEventType};
use vidpipe_core::pairing::{
    Action, Arrival, Idle, OutputKind, Source, StreamState, after_arrival, after_input_failure,
    after_partner_timeout,
};
use vidpipe_core::playback::PlaybackSource;
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, ObjectStore, ObjectStoreError, PartnerTimer, PlaybackStore,
    PublishError, RecordingStore, StoreError, StreamStatusStore, StreamStore, TimerError,
    TranscodeError, Transcoder,
};
use vidpipe_lambda::ErrorType;

use crate::config::Config;
use crate::event::{Invocation, ObjectCreated};

/// The `UserMetadata` key of the stream's generation on every job the compositor submits.
pub const METADATA_GENERATION: &str = "generation";

/// Rounds of "submit, then look again" after one event: a fallback's handler that finds the partner arrived
/// meanwhile submits the composite too.
const MAX_ROUNDS: usize = 3;

/// A failure worth retrying (the service or the network): the invocation fails, so S3, SQS or Step Functions
/// delivers it again. Every step is idempotent. Its error type is `Compositor.Transient`.
#[derive(Debug, thiserror::Error)]
pub enum TransientError {
    /// A stream or recording store failed.
    #[error("transient failure: {0}")]
    Store(#[from] StoreError),
    /// Reading a recording's object failed.
    #[error("transient failure: {0}")]
    Objects(#[from] ObjectStoreError),
    /// The transcoder's service failed.
    #[error("transient failure: {0}")]
    Transcoder(#[source] TranscodeError),
    /// A domain event was not published.
    #[error("transient failure: {0}")]
    Publish(#[from] PublishError),
    /// The partner timer did not start.
    #[error("transient failure: {0}")]
    Timer(#[from] TimerError),
    /// Another handler holds a live claim on the stream. It may be submitting, or it may have stopped (a crash, a
    /// timeout): the event is retried, and after the lease a retry takes the claim over.
    #[error("stream {stream} is claimed by another handler until {until_ms} (epoch ms)")]
    ClaimHeld {
        /// The stream.
        stream: String,
        /// End of that claim's lease.
        until_ms: u64,
    },
}

impl ErrorType for TransientError {
    fn error_type(&self) -> &'static str {
        "Compositor.Transient"
    }
}

/// The current time in epoch milliseconds, as the handler sees it (tests move it by hand).
pub type NowMs = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock's [`NowMs`].
pub fn system_now() -> NowMs {
    Arc::new(vidpipe_core::clock::now_ms)
}

/// The compositor and its dependencies, one port each: stream items `S`, recordings `R`, the bucket's objects `O`,
/// the transcoder `M` (MediaConvert or an engine), the domain events' publisher `E`, the partner timer `T`, the
/// playback packages `P` and call recordings' previews `C`. Each is held in an [`Arc`], so a compositor is cheap to
/// clone and a test keeps its own handle on each fake.
pub struct Compositor<S, R, O, M, E, T, P, C> {
    /// Configuration.
    pub config: Config,
    /// Stream items.
    pub streams: Arc<S>,
    /// Generic recordings.
    pub recordings: Arc<R>,
    /// The bucket's objects.
    pub objects: Arc<O>,
    /// MediaConvert or the engine.
    pub transcoder: Arc<M>,
    /// Domain events.
    pub publisher: Arc<E>,
    /// The partner timer.
    pub timer: Arc<T>,
    /// Playback packages.
    pub playbacks: Arc<P>,
    /// Call recordings' previews.
    pub calls: Arc<C>,
    /// Time.
    pub now_ms: NowMs,
}

impl<S, R, O, M, E, T, P, C> Clone for Compositor<S, R, O, M, E, T, P, C> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            streams: Arc::clone(&self.streams),
            recordings: Arc::clone(&self.recordings),
            objects: Arc::clone(&self.objects),
            transcoder: Arc::clone(&self.transcoder),
            publisher: Arc::clone(&self.publisher),
            timer: Arc::clone(&self.timer),
            playbacks: Arc::clone(&self.playbacks),
            calls: Arc::clone(&self.calls),
            now_ms: Arc::clone(&self.now_ms),
        }
    }
}

impl<S, R, O, M, E, T, P, C> Compositor<S, R, O, M, E, T, P, C> {
    /// The same compositor with another partner timer.
    pub fn with_timer<T2>(self, timer: Arc<T2>) -> Compositor<S, R, O, M, E, T2, P, C> {
        Compositor {
            config: self.config,
            streams: self.streams,
            recordings: self.recordings,
            objects: self.objects,
            transcoder: self.transcoder,
            publisher: self.publisher,
            timer,
            playbacks: self.playbacks,
            calls: self.calls,
            now_ms: self.now_ms,
        }
    }
}

/// What became of one record or timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not ours to act on (outputs, keys outside the prefix, other buckets, unknown recordings).
    Ignored(String),
    /// A generic recording is marked uploaded.
    RecordingUploaded,
    /// The partner timer is started.
    TimerStarted,
    /// A job is submitted (the last one if several rounds submitted).
    Submitted {
        /// Its id.
        job_id: String,
        /// What it makes.
        kind: OutputKind,
        /// The stream's generation.
        generation: u64,
    },
    /// A call's preview request is handled: its jobs submitted (or found submitted) and failed.
    PreviewsSubmitted {
        /// The call recording.
        recording_id: String,
        /// The previews' generation.
        generation: u64,
        /// Jobs submitted by this event.
        submitted: usize,
        /// Jobs that cannot be made (failed).
        failed: usize,
    },
    /// A playback job is submitted (the upload or output's package is `queued`).
    PlaybackSubmitted {
        /// Its id.
        job_id: String,
        /// The package's asset.
        asset: String,
    },
    /// The stream (or a playback package) is marked failed.
    Failed(String),
    /// Nothing to do (duplicate, claimed elsewhere, already submitted).
    Nothing(String),
}

impl Outcome {
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Self::Ignored(why) => json!({"outcome": "ignored", "reason": why}),
            Self::RecordingUploaded => json!({"outcome": "recording_uploaded"}),
            Self::TimerStarted => json!({"outcome": "timer_started"}),
            Self::Submitted {
                job_id,
                kind,
                generation,
            } => json!({"outcome": "submitted", "job_id": job_id, "job_kind": kind.as_str(),
                "generation": generation}),
            Self::PreviewsSubmitted {
                recording_id,
                generation,
                submitted,
                failed,
            } => json!({"outcome": "previews_submitted", "recording_id": recording_id,
                "generation": generation, "submitted": submitted, "failed": failed}),
            Self::PlaybackSubmitted { job_id, asset } => {
                json!({"outcome": "playback_submitted", "job_id": job_id, "asset": asset})
            }
            Self::Failed(why) => json!({"outcome": "failed", "reason": why}),
            Self::Nothing(why) => json!({"outcome": "nothing", "reason": why}),
        }
    }
}

fn event_id(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

impl<S, R, O, M, E, T, P, C> Compositor<S, R, O, M, E, T, P, C>
where
    S: StreamStore + StreamStatusStore,
    R: RecordingStore,
    O: ObjectStore,
    M: Transcoder,
    E: EventPublisher,
    T: PartnerTimer,
    P: PlaybackStore,
    C: CallPreviews,
{
    /// Handles one invocation. Malformed events are logged and answered, never failed (a retry cannot fix them);
    /// an SQS batch answers `batchItemFailures` with the messages to retry; otherwise a transient failure fails the
    /// invocation so it is delivered again.
    pub async fn handle(&self, event: Value) -> Result<Value, TransientError> {
        match Invocation::from_json(&event) {
            Err(malformed) => {
                tracing::warn!(error = %malformed, "rejected a malformed event");
                Ok(json!({"rejected": malformed.0}))
            }
            Ok(Invocation::Queue(messages)) => {
                let mut response = SqsBatchResponse::default();
                for message in messages {
                    let result = match message.body {
                        Err(malformed) => {
                            tracing::warn!(message_id = %message.message_id, error = %malformed,
                                "rejected a malformed queue message");
                            continue;
                        }
                        Ok(invocation) => self.invocation(invocation).await,
                    };
                    if let Err(error) = result {
                        tracing::warn!(message_id = %message.message_id, %error, "message will be retried");
                        response.add_failure(message.message_id);
                    }
                }
                Ok(json!(response))
            }
            Ok(invocation) => self.invocation(invocation).await,
        }
    }

    async fn invocation(&self, invocation: Invocation) -> Result<Value, TransientError> {
        match invocation {
            Invocation::TestEvent => {
                tracing::info!("ignored s3:TestEvent");
                Ok(json!({"ignored": "s3:TestEvent"}))
            }
            Invocation::Sweep => self.sweep().await,
            Invocation::JobStateChange(change) => {
                let span = tracing::info_span!("job", job_id = %change.detail.job_id);
                let mut answer = self
                    .job_state_change(&change)
                    .instrument(span)
                    .await?
                    .to_json();
                answer["job_id"] = json!(change.detail.job_id);
                Ok(answer)
            }
            Invocation::PartnerTimeout { stream } => {
                let span = tracing::info_span!("partner_timeout", stream = %stream);
                let outcome = match StreamName::parse("stream", &stream) {
                    Ok(name) => self.partner_timeout(&name).instrument(span).await?,
                    Err(e) => {
                        tracing::warn!(%stream, error = %e, "rejected a partner timeout");
                        Outcome::Ignored(e.to_string())
                    }
                };
                let mut answer = outcome.to_json();
                answer["stream"] = json!(stream);
                Ok(answer)
            }
            Invocation::Objects(records) => {
                let mut answers = Vec::new();
                let mut first_error = None;
                for record in records {
                    let answer = match record {
                        Err(malformed) => {
                            tracing::warn!(error = %malformed, "rejected a malformed record");
                            json!({"outcome": "rejected", "reason": malformed.0})
                        }
                        Ok(object) => match self
                            .object_created(&object)
                            .instrument(tracing::info_span!("object", key = %object.key))
                            .await
                        {
                            Ok(outcome) => {
                                let mut answer = outcome.to_json();
                                answer["key"] = json!(object.key);
                                answer
                            }
                            Err(error) => {
                                first_error.get_or_insert(error);
                                continue;
                            }
                        },
                    };
                    answers.push(answer);
                }
                match first_error {
                    Some(error) => Err(error),
                    None => Ok(json!({"records": answers})),
                }
            }
            Invocation::Queue(_) => Ok(json!({"rejected": "nested queue event"})),
        }
    }

    /// Handles one created object.
    pub async fn object_created(&self, object: &ObjectCreated) -> Result<Outcome, TransientError> {
        if object.bucket != self.config.bucket {
            tracing::info!(bucket = %object.bucket, key = %object.key, "ignored an object of another bucket");
            return Ok(Outcome::Ignored("another bucket".into()));
        }
        match classify_key(&self.config.key_prefix, &object.key) {
            KeyKind::Composited(stream) if self.plays(PlaybackSource::Composite) => {
                self.output_playback(object, &stream).await
            }
            KeyKind::Composited(_) => {
                tracing::info!(key = %object.key, "ignored our own output");
                Ok(Outcome::Ignored("composited output".into()))
            }
            KeyKind::RenderOutput {
                owner_segment,
                render_id,
            } if self.plays(PlaybackSource::Render) => {
                self.render_playback(object, &owner_segment, &render_id)
                    .await
            }
            KeyKind::RenderOutput { .. } => {
                tracing::info!(key = %object.key, "ignored a render's output");
                Ok(Outcome::Ignored("render output".into()))
            }
            KeyKind::Other => {
                tracing::info!(key = %object.key, "ignored a key outside the naming rules or prefix");
                Ok(Outcome::Ignored("not a recording key".into()))
            }
            KeyKind::Recording { recording_id, .. } => {
                self.recording_uploaded(object, &recording_id, Some(PlaybackSource::Recording))
                    .await
            }
            KeyKind::Asset { recording_id, .. } => {
                self.recording_uploaded(object, &recording_id, Some(PlaybackSource::Asset))
                    .await
            }
            // A call's track is marked uploaded like any upload; its previews start on request (`POST .../preview`).
            KeyKind::Track { track_id, .. } => {
                self.recording_uploaded(object, &track_id, None).await
            }
            KeyKind::PreviewRequest {
                room_id,
                recording_id,
                generation,
            } => {
                self.preview_request(&room_id, &recording_id, generation)
                    .await
            }
            KeyKind::Screen(stream) => self.arrival(object, &stream, Source::Screen).await,
            KeyKind::Camera(stream) => self.arrival(object, &stream, Source::Camera).await,
        }
    }

    async fn recording_uploaded(
        &self,
        object: &ObjectCreated,
        recording_id: &str,
        source: Option<PlaybackSource>,
    ) -> Result<Outcome, TransientError> {
        match self
            .recordings
            .mark_uploaded(recording_id, object.size, &object.etag)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(why)) => {
                tracing::warn!(%recording_id, key = %object.key, why, "ignored an upload of an unknown recording");
                return Ok(Outcome::Ignored(why.to_owned()));
            }
            Err(e) => return Err(e.into()),
        }
        self.publish_uploaded(
            object,
            json!({"recording_id": recording_id, "key": object.key, "size": object.size,
            "kind": match source {
                Some(PlaybackSource::Asset) => "asset",
                None => "track",
                _ => "recording",
            }}),
        )
        .await?;
        if let Some(kind) = source
            && self.plays(kind)
        {
            return self.recording_playback(object, recording_id).await;
        }
        Ok(Outcome::RecordingUploaded)
    }

    async fn publish_uploaded(
        &self,
        object: &ObjectCreated,
        data: Value,
    ) -> Result<(), TransientError> {
        self.publish(
            &format!("{}/{}/{}", object.bucket, object.key, object.etag),
            DomainEventType::RecordingUploaded,
            data,
        )
        .await
    }

    /// Publishes an event of `event_type` now, its id derived from `name` so a redelivery publishes the same id.
    pub(crate) async fn publish(
        &self,
        name: &str,
        event_type: DomainEventType,
        data: Value,
    ) -> Result<(), TransientError> {
        let event = DomainEvent {
            id: event_id(name),
            event_type,
            time: rfc3339_ms((self.now_ms)()),
            data,
        };
        Ok(self.publisher.publish(&event).await?)
    }

    async fn arrival(
        &self,
        object: &ObjectCreated,
        stream: &StreamName,
        source: Source,
    ) -> Result<Outcome, TransientError> {
        let now = (self.now_ms)();
        let arrival = Arrival {
            key: object.key.clone(),
            size: object.size,
            etag: object.etag.clone(),
            arrived_at_ms: now,
        };
        let (state, new) = self
            .streams
            .record_arrival(stream.as_str(), source, &arrival, now)
            .await?;
        tracing::info!(
            stream = stream.as_str(),
            source = source.as_str(),
            new,
            "arrival recorded"
        );
        self.publish_uploaded(
            object,
            json!({"key": object.key, "size": object.size, "stream": stream.as_str(),
                "kind": source.as_str()}),
        )
        .await?;
        let action = after_arrival(&state, new, now);
        self.act(state, action).await
    }

    /// The partner timer fired for `stream`.
    pub async fn partner_timeout(&self, stream: &StreamName) -> Result<Outcome, TransientError> {
        let Some(state) = self.streams.get(stream.as_str()).await? else {
            return Ok(Outcome::Nothing("no_such_stream".into()));
        };
        let action = after_partner_timeout(&state, (self.now_ms)());
        self.act(state, action).await
    }

    /// A MediaConvert job changed state. A stream job that failed on its inputs (a recording that passed the probe
    /// but cannot be decoded) names the recording to make the output from alone (`input_fallback`): that
    /// single-source job is submitted, as for a partner that cannot be used. The notifier leaves such a failure to
    /// this, so the stream never shows `failed` while a usable recording remains.
    pub async fn job_state_change(
        &self,
        change: &JobStateChange,
    ) -> Result<Outcome, TransientError> {
        let detail = &change.detail;
        let Some(fallback) = detail.input_fallback() else {
            return Ok(Outcome::Ignored(
                "not an input failure that names a fallback".into(),
            ));
        };
        let (stream, generation) = match route(&detail.user_metadata) {
            Ok(JobRoute::Stream {
                stream, generation, ..
            }) => (stream, generation),
            Ok(JobRoute::NotOurs { kind }) => {
                return Ok(Outcome::Ignored(format!("job kind {kind}")));
            }
            Ok(JobRoute::Chunk { render_id, .. }) => {
                return Ok(Outcome::Ignored(format!("a chunk of render {render_id}")));
            }
            Ok(JobRoute::CallPreview(preview)) => {
                return Ok(Outcome::Ignored(format!(
                    "call preview of {}",
                    preview.recording_id.as_str()
                )));
            }
            Ok(JobRoute::Playback { asset, .. }) => {
                return Ok(Outcome::Ignored(format!(
                    "playback job of {}",
                    asset.as_wire()
                )));
            }
            Err(e) => {
                tracing::warn!(job_id = %detail.job_id, error = %e, "job metadata rejected");
                return Ok(Outcome::Ignored(e.to_string()));
            }
        };
        tracing::warn!(stream = stream.as_str(), job_id = %detail.job_id, generation, fallback = fallback.as_str(),
            state = ?detail.state, "the job failed on its inputs; the output is to be made from one recording");
        let Some(state) = self.streams.get(stream.as_str()).await? else {
            return Ok(Outcome::Nothing("no_such_stream".into()));
        };
        let action = after_input_failure(&state, generation, fallback);
        self.act(state, action).await
    }

    async fn act(
        &self,
        mut state: StreamState,
        mut action: Action,
    ) -> Result<Outcome, TransientError> {
        let mut outcome = Outcome::Nothing("no_action".into());
        let mut submitted = None;
        for _ in 0..MAX_ROUNDS {
            match action {
                // Until this event submitted something, a live claim elsewhere is no answer: its holder may have
                // stopped, so the event is retried. After a submission, the holder's own event covers its work.
                Action::Nothing(Idle::ClaimedElsewhere)
                    if !matches!(outcome, Outcome::Submitted { .. }) =>
                {
                    return Err(TransientError::ClaimHeld {
                        until_ms: state.claim.as_ref().map_or(0, |c| c.expires_at_ms),
                        stream: state.stream,
                    });
                }
                Action::Nothing(why) => {
                    tracing::info!(stream = %state.stream, why = why.as_str(), "nothing to do");
                    if matches!(outcome, Outcome::Nothing(_)) {
                        outcome = Outcome::Nothing(why.as_str().to_owned());
                    }
                    return Ok(outcome);
                }
                Action::StartPartnerTimer => {
                    let instance = state
                        .screen
                        .as_ref()
                        .or(state.camera.as_ref())
                        .map_or("", |arrival| arrival.etag.as_str());
                    self.timer
                        .start(&state.stream, instance, self.config.composite_wait)
                        .await?;
                    tracing::info!(stream = %state.stream, "partner timer started");
                    return Ok(Outcome::TimerStarted);
                }
                Action::Submit(submission) => {
                    outcome = match self.submit(&state, &submission).await {
                        Err(TransientError::ClaimHeld { .. })
                            if matches!(outcome, Outcome::Submitted { .. }) =>
                        {
                            return Ok(outcome);
                        }
                        next => next?,
                    };
                    if !matches!(outcome, Outcome::Submitted { .. }) {
                        // A later round that submits nothing leaves this event's answer as the earlier job.
                        return Ok(submitted.unwrap_or(outcome));
                    }
                    submitted = Some(outcome.clone());
                    // Look again: a partner that arrived while a fallback was being submitted saw the claim
                    // and left the composite to us.
                    let Some(next) = self.streams.get(&state.stream).await? else {
                        return Ok(outcome);
                    };
                    state = next;
                    action = match after_arrival(&state, false, (self.now_ms)()) {
                        Action::StartPartnerTimer => return Ok(outcome),
                        next => next,
                    };
                }
            }
        }
        Ok(outcome)
    }
}
