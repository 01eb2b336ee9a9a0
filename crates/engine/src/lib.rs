//! vidpipe-engine: runs MediaConvert jobs on one machine with ffmpeg and ffprobe.

pub mod assemble;
pub mod graph;
pub mod lifecycle;
pub mod mp4;
pub mod naming;
pub mod plan;
pub mod probe;
pub mod run;
pub mod storage;
pub mod timecode;
pub mod tools;
pub mod wire;

pub use assemble::{AssembleError, Assembler};
pub use lifecycle::{Identity, Job, JobError, JobStatus};
pub use run::{Engine, IgnoreUpdates, JobObserver};
pub use storage::{Location, Storage};
pub use tools::Tools;
