//! In-memory implementations of the ports in `vidpipe_core::ports`, for handler tests that need no AWS: each keeps
//! the rule its DynamoDB or S3 adapter enforces with a condition (an arrival is idempotent on its etag, a claim needs
//! a free lease and the expected generation, job events only move a stream forward, a render is replaced only over the
//! version read, a recording id is taken once, a call stays in its room, a composition is saved over the version
//! matched, a token burns once and only within its grant).

mod calls;
mod notifier;
mod objects;
mod playback;
mod recordings;
mod renders;
mod streams;

pub use calls::InMemoryCalls;
pub use notifier::{InMemoryProcessedEvents, RecordingPublisher};
pub use objects::{InMemoryObjects, SignedPut};
pub use playback::InMemoryPlaybacks;
pub use recordings::InMemoryRecordings;
pub use renders::{InMemoryRenderFiles, InMemoryRenders, RecordingCanceller, RecordingExecutions};
pub use streams::InMemoryStreams;
