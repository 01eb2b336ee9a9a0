//! The local backends (`local` feature): vidpipe-engine standing in for MediaConvert, and the partner timer run in
//! this process by vidpipe-stepfn. `cargo lambda watch` (`scripts/dev.sh`) and the tests build them; release builds
//! for Lambda leave them, and the engine and interpreter, out.

mod engine;
mod timer;

pub use engine::EngineTranscoder;
pub use timer::{DEFINITION, LocalTimer, LocalTimerError, TimeoutTarget};
