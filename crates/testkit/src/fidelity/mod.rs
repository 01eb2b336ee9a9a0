//! The fidelity checks of the jobs vidpipe's builders produce (vidpipe-core's golden files, and a render's chunk
//! jobs), shared by every runner of them: the engine's tests run them on local files, the transcoder's through
//! `cargo lambda watch` on moto's S3. Each kind has the sources it is run on and the checks of what comes out.
//!
//! A check reads the outputs as local files, and compares the COMPLETE event's paths with the names the job gave
//! its outputs (`named`: local paths for the engine, `s3://` URIs for the transcoder).

pub mod motion;
pub mod playback;
pub mod stream;

use serde_json::Value;

/// The golden job `name` (a file of `crates/core/tests/golden`), with each `(from, to)` of `replacements` applied to
/// its text (pointing its `s3://` locations elsewhere).
pub fn golden(name: &str, replacements: &[(&str, String)]) -> Value {
    let path = crate::workspace_root()
        .join("crates/core/tests/golden")
        .join(name);
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `detail` of a job's last event, which must be its COMPLETE.
pub fn complete_detail(events: &[Value]) -> &Value {
    let last = events.last().expect("the job sent events");
    assert_eq!(
        last["detail"]["status"], "COMPLETE",
        "job did not complete: {last}"
    );
    &last["detail"]
}
