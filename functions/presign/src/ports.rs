//! What the HTTP API needs from storage: one small trait per store, implemented by the AWS adapters and, in
//! handler tests, by in-memory fakes.

use std::future::Future;
use std::time::Duration;
use vidpipe_aws::recordings::{Page, RecordingTable, StoreError};
use vidpipe_aws::s3::{PresignedHttp, PutSpec, S3Error, S3Objects, StoredPart};
use vidpipe_aws::streams::{StatusTable, StreamRecord};
use vidpipe_core::recording::{Recording, RecordingStatus};

/// Objects in the bucket.
pub trait Objects: Send + Sync {
    /// Whether `key` exists.
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, S3Error>> + Send;
    /// Presigns a single PUT.
    fn presign_put(
        &self,
        spec: &PutSpec<'_>,
    ) -> impl Future<Output = Result<PresignedHttp, S3Error>> + Send;
    /// Presigns a GET.
    fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<PresignedHttp, S3Error>> + Send;
    /// Starts a multipart upload.
    fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        metadata: &[(&str, String)],
    ) -> impl Future<Output = Result<String, S3Error>> + Send;
    /// Presigns one part.
    fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        len: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<PresignedHttp, S3Error>> + Send;
    /// The parts uploaded so far.
    fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredPart>, S3Error>> + Send;
    /// Completes a multipart upload.
    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> impl Future<Output = Result<(), S3Error>> + Send;
    /// Aborts a multipart upload.
    fn abort_multipart(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), S3Error>> + Send;
}

/// The recordings table.
pub trait Recordings: Send + Sync {
    /// Writes a new recording.
    fn put_new(&self, r: &Recording) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads one recording.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Recording>, StoreError>> + Send;
    /// Moves a recording's status forward.
    fn set_status(
        &self,
        id: &str,
        from: RecordingStatus,
        to: RecordingStatus,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Lists an owner's recordings, newest first.
    fn list_by_owner(
        &self,
        owner: &str,
        room_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;
}

/// Stream items (screen + camera sessions).
pub trait Streams: Send + Sync {
    /// Reads a stream.
    fn get_stream(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Option<StreamRecord>, StoreError>> + Send;
    /// Records `owner` on the stream if it has none; a conflict if someone else owns it.
    fn claim_stream(
        &self,
        stream: &str,
        owner: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl Streams for StatusTable {
    fn get_stream(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Option<StreamRecord>, StoreError>> + Send {
        StatusTable::get_stream(self, stream)
    }
    fn claim_stream(
        &self,
        stream: &str,
        owner: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        StatusTable::claim_stream(self, stream, owner, expires_at)
    }
}

impl Objects for S3Objects {
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, S3Error>> + Send {
        S3Objects::exists(self, key)
    }
    fn presign_put(
        &self,
        spec: &PutSpec<'_>,
    ) -> impl Future<Output = Result<PresignedHttp, S3Error>> + Send {
        S3Objects::presign_put(self, spec)
    }
    fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<PresignedHttp, S3Error>> + Send {
        S3Objects::presign_get(self, key, ttl)
    }
    fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        metadata: &[(&str, String)],
    ) -> impl Future<Output = Result<String, S3Error>> + Send {
        S3Objects::create_multipart(self, key, content_type, metadata)
    }
    fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        len: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<PresignedHttp, S3Error>> + Send {
        S3Objects::presign_part(self, key, upload_id, number, len, ttl)
    }
    fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredPart>, S3Error>> + Send {
        S3Objects::list_parts(self, key, upload_id)
    }
    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> impl Future<Output = Result<(), S3Error>> + Send {
        S3Objects::complete_multipart(self, key, upload_id, parts)
    }
    fn abort_multipart(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), S3Error>> + Send {
        S3Objects::abort_multipart(self, key, upload_id)
    }
}

impl Recordings for RecordingTable {
    fn put_new(&self, r: &Recording) -> impl Future<Output = Result<(), StoreError>> + Send {
        RecordingTable::put_new(self, r)
    }
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Recording>, StoreError>> + Send {
        RecordingTable::get(self, id)
    }
    fn set_status(
        &self,
        id: &str,
        from: RecordingStatus,
        to: RecordingStatus,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        RecordingTable::set_status(self, id, from, to)
    }
    fn list_by_owner(
        &self,
        owner: &str,
        room_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send {
        RecordingTable::list_by_owner(self, owner, room_id, cursor, limit)
    }
}
