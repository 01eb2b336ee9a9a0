//! [`ObjectStore`]: the uploads bucket, by key.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use crate::error::{Cause, Chain};

/// A request the client performs itself: method, URL, and the headers it must send exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// HTTP method.
    pub method: String,
    /// The signed URL.
    pub url: String,
    /// Headers covered by the signature (Host excluded), names in lowercase: send them exactly.
    pub headers: BTreeMap<String, String>,
}

/// A single PUT to presign.
#[derive(Debug, Clone)]
pub struct PutSpec<'a> {
    /// Object key.
    pub key: &'a str,
    /// Content-Type, signed.
    pub content_type: &'a str,
    /// Content-Length, signed when known.
    pub content_length: Option<u64>,
    /// User metadata (`x-amz-meta-*`), signed.
    pub metadata: &'a [(&'a str, String)],
    /// Sign `If-None-Match: *`, so the store refuses to overwrite an existing object.
    pub if_none_match: bool,
    /// URL lifetime.
    pub expires_in: Duration,
}

/// What the store says about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    /// Size in bytes.
    pub size: u64,
    /// The ETag, without quotes.
    pub etag: String,
    /// Last modification, in seconds since the Unix epoch, when the store says.
    pub last_modified: Option<i64>,
    /// User metadata (`x-amz-meta-*`), names in lowercase without the prefix (for example `started-at`).
    pub metadata: BTreeMap<String, String>,
}

/// One part the store holds for a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    /// Part number, from 1.
    pub number: u32,
    /// The part's ETag.
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// An object-store failure, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    /// A conditional write found the object already there (`If-None-Match: *`).
    #[error("the object already exists")]
    AlreadyExists,
    /// The multipart upload is unknown (completed, aborted or never created).
    #[error("no such multipart upload")]
    NoSuchUpload,
    /// The client's part list does not match what the store holds.
    #[error("invalid part list: {0}")]
    InvalidParts(String),
    /// The service or the network failed.
    #[error("the object store is unavailable: {}", Chain(.0.as_ref()))]
    Unavailable(#[source] Cause),
}

/// The uploads bucket: existence checks, presigned uploads and downloads, and multipart uploads, by key.
pub trait ObjectStore: Send + Sync {
    /// Whether `key` exists.
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, ObjectStoreError>> + Send;
    /// Size, etag and user metadata of `key`, or `None` if it does not exist.
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectHead>, ObjectStoreError>> + Send;
    /// Presigns a single PUT.
    fn presign_put(
        &self,
        spec: &PutSpec<'_>,
    ) -> impl Future<Output = Result<PresignedRequest, ObjectStoreError>> + Send;
    /// Presigns a GET of `key`, valid for `ttl`.
    fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<PresignedRequest, ObjectStoreError>> + Send;
    /// Starts a multipart upload and returns its id.
    fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        metadata: &[(&str, String)],
    ) -> impl Future<Output = Result<String, ObjectStoreError>> + Send;
    /// Presigns the upload of part `number` of exactly `len` bytes, valid for `ttl`.
    fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        len: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<PresignedRequest, ObjectStoreError>> + Send;
    /// The parts uploaded so far, in order.
    fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredPart>, ObjectStoreError>> + Send;
    /// Completes an upload from `(number, etag)` pairs, refusing to overwrite an existing object.
    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> impl Future<Output = Result<(), ObjectStoreError>> + Send;
    /// Aborts an upload; the store drops its parts.
    fn abort_multipart(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), ObjectStoreError>> + Send;
}
