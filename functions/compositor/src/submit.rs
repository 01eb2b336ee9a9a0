//! Submitting a stream's job under its claim: probe the recordings, choose the job (a recording that cannot be used
//! leaves the output to the other one), find the job a stopped handler created or create it, and record it.

use serde_json::{Value, json};
use vidpipe_core::job::{
    CompositeOptions, CompositeOutput, CreateJobRequest, JobKind, Recording, SingleOptions,
    composite_job, single_job,
};
use vidpipe_core::jobevent::METADATA_INPUT_FALLBACK;
use vidpipe_core::limits::LimitError;
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::pairing::{
    Claim, ClaimOutcome, OutputKind, Source, StreamFailure, StreamState, Submission,
};
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, ObjectStore, PartnerTimer, PlaybackStore, RecordingStore,
    StoreError, StreamStatusStore, StreamStore, TranscodeError, Transcoder,
};
use vidpipe_core::s3uri::S3Uri;

use crate::handler::{Compositor, METADATA_GENERATION, Outcome, TransientError};

/// Why a claimed submission did not happen.
enum SubmitFailure {
    /// The stream's output cannot be made: the stream fails, with a code and a plain message for clients.
    Permanent(StreamFailure),
    /// Retry later.
    Transient(TransientError),
}

impl From<TransientError> for SubmitFailure {
    fn from(error: TransientError) -> Self {
        Self::Transient(error)
    }
}

/// A failure clients see: a code and a plain message. What the tools said (paths, probe output) is logged with it,
/// never stored or published.
fn failure(code: &str, message: String, detail: &dyn std::fmt::Display) -> SubmitFailure {
    tracing::warn!(code, %message, %detail, "the stream's output cannot be made");
    SubmitFailure::Permanent(StreamFailure {
        code: code.to_owned(),
        message,
    })
}

/// What a claimed submission makes, once its recordings are probed.
enum Plan {
    /// This job, for this submission: the claimed one, or a single-source job when the other recording of the
    /// pair cannot be used.
    Job(Box<CreateJobRequest>, Submission),
    /// The late partner of a fallback cannot be used: the fallback stands.
    KeepFallback(Source),
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
    /// Claims the stream for `submission` and submits its job (or records the job a stopped handler created).
    pub(crate) async fn submit(
        &self,
        state: &StreamState,
        submission: &Submission,
    ) -> Result<Outcome, TransientError> {
        let stream = state.stream.as_str();
        let token = uuid::Uuid::new_v4().to_string();
        let lease = self.config.claim_lease.as_millis() as u64;
        let taken_over = match self
            .streams
            .claim(stream, submission, &token, (self.now_ms)(), lease)
            .await?
        {
            ClaimOutcome::Taken { taken_over } => taken_over,
            ClaimOutcome::HeldElsewhere { until_ms } => {
                tracing::info!(stream, until_ms, "another handler holds the claim");
                return Err(TransientError::ClaimHeld {
                    stream: stream.to_owned(),
                    until_ms,
                });
            }
            ClaimOutcome::GenerationMoved => {
                tracing::info!(stream, "another handler submitted first");
                return Ok(Outcome::Nothing("generation_moved".into()));
            }
        };
        let made = match self.plan(state, submission).await {
            Ok(Plan::Job(job, chosen)) => self
                .create(state, &token, &job, &chosen, taken_over.as_ref())
                .await
                .map(|job_id| (job_id, chosen)),
            Ok(Plan::KeepFallback(unusable)) => {
                tracing::warn!(
                    stream,
                    source = unusable.as_str(),
                    "the late partner cannot be used; the fallback stands"
                );
                self.release(stream, &token).await;
                return Ok(Outcome::Nothing(format!("{}_unusable", unusable.as_str())));
            }
            Err(e) => Err(e),
        };
        match made {
            Ok((job_id, chosen)) => self.record(stream, &token, &chosen, job_id).await,
            Err(SubmitFailure::Transient(error)) => {
                self.release(stream, &token).await;
                Err(error)
            }
            Err(SubmitFailure::Permanent(failure)) => {
                self.streams
                    .mark_failed(stream, &token, &failure, (self.now_ms)())
                    .await?;
                self.publish_failed(state, submission, &failure).await?;
                Ok(Outcome::Failed(failure.message))
            }
        }
    }

    /// Records the job submitted under the claim `token`.
    async fn record(
        &self,
        stream: &str,
        token: &str,
        submission: &Submission,
        job_id: String,
    ) -> Result<Outcome, TransientError> {
        match self
            .streams
            .record_submitted(stream, token, submission, &job_id, (self.now_ms)())
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(why)) => {
                // The lease ran out and another handler took over; it finds this job rather than making another.
                tracing::warn!(stream, %job_id, why, "claim lost after submitting");
                return Ok(Outcome::Nothing("claim_lost_after_submitting".into()));
            }
            Err(e) => {
                self.release(stream, token).await;
                return Err(e.into());
            }
        }
        tracing::info!(stream, %job_id, kind = submission.kind.as_str(), generation = submission.generation,
            fallback_reason = submission.fallback_reason(), "job submitted");
        Ok(Outcome::Submitted {
            job_id,
            kind: submission.kind,
            generation: submission.generation,
        })
    }

    /// The job of `submission`: the job a handler that stopped while holding `taken_over` (a claim for the same
    /// generation) created before it stopped, if it got that far (the claim is written before `CreateJob`, so its
    /// job is no older than the claim); otherwise a new one, after canceling the fallback it replaces.
    async fn create(
        &self,
        state: &StreamState,
        token: &str,
        job: &CreateJobRequest,
        submission: &Submission,
        taken_over: Option<&Claim>,
    ) -> Result<String, SubmitFailure> {
        let stream = state.stream.as_str();
        if let Some(stopped) = taken_over {
            let found = self
                .transcoder
                .find_job(stream, submission.generation, stopped.claimed_at_ms)
                .await
                .map_err(TransientError::Transcoder)?;
            if let Some(job_id) = found {
                tracing::warn!(stream, %job_id, generation = submission.generation,
                    "took over an expired claim whose holder had created the job; recording it");
                return Ok(job_id);
            }
            tracing::warn!(
                stream,
                generation = submission.generation,
                "took over an expired claim whose holder created no job"
            );
        }
        // Only a job that is ready to go replaces the fallback. Its generation is recorded as superseded first, so
        // its CANCELED event never fails the stream; then it is canceled, so it can never overwrite the output.
        if let Some(job_id) = &submission.cancel_job_id {
            self.streams
                .supersede(stream, token, submission.expected_generation())
                .await
                .map_err(TransientError::Store)?;
            let outcome = self
                .transcoder
                .cancel_job(job_id)
                .await
                .map_err(TransientError::Transcoder)?;
            tracing::info!(stream, %job_id, ?outcome, "cancelled the fallback job");
        }
        self.transcoder.create_job(job).await.map_err(|e| match e {
            TranscodeError::Unusable(_) => {
                failure("job_refused", "the transcoder refused the job".into(), &e)
            }
            TranscodeError::Unavailable(_) => {
                SubmitFailure::Transient(TransientError::Transcoder(e))
            }
        })
    }

    /// Probes the recordings and builds the job. When one recording of a pair cannot be used, the output is made
    /// from the other one (`fallback_reason` `camera_unusable` / `screen_unusable`), unless a fallback from it
    /// exists already; the stream fails only when neither can be used.
    async fn plan(
        &self,
        state: &StreamState,
        submission: &Submission,
    ) -> Result<Plan, SubmitFailure> {
        if let Some(source) = submission.source {
            let (recording, _) = self.recording(state, source).await?;
            return self.single_plan(state, submission.clone(), &recording);
        }
        let screen = self.recording(state, Source::Screen).await;
        let camera = self.recording(state, Source::Camera).await;
        let (usable, unusable) = match (screen, camera) {
            (Ok(screen), Ok(camera)) => {
                return self.composite_plan(state, submission, screen, camera);
            }
            (Err(SubmitFailure::Transient(e)), _) | (_, Err(SubmitFailure::Transient(e))) => {
                return Err(e.into());
            }
            (Err(_), Err(_)) => {
                return Err(failure(
                    "recordings_unusable",
                    "neither the screen nor the camera recording could be read as video".into(),
                    &"both recordings refused",
                ));
            }
            (Ok((screen, _)), Err(_)) => (screen, Source::Camera),
            (Err(_), Ok((camera, _))) => (camera, Source::Screen),
        };
        if state.generation > 0 && state.job_kind == Some(OutputKind::Single) {
            return Ok(Plan::KeepFallback(unusable));
        }
        let single = Submission {
            kind: OutputKind::Single,
            source: Some(unusable.partner()),
            generation: submission.generation,
            cancel_job_id: None,
            partner_unusable: true,
            input_fallback: None,
        };
        self.single_plan(state, single, &usable)
    }

    /// The composite of `screen` and `camera` (each with its `started-at`), offset by their start times.
    fn composite_plan(
        &self,
        state: &StreamState,
        submission: &Submission,
        (screen, screen_start): (Recording, Option<i64>),
        (camera, camera_start): (Recording, Option<i64>),
    ) -> Result<Plan, SubmitFailure> {
        let options = CompositeOptions {
            camera_offset_ms: match (screen_start, camera_start) {
                (Some(screen), Some(camera)) => camera - screen,
                _ => 0,
            },
            ..CompositeOptions::default()
        };
        let job = composite_job(
            &self.config.job_context,
            &self.output(state)?,
            &screen,
            &camera,
            &options,
        )
        .map_err(|e| {
            failure(
                "job_refused",
                "the composite job could not be built".into(),
                &e,
            )
        })?;
        Ok(self.job_plan(job, JobKind::Composite, submission.clone()))
    }

    /// The single-source job of `submission`, from `recording`.
    fn single_plan(
        &self,
        state: &StreamState,
        submission: Submission,
        recording: &Recording,
    ) -> Result<Plan, SubmitFailure> {
        let job = single_job(
            &self.config.job_context,
            &self.output(state)?,
            recording,
            &SingleOptions::default(),
        )
        .map_err(|e| failure("job_refused", "the job could not be built".into(), &e))?;
        Ok(self.job_plan(job, JobKind::Single, submission))
    }

    /// `job` with the metadata that routes its events to the stream's `submission`.
    fn job_plan(&self, job: CreateJobRequest, kind: JobKind, submission: Submission) -> Plan {
        let mut metadata = vec![(METADATA_GENERATION, submission.generation.to_string())];
        if let Some(fallback) = submission.input_fallback {
            metadata.push((METADATA_INPUT_FALLBACK, fallback.as_str().to_owned()));
        }
        let job = job.with_user_metadata(kind, &metadata);
        Plan::Job(Box::new(job), submission)
    }

    /// Where the stream's output goes.
    fn output(&self, state: &StreamState) -> Result<CompositeOutput, SubmitFailure> {
        CompositeOutput::new(&self.config.bucket, &self.config.key_prefix, &state.stream)
            .map_err(|e| failure("job_refused", "the output could not be set up".into(), &e))
    }

    /// A source recording, probed, and its `started-at` metadata (epoch ms), if set; a permanent failure when it
    /// no longer exists or cannot be read as video.
    async fn recording(
        &self,
        state: &StreamState,
        source: Source,
    ) -> Result<(Recording, Option<i64>), SubmitFailure> {
        let name = source.as_str();
        let arrival = state.arrival(source).ok_or_else(|| {
            failure(
                "recording_missing",
                format!("the {name} recording has not arrived"),
                &"no arrival on the item",
            )
        })?;
        let head = self
            .objects
            .head(&arrival.key)
            .await
            .map_err(|e| SubmitFailure::Transient(e.into()))?
            .ok_or_else(|| {
                failure(
                    "recording_missing",
                    format!("the {name} recording no longer exists"),
                    &arrival.key,
                )
            })?;
        let too_large = |e: LimitError| {
            failure(
                "recording_too_large",
                format!("the {name} recording is too large: {e}"),
                &arrival.key,
            )
        };
        self.config
            .limits
            .check_size(head.size)
            .map_err(too_large)?;
        let started_at = head
            .metadata
            .get("started-at")
            .and_then(|v| v.trim().parse::<i64>().ok());
        let uri = S3Uri::new(&self.config.bucket, arrival.key.clone()).map_err(|e| {
            failure(
                "recording_unusable",
                format!("the {name} recording's key is not usable"),
                &e,
            )
        })?;
        let media = self.transcoder.probe(&uri).await.map_err(|e| match e {
            TranscodeError::Unusable(_) => failure(
                "recording_unusable",
                format!("the {name} recording could not be read as video"),
                &e,
            ),
            TranscodeError::Unavailable(_) => {
                SubmitFailure::Transient(TransientError::Transcoder(e))
            }
        })?;
        self.config.limits.check_media(&media).map_err(too_large)?;
        Ok((Recording { uri, media }, started_at))
    }

    /// Gives the claim `token` back, so a retry can take it at once.
    async fn release(&self, stream: &str, token: &str) {
        if let Err(e) = self.streams.release(stream, token).await {
            tracing::warn!(stream, error = %e, "could not release the claim; it expires with its lease");
        }
    }

    async fn publish_failed(
        &self,
        state: &StreamState,
        submission: &Submission,
        failure: &StreamFailure,
    ) -> Result<(), TransientError> {
        let mut data = json!({
            "stream": state.stream, "status": "failed", "generation": state.generation,
            "job_id": Value::Null, "job_kind": submission.kind.as_str(),
            "error": {"code": failure.code, "message": failure.message},
        });
        if let Some(reason) = submission.fallback_reason() {
            data["fallback_reason"] = json!(reason);
        }
        self.publish(
            &format!(
                "{}/failed/{}/{}",
                state.stream, submission.generation, failure.message
            ),
            DomainEventType::CompositeFailed,
            data,
        )
        .await
    }
}
