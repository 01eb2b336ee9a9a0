//! `vidpipe-job-builder`: a Step Functions task turning a job request into `{"CreateJob": {...}}`, the parameters
//! of `mediaconvert:createJob(.sync)`.
//!
//! Input (`kind` selects the builder):
//! - `{"kind":"composite","output":{bucket,prefix,stream},"screen":{uri,media},"camera":{uri,media},"options":{..}}`
//! - `{"kind":"single","output":{..},"source":{uri,media},"options":{max_width}}`
//! - `{"kind":"chunk","request":{..} | "request_uri":"s3://..","chunk":{index,start_frame,end_frame},
//!   "output_uri":"s3://...mp4","media":{uri: media} | "media_uri":"s3://.."}` (the chunk's place in the render's
//!   work folder and the chunker's probe results, inline or stored, as the chunker planned them)
//! - `{"kind":"preview","source":{uri,media},"destination":"s3://bucket/prefix/","preview_id":"..","options":{..}}`
//!
//! Bad input fails the task with the error type `InvalidJobRequest`, which a state machine can Catch; a render
//! request that cannot be read for another reason fails with `RequestUnavailable`, which it can Retry.

pub mod config;
mod error;

use std::collections::BTreeMap;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vidpipe_core::job::{
    CompositeOptions, CompositeOutput, CreateJobRequest, JobContext, MediaInfo, PreviewOptions,
    Recording, SingleOptions, chunk_job, composite_job, preview_job, single_job,
};
use vidpipe_core::render::ports::{RequestReader, read_document};
use vidpipe_core::render::{Chunk, RenderRequest};
use vidpipe_core::s3uri::S3Uri;

pub use error::JobBuilderError;

/// The task input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum JobRequest {
    /// Screen plus camera picture-in-picture.
    Composite {
        /// The stream's output location.
        output: CompositeOutput,
        /// The screen recording (base input).
        screen: Recording,
        /// The camera recording (overlay).
        camera: Recording,
        /// Layout, maximum width, camera offset.
        #[serde(default)]
        options: CompositeOptions,
    },
    /// One recording to the stream's output key.
    Single {
        /// The stream's output location.
        output: CompositeOutput,
        /// The recording.
        source: Recording,
        /// Maximum width.
        #[serde(default)]
        options: SingleOptions,
    },
    /// One chunk of a render request, given inline or by S3 URI.
    Chunk {
        /// The request, inline.
        #[serde(default)]
        request: Option<RenderRequest>,
        /// The request, stored in S3 (for requests too large for a Step Functions payload).
        #[serde(default)]
        request_uri: Option<S3Uri>,
        /// The chunk to render.
        chunk: Chunk,
        /// Where the chunk goes (`….mp4`): the chunker's plan places it in the render's work folder.
        output_uri: S3Uri,
        /// Probe results by source URI (overlay images need theirs), inline.
        #[serde(default)]
        media: Option<BTreeMap<String, MediaInfo>>,
        /// Probe results by source URI, stored in S3 (beside a request passed by URI).
        #[serde(default)]
        media_uri: Option<S3Uri>,
    },
    /// A segmented preview with a poster.
    Preview {
        /// The recording.
        source: Recording,
        /// Folder of the preview, `s3://bucket/prefix/`.
        destination: S3Uri,
        /// Identifies the preview in job metadata.
        preview_id: String,
        /// Format and maximum width.
        #[serde(default)]
        options: PreviewOptions,
    },
}

/// The task output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobBuilderOutput {
    /// `CreateJob` parameters in PascalCase.
    #[serde(rename = "CreateJob")]
    pub create_job: CreateJobRequest,
}

/// The Lambda handler.
pub async fn handle(
    event: LambdaEvent<Value>,
    context: &JobContext,
    store: &impl RequestReader,
) -> Result<JobBuilderOutput, Diagnostic> {
    build(event.payload, context, store).await.map_err(|error| {
        tracing::warn!(%error, "job request rejected");
        vidpipe_lambda::diagnostic(&error)
    })
}

/// Builds the job for one task input.
pub async fn build(
    payload: Value,
    context: &JobContext,
    store: &impl RequestReader,
) -> Result<JobBuilderOutput, JobBuilderError> {
    let request: JobRequest = serde_json::from_value(payload).map_err(JobBuilderError::Input)?;
    let job = match request {
        JobRequest::Composite {
            output,
            screen,
            camera,
            options,
        } => composite_job(context, &output, &screen, &camera, &options)?,
        JobRequest::Single {
            output,
            source,
            options,
        } => single_job(context, &output, &source, &options)?,
        JobRequest::Preview {
            source,
            destination,
            preview_id,
            options,
        } => preview_job(context, &source, &destination, &preview_id, &options)?,
        JobRequest::Chunk {
            request,
            request_uri,
            chunk,
            output_uri,
            media,
            media_uri,
        } => {
            let request = match (request, request_uri) {
                (Some(request), None) => request,
                (None, Some(uri)) => load_request(store, &uri).await?,
                _ => return Err(JobBuilderError::RequestOrUri),
            };
            let media = match (media, media_uri) {
                (Some(media), None) => media,
                (None, Some(uri)) => load_media(store, &uri).await?,
                (None, None) => BTreeMap::new(),
                (Some(_), Some(_)) => return Err(JobBuilderError::MediaOrUri),
            };
            chunk_job(context, &request, &chunk, &output_uri, &media)?
        }
    };
    tracing::info!(
        token = job.client_request_token.as_deref(),
        "built MediaConvert job"
    );
    Ok(JobBuilderOutput { create_job: job })
}

/// A render request stored by the chunker.
async fn load_request(
    store: &impl RequestReader,
    uri: &S3Uri,
) -> Result<RenderRequest, JobBuilderError> {
    let text = read_document(store, uri).await?;
    RenderRequest::from_json(&text).map_err(|source| JobBuilderError::StoredRequest {
        uri: uri.clone(),
        source,
    })
}

/// Probe results stored by the chunker beside a request passed by URI.
async fn load_media(
    store: &impl RequestReader,
    uri: &S3Uri,
) -> Result<BTreeMap<String, MediaInfo>, JobBuilderError> {
    let text = read_document(store, uri).await?;
    serde_json::from_str(&text).map_err(|source| JobBuilderError::StoredMedia {
        uri: uri.clone(),
        source,
    })
}
