//! The ports: what the functions' handlers need from the outside, one small trait per capability, speaking only the
//! domain's types and errors. `vidpipe-aws` implements them, each adapter named for its technology; handler tests
//! implement them in memory.
//!
//! | Port | What it is | Adapter in `vidpipe-aws` |
//! | --- | --- | --- |
//! | [`ObjectStore`] | the uploads bucket, by key | `s3::S3Objects` |
//! | [`RecordingStore`] | recording items | `dynamo::DynamoRecordings` |
//! | [`StreamStore`] | a stream's pairing (arrivals, claim, submitted job) | `dynamo::DynamoStreams` |
//! | [`StreamStatusStore`] | a stream's owner and status, job events | `dynamo::DynamoStreams` |
//! | [`RenderStore`] | render items (status, phase, chunks, progress) | `dynamo::DynamoRenders` |
//! | [`RenderExecutions`] | the render state machine's executions | `stepfunctions::StepFunctionsRenders` |
//! | [`ProcessedEventStore`] | markers of processed events | `dynamo::DynamoProcessedEvents` |
//! | [`EventPublisher`] | domain events: the bus, then a webhook | `publisher::EventBridgePublisher` |
//! | [`Transcoder`] | MediaConvert's Probe, CreateJob, CancelJob | `mediaconvert::MediaConvertTranscoder` |
//! | [`JobCanceller`] | MediaConvert's CancelJob alone | `mediaconvert::MediaConvertTranscoder` |
//! | [`CanceledJobs`] | marks of jobs canceled while they run whole on the ffmpeg backend | `dynamo::DynamoCanceledJobs` |
//! | [`PlaybackStore`] | playback packages (forward-only statuses) | `dynamo::DynamoPlaybacks` |
//! | [`PackageFiles`] | a playback package's files, by URI | `requests::S3RequestStore` |
//! | [`CallTracks`] | call recordings and their tracks | `dynamo::DynamoCalls` |
//! | [`CompositionStore`] | a call recording's versioned Composition State | `dynamo::DynamoCalls` |
//! | [`CompositionTokens`] | single-use composition token grants | `dynamo::DynamoCalls` |
//! | [`PartnerTimer`] | the durable wait for a partner recording | `stepfunctions::StepFunctionsTimer` |
//!
//! The render flow's ports live beside its domain, in [`crate::render::ports`].
//!
//! Every method is declared `fn ... -> impl Future<Output = ...> + Send` and implemented with `async fn`: native
//! async functions in traits, with the `Send` bound spelled out (what the `async_fn_in_trait` lint asks of public
//! traits), so a handler generic over its ports still hands Lambda's runtime and `tokio::spawn` a future that may
//! move between threads.

mod calls;
mod events;
mod executions;
mod media;
mod objects;
mod playback;
mod recordings;
mod renders;
mod streams;
mod timer;

pub use calls::{
    CallExports, CallPreviews, CallTracks, CompositionStore, CompositionTokens, SaveOutcome,
    StoredPreview, VersionMatch, update_preview,
};
pub use events::{EventPublisher, PublishError};
pub use executions::{ExecutionError, RenderExecutions, Started};
pub use media::{CancelOutcome, CanceledJobs, JobCanceller, TranscodeError, Transcoder};
pub use objects::{
    ObjectHead, ObjectStore, ObjectStoreError, PresignedRequest, PutSpec, StoredPart,
};
pub use playback::{PackageFiles, PlaybackAdvance, PlaybackStore};
pub use recordings::{RecordingPage, RecordingStore};
pub use renders::{ProcessedEventStore, RenderPage, RenderStore, update_render};
pub use streams::{
    ClaimIf, JobEventOutcome, OwnerClaim, StalledStream, StreamStatusStore, StreamStore,
};
pub use timer::{PartnerTimer, TimerError, execution_input, execution_name};

use crate::error::{Cause, Chain};

/// A failure of a store of items (recordings, streams, renders, event markers).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write failed: the item exists in a state that forbids the write.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A pagination cursor that the store did not hand to this caller.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A stored item that does not decode (written by something else).
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// The service or the network failed.
    #[error("the store is unavailable: {}", Chain(.0.as_ref()))]
    Unavailable(#[source] Cause),
}
