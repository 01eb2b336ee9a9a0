//! vidpipe's compositor: S3 ObjectCreated events (direct, through SQS, or from EventBridge) and the partner timer.
//!
//! - A generic recording's item becomes `uploaded`.
//! - A stream's screen or camera arrival is recorded on the stream's item; the arrival that completes the pair
//!   claims the stream and submits the composite exactly once; a lone recording starts the partner timer, whose
//!   expiry submits a single-source fallback; a late partner replaces the fallback with the composite.
//! - Outputs (`_composited.mp4`) and keys outside `KEY_PREFIX` are ignored and logged.
//!
//! `main` only wires: configuration from the environment, clients built once, backends chosen by configuration,
//! then [`Compositor::handle`] per invocation.

pub mod config;
pub mod event;
pub mod handler;
pub mod ports;
pub mod timer;
pub mod transcoder;
pub mod wiring;

pub use handler::Compositor;
