//! vidpipe's compositor: S3 ObjectCreated events (direct, through SQS, or from EventBridge) and the partner timer.
//!
//! - A generic recording's item becomes `uploaded`.
//! - A stream's screen or camera arrival is recorded on the stream's item; the arrival that completes the pair
//!   claims the stream and submits the composite exactly once; a lone recording starts the partner timer, whose
//!   expiry submits a single-source fallback; a late partner replaces the fallback with the composite.
//! - An upload of a kind in `PLAYBACK_KINDS`, and a stream's output when `composite` is one of them, gets a playback
//!   package (its job submitted once); otherwise outputs (`_composited.mp4`) and keys outside `KEY_PREFIX` are
//!   ignored and logged.
//! - A call's preview request (`{prefix}rooms/{room}/{recording_id}/preview/requests/{generation}.json`, written by
//!   `POST /recordings/{recording_id}/preview`) has its jobs built and submitted, one per peer and role, once.
//!
//! The handler ([`Compositor`]) takes its dependencies as the ports of `vidpipe_core::ports`. `main` only wires:
//! configuration from the environment, clients built once and backends chosen by configuration ([`wiring`]), then
//! [`Compositor::handle`] per invocation. The local backends (vidpipe-engine for MediaConvert, the partner timer
//! in-process) are in [`local`], built only with the `local` feature.

pub mod config;
pub mod event;
pub mod handler;
#[cfg(feature = "local")]
pub mod local;
mod playback;
mod previews;
mod submit;
mod sweep;
pub mod wiring;

pub use handler::{Compositor, TransientError};
