//! vidpipe's domain core: pure rules and types, no AWS SDK, no network, no files.

pub mod call;
pub mod capability;
pub mod clock;
pub mod config;
pub mod cost;
pub mod error;
pub mod job;
pub mod jobevent;
pub mod keys;
pub mod limits;
pub mod manifest;
pub mod notify;
pub mod pairing;
pub mod play_url;
pub mod playback;
pub mod ports;
pub mod recording;
pub mod render;
pub mod s3uri;
pub mod stream_status;
pub mod transcoder;
pub mod upload;
pub mod validate;
pub mod webhook;
