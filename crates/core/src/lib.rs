//! vidpipe's domain core: pure rules and types, no AWS SDK, no network, no files.

pub mod job;
pub mod render;
pub mod s3uri;
