//! vidpipe's AWS adapters: thin wrappers over the AWS SDK that speak the domain's types.
//!
//! Clients come from [`aws_config`]; local emulators are reached through the SDK's standard
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, never through special code paths.

pub mod eventbridge;
pub mod mediaconvert;
pub mod notify;
pub mod objects;
pub mod prober;
pub mod provision;
pub mod recordings;
pub mod requests;
pub mod s3;
pub mod streams;

/// The full message of an SDK error, sources included (the SDK's `Display` alone says only "service error").
pub fn error_message(err: &(dyn std::error::Error + 'static)) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(err).to_string()
}
