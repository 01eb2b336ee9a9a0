//! vidpipe's AWS adapters: thin wrappers over the AWS SDK that implement the ports of `vidpipe_core::ports` (and
//! the render flow's, `vidpipe_core::render::ports`), each named for its technology.
//!
//! Clients come from [`sdk::load`] once per cold start (`aws_config::load_defaults` with an HTTPS client that builds
//! its TLS configuration on first use), and S3's from [`s3::client`] (path style from the function's
//! configuration); local emulators are reached through the SDK's standard `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>` variables, never through special code paths.

pub mod cloudfront;
pub mod dynamo;
pub mod eventbridge;
pub mod lambda;
pub mod mediaconvert;
pub mod prober;
pub mod provision;
pub mod publisher;
pub mod requests;
pub mod s3;
pub mod sdk;
pub mod secrets;
pub mod stepfunctions;
pub mod webhook;

/// The full message of an SDK error, sources included (the SDK's `Display` alone says only "service error").
pub fn error_message(err: &(dyn std::error::Error + 'static)) -> String {
    vidpipe_core::error::Chain(err).to_string()
}
