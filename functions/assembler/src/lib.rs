//! `vidpipe-assembler`: the render flow's last media steps, one function with two actions.
//!
//! - `mix`: `{"action": "mix", "render_id", "soundtrack": {voiceover?, music?, music_volume?, ducking?} | null,
//!   "total_frames", "fps", "output_uri", "request"?: {..} | null, "request_uri"?: "s3://.." | null}` ->
//!   `{"soundtrack_uri": "..." | null, "duration_ms"}`. The soundtrack and the video scenes' own sound (from the
//!   render request, inline or stored: `RenderRequest::scene_sounds`) are mixed once to the video's exact length and
//!   encoded to AAC 48 kHz stereo; with no soundtrack and no scene video with audio nothing is written and
//!   `soundtrack_uri` is null.
//! - `assemble`: `{"action": "assemble", "render_id", "output": {uri, width, height, fps}, "total_frames",
//!   "chunks": [{index, start_frame, end_frame, output_uri}], "soundtrack_uri": "..." | null}` ->
//!   `{"output_uri", "frames", "duration_ms"}`. The chunks are joined without re-encoding the video and the
//!   soundtrack is muxed in (a null soundtrack gives a video without audio).
//!
//! Failures carry an error type a Step Functions Catch or Retry matches: `InvalidInput` (the event does not fit
//! these shapes, or cannot be carried out), `ChunkMissing`, `ChunkMismatch`, `FrameCountMismatch`, `OutputExists` (the
//! output's key holds an object already: it is never overwritten, and the error is not retried), `SourceMissing`,
//! `MediaFailed`, `StorageFailed` (transient: worth a Retry).

pub mod config;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vidpipe_core::render::{Chunk, RenderError, RenderOutput, RenderRequest, Soundtrack};
use vidpipe_engine::{AssembleError, Assembler, ChunkFile, JoinSpec, MixSpec, frames_to_ms};
use vidpipe_lambda::ErrorType;

/// The task input, selected by `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum AssemblerRequest {
    /// Mix the soundtrack.
    Mix(MixRequest),
    /// Join the chunks and mux the soundtrack in.
    Assemble(AssembleRequest),
}

/// `mix`: the request's soundtrack, for a video of `total_frames` frames at `fps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixRequest {
    /// The render (for logs).
    pub render_id: String,
    /// The render request's soundtrack, or null.
    pub soundtrack: Option<Soundtrack>,
    /// Frames of the video.
    pub total_frames: u64,
    /// Frames per second of the video.
    pub fps: u32,
    /// Where the mixed M4A goes.
    pub output_uri: String,
    /// The render request, when the plan carries it inline: its video scenes' sound is mixed in. Boxed: a request
    /// is large beside the rest of the input.
    #[serde(default)]
    pub request: Option<Box<RenderRequest>>,
    /// Where the render request is stored, when the plan carries it by reference.
    #[serde(default)]
    pub request_uri: Option<String>,
}

/// `mix`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MixResponse {
    /// The mixed soundtrack, or null when the request has none.
    pub soundtrack_uri: Option<String>,
    /// The video's length in milliseconds.
    pub duration_ms: u64,
}

/// `assemble`: the chunks of the plan, in order, and the mixed soundtrack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssembleRequest {
    /// The render (for logs).
    pub render_id: String,
    /// The finished video's location, size and frame rate.
    pub output: RenderOutput,
    /// Frames of the whole video.
    pub total_frames: u64,
    /// The chunks, in index order.
    pub chunks: Vec<ChunkOutput>,
    /// The mixed soundtrack, or null for a video without audio.
    pub soundtrack_uri: Option<String>,
}

/// One chunk of the plan with the MP4 it was rendered to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkOutput {
    /// Position in the join order, from 0.
    pub index: u32,
    /// First frame.
    pub start_frame: u64,
    /// One past the last frame.
    pub end_frame: u64,
    /// The chunk's MP4.
    pub output_uri: String,
}

/// `assemble`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssembleResponse {
    /// The finished video.
    pub output_uri: String,
    /// Its frames (the plan's).
    pub frames: u64,
    /// Its length in milliseconds.
    pub duration_ms: u64,
}

/// The task output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AssemblerResponse {
    /// From `mix`.
    Mix(MixResponse),
    /// From `assemble`.
    Assemble(AssembleResponse),
}

/// Why the task failed.
#[derive(Debug, thiserror::Error)]
pub enum AssemblerError {
    /// The event does not fit the input shapes (error type `InvalidInput`).
    #[error("invalid input: {0}")]
    Input(#[source] serde_json::Error),
    /// A mix without a soundtrack for a video of no frame rate (error type `InvalidInput`).
    #[error("invalid input: fps must be at least 1")]
    ZeroFps,
    /// The stored render request is not a valid one (error type `InvalidInput`).
    #[error("invalid input: the stored render request: {0}")]
    Request(#[from] RenderError),
    /// The mix or the join failed (error type: the engine's name for the failure).
    #[error(transparent)]
    Assemble(#[from] AssembleError),
}

impl ErrorType for AssemblerError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Input(_) | Self::ZeroFps | Self::Request(_) => "InvalidInput",
            Self::Assemble(error) => error.error_type(),
        }
    }
}

/// The Lambda handler.
pub async fn handle(
    event: LambdaEvent<Value>,
    assembler: &Assembler,
) -> Result<AssemblerResponse, Diagnostic> {
    run(event.payload, assembler).await.map_err(|error| {
        tracing::warn!(error_type = error.error_type(), %error, "assembler task failed");
        vidpipe_lambda::diagnostic(&error)
    })
}

/// Carries out one task input.
pub async fn run(
    payload: Value,
    assembler: &Assembler,
) -> Result<AssemblerResponse, AssemblerError> {
    let request: AssemblerRequest =
        serde_json::from_value(payload).map_err(AssemblerError::Input)?;
    // Boxed: the engine's futures are deep, and the Lambda runtime nests them further.
    match request {
        AssemblerRequest::Mix(request) => Box::pin(mix(request, assembler))
            .await
            .map(AssemblerResponse::Mix),
        AssemblerRequest::Assemble(request) => Box::pin(assemble(request, assembler))
            .await
            .map(AssemblerResponse::Assemble),
    }
}

async fn mix(request: MixRequest, assembler: &Assembler) -> Result<MixResponse, AssemblerError> {
    let render = match (request.request, &request.request_uri) {
        (Some(render), _) => Some(*render),
        (None, Some(uri)) => Some(RenderRequest::from_json(
            &assembler.read_document(uri).await?,
        )?),
        (None, None) => None,
    };
    let scenes = render.map(|r| r.scene_sounds()).unwrap_or_default();
    let silent = MixResponse {
        soundtrack_uri: None,
        duration_ms: frames_to_ms(request.total_frames, request.fps),
    };
    if request.soundtrack.is_none() && scenes.is_empty() {
        tracing::info!(render_id = %request.render_id, "no soundtrack and no video scene to mix");
        if request.fps == 0 {
            return Err(AssemblerError::ZeroFps);
        }
        return Ok(silent);
    }
    let soundtrack = request.soundtrack.unwrap_or(Soundtrack {
        voiceover: None,
        music: None,
        music_volume: None,
        ducking: None,
    });
    let mixed = assembler
        .mix(&MixSpec {
            voiceover: soundtrack.voiceover,
            music: soundtrack.music,
            music_volume: soundtrack.music_volume,
            ducking: soundtrack.ducking.unwrap_or_default(),
            scenes,
            frames: request.total_frames,
            fps: request.fps,
            output_uri: request.output_uri.clone(),
        })
        .await?;
    let Some(mixed) = mixed else {
        tracing::info!(render_id = %request.render_id, "no soundtrack and no scene video with audio: no sound");
        return Ok(silent);
    };
    tracing::info!(render_id = %request.render_id, uri = %request.output_uri, scenes_heard = mixed.scenes_heard, "soundtrack mixed");
    Ok(MixResponse {
        soundtrack_uri: Some(request.output_uri),
        duration_ms: mixed.duration_ms,
    })
}

async fn assemble(
    request: AssembleRequest,
    assembler: &Assembler,
) -> Result<AssembleResponse, AssemblerError> {
    let joined = assembler
        .join(&JoinSpec {
            chunks: request
                .chunks
                .into_iter()
                .map(|c| ChunkFile {
                    chunk: Chunk {
                        index: c.index,
                        start_frame: c.start_frame,
                        end_frame: c.end_frame,
                    },
                    uri: c.output_uri,
                })
                .collect(),
            width: request.output.width,
            height: request.output.height,
            fps: request.output.fps,
            total_frames: request.total_frames,
            soundtrack_uri: request.soundtrack_uri,
            output_uri: request.output.uri.clone(),
            thumbnails: request.output.thumbnails.clone(),
            replace: false,
        })
        .await?;
    tracing::info!(render_id = %request.render_id, uri = %request.output.uri, frames = joined.frames, "render assembled");
    Ok(AssembleResponse {
        output_uri: request.output.uri,
        frames: joined.frames,
        duration_ms: joined.duration_ms,
    })
}
