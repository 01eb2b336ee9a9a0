//! [`InMemoryObjects`]: the uploads bucket in memory, keeping what was presigned.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vidpipe_core::ports::{
    ObjectHead, ObjectStore, ObjectStoreError, PresignedRequest, PutSpec, StoredPart,
};

/// What a presigned PUT covered: key, Content-Type, Content-Length, If-None-Match, metadata.
pub type SignedPut = (String, String, Option<u64>, bool, Vec<(String, String)>);

/// A bucket in memory: objects by key, open multipart uploads by id, and every PUT it presigned. Presigned URLs
/// point at `https://s3.test/`. Writes (multipart creations, completions, aborts) and lookups are counted.
#[derive(Debug, Default)]
pub struct InMemoryObjects {
    /// The objects, by key.
    pub objects: Mutex<HashMap<String, ObjectHead>>,
    /// Open multipart uploads: id to the parts uploaded so far.
    pub uploads: Mutex<HashMap<String, Vec<StoredPart>>>,
    /// Every PUT presigned, in order.
    pub signed_puts: Mutex<Vec<SignedPut>>,
    /// Writes that applied.
    pub writes: AtomicUsize,
    /// Lookups of one object (`exists` and `head`): the calls to S3 the adapter would make.
    pub lookups: AtomicUsize,
}

impl InMemoryObjects {
    /// Stores an object under `key` (empty, no metadata, unless `head` says otherwise).
    pub fn insert(&self, key: &str, head: ObjectHead) {
        self.objects
            .lock()
            .expect("objects lock")
            .insert(key.to_owned(), head);
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    fn close_upload(&self, upload_id: &str) -> Result<(), ObjectStoreError> {
        self.wrote();
        self.uploads
            .lock()
            .expect("uploads lock")
            .remove(upload_id)
            .map(|_| ())
            .ok_or(ObjectStoreError::NoSuchUpload)
    }
}

impl ObjectStore for InMemoryObjects {
    async fn exists(&self, key: &str) -> Result<bool, ObjectStoreError> {
        Ok(self.head(key).await?.is_some())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, ObjectStoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Ok(self.objects.lock().expect("objects lock").get(key).cloned())
    }

    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<PresignedRequest, ObjectStoreError> {
        let metadata = spec
            .metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.signed_puts.lock().expect("signed lock").push((
            spec.key.to_owned(),
            spec.content_type.to_owned(),
            spec.content_length,
            spec.if_none_match,
            metadata,
        ));
        let mut headers =
            BTreeMap::from([("content-type".to_owned(), spec.content_type.to_owned())]);
        if let Some(len) = spec.content_length {
            headers.insert("content-length".into(), len.to_string());
        }
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: format!("https://s3.test/{}?X-Amz-Signature=x", spec.key),
            headers,
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        _ttl: Duration,
    ) -> Result<PresignedRequest, ObjectStoreError> {
        Ok(PresignedRequest {
            method: "GET".into(),
            url: format!("https://s3.test/{key}?get"),
            headers: BTreeMap::new(),
        })
    }

    async fn create_multipart(
        &self,
        key: &str,
        _content_type: &str,
        _metadata: &[(&str, String)],
    ) -> Result<String, ObjectStoreError> {
        assert!(!key.is_empty(), "a multipart upload needs a key");
        self.wrote();
        let mut uploads = self.uploads.lock().expect("uploads lock");
        let id = format!("upload-{}", uploads.len() + 1);
        uploads.insert(id.clone(), Vec::new());
        Ok(id)
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        len: u64,
        _ttl: Duration,
    ) -> Result<PresignedRequest, ObjectStoreError> {
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: format!(
                "https://s3.test/{key}?uploadId={upload_id}&partNumber={number}&len={len}"
            ),
            headers: BTreeMap::new(),
        })
    }

    async fn list_parts(
        &self,
        _key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, ObjectStoreError> {
        self.uploads
            .lock()
            .expect("uploads lock")
            .get(upload_id)
            .cloned()
            .ok_or(ObjectStoreError::NoSuchUpload)
    }

    async fn complete_multipart(
        &self,
        _key: &str,
        upload_id: &str,
        _parts: &[(u32, String)],
    ) -> Result<(), ObjectStoreError> {
        self.close_upload(upload_id)
    }

    async fn abort_multipart(&self, _key: &str, upload_id: &str) -> Result<(), ObjectStoreError> {
        self.close_upload(upload_id)
    }
}
