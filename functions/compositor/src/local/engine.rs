//! [`EngineTranscoder`]: vidpipe-engine in this process, standing in for MediaConvert (local runs only).
//!
//! It behaves like MediaConvert from the outside: `create_job` answers with a job id at once (the same id again for
//! the same `ClientRequestToken`), the job runs in a background task, and every state change is put on the
//! EventBridge bus as MediaConvert does it (source `aws.mediaconvert`, detail-type `MediaConvert Job State
//! Change`, `resources` = the job ARN, the detail with the job's `userMetadata`), so a rule routes them to the
//! notifier exactly as on AWS. It needs a process that outlives the invocation (`cargo lambda watch`, the local
//! stack); on AWS, use MediaConvert.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::oneshot;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_core::job::{CreateJobRequest, MediaInfo};
use vidpipe_core::jobevent::is_stream_job;
use vidpipe_core::ports::{CancelOutcome, TranscodeError, Transcoder};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_engine::{BusEvents, Engine, Job, JobObserver, JobStatus};

/// A job the engine backend started.
struct RunningJob {
    /// Aborts the job's task (ffmpeg is killed when its future is dropped).
    abort: tokio::task::AbortHandle,
    /// The job's latest state, to word a CANCELED event like its other events.
    latest: Arc<Mutex<Job>>,
    /// The job's event queue, so a CANCELED event follows the events already queued.
    events: BusEvents,
}

/// A job's `UserMetadata` and id.
type CreatedJob = (BTreeMap<String, String>, String);

/// vidpipe-engine standing in for MediaConvert.
#[derive(Clone)]
pub struct EngineTranscoder {
    engine: Engine,
    bus: EventBus,
    by_token: Arc<Mutex<HashMap<String, String>>>,
    running: Arc<Mutex<HashMap<String, RunningJob>>>,
    /// Every job created, for `find_job`.
    created: Arc<Mutex<Vec<CreatedJob>>>,
}

impl EngineTranscoder {
    /// Runs jobs on `engine` and puts their events on `bus`.
    pub fn new(engine: Engine, bus: EventBus) -> Self {
        Self {
            engine,
            bus,
            by_token: Arc::default(),
            running: Arc::default(),
            created: Arc::default(),
        }
    }
}

/// Forwards the engine's job changes: the first one (SUBMITTED) gives the id, events go to the queue.
struct Forwarder {
    submitted: Option<oneshot::Sender<Job>>,
    latest: Arc<Mutex<Job>>,
    events: BusEvents,
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
        self.events.send(event.clone());
    }
}

impl Transcoder for EngineTranscoder {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, TranscodeError> {
        self.engine
            .media_info(uri)
            .await
            .map_err(|e| TranscodeError::Unusable(Box::new(e)))
    }

    async fn create_job(&self, job: &CreateJobRequest) -> Result<String, TranscodeError> {
        if let Some(token) = &job.client_request_token
            && let Some(id) = self
                .by_token
                .lock()
                .ok()
                .and_then(|m| m.get(token).cloned())
        {
            return Ok(id);
        }
        let request =
            serde_json::to_value(job).map_err(|e| TranscodeError::Unavailable(Box::new(e)))?;
        let (submitted_tx, submitted_rx) = oneshot::channel();
        // The delivery task ends by itself once the job's queue is gone.
        let (events, _delivery) = BusEvents::start(self.bus.clone());
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
        let submitted = submitted_rx
            .await
            .map_err(|_| TranscodeError::Unavailable("the engine did not start the job".into()))?;
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
        if let (Some(token), Ok(mut tokens)) = (&job.client_request_token, self.by_token.lock()) {
            tokens.insert(token.clone(), submitted.id.clone());
        }
        if let (Some(metadata), Ok(mut created)) = (&job.user_metadata, self.created.lock()) {
            created.push((metadata.clone(), submitted.id.clone()));
        }
        tracing::info!(job_id = %submitted.id, "engine job started");
        Ok(submitted.id)
    }

    /// Jobs this process created (the engine runs them in this process: a job of a process that stopped stopped
    /// with it).
    async fn find_job(
        &self,
        stream: &str,
        generation: u64,
        _created_after_ms: u64,
    ) -> Result<Option<String>, TranscodeError> {
        let created = self
            .created
            .lock()
            .map_err(|_| TranscodeError::Unavailable("job list lock poisoned".into()))?;
        Ok(created
            .iter()
            .find(|(metadata, _)| is_stream_job(metadata, stream, generation))
            .map(|(_, id)| id.clone()))
    }

    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        let Some(job) = self.running.lock().ok().and_then(|mut r| r.remove(job_id)) else {
            return Ok(CancelOutcome::AlreadyFinished);
        };
        job.abort.abort();
        let state = job
            .latest
            .lock()
            .map_err(|_| TranscodeError::Unavailable("job state lock poisoned".into()))?
            .clone();
        if matches!(state.status, JobStatus::Complete | JobStatus::Error) {
            return Ok(CancelOutcome::AlreadyFinished);
        }
        job.events.send(state.canceled_event());
        Ok(CancelOutcome::Canceled)
    }
}
