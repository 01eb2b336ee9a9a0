//! The stream items, in the recordings table: `pk = STREAM#{stream}`, `sk = STREAM`. One adapter,
//! [`DynamoStreams`], split by what it does: [`pairing`] is the compositor's side (arrivals, the claim lease, the
//! submitted job, failure), [`status`] the side clients see (owner, status) and job events move forward.

mod pairing;
mod status;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use vidpipe_core::capability::CapabilityDigest;
use vidpipe_core::pairing::{Arrival, Claim, OutputKind, Source, StreamState};
use vidpipe_core::ports::StoreError;
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};

use super::conditional::unavailable;
use super::item::{Item, cost_from_item, get_n, get_s, s};

const STREAM_SK: &str = "STREAM";
/// The attribute holding the digest of an anonymous owner's capability (never the capability itself).
const CAPABILITY_ATTRIBUTE: &str = "capability_sha256";

fn stream_pk(stream: &str) -> String {
    format!("STREAM#{stream}")
}

/// The stream items of the table.
#[derive(Debug, Clone)]
pub struct DynamoStreams {
    client: Client,
    table: String,
    retention_days: u32,
}

impl DynamoStreams {
    /// The streams of `table`, through `client`; the compositor's arrivals keep an item `retention_days` after the
    /// last one.
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days,
        }
    }

    /// An update of `stream`'s item.
    fn update(&self, stream: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(stream_pk(stream)))
            .key("sk", s(STREAM_SK))
    }

    /// Reads `stream`'s item (strongly consistent): the one read behind both sides.
    async fn read(&self, stream: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(stream_pk(stream)))
            .key("sk", s(STREAM_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }
}

fn arrival(item: &Item, source: Source) -> Option<Arrival> {
    let name = |field: &str| format!("{}_{field}", source.as_str());
    Some(Arrival {
        key: get_s(item, &name("key"))?,
        size: get_n(item, &name("size")).unwrap_or(0),
        etag: get_s(item, &name("etag")).unwrap_or_default(),
        arrived_at_ms: get_n(item, &name("arrived_at")).unwrap_or(0),
    })
}

/// The claim on a stream item, if any. Items claimed before claims recorded their generation and time read as
/// generation 0 claimed at 0: never a takeover of the same generation.
fn claim_from_item(item: &Item) -> Option<Claim> {
    Some(Claim {
        token: get_s(item, "claim_token")?,
        claimed_at_ms: get_n(item, "claimed_at").unwrap_or(0),
        expires_at_ms: get_n(item, "claim_expires_at")?,
        generation: get_n(item, "claim_generation").unwrap_or(0),
    })
}

/// Decodes a stream item as the pairing rules see it; attributes the compositor does not use are ignored.
fn state_from_item(item: &Item) -> Result<StreamState, StoreError> {
    let stream = get_s(item, "stream")
        .ok_or_else(|| StoreError::Corrupt("stream item without stream".into()))?;
    let status = match get_s(item, "status") {
        Some(name) => Some(
            StreamStatus::parse(&name)
                .ok_or_else(|| StoreError::Corrupt(format!("stream status {name}")))?,
        ),
        None => None,
    };
    let job_kind = match get_s(item, "job_kind") {
        Some(name) => Some(
            OutputKind::parse(&name)
                .ok_or_else(|| StoreError::Corrupt(format!("job kind {name}")))?,
        ),
        None => None,
    };
    let claim = claim_from_item(item);
    Ok(StreamState {
        screen: arrival(item, Source::Screen),
        camera: arrival(item, Source::Camera),
        status,
        generation: get_n(item, "generation").unwrap_or(0),
        job_kind,
        job_id: get_s(item, "job_id"),
        claim,
        fallback_reason: get_s(item, "fallback_reason"),
        stream,
    })
}

/// The capability digest a stream item holds, if any.
fn capability_from_item(item: &Item) -> Result<Option<CapabilityDigest>, StoreError> {
    get_s(item, CAPABILITY_ATTRIBUTE)
        .map(|v| {
            CapabilityDigest::from_stored(&v).ok_or_else(|| {
                StoreError::Corrupt(format!("{CAPABILITY_ATTRIBUTE} is not a digest"))
            })
        })
        .transpose()
}

/// Decodes a stream item as clients see it.
fn record_from_item(item: &Item) -> Result<StreamRecord, StoreError> {
    let stream =
        get_s(item, "stream").ok_or_else(|| StoreError::Corrupt("stream without a name".into()))?;
    let status = match get_s(item, "status") {
        None => StreamStatus::Queued,
        Some(v) => StreamStatus::parse(&v)
            .ok_or_else(|| StoreError::Corrupt(format!("stream {stream}: status {v}")))?,
    };
    Ok(StreamRecord {
        owner: get_s(item, "owner"),
        capability: capability_from_item(item)?,
        status,
        progress: get_n::<u8>(item, "progress").unwrap_or(0).min(100),
        generation: get_n(item, "generation").unwrap_or(0),
        job_id: get_s(item, "job_id"),
        job_kind: get_s(item, "job_kind"),
        fallback_reason: get_s(item, "fallback_reason"),
        output_key: get_s(item, "output_key"),
        error_code: get_s(item, "error_code"),
        error_message: get_s(item, "error_message"),
        superseded_generation: get_n(item, "superseded_generation").unwrap_or(0),
        screen_uploads: get_n(item, "screen_uploads").unwrap_or(0),
        camera_uploads: get_n(item, "camera_uploads").unwrap_or(0),
        cost: cost_from_item(item),
        stream,
    })
}
