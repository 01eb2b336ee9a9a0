//! The render items ([`RenderStore`]): `pk = RENDER#{render_id}`, `sk = RENDER`, and for renders posted through the
//! HTTP API `gsi1pk = RENDERS#{owner}`, `gsi1sk = {created_at_ms, 13 digits}#{render_id}` (the owner index lists
//! a caller's renders newest first, apart from their recordings). The chunks' state is one JSON attribute, and
//! every write is conditional on the `version` read, so the rules of `render::record` decide every change.

use aws_sdk_dynamodb::Client;
use vidpipe_core::ports::{RenderPage, RenderStore, StoreError};
use vidpipe_core::render::record::{ChunkProgress, RenderPhase, RenderRecord, RenderState};
use vidpipe_core::stream_status::RenderFailure;

use super::conditional::{applied, unavailable};
use super::item::{Item, decode_cursor, encode_cursor, get_n, get_s, n, s, with_optional};
use super::{OWNER_INDEX, TTL_ATTRIBUTE};

/// The render items of the table.
#[derive(Debug, Clone)]
pub struct DynamoRenders {
    client: Client,
    table: String,
}

impl DynamoRenders {
    /// The renders of `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(render_id: &str) -> Item {
        Item::from([
            ("pk".to_owned(), s(format!("RENDER#{render_id}"))),
            ("sk".to_owned(), s("RENDER")),
        ])
    }
}

fn owner_pk(owner: &str) -> String {
    format!("RENDERS#{owner}")
}

fn to_item(r: &RenderRecord) -> Item {
    let mut item = DynamoRenders::key(&r.render_id);
    item.extend([
        ("entity".to_owned(), s("render")),
        ("render_id".to_owned(), s(&r.render_id)),
        ("status".to_owned(), s(r.status.as_str())),
        ("progress".to_owned(), n(r.progress)),
        (
            "chunk_state".to_owned(),
            s(serde_json::to_string(&r.chunks).unwrap_or_default()),
        ),
        ("created_at".to_owned(), n(r.created_at_ms)),
        ("updated_at".to_owned(), n(r.updated_at_ms)),
        (TTL_ATTRIBUTE.to_owned(), n(r.expires_at)),
        ("announced_progress".to_owned(), n(r.announced_progress)),
        ("announced_at".to_owned(), n(r.announced_at_ms)),
        ("version".to_owned(), n(r.version)),
    ]);
    let optional = [
        ("owner", r.owner.clone().map(s)),
        ("gsi1pk", r.owner.as_deref().map(|o| s(owner_pk(o)))),
        (
            "gsi1sk",
            r.owner
                .as_ref()
                .map(|_| s(format!("{:013}#{}", r.created_at_ms, r.render_id))),
        ),
        ("phase", r.phase.map(|p| s(p.as_str()))),
        ("request_digest", r.request_digest.clone().map(s)),
        ("request_uri", r.request_uri.clone().map(s)),
        ("output_uri", r.output_uri.clone().map(s)),
        ("chunks_total", r.chunks_total.map(n)),
        ("frames", r.frames.map(n)),
        ("duration_ms", r.duration_ms.map(n)),
        ("error_code", r.error.as_ref().map(|e| s(&e.error))),
        ("error_message", r.error.as_ref().map(|e| s(&e.cause))),
        ("execution", r.execution.clone().map(s)),
        ("call_recording_id", r.call_recording_id.clone().map(s)),
    ];
    with_optional(item, optional)
}

fn from_item(item: &Item) -> Result<RenderRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("render item: {what}"));
    let need_n = |name: &str| get_n::<u64>(item, name).ok_or_else(|| corrupt(name));
    let render_id = get_s(item, "render_id").ok_or_else(|| corrupt("render_id"))?;
    let status = get_s(item, "status")
        .and_then(|v| RenderState::parse(&v))
        .ok_or_else(|| corrupt("status"))?;
    let chunks: ChunkProgress = match get_s(item, "chunk_state") {
        Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("chunk_state"))?,
        None => ChunkProgress::default(),
    };
    let error = get_s(item, "error_code").map(|error| RenderFailure {
        error,
        cause: get_s(item, "error_message").unwrap_or_default(),
    });
    Ok(RenderRecord {
        owner: get_s(item, "owner"),
        status,
        phase: get_s(item, "phase").and_then(|p| RenderPhase::parse(&p)),
        request_digest: get_s(item, "request_digest"),
        request_uri: get_s(item, "request_uri"),
        output_uri: get_s(item, "output_uri"),
        chunks_total: get_n(item, "chunks_total"),
        chunks,
        progress: get_n(item, "progress").unwrap_or(0),
        frames: get_n(item, "frames"),
        duration_ms: get_n(item, "duration_ms"),
        error,
        execution: get_s(item, "execution"),
        call_recording_id: get_s(item, "call_recording_id"),
        created_at_ms: need_n("created_at")?,
        updated_at_ms: need_n("updated_at")?,
        expires_at: need_n(TTL_ATTRIBUTE)?,
        announced_progress: get_n(item, "announced_progress").unwrap_or(0),
        announced_at_ms: get_n(item, "announced_at").unwrap_or(0),
        version: need_n("version")?,
        render_id,
    })
}

impl RenderStore for DynamoRenders {
    async fn create_render(&self, record: &RenderRecord) -> Result<bool, StoreError> {
        let mut record = record.clone();
        record.version = 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&record)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        applied(result)
    }

    async fn get_render(&self, render_id: &str) -> Result<Option<RenderRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(render_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(from_item).transpose()
    }

    async fn replace_render(&self, record: &RenderRecord) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(record.version.saturating_sub(1)))
            .send()
            .await;
        applied(result)
    }

    async fn list_renders(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<RenderPage, StoreError> {
        let start = cursor
            .map(|c| decode_cursor(c, &owner_pk(owner)))
            .transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OWNER_INDEX)
            .key_condition_expression("gsi1pk = :owner")
            .expression_attribute_values(":owner", s(owner_pk(owner)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(RenderPage {
            items: out
                .items()
                .iter()
                .map(from_item)
                .collect::<Result<_, _>>()?,
            next_cursor: out.last_evaluated_key().and_then(encode_cursor),
        })
    }

    async fn delete_render(&self, render_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(render_id)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
