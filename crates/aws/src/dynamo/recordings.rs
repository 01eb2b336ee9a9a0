//! The recordings in the table. A recording is `pk = REC#{id}`, `sk = REC`, `gsi1pk = OWNER#{owner}`,
//! `gsi1sk = {created_at_ms, 13 digits}#{id}`: the owner index lists a caller's recordings newest first.

use aws_sdk_dynamodb::Client;
use vidpipe_core::ports::{RecordingPage, RecordingStore, StoreError};
use vidpipe_core::recording::{MultipartUpload, Recording, RecordingStatus};
use vidpipe_core::upload::UploadKind;

use super::conditional::{conditional, unavailable};
use super::item::{Item, decode_cursor, encode_cursor, get_n, get_s, n, s, with_optional};
use super::{OWNER_INDEX, TTL_ATTRIBUTE};

/// The recordings, in the table.
#[derive(Debug, Clone)]
pub struct DynamoRecordings {
    client: Client,
    table: String,
}

impl DynamoRecordings {
    /// The recordings of `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn pk(id: &str) -> String {
    format!("REC#{id}")
}

fn owner_pk(owner: &str) -> String {
    format!("OWNER#{owner}")
}

fn to_item(r: &Recording) -> Item {
    let item = Item::from([
        ("pk".to_owned(), s(pk(&r.recording_id))),
        ("sk".to_owned(), s("REC")),
        ("gsi1pk".to_owned(), s(owner_pk(&r.owner))),
        (
            "gsi1sk".to_owned(),
            s(format!("{:013}#{}", r.created_at_ms, r.recording_id)),
        ),
        ("entity".to_owned(), s("recording")),
        ("recording_id".to_owned(), s(&r.recording_id)),
        ("owner".to_owned(), s(&r.owner)),
        ("kind".to_owned(), s(r.kind.as_str())),
        ("s3_key".to_owned(), s(&r.key)),
        ("content_type".to_owned(), s(&r.content_type)),
        ("size".to_owned(), n(r.size)),
        ("status".to_owned(), s(r.status.as_str())),
        ("created_at".to_owned(), n(r.created_at_ms)),
        (TTL_ATTRIBUTE.to_owned(), n(r.expires_at)),
    ]);
    let optional = [
        ("room_id", r.room_id.clone().map(s)),
        ("stream_name", r.stream_name.clone().map(s)),
        ("filename", r.filename.clone().map(s)),
        ("started_at", r.started_at.map(n)),
        ("upload_id", r.multipart.as_ref().map(|m| s(&m.upload_id))),
        ("part_size", r.multipart.as_ref().map(|m| n(m.part_size))),
        ("part_count", r.multipart.as_ref().map(|m| n(m.part_count))),
    ];
    with_optional(item, optional)
}

fn from_item(item: &Item) -> Result<Recording, StoreError> {
    let need_s = |name: &str| {
        get_s(item, name).ok_or_else(|| StoreError::Corrupt(format!("missing {name}")))
    };
    let need_n = |name: &str| {
        get_n::<u64>(item, name).ok_or_else(|| StoreError::Corrupt(format!("missing {name}")))
    };
    let kind = need_s("kind")?;
    let kind = UploadKind::parse("kind", &kind)
        .map_err(|_| StoreError::Corrupt(format!("kind {kind}")))?;
    let status = RecordingStatus::parse(&need_s("status")?)
        .ok_or_else(|| StoreError::Corrupt("unknown status".to_owned()))?;
    let multipart = match (
        get_s(item, "upload_id"),
        get_n(item, "part_size"),
        get_n(item, "part_count"),
    ) {
        (Some(upload_id), Some(part_size), Some(part_count)) => Some(MultipartUpload {
            upload_id,
            part_size,
            part_count,
        }),
        _ => None,
    };
    Ok(Recording {
        recording_id: need_s("recording_id")?,
        owner: need_s("owner")?,
        kind,
        key: need_s("s3_key")?,
        content_type: need_s("content_type")?,
        size: need_n("size")?,
        room_id: get_s(item, "room_id"),
        stream_name: get_s(item, "stream_name"),
        filename: get_s(item, "filename"),
        started_at: get_n(item, "started_at"),
        status,
        created_at_ms: need_n("created_at")?,
        expires_at: need_n(TTL_ATTRIBUTE)?,
        multipart,
    })
}

impl RecordingStore for DynamoRecordings {
    /// Writes a new recording; a conflict if its id is taken.
    async fn put_new(&self, recording: &Recording) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(recording)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result, "a recording with this id already exists")
    }

    /// Reads one recording.
    async fn get(&self, recording_id: &str) -> Result<Option<Recording>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s("REC"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(from_item).transpose()
    }

    /// Moves a recording from `from` to `to`; a conflict if it is no longer in `from`.
    async fn set_status(
        &self,
        recording_id: &str,
        from: RecordingStatus,
        to: RecordingStatus,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s("REC"))
            .update_expression("SET #status = :to")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .send()
            .await;
        conditional(result, "the recording is not in the expected state")
    }

    /// Marks a recording `uploaded` with the stored object's `size` and `etag` (from its ObjectCreated event).
    /// Repeating it is harmless; a conflict if the recording is unknown or was aborted.
    async fn mark_uploaded(
        &self,
        recording_id: &str,
        size: u64,
        etag: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s("REC"))
            .update_expression("SET #status = :uploaded, #size = :size, etag = :etag")
            .condition_expression("#status IN (:uploading, :uploaded)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#size", "size")
            .expression_attribute_values(":uploaded", s(RecordingStatus::Uploaded.as_str()))
            .expression_attribute_values(":uploading", s(RecordingStatus::Uploading.as_str()))
            .expression_attribute_values(":size", n(size))
            .expression_attribute_values(":etag", s(etag))
            .send()
            .await;
        conditional(result, "no recording is uploading under this id")
    }

    /// Lists `owner`'s recordings newest first, optionally in one room, `limit` per page.
    async fn list_by_owner(
        &self,
        owner: &str,
        room_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<RecordingPage, StoreError> {
        let mut start = cursor
            .map(|c| decode_cursor(c, &owner_pk(owner)))
            .transpose()?;
        let mut items = Vec::new();
        // A room filter can leave DynamoDB pages short: keep reading, within a bound, until the page is full.
        for _ in 0..10 {
            let remaining = i32::try_from(limit - items.len()).unwrap_or(i32::MAX);
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OWNER_INDEX)
                .key_condition_expression("gsi1pk = :owner")
                .expression_attribute_values(":owner", s(owner_pk(owner)))
                .scan_index_forward(false)
                .limit(remaining)
                .set_exclusive_start_key(start.take());
            if let Some(room) = room_id {
                query = query
                    .filter_expression("room_id = :room")
                    .expression_attribute_values(":room", s(room));
            }
            let out = query.send().await.map_err(unavailable)?;
            for item in out.items() {
                items.push(from_item(item)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() || items.len() >= limit {
                break;
            }
        }
        Ok(RecordingPage {
            items,
            next_cursor: start.as_ref().and_then(encode_cursor),
        })
    }

    async fn delete(&self, recording_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s("REC"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
