//! Where media lives: `s3://bucket/key` objects (through `aws-sdk-s3`, so moto or real S3) and local files.

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use tokio::io::AsyncWriteExt;

/// A media location: an S3 object or a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket/key`.
    S3 {
        /// The bucket name.
        bucket: String,
        /// The object key.
        key: String,
    },
    /// A local file path (`file://` URLs and plain paths).
    Local(PathBuf),
}

/// A storage operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URI is not `s3://bucket/key`, `file://path` or a path.
    #[error("invalid location [{0}]: expected s3://bucket/key or a local path")]
    InvalidUri(String),
    /// The object or file does not exist.
    #[error("[{0}] does not exist")]
    NotFound(String),
    /// An `s3://` location was used but the engine has no S3 client.
    #[error("[{0}] is in S3 but the engine has no S3 client")]
    NoS3Client(String),
    /// S3 answered with an error.
    #[error("S3 request for [{uri}] failed: {message}")]
    S3 {
        /// The location.
        uri: String,
        /// The SDK's error, with its service message.
        message: String,
    },
    /// A local file operation failed.
    #[error("file operation on [{uri}] failed: {source}")]
    Io {
        /// The location.
        uri: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Location {
    /// Parses `s3://bucket/key`, `file:///path` or a plain local path.
    pub fn parse(uri: &str) -> Result<Self, StorageError> {
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, key) = rest
                .split_once('/')
                .ok_or_else(|| StorageError::InvalidUri(uri.into()))?;
            if bucket.is_empty() {
                return Err(StorageError::InvalidUri(uri.into()));
            }
            return Ok(Self::S3 {
                bucket: bucket.into(),
                key: key.into(),
            });
        }
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        if path.is_empty() || uri.contains("://") && !uri.starts_with("file://") {
            return Err(StorageError::InvalidUri(uri.into()));
        }
        Ok(Self::Local(PathBuf::from(path)))
    }

    /// The location written back as a URI (`s3://bucket/key` or the path).
    pub fn uri(&self) -> String {
        match self {
            Self::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
            Self::Local(path) => path.display().to_string(),
        }
    }
}

/// Size and identity of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// The S3 ETag (without quotes), if any.
    pub etag: Option<String>,
    /// Last modification, in seconds since the Unix epoch.
    pub last_modified: Option<i64>,
}

/// Reads and writes media at [`Location`]s.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    s3: Option<aws_sdk_s3::Client>,
}

fn s3_error<E: std::error::Error>(uri: &str, error: E) -> StorageError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message = format!("{message}: {inner}");
        source = inner.source();
    }
    StorageError::S3 {
        uri: uri.into(),
        message,
    }
}

impl Storage {
    /// Storage for local files only.
    pub fn local() -> Self {
        Self { s3: None }
    }

    /// Storage for local files and S3 objects through `client`.
    pub fn with_s3(client: aws_sdk_s3::Client) -> Self {
        Self { s3: Some(client) }
    }

    fn client(&self, uri: &str) -> Result<&aws_sdk_s3::Client, StorageError> {
        self.s3
            .as_ref()
            .ok_or_else(|| StorageError::NoS3Client(uri.into()))
    }

    /// Size and identity of the object or file, or [`StorageError::NotFound`].
    pub async fn head(&self, location: &Location) -> Result<ObjectInfo, StorageError> {
        let uri = location.uri();
        match location {
            Location::Local(path) => {
                let meta = tokio::fs::metadata(path)
                    .await
                    .map_err(|_| StorageError::NotFound(uri.clone()))?;
                if !meta.is_file() {
                    return Err(StorageError::NotFound(uri));
                }
                let last_modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64);
                Ok(ObjectInfo {
                    size: meta.len(),
                    etag: None,
                    last_modified,
                })
            }
            Location::S3 { bucket, key } => {
                let head = self
                    .client(&uri)?
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await;
                match head {
                    Ok(out) => Ok(ObjectInfo {
                        size: out.content_length().unwrap_or(0).max(0) as u64,
                        etag: out.e_tag().map(|e| e.trim_matches('"').to_string()),
                        last_modified: out.last_modified().map(|t| t.secs()),
                    }),
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                        Err(StorageError::NotFound(uri))
                    }
                    Err(e) => Err(s3_error(&uri, e)),
                }
            }
        }
    }

    /// A local file holding the media: the file itself for local paths, a download into `work_dir` for S3.
    pub async fn fetch(
        &self,
        location: &Location,
        work_dir: &Path,
    ) -> Result<PathBuf, StorageError> {
        let uri = location.uri();
        match location {
            Location::Local(path) => {
                self.head(location).await?;
                Ok(path.clone())
            }
            Location::S3 { bucket, key } => {
                let response = self
                    .client(&uri)?
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await;
                let object = match response {
                    Ok(object) => object,
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                        return Err(StorageError::NotFound(uri));
                    }
                    Err(e) => return Err(s3_error(&uri, e)),
                };
                let name = key
                    .rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("object");
                let local = work_dir.join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
                let io = |source| StorageError::Io {
                    uri: uri.clone(),
                    source,
                };
                let mut file = tokio::fs::File::create(&local).await.map_err(io)?;
                let mut body = object.body.into_async_read();
                tokio::io::copy_buf(&mut body, &mut file)
                    .await
                    .map_err(io)?;
                file.flush().await.map_err(io)?;
                Ok(local)
            }
        }
    }

    /// Stores the finished local file `file` at `location`. Local destinations are written to a temporary name in
    /// the destination folder and renamed, so a reader never sees a partial file.
    pub async fn store(&self, file: &Path, location: &Location) -> Result<(), StorageError> {
        let uri = location.uri();
        let io = |source| StorageError::Io {
            uri: uri.clone(),
            source,
        };
        match location {
            Location::Local(path) => {
                let folder = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                tokio::fs::create_dir_all(folder).await.map_err(io)?;
                let partial = folder.join(format!(".{}.partial", uuid::Uuid::new_v4().simple()));
                tokio::fs::copy(file, &partial).await.map_err(io)?;
                tokio::fs::rename(&partial, path).await.map_err(io)
            }
            Location::S3 { bucket, key } => {
                let body = ByteStream::from_path(file)
                    .await
                    .map_err(|e| s3_error(&uri, e))?;
                self.client(&uri)?
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body)
                    .content_type(content_type(key))
                    .send()
                    .await
                    .map_err(|e| s3_error(&uri, e))?;
                Ok(())
            }
        }
    }
}

/// The MIME type for an output file name, by extension.
pub fn content_type(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "mp4" => "video/mp4",
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" | "m2ts" => "video/mp2t",
        "m4s" | "cmfv" | "cmfa" | "mp4a" => "video/iso.segment",
        "mpd" => "application/dash+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_local_and_file_uris() {
        assert_eq!(
            Location::parse("s3://b/a/k.mp4").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                key: "a/k.mp4".into()
            }
        );
        assert_eq!(
            Location::parse("/tmp/x.mp4").unwrap(),
            Location::Local("/tmp/x.mp4".into())
        );
        assert_eq!(
            Location::parse("file:///tmp/x.mp4").unwrap(),
            Location::Local("/tmp/x.mp4".into())
        );
        assert!(matches!(
            Location::parse("s3://bucket-only"),
            Err(StorageError::InvalidUri(_))
        ));
        assert!(matches!(
            Location::parse("https://host/x.mp4"),
            Err(StorageError::InvalidUri(_))
        ));
    }
}
