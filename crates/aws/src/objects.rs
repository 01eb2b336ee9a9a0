//! Reading whole S3 objects by URI (small documents such as render requests), or their first bytes (file headers).

use aws_sdk_s3 as s3;
use vidpipe_core::s3uri::S3Uri;

/// Errors reading an object.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object (or its bucket) does not exist.
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
    /// Any other S3 failure.
    #[error("reading {uri} failed: {message}")]
    S3 {
        /// The object.
        uri: S3Uri,
        /// Why.
        message: String,
    },
}

/// The bytes of the object at `uri`, refusing objects over `limit` bytes.
pub async fn get_object_bytes(
    client: &s3::Client,
    uri: &S3Uri,
    limit: u64,
) -> Result<Vec<u8>, ObjectError> {
    let output = client
        .get_object()
        .bucket(uri.bucket())
        .key(uri.key())
        .send()
        .await
        .map_err(|e| get_error(uri, e))?;
    let size = output
        .content_length()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    if size > limit {
        return Err(ObjectError::TooLarge {
            uri: uri.clone(),
            size,
            limit,
        });
    }
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| ObjectError::S3 {
            uri: uri.clone(),
            message: e.to_string(),
        })?
        .into_bytes();
    if bytes.len() as u64 > limit {
        return Err(ObjectError::TooLarge {
            uri: uri.clone(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes.to_vec())
}

/// The first `len` bytes of the object at `uri` (all of it when it is shorter), with one ranged GET.
pub async fn get_object_prefix(
    client: &s3::Client,
    uri: &S3Uri,
    len: u64,
) -> Result<Vec<u8>, ObjectError> {
    let output = client
        .get_object()
        .bucket(uri.bucket())
        .key(uri.key())
        .range(format!("bytes=0-{}", len.max(1) - 1))
        .send()
        .await
        .map_err(|e| get_error(uri, e))?;
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| ObjectError::S3 {
            uri: uri.clone(),
            message: e.to_string(),
        })?
        .into_bytes();
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(bytes.len());
    Ok(bytes[..len].to_vec())
}

fn get_error(
    uri: &S3Uri,
    error: s3::error::SdkError<
        s3::operation::get_object::GetObjectError,
        s3::config::http::HttpResponse,
    >,
) -> ObjectError {
    let not_found = error.as_service_error().is_some_and(|s| s.is_no_such_key())
        || error
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 404);
    if not_found {
        ObjectError::NotFound(uri.clone())
    } else {
        ObjectError::S3 {
            uri: uri.clone(),
            message: s3::error::DisplayErrorContext(error).to_string(),
        }
    }
}
