//! `vidpipe-chunker`: the render state machine's first Task. It validates a render request (v1) and plans its
//! chunks (`vidpipe_core::render::plan`).
//!
//! Input: `{"request": {...}}` or `{"request_uri": "s3://..."}`, and from the HTTP API also `"owner"` (the caller's
//! namespaced owner, carried in the plan for the states after it) and `"render_id"` (which must be the request's).
//! Output: the [`RenderPlan`], the state machine's
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

pub mod config;
mod error;
mod prober;
pub mod sources;

use std::collections::BTreeMap;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vidpipe_core::job::{MediaInfo, Size, max_bitrate};
use vidpipe_core::limits::SourceLimits;
use vidpipe_core::render::ports::{
    HeaderReader, RequestReader, RequestWriter, VideoProber, read_document,
};
use vidpipe_core::render::{Chunk, RenderOutput, RenderRequest, Renderer, Soundtrack};
use vidpipe_core::s3uri::{S3Uri, S3UriError};

pub use error::ChunkerError;
pub use prober::ProbeBackend;

/// Largest request passed inline in the plan; larger ones travel by `request_uri`.
pub const INLINE_LIMIT_BYTES: usize = 200 * 1024;

/// The task input: the request inline, or where it is stored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkerInput {
    /// The request, inline. Kept as JSON here: [`RenderRequest::from_json`] names every problem of a request by
    /// its path, where deserializing it into the type would stop at the first.
    #[serde(default)]
    pub request: Option<Value>,
    /// The request, stored in S3.
    #[serde(default)]
    pub request_uri: Option<S3Uri>,
    /// Who posted the render through the HTTP API (`jwt:user-123`).
    #[serde(default)]
    pub owner: Option<String>,
    /// The render, as the HTTP API named its execution.
    #[serde(default)]
    pub render_id: Option<String>,
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
    /// Who posted the render through the HTTP API, if it came that way.
    pub owner: Option<String>,
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

/// What one render may ask for, checked before any chunk is bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderLimits {
    /// Each probed source's limits.
    pub sources: SourceLimits,
    /// `ASSEMBLER_EPHEMERAL_MB` (10240, the template's): the assembler's `/tmp`, which holds every chunk and the
    /// joined output at once.
    pub assembler_disk_bytes: u64,
}

impl Default for RenderLimits {
    fn default() -> Self {
        Self {
            sources: SourceLimits::default(),
            assembler_disk_bytes: 10_240 * 1024 * 1024,
        }
    }
}

/// The most the assembler's `/tmp` holds for a render of `request`: the chunks and the joined file (each at most
/// the video's peak bitrate plus the AAC track over the whole length), and 64 MiB for the soundtrack and headers.
pub fn assembler_disk_bytes(request: &RenderRequest, total_frames: u64) -> u64 {
    const AAC_BITS_PER_SECOND: u64 = 128_000;
    let size = Size::new(request.output.width, request.output.height);
    let bits_per_second = u64::try_from(max_bitrate(size)).unwrap_or(0) + AAC_BITS_PER_SECOND;
    let seconds = total_frames.div_ceil(u64::from(request.output.fps.max(1)));
    2 * bits_per_second * seconds / 8 + 64 * 1024 * 1024
}

/// The Lambda handler.
pub async fn handle(
    event: LambdaEvent<Value>,
    store: &(impl RequestReader + RequestWriter + HeaderReader),
    prober: &impl VideoProber,
    limits: &RenderLimits,
) -> Result<RenderPlan, Diagnostic> {
    plan(event.payload, store, prober, limits)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "render request rejected");
            vidpipe_lambda::diagnostic(&error)
        })
}

/// Validates, probes the sources of, and plans one task input.
pub async fn plan(
    payload: Value,
    store: &(impl RequestReader + RequestWriter + HeaderReader),
    prober: &impl VideoProber,
    limits: &RenderLimits,
) -> Result<RenderPlan, ChunkerError> {
    let input: ChunkerInput = serde_json::from_value(payload).map_err(ChunkerError::Input)?;
    let (request, read_from) = match (input.request, input.request_uri) {
        (Some(request), None) => (RenderRequest::from_json(&request.to_string())?, None),
        (None, Some(uri)) => {
            let text = read_document(store, &uri).await?;
            (RenderRequest::from_json(&text)?, Some(uri))
        }
        _ => return Err(ChunkerError::RequestOrUri),
    };
    if let Some(id) = input.render_id.filter(|id| *id != request.render_id) {
        return Err(ChunkerError::RenderIdMismatch {
            input: id,
            request: request.render_id,
        });
    }
    let chunks = request.plan()?;
    let base = output_base(&request.output)?;
    let total_frames = chunks.last().map_or(0, |c| c.end_frame);
    let needed = assembler_disk_bytes(&request, total_frames);
    if needed > limits.assembler_disk_bytes {
        return Err(ChunkerError::TooLargeForAssembler {
            needed,
            available: limits.assembler_disk_bytes,
        });
    }
    let media = sources::probe_sources(&request, store, prober).await?;
    for (uri, info) in &media {
        limits
            .sources
            .check_media(info)
            .map_err(|source| ChunkerError::SourceTooLarge {
                uri: uri.clone(),
                source,
            })?;
    }
    let short = vidpipe_core::job::short_video_scenes(&request, &media);
    if !short.is_empty() {
        return Err(ChunkerError::ShortVideos(short));
    }
    let mut plan = RenderPlan::new(request, read_from, &chunks, &base, media)?;
    plan.owner = input.owner;
    let by_reference = plan.request.is_none()
        || matches!(plan.renderer, Renderer::Lambda(_))
        || plan.size() > INLINE_LIMIT_BYTES;
    if by_reference {
        plan.pass_by_reference(store, &base).await?;
    }
    let bytes = plan.size();
    if bytes > INLINE_LIMIT_BYTES {
        return Err(ChunkerError::PlanTooLarge {
            chunks: plan.chunks.len(),
            bytes,
        });
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

impl RenderPlan {
    /// The plan of a valid `request` (read from `read_from`, or inline) cut into `chunks`, with the request and the
    /// probe results of its sources (`media`) inline; `base` is the output's location without `.mp4`.
    fn new(
        request: RenderRequest,
        read_from: Option<S3Uri>,
        chunks: &[Chunk],
        base: &S3Uri,
        media: BTreeMap<String, MediaInfo>,
    ) -> Result<Self, ChunkerError> {
        let chunks = chunks
            .iter()
            .map(|chunk| -> Result<PlannedChunk, ChunkerError> {
                Ok(PlannedChunk {
                    index: chunk.index,
                    start_frame: chunk.start_frame,
                    end_frame: chunk.end_frame,
                    output_uri: request.chunk_uri(chunk.index)?.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            render_id: request.render_id.clone(),
            owner: None,
            request_uri: read_from.as_ref().map(S3Uri::to_string),
            output: request.output.clone(),
            total_frames: request.total_frames(),
            max_concurrency: request.map_concurrency(),
            renderer: request.renderer.clone(),
            chunks,
            soundtrack: request.soundtrack.clone(),
            soundtrack_uri: format!("s3://{}/{}/soundtrack.m4a", base.bucket(), base.key()),
            media: Some(media),
            media_uri: None,
            request: read_from.is_none().then_some(request),
        })
    }

    /// The plan's size as JSON, in bytes.
    fn size(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |json| json.len())
    }

    /// Stores a request that came inline at `{output key without .mp4}/request.json`, and the probe results at
    /// `media.json` beside it, and passes both by URI.
    async fn pass_by_reference(
        &mut self,
        store: &impl RequestWriter,
        base: &S3Uri,
    ) -> Result<(), ChunkerError> {
        if let Some(request) = self.request.take() {
            self.request_uri = Some(store_json(store, base, "request.json", &request).await?);
        }
        let media = self.media.take().unwrap_or_default();
        self.media_uri = Some(store_json(store, base, "media.json", &media).await?);
        Ok(())
    }
}

/// Stores `value` as JSON at `{base}/{name}` and returns its URI.
async fn store_json(
    store: &impl RequestWriter,
    base: &S3Uri,
    name: &str,
    value: &impl Serialize,
) -> Result<String, ChunkerError> {
    let uri = S3Uri::new(base.bucket(), format!("{}/{name}", base.key()))?;
    let json = serde_json::to_vec(value).map_err(ChunkerError::Serialize)?;
    store.put(&uri, json).await?;
    Ok(uri.to_string())
}

/// The output's location without `.mp4`: the folder of the chunks, the soundtrack and a stored request.
fn output_base(output: &RenderOutput) -> Result<S3Uri, S3UriError> {
    let output = S3Uri::parse_str(&output.uri)?;
    let key = output.key().strip_suffix(".mp4").unwrap_or(output.key());
    S3Uri::new(output.bucket(), key)
}
