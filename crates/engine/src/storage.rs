//! Where media lives: `s3://bucket/key` objects (through `vidpipe-aws`'s [`S3Objects`], so moto or real S3) and
//! local files.

use std::path::{Path, PathBuf};

use vidpipe_aws::s3::{Overwrite, S3Objects, UploadError};
use vidpipe_core::error::{Cause, Chain};
use vidpipe_core::ports::{ObjectStore, ObjectStoreError};
use vidpipe_core::render::ports::{FetchError, PutError};
use vidpipe_core::s3uri::{S3Uri, S3UriError};

/// A media location: an S3 object or a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket/key`.
    S3(S3Uri),
    /// A local file path (`file://` URLs and plain paths).
    Local(PathBuf),
}

/// A storage operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URI is not `s3://bucket/key`, `file://path` or a path.
    #[error("invalid location [{uri}]: expected s3://bucket/key or a local path")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// Why an `s3://` URI is not one.
        #[source]
        source: Option<S3UriError>,
    },
    /// The object or file does not exist.
    #[error("[{0}] does not exist")]
    NotFound(String),
    /// A write that never overwrites found something at its location, and left it as it was.
    #[error("[{0}] exists already and is never overwritten")]
    Exists(String),
    /// An `s3://` location was used but the engine has no S3 client.
    #[error("[{0}] is in S3 but the engine has no S3 client")]
    NoS3Client(String),
    /// S3 answered with an error. The message spells out the SDK's chain (its own message says only "service
    /// error"), because it becomes the job's error message.
    #[error("S3 request for [{uri}] failed: {}", Chain(.source.as_ref()))]
    S3 {
        /// The location.
        uri: String,
        /// The SDK's error.
        #[source]
        source: Cause,
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

impl StorageError {
    fn s3(uri: &S3Uri, source: Cause) -> Self {
        Self::S3 {
            uri: uri.to_string(),
            source,
        }
    }

    fn fetch(error: FetchError) -> Self {
        match error {
            FetchError::NotFound(uri) => Self::NotFound(uri.to_string()),
            FetchError::Unavailable { uri, source } => Self::s3(&uri, source),
            // Only a caller's limit makes this, and downloads set none.
            FetchError::TooLarge { uri, size, limit } => {
                Self::s3(&uri, format!("{size} bytes, over {limit}").into())
            }
        }
    }

    fn put(error: PutError) -> Self {
        Self::s3(&error.uri, error.source)
    }

    fn upload(error: UploadError) -> Self {
        match error {
            UploadError::Exists(uri) => Self::Exists(uri.to_string()),
            UploadError::Put(error) => Self::put(error),
        }
    }
}

impl Location {
    /// Parses `s3://bucket/key` (as [`S3Uri`] does), `file:///path` or a plain local path.
    pub fn parse(uri: &str) -> Result<Self, StorageError> {
        let invalid = |source| StorageError::InvalidUri {
            uri: uri.into(),
            source,
        };
        if uri.starts_with("s3://") {
            return uri.parse().map(Self::S3).map_err(|e| invalid(Some(e)));
        }
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        if path.is_empty() || uri.contains("://") && !uri.starts_with("file://") {
            return Err(invalid(None));
        }
        Ok(Self::Local(PathBuf::from(path)))
    }

    /// The location written back as a URI (`s3://bucket/key` or the path).
    pub fn uri(&self) -> String {
        match self {
            Self::S3(uri) => uri.to_string(),
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

impl Storage {
    /// Storage for local files only.
    pub fn local() -> Self {
        Self { s3: None }
    }

    /// Storage for local files and S3 objects through `client` (see `vidpipe_aws::s3::client`).
    pub fn with_s3(client: aws_sdk_s3::Client) -> Self {
        Self { s3: Some(client) }
    }

    /// The objects of `uri`'s bucket.
    fn objects(&self, uri: &S3Uri) -> Result<S3Objects, StorageError> {
        self.s3
            .as_ref()
            .map(|client| S3Objects::new(client.clone(), uri.bucket()))
            .ok_or_else(|| StorageError::NoS3Client(uri.to_string()))
    }

    /// Size and identity of the object or file, or [`StorageError::NotFound`].
    pub async fn head(&self, location: &Location) -> Result<ObjectInfo, StorageError> {
        match location {
            Location::Local(path) => {
                let not_found = || StorageError::NotFound(location.uri());
                let meta = tokio::fs::metadata(path).await.map_err(|_| not_found())?;
                if !meta.is_file() {
                    return Err(not_found());
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
            Location::S3(uri) => match self.objects(uri)?.head(uri.key()).await {
                Ok(Some(head)) => Ok(ObjectInfo {
                    size: head.size,
                    etag: Some(head.etag).filter(|e| !e.is_empty()),
                    last_modified: head.last_modified,
                }),
                Ok(None) => Err(StorageError::NotFound(uri.to_string())),
                Err(ObjectStoreError::Unavailable(source)) => Err(StorageError::s3(uri, source)),
                Err(other) => Err(StorageError::s3(uri, Box::new(other))),
            },
        }
    }

    /// A local file holding the media: the file itself for local paths, a download into `work_dir` for S3.
    pub async fn fetch(
        &self,
        location: &Location,
        work_dir: &Path,
    ) -> Result<PathBuf, StorageError> {
        match location {
            Location::Local(path) => {
                self.head(location).await?;
                Ok(path.clone())
            }
            Location::S3(uri) => {
                let name = uri
                    .key()
                    .rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("object");
                let local = work_dir.join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
                self.objects(uri)?
                    .download(uri, &local)
                    .await
                    .map_err(StorageError::fetch)?;
                Ok(local)
            }
        }
    }

    /// Stores the finished local file `file` at `location`. Local destinations are written to a temporary name in
    /// the destination folder and renamed, so a reader never sees a partial file.
    pub async fn store(&self, file: &Path, location: &Location) -> Result<(), StorageError> {
        self.write(file, location, Overwrite::Allowed).await
    }

    /// [`Storage::store`], but never over an existing object or file: that is [`StorageError::Exists`], and what is
    /// there stays (S3's conditional write; locally a hard link, which fails on an existing name).
    pub async fn store_new(&self, file: &Path, location: &Location) -> Result<(), StorageError> {
        self.write(file, location, Overwrite::Never).await
    }

    async fn write(
        &self,
        file: &Path,
        location: &Location,
        overwrite: Overwrite,
    ) -> Result<(), StorageError> {
        match location {
            Location::Local(path) => {
                let io = |source| StorageError::Io {
                    uri: location.uri(),
                    source,
                };
                let folder = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                tokio::fs::create_dir_all(folder).await.map_err(io)?;
                let partial = folder.join(format!(".{}.partial", uuid::Uuid::new_v4().simple()));
                tokio::fs::copy(file, &partial).await.map_err(io)?;
                if overwrite == Overwrite::Allowed {
                    return tokio::fs::rename(&partial, path).await.map_err(io);
                }
                let linked = tokio::fs::hard_link(&partial, path).await;
                tokio::fs::remove_file(&partial).await.map_err(io)?;
                match linked {
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Err(StorageError::Exists(location.uri()))
                    }
                    other => other.map_err(io),
                }
            }
            Location::S3(uri) => self
                .objects(uri)?
                .upload(file, uri, content_type(uri.key()), overwrite)
                .await
                .map_err(StorageError::upload),
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
            Location::parse("s3://bkt/a/k.mp4").unwrap(),
            Location::S3("s3://bkt/a/k.mp4".parse().unwrap())
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
            Err(StorageError::InvalidUri {
                source: Some(_),
                ..
            })
        ));
        assert!(matches!(
            Location::parse("https://host/x.mp4"),
            Err(StorageError::InvalidUri { source: None, .. })
        ));
    }
}
