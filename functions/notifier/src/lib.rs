//! `vidpipe-notifier`: MediaConvert "Job State Change" events (from EventBridge) and render results (from the render
//! state machine) become a status on the stream or render item, a domain event on the bus, and optionally a signed
//! webhook.
//!
//! - Job events are routed by `UserMetadata` (`app = vidpipe`, `kind`, `stream`, `generation`); statuses only move
//!   forward, enforced by conditional writes in DynamoDB. `composite.ready` / `composite.failed` are published on
//!   the terminal transitions only.
//! - Playback jobs (`kind = playback`, routed by `asset`) move their package forward; on COMPLETE the storyboard
//!   (sprites and WebVTT from the job's thumbnails) is written before the package is `ready`.
//! - Call preview jobs (`kind = call_preview`, routed by `recording_id`, `peer_id`, `role`, `generation`) move their
//!   preview forward on the call recording; `call.preview.ready` / `call.preview.failed` announce the aggregate.
//! - A render result of a call's export (its render item names the call recording) is also announced as
//!   `call.export.ready` / `call.export.failed`, under the recording the application knows.
//! - Processing is idempotent on the event id: a marker `EVENT#{id}` is written after publishing, and a redelivered
//!   event publishes nothing. A crash between publishing and writing the marker makes the redelivery publish the
//!   same event (same id) again: delivery is at least once, and receivers drop duplicates by id.
//! - Malformed and foreign events are logged and acknowledged, never retried. Failures of DynamoDB, the bus, or a
//!   failed webhook that cannot reach its dead-letter queue fail the invocation, so Lambda retries it.
//!
//! The handler ([`Notifier`]) takes its dependencies as the ports of `vidpipe_core::ports`. `main` only wires:
//! configuration from the environment, SDK clients built once ([`wiring`]), then [`Notifier::handle`].

pub mod config;
pub mod handler;
mod playback;
mod previews;
pub mod storyboard;
pub mod wiring;

pub use handler::{JobEventHandled, Notifier, NotifierError, RenderAnswer};
