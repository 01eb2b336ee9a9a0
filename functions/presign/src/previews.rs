//! A call recording's previews (issue 16, point 2, `docs/calls.md`): `POST /recordings/{recording_id}/preview`
//! starts them, `GET /recordings/{recording_id}` shows their status and, once ready, their signed playlists, and
//! `GET /play/preview/{recording_id}/{peer_id}/{role}/{file}` serves a playlist as `GET /play` serves a package's.
//!
//! The API submits no job: it stores the previews' new generation on the call recording (one conditional write)
//! and writes the generation's request object under the call's folder; its ObjectCreated event has the compositor,
//! which holds the transcoder, the probe and the MediaConvert role, build and submit one job per peer and role.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use vidpipe_core::call::preview::{
    PreviewRefusal, PreviewStart, PreviewState, parse_preview_request, plan_previews,
};
use vidpipe_core::call::token::Scope;
use vidpipe_core::call::{Call, CallId, PeerId, TrackRole};
use vidpipe_core::clock::{now_ms, rfc3339_ms};
use vidpipe_core::job::{call_preview_folder, call_preview_stem};
use vidpipe_core::keys::{RoomId, call_prefix, preview_request_key};
use vidpipe_core::ports::{ObjectStore, PackageFiles, RecordingStore, StreamStatusStore};
use vidpipe_core::recording::RecordingStatus;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::stream_status::StreamStatus;

use crate::App;
use crate::auth::Caller;
use crate::calls::CallPorts;
use crate::http::{ApiError, json_response};
use crate::playback::{PlaybackPorts, Served, refused};
use crate::renders::RenderPorts;

/// The `GET /play` asset of one peer's preview of `role`: what its URLs are signed for.
fn preview_asset(recording_id: &str, peer_id: &PeerId, role: TrackRole) -> String {
    format!(
        "preview/{recording_id}/{}/{}",
        peer_id.as_str(),
        role.as_str()
    )
}

/// A stored call's room and id, checked again by their rules (they were when its first track was registered).
fn stored_ids(call: &Call) -> Result<(RoomId, CallId), ApiError> {
    let room = RoomId::parse("room_id", &call.room_id).map_err(|e| ApiError::internal(&e))?;
    let id =
        CallId::parse("recording_id", &call.recording_id).map_err(|e| ApiError::internal(&e))?;
    Ok((room, id))
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
    /// `POST /recordings/{recording_id}/preview`: starts the previews of the call's uploaded tracks (202), or
    /// answers the ones that stand (queued, processing, or ready over the same tracks) without starting any job.
    /// Needs a token of scope `preview:read`, burned once the request is accepted.
    pub(crate) async fn post_preview(
        &self,
        caller: &Caller,
        id: &str,
        request: &Request,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let (call, _) = self.member_call(caller, id).await?;
        let token = self
            .check_token(caller, &call, Scope::PreviewRead, request)
            .await?;
        parse_preview_request(body)?;
        let uploaded = self.uploaded_track_ids(&call).await?;
        let start =
            plan_previews(&call, |t| uploaded.contains(&t.track_id), now_ms()).map_err(|why| {
                match why {
                    PreviewRefusal::NoTracks => ApiError::conflict("no_tracks", why.to_string()),
                }
            })?;
        self.burn_token(caller, &call, Scope::PreviewRead, &token)
            .await?;
        let (state, started) = match start {
            PreviewStart::Start(state) => {
                let expected = call.preview.as_ref().map(|p| p.revision);
                if self.calls.replace_preview(id, &state, expected).await? {
                    tracing::info!(
                        recording_id = id,
                        generation = state.generation,
                        jobs = state.jobs.len(),
                        "previews started"
                    );
                    (state, true)
                } else {
                    // Another request started them since this one read the call: its previews stand.
                    let stored = self.calls.get_preview(id).await?;
                    let stored = stored.ok_or_else(|| ApiError::conflict("conflict", "retry"))?;
                    (stored.state, false)
                }
            }
            PreviewStart::Current(state) => (state, false),
        };
        // A generation with jobs still waiting to be submitted gets its request written (again): a request lost
        // between the item and the object is recovered by asking again, and the compositor submits each job once.
        let waiting = state
            .jobs
            .iter()
            .any(|j| j.job_id.is_none() && j.status == StreamStatus::Queued);
        if started || waiting {
            self.write_preview_request(&call, &state).await?;
        }
        let status = state.status().as_str();
        Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({"recording_id": call.recording_id, "status": status, "preview_status": status,
                    "generation": state.generation, "started": started,
                    "requested_at": rfc3339_ms(state.requested_at_ms), "jobs": state.jobs_view()}),
        ))
    }

    /// The ids of the call's tracks whose upload finished (`uploaded`): what previews and exports are made from
    /// (tracks still uploading or aborted are left out).
    pub(crate) async fn uploaded_track_ids(&self, call: &Call) -> Result<Vec<String>, ApiError> {
        let mut uploaded = Vec::new();
        for track in &call.tracks {
            let upload = self.recordings.get(&track.track_id).await?;
            if upload.is_some_and(|u| u.status == RecordingStatus::Uploaded) {
                uploaded.push(track.track_id.clone());
            }
        }
        Ok(uploaded)
    }

    /// The call's folder, `{KEY_PREFIX}rooms/{room_id}/{recording_id}/`.
    fn call_folder(&self, call: &Call) -> Result<String, ApiError> {
        let (room, id) = stored_ids(call)?;
        Ok(call_prefix(&self.config.key_prefix, &room, &id))
    }

    /// Writes the request object of `state`'s generation ([`preview_request_key`]).
    async fn write_preview_request(
        &self,
        call: &Call,
        state: &PreviewState,
    ) -> Result<(), ApiError> {
        let (room, id) = stored_ids(call)?;
        let key = preview_request_key(&self.config.key_prefix, &room, &id, state.generation);
        let uri = S3Uri::new(&self.config.bucket, key).map_err(|e| ApiError::internal(&e))?;
        let body = json!({"recording_id": call.recording_id, "generation": state.generation});
        self.playback
            .files()
            .write(&uri, body.to_string().into_bytes(), "application/json")
            .await
            .map_err(|e| ApiError::internal(&e))
    }

    /// The call's `preview_status` and `preview` for `GET /recordings/{recording_id}`: the aggregate status
    /// (`null` before any start) and, once ready, each peer's playlist as a signed `GET /play` URL:
    /// `{"peers": {peer_id: {"av": url}}, "screenshare": {peer_id: {"video": url}}}`; also each job's status.
    pub(crate) fn preview_view(&self, call: &Call) -> (Value, Value, Value) {
        let Some(state) = &call.preview else {
            return (Value::Null, Value::Null, Value::Null);
        };
        let status = state.status();
        if status != StreamStatus::Ready {
            return (json!(status.as_str()), Value::Null, state.jobs_view());
        }
        let expires = self.signing.expiry();
        let base = self.config.public_base_url.as_deref().unwrap_or_default();
        let (mut peers, mut screenshare) = (Map::new(), Map::new());
        for job in &state.jobs {
            let asset = preview_asset(&call.recording_id, &job.peer_id, job.role);
            let query = self.signing.play_query(&asset, expires);
            let stem = call_preview_stem(job.role);
            let url = format!("{base}/play/{asset}/{stem}.m3u8?{query}");
            let (map, field) = match job.role {
                TrackRole::Av => (&mut peers, "av"),
                TrackRole::Screenshare => (&mut screenshare, "video"),
            };
            map.insert(job.peer_id.as_str().to_owned(), json!({field: url}));
        }
        (
            json!(status.as_str()),
            json!({"peers": peers, "screenshare": screenshare}),
            state.jobs_view(),
        )
    }

    /// `GET /play/preview/{recording_id}/{peer_id}/{role}/{file}?expires=...&sig=...`: a ready preview's playlist
    /// (`av.m3u8`, `av_video.m3u8`, ...), rewritten as `GET /play` rewrites a package's, for whoever holds a URL
    /// signed for that preview; no `Authorization` is read.
    pub(crate) async fn play_preview(
        &self,
        (id, peer, role): (&str, &str, &str),
        file: &str,
        expires: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Response<Body>, ApiError> {
        let not_found = || ApiError::not_found("playback file");
        let (Ok(_), Ok(peer_id), Ok(role)) = (
            CallId::parse("recording_id", id),
            PeerId::parse("peer_id", peer),
            TrackRole::parse("role", role),
        ) else {
            return Err(not_found());
        };
        let asset = preview_asset(id, &peer_id, role);
        let expires = self
            .signing
            .verify_play(&asset, expires, signature)
            .map_err(refused)?;
        let stem = call_preview_stem(role);
        let plain = file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !(plain && file.starts_with(stem) && file.ends_with(".m3u8")) {
            return Err(not_found());
        }
        let call = self.calls.get_call(id).await?.ok_or_else(not_found)?;
        let job = call.preview.as_ref().and_then(|p| p.job(&peer_id, role));
        let job = job.ok_or_else(not_found)?;
        if job.status != StreamStatus::Ready {
            return Err(ApiError::conflict(
                "not_ready",
                format!("the preview is {}", job.status.as_str()),
            ));
        }
        let folder = format!(
            "{}{}",
            self.call_folder(&call)?,
            call_preview_folder(&peer_id, role)
        );
        let grant = self.signing.play_query(&asset, expires);
        self.serve(
            &self.config.bucket,
            &folder,
            Served::Hls,
            file,
            &grant,
            &asset,
        )
        .await
    }
}
