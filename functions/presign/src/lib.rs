//! vidpipe's HTTP API (API Gateway HTTP API, payload format 2.0): presigned uploads, recordings, stream status,
//! renders, playback and call recordings.
//!
//! The handler ([`App`]) takes its stores as the ports of `vidpipe_core::ports`. `main` only wires: configuration
//! from the environment, SDK clients built once ([`wiring`]), then [`App::handle`] per request, on an event
//! [`event_guard`] made safe for `lambda_http` to read.

pub mod auth;
pub mod calls;
pub mod config;
pub mod event_guard;
mod exports;
pub mod http;
pub mod playback;
mod previews;
pub mod renders;
pub mod routes;
pub mod signing;
mod stream_claims;
pub mod wiring;

pub use routes::App;
