//! The command line's integration tests, in one binary so that the AWS SDK is linked once (`local_cli.rs` stays a
//! binary of its own for now).

mod engine_cli;
mod load;
mod local_pump;
mod render_definition;
mod render_e2e;
mod render_local_files;
mod transcode_definition;
