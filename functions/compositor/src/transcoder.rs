//! The two [`Transcoder`] backends: AWS Elemental MediaConvert through the SDK, and vidpipe-engine in this process.
//!
//! The engine backend behaves like MediaConvert from the outside: `create_job` answers with a job id at once (the
//! same id again for the same `ClientRequestToken`), the job runs in a background task, and every state change is
//! put on the EventBridge bus as MediaConvert does it (source `aws.mediaconvert`, detail-type
//! `MediaConvert Job State Change`, `resources` = the job ARN, the detail with the job's `userMetadata`), so a rule
//! routes them to the notifier exactly as on AWS. It needs a process that outlives the invocation (`cargo lambda
//! watch`, the local stack); on AWS, use MediaConvert.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_aws::mediaconvert::{self, CancelOutcome};
use vidpipe_core::job::{CreateJobRequest, MediaInfo};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_engine::{Engine, JobObserver};
use vidpipe_engine::{Job, JobStatus};

use crate::ports::{BoxFuture, TranscodeError, Transcoder};

/// The EventBridge source of MediaConvert's events.
pub const MEDIACONVERT_SOURCE: &str = "aws.mediaconvert";
/// The EventBridge detail-type of MediaConvert's job events.
pub const JOB_STATE_CHANGE: &str = "MediaConvert Job State Change";

/// MediaConvert through `aws-sdk-mediaconvert`.
#[derive(Debug, Clone)]
pub struct MediaConvertTranscoder(pub aws_sdk_mediaconvert::Client);

fn sorted(error: mediaconvert::MediaConvertError) -> TranscodeError {
    if error.is_unusable_input() {
        TranscodeError::Unusable(error.to_string())
    } else {
        TranscodeError::Unavailable(error.to_string())
    }
}

impl Transcoder for MediaConvertTranscoder {
    fn probe<'a>(&'a self, uri: &'a S3Uri) -> BoxFuture<'a, Result<MediaInfo, TranscodeError>> {
        Box::pin(async move { mediaconvert::probe(&self.0, uri).await.map_err(sorted) })
    }

    fn create_job<'a>(
        &'a self,
        job: &'a CreateJobRequest,
    ) -> BoxFuture<'a, Result<String, TranscodeError>> {
        Box::pin(async move { mediaconvert::submit_job(&self.0, job).await.map_err(sorted) })
    }

    fn cancel_job<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<CancelOutcome, TranscodeError>> {
        Box::pin(async move {
            mediaconvert::cancel_job(&self.0, job_id)
                .await
                .map_err(sorted)
        })
    }
}

/// A job the engine backend started.
struct RunningJob {
    /// Aborts the job's task (ffmpeg is killed when its future is dropped).
    abort: tokio::task::AbortHandle,
    /// The job's latest state, to word a CANCELED event like its other events.
    latest: Arc<Mutex<Job>>,
    /// The job's event queue, so a CANCELED event follows the events already queued.
    events: mpsc::UnboundedSender<Value>,
}

/// vidpipe-engine standing in for MediaConvert.
#[derive(Clone)]
pub struct EngineTranscoder {
    engine: Engine,
    bus: EventBus,
    by_token: Arc<Mutex<HashMap<String, String>>>,
    running: Arc<Mutex<HashMap<String, RunningJob>>>,
}

impl EngineTranscoder {
    /// Runs jobs on `engine` and puts their events on `bus`.
    pub fn new(engine: Engine, bus: EventBus) -> Self {
        Self {
            engine,
            bus,
            by_token: Arc::default(),
            running: Arc::default(),
        }
    }
}

/// Forwards the engine's job changes: the first one (SUBMITTED) gives the id, events go to the queue.
struct Forwarder {
    submitted: Option<oneshot::Sender<Job>>,
    latest: Arc<Mutex<Job>>,
    events: mpsc::UnboundedSender<Value>,
}

impl JobObserver for Forwarder {
    fn job_changed(&mut self, job: &Job) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = job.clone();
        }
        if let Some(submitted) = self.submitted.take() {
            let _ = submitted.send(job.clone());
        }
    }

    fn event(&mut self, event: &Value) {
        let _ = self.events.send(event.clone());
    }
}

/// Puts one engine event on the bus as MediaConvert would.
async fn put_event(bus: &EventBus, event: &Value) {
    let resources: Vec<String> = event["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    if let Err(error) = bus
        .put(
            MEDIACONVERT_SOURCE,
            JOB_STATE_CHANGE,
            &event["detail"],
            &resources,
        )
        .await
    {
        tracing::error!(%error, status = %event["detail"]["status"], "could not put a job event on the bus");
    }
}

impl Transcoder for EngineTranscoder {
    fn probe<'a>(&'a self, uri: &'a S3Uri) -> BoxFuture<'a, Result<MediaInfo, TranscodeError>> {
        Box::pin(async move {
            let response = self
                .engine
                .probe(&[uri.to_string()])
                .await
                .map_err(|e| TranscodeError::Unusable(e.message))?;
            let result = response
                .probe_results
                .first()
                .ok_or_else(|| TranscodeError::Unusable(format!("no probe result for {uri}")))?;
            result
                .media_info()
                .map_err(|why| TranscodeError::Unusable(format!("{uri}: {why}")))
        })
    }

    fn create_job<'a>(
        &'a self,
        job: &'a CreateJobRequest,
    ) -> BoxFuture<'a, Result<String, TranscodeError>> {
        Box::pin(async move {
            if let Some(token) = &job.client_request_token
                && let Some(id) = self
                    .by_token
                    .lock()
                    .ok()
                    .and_then(|m| m.get(token).cloned())
            {
                return Ok(id);
            }
            let request = serde_json::to_value(job)
                .map_err(|e| TranscodeError::Unavailable(format!("job is not JSON: {e}")))?;
            let (submitted_tx, submitted_rx) = oneshot::channel();
            let (events, mut queue) = mpsc::unbounded_channel::<Value>();
            let latest = Arc::new(Mutex::new(Job::submitted(
                Default::default(),
                Default::default(),
            )));
            let mut forwarder = Forwarder {
                submitted: Some(submitted_tx),
                latest: Arc::clone(&latest),
                events: events.clone(),
            };
            let engine = self.engine.clone();
            let running = Arc::clone(&self.running);
            let task = tokio::spawn(async move {
                let job = engine.run(&request, &mut forwarder).await;
                if let Ok(mut running) = running.lock() {
                    running.remove(&job.id);
                }
            });
            let bus = self.bus.clone();
            tokio::spawn(async move {
                while let Some(event) = queue.recv().await {
                    put_event(&bus, &event).await;
                }
            });
            let submitted = submitted_rx.await.map_err(|_| {
                TranscodeError::Unavailable("the engine did not start the job".into())
            })?;
            if let Ok(mut running) = self.running.lock() {
                running.insert(
                    submitted.id.clone(),
                    RunningJob {
                        abort: task.abort_handle(),
                        latest,
                        events,
                    },
                );
            }
            if let (Some(token), Ok(mut tokens)) = (&job.client_request_token, self.by_token.lock())
            {
                tokens.insert(token.clone(), submitted.id.clone());
            }
            tracing::info!(job_id = %submitted.id, "engine job started");
            Ok(submitted.id)
        })
    }

    fn cancel_job<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<CancelOutcome, TranscodeError>> {
        Box::pin(async move {
            let Some(job) = self.running.lock().ok().and_then(|mut r| r.remove(job_id)) else {
                return Ok(CancelOutcome::AlreadyFinished);
            };
            job.abort.abort();
            let mut state = job
                .latest
                .lock()
                .map_err(|_| TranscodeError::Unavailable("job state lock poisoned".into()))?
                .clone();
            if matches!(state.status, JobStatus::Complete | JobStatus::Error) {
                return Ok(CancelOutcome::AlreadyFinished);
            }
            state.status = JobStatus::Progressing;
            if let Some(mut event) = state.event(false) {
                event["detail"]["status"] = json!("CANCELED");
                let _ = job.events.send(event);
            }
            Ok(CancelOutcome::Canceled)
        })
    }
}
