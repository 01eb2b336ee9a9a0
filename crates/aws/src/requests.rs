//! The render flow's stored documents on S3: the request and its probe results, read and written by URI, and the
//! first bytes of source files ([`vidpipe_core::render::ports`]).

use aws_sdk_s3::Client;
use vidpipe_core::render::ports::{
    FetchError, HeaderReader, PutError, RequestReader, RequestWriter,
};
use vidpipe_core::s3uri::S3Uri;

use crate::objects::{self, ObjectError};

/// Render requests, their probe results and source headers in S3.
#[derive(Debug, Clone)]
pub struct S3RequestStore(pub Client);

impl RequestReader for S3RequestStore {
    async fn fetch(&self, uri: &S3Uri, limit: u64) -> Result<Vec<u8>, FetchError> {
        objects::get_object_bytes(&self.0, uri, limit)
            .await
            .map_err(fetch_error)
    }
}

impl HeaderReader for S3RequestStore {
    async fn fetch_header(&self, uri: &S3Uri, len: u64) -> Result<Vec<u8>, FetchError> {
        objects::get_object_prefix(&self.0, uri, len)
            .await
            .map_err(fetch_error)
    }
}

impl RequestWriter for S3RequestStore {
    async fn put(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        self.0
            .put_object()
            .bucket(uri.bucket())
            .key(uri.key())
            .content_type("application/json")
            .body(json.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| PutError {
                uri: uri.clone(),
                source: Box::new(e),
            })
    }
}

fn fetch_error(error: ObjectError) -> FetchError {
    match error {
        ObjectError::NotFound(uri) => FetchError::NotFound(uri),
        ObjectError::TooLarge { uri, size, limit } => FetchError::TooLarge { uri, size, limit },
        // `objects` already renders the SDK error with its whole context into `message`.
        ObjectError::S3 { uri, message } => FetchError::Unavailable {
            uri,
            source: message.into(),
        },
    }
}
