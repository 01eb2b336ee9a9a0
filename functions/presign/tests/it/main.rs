//! vidpipe-presign's integration tests: one binary. `handler` runs every route on the in-memory stores;
//! `local_s3` runs the API on moto and on a SigV4-checking S3 (s3s-fs).

mod calls_moto;
mod common;
mod handler;
mod local_s3;
mod wiring;
