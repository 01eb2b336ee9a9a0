//! `vidpipe-transcoder`: the ffmpeg backend on Lambda (`MEDIACONVERT_BACKEND=lambda`). It runs a MediaConvert
//! CreateJob document with vidpipe-engine, reading the inputs from S3 into the function's temporary storage and
//! writing the outputs back, and puts the job's MediaConvert-shaped events (PROGRESSING, STATUS_UPDATE, COMPLETE or
//! ERROR) on the bus under the source `vidpipe.transcoder`, so the notifier and the status rules treat them as
//! MediaConvert's. It also answers probes, so the compositor needs no MediaConvert at all.
//!
//! The invocations are `vidpipe_core::transcoder::Invocation`s. A job the engine refuses (a document it cannot
//! read, an input it cannot open) ends in an ERROR event and a successful invocation: retrying cannot help, so
//! Lambda must not retry it. Only a malformed invocation, or events the bus refused, fail the invocation.
//!
//! On Lambda, a COMPLETE event carries what the invocation cost on Lambda's basis (`cost_lambda_micro_usd` in its
//! `userMetadata`: its duration so far at the function's memory size), which the notifier stores as the job's cost.

pub mod config;
pub mod wiring;

use std::time::Instant;

use serde_json::{Value, json};
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_core::cost::{METADATA_LAMBDA_COST, lambda_cost_micro_usd};
use vidpipe_core::jobevent::TRANSCODER_SOURCE;
use vidpipe_core::transcoder::{INPUT_UNUSABLE, Invocation, InvocationError};
use vidpipe_engine::{BusEvents, Engine, Job, JobFailure, JobObserver, JobStatus};
use vidpipe_lambda::ErrorType;

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum TranscoderError {
    /// The event is no transcoder invocation: nothing ran.
    #[error(transparent)]
    InvalidInvocation(#[from] InvocationError),
    /// The probed file is missing or not media.
    #[error(transparent)]
    InputUnusable(JobFailure),
    /// The job ran, but the bus refused some of its events: failing lets Lambda run it again, so the notifier
    /// hears how it ended.
    #[error("job {job_id}: the bus refused {refused} of its events")]
    EventsNotDelivered {
        /// The job.
        job_id: String,
        /// How many events were refused.
        refused: usize,
    },
}

impl ErrorType for TranscoderError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidInvocation(_) => "InvalidInvocation",
            Self::InputUnusable(_) => INPUT_UNUSABLE,
            Self::EventsNotDelivered { .. } => "EventsNotDelivered",
        }
    }
}

/// The transcoder: the engine (on S3) and the bus its job events go to.
#[derive(Debug, Clone)]
pub struct Transcoder {
    /// Runs the jobs and probes.
    pub engine: Engine,
    /// Where the job events go.
    pub bus: EventBus,
    /// The function's memory size in MB, to price a job's invocation (`None`: not on Lambda, not priced).
    pub memory_mb: Option<u64>,
}

/// Puts the job's events on the bus, the COMPLETE one priced on Lambda's basis when the memory size is known.
struct PricedEvents {
    events: BusEvents,
    started: Instant,
    memory_mb: Option<u64>,
}

impl JobObserver for PricedEvents {
    fn job_changed(&mut self, _job: &Job) {}

    fn event(&mut self, event: &Value) {
        let mut event = event.clone();
        if let (Some(memory_mb), "COMPLETE") = (
            self.memory_mb,
            event["detail"]["status"].as_str().unwrap_or(""),
        ) {
            // The invocation's duration so far: what Lambda bills, but for the few milliseconds still to come.
            let duration_ms = self.started.elapsed().as_millis() as u64;
            let cost = lambda_cost_micro_usd(duration_ms, memory_mb);
            event["detail"]["userMetadata"][METADATA_LAMBDA_COST] = json!(cost.to_string());
        }
        self.events.send(event);
    }
}

impl Transcoder {
    /// Handles one invocation: a probe answers the file's `MediaInfo`; a job answers `{job_id, status}` (and the
    /// error's code and message on ERROR) once its events are on the bus.
    pub async fn handle(&self, event: Value) -> Result<Value, TranscoderError> {
        // Boxed: the engine's futures are deep, and the runtime's future around them would pass the compiler's
        // layout depth limit.
        Box::pin(self.invocation(event)).await
    }

    async fn invocation(&self, event: Value) -> Result<Value, TranscoderError> {
        let started = Instant::now();
        match Invocation::parse(&event)? {
            Invocation::Probe { uri } => {
                let info = self
                    .engine
                    .media_info(&uri)
                    .await
                    .map_err(TranscoderError::InputUnusable)?;
                tracing::info!(%uri, ?info, "probed");
                Ok(json!(info))
            }
            Invocation::Job { job_id, job } => self.run(&job_id, &job, started).await,
        }
    }

    async fn run(
        &self,
        job_id: &str,
        request: &Value,
        started: Instant,
    ) -> Result<Value, TranscoderError> {
        tracing::info!(job_id, "job started");
        let (events, delivery) = BusEvents::start(self.bus.clone());
        let mut priced = PricedEvents {
            events: events.with_source(TRANSCODER_SOURCE),
            started,
            memory_mb: self.memory_mb,
        };
        let job = self.engine.run_as(job_id, request, &mut priced).await;
        let refused = priced.events.delivered(delivery).await;
        if refused > 0 {
            return Err(TranscoderError::EventsNotDelivered {
                job_id: job_id.to_owned(),
                refused,
            });
        }
        let mut answer = json!({"job_id": job.id, "status": job.status});
        if job.status == JobStatus::Error {
            tracing::warn!(
                job_id,
                code = job.error_code,
                message = job.error_message.as_deref(),
                "job ended in ERROR"
            );
            answer["error_code"] = json!(job.error_code);
            answer["error_message"] = json!(job.error_message);
        } else {
            tracing::info!(job_id, "job complete");
        }
        Ok(answer)
    }
}
