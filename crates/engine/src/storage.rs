//! Where media lives: `s3://bucket/key` objects (through `vidpipe-aws`'s [`S3Objects`], so moto or real S3) and
//! local files, and a local folder that stands for a bucket ([`FolderBucket`]).

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

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

/// A local folder that stands for a bucket: `s3://{bucket}/{key}` is the file `{root}/{key}`. The render flow's
/// steps name everything with `s3://` URIs (they are checked, stored and passed between states as such), so
/// `vidpipe render` runs a request of local files by naming them in such a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderBucket {
    bucket: String,
    root: PathBuf,
}

impl FolderBucket {
    /// The bucket `bucket` kept in the folder `root`.
    pub fn new(bucket: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        Self {
            bucket: bucket.into(),
            root: root.into(),
        }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The URI of the file at `path`, which must be inside the folder and make a valid key.
    pub fn uri(&self, path: &Path) -> Result<S3Uri, StorageError> {
        let invalid = |source| StorageError::InvalidUri {
            uri: path.display().to_string(),
            source,
        };
        let key = path.strip_prefix(&self.root).map_err(|_| invalid(None))?;
        let key = key.to_str().ok_or_else(|| invalid(None))?;
        S3Uri::new(&self.bucket, key).map_err(|e| invalid(Some(e)))
    }

    /// The file of `uri`, when it is in this bucket (and its key stays inside the folder).
    pub fn path(&self, uri: &S3Uri) -> Option<PathBuf> {
        let key = Path::new(uri.key());
        let inside = key.components().all(|c| matches!(c, Component::Normal(_)));
        (uri.bucket() == self.bucket && inside).then(|| self.root.join(key))
    }

    /// The file of `uri`, or why it has none (as the stored documents' reads report it).
    fn document(&self, uri: &S3Uri) -> Result<PathBuf, FetchError> {
        self.path(uri)
            .ok_or_else(|| FetchError::NotFound(uri.clone()))
    }
}

impl vidpipe_core::render::ports::RequestReader for FolderBucket {
    async fn fetch(&self, uri: &S3Uri, limit: u64) -> Result<Vec<u8>, FetchError> {
        let path = self.document(uri)?;
        let size = tokio::fs::metadata(&path)
            .await
            .map_err(|e| document_error(uri, e))?
            .len();
        if size > limit {
            return Err(FetchError::TooLarge {
                uri: uri.clone(),
                size,
                limit,
            });
        }
        tokio::fs::read(&path)
            .await
            .map_err(|e| document_error(uri, e))
    }
}

impl vidpipe_core::render::ports::HeaderReader for FolderBucket {
    async fn fetch_header(&self, uri: &S3Uri, len: u64) -> Result<Vec<u8>, FetchError> {
        use tokio::io::AsyncReadExt;
        let file = tokio::fs::File::open(self.document(uri)?)
            .await
            .map_err(|e| document_error(uri, e))?;
        let mut header = Vec::new();
        file.take(len)
            .read_to_end(&mut header)
            .await
            .map_err(|e| document_error(uri, e))?;
        Ok(header)
    }
}

impl vidpipe_core::render::ports::RequestWriter for FolderBucket {
    async fn put(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        let failed = |e: std::io::Error| PutError {
            uri: uri.clone(),
            source: Box::new(e),
        };
        let path = self.path(uri).ok_or_else(|| {
            failed(std::io::Error::other(format!(
                "{uri} is not in the folder of s3://{}",
                self.bucket
            )))
        })?;
        if let Some(folder) = path.parent() {
            tokio::fs::create_dir_all(folder).await.map_err(failed)?;
        }
        tokio::fs::write(&path, json).await.map_err(failed)
    }
}

/// A document read that failed: a missing file is [`FetchError::NotFound`], anything else unavailable.
fn document_error(uri: &S3Uri, error: std::io::Error) -> FetchError {
    if error.kind() == std::io::ErrorKind::NotFound {
        FetchError::NotFound(uri.clone())
    } else {
        FetchError::Unavailable {
            uri: uri.clone(),
            source: Box::new(error),
        }
    }
}

/// Reads and writes media at [`Location`]s.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    s3: Option<aws_sdk_s3::Client>,
    /// Shared: the engine is cloned per job, and a storage's size is part of every function's backend type.
    folder: Option<std::sync::Arc<FolderBucket>>,
}

impl Storage {
    /// Storage for local files only.
    pub fn local() -> Self {
        Self::default()
    }

    /// Storage for local files and S3 objects through `client` (see `vidpipe_aws::s3::client`).
    pub fn with_s3(client: aws_sdk_s3::Client) -> Self {
        Self {
            s3: Some(client),
            folder: None,
        }
    }

    /// This storage, with the objects of `folder`'s bucket kept as the files of its folder.
    pub fn with_folder_bucket(self, folder: FolderBucket) -> Self {
        Self {
            folder: Some(std::sync::Arc::new(folder)),
            ..self
        }
    }

    /// Where `location` really is: a file of the folder bucket, or itself.
    fn resolve<'a>(&self, location: &'a Location) -> Cow<'a, Location> {
        match (location, &self.folder) {
            (Location::S3(uri), Some(folder)) => {
                folder.path(uri).map_or(Cow::Borrowed(location), |path| {
                    Cow::Owned(Location::Local(path))
                })
            }
            _ => Cow::Borrowed(location),
        }
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
        let location = &*self.resolve(location);
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
        let location = &*self.resolve(location);
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
        let location = &*self.resolve(location);
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

    #[tokio::test]
    async fn a_folder_bucket_keeps_its_objects_as_the_files_of_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = FolderBucket::new("local-files", dir.path());
        let uri = folder.uri(&dir.path().join("out/video.mp4")).unwrap();
        assert_eq!(uri.to_string(), "s3://local-files/out/video.mp4");
        assert_eq!(folder.path(&uri), Some(dir.path().join("out/video.mp4")));
        assert!(folder.uri(Path::new("/elsewhere/video.mp4")).is_err());
        let escaping = S3Uri::new("local-files", "out/../../etc/passwd").unwrap();
        assert_eq!(
            folder.path(&escaping),
            None,
            "a key never leaves the folder"
        );
        let other = S3Uri::new("another", "out/video.mp4").unwrap();
        assert_eq!(folder.path(&other), None);

        let storage = Storage::local().with_folder_bucket(folder.clone());
        let file = dir.path().join("made.mp4");
        std::fs::write(&file, b"frames").unwrap();
        let location = Location::S3(uri.clone());
        storage.store_new(&file, &location).await.unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("out/video.mp4")).unwrap(),
            b"frames"
        );
        assert_eq!(storage.head(&location).await.unwrap().size, 6);
        assert!(matches!(
            storage.store_new(&file, &location).await,
            Err(StorageError::Exists(_))
        ));
        assert!(matches!(
            storage.head(&Location::S3(other)).await,
            Err(StorageError::NoS3Client(_))
        ));

        use vidpipe_core::render::ports::{HeaderReader, RequestReader, RequestWriter};
        let request = folder
            .uri(&dir.path().join("out/work/r/request.json"))
            .unwrap();
        folder.put(&request, b"{\"a\":1}".to_vec()).await.unwrap();
        assert_eq!(folder.fetch(&request, 100).await.unwrap(), b"{\"a\":1}");
        assert_eq!(folder.fetch_header(&request, 2).await.unwrap(), b"{\"");
        assert!(matches!(
            folder.fetch(&request, 3).await,
            Err(FetchError::TooLarge { size: 7, .. })
        ));
        let missing = folder.uri(&dir.path().join("none.json")).unwrap();
        assert!(matches!(
            folder.fetch(&missing, 100).await,
            Err(FetchError::NotFound(_))
        ));
    }
}
