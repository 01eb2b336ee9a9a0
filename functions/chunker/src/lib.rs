//! `vidpipe-chunker`: the render state machine's first Task. It validates a render request (v1) and plans its
//! chunks (`vidpipe_core::render::plan`).
//!
//! Input: `{"request": {...}}`, `{"request_uri": "s3://..."}` or a call's `{"export": {...}}`, with the caller's `owner` and `render_id` for a
//! render started through the API, and the state machine's `execution` name. Output: the [`RenderPlan`], the state
//! machine's data from then on. The plan carries the request inline, or, when the plan with it would be over
//! [`INLINE_LIMIT_BYTES`] (Step Functions payloads stop at 256 KiB) or a custom renderer needs a URI, by
//! `request_uri` only: a request that came inline is then stored at `request.json` in the render's work folder.
//!
//! The request is confined before anything is probed or written ([`RenderRequest::confine`], under the configured
//! [`RenderScope`]): sources and output in the configured bucket, a custom renderer from `RENDERER_ARNS`, and, with
//! an `owner`, every source among the owner's assets or the shared ones and the output exactly the owner's render
//! folder's `output.mp4`. The render's work files (chunks, mixed soundtrack, stored request and probe results) go to
//! the work folder of its execution, `{output folder}work/{execution}/` ([`WorkFolder`]), so two renders running at
//! once never share a chunk, even with one output URI. Without `execution` (a direct invocation: tests,
//! `cargo lambda invoke`) the request's `render_id` names the folder.
//!
//! Before planning, every distinct overlay image and video source is probed once ([`sources`]); the results travel
//! with the request: inline as `media` (`{uri: MediaInfo}`), or, when the request travels by URI, stored at
//! `media.json` in the work folder and passed as `media_uri`.
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
use vidpipe_core::call::export::CallExport;
use vidpipe_core::job::{MediaInfo, Size, max_bitrate};
use vidpipe_core::limits::SourceLimits;
pub use vidpipe_core::render::PlannedChunk;
use vidpipe_core::render::ports::{
    HeaderReader, RequestReader, RequestWriter, VideoProber, read_document,
};
use vidpipe_core::render::scope::{RenderScope, WorkFolder};
use vidpipe_core::render::{Chunk, RenderOutput, RenderRequest, Renderer, Soundtrack};
use vidpipe_core::s3uri::S3Uri;

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
    /// A call's export (`POST /recordings/{recording_id}/export`): its tracks are checked to be the call's and
    /// probed, and it is laid out into the render request planned here (`CallExport::render_request`).
    #[serde(default)]
    pub export: Option<CallExport>,
    /// Whose render this is (`jwt:user-123`), for a render started through the API: its sources and output are
    /// confined to the owner's space. Absent for an operator's run.
    #[serde(default)]
    pub owner: Option<String>,
    /// The render id the API gave the render; the request's `render_id` must match it.
    #[serde(default)]
    pub render_id: Option<String>,
    /// The state machine's execution name: it names the render's work folder.
    #[serde(default)]
    pub execution: Option<String>,
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
    /// Where the mixed soundtrack is written: `soundtrack.m4a` in the render's work folder.
    pub soundtrack_uri: String,
    /// Probe results of the overlay images and video sources by URI, when the request is inline.
    pub media: Option<BTreeMap<String, MediaInfo>>,
    /// Where those probe results are stored (`media.json` in the work folder), when the request is not.
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
    scope: &RenderScope,
) -> Result<RenderPlan, Diagnostic> {
    plan(event.payload, store, prober, limits, scope)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "render request rejected");
            vidpipe_lambda::diagnostic(&error)
        })
}

/// Validates, confines to `scope`, probes the sources of, and plans one task input.
pub async fn plan(
    payload: Value,
    store: &(impl RequestReader + RequestWriter + HeaderReader),
    prober: &impl VideoProber,
    limits: &RenderLimits,
    scope: &RenderScope,
) -> Result<RenderPlan, ChunkerError> {
    let input: ChunkerInput = serde_json::from_value(payload).map_err(ChunkerError::Input)?;
    let mut probed = BTreeMap::new();
    let (request, read_from) = match (input.request, input.request_uri, input.export) {
        (Some(request), None, None) => (RenderRequest::from_json(&request.to_string())?, None),
        (None, Some(uri), None) => {
            let text = read_document(store, &uri).await?;
            (RenderRequest::from_json(&text)?, Some(uri))
        }
        (None, None, Some(export)) => {
            let bucket = scope.bucket.as_deref().ok_or(ChunkerError::ExportBucket)?;
            let uris = export.track_uris(bucket, &scope.key_prefix)?;
            probed = sources::probe_tracks(&uris, prober).await?;
            let renderer = scope.export_renderer();
            let request = export.render_request(bucket, &scope.key_prefix, &probed, renderer)?;
            (request, None)
        }
        _ => return Err(ChunkerError::RequestOrUri),
    };
    if let Some(render_id) = input.render_id.filter(|id| *id != request.render_id) {
        return Err(ChunkerError::RenderIdMismatch {
            given: render_id,
            request: request.render_id,
        });
    }
    request.confine(scope, input.owner.as_deref())?;
    let chunks = request.plan()?;
    let work = request.work_folder(input.execution.as_deref().unwrap_or(&request.render_id))?;
    let total_frames = chunks.last().map_or(0, |c| c.end_frame);
    let needed = assembler_disk_bytes(&request, total_frames);
    if needed > limits.assembler_disk_bytes {
        return Err(ChunkerError::TooLargeForAssembler {
            needed,
            available: limits.assembler_disk_bytes,
        });
    }
    let media = sources::probe_sources(&request, store, prober, probed).await?;
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
    let mut plan = RenderPlan::new(request, read_from, &chunks, &work, media);
    plan.owner = input.owner;
    let by_reference = plan.request.is_none()
        || matches!(plan.renderer, Renderer::Lambda(_))
        || plan.size() > INLINE_LIMIT_BYTES;
    if by_reference {
        plan.pass_by_reference(store, &work).await?;
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
        work = %work.uri(),
        total_frames = plan.total_frames,
        chunks = plan.chunks.len(),
        by_reference = plan.request.is_none(),
        "render planned"
    );
    Ok(plan)
}

impl RenderPlan {
    /// The plan of a valid `request` (read from `read_from`, or inline) cut into `chunks` rendered into `work`,
    /// with the request and the probe results of its sources (`media`) inline.
    fn new(
        request: RenderRequest,
        read_from: Option<S3Uri>,
        chunks: &[Chunk],
        work: &WorkFolder,
        media: BTreeMap<String, MediaInfo>,
    ) -> Self {
        let chunks = work.planned(chunks);
        Self {
            render_id: request.render_id.clone(),
            owner: None,
            request_uri: read_from.as_ref().map(S3Uri::to_string),
            output: request.output.clone(),
            total_frames: request.total_frames(),
            max_concurrency: request.map_concurrency(),
            renderer: request.renderer.clone(),
            chunks,
            soundtrack: request.soundtrack.clone(),
            soundtrack_uri: work.file("soundtrack.m4a").to_string(),
            media: Some(media),
            media_uri: None,
            request: read_from.is_none().then_some(request),
        }
    }

    /// The plan's size as JSON, in bytes.
    fn size(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |json| json.len())
    }

    /// Stores a request that came inline at `request.json` in the work folder, and the probe results at
    /// `media.json` beside it, and passes both by URI.
    async fn pass_by_reference(
        &mut self,
        store: &impl RequestWriter,
        work: &WorkFolder,
    ) -> Result<(), ChunkerError> {
        if let Some(request) = self.request.take() {
            self.request_uri = Some(store_json(store, &work.file("request.json"), &request).await?);
        }
        let media = self.media.take().unwrap_or_default();
        self.media_uri = Some(store_json(store, &work.file("media.json"), &media).await?);
        Ok(())
    }
}

/// Stores `value` as JSON at `uri` and returns the URI.
async fn store_json(
    store: &impl RequestWriter,
    uri: &S3Uri,
    value: &impl Serialize,
) -> Result<String, ChunkerError> {
    let json = serde_json::to_vec(value).map_err(ChunkerError::Serialize)?;
    store.put(uri, json).await?;
    Ok(uri.to_string())
}
