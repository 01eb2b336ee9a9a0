//! `vidpipe-transcoder`: the ffmpeg backend on Lambda (`MEDIACONVERT_BACKEND=lambda`). It runs a MediaConvert
//! CreateJob document with vidpipe-engine, reading the inputs from S3 into the function's temporary storage and
//! writing the outputs back, and puts the job's MediaConvert-shaped events (PROGRESSING, STATUS_UPDATE, then
//! COMPLETE, ERROR or CANCELED) on the bus under the source `vidpipe.transcoder`, so the notifier and the status
//! rules treat them as MediaConvert's. It also answers probes, so the compositor needs no MediaConvert at all. A job
//! the compositor cancels is marked in the table ([`CancelMarks`]): a job run whole looks for its mark and stops.
//!
//! The invocations are `vidpipe_core::transcoder::Invocation`s. A job the engine refuses (a document it cannot
//! read, an input it cannot open) ends in an ERROR event and a successful invocation: retrying cannot help, so
//! Lambda must not retry it. Only a malformed invocation, or events the bus refused, fail the invocation.
//!
//! On Lambda, a COMPLETE event carries what the invocation cost on Lambda's basis (`cost_lambda_micro_usd` in its
//! `userMetadata`: its duration so far at the function's memory size), which the notifier stores as the job's cost.

pub mod config;
pub mod flow;
pub mod wiring;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vidpipe_aws::dynamo::DynamoCanceledJobs;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_core::cost::{METADATA_LAMBDA_COST, lambda_cost_micro_usd};
use vidpipe_core::job::{JobContext, MediaInfo, chunk_job};
use vidpipe_core::jobevent::TRANSCODER_SOURCE;
use vidpipe_core::ports::CanceledJobs;
use vidpipe_core::render::ports::{DocumentError, read_document};
use vidpipe_core::render::{Chunk, RenderRequest};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::transcoder::{INPUT_UNUSABLE, Invocation, InvocationError};
use vidpipe_engine::{
    AssembleError, Assembler, BusEvents, Engine, IgnoreUpdates, Job, JobFailure, JobObserver,
    JobStatus,
};
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
    /// A chunk's stored request or probe results could not be read (error type `RequestUnavailable` when S3
    /// failed, worth a retry; `InvalidChunk` otherwise).
    #[error("chunk: {0}")]
    ChunkDocument(#[from] DocumentError),
    /// A chunk's request or probe results are not valid, or its job cannot be built (error type `InvalidChunk`).
    #[error("chunk: {0}")]
    InvalidChunk(String),
    /// The chunk's job ran and failed, or did not finish before the function's deadline (error type
    /// `ChunkFailed`): the render flow fails the render with it.
    #[error("chunk {index}: {code}: {message}")]
    ChunkFailed {
        /// The chunk.
        index: u32,
        /// The engine's error code (MediaConvert's numbering).
        code: i32,
        /// What failed.
        message: String,
    },
    /// A step of a job in chunks could not mix, join or store its files (error type: the assembler's, such as
    /// `ChunkMissing` or `StorageFailed`).
    #[error(transparent)]
    Assemble(#[from] AssembleError),
    /// A long job's files could not be stored, or its execution of the transcode state machine could not be
    /// started (error type `FlowUnavailable`): failing lets Lambda run the invocation again.
    #[error("the job in chunks could not start: {0}")]
    FlowUnavailable(String),
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
            Self::ChunkDocument(e) if e.is_transient() => "RequestUnavailable",
            Self::ChunkDocument(_) | Self::InvalidChunk(_) => "InvalidChunk",
            Self::ChunkFailed { .. } => "ChunkFailed",
            Self::Assemble(e) => e.error_type(),
            Self::FlowUnavailable(_) => "FlowUnavailable",
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
    /// Reads a chunk's stored render request and probe results, and stores a long job's.
    pub documents: S3RequestStore,
    /// Mixes and joins the steps of a long job in chunks.
    pub assembler: Assembler,
    /// Where a long job runs in chunks (`None`: every job runs whole in one invocation).
    pub flow: Option<flow::ChunkedFlow>,
    /// The function's memory size in MB, to price a job's invocation (`None`: not on Lambda, not priced).
    pub memory_mb: Option<u64>,
    /// Where the compositor marks the jobs it cancels (`None`: no job looks for a mark).
    pub canceled: Option<CancelMarks>,
}

/// Where a job run whole looks for its cancel mark, and how often.
#[derive(Debug, Clone)]
pub struct CancelMarks {
    /// The marks the compositor puts.
    pub marks: DynamoCanceledJobs,
    /// How often a running job looks ([`CANCEL_LOOK_INTERVAL`] on Lambda).
    pub every: Duration,
}

/// The role a chunk's job document names: MediaConvert would assume it; the engine runs the job with the
/// function's own permissions and ignores it.
const CHUNK_ROLE: &str = "arn:aws:iam::000000000000:role/vidpipe-transcoder-runs-as-itself";

/// How often a job run whole looks for its cancel mark: a superseded job stops within this much of its
/// cancellation, for one consistent read each time.
pub const CANCEL_LOOK_INTERVAL: Duration = Duration::from_secs(2);

/// How long before the function's timeout a job that is still running is stopped: time enough to put its ERROR
/// event on the bus.
pub const JOB_DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// When a job of an invocation that must end by `lambda_deadline_ms` (Lambda's deadline, milliseconds since the
/// epoch) is stopped: [`JOB_DEADLINE_MARGIN`] before it. `None` when the deadline leaves less than the margin (a
/// local emulator's, such as `cargo lambda watch`'s): then only the function's own timeout stops the job.
pub fn job_deadline(lambda_deadline_ms: u64) -> Option<Instant> {
    let remaining = lambda_deadline_ms.saturating_sub(vidpipe_core::clock::now_ms());
    let remaining = Duration::from_millis(remaining).checked_sub(JOB_DEADLINE_MARGIN)?;
    (!remaining.is_zero()).then(|| Instant::now() + remaining)
}

/// Puts the job's events on the bus, the COMPLETE one priced on Lambda's basis when the memory size is known, and
/// keeps the job's latest state (to report it stopped at the deadline).
struct PricedEvents {
    events: BusEvents,
    started: Instant,
    memory_mb: Option<u64>,
    latest: Option<Job>,
}

impl PricedEvents {
    /// Reports the job, stopped at the deadline, in ERROR (a transcoding failure), as MediaConvert reports a job
    /// that failed while running.
    fn timed_out(&mut self, job_id: &str) -> Job {
        let mut job = self.latest.take().unwrap_or_else(|| {
            Job::submitted_as(job_id.to_owned(), Default::default(), Default::default())
        });
        let failure = JobFailure::transcode("the job did not finish within the function's timeout");
        job.status = JobStatus::Error;
        job.error_code = Some(failure.code);
        job.error_message = Some(failure.message);
        if let Some(event) = job.event(false) {
            self.event(&event);
        }
        job
    }

    /// Reports the job, stopped because it was canceled, in a CANCELED event, as MediaConvert reports a job
    /// canceled while it runs.
    fn canceled(&mut self, job_id: &str) {
        let job = self.latest.take().unwrap_or_else(|| {
            Job::submitted_as(job_id.to_owned(), Default::default(), Default::default())
        });
        self.event(&job.canceled_event());
    }
}

/// How a job run whole ended.
enum Ended {
    /// It ran to its end (COMPLETE or ERROR).
    Ran(Box<Job>),
    /// It was stopped at the deadline.
    TimedOut,
    /// It was stopped because it was canceled.
    Canceled,
}

impl JobObserver for PricedEvents {
    fn job_changed(&mut self, job: &Job) {
        self.latest = Some(job.clone());
    }

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
    /// error's code and message on ERROR) once its events are on the bus. A job still running at `deadline`
    /// ([`job_deadline`] of Lambda's) is stopped and reported in ERROR, so its stream does not wait for the sweeper.
    pub async fn handle(
        &self,
        event: Value,
        deadline: Option<Instant>,
    ) -> Result<Value, TranscoderError> {
        // Boxed: the engine's futures are deep, and the runtime's future around them would pass the compiler's
        // layout depth limit.
        Box::pin(self.invocation(event, deadline)).await
    }

    async fn invocation(
        &self,
        event: Value,
        deadline: Option<Instant>,
    ) -> Result<Value, TranscoderError> {
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
            Invocation::Job { job_id, job } => {
                // A job canceled before its invocation ran (Lambda queues asynchronous invocations, and may run
                // one again after a failure) does not start.
                if self.is_canceled(&job_id).await {
                    tracing::info!(job_id, "job canceled before it started: not run");
                    return Ok(json!({"job_id": job_id, "status": "CANCELED"}));
                }
                match self.start_in_chunks(&job_id, &job, started).await? {
                    Some(answer) => Ok(answer),
                    None => self.run(&job_id, &job, started, deadline).await,
                }
            }
            Invocation::Flow(step) => self.flow_step(step, started).await,
            Invocation::Chunk {
                request_uri,
                media_uri,
                chunk,
                output_uri,
                progress,
            } => {
                let job = self
                    .chunk_job(&request_uri, media_uri.as_ref(), &chunk, &output_uri)
                    .await?;
                let answer = self
                    .render_chunk(&job, &chunk, &output_uri, started, deadline)
                    .await?;
                if let Some(progress) = progress {
                    self.report_progress(&progress, &output_uri).await;
                }
                Ok(answer)
            }
        }
    }

    /// The MediaConvert job document of `chunk` of the render request at `request_uri`, with the probe results at
    /// `media_uri`, writing `output_uri`: what the job-builder builds for a MediaConvert chunk.
    async fn chunk_job(
        &self,
        request_uri: &S3Uri,
        media_uri: Option<&S3Uri>,
        chunk: &Chunk,
        output_uri: &S3Uri,
    ) -> Result<Value, TranscoderError> {
        let invalid = |e: &dyn std::fmt::Display| TranscoderError::InvalidChunk(e.to_string());
        let text = read_document(&self.documents, request_uri).await?;
        let request = RenderRequest::from_json(&text).map_err(|e| invalid(&e))?;
        let media: BTreeMap<String, MediaInfo> = match media_uri {
            Some(uri) => serde_json::from_str(&read_document(&self.documents, uri).await?)
                .map_err(|e| invalid(&e))?,
            None => BTreeMap::new(),
        };
        let context = JobContext {
            role: CHUNK_ROLE.to_owned(),
            queue: None,
        };
        let job =
            chunk_job(&context, &request, chunk, output_uri, &media).map_err(|e| invalid(&e))?;
        serde_json::to_value(job).map_err(|e| invalid(&e))
    }

    /// Runs a chunk's job to its end (its job events are not put on the bus: the render flow counts a chunk a
    /// custom renderer answered) and answers `{"output_uri", "cost_usd"}`, the invocation's Lambda cost when the
    /// memory size is known; a job that failed or ran past `deadline` fails the invocation.
    async fn render_chunk(
        &self,
        job: &Value,
        chunk: &Chunk,
        output_uri: &S3Uri,
        started: Instant,
        deadline: Option<Instant>,
    ) -> Result<Value, TranscoderError> {
        // One invocation at a time per Lambda environment: the chunk's index names its job well enough.
        let job_id = format!("chunk-{:05}", chunk.index);
        tracing::info!(job_id, index = chunk.index, %output_uri, "chunk started");
        let mut quiet = IgnoreUpdates;
        let running = self.engine.run_as(&job_id, job, &mut quiet);
        let job = match deadline {
            // Dropping the job's future stops it (ffmpeg is killed with it); nothing is stored before it succeeded.
            Some(deadline) => tokio::time::timeout_at(deadline.into(), running).await.ok(),
            None => Some(running.await),
        };
        let (code, message) = match job {
            Some(job) if job.status == JobStatus::Complete => (None, String::new()),
            Some(job) => (job.error_code, job.error_message.unwrap_or_default()),
            None => {
                let failure =
                    JobFailure::transcode("the chunk did not finish within the function's timeout");
                (Some(failure.code), failure.message)
            }
        };
        if let Some(code) = code {
            tracing::warn!(job_id, code, message, "chunk failed");
            return Err(TranscoderError::ChunkFailed {
                index: chunk.index,
                code,
                message,
            });
        }
        let cost_usd = self.cost_so_far(started).map(|c| c as f64 / 1e6);
        tracing::info!(job_id, index = chunk.index, ?cost_usd, "chunk rendered");
        Ok(json!({"output_uri": output_uri.to_string(), "cost_usd": cost_usd}))
    }

    async fn run(
        &self,
        job_id: &str,
        request: &Value,
        started: Instant,
        deadline: Option<Instant>,
    ) -> Result<Value, TranscoderError> {
        tracing::info!(job_id, "job started");
        let (events, delivery) = BusEvents::start(self.bus.clone());
        let mut priced = PricedEvents {
            events: events.with_source(TRANSCODER_SOURCE),
            started,
            memory_mb: self.memory_mb,
            latest: None,
        };
        let ended = {
            let running = self.engine.run_as(job_id, request, &mut priced);
            // Dropping the job's future stops it (ffmpeg is killed with it); nothing is stored before it succeeded.
            let running = async {
                match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline.into(), running).await.ok(),
                    None => Some(running.await),
                }
            };
            tokio::select! {
                job = running => job.map_or(Ended::TimedOut, |job| Ended::Ran(Box::new(job))),
                () = self.until_canceled(job_id) => Ended::Canceled,
            }
        };
        let job = match ended {
            Ended::Ran(job) => *job,
            Ended::TimedOut => priced.timed_out(job_id),
            Ended::Canceled => {
                priced.canceled(job_id);
                let refused = priced.events.delivered(delivery).await;
                tracing::info!(
                    job_id,
                    refused,
                    "job canceled while it ran: stopped, nothing stored"
                );
                return Ok(json!({"job_id": job_id, "status": "CANCELED"}));
            }
        };
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

    /// Whether `job_id` is marked canceled; a failed lookup is logged and answered `false` (the job runs).
    async fn is_canceled(&self, job_id: &str) -> bool {
        let Some(canceled) = &self.canceled else {
            return false;
        };
        canceled
            .marks
            .is_canceled(job_id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(job_id, error = %e, "could not look for the job's cancel mark");
                false
            })
    }

    /// Returns once `job_id` is marked canceled, looking every [`CancelMarks::every`]; never without marks.
    async fn until_canceled(&self, job_id: &str) {
        let Some(canceled) = &self.canceled else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(canceled.every).await;
            if self.is_canceled(job_id).await {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_stops_a_margin_before_lambdas_deadline_and_a_deadline_without_room_is_not_enforced() {
        let now_ms = vidpipe_core::clock::now_ms();
        let deadline = job_deadline(now_ms + 900_000).unwrap();
        let ahead = deadline.duration_since(Instant::now());
        assert!(
            ahead <= Duration::from_secs(880) && ahead > Duration::from_secs(870),
            "{ahead:?}"
        );
        assert_eq!(job_deadline(now_ms + 5_000), None);
        assert_eq!(job_deadline(0), None);
    }
}
