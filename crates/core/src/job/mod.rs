//! MediaConvert jobs: the `CreateJob` model and the builders that produce vidpipe's jobs.
//!
//! Builders are pure functions of explicit inputs: probe results ([`MediaInfo`]) are passed in, never fetched.
//! - [`composite_job`]: screen plus camera picture-in-picture (the AddPipe survey client's recordings),
//! - [`single_job`]: one recording to the same output key, when the partner never arrives,
//! - [`chunk_job`]: one chunk of a render request (the chunked render),
//! - [`preview_job`]: an HLS or CMAF preview of one recording with a poster image,
//! - [`call_preview_job`]: one peer's preview of a call recording, padded to the call's time zero,
//! - [`playback_job`]: the playback package (CMAF ladder with HLS and DASH, MP4, poster, storyboard frames).

mod call_preview;
mod chunk;
mod composite;
mod encoding;
mod media;
mod model;
mod output;
pub mod pip;
mod playback;
mod preview;
mod timecode;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use call_preview::{
    CALL_PREVIEW_RATE, CALL_PREVIEW_SEGMENT_SECONDS, CallPreview, METADATA_PEER_ID,
    METADATA_PREVIEW_GENERATION, METADATA_RECORDING_ID, METADATA_ROLE, PEER_PREVIEW_MAX_WIDTH,
    PreviewTrack, SCREENSHARE_PREVIEW_MAX_WIDTH, call_preview_base, call_preview_folder,
    call_preview_job, call_preview_stem,
};
pub use chunk::{CHUNK_CONTAINER, MAX_OVERLAY_IMAGES, chunk_job, motion_rect, short_video_scenes};
pub use composite::{CompositeOptions, Recording, SingleOptions, composite_job, single_job};
pub use encoding::{DEFAULT_MAX_WIDTH, max_bitrate, output_size};
pub use media::{FrameRate, MediaInfo, Size};
pub use model::*;
pub use output::{
    CAMERA_SUFFIX, COMPOSITED_SUFFIX, CompositeOutput, check_stream_name, is_composite_output_key,
};
pub use playback::{
    LADDER_RUNGS, METADATA_DESTINATION, METADATA_STORYBOARD_INTERVAL, PlaybackOptions,
    PlaybackPlan, STORYBOARD_TILES, ladder, names, playback_job,
};
pub use preview::{PreviewFormat, PreviewOptions, preview_job};
pub use timecode::{timecode, timecode_frame};

use crate::render::RenderError;

/// Where and as whom a job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobContext {
    /// IAM role ARN that MediaConvert assumes.
    pub role: String,
    /// Queue ARN; the Default queue when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

/// The kind of a job, recorded in its `UserMetadata` under [`METADATA_KIND`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Screen plus camera picture-in-picture.
    Composite,
    /// One recording to the composite's output key.
    Single,
    /// One chunk of a render.
    Chunk,
    /// A segmented preview with a poster.
    Preview,
    /// A playback package (ladder, MP4, poster, storyboard frames).
    Playback,
    /// One peer's preview of a call recording (`call_preview`).
    CallPreview,
}

impl JobKind {
    /// The kind's name in metadata and tokens.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Composite => "composite",
            JobKind::Single => "single",
            JobKind::Chunk => "chunk",
            JobKind::Preview => "preview",
            JobKind::Playback => "playback",
            JobKind::CallPreview => "call_preview",
        }
    }
}

/// `UserMetadata` key: always `vidpipe`, so the notifier can tell vidpipe's jobs from others.
pub const METADATA_APP: &str = "app";
/// `UserMetadata` key: the [`JobKind`].
pub const METADATA_KIND: &str = "kind";

/// Why a job cannot be built. Every variant is a problem with the builder's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    /// A stream name that could collide with output or camera keys, or is not key-safe.
    #[error("invalid stream name `{stream}`: {reason}")]
    InvalidStreamName {
        /// The name.
        stream: String,
        /// Why.
        reason: String,
    },
    /// An output location that is not usable.
    #[error("invalid output: {0}")]
    InvalidOutput(String),
    /// Probe results that cannot describe a video.
    #[error("invalid media info for {source_name}: {reason}")]
    InvalidMedia {
        /// Which source.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// An option out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A frame beyond MediaConvert's 24-hour timecodes.
    #[error("frame {frame} at {fps:.3} fps is beyond 24 hours of timecode")]
    TimecodeOutOfRange {
        /// The frame.
        frame: u64,
        /// The rate.
        fps: f64,
    },
    /// The camera and screen recordings do not overlap in time.
    #[error("camera offset {offset_ms} ms leaves no overlap with the screen recording ({reason})")]
    NoOverlap {
        /// Camera start minus screen start.
        offset_ms: i64,
        /// Which end misses.
        reason: &'static str,
    },
    /// Overlay geometry.
    #[error("overlay geometry: {0}")]
    Geometry(#[from] pip::GeometryError),
    /// The render request or chunk.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// An overlay image whose size was not passed in.
    #[error("no media info for overlay image {0}: its size is needed to place it")]
    MissingMediaInfo(String),
    /// A duration that MediaConvert cannot express.
    #[error("duration of {0} ms is outside MediaConvert's range")]
    DurationOutOfRange(u64),
}

/// Checks probe results that builders rely on.
fn check_media(source_name: &str, media: &MediaInfo) -> Result<(), JobError> {
    let bad = |reason: String| {
        Err(JobError::InvalidMedia {
            source_name: source_name.to_owned(),
            reason,
        })
    };
    if media.width < 2 || media.height < 2 || media.width > 16384 || media.height > 16384 {
        return bad(format!(
            "size {}x{} is outside 2..=16384",
            media.width, media.height
        ));
    }
    if !media.rotation.is_multiple_of(90) || media.rotation >= 360 {
        return bad(format!(
            "rotation {} is not 0, 90, 180 or 270",
            media.rotation
        ));
    }
    if let Some(rate) = media.frame_rate.filter(|r| !r.is_valid()) {
        return bad(format!(
            "frame rate {}/{} is not a positive rate",
            rate.numerator, rate.denominator
        ));
    }
    Ok(())
}

/// Wraps settings into a request with metadata, the job's MediaConvert rate (`cost::job_rate`; `source_rate` is
/// the probed frame rate of the input its outputs follow) and a deterministic idempotency token.
///
/// The same job built twice gets the same token (MediaConvert then returns the first job), a different job a
/// different one.
fn finish(
    context: &JobContext,
    kind: JobKind,
    settings: JobSettings,
    mut metadata: BTreeMap<String, String>,
    source_rate: Option<FrameRate>,
) -> CreateJobRequest {
    metadata.insert(METADATA_APP.into(), "vidpipe".into());
    metadata.insert(METADATA_KIND.into(), kind.as_str().into());
    let mut request = CreateJobRequest {
        role: context.role.clone(),
        settings,
        queue: context.queue.clone(),
        user_metadata: None,
        tags: None,
        client_request_token: None,
        status_update_interval: Some(StatusUpdateInterval::Seconds60),
        priority: None,
        acceleration_settings: None,
    };
    let rate = crate::cost::job_rate(&request, source_rate);
    metadata.extend(rate.metadata().map(|(key, value)| (key.to_owned(), value)));
    request.client_request_token = Some(idempotency_token(kind, &request.settings, &metadata));
    request.user_metadata = Some(metadata);
    request
}

/// The job's `ClientRequestToken`: the kind and the first 40 hex digits of SHA-256 over settings and metadata.
fn idempotency_token(
    kind: JobKind,
    settings: &JobSettings,
    metadata: &BTreeMap<String, String>,
) -> String {
    let mut hash = Sha256::new();
    hash.update(serde_json::to_vec(settings).unwrap_or_default());
    hash.update(serde_json::to_vec(metadata).unwrap_or_default());
    let digest = hex::encode(hash.finalize());
    format!("{}-{}", kind.as_str(), &digest[..40])
}

impl CreateJobRequest {
    /// The same job with `entries` added to its `UserMetadata` (for example the stream's `generation`), and its
    /// `ClientRequestToken` recomputed over the new metadata, so it stays deterministic and differs from the job
    /// without them. `kind` is the kind the job was built as.
    pub fn with_user_metadata(mut self, kind: JobKind, entries: &[(&str, String)]) -> Self {
        let mut metadata = self.user_metadata.take().unwrap_or_default();
        for (key, value) in entries {
            metadata.insert((*key).to_owned(), value.clone());
        }
        self.client_request_token = Some(idempotency_token(kind, &self.settings, &metadata));
        self.user_metadata = Some(metadata);
        self
    }
}

#[cfg(test)]
mod tests;
