//! `vidpipe-job-builder`: a Step Functions task turning a job request into `{"CreateJob": {...}}`, the parameters
//! of `mediaconvert:createJob(.sync)`.
//!
//! Input (`kind` selects the builder):
//! - `{"kind":"composite","output":{bucket,prefix,stream},"screen":{uri,media},"camera":{uri,media},"options":{..}}`
//! - `{"kind":"single","output":{..},"source":{uri,media},"options":{max_width}}`
//! - `{"kind":"chunk","request":{..} | "request_uri":"s3://..","chunk":{index,start_frame,end_frame},
//!   "media":{uri: media} | "media_uri":"s3://.."}` (the chunker's probe results, inline or stored)
//! - `{"kind":"preview","source":{uri,media},"destination":"s3://bucket/prefix/","preview_id":"..","options":{..}}`
//!
//! Bad input fails the task with the error type `InvalidJobRequest`, which a state machine can Catch; a render
//! request that cannot be read for another reason fails with `RequestUnavailable`, which it can Retry.

use std::collections::BTreeMap;
use std::future::Future;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vidpipe_aws::objects::ObjectError;
use vidpipe_core::job::{
    CompositeOptions, CompositeOutput, CreateJobRequest, JobContext, MediaInfo, PreviewOptions,
    Recording, SingleOptions, chunk_job, composite_job, preview_job, single_job,
};
use vidpipe_core::render::{Chunk, RenderError, RenderRequest};
use vidpipe_core::s3uri::S3Uri;

/// Largest render request read from S3 (a request that big is already far past Step Functions' payload limit).
pub const MAX_REQUEST_BYTES: u64 = 16 * 1024 * 1024;

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

/// Why the task failed.
#[derive(Debug, thiserror::Error)]
pub enum JobBuilderError {
    /// The input cannot make a valid job (error type `InvalidJobRequest`).
    #[error("{0}")]
    InvalidJobRequest(String),
    /// The render request could not be read from S3 for a reason other than bad input (error type
    /// `RequestUnavailable`).
    #[error("{0}")]
    RequestUnavailable(String),
}

impl From<JobBuilderError> for Diagnostic {
    fn from(error: JobBuilderError) -> Self {
        let error_type = match &error {
            JobBuilderError::InvalidJobRequest(_) => "InvalidJobRequest",
            JobBuilderError::RequestUnavailable(_) => "RequestUnavailable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Where stored render requests are read from.
pub trait RequestStore {
    /// The bytes of the object at `uri`, at most `limit` of them.
    fn fetch(
        &self,
        uri: &S3Uri,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<u8>, ObjectError>> + Send;
}

/// Render requests stored in S3.
#[derive(Debug, Clone)]
pub struct S3RequestStore(pub aws_sdk_s3::Client);

impl RequestStore for S3RequestStore {
    async fn fetch(&self, uri: &S3Uri, limit: u64) -> Result<Vec<u8>, ObjectError> {
        vidpipe_aws::objects::get_object_bytes(&self.0, uri, limit).await
    }
}

/// The Lambda handler.
pub async fn handle(
    event: LambdaEvent<Value>,
    context: &JobContext,
    store: &impl RequestStore,
) -> Result<JobBuilderOutput, Diagnostic> {
    build(event.payload, context, store).await.map_err(|error| {
        tracing::warn!(%error, "job request rejected");
        Diagnostic::from(error)
    })
}

/// Builds the job for one task input.
pub async fn build(
    payload: Value,
    context: &JobContext,
    store: &impl RequestStore,
) -> Result<JobBuilderOutput, JobBuilderError> {
    let invalid = |e: &dyn std::fmt::Display| JobBuilderError::InvalidJobRequest(e.to_string());
    let request: JobRequest = serde_json::from_value(payload).map_err(|e| invalid(&e))?;
    let job = match request {
        JobRequest::Composite {
            output,
            screen,
            camera,
            options,
        } => composite_job(context, &output, &screen, &camera, &options),
        JobRequest::Single {
            output,
            source,
            options,
        } => single_job(context, &output, &source, &options),
        JobRequest::Preview {
            source,
            destination,
            preview_id,
            options,
        } => preview_job(context, &source, &destination, &preview_id, &options),
        JobRequest::Chunk {
            request,
            request_uri,
            chunk,
            media,
            media_uri,
        } => {
            let request = match (request, request_uri) {
                (Some(request), None) => request,
                (None, Some(uri)) => load_request(store, &uri).await?,
                _ => {
                    return Err(invalid(
                        &"a chunk needs exactly one of `request` and `request_uri`",
                    ));
                }
            };
            let media = match (media, media_uri) {
                (Some(media), None) => media,
                (None, Some(uri)) => {
                    let text = load_text(store, &uri).await?;
                    serde_json::from_str(&text)
                        .map_err(|e| JobBuilderError::InvalidJobRequest(format!("{uri}: {e}")))?
                }
                (None, None) => BTreeMap::new(),
                (Some(_), Some(_)) => {
                    return Err(invalid(&"give at most one of `media` and `media_uri`"));
                }
            };
            chunk_job(context, &request, &chunk, &media)
        }
    }
    .map_err(|e| invalid(&e))?;
    tracing::info!(
        token = job.client_request_token.as_deref(),
        "built MediaConvert job"
    );
    Ok(JobBuilderOutput { create_job: job })
}

async fn load_request(
    store: &impl RequestStore,
    uri: &S3Uri,
) -> Result<RenderRequest, JobBuilderError> {
    let text = load_text(store, uri).await?;
    RenderRequest::from_json(&text)
        .map_err(|e: RenderError| JobBuilderError::InvalidJobRequest(format!("{uri}: {e}")))
}

/// The UTF-8 text of a stored document: a render request or its probe results.
async fn load_text(store: &impl RequestStore, uri: &S3Uri) -> Result<String, JobBuilderError> {
    let bytes = store
        .fetch(uri, MAX_REQUEST_BYTES)
        .await
        .map_err(|e| match e {
            ObjectError::NotFound(_) | ObjectError::TooLarge { .. } => {
                JobBuilderError::InvalidJobRequest(e.to_string())
            }
            ObjectError::S3 { .. } => JobBuilderError::RequestUnavailable(e.to_string()),
        })?;
    String::from_utf8(bytes)
        .map_err(|e| JobBuilderError::InvalidJobRequest(format!("{uri} is not UTF-8 JSON: {e}")))
}
