//! Why the chunker failed, and the error type a state machine matches for each reason.

use vidpipe_core::call::export::ExportError;
use vidpipe_core::limits::LimitError;
use vidpipe_core::render::RenderError;
use vidpipe_core::render::ports::{DocumentError, PutError};
use vidpipe_lambda::ErrorType;

use crate::INLINE_LIMIT_BYTES;
use crate::sources::SourceError;

/// Why the task failed: the request is malformed, breaks a rule, cannot be planned, or is missing, or a source is
/// missing or cannot be probed (error type `InvalidRenderRequest`, not worth a retry); or S3 or the probe service
/// failed (`RequestUnavailable`, worth a retry).
#[derive(Debug, thiserror::Error)]
pub enum ChunkerError {
    /// The task input is not `{"request": ...}` or `{"request_uri": ...}`.
    #[error(transparent)]
    Input(serde_json::Error),
    /// The input gives more or fewer than one of `request`, `request_uri` and `export`.
    #[error("give exactly one of `request`, `request_uri` and `export`")]
    RequestOrUri,
    /// A call's export in a chunker configured without one bucket (`BUCKET`): its tracks' keys name no bucket.
    #[error("a call's export needs the chunker's BUCKET")]
    ExportBucket,
    /// A call's export names a file that is not one of the call's tracks, or cannot be laid out or drawn.
    #[error("call export: {0}")]
    Export(#[from] ExportError),
    /// The input's `render_id` (the API's) is not the request's.
    #[error("render_id: the request's `{request}` is not the render's `{given}`")]
    RenderIdMismatch {
        /// The input's.
        given: String,
        /// The request's.
        request: String,
    },
    /// The stored request could not be read.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// The request is malformed, breaks a rule, or cannot be cut into chunks.
    #[error(transparent)]
    Request(#[from] RenderError),
    /// A source is missing, unusable, or could not be probed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Video scenes need frames past their video's end: one description per scene.
    #[error("{}", .0.join("; "))]
    ShortVideos(Vec<String>),
    /// The plan is too large for a Step Functions state even without the request.
    #[error(
        "the plan of {chunks} chunks is {bytes} bytes without the request, more than the {INLINE_LIMIT_BYTES} a \
         Step Functions state may carry: use a shorter output key or longer chunks"
    )]
    PlanTooLarge {
        /// Chunks in the plan.
        chunks: usize,
        /// Its size in bytes.
        bytes: usize,
    },
    /// A source is longer, larger or faster than the configured limits.
    #[error("source {uri}: {source}")]
    SourceTooLarge {
        /// The source.
        uri: String,
        /// The limit it breaks.
        #[source]
        source: LimitError,
    },
    /// The assembler's `/tmp` cannot hold the chunks and the joined output: refused before any chunk is paid for.
    #[error(
        "the render needs up to {needed} bytes of the assembler's /tmp, which has {available}: make it shorter or \
         smaller"
    )]
    TooLargeForAssembler {
        /// Bytes the chunks and the output may take.
        needed: u64,
        /// `ASSEMBLER_EPHEMERAL_MB` in bytes.
        available: u64,
    },
    /// The request or probe results could not be written as JSON.
    #[error(transparent)]
    Serialize(serde_json::Error),
    /// Storing the request or probe results failed.
    #[error(transparent)]
    Put(#[from] PutError),
}

impl ErrorType for ChunkerError {
    fn error_type(&self) -> &'static str {
        let transient = match self {
            Self::Document(e) => e.is_transient(),
            Self::Source(e) => e.is_transient(),
            Self::Put(_) => true,
            Self::Input(_)
            | Self::RequestOrUri
            | Self::ExportBucket
            | Self::Export(_)
            | Self::RenderIdMismatch { .. }
            | Self::Request(_)
            | Self::ShortVideos(_)
            | Self::PlanTooLarge { .. }
            | Self::SourceTooLarge { .. }
            | Self::TooLargeForAssembler { .. }
            | Self::Serialize(_) => false,
        };
        if transient {
            "RequestUnavailable"
        } else {
            "InvalidRenderRequest"
        }
    }
}
