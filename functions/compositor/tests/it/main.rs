//! vidpipe-compositor's integration tests: one binary, one module per concern. Most run the handler on moto's
//! DynamoDB and S3 with fakes for MediaConvert, EventBridge and the timer (`common`); `in_memory` runs it on the
//! in-memory stores of `vidpipe_testkit::fakes`; `engine_backend`, `moto_flow` and `end_to_end` run the local
//! backends (the `local` feature, which the dev-dependency on this crate turns on).

mod common;
mod end_to_end;
mod engine_backend;
mod events;
mod faults;
mod handler;
mod in_memory;
mod input_failure;
mod moto_flow;
mod playback;
mod pressure;
mod previews;
