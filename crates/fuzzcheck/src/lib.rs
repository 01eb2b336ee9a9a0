//! vidpipe-fuzzcheck: what vidpipe's fuzz targets check, one function per target, taking the raw input bytes.
//!
//! Each check feeds its input to one of vidpipe's parsers (or a whole handler on in-memory ports) and panics when an
//! invariant breaks: a panic inside vidpipe's code, a refusal that is not the parser's typed error, a value that does
//! not survive being serialised and read again, a rejected request that wrote something or answered 5xx. A panic is
//! what libFuzzer reports as a crash, and what a test reports as a failure, so the same functions serve:
//!
//! - `fuzz/` (cargo-fuzz, nightly): one target per entry of [`TARGETS`], each calling its check;
//! - this crate's tests (stable, part of `cargo test --workspace`): every file of `fuzz/corpus/` through every
//!   check, and proptest-mutated corpus files through their own target's check.
//!
//! Inputs that are not what a check reads (not UTF-8, not JSON) are ignored: the parsers behind the checks take
//! text or JSON values, and an invalid input's refusal is serde_json's, not vidpipe's.
//!
//! `docs/fuzzing.md` lists the targets, their invariants and how to run them.

mod asl;
mod events;
mod http;
mod plan;
mod render;
mod runtime;
mod webhook;

pub use asl::asl_definition;
pub use events::{compositor_event, notifier_event, s3_key};
pub use http::presign_http;
pub use plan::engine_plan;
pub use render::render_request;
pub use webhook::webhook_signature;

/// One fuzz target: its name (the cargo-fuzz target, and its seed folder `fuzz/corpus/{name}`) and its check.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The check: panics when an invariant breaks.
    pub check: fn(&[u8]),
}

/// Every fuzz target (fuzz/fuzz_targets/ holds one file for each).
pub const TARGETS: [Target; 8] = [
    Target {
        name: "compositor_event",
        check: compositor_event,
    },
    Target {
        name: "s3_key",
        check: s3_key,
    },
    Target {
        name: "notifier_event",
        check: notifier_event,
    },
    Target {
        name: "presign_http",
        check: presign_http,
    },
    Target {
        name: "render_request",
        check: render_request,
    },
    Target {
        name: "asl_definition",
        check: asl_definition,
    },
    Target {
        name: "engine_plan",
        check: engine_plan,
    },
    Target {
        name: "webhook_signature",
        check: webhook_signature,
    },
];

/// The input as a JSON value, if it is one.
fn json(data: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(data).ok()
}
