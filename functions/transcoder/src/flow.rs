//! Long jobs in chunks (`vidpipe_core::transcoder::chunked`, `statemachines/transcode.asl.json`).
//!
//! A job invocation lays a long job out as a render request and starts an execution of the transcode state
//! machine, named after the job: its Map renders the chunks with this function's chunk invocation, beside the
//! soundtrack step; then the join step writes the job's output and reports it COMPLETE, or the failed step reports
//! it in ERROR. The job's events are the whole job's, under its id, as one invocation's would be.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};
use vidpipe_aws::stepfunctions::StepFunctionsRenders;
use vidpipe_core::cost::{METADATA_LAMBDA_COST, lambda_cost_micro_usd};
use vidpipe_core::job::{CreateJobRequest, MediaInfo};
use vidpipe_core::jobevent::TRANSCODER_SOURCE;
use vidpipe_core::ports::{ExecutionError, RenderExecutions};
use vidpipe_core::render::ports::{FolderRemover, RequestWriter, read_document};
use vidpipe_core::render::{Chunk, Chunking, RenderRequest};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::transcoder::chunked::{ChunkableJob, ChunkedJob};
use vidpipe_core::transcoder::{ChunkProgress, FlowError, FlowResult, FlowStep};
use vidpipe_engine::{
    BusEvents, ChunkFile, Job, JobFailure, JobPhase, JobStatus, JoinSpec, MixSpec, OutputDetail,
    OutputGroupDetail, VideoDetails,
};

use crate::{Transcoder, TranscoderError};

/// The transcode state machine and its chunks' length (`TRANSCODE_STATE_MACHINE_ARN`, `TRANSCODE_CHUNK_SECONDS`).
#[derive(Debug, Clone)]
pub struct ChunkedFlow {
    /// Starts its executions.
    pub executions: StepFunctionsRenders,
    /// The chunks' limits.
    pub chunking: Chunking,
}

impl ChunkedFlow {
    /// Chunks of at most `chunk_seconds`, at most 40 rendered at once (an inline Map's limit).
    pub fn chunking(chunk_seconds: u32) -> Chunking {
        let max_chunk_s = f64::from(chunk_seconds);
        Chunking {
            max_chunk_s,
            min_chunk_s: (max_chunk_s / 2.0).min(10.0),
            max_concurrency: vidpipe_core::render::plan::MAX_MAP_CONCURRENCY,
        }
    }
}

/// Most bytes of an execution's input: Step Functions refuses more than 256 KiB.
const INPUT_LIMIT_BYTES: usize = 200 * 1024;

impl Transcoder {
    /// What this invocation has cost on Lambda so far, in micro-dollars (none off Lambda).
    pub(crate) fn cost_so_far(&self, started: Instant) -> Option<u64> {
        self.memory_mb
            .map(|mb| lambda_cost_micro_usd(started.elapsed().as_millis() as u64, mb))
    }

    /// Starts `job` as an execution of the transcode state machine when it is laid out in more than one chunk, and
    /// answers `{job_id, status, chunks}`; `None` when it runs whole: no flow is configured, its shape is not one
    /// the flow lays out, a source cannot be probed (the engine then reports why), or it fits in one chunk.
    pub(crate) async fn start_in_chunks(
        &self,
        job_id: &str,
        job: &Value,
        started: Instant,
    ) -> Result<Option<Value>, TranscoderError> {
        let Some(flow) = &self.flow else {
            return Ok(None);
        };
        let Ok(request) = serde_json::from_value::<CreateJobRequest>(job.clone()) else {
            return Ok(None);
        };
        let Some((render, media)) = self.lay_out(job_id, &request, flow).await else {
            return Ok(None);
        };
        let chunks = match render.plan() {
            Ok(chunks) if chunks.len() > 1 => chunks,
            _ => return Ok(None),
        };
        let Ok(work) = render.work_folder(job_id) else {
            return Ok(None);
        };
        let request_uri = work.file("request.json");
        let media_uri = work.file("media.json");
        let invalid = |e: serde_json::Error| TranscoderError::InvalidChunk(e.to_string());
        let stored = [
            (&request_uri, serde_json::to_vec(&render).map_err(invalid)?),
            (&media_uri, serde_json::to_vec(&media).map_err(invalid)?),
        ];
        for (uri, bytes) in stored {
            self.documents
                .put(uri, bytes)
                .await
                .map_err(|e| TranscoderError::FlowUnavailable(e.to_string()))?;
        }
        let chunked = ChunkedJob {
            job_id: job_id.to_owned(),
            user_metadata: request.user_metadata.clone().unwrap_or_default(),
            request_uri: request_uri.to_string(),
            media_uri: media_uri.to_string(),
            output: render.output.clone(),
            total_frames: render.total_frames(),
            max_concurrency: render.map_concurrency(),
            chunks: work.planned(&chunks),
            soundtrack_uri: (!render.sounds.is_empty())
                .then(|| work.file("soundtrack.m4a").to_string()),
            planning_cost_micro_usd: self.cost_so_far(started).unwrap_or(0),
        };
        let input = json!(chunked);
        if input.to_string().len() > INPUT_LIMIT_BYTES {
            tracing::warn!(
                job_id,
                chunks = chunks.len(),
                "too many chunks for one execution: the job runs whole"
            );
            return Ok(None);
        }
        let mut progressing = self.job_state(&chunked.job_id, &chunked.user_metadata);
        progressing.status = JobStatus::Progressing;
        self.put_events(job_id, &[progressing.event(false)]).await?;
        match flow.executions.start(job_id, &input).await {
            Ok(_) | Err(ExecutionError::AlreadyExists(_)) => {}
            Err(e) => return Err(TranscoderError::FlowUnavailable(e.to_string())),
        }
        tracing::info!(job_id, chunks = chunks.len(), work = %work.uri(), "job started in chunks");
        Ok(Some(
            json!({"job_id": job_id, "status": JobStatus::Progressing, "chunks": chunks.len()}),
        ))
    }

    /// The job as a render request, with its sources' probe results; `None` when it runs whole.
    async fn lay_out(
        &self,
        job_id: &str,
        request: &CreateJobRequest,
        flow: &ChunkedFlow,
    ) -> Option<(RenderRequest, BTreeMap<String, MediaInfo>)> {
        let chunkable = ChunkableJob::of(request)
            .inspect_err(|why| tracing::info!(job_id, %why, "not laid out in chunks"))
            .ok()?;
        let mut media = BTreeMap::new();
        for uri in chunkable.sources() {
            let info = self
                .engine
                .media_info(&S3Uri::parse_str(uri).ok()?)
                .await
                .ok()?;
            media.insert(uri.to_owned(), info);
        }
        let render = chunkable
            .render_request(job_id, &media, flow.chunking.clone())
            .inspect_err(|why| tracing::info!(job_id, %why, "not laid out in chunks"))
            .ok()?;
        Some((render, media))
    }

    /// Runs a step of the transcode state machine.
    pub(crate) async fn flow_step(
        &self,
        step: FlowStep,
        started: Instant,
    ) -> Result<Value, TranscoderError> {
        match step {
            FlowStep::Soundtrack { job } => self.mix(&job, started).await,
            FlowStep::Join {
                job,
                rendered,
                soundtrack,
            } => self.join(&job, &rendered, &soundtrack, started).await,
            FlowStep::Failed { job, error } => self.report_failure(&job, &error).await,
        }
    }

    /// Mixes the job's sound over its whole timeline (none for a job without sound).
    async fn mix(&self, job: &ChunkedJob, started: Instant) -> Result<Value, TranscoderError> {
        let output_uri = match &job.soundtrack_uri {
            Some(uri) => {
                let uri_parsed = S3Uri::parse_str(&job.request_uri)
                    .map_err(|e| TranscoderError::InvalidChunk(e.to_string()))?;
                let text = read_document(&self.documents, &uri_parsed).await?;
                let request = RenderRequest::from_json(&text)
                    .map_err(|e| TranscoderError::InvalidChunk(e.to_string()))?;
                let mixed = self
                    .assembler
                    .mix(&MixSpec {
                        voiceover: None,
                        music: None,
                        music_volume: None,
                        ducking: Default::default(),
                        scenes: request.scene_sounds(),
                        frames: job.total_frames,
                        fps: job.output.fps,
                        output_uri: uri.clone(),
                    })
                    .await?;
                mixed.map(|_| uri.clone())
            }
            None => None,
        };
        tracing::info!(job_id = job.job_id, soundtrack = ?output_uri, "job's sound mixed");
        Ok(json!(FlowResult {
            output_uri,
            cost_usd: self.cost_so_far(started).map(|c| c as f64 / 1e6),
        }))
    }

    /// Joins the chunks and the sound into the job's output (replacing an earlier generation's), then reports the
    /// job COMPLETE with its output's details and what all of its invocations cost.
    async fn join(
        &self,
        job: &ChunkedJob,
        rendered: &[FlowResult],
        soundtrack: &FlowResult,
        started: Instant,
    ) -> Result<Value, TranscoderError> {
        let chunks = job
            .chunks
            .iter()
            .map(|c| ChunkFile {
                chunk: Chunk {
                    index: c.index,
                    start_frame: c.start_frame,
                    end_frame: c.end_frame,
                },
                uri: c.output_uri.clone(),
            })
            .collect();
        let joined = self
            .assembler
            .join(&JoinSpec {
                chunks,
                width: job.output.width,
                height: job.output.height,
                fps: job.output.fps,
                total_frames: job.total_frames,
                soundtrack_uri: soundtrack.output_uri.clone(),
                output_uri: job.output.uri.clone(),
                thumbnails: None,
                replace: true,
            })
            .await?;
        let mut complete = self.job_state(&job.job_id, &job.user_metadata);
        complete.status = JobStatus::Complete;
        complete.job_percent_complete = Some(100);
        complete.output_group_details = vec![OutputGroupDetail {
            group_type: "FILE_GROUP".into(),
            output_details: vec![OutputDetail {
                output_file_paths: vec![job.output.uri.clone()],
                duration_in_ms: joined.duration_ms,
                video_details: Some(VideoDetails {
                    width_in_px: job.output.width,
                    height_in_px: job.output.height,
                    average_bitrate: None,
                }),
            }],
            playlist_file_paths: Vec::new(),
        }];
        if let Some(own) = self.cost_so_far(started) {
            let steps: f64 = rendered
                .iter()
                .chain([soundtrack])
                .filter_map(|r| r.cost_usd)
                .sum();
            let total = job.planning_cost_micro_usd + (steps * 1e6).round() as u64 + own;
            complete
                .user_metadata
                .insert(METADATA_LAMBDA_COST.to_owned(), total.to_string());
        }
        self.put_events(&job.job_id, &[complete.event(false)])
            .await?;
        tracing::info!(
            job_id = job.job_id,
            frames = joined.frames,
            chunks = job.chunks.len(),
            "job joined and complete"
        );
        self.remove_work_files(job).await;
        Ok(json!({"job_id": job.job_id, "status": JobStatus::Complete}))
    }

    /// Removes the work folder of a job whose output is written and reported: its request, probe results, chunks
    /// and sound, about the output's size again, which would otherwise be stored as long as the output
    /// (docs/cost.md). Best effort, after the COMPLETE event, so a join retried after a failed event still finds
    /// its chunks: a removal that fails is logged, and retention removes what stays. A failed job's files stay.
    async fn remove_work_files(&self, job: &ChunkedJob) {
        let Some(folder) = S3Uri::parse_str(&job.request_uri)
            .ok()
            .as_ref()
            .and_then(S3Uri::folder)
        else {
            tracing::warn!(
                job_id = job.job_id,
                request_uri = job.request_uri,
                "no work folder to remove"
            );
            return;
        };
        match self.documents.remove_folder(&folder).await {
            Ok(()) => tracing::info!(job_id = job.job_id, %folder, "work files removed"),
            Err(e) => {
                tracing::warn!(job_id = job.job_id, %folder, error = %e, "work files not removed")
            }
        }
    }

    /// Reports the job in ERROR with what the flow caught.
    async fn report_failure(
        &self,
        job: &ChunkedJob,
        error: &FlowError,
    ) -> Result<Value, TranscoderError> {
        let cause: String = error.cause.chars().take(1000).collect();
        let failure = JobFailure::transcode(format!("{}: {cause}", error.error));
        let mut failed = self.job_state(&job.job_id, &job.user_metadata);
        failed.status = JobStatus::Error;
        failed.error_code = Some(failure.code);
        failed.error_message = Some(failure.message);
        self.put_events(&job.job_id, &[failed.event(false)]).await?;
        tracing::warn!(
            job_id = job.job_id,
            error = error.error,
            cause,
            "job in chunks failed"
        );
        Ok(json!({"job_id": job.job_id, "status": JobStatus::Error}))
    }

    /// Puts the STATUS_UPDATE of the job in chunks `progress` names, once a chunk of it is rendered at
    /// `chunk_uri`: its percentage from how many of its chunks are in the chunks' folder (Map items finish in any
    /// order; the notifier keeps the largest percentage). Best effort: the chunk stays rendered, and its
    /// invocation successful, when the count or the event fails.
    pub(crate) async fn report_progress(&self, progress: &ChunkProgress, chunk_uri: &S3Uri) {
        let Some(folder) = chunk_uri.folder() else {
            tracing::warn!(job_id = progress.job_id, %chunk_uri, "a chunk outside a folder: no progress");
            return;
        };
        let rendered = match self.documents.count_folder(&folder).await {
            Ok(rendered) => u32::try_from(rendered).unwrap_or(u32::MAX),
            Err(e) => {
                tracing::warn!(job_id = progress.job_id, error = %e, "could not count the rendered chunks");
                return;
            }
        };
        let mut running = self.job_state(&progress.job_id, &progress.user_metadata);
        running.status = JobStatus::Progressing;
        running.current_phase = Some(JobPhase::Transcoding);
        running.job_percent_complete = Some(progress.percent(rendered).into());
        match self
            .put_events(&progress.job_id, &[running.event(true)])
            .await
        {
            Ok(()) => tracing::info!(
                job_id = progress.job_id,
                rendered,
                chunks = progress.chunks,
                "job progress reported"
            ),
            Err(e) => {
                tracing::warn!(job_id = progress.job_id, error = %e, "job progress not reported")
            }
        }
    }

    /// The job `job_id` as the engine reports it, with its `user_metadata`.
    fn job_state(&self, job_id: &str, user_metadata: &BTreeMap<String, String>) -> Job {
        Job::submitted_as(
            job_id.to_owned(),
            self.engine.identity().clone(),
            user_metadata.clone(),
        )
    }

    /// Puts the job's `events` on the bus; fails when the bus refused any.
    async fn put_events(
        &self,
        job_id: &str,
        events: &[Option<Value>],
    ) -> Result<(), TranscoderError> {
        let (sender, delivery) = BusEvents::start(self.bus.clone());
        let sender = sender.with_source(TRANSCODER_SOURCE);
        for event in events.iter().flatten() {
            sender.send(event.clone());
        }
        match sender.delivered(delivery).await {
            0 => Ok(()),
            refused => Err(TranscoderError::EventsNotDelivered {
                job_id: job_id.to_owned(),
                refused,
            }),
        }
    }
}
