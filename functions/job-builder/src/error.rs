//! Why the job-builder failed, and the error type a state machine matches for each reason.

use vidpipe_core::job::JobError;
use vidpipe_core::render::RenderError;
use vidpipe_core::render::ports::DocumentError;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_lambda::ErrorType;

/// Why the task failed: the input cannot make a valid job (error type `InvalidJobRequest`, which a state machine
/// can Catch), or a stored render request or its probe results could not be read for a reason other than bad input
/// (`RequestUnavailable`, which it can Retry).
#[derive(Debug, thiserror::Error)]
pub enum JobBuilderError {
    /// The task input fits no job request.
    #[error(transparent)]
    Input(serde_json::Error),
    /// A chunk gives both or neither of `request` and `request_uri`.
    #[error("a chunk needs exactly one of `request` and `request_uri`")]
    RequestOrUri,
    /// A chunk gives both `media` and `media_uri`.
    #[error("give at most one of `media` and `media_uri`")]
    MediaOrUri,
    /// A stored request or its probe results could not be read.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// The stored render request is not a valid request.
    #[error("{uri}: {source}")]
    StoredRequest {
        /// Where it is stored.
        uri: S3Uri,
        /// What is wrong with it.
        #[source]
        source: RenderError,
    },
    /// The stored probe results are not probe results by URI.
    #[error("{uri}: {source}")]
    StoredMedia {
        /// Where they are stored.
        uri: S3Uri,
        /// What is wrong with them.
        #[source]
        source: serde_json::Error,
    },
    /// The builder refused the input.
    #[error(transparent)]
    Job(#[from] JobError),
}

impl ErrorType for JobBuilderError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Document(e) if e.is_transient() => "RequestUnavailable",
            _ => "InvalidJobRequest",
        }
    }
}
