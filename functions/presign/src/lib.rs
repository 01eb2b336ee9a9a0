//! vidpipe's HTTP API (API Gateway HTTP API, payload format 2.0): presigned uploads, recordings and stream status.
//!
//! `main` only wires: configuration from the environment, SDK clients built once, then [`App::handle`] per request.

pub mod auth;
pub mod config;
pub mod http;
pub mod ports;
pub mod routes;

pub use routes::App;
