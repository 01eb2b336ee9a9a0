//! What the compositor needs from the outside: one small trait per dependency, implemented here by the AWS adapters
//! (and by the engine and the local timer in `transcoder` and `timer`), and by fakes in handler tests.
//!
//! The traits are object-safe (boxed futures), so `main` can choose backends from configuration at run time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use vidpipe_aws::recordings::{RecordingTable, StoreError};
use vidpipe_aws::s3::{ObjectHead, S3Error, S3Objects};
use vidpipe_aws::streams::{Failure, StreamTable};
use vidpipe_core::job::{CreateJobRequest, MediaInfo};
use vidpipe_core::notify::DomainEvent;
use vidpipe_core::pairing::{Arrival, Source, StreamState, Submission};
use vidpipe_core::s3uri::S3Uri;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The stream items (see `vidpipe_aws::streams::StreamTable` for the rules of each write).
pub trait StreamStore: Send + Sync {
    /// Reads a stream's item.
    fn get<'a>(&'a self, stream: &'a str)
    -> BoxFuture<'a, Result<Option<StreamState>, StoreError>>;
    /// Records an arrival; returns the item after it and whether it was new.
    fn record_arrival<'a>(
        &'a self,
        stream: &'a str,
        source: Source,
        arrival: &'a Arrival,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(StreamState, bool), StoreError>>;
    /// Takes the claim for `submission`; `false` if another handler holds it or the generation moved.
    fn claim<'a>(
        &'a self,
        stream: &'a str,
        submission: &'a Submission,
        token: &'a str,
        now_ms: u64,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Records the submitted job under the claim.
    fn record_submitted<'a>(
        &'a self,
        stream: &'a str,
        token: &'a str,
        submission: &'a Submission,
        job_id: &'a str,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Gives the claim back.
    fn release<'a>(
        &'a self,
        stream: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Marks the stream failed under the claim.
    fn mark_failed<'a>(
        &'a self,
        stream: &'a str,
        token: &'a str,
        failure: &'a Failure,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl StreamStore for StreamTable {
    fn get<'a>(
        &'a self,
        stream: &'a str,
    ) -> BoxFuture<'a, Result<Option<StreamState>, StoreError>> {
        Box::pin(StreamTable::get(self, stream))
    }

    fn record_arrival<'a>(
        &'a self,
        stream: &'a str,
        source: Source,
        arrival: &'a Arrival,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(StreamState, bool), StoreError>> {
        Box::pin(StreamTable::record_arrival(
            self, stream, source, arrival, now_ms,
        ))
    }

    fn claim<'a>(
        &'a self,
        stream: &'a str,
        submission: &'a Submission,
        token: &'a str,
        now_ms: u64,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(StreamTable::claim(
            self, stream, submission, token, now_ms, lease_ms,
        ))
    }

    fn record_submitted<'a>(
        &'a self,
        stream: &'a str,
        token: &'a str,
        submission: &'a Submission,
        job_id: &'a str,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(StreamTable::record_submitted(
            self, stream, token, submission, job_id, now_ms,
        ))
    }

    fn release<'a>(
        &'a self,
        stream: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(StreamTable::release(self, stream, token))
    }

    fn mark_failed<'a>(
        &'a self,
        stream: &'a str,
        token: &'a str,
        failure: &'a Failure,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(StreamTable::mark_failed(
            self, stream, token, failure, now_ms,
        ))
    }
}

/// The generic recordings.
pub trait RecordingStore: Send + Sync {
    /// Marks a recording uploaded with its object's size and etag.
    fn mark_uploaded<'a>(
        &'a self,
        recording_id: &'a str,
        size: u64,
        etag: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl RecordingStore for RecordingTable {
    fn mark_uploaded<'a>(
        &'a self,
        recording_id: &'a str,
        size: u64,
        etag: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(RecordingTable::mark_uploaded(
            self,
            recording_id,
            size,
            etag,
        ))
    }
}

/// Objects in the bucket.
pub trait ObjectHeads: Send + Sync {
    /// Size, etag and user metadata of `key`, or `None` if it does not exist.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<ObjectHead>, S3Error>>;
}

impl ObjectHeads for S3Objects {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<ObjectHead>, S3Error>> {
        Box::pin(S3Objects::head(self, key))
    }
}

/// Why a transcoder call failed, sorted by what the compositor does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscodeError {
    /// The recording itself cannot be processed (corrupt, not a video): the stream fails, no retry.
    #[error("{0}")]
    Unusable(String),
    /// The service or the network failed: release the claim and retry.
    #[error("{0}")]
    Unavailable(String),
}

/// What a cancellation achieved.
pub use vidpipe_aws::mediaconvert::CancelOutcome;

/// MediaConvert, or the engine standing in for it.
pub trait Transcoder: Send + Sync {
    /// Probes a recording (MediaConvert `Probe`).
    fn probe<'a>(&'a self, uri: &'a S3Uri) -> BoxFuture<'a, Result<MediaInfo, TranscodeError>>;
    /// Submits a job (`CreateJob`, with its `ClientRequestToken`) and returns its id at once.
    fn create_job<'a>(
        &'a self,
        job: &'a CreateJobRequest,
    ) -> BoxFuture<'a, Result<String, TranscodeError>>;
    /// Cancels a job; a job that already finished is not an error.
    fn cancel_job<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<CancelOutcome, TranscodeError>>;
}

/// Where domain events go.
pub trait Publisher: Send + Sync {
    /// Publishes one event.
    fn publish<'a>(&'a self, event: &'a DomainEvent) -> BoxFuture<'a, Result<(), PublishError>>;
}

/// A domain event that was not published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publishing {event_type} failed: {message}")]
pub struct PublishError {
    /// The event's type.
    pub event_type: String,
    /// Why.
    pub message: String,
}

impl Publisher for vidpipe_aws::notify::Publisher {
    fn publish<'a>(&'a self, event: &'a DomainEvent) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            vidpipe_aws::notify::Publisher::publish(self, event)
                .await
                .map_err(|e| PublishError {
                    event_type: event.event_type.as_str().to_owned(),
                    message: e.to_string(),
                })
        })
    }
}

/// A timer that was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("starting the partner timer failed: {0}")]
pub struct TimerError(pub String);

/// The durable partner timer: after `wait`, the compositor is invoked with `{"partner_timeout": {"stream"}}`.
pub trait PartnerTimer: Send + Sync {
    /// Starts the timer for `stream`, waiting for the partner of the recording `instance` (its etag): starting it
    /// again for the same stream and instance is harmless; a re-uploaded recording gets a timer of its own.
    fn start<'a>(
        &'a self,
        stream: &'a str,
        instance: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), TimerError>>;
}
