//! [`InMemoryRenders`], [`RecordingExecutions`], [`InMemoryRenderFiles`] and [`RecordingCanceller`]: what the
//! render routes and the notifier need for renders, in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::Value;
use vidpipe_core::ports::{
    CancelOutcome, ExecutionError, JobCanceller, RenderExecutions, RenderPage, RenderStore,
    Started, StoreError, TranscodeError,
};
use vidpipe_core::render::ports::{FolderRemover, PutError};
use vidpipe_core::render::record::RenderRecord;
use vidpipe_core::s3uri::S3Uri;

/// Render items, with the adapter's conditions: a new render id once, a replacement only over the version read.
#[derive(Debug, Default)]
pub struct InMemoryRenders {
    items: Mutex<HashMap<String, RenderRecord>>,
    /// Writes made (creates, replacements, deletes).
    pub writes: AtomicUsize,
}

impl InMemoryRenders {
    /// The render `render_id`, as stored.
    pub fn get(&self, render_id: &str) -> Option<RenderRecord> {
        self.items
            .lock()
            .expect("renders lock")
            .get(render_id)
            .cloned()
    }

    /// The status stored for `render_id`.
    pub fn status(&self, render_id: &str) -> Option<String> {
        self.get(render_id).map(|r| r.status.as_str().to_owned())
    }
}

impl RenderStore for InMemoryRenders {
    async fn create_render(&self, record: &RenderRecord) -> Result<bool, StoreError> {
        let mut items = self.items.lock().expect("renders lock");
        if items.contains_key(&record.render_id) {
            return Ok(false);
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut record = record.clone();
        record.version = 1;
        items.insert(record.render_id.clone(), record);
        Ok(true)
    }

    async fn get_render(&self, render_id: &str) -> Result<Option<RenderRecord>, StoreError> {
        Ok(self.get(render_id))
    }

    async fn replace_render(&self, record: &RenderRecord) -> Result<bool, StoreError> {
        let mut items = self.items.lock().expect("renders lock");
        match items.get(&record.render_id) {
            Some(stored) if stored.version + 1 == record.version => {
                self.writes.fetch_add(1, Ordering::SeqCst);
                items.insert(record.render_id.clone(), record.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Newest first; the cursor is the render id the next page starts after.
    async fn list_renders(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<RenderPage, StoreError> {
        let items = self.items.lock().expect("renders lock");
        let mut own: Vec<&RenderRecord> = items
            .values()
            .filter(|r| r.owner.as_deref() == Some(owner))
            .collect();
        own.sort_by(|a, b| (b.created_at_ms, &b.render_id).cmp(&(a.created_at_ms, &a.render_id)));
        let start = match cursor {
            Some(c) => {
                own.iter()
                    .position(|r| r.render_id == c)
                    .ok_or(StoreError::InvalidCursor)?
                    + 1
            }
            None => 0,
        };
        let page: Vec<RenderRecord> = own
            .iter()
            .skip(start)
            .take(limit)
            .map(|r| (*r).clone())
            .collect();
        let next_cursor = (start + page.len() < own.len())
            .then(|| page.last().map(|r| r.render_id.clone()))
            .flatten();
        Ok(RenderPage {
            items: page,
            next_cursor,
        })
    }

    async fn delete_render(&self, render_id: &str) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.items.lock().expect("renders lock").remove(render_id);
        Ok(())
    }
}

/// Executions started and stopped, as Step Functions would: the same name with the same input answers the same
/// execution, with another input `AlreadyExists`.
#[derive(Debug, Default)]
pub struct RecordingExecutions {
    started: Mutex<BTreeMap<String, Value>>,
    stopped: Mutex<Vec<String>>,
    /// When set, every call fails as if the service were down.
    pub down: AtomicBool,
}

impl RecordingExecutions {
    /// The ARN of the execution named `name`.
    pub fn arn(name: &str) -> String {
        format!("arn:aws:states:us-east-1:123456789012:execution:vidpipe-render:{name}")
    }

    /// The executions started, by name, with their input.
    pub fn started(&self) -> BTreeMap<String, Value> {
        self.started.lock().expect("executions lock").clone()
    }

    /// The ARNs of the executions stopped, in order.
    pub fn stopped(&self) -> Vec<String> {
        self.stopped.lock().expect("executions lock").clone()
    }

    fn check_up(&self) -> Result<(), ExecutionError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ExecutionError::Unavailable("step functions is down".into()));
        }
        Ok(())
    }
}

impl RenderExecutions for RecordingExecutions {
    async fn start(&self, name: &str, input: &Value) -> Result<Started, ExecutionError> {
        self.check_up()?;
        let mut started = self.started.lock().expect("executions lock");
        match started.get(name) {
            Some(existing) if existing != input => {
                return Err(ExecutionError::AlreadyExists(name.to_owned()));
            }
            _ => {
                started.insert(name.to_owned(), input.clone());
            }
        }
        Ok(Started {
            execution_arn: Self::arn(name),
        })
    }

    async fn stop(&self, execution_arn: &str, _error: &str) -> Result<(), ExecutionError> {
        self.check_up()?;
        self.stopped
            .lock()
            .expect("executions lock")
            .push(execution_arn.to_owned());
        Ok(())
    }
}

/// Stored documents by URI, and the folders removed.
#[derive(Debug, Default)]
pub struct InMemoryRenderFiles {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl InMemoryRenderFiles {
    /// The object at `uri`.
    pub fn get(&self, uri: &str) -> Option<Vec<u8>> {
        self.objects.lock().expect("files lock").get(uri).cloned()
    }

    /// Every stored URI.
    pub fn uris(&self) -> Vec<String> {
        self.objects
            .lock()
            .expect("files lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Stores `bytes` at `uri` (as a render's chunks or output would be).
    pub fn insert(&self, uri: &str, bytes: &[u8]) {
        self.objects
            .lock()
            .expect("files lock")
            .insert(uri.to_owned(), bytes.to_vec());
    }
}

impl vidpipe_core::render::ports::RequestWriter for InMemoryRenderFiles {
    async fn put(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        self.insert(&uri.to_string(), &json);
        Ok(())
    }
}

impl vidpipe_core::ports::PackageFiles for InMemoryRenderFiles {
    async fn read(
        &self,
        uri: &S3Uri,
        _limit: u64,
    ) -> Result<Vec<u8>, vidpipe_core::render::ports::FetchError> {
        self.get(&uri.to_string())
            .ok_or_else(|| vidpipe_core::render::ports::FetchError::NotFound(uri.clone()))
    }

    async fn write(
        &self,
        uri: &S3Uri,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), PutError> {
        self.insert(&uri.to_string(), &bytes);
        Ok(())
    }
}

impl FolderRemover for InMemoryRenderFiles {
    async fn remove_folder(&self, folder: &S3Uri) -> Result<(), PutError> {
        let prefix = folder.to_string();
        self.objects
            .lock()
            .expect("files lock")
            .retain(|uri, _| !uri.starts_with(&prefix));
        Ok(())
    }
}

/// Keeps the ids of the jobs canceled.
#[derive(Debug, Default)]
pub struct RecordingCanceller(Mutex<Vec<String>>);

impl RecordingCanceller {
    /// The jobs canceled, in order.
    pub fn canceled(&self) -> Vec<String> {
        self.0.lock().expect("canceller lock").clone()
    }
}

impl JobCanceller for RecordingCanceller {
    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        self.0
            .lock()
            .expect("canceller lock")
            .push(job_id.to_owned());
        Ok(CancelOutcome::Canceled)
    }
}
