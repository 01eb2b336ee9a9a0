//! The render flow's stored documents on S3: the request and its probe results, read and written by URI, and the
//! first bytes of source files ([`vidpipe_core::render::ports`]), and playback packages' files
//! ([`PackageFiles`]), through [`S3Objects`].

use aws_sdk_s3::Client;
use vidpipe_core::ports::PackageFiles;
use vidpipe_core::render::ports::{
    FetchError, FolderRemover, HeaderReader, PutError, RequestReader, RequestWriter,
};
use vidpipe_core::s3uri::S3Uri;

use crate::s3::S3Objects;

/// Render requests, their probe results and source headers in S3, in whichever bucket their URIs name.
#[derive(Debug, Clone)]
pub struct S3RequestStore(pub Client);

impl S3RequestStore {
    /// The bucket `uri` is in.
    fn objects(&self, uri: &S3Uri) -> S3Objects {
        S3Objects::new(self.0.clone(), uri.bucket())
    }

    /// How many objects are under the folder `folder` (its key ends in `/`).
    pub async fn count_folder(&self, folder: &S3Uri) -> Result<usize, FetchError> {
        self.objects(folder).count_folder(folder).await
    }
}

impl RequestReader for S3RequestStore {
    async fn fetch(&self, uri: &S3Uri, limit: u64) -> Result<Vec<u8>, FetchError> {
        self.objects(uri).get_bytes(uri, limit).await
    }
}

impl HeaderReader for S3RequestStore {
    async fn fetch_header(&self, uri: &S3Uri, len: u64) -> Result<Vec<u8>, FetchError> {
        self.objects(uri).get_prefix(uri, len).await
    }
}

impl RequestWriter for S3RequestStore {
    async fn put(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        self.objects(uri).put_json(uri, json).await
    }
}

impl FolderRemover for S3RequestStore {
    async fn remove_folder(&self, folder: &S3Uri) -> Result<(), PutError> {
        self.objects(folder).remove_folder(folder).await
    }
}

impl PackageFiles for S3RequestStore {
    async fn read(&self, uri: &S3Uri, limit: u64) -> Result<Vec<u8>, FetchError> {
        self.objects(uri).get_bytes(uri, limit).await
    }

    async fn write(&self, uri: &S3Uri, bytes: Vec<u8>, content_type: &str) -> Result<(), PutError> {
        self.objects(uri).put_bytes(uri, bytes, content_type).await
    }
}
