//! The engine's integration tests, one binary (the AWS SDK and the engine are linked once): real media through
//! ffmpeg, measured.

mod assemble;
mod browser_recordings;
mod common;
mod fidelity;
mod golden_jobs;
mod lifecycle;
