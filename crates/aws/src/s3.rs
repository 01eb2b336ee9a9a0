//! S3: the one way vidpipe reaches its objects. [`S3Objects`] is one bucket: the uploads bucket's
//! [`ObjectStore`] (presigned uploads and downloads, existence checks, multipart uploads), and whole objects or
//! their first bytes (render requests, image headers) for the render flow's adapters (`crate::requests`).

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::{PresignedRequest as SdkPresignedRequest, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use tokio::io::AsyncWriteExt;
use vidpipe_core::error::Cause;
use vidpipe_core::ports::{
    ObjectHead, ObjectStore, ObjectStoreError, PresignedRequest, PutSpec, StoredPart,
};
use vidpipe_core::render::ports::{FetchError, PutError};
use vidpipe_core::s3uri::S3Uri;

/// Builds the S3 client vidpipe uses. Checksums are computed only when an operation requires them: a default CRC32
/// would be signed into presigned PUTs as the checksum of an empty body, and real uploads would then fail.
/// `force_path_style` is for S3-compatible endpoints without virtual-host addressing (moto, MinIO).
pub fn client(sdk_config: &aws_config::SdkConfig, force_path_style: bool) -> Client {
    let config = aws_sdk_s3::config::Builder::from(sdk_config)
        .force_path_style(force_path_style)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    Client::from_conf(config)
}

/// Whether a write may replace an object already at its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// A plain write: the last one wins.
    Allowed,
    /// A conditional write (`If-None-Match: *`, on the PUT or on the multipart upload's completion): S3 refuses it
    /// when the key exists, atomically, so two writers never both succeed.
    Never,
}

/// Why a file could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// [`Overwrite::Never`], and an object is at the key already: kept, untouched.
    #[error("{0} exists already and is never overwritten")]
    Exists(S3Uri),
    /// The write failed otherwise (worth a retry).
    #[error(transparent)]
    Put(#[from] PutError),
}

/// A failed write of `uri` under `overwrite`: `PreconditionFailed` on a conditional write is [`UploadError::Exists`].
fn upload_error<E, R>(uri: &S3Uri, overwrite: Overwrite, err: SdkError<E, R>) -> UploadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if overwrite == Overwrite::Never && err.code() == Some("PreconditionFailed") {
        UploadError::Exists(uri.clone())
    } else {
        UploadError::Put(put_error(uri, err))
    }
}

/// The objects of one bucket.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: Client,
    bucket: String,
}

/// An S3 failure, sorted by what the caller should do about it.
fn object_error<E, R>(err: SdkError<E, R>) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.code() {
        Some("PreconditionFailed") => ObjectStoreError::AlreadyExists,
        Some("NoSuchUpload") => ObjectStoreError::NoSuchUpload,
        Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall") => {
            ObjectStoreError::InvalidParts(err.message().unwrap_or("rejected by S3").to_owned())
        }
        _ => ObjectStoreError::Unavailable(Box::new(err)),
    }
}

fn presigned(p: SdkPresignedRequest) -> PresignedRequest {
    PresignedRequest {
        method: p.method().to_owned(),
        url: p.uri().to_owned(),
        headers: p
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect(),
    }
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig, ObjectStoreError> {
    PresigningConfig::expires_in(expires_in).map_err(|e| ObjectStoreError::Unavailable(Box::new(e)))
}

fn len_i64(len: u64) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

fn part_number(number: u32) -> i32 {
    i32::try_from(number).unwrap_or(i32::MAX)
}

impl S3Objects {
    /// Objects of `bucket`, through `client` (see [`client`]).
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The underlying client.
    pub fn sdk(&self) -> &Client {
        &self.client
    }

    /// The key of `uri` in this bucket; a URI in another bucket names nothing this bucket holds.
    fn key_of<'a>(&self, uri: &'a S3Uri) -> Result<&'a str, FetchError> {
        if uri.bucket() == self.bucket {
            Ok(uri.key())
        } else {
            Err(FetchError::NotFound(uri.clone()))
        }
    }

    /// The bytes of the object at `uri` (in this bucket), refusing objects over `limit` bytes.
    pub async fn get_bytes(&self, uri: &S3Uri, limit: u64) -> Result<Vec<u8>, FetchError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key_of(uri)?)
            .send()
            .await
            .map_err(|e| fetch_error(uri, e))?;
        let size = output
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let too_large = |size| FetchError::TooLarge {
            uri: uri.clone(),
            size,
            limit,
        };
        if size > limit {
            return Err(too_large(size));
        }
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| unavailable(uri, e))?
            .into_bytes();
        if bytes.len() as u64 > limit {
            return Err(too_large(bytes.len() as u64));
        }
        Ok(bytes.to_vec())
    }

    /// Stores the JSON document `json` at `uri` (in this bucket).
    pub async fn put_json(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        self.put_bytes(uri, json, "application/json").await
    }

    /// Stores `bytes` at `uri` (in this bucket) with `content_type`.
    pub async fn put_bytes(
        &self,
        uri: &S3Uri,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), PutError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key_for_put(uri)?)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| put_error(uri, e))?;
        Ok(())
    }

    /// How many objects are under the folder `folder` (in this bucket; its key ends in `/`), listed a page of up to
    /// 1000 keys at a time.
    pub async fn count_folder(&self, folder: &S3Uri) -> Result<usize, FetchError> {
        if folder.bucket() != self.bucket || !folder.key().ends_with('/') {
            return Err(unavailable(
                folder,
                std::io::Error::other("not a folder of this bucket"),
            ));
        }
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(folder.key())
            .into_paginator()
            .send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += page.map_err(|e| unavailable(folder, e))?.contents().len();
        }
        Ok(count)
    }

    /// Deletes every object under the folder `folder` (in this bucket; its key ends in `/`), a page of up to 1000
    /// keys at a time.
    pub async fn remove_folder(&self, folder: &S3Uri) -> Result<(), PutError> {
        let prefix = self.key_for_put(folder)?;
        if !prefix.ends_with('/') {
            return Err(put_error(folder, "not a folder: the key must end in /"));
        }
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .send()
                .await
                .map_err(|e| put_error(folder, e))?;
            let keys: Vec<_> = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            if keys.is_empty() {
                return Ok(());
            }
            let delete = Delete::builder()
                .set_objects(Some(keys))
                .quiet(true)
                .build()
                .map_err(|e| put_error(folder, e))?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| put_error(folder, e))?;
        }
    }

    /// The first `len` bytes of the object at `uri` (in this bucket; all of it when it is shorter), with one
    /// ranged GET.
    pub async fn get_prefix(&self, uri: &S3Uri, len: u64) -> Result<Vec<u8>, FetchError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key_of(uri)?)
            .range(format!("bytes=0-{}", len.max(1) - 1))
            .send()
            .await
            .map_err(|e| fetch_error(uri, e))?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| unavailable(uri, e))?
            .into_bytes();
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(bytes.len());
        Ok(bytes[..len].to_vec())
    }
}

impl S3Objects {
    /// Writes the object at `uri` (in this bucket) into `file`, streaming: media objects can be larger than memory.
    pub async fn download(&self, uri: &S3Uri, file: &Path) -> Result<(), FetchError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key_of(uri)?)
            .send()
            .await
            .map_err(|e| fetch_error(uri, e))?;
        let io = |e| unavailable(uri, e);
        let mut out = tokio::fs::File::create(file).await.map_err(io)?;
        let mut body = output.body.into_async_read();
        tokio::io::copy_buf(&mut body, &mut out).await.map_err(io)?;
        out.flush().await.map_err(io)
    }

    /// Stores the local `file` at `uri` (in this bucket) with `content_type`, streaming it from disk: one PUT up to
    /// [`MULTIPART_THRESHOLD`], parts of [`PART_SIZE`] above it (one PUT stops at 5 GiB; a long render's join can
    /// pass that). With [`Overwrite::Never`] an existing object is kept and the write is [`UploadError::Exists`].
    pub async fn upload(
        &self,
        file: &Path,
        uri: &S3Uri,
        content_type: &str,
        overwrite: Overwrite,
    ) -> Result<(), UploadError> {
        let key = self.key_for_put(uri)?;
        let size = file_size(file, uri).await?;
        if size > MULTIPART_THRESHOLD {
            return self
                .put_in_parts(file, uri, content_type, (size, PART_SIZE), overwrite)
                .await;
        }
        let body = ByteStream::from_path(file)
            .await
            .map_err(|e| put_error(uri, e))?;
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body);
        if overwrite == Overwrite::Never {
            put = put.if_none_match("*");
        }
        put.send()
            .await
            .map_err(|e| upload_error(uri, overwrite, e))?;
        Ok(())
    }
}

impl S3Objects {
    /// Stores the local `file` at `uri` (in this bucket) as a multipart upload of `part_size` parts (at least
    /// 5 MiB, S3's smallest part but the last), each streamed from its place in the file. A failed upload is
    /// aborted, so no parts are left behind.
    pub async fn upload_in_parts(
        &self,
        file: &Path,
        uri: &S3Uri,
        content_type: &str,
        part_size: u64,
        overwrite: Overwrite,
    ) -> Result<(), UploadError> {
        self.key_for_put(uri)?;
        let size = file_size(file, uri).await?;
        self.put_in_parts(file, uri, content_type, (size, part_size), overwrite)
            .await
    }

    /// [`S3Objects::upload_in_parts`] of a `file` of `size` bytes in `part_size` parts, its destination checked.
    async fn put_in_parts(
        &self,
        file: &Path,
        uri: &S3Uri,
        content_type: &str,
        (size, part_size): (u64, u64),
        overwrite: Overwrite,
    ) -> Result<(), UploadError> {
        let upload_id = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(uri.key())
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| put_error(uri, e))?
            .upload_id
            .ok_or_else(|| put_error(uri, "CreateMultipartUpload returned no upload id"))?;
        let completed = match self
            .upload_parts(file, uri, &upload_id, size, part_size)
            .await
        {
            Ok(parts) => {
                let mut complete = self
                    .client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(uri.key())
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    );
                // The condition goes on the completion, the moment the object would appear.
                if overwrite == Overwrite::Never {
                    complete = complete.if_none_match("*");
                }
                complete
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| upload_error(uri, overwrite, e))
            }
            Err(e) => Err(e.into()),
        };
        if completed.is_err() {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(uri.key())
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::warn!(%uri, error = %e, "could not abort a failed multipart upload; the bucket's lifecycle rule removes it");
            }
        }
        completed
    }

    /// Uploads `file` (`size` bytes) as the parts of `upload_id`, in order.
    async fn upload_parts(
        &self,
        file: &Path,
        uri: &S3Uri,
        upload_id: &str,
        size: u64,
        part_size: u64,
    ) -> Result<Vec<CompletedPart>, PutError> {
        let mut parts = Vec::new();
        let mut offset = 0;
        while offset < size || parts.is_empty() {
            let length = part_size.min(size - offset);
            let body = ByteStream::read_from()
                .path(file)
                .offset(offset)
                .length(aws_sdk_s3::primitives::Length::Exact(length))
                .build()
                .await
                .map_err(|e| put_error(uri, e))?;
            let number = part_number(parts.len() as u32 + 1);
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(uri.key())
                .upload_id(upload_id)
                .part_number(number)
                .content_length(len_i64(length))
                .body(body)
                .send()
                .await
                .map_err(|e| put_error(uri, e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag)
                    .build(),
            );
            offset += length;
        }
        Ok(parts)
    }
}

impl S3Objects {
    /// The key of `uri` for a write: a URI in another bucket is refused.
    fn key_for_put<'a>(&self, uri: &'a S3Uri) -> Result<&'a str, PutError> {
        if uri.bucket() == self.bucket {
            Ok(uri.key())
        } else {
            Err(put_error(uri, "the object is in another bucket"))
        }
    }
}

/// A failed write of `uri`.
fn put_error(uri: &S3Uri, source: impl Into<Cause>) -> PutError {
    PutError {
        uri: uri.clone(),
        source: source.into(),
    }
}

/// The size of the local `file` written to `uri`.
async fn file_size(file: &Path, uri: &S3Uri) -> Result<u64, PutError> {
    Ok(tokio::fs::metadata(file)
        .await
        .map_err(|e| put_error(uri, e))?
        .len())
}

/// Files larger than this are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 256 * 1024 * 1024;
/// The part size of large uploads: 10,000 parts (S3's most) of it reach 640 GiB.
pub const PART_SIZE: u64 = 64 * 1024 * 1024;

/// A failed read of `uri` that may succeed on retry.
fn unavailable(uri: &S3Uri, error: impl std::error::Error + Send + Sync + 'static) -> FetchError {
    FetchError::Unavailable {
        uri: uri.clone(),
        source: Box::new(error),
    }
}

/// A failed GET of `uri`: not found (also when S3 answers a bare 404), or unavailable.
fn fetch_error(
    uri: &S3Uri,
    error: SdkError<GetObjectError, aws_sdk_s3::config::http::HttpResponse>,
) -> FetchError {
    let not_found = error.as_service_error().is_some_and(|s| s.is_no_such_key())
        || error
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 404);
    if not_found {
        FetchError::NotFound(uri.clone())
    } else {
        unavailable(uri, error)
    }
}

impl ObjectStore for S3Objects {
    async fn exists(&self, key: &str) -> Result<bool, ObjectStoreError> {
        Ok(self.head(key).await?.is_some())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, ObjectStoreError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(ObjectHead {
                size: out
                    .content_length()
                    .and_then(|l| u64::try_from(l).ok())
                    .unwrap_or(0),
                etag: out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
                last_modified: out.last_modified().map(|t| t.secs()),
                metadata: out
                    .metadata()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(object_error(err)),
        }
    }

    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<PresignedRequest, ObjectStoreError> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(spec.key)
            .content_type(spec.content_type);
        if let Some(len) = spec.content_length {
            put = put.content_length(len_i64(len));
        }
        for (name, value) in spec.metadata {
            put = put.metadata(*name, value);
        }
        if spec.if_none_match {
            put = put.if_none_match("*");
        }
        let signed = put
            .presigned(presigning(spec.expires_in)?)
            .await
            .map_err(object_error)?;
        Ok(presigned(signed))
    }

    async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<PresignedRequest, ObjectStoreError> {
        let get = self.client.get_object().bucket(&self.bucket).key(key);
        let signed = get
            .presigned(presigning(ttl)?)
            .await
            .map_err(object_error)?;
        Ok(presigned(signed))
    }

    async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        metadata: &[(&str, String)],
    ) -> Result<String, ObjectStoreError> {
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type);
        for (name, value) in metadata {
            create = create.metadata(*name, value);
        }
        let out = create.send().await.map_err(object_error)?;
        out.upload_id.ok_or_else(|| {
            ObjectStoreError::Unavailable("CreateMultipartUpload returned no upload id".into())
        })
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        len: u64,
        ttl: Duration,
    ) -> Result<PresignedRequest, ObjectStoreError> {
        let part = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number(number))
            .content_length(len_i64(len));
        let signed = part
            .presigned(presigning(ttl)?)
            .await
            .map_err(object_error)?;
        Ok(presigned(signed))
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, ObjectStoreError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(object_error)?;
            parts.extend(out.parts().iter().map(|p| {
                StoredPart {
                    number: p
                        .part_number()
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(0),
                    etag: p.e_tag().unwrap_or_default().to_owned(),
                    size: p.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                }
            }));
            match (out.is_truncated(), out.next_part_number_marker()) {
                (Some(true), Some(next)) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    /// Completes the upload with `If-None-Match: *`, so it never overwrites an existing object where S3 supports
    /// conditional writes.
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), ObjectStoreError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(n, etag)| {
                        CompletedPart::builder()
                            .part_number(part_number(*n))
                            .e_tag(etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .if_none_match("*")
            .send()
            .await
            .map_err(object_error)?;
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), ObjectStoreError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(object_error)?;
        Ok(())
    }
}
