//! [`LambdaTranscoder`]: the ffmpeg backend on Lambda (`functions/transcoder`) as a [`Transcoder`]
//! (`MEDIACONVERT_BACKEND=lambda`).
//!
//! `create_job` invokes the function asynchronously (`InvocationType=Event`) with the job and an id chosen here, and
//! answers that id at once, as MediaConvert's `CreateJob` does; the function runs the job and puts its
//! MediaConvert-shaped events on the bus. `probe` invokes it synchronously. The payloads are
//! [`vidpipe_core::transcoder::Invocation`]s. `cancel_job` stops a job the function runs in chunks (an execution
//! of the transcode state machine named after the job) and marks any other canceled in the table, where a job the
//! function runs whole in one invocation looks for its mark while it runs.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use vidpipe_core::error::{Cause, Chain};
use vidpipe_core::job::{CreateJobRequest, MediaInfo};
use vidpipe_core::ports::{CancelOutcome, CanceledJobs, TranscodeError, Transcoder};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::transcoder::{INPUT_UNUSABLE, Invocation};

use crate::dynamo::DynamoCanceledJobs;
use crate::stepfunctions::StepFunctionsRenders;

/// Why an invocation of the transcoder function failed.
#[derive(Debug, thiserror::Error)]
pub enum LambdaTranscoderError {
    /// The `Invoke` call failed (network, throttling, permissions, no such function).
    #[error("Lambda Invoke of {function} failed: {}", Chain(.source.as_ref()))]
    Invoke {
        /// The function.
        function: String,
        /// The SDK's error.
        #[source]
        source: Cause,
    },
    /// The function ran and failed.
    #[error("{function} failed: {error_type}: {message}")]
    Function {
        /// The function.
        function: String,
        /// The function's error type (`InputUnusable`, ...).
        error_type: String,
        /// Its message.
        message: String,
    },
    /// The function's answer is not what a probe answers.
    #[error("{function} answered a probe with {answer}")]
    Answer {
        /// The function.
        function: String,
        /// What it answered.
        answer: String,
    },
    /// A job without a `ClientRequestToken`: the job id is made from it, so a job submitted twice has one id.
    #[error("a job for the Lambda backend needs a ClientRequestToken")]
    NoToken,
}

impl LambdaTranscoderError {
    /// Whether the failure is the input's own (a probe of a file that is not media): no retry can help.
    fn is_unusable_input(&self) -> bool {
        matches!(self, Self::Function { error_type, .. } if error_type == INPUT_UNUSABLE)
            || matches!(self, Self::NoToken)
    }
}

/// The transcoder function, invoked through Lambda's API.
#[derive(Debug, Clone)]
pub struct LambdaTranscoder {
    client: Client,
    function: String,
    chunked: Option<StepFunctionsRenders>,
    canceled: Option<DynamoCanceledJobs>,
}

/// The error a canceled job's execution stops with.
const JOB_CANCELED: &str = "JobCanceled";

/// How long a job's cancel mark is kept: past any run of it, Lambda's retries of an asynchronous invocation included
/// (they end within the event's maximum age, 6 hours at most).
pub const CANCEL_MARK_SECONDS: u64 = 86_400;

impl LambdaTranscoder {
    /// Invokes `function` (a name or ARN).
    pub fn new(client: Client, function: impl Into<String>) -> Self {
        Self {
            client,
            function: function.into(),
            chunked: None,
            canceled: None,
        }
    }

    /// Cancels the jobs the function runs whole by marking them in `marks` (the table the function reads as
    /// `TABLE_NAME`).
    pub fn with_cancel_marks(mut self, marks: DynamoCanceledJobs) -> Self {
        self.canceled = Some(marks);
        self
    }

    /// Cancels the jobs the function runs in chunks by stopping their executions of the transcode state machine
    /// (`TRANSCODE_STATE_MACHINE_ARN`, the function's own).
    pub fn with_chunked_jobs(mut self, executions: StepFunctionsRenders) -> Self {
        self.chunked = Some(executions);
        self
    }

    async fn invoke(
        &self,
        invocation: &Invocation,
        kind: InvocationType,
    ) -> Result<Option<serde_json::Value>, LambdaTranscoderError> {
        let output = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(kind)
            .payload(Blob::new(invocation.to_json().to_string()))
            .send()
            .await
            .map_err(|e| LambdaTranscoderError::Invoke {
                function: self.function.clone(),
                source: Box::new(e),
            })?;
        let answer = output
            .payload()
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(p.as_ref()).ok());
        if let Some(error_type) = output.function_error() {
            let answer = answer.unwrap_or_default();
            return Err(LambdaTranscoderError::Function {
                function: self.function.clone(),
                error_type: answer["errorType"]
                    .as_str()
                    .unwrap_or(error_type)
                    .to_owned(),
                message: answer["errorMessage"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(answer)
    }
}

fn transcode_error(error: LambdaTranscoderError) -> TranscodeError {
    if error.is_unusable_input() {
        TranscodeError::Unusable(Box::new(error))
    } else {
        TranscodeError::Unavailable(Box::new(error))
    }
}

impl Transcoder for LambdaTranscoder {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, TranscodeError> {
        let invocation = Invocation::Probe { uri: uri.clone() };
        let answer = self
            .invoke(&invocation, InvocationType::RequestResponse)
            .await
            .map_err(transcode_error)?
            .unwrap_or_default();
        serde_json::from_value(answer.clone()).map_err(|_| {
            transcode_error(LambdaTranscoderError::Answer {
                function: self.function.clone(),
                answer: answer.to_string(),
            })
        })
    }

    /// Invokes the function with the job under an id made from its `ClientRequestToken`: submitting the same job
    /// again gives the same id (Lambda may run an asynchronous invocation more than once; a run again writes the
    /// same outputs and reports under the same id, and the status rules only move forward).
    async fn create_job(&self, job: &CreateJobRequest) -> Result<String, TranscodeError> {
        let job_id = job
            .client_request_token
            .clone()
            .ok_or(LambdaTranscoderError::NoToken)
            .map_err(transcode_error)?;
        let invocation = Invocation::Job {
            job_id: job_id.clone(),
            job: serde_json::to_value(job).map_err(|e| TranscodeError::Unavailable(Box::new(e)))?,
        };
        self.invoke(&invocation, InvocationType::Event)
            .await
            .map_err(transcode_error)?;
        tracing::info!(%job_id, function = %self.function, "transcoder job submitted");
        Ok(job_id)
    }

    /// Lambda keeps no list of jobs to search: `None`. A handler that takes over a claim submits the job again under
    /// the same `ClientRequestToken`, so with the same id ([`LambdaTranscoder::create_job`]).
    async fn find_job(
        &self,
        _stream: &str,
        _generation: u64,
        _created_after_ms: u64,
    ) -> Result<Option<String>, TranscodeError> {
        Ok(None)
    }

    /// A job in chunks is canceled by stopping its execution: no chunk is started after it, and neither the join
    /// nor the job's COMPLETE or ERROR event comes (the chunks already running finish into the work folder). Any
    /// other job is marked canceled (with [`LambdaTranscoder::with_cancel_marks`]): a job that runs whole in one
    /// invocation looks for its mark before it starts and every few seconds while it runs, and stops before it
    /// stores anything (a run of it that ended already, or ends within one look, is not undone). Without marks such a
    /// job cannot be stopped from outside and runs to its end: answered as finished. Either way the caller has
    /// recorded the job as superseded or gone before this is called, so its events no longer move anything.
    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        if let Some(executions) = &self.chunked {
            let stopped = executions
                .stop_running(job_id, JOB_CANCELED)
                .await
                .map_err(|e| TranscodeError::Unavailable(Box::new(e)))?;
            if stopped {
                tracing::info!(%job_id, "job in chunks canceled: its execution is stopped");
                return Ok(CancelOutcome::Canceled);
            }
        }
        let Some(marks) = &self.canceled else {
            tracing::warn!(%job_id, "no running execution of this job: a job run whole runs to its end");
            return Ok(CancelOutcome::AlreadyFinished);
        };
        let expires_at = vidpipe_core::clock::now_ms() / 1000 + CANCEL_MARK_SECONDS;
        marks
            .mark_canceled(job_id, expires_at)
            .await
            .map_err(|e| TranscodeError::Unavailable(Box::new(e)))?;
        tracing::info!(%job_id, "job marked canceled: a run of it stops before it stores anything");
        Ok(CancelOutcome::Canceled)
    }
}
