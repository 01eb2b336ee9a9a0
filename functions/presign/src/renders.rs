//! The render routes: `POST /renders`, `GET /renders`, `GET /renders/{id}`, `DELETE /renders/{id}`.
//!
//! A render request is validated by `RenderRequest::from_json`, the chunker's own check, after the server has
//! chosen its output (`{prefix}renders/{owner}/{render_id}/output.mp4`); the request is stored beside it
//! (`request.json`) and the render state machine started with the execution named after the render, so a repeated
//! POST of the same request answers the same render and another request under the same id is a conflict.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use vidpipe_core::clock::{now_ms, rfc3339_ms};
use vidpipe_core::keys::render_prefix;
use vidpipe_core::playback::PlaybackAsset;
use vidpipe_core::ports::{
    ExecutionError, JobCanceller, ObjectStore, PlaybackStore, RecordingStore, RenderExecutions,
    RenderStore, StreamStatusStore, update_render,
};
use vidpipe_core::recording::expiry;
use vidpipe_core::render::ports::{FolderRemover, RequestWriter};
use vidpipe_core::render::record::{
    CANCELED, RenderPhase, RenderRecord, RenderState, request_digest,
};
use vidpipe_core::render::{RenderError, RenderRequest};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::validate::FieldError;

use crate::App;
use crate::auth::Caller;
use crate::calls::CallPorts;
use crate::http::{ApiError, json_response};
use crate::playback::PlaybackPorts;

/// What the render routes need besides the uploads bucket: the render items, the state machine's executions, the
/// render's stored files, and MediaConvert to cancel chunk jobs.
#[derive(Debug, Default)]
pub struct RenderBackends<St, Ex, Fi, Jo> {
    /// Render items.
    pub store: St,
    /// The render state machine.
    pub executions: Ex,
    /// `request.json` and a finished render's folder.
    pub files: Fi,
    /// Chunk jobs, to cancel.
    pub jobs: Jo,
}

/// The render routes' ports, as one type parameter of [`App`].
pub trait RenderPorts: Send + Sync {
    /// Render items.
    type Store: RenderStore;
    /// Executions.
    type Executions: RenderExecutions;
    /// Stored files.
    type Files: RequestWriter + FolderRemover;
    /// Chunk jobs.
    type Jobs: JobCanceller;
    /// The render items.
    fn store(&self) -> &Self::Store;
    /// The executions.
    fn executions(&self) -> &Self::Executions;
    /// The stored files.
    fn files(&self) -> &Self::Files;
    /// The chunk jobs.
    fn jobs(&self) -> &Self::Jobs;
}

impl<St, Ex, Fi, Jo> RenderPorts for RenderBackends<St, Ex, Fi, Jo>
where
    St: RenderStore,
    Ex: RenderExecutions,
    Fi: RequestWriter + FolderRemover,
    Jo: JobCanceller,
{
    type Store = St;
    type Executions = Ex;
    type Files = Fi;
    type Jobs = Jo;
    fn store(&self) -> &St {
        &self.store
    }
    fn executions(&self) -> &Ex {
        &self.executions
    }
    fn files(&self) -> &Fi {
        &self.files
    }
    fn jobs(&self) -> &Jo {
        &self.jobs
    }
}

/// A request the render routes refuse: 400 naming every problem by its JSON path (the first as `field`).
fn invalid_request(e: RenderError) -> ApiError {
    let field = match &e {
        RenderError::Invalid(problems) => problems.first().map(|p| p.path.clone()),
        _ => None,
    };
    ApiError {
        field,
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_render_request",
            e.to_string(),
        )
    }
}

fn unavailable(e: &(dyn std::error::Error + 'static)) -> ApiError {
    tracing::error!(error = %vidpipe_core::error::Chain(e), "render backend failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error, retry later",
    )
}

impl<O, R, S, V, P, C> App<O, R, S, V, P, C>
where
    O: ObjectStore,
    R: RecordingStore,
    S: StreamStatusStore,
    V: RenderPorts,
    P: PlaybackPorts,
    C: CallPorts,
{
    /// The body as a render request of `owner`, with the server's `render_id` (when absent) and output: the request,
    /// its folder and the JSON stored.
    fn accept_request(
        &self,
        owner: &str,
        body: &[u8],
    ) -> Result<(RenderRequest, String, Vec<u8>), ApiError> {
        let mut value: Value = serde_json::from_slice(body)
            .map_err(|e| FieldError::new("body", format!("is not JSON: {e}")))?;
        let Value::Object(map) = &mut value else {
            return Err(FieldError::new("body", "must be a JSON object").into());
        };
        let render_id = match map.get("render_id") {
            None => uuid::Uuid::new_v4().to_string(),
            Some(Value::String(id)) => id.clone(),
            Some(_) => return Err(FieldError::new("render_id", "must be a string").into()),
        };
        let folder = render_prefix(&self.config.key_prefix, owner, &render_id);
        if let Some(Value::Object(output)) = map.get_mut("output") {
            if output.contains_key("uri") {
                return Err(FieldError::new(
                    "output.uri",
                    "is chosen by the server ({prefix}renders/{owner}/{render_id}/output.mp4): leave it out",
                )
                .into());
            }
            output.insert(
                "uri".into(),
                json!(format!("s3://{}/{folder}output.mp4", self.config.bucket)),
            );
        }
        map.insert("render_id".into(), json!(render_id));
        let request = RenderRequest::from_json(&value.to_string()).map_err(invalid_request)?;
        // The chunker confines the request again before it reads anything; refusing here answers the caller at
        // once, by field, with nothing stored or started.
        request
            .confine(&self.config.render_scope, Some(owner))
            .map_err(invalid_request)?;
        let stored = serde_json::to_vec(&request).map_err(|e| unavailable(&e))?;
        Ok((request, folder, stored))
    }

    /// `POST /renders`.
    pub(crate) async fn post_render(
        &self,
        caller: &Caller,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let owner = caller.user_owner()?;
        if self.config.render_state_machine_arn.is_none() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "renders_unavailable",
                "renders are not configured here (RENDER_STATE_MACHINE_ARN)",
            ));
        }
        let (request, folder, stored) = self.accept_request(owner, body)?;
        let request_uri = S3Uri::new(&self.config.bucket, format!("{folder}request.json"))
            .map_err(|e| FieldError::new("render_id", e.to_string()))?;
        let now = now_ms();
        let mut record = RenderRecord::queued(
            &request.render_id,
            Some(owner),
            now,
            expiry(now, self.config.retention_days),
        );
        record.request_digest = Some(request_digest(&request));
        record.request_uri = Some(request_uri.to_string());
        record.output_uri = Some(request.output.uri.clone());
        record.frames = Some(request.total_frames());
        record.duration_ms =
            Some(request.total_frames() * 1000 / u64::from(request.output.fps.max(1)));
        let store = self.renders.store();
        let created = store.create_render(&record).await?;
        if !created {
            match store.get_render(&record.render_id).await? {
                Some(existing)
                    if existing.owner == record.owner
                        && existing.request_digest == record.request_digest =>
                {
                    if existing.execution.is_some() {
                        return Ok(json_response(
                            StatusCode::ACCEPTED,
                            &self.render_view(&existing).await?,
                        ));
                    }
                    // A POST that stopped before starting its execution: this one finishes its work.
                    record = existing;
                }
                Some(existing) if existing.owner == record.owner => {
                    return Err(ApiError::conflict(
                        "render_conflict",
                        "this render_id was posted with another request",
                    ));
                }
                _ => {
                    return Err(ApiError::conflict(
                        "render_id_taken",
                        "this render_id is taken: choose another, or leave it out",
                    ));
                }
            }
        }
        let started = self
            .start_render(&record, &request_uri, owner, stored)
            .await;
        match started {
            Ok(record) => {
                tracing::info!(render_id = %record.render_id, owner, "render accepted");
                Ok(json_response(
                    StatusCode::ACCEPTED,
                    &self.render_view(&record).await?,
                ))
            }
            Err(e) if created => {
                // Undo: the failed POST leaves no item and no files, and can be sent again.
                if let Err(undo) = store.delete_render(&record.render_id).await {
                    tracing::error!(error = %undo, render_id = %record.render_id, "could not undo a render item");
                }
                if let Ok(folder_uri) = S3Uri::new(&self.config.bucket, &folder)
                    && let Err(undo) = self.renders.files().remove_folder(&folder_uri).await
                {
                    tracing::error!(error = %undo, render_id = %record.render_id, "could not undo a render's files");
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Stores the request and starts the execution named after the render; records the execution's ARN.
    async fn start_render(
        &self,
        record: &RenderRecord,
        request_uri: &S3Uri,
        owner: &str,
        stored: Vec<u8>,
    ) -> Result<RenderRecord, ApiError> {
        self.renders
            .files()
            .put(request_uri, stored)
            .await
            .map_err(|e| unavailable(&e))?;
        let input = json!({"request_uri": request_uri.to_string(), "owner": owner,
                           "render_id": record.render_id});
        let taken = ApiError::conflict(
            "render_id_taken",
            "an execution of this name exists: choose another render_id, or leave it out",
        );
        self.start_execution(record, &input, taken).await
    }

    /// Starts the render state machine's execution named after `record`'s render with `input` (the same name and
    /// input again answer the same execution) and records its ARN on the render item; `taken` answers an execution
    /// of that name started with another input. The render, as stored after.
    pub(crate) async fn start_execution(
        &self,
        record: &RenderRecord,
        input: &Value,
        taken: ApiError,
    ) -> Result<RenderRecord, ApiError> {
        let started = match self
            .renders
            .executions()
            .start(&record.render_id, input)
            .await
        {
            Ok(started) => started,
            Err(ExecutionError::AlreadyExists(_)) => return Err(taken),
            Err(e) => return Err(unavailable(&e)),
        };
        let updated = update_render(self.renders.store(), &record.render_id, now_ms(), |r| {
            r.execution = Some(started.execution_arn.clone());
        })
        .await?;
        Ok(updated.map_or_else(|| record.clone(), |(r, ())| r))
    }

    /// The caller's own render, or 404.
    async fn own_render(&self, caller: &Caller, id: &str) -> Result<RenderRecord, ApiError> {
        let owner = caller.user_owner()?;
        if !vidpipe_core::render::is_render_id(id) {
            return Err(ApiError::not_found("render"));
        }
        match self.renders.store().get_render(id).await? {
            Some(r) if r.owner.as_deref() == Some(owner) => Ok(r),
            _ => Err(ApiError::not_found("render")),
        }
    }

    /// `GET /renders/{id}`.
    pub(crate) async fn get_render(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let record = self.own_render(caller, id).await?;
        Ok(json_response(
            StatusCode::OK,
            &self.render_view(&record).await?,
        ))
    }

    /// `GET /renders`: the caller's renders, newest first, a page at a time.
    pub(crate) async fn list_renders(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let owner = caller.user_owner()?;
        let query = request.query_string_parameters();
        let cursor = crate::http::page_cursor(&query)?;
        let page = self
            .renders
            .store()
            .list_renders(owner, cursor, self.config.list_page_size)
            .await?;
        let mut renders = Vec::with_capacity(page.items.len());
        for r in &page.items {
            renders.push(self.render_view(r).await?);
        }
        Ok(json_response(
            StatusCode::OK,
            &json!({"renders": renders, "next_cursor": page.next_cursor}),
        ))
    }

    /// `DELETE /renders/{id}`: a running render is canceled (its execution stopped, its chunk jobs canceled, the
    /// render `failed` with `canceled`); a finished one is deleted with its files.
    pub(crate) async fn delete_render(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let record = self.own_render(caller, id).await?;
        if record.status.is_finished() {
            let folder = render_prefix(&self.config.key_prefix, caller.user_owner()?, id);
            let folder = S3Uri::new(&self.config.bucket, folder).map_err(|e| unavailable(&e))?;
            self.renders
                .files()
                .remove_folder(&folder)
                .await
                .map_err(|e| unavailable(&e))?;
            // The folder held the video's playback package too.
            let package = PlaybackAsset::Render(id.to_owned()).as_wire();
            self.playback.store().delete(&package).await?;
            self.renders.store().delete_render(id).await?;
            tracing::info!(render_id = id, "render deleted");
            return Ok(json_response(
                StatusCode::OK,
                &json!({"render_id": id, "deleted": true}),
            ));
        }
        if let Some(execution) = &record.execution {
            self.renders
                .executions()
                .stop(execution, CANCELED)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        let canceled = update_render(self.renders.store(), id, now_ms(), |r| {
            r.cancel();
            r.running_jobs()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .await?;
        let Some((record, jobs)) = canceled else {
            return Err(ApiError::not_found("render"));
        };
        for job in &jobs {
            if let Err(e) = self.renders.jobs().cancel_job(job).await {
                tracing::error!(error = %e, render_id = id, job_id = %job, "could not cancel a chunk job");
            }
        }
        tracing::info!(render_id = id, jobs = jobs.len(), "render canceled");
        Ok(json_response(
            StatusCode::OK,
            &self.render_view(&record).await?,
        ))
    }

    /// A render as its owner sees it, with a presigned `output_url` once ready.
    async fn render_view(&self, r: &RenderRecord) -> Result<Value, ApiError> {
        let output_url = match (&r.status, &r.output_uri) {
            (RenderState::Ready, Some(uri)) => match S3Uri::parse_str(uri) {
                Ok(uri) if uri.bucket() == self.config.bucket => Some(
                    self.objects
                        .presign_get(uri.key(), self.config.download_url_ttl)
                        .await?
                        .url,
                ),
                _ => None,
            },
            _ => None,
        };
        Ok(json!({
            "render_id": r.render_id, "status": r.status.as_str(), "phase": r.phase.map(RenderPhase::as_str),
            "chunks_total": r.chunks_total, "chunks_done": r.chunks.done.len(), "progress": r.progress,
            "output_url": output_url,
            "error": r.error.as_ref().map(|e| json!({"code": e.error, "message": e.cause})),
            "frames": r.frames, "duration_ms": r.duration_ms, "cost": r.cost_json(),
            "playback": self.playback_json(&PlaybackAsset::Render(r.render_id.clone())).await?,
            "created_at": rfc3339_ms(r.created_at_ms), "updated_at": rfc3339_ms(r.updated_at_ms),
        }))
    }
}
