//! S3: presigned uploads and downloads, existence checks and multipart uploads on one bucket.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::collections::BTreeMap;
use std::time::Duration;

/// An S3 failure, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// A conditional write found the object already there (`If-None-Match: *`).
    #[error("the object already exists")]
    AlreadyExists,
    /// The multipart upload is unknown (completed, aborted or never created).
    #[error("no such multipart upload")]
    NoSuchUpload,
    /// The client's part list does not match what S3 holds.
    #[error("invalid part list: {0}")]
    InvalidParts(String),
    /// Anything else: a service or network failure.
    #[error("S3 request failed: {0}")]
    Service(String),
}

impl<E, R> From<aws_sdk_s3::error::SdkError<E, R>> for S3Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    fn from(err: aws_sdk_s3::error::SdkError<E, R>) -> Self {
        match err.code() {
            Some("PreconditionFailed") => Self::AlreadyExists,
            Some("NoSuchUpload") => Self::NoSuchUpload,
            Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall") => {
                Self::InvalidParts(err.message().unwrap_or("rejected by S3").to_owned())
            }
            _ => Self::Service(crate::error_message(&err)),
        }
    }
}

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

/// A request the client performs itself: method, URL, and the headers it must send exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedHttp {
    /// HTTP method.
    pub method: String,
    /// The signed URL.
    pub url: String,
    /// Headers covered by the signature (Host excluded): send them exactly.
    pub headers: BTreeMap<String, String>,
}

impl From<PresignedRequest> for PresignedHttp {
    fn from(p: PresignedRequest) -> Self {
        Self {
            method: p.method().to_owned(),
            url: p.uri().to_owned(),
            headers: p
                .headers()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                .collect(),
        }
    }
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
    /// Sign `If-None-Match: *`, so S3 refuses to overwrite an existing object.
    pub if_none_match: bool,
    /// URL lifetime.
    pub expires_in: Duration,
}

/// What a HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    /// Size in bytes.
    pub size: u64,
    /// The ETag, without quotes.
    pub etag: String,
    /// User metadata (`x-amz-meta-*`), names in lowercase without the prefix (for example `started-at`).
    pub metadata: BTreeMap<String, String>,
}

/// One part S3 holds for a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    /// Part number, from 1.
    pub number: u32,
    /// The part's ETag.
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The objects of one bucket.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: Client,
    bucket: String,
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig, S3Error> {
    PresigningConfig::expires_in(expires_in).map_err(|e| S3Error::Service(e.to_string()))
}

fn len_i64(len: u64) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
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

    /// Whether `key` exists (HEAD).
    pub async fn exists(&self, key: &str) -> Result<bool, S3Error> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Size, ETag and user metadata of `key` (HEAD), or `None` if it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectHead>, S3Error> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectHead {
                size: out
                    .content_length()
                    .and_then(|l| u64::try_from(l).ok())
                    .unwrap_or(0),
                etag: out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
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
            Err(err) => Err(err.into()),
        }
    }

    /// Presigns a single PUT.
    pub async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<PresignedHttp, S3Error> {
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
        Ok(put.presigned(presigning(spec.expires_in)?).await?.into())
    }

    /// Presigns a GET.
    pub async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedHttp, S3Error> {
        let get = self.client.get_object().bucket(&self.bucket).key(key);
        Ok(get.presigned(presigning(expires_in)?).await?.into())
    }

    /// Starts a multipart upload and returns its id.
    pub async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        metadata: &[(&str, String)],
    ) -> Result<String, S3Error> {
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type);
        for (name, value) in metadata {
            create = create.metadata(*name, value);
        }
        let out = create.send().await?;
        out.upload_id
            .ok_or_else(|| S3Error::Service("CreateMultipartUpload returned no upload id".into()))
    }

    /// Presigns the upload of part `number` of exactly `len` bytes.
    pub async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        len: u64,
        expires_in: Duration,
    ) -> Result<PresignedHttp, S3Error> {
        let part = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(i32::try_from(number).unwrap_or(i32::MAX))
            .content_length(len_i64(len));
        Ok(part.presigned(presigning(expires_in)?).await?.into())
    }

    /// The parts S3 holds for an upload, in order.
    pub async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, S3Error> {
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
                .await?;
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

    /// Completes an upload from `(number, etag)` pairs, refusing to overwrite an existing object where S3 supports
    /// conditional writes.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), S3Error> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(n, etag)| {
                        CompletedPart::builder()
                            .part_number(i32::try_from(*n).unwrap_or(i32::MAX))
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
            .await?;
        Ok(())
    }

    /// Aborts an upload; S3 drops its parts.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), S3Error> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await?;
        Ok(())
    }
}
