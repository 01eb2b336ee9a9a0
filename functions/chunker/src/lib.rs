//! `vidpipe-chunker`: the render state machine's first Task. It validates a render request (v1) and plans its
//! chunks (`vidpipe_core::render::plan`).
//!
//! Input: `{"request": {...}}` or `{"request_uri": "s3://..."}`. Output: the [`RenderPlan`], the state machine's
//! data from then on. The plan carries the request inline, or, when the plan with it would be over
//! [`INLINE_LIMIT_BYTES`] (Step Functions payloads stop at 256 KiB) or a custom renderer needs a URI, by
//! `request_uri` only: a request that came inline is then stored at `{output key without .mp4}/request.json`.
//!
//! Before planning, every distinct overlay image and video source is probed once ([`sources`]); the results travel
//! with the request: inline as `media` (`{uri: MediaInfo}`), or, when the request travels by URI, stored at
//! `{output key without .mp4}/media.json` and passed as `media_uri`.
//!
//! Errors (the `Error` a state machine matches): `InvalidRenderRequest` for a request that is malformed, breaks a
//! rule (every problem named), cannot be planned, or is missing, or whose source is missing or cannot be probed;
//! `RequestUnavailable` when S3 or the probe service fails otherwise (worth a retry).

pub mod sources;

use std::collections::BTreeMap;
use std::future::Future;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vidpipe_aws::objects::ObjectError;
use vidpipe_core::job::MediaInfo;
use vidpipe_core::render::{RenderOutput, RenderRequest, Renderer, Soundtrack};
use vidpipe_core::s3uri::S3Uri;

pub use sources::{ProbeBackend, ProbeError, VideoProber};

/// Largest request passed inline in the plan; larger ones travel by `request_uri`.
pub const INLINE_LIMIT_BYTES: usize = 200 * 1024;

/// Largest render request read from S3 (10,000 scenes with long URIs stay well under it).
pub const MAX_REQUEST_BYTES: u64 = 16 * 1024 * 1024;

/// The task input: the request inline, or where it is stored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkerInput {
    /// The request, inline.
    #[serde(default)]
    pub request: Option<Value>,
    /// The request, stored in S3.
    #[serde(default)]
    pub request_uri: Option<S3Uri>,
}

/// One planned chunk and where it is rendered to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChunk {
    /// Position in the join order, from 0.
    pub index: u32,
    /// First frame.
    pub start_frame: u64,
    /// One past the last frame.
    pub end_frame: u64,
    /// `{output key without .mp4}/chunks/{index:05}.mp4`.
    pub output_uri: String,
}

/// The plan: the task output and the state machine's data after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderPlan {
    /// The request's `render_id`.
    pub render_id: String,
    /// Where the request is stored, when it is not inline.
    pub request_uri: Option<String>,
    /// The request, when it is not passed by `request_uri`.
    pub request: Option<RenderRequest>,
    /// The finished video.
    pub output: RenderOutput,
    /// Frames of the whole video.
    pub total_frames: u64,
    /// Chunks rendered at once (the request's, capped for the Map).
    pub max_concurrency: u32,
    /// Who renders chunks.
    pub renderer: Renderer,
    /// The chunks, in join order.
    pub chunks: Vec<PlannedChunk>,
    /// The soundtrack to mix, if any.
    pub soundtrack: Option<Soundtrack>,
    /// Where the mixed soundtrack is written: `{output key without .mp4}/soundtrack.m4a`.
    pub soundtrack_uri: String,
    /// Probe results of the overlay images and video sources by URI, when the request is inline.
    pub media: Option<BTreeMap<String, MediaInfo>>,
    /// Where those probe results are stored (`{output key without .mp4}/media.json`), when the request is not.
    pub media_uri: Option<String>,
}

/// Why the task failed.
#[derive(Debug, thiserror::Error)]
pub enum ChunkerError {
    /// The request is malformed, invalid, cannot be planned, or missing (error type `InvalidRenderRequest`).
    #[error("{0}")]
    InvalidRenderRequest(String),
    /// S3 failed reading or storing the request (error type `RequestUnavailable`).
    #[error("{0}")]
    RequestUnavailable(String),
}

impl From<ChunkerError> for Diagnostic {
    fn from(error: ChunkerError) -> Self {
        let error_type = match &error {
            ChunkerError::InvalidRenderRequest(_) => "InvalidRenderRequest",
            ChunkerError::RequestUnavailable(_) => "RequestUnavailable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Where render requests are read from and stored.
pub trait RequestStore {
    /// The bytes of the object at `uri`, at most `limit` of them.
    fn fetch(
        &self,
        uri: &S3Uri,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<u8>, ObjectError>> + Send;
    /// The first `len` bytes of the object at `uri` (file headers).
    fn fetch_prefix(
        &self,
        uri: &S3Uri,
        len: u64,
    ) -> impl Future<Output = Result<Vec<u8>, ObjectError>> + Send;
    /// Stores `json` at `uri`.
    fn store(&self, uri: &S3Uri, json: Vec<u8>) -> impl Future<Output = Result<(), String>> + Send;
}

/// Render requests in S3.
#[derive(Debug, Clone)]
pub struct S3RequestStore(pub aws_sdk_s3::Client);

impl RequestStore for S3RequestStore {
    async fn fetch(&self, uri: &S3Uri, limit: u64) -> Result<Vec<u8>, ObjectError> {
        vidpipe_aws::objects::get_object_bytes(&self.0, uri, limit).await
    }

    async fn fetch_prefix(&self, uri: &S3Uri, len: u64) -> Result<Vec<u8>, ObjectError> {
        vidpipe_aws::objects::get_object_prefix(&self.0, uri, len).await
    }

    async fn store(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), String> {
        self.0
            .put_object()
            .bucket(uri.bucket())
            .key(uri.key())
            .content_type("application/json")
            .body(json.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())
    }
}

/// The Lambda handler.
pub async fn handle(
    event: LambdaEvent<Value>,
    store: &impl RequestStore,
    prober: &impl VideoProber,
) -> Result<RenderPlan, Diagnostic> {
    plan(event.payload, store, prober).await.map_err(|error| {
        tracing::warn!(%error, "render request rejected");
        Diagnostic::from(error)
    })
}

/// Validates, probes the sources of, and plans one task input.
pub async fn plan(
    payload: Value,
    store: &impl RequestStore,
    prober: &impl VideoProber,
) -> Result<RenderPlan, ChunkerError> {
    let invalid = |e: &dyn std::fmt::Display| ChunkerError::InvalidRenderRequest(e.to_string());
    let input: ChunkerInput = serde_json::from_value(payload).map_err(|e| invalid(&e))?;
    let (text, read_from) = match (input.request, input.request_uri) {
        (Some(request), None) => (request.to_string(), None),
        (None, Some(uri)) => (load(store, &uri).await?, Some(uri)),
        _ => return Err(invalid(&"give exactly one of `request` and `request_uri`")),
    };
    let request = RenderRequest::from_json(&text).map_err(|e| invalid(&e))?;
    let chunks = request.plan().map_err(|e| invalid(&e))?;
    let base = output_base(&request).map_err(|e| invalid(&e))?;
    let media = sources::probe_sources(&request, store, prober).await?;
    let short = vidpipe_core::job::short_video_scenes(&request, &media);
    if !short.is_empty() {
        return Err(invalid(&short.join("; ")));
    }

    let planned = chunks
        .iter()
        .map(|chunk| {
            Ok(PlannedChunk {
                index: chunk.index,
                start_frame: chunk.start_frame,
                end_frame: chunk.end_frame,
                output_uri: request.chunk_uri(chunk.index)?.to_string(),
            })
        })
        .collect::<Result<Vec<_>, vidpipe_core::render::RenderError>>()
        .map_err(|e| invalid(&e))?;
    let mut plan = RenderPlan {
        render_id: request.render_id.clone(),
        request_uri: read_from.as_ref().map(S3Uri::to_string),
        output: request.output.clone(),
        total_frames: request.total_frames(),
        max_concurrency: request.map_concurrency(),
        renderer: request.renderer.clone(),
        chunks: planned,
        soundtrack: request.soundtrack.clone(),
        soundtrack_uri: format!("s3://{}/{}/soundtrack.m4a", base.bucket(), base.key()),
        media: Some(media),
        media_uri: None,
        request: read_from.is_none().then_some(request),
    };
    let size = |plan: &RenderPlan| serde_json::to_vec(plan).map_or(usize::MAX, |json| json.len());
    let by_reference = plan.request.is_none()
        || matches!(plan.renderer, Renderer::Lambda(_))
        || size(&plan) > INLINE_LIMIT_BYTES;
    if by_reference {
        if let Some(request) = plan.request.take() {
            plan.request_uri = Some(store_json(store, &base, "request.json", &request).await?);
        }
        let media = plan.media.take().unwrap_or_default();
        plan.media_uri = Some(store_json(store, &base, "media.json", &media).await?);
    }
    let plan_size = size(&plan);
    if plan_size > INLINE_LIMIT_BYTES {
        return Err(invalid(&format!(
            "the plan of {} chunks is {plan_size} bytes without the request, more than the {INLINE_LIMIT_BYTES} \
             a Step Functions state may carry: use a shorter output key or longer chunks",
            plan.chunks.len()
        )));
    }
    tracing::info!(
        render_id = %plan.render_id,
        total_frames = plan.total_frames,
        chunks = plan.chunks.len(),
        by_reference = plan.request.is_none(),
        "render planned"
    );
    Ok(plan)
}

/// Stores `value` as JSON at `{base}/{name}` and returns its URI.
async fn store_json(
    store: &impl RequestStore,
    base: &S3Uri,
    name: &str,
    value: &impl Serialize,
) -> Result<String, ChunkerError> {
    let invalid = |e: &dyn std::fmt::Display| ChunkerError::InvalidRenderRequest(e.to_string());
    let uri =
        S3Uri::new(base.bucket(), format!("{}/{name}", base.key())).map_err(|e| invalid(&e))?;
    let json = serde_json::to_vec(value).map_err(|e| invalid(&e))?;
    store
        .store(&uri, json)
        .await
        .map_err(|e| ChunkerError::RequestUnavailable(format!("storing {uri} failed: {e}")))?;
    Ok(uri.to_string())
}

/// The output's location without `.mp4`: the folder of the chunks, the soundtrack and a stored request.
fn output_base(request: &RenderRequest) -> Result<S3Uri, vidpipe_core::s3uri::S3UriError> {
    let output = S3Uri::parse_str(&request.output.uri)?;
    let key = output.key().strip_suffix(".mp4").unwrap_or(output.key());
    S3Uri::new(output.bucket(), key)
}

async fn load(store: &impl RequestStore, uri: &S3Uri) -> Result<String, ChunkerError> {
    let bytes = store
        .fetch(uri, MAX_REQUEST_BYTES)
        .await
        .map_err(|e| match e {
            ObjectError::NotFound(_) | ObjectError::TooLarge { .. } => {
                ChunkerError::InvalidRenderRequest(e.to_string())
            }
            ObjectError::S3 { .. } => ChunkerError::RequestUnavailable(e.to_string()),
        })?;
    String::from_utf8(bytes)
        .map_err(|e| ChunkerError::InvalidRenderRequest(format!("{uri} is not UTF-8 JSON: {e}")))
}
