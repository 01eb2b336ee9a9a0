//! The interpreter's integration tests, in one binary: one module per subject, shared helpers in `common`.

mod common;
mod concurrency;
mod data_flow;
mod definitions;
mod endpoint;
mod errors_and_time;
mod intrinsics;
