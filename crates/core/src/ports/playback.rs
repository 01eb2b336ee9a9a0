//! [`PlaybackStore`]: the playback packages' records and their forward-only statuses; [`PackageFiles`]: the
//! package's files the storyboard step reads and writes.

use std::future::Future;

use super::StoreError;
use crate::playback::{PlaybackPackage, PlaybackUpdate};
use crate::render::ports::{FetchError, PutError};
use crate::s3uri::S3Uri;

/// What became of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackAdvance {
    /// The package moved forward; it is now this.
    Applied(PlaybackPackage),
    /// The forward-only rule refused it (repeated, out of order, after a terminal status); the package as it is.
    Stale(PlaybackPackage),
    /// No package of that asset.
    Unknown,
}

/// The playback packages, one per asset.
pub trait PlaybackStore: Send + Sync {
    /// Records `package` (as `queued`) unless its asset has one already; `true` when this call created it, so a
    /// repeated upload event or COMPLETE submits nothing twice.
    fn put_queued(
        &self,
        package: &PlaybackPackage,
        expires_at: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records `package` (as `queued`, made from a later source) in place of the asset's package made from the
    /// source whose ETag is `replaced` (`None`: a package that kept none); `false` when the stored package is not
    /// that one any more (another handler replaced it first), so one later source submits one job.
    fn replace_queued(
        &self,
        package: &PlaybackPackage,
        expires_at: u64,
        replaced: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records the job submitted for the package made from the source whose ETag is `source_etag` (nothing when the
    /// package was made again from another source since, or deleted).
    fn record_job(
        &self,
        asset: &str,
        source_etag: &str,
        job_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads one package by its asset's wire form.
    fn get(
        &self,
        asset: &str,
    ) -> impl Future<Output = Result<Option<PlaybackPackage>, StoreError>> + Send;
    /// Applies `update` if the package's status is one of [`crate::playback::statuses_before`] the new one and the
    /// package is made from the update's source ([`PlaybackPackage::is_made_from`]).
    fn advance(
        &self,
        asset: &str,
        update: &PlaybackUpdate,
    ) -> impl Future<Output = Result<PlaybackAdvance, StoreError>> + Send;
    /// Deletes the package's record (nothing when there is none).
    fn delete(&self, asset: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A package's files, by URI: the storyboard step reads the job's thumbnails and writes the sprites and the WebVTT.
pub trait PackageFiles: Send + Sync {
    /// The bytes of the object at `uri`, refusing objects over `limit` bytes.
    fn read(
        &self,
        uri: &S3Uri,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
    /// Stores `bytes` at `uri` with `content_type`.
    fn write(
        &self,
        uri: &S3Uri,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), PutError>> + Send;
}
