//! The transcoder's integration tests, one binary: the handler in this process on moto (bad input, refused jobs,
//! probes), and the function as a process behind `cargo lambda watch`, submitted to through the `LambdaTranscoder`
//! adapter, running the builders' composite, single, chunk and playback jobs with the engine's fidelity checks.

mod chunked;
mod common;
mod handler;
mod watch;
