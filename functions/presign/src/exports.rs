//! A call recording's export (issue 16, point 4, `docs/calls.md` "Export"): `POST /recordings/{recording_id}/export`
//! starts it on the render state machine, `GET /recordings/{recording_id}` shows its status, its MP4 and its
//! thumbnails as short-lived signed URLs.
//!
//! The API probes nothing and builds no job: it stores the export on the call recording (the saved composition and
//! the uploaded tracks, one conditional write), writes its render item (the export's id is its render's) and starts
//! the render state machine with `{"export": ...}`. The chunker checks the tracks are the call's, probes them, lays
//! the export out and plans it; the render's status, moved by the notifier as for every render, is the export's.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use vidpipe_core::call::Call;
use vidpipe_core::call::export::{
    EXPORT_THUMBNAILS, ExportRefusal, ExportStart, ExportState, parse_export_request, plan_export,
};
use vidpipe_core::call::token::Scope;
use vidpipe_core::clock::{now_ms, rfc3339_ms};
use vidpipe_core::ports::{ObjectStore, RecordingStore, RenderStore, StreamStatusStore};
use vidpipe_core::render::record::{RenderRecord, RenderState};
use vidpipe_core::render::thumbnail_name;
use vidpipe_core::s3uri::S3Uri;

use crate::App;
use crate::auth::Caller;
use crate::calls::CallPorts;
use crate::http::{ApiError, json_response};
use crate::playback::PlaybackPorts;
use crate::renders::RenderPorts;

fn refused(why: ExportRefusal) -> ApiError {
    let code = match why {
        ExportRefusal::NoComposition => "no_composition",
        ExportRefusal::CompositionChanged { .. } => "composition_changed",
        ExportRefusal::NoTracks => "no_tracks",
    };
    ApiError::conflict(code, why.to_string())
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
    /// `POST /recordings/{recording_id}/export`: starts the export of the saved composition over the call's
    /// uploaded tracks (202), or answers the one that stands (same composition and tracks, not failed) without
    /// starting anything. Needs a token of scope `export:create`, burned once the request is accepted.
    pub(crate) async fn post_export(
        &self,
        caller: &Caller,
        id: &str,
        request: &Request,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let (call, _) = self.member_call(caller, id).await?;
        let token = self
            .check_token(caller, &call, Scope::ExportCreate, request)
            .await?;
        let ask = parse_export_request(body)?;
        if self.config.render_state_machine_arn.is_none() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "exports_unavailable",
                "exports run on the render state machine, which is not configured here (RENDER_STATE_MACHINE_ARN)",
            ));
        }
        let uploaded = self.uploaded_track_ids(&call).await?;
        let current = match &call.export {
            Some(current) => self.export_render(current).await?,
            None => None,
        };
        let export_id = uuid::Uuid::new_v4().to_string();
        let start = plan_export(
            &call,
            |t| uploaded.contains(&t.track_id),
            ask,
            current.as_ref().map(|r| r.status),
            &export_id,
            now_ms(),
        )
        .map_err(refused)?;
        self.burn_token(caller, &call, Scope::ExportCreate, &token)
            .await?;
        let (state, started) = match start {
            ExportStart::Start(state) => {
                let expected = call.export.as_ref().map(|e| e.revision);
                if self.calls.replace_export(id, &state, expected).await? {
                    (state, true)
                } else {
                    // Another request started one since this one read the call: that one stands.
                    let stored = self.calls.get_call(id).await?.and_then(|c| c.export);
                    (
                        stored.ok_or_else(|| ApiError::conflict("conflict", "retry"))?,
                        false,
                    )
                }
            }
            ExportStart::Current(state) => (state, false),
        };
        // The render item read above, when it is this export's: not read again.
        let known = current.filter(|r| r.render_id == state.export.export_id);
        let record = self.run_export(&call, &state, known).await?;
        if started {
            tracing::info!(
                recording_id = id,
                export_id = %state.export.export_id,
                composition_version = state.export.composition_version,
                tracks = state.export.tracks.len(),
                "export started"
            );
        }
        let status = record.status.as_str();
        Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({"job_id": state.export.export_id, "export_id": state.export.export_id,
                    "recording_id": call.recording_id, "status": status, "export_status": status,
                    "started": started, "composition_version": state.export.composition_version,
                    "requested_at": rfc3339_ms(state.requested_at_ms)}),
        ))
    }

    /// The render item of `state`'s export, if written.
    async fn export_render(&self, state: &ExportState) -> Result<Option<RenderRecord>, ApiError> {
        Ok(self
            .renders
            .store()
            .get_render(&state.export.export_id)
            .await?)
    }

    /// Makes sure the export of `state` runs: writes its render item if there is none yet and starts its
    /// execution if none was recorded. Both steps are idempotent (the item is created only where none is; the
    /// execution is named after the export, with the same input every time), so a request that stopped between
    /// them is finished by the next one that answers the same export. `known`: its render item, if just read.
    async fn run_export(
        &self,
        call: &Call,
        state: &ExportState,
        known: Option<RenderRecord>,
    ) -> Result<RenderRecord, ApiError> {
        let export = &state.export;
        let store = self.renders.store();
        let stored = match known {
            Some(record) => Some(record),
            None => self.export_render(state).await?,
        };
        let record = match stored {
            Some(record) => record,
            None => {
                let (video, _) = export
                    .outputs(&self.config.bucket, &self.config.key_prefix)
                    .map_err(|e| ApiError::internal(&e))?;
                let mut record =
                    RenderRecord::queued(&export.export_id, None, now_ms(), call.expires_at);
                record.output_uri = Some(video);
                record.call_recording_id = Some(call.recording_id.clone());
                if !store.create_render(&record).await? {
                    // A concurrent request wrote it.
                    record = self.export_render(state).await?.ok_or_else(|| {
                        ApiError::conflict("conflict", "the export changed meanwhile: retry")
                    })?;
                }
                record
            }
        };
        if record.execution.is_some() || record.status.is_finished() {
            return Ok(record);
        }
        let input = json!({"export": export, "render_id": export.export_id});
        let taken = ApiError::conflict(
            "export_conflict",
            "an execution of this export's name exists with another input",
        );
        self.start_execution(&record, &input, taken).await
    }

    /// The call's `export_status` and `export` for `GET /recordings/{recording_id}`: `null` and `null` before any
    /// export; then its render's status and `{"export_id", "composition_version", "requested_at", "progress", "url",
    /// "thumbnails", "duration_ms", "error"}` (`progress` 0 to 100, the render's, never backwards), the URLs (the MP4 and its thumbnails, presigned for
    /// `PLAYBACK_URL_TTL_SECONDS`) only once it is ready.
    pub(crate) async fn export_view(&self, call: &Call) -> Result<(Value, Value), ApiError> {
        let Some(state) = &call.export else {
            return Ok((Value::Null, Value::Null));
        };
        let record = self.export_render(state).await?;
        let status = record.as_ref().map_or(RenderState::Queued, |r| r.status);
        let (mut url, mut thumbnails) = (Value::Null, Value::Null);
        if status == RenderState::Ready {
            let (video, folder) = state
                .export
                .outputs(&self.config.bucket, &self.config.key_prefix)
                .map_err(|e| ApiError::internal(&e))?;
            url = json!(self.signed_get(&video).await?);
            let mut signed = Vec::new();
            for n in 1..=EXPORT_THUMBNAILS {
                signed.push(
                    self.signed_get(&format!("{folder}{}", thumbnail_name(n)))
                        .await?,
                );
            }
            thumbnails = json!(signed);
        }
        let error = record
            .as_ref()
            .and_then(|r| r.error.as_ref())
            .map(|e| json!({"code": e.error, "message": e.cause}));
        Ok((
            json!(status.as_str()),
            json!({"export_id": state.export.export_id,
                   "composition_version": state.export.composition_version,
                   "requested_at": rfc3339_ms(state.requested_at_ms),
                   "progress": record.as_ref().map_or(0, |r| r.progress), "url": url, "thumbnails": thumbnails,
                   "duration_ms": record.as_ref().and_then(|r| r.duration_ms), "error": error}),
        ))
    }

    /// A presigned GET of `uri` (in the bucket), valid for `PLAYBACK_URL_TTL_SECONDS`.
    async fn signed_get(&self, uri: &str) -> Result<String, ApiError> {
        let uri = S3Uri::parse_str(uri).map_err(|e| ApiError::internal(&e))?;
        Ok(self
            .objects
            .presign_get(uri.key(), self.config.playback_url_ttl)
            .await?
            .url)
    }
}
