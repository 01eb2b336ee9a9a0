//! [`Transcoder`]: MediaConvert, or an engine standing in for it.

use std::future::Future;

use super::StoreError;
use crate::error::{Cause, Chain};
use crate::job::{CreateJobRequest, MediaInfo};
use crate::s3uri::S3Uri;

/// Why a transcoder call failed, sorted by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The recording itself cannot be processed (corrupt, not a video): no retry can help.
    #[error("{}", Chain(.0.as_ref()))]
    Unusable(#[source] Cause),
    /// The service or the network failed: worth a retry.
    #[error("{}", Chain(.0.as_ref()))]
    Unavailable(#[source] Cause),
}

/// What a cancellation achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was running or queued and is now canceled.
    Canceled,
    /// The job had already finished (or is unknown): there was nothing to cancel.
    AlreadyFinished,
}

/// Runs MediaConvert jobs: `Probe`, `CreateJob` (idempotent on its `ClientRequestToken`) and `CancelJob`.
pub trait Transcoder: Send + Sync {
    /// What the job builders need to know of the recording at `uri`.
    fn probe(&self, uri: &S3Uri) -> impl Future<Output = Result<MediaInfo, TranscodeError>> + Send;
    /// Submits `job` and returns its id at once; the same `ClientRequestToken` again gives the same job.
    fn create_job(
        &self,
        job: &CreateJobRequest,
    ) -> impl Future<Output = Result<String, TranscodeError>> + Send;
    /// The id of the job submitted for `stream`'s `generation` (by its `UserMetadata`) and created at or after
    /// `created_after_ms`, if there is one: a handler that takes over an expired claim looks for the job the claim's
    /// holder may have created before it stopped, instead of creating a second one after MediaConvert's
    /// `ClientRequestToken` window has passed.
    fn find_job(
        &self,
        stream: &str,
        generation: u64,
        created_after_ms: u64,
    ) -> impl Future<Output = Result<Option<String>, TranscodeError>> + Send;
    /// Cancels a job; a job that already finished is not an error.
    fn cancel_job(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<CancelOutcome, TranscodeError>> + Send;
}

/// Cancels MediaConvert jobs (a render's chunk jobs, when its owner cancels it).
pub trait JobCanceller: Send + Sync {
    /// Cancels the job `job_id`; a job that already finished is not an error.
    fn cancel_job(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<CancelOutcome, TranscodeError>> + Send;
}

/// Jobs canceled while a backend that cannot stop them from outside runs them (the ffmpeg backend's jobs run whole,
/// each in one Lambda invocation): the canceller marks the job, and the job, while it runs, looks for its mark and
/// stops before it stores anything.
pub trait CanceledJobs: Send + Sync {
    /// Marks `job_id` canceled, the mark expiring at `expires_at` (epoch seconds).
    fn mark_canceled(
        &self,
        job_id: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether `job_id` is marked canceled.
    fn is_canceled(&self, job_id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
