//! What the render flow's tasks need from the outside, one trait per operation: reading a stored request or its
//! probe results ([`RequestReader`]), storing them ([`RequestWriter`]), reading a source file's first bytes
//! ([`HeaderReader`]), and probing a video source ([`VideoProber`]). `vidpipe_aws::requests` implements the first
//! three on S3 and `vidpipe_aws::prober` the probe on MediaConvert; handler tests use in-memory fakes.

use std::future::Future;

pub use crate::error::Cause;
use crate::error::Chain;
use crate::job::MediaInfo;
use crate::s3uri::S3Uri;

/// Why an object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The object (or its bucket) does not exist: the input names something that is not there.
    #[error("{0} does not exist")]
    NotFound(S3Uri),
    /// The object is larger than the caller allows.
    #[error("{uri} is {size} bytes, more than the {limit} allowed")]
    TooLarge {
        /// The object.
        uri: S3Uri,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The storage service failed: worth a retry.
    #[error("reading {uri} failed: {}", Chain(.source.as_ref()))]
    Unavailable {
        /// The object.
        uri: S3Uri,
        /// The service's error.
        #[source]
        source: Cause,
    },
}

impl FetchError {
    /// Whether a retry may succeed: the service failed, rather than the object being missing or too large.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// Why an object could not be written (the storage service failed: worth a retry).
#[derive(Debug, thiserror::Error)]
#[error("storing {uri} failed: {}", Chain(.source.as_ref()))]
pub struct PutError {
    /// The object.
    pub uri: S3Uri,
    /// The service's error.
    #[source]
    pub source: Cause,
}

/// Reads stored render requests and their probe results (`request.json`, `media.json`).
pub trait RequestReader: Send + Sync {
    /// The bytes of the object at `uri`, refusing objects over `limit` bytes.
    fn fetch(
        &self,
        uri: &S3Uri,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// Stores render requests and their probe results beside the output, for requests passed by URI.
pub trait RequestWriter: Send + Sync {
    /// Stores the JSON document `json` at `uri`.
    fn put(&self, uri: &S3Uri, json: Vec<u8>) -> impl Future<Output = Result<(), PutError>> + Send;
}

/// Removes a finished render's files.
pub trait FolderRemover: Send + Sync {
    /// Deletes every object whose key starts with `folder`'s key (a folder: it ends in `/`), in its bucket.
    fn remove_folder(&self, folder: &S3Uri) -> impl Future<Output = Result<(), PutError>> + Send;
}

/// Reads the first bytes of source files (image headers, for their size).
pub trait HeaderReader: Send + Sync {
    /// The first `len` bytes of the object at `uri` (all of it when it is shorter).
    fn fetch_header(
        &self,
        uri: &S3Uri,
        len: u64,
    ) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// Largest stored request or probe results read: 10,000 scenes with long URIs stay well under it, and a request that
/// big is already far past what a Step Functions state may carry inline.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Why a stored request or its probe results could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The object could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The object is not UTF-8 text.
    #[error("{uri} is not UTF-8 JSON: {source}")]
    NotUtf8 {
        /// The object.
        uri: S3Uri,
        /// Where the text breaks.
        #[source]
        source: std::string::FromUtf8Error,
    },
}

impl DocumentError {
    /// Whether a retry may succeed (see [`FetchError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Fetch(e) if e.is_transient())
    }
}

/// The text of the stored request or probe results at `uri`, at most [`MAX_DOCUMENT_BYTES`] of it.
pub async fn read_document(
    reader: &impl RequestReader,
    uri: &S3Uri,
) -> Result<String, DocumentError> {
    let bytes = reader.fetch(uri, MAX_DOCUMENT_BYTES).await?;
    String::from_utf8(bytes).map_err(|source| DocumentError::NotUtf8 {
        uri: uri.clone(),
        source,
    })
}

/// Why a video source could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum VideoProbeError {
    /// The file is missing, unreadable or not usable media: retrying cannot help.
    #[error("{}", Chain(.0.as_ref()))]
    Unusable(#[source] Cause),
    /// The probe service failed: worth a retry.
    #[error("{}", Chain(.0.as_ref()))]
    Unavailable(#[source] Cause),
}

/// Probes video sources (MediaConvert's `Probe` on AWS, ffprobe locally).
pub trait VideoProber: Send + Sync {
    /// What the job builders need to know of the video at `uri`.
    fn probe(&self, uri: &S3Uri)
    -> impl Future<Output = Result<MediaInfo, VideoProbeError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[derive(Debug, thiserror::Error)]
    #[error("service error")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn service_failures_name_the_object_and_every_cause() {
        let uri: S3Uri = "s3://bucket/renders/r/request.json".parse().unwrap();
        let cause = Outer(std::io::Error::other("connection reset"));
        let error = FetchError::Unavailable {
            uri: uri.clone(),
            source: Box::new(cause),
        };
        assert_eq!(
            error.to_string(),
            "reading s3://bucket/renders/r/request.json failed: service error: connection reset"
        );
        assert!(error.source().is_some(), "the cause is kept");
        let error = PutError {
            uri,
            source: "throttled".into(),
        };
        assert_eq!(
            error.to_string(),
            "storing s3://bucket/renders/r/request.json failed: throttled"
        );
    }
}
