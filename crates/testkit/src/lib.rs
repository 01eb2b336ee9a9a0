//! Test support shared by vidpipe's crates.
//!
//! Only dev-dependencies use this crate. Missing tools are setup failures: every helper panics with a message that
//! says how to install the tool (`scripts/test.sh` does it), never skips.

pub mod audio;
pub mod browser;
pub mod cloudfront;
pub mod config;
pub mod fakes;
pub mod fidelity;
pub mod lambda_watch;
pub mod media;
pub mod moto;
pub mod s3;
pub mod serial;
pub mod webhook;

use std::path::PathBuf;

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// A name unique within this test process, for buckets, tables and queues (lowercase, digits and `-`).
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}
