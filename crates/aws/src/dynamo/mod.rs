//! DynamoDB: the one table behind recordings, streams, renders, playback packages, processed-event markers,
//! canceled-job marks, and call recordings with their tracks and composition tokens.
//!
//! The table has `pk`/`sk`, one GSI ([`OWNER_INDEX`]: `gsi1pk`/`gsi1sk`) to list a caller's items newest first,
//! and a TTL attribute ([`TTL_ATTRIBUTE`], epoch seconds). One adapter per kind of item, each implementing its
//! ports of [`vidpipe_core::ports`]; [`item`] and [`conditional`] are what they share.

mod calls;
mod canceled_jobs;
mod conditional;
mod item;
mod playback;
mod processed_events;
mod recordings;
mod renders;
mod streams;

pub use calls::DynamoCalls;
pub use canceled_jobs::DynamoCanceledJobs;
pub use playback::DynamoPlaybacks;
pub use processed_events::DynamoProcessedEvents;
pub use recordings::DynamoRecordings;
pub use renders::DynamoRenders;
pub use streams::DynamoStreams;

/// Name of the owner index.
pub const OWNER_INDEX: &str = "by_owner";
/// Name of the TTL attribute.
pub const TTL_ATTRIBUTE: &str = "expires_at";
