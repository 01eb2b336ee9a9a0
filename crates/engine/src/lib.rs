//! vidpipe-engine: runs MediaConvert jobs on one machine with ffmpeg and ffprobe.
//!
//! The surface: [`Engine`] runs CreateJob requests (reporting to a [`JobObserver`]) and answers Probe;
//! [`Assembler`] joins and mixes a render's chunks; [`Storage`] reads and writes the media at [`Location`]s;
//! [`BusEvents`] puts a job's events on an EventBridge bus; [`dry_plan`] plans a job without ffmpeg, over probe answers the caller assumes. The planner, the ffmpeg filter
//! graph, the prober and the packagers are the engine's own.

mod assemble;
mod bus;
mod cmaf;
mod dry;
mod graph;
mod lifecycle;
mod mp4;
mod naming;
mod plan;
mod probe;
mod run;
mod storage;
mod timecode;
mod tools;
mod wire;

pub use assemble::{
    AssembleError, Assembler, ChunkFile, JoinSpec, Joined, MUSIC_FADE_OUT_SECONDS, MixSpec, Mixed,
    SAMPLE_RATE, frames_to_ms,
};
pub use bus::{BusEvents, Delivery};
pub use dry::{AssumedMedia, DryPlan, dry_plan};
pub use lifecycle::{
    ERROR_INPUT_ACCESS, ERROR_INVALID_SETTINGS, Identity, Job, JobFailure, JobPhase, JobStatus,
    OutputDetail, OutputGroupDetail, VideoDetails,
};
pub use mp4::box_types;
pub use probe::{
    AudioProperties, Container, FrameRate, Metadata, ProbeResponse, ProbeResult, Track,
    TrackMapping, VideoProperties,
};
pub use run::{Engine, IgnoreUpdates, JobObserver};
pub use storage::{FolderBucket, Location, Storage, StorageError};
pub use tools::Tools;
