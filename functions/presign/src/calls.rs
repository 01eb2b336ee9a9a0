//! The call routes (issue 16, `docs/calls.md`): tracks through `POST /uploads` kind `track`, a call recording in
//! `GET /recordings/{recording_id}`, `POST /recordings/{recording_id}/composition/token` and
//! `PUT /recordings/{recording_id}/composition` (the previews' routes: [`crate::previews`]; the export's:
//! [`crate::exports`]).
//!
//! Access follows the room ([`vidpipe_core::call::Call::access`]): the call's owner and its room's members (the
//! callers who uploaded a track to it); anyone else gets the 404 of a recording that does not exist. Composition
//! work also needs a single-use token ([`TOKEN_HEADER`]): checked against its stored grant before anything else of
//! the request is done (a scope that does not cover the route is 403 and does not burn it), then burned with one
//! conditional write ([`App::burn_token`]) just before the work.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use vidpipe_core::call::composition::{CompositionState, SavedComposition};
use vidpipe_core::call::token::{
    CompositionToken, Scope, TOKEN_HEADER, TokenGrant, TokenRefusal, TokenUse, requested_scopes,
};
use vidpipe_core::call::{Call, CallAccess, CallTrack};
use vidpipe_core::capability::CAPABILITY_BYTES;
use vidpipe_core::clock::{now_ms, rfc3339_ms};
use vidpipe_core::ports::{
    CallExports, CallPreviews, CallTracks, CompositionStore, CompositionTokens, ObjectStore,
    RecordingStore, SaveOutcome, StoreError, StreamStatusStore, VersionMatch,
};
use vidpipe_core::recording::Recording;
use vidpipe_core::upload::UploadRequest;

use crate::App;
use crate::auth::Caller;
use crate::http::{ApiError, json_response};
use crate::playback::PlaybackPorts;
use crate::renders::RenderPorts;

/// What the call routes need: call recordings with their tracks, compositions, previews and exports, and token
/// grants.
pub trait CallPorts:
    CallTracks + CompositionStore + CallPreviews + CallExports + CompositionTokens
{
}

impl<T: CallTracks + CompositionStore + CallPreviews + CallExports + CompositionTokens> CallPorts
    for T
{
}

fn not_found() -> ApiError {
    ApiError::not_found("recording")
}

fn invalid_token(why: TokenRefusal) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        format!("{why}: ask POST /recordings/{{recording_id}}/composition/token for a new one"),
    )
}

/// The token of `request`'s [`TOKEN_HEADER`]: 401 `token_required` without one.
fn presented_token(request: &Request) -> Result<CompositionToken, ApiError> {
    request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(CompositionToken::presented)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_required",
                format!("send a composition token in the {TOKEN_HEADER} header"),
            )
        })
}

/// The precondition of `request`: `If-Match` `*` is [`VersionMatch::Exists`], `"N"` (or `N`) is version N;
/// `If-None-Match: *` is [`VersionMatch::Absent`] (a first save); neither is [`VersionMatch::Any`]. Anything else,
/// or both at once, is refused by name.
fn if_match(request: &Request) -> Result<VersionMatch, ApiError> {
    let invalid = |field: &str, message: &str| ApiError {
        field: Some(field.into()),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_header",
            message.to_owned(),
        )
    };
    let none_match = request.headers().get(header::IF_NONE_MATCH);
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return match none_match.map(|v| v.to_str().unwrap_or_default().trim()) {
            None => Ok(VersionMatch::Any),
            Some("*") => Ok(VersionMatch::Absent),
            Some(_) => Err(invalid(
                "If-None-Match",
                "If-None-Match: must be * (save only if no composition is saved yet)",
            )),
        };
    };
    if none_match.is_some() {
        return Err(invalid(
            "If-None-Match",
            "send If-Match or If-None-Match, not both",
        ));
    }
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Ok(VersionMatch::Exists);
    }
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    match unquoted.parse::<u64>() {
        Ok(version) if unquoted.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(VersionMatch::Version(version))
        }
        _ => Err(invalid(
            "If-Match",
            "If-Match: must be * or the ETag of a saved composition (\"3\")",
        )),
    }
}

fn precondition_failed(current: Option<u64>) -> ApiError {
    let message = match current {
        Some(v) => format!("the composition is at version {v}: read it again, then save over it"),
        None => "no composition is saved yet: save without If-Match (or with If-None-Match: *)"
            .to_owned(),
    };
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
        message,
    )
}

fn composition_json(saved: &SavedComposition) -> Value {
    json!({"state": saved.state, "version": saved.version, "updated_at": rfc3339_ms(saved.updated_at_ms)})
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
    /// The refusals of a track upload that need the stores, before anything is written: an anonymous caller (a
    /// room's members are identified), a call recording id that is some upload's id, a call recording of another
    /// room. Anyone identified may join a call recording of the room it names by uploading a track to it.
    pub(crate) async fn check_track_target(
        &self,
        caller: &Caller,
        req: &UploadRequest,
    ) -> Result<(), ApiError> {
        let (Some(track), Some(room)) = (&req.track, &req.room_id) else {
            return Ok(());
        };
        if !matches!(caller, Caller::User(_)) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a call's tracks are uploaded by identified callers only (they become its room's members)",
            ));
        }
        let id = track.recording_id.as_str();
        let taken_by_upload = self.recordings.get(id).await?.is_some();
        let other_room = self
            .calls
            .get_call(id)
            .await?
            .is_some_and(|call| call.room_id != room.as_str());
        if taken_by_upload || other_room {
            return Err(ApiError {
                field: Some("recording_id".into()),
                ..ApiError::conflict(
                    "recording_id_taken",
                    "recording_id names another recording (or a call recording of another room)",
                )
            });
        }
        Ok(())
    }

    /// Registers the track `recording` (signed and recorded) on its call recording; returns the response's `call`.
    pub(crate) async fn register_track(
        &self,
        recording: &Recording,
        req: &UploadRequest,
    ) -> Result<Value, ApiError> {
        let (Some(track), Some(room), Some(started_at)) =
            (&req.track, &req.room_id, req.started_at)
        else {
            return Ok(Value::Null);
        };
        let entry = CallTrack {
            track_id: recording.recording_id.clone(),
            peer_id: track.peer_id.clone(),
            role: track.role,
            started_at,
            uploader: recording.owner.clone(),
            key: recording.key.clone(),
            created_at_ms: recording.created_at_ms,
        };
        let registered = self
            .calls
            .register_track(
                room.as_str(),
                track.recording_id.as_str(),
                &entry,
                recording.expires_at,
            )
            .await;
        match registered {
            Ok(()) => Ok(
                json!({"recording_id": track.recording_id.as_str(), "room_id": room.as_str(),
                                "peer_id": track.peer_id.as_str(), "role": track.role.as_str(),
                                "started_at": started_at}),
            ),
            // Another request made the call recording in another room since the check.
            Err(StoreError::Conflict(_)) => Err(ApiError::conflict(
                "recording_id_taken",
                "recording_id names a call recording of another room",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The call recording `id` if the caller is its owner or one of its room's members; 404 otherwise.
    pub(crate) async fn member_call(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Call, CallAccess), ApiError> {
        let owner = caller.user_owner()?;
        if vidpipe_core::call::CallId::parse("recording_id", id).is_err() {
            return Err(not_found());
        }
        let call = self.calls.get_call(id).await?.ok_or_else(not_found)?;
        let access = call.access(owner).ok_or_else(not_found)?;
        Ok((call, access))
    }

    /// `GET /recordings/{recording_id}` of a call recording: its tracks, time zero and saved composition.
    pub(crate) async fn get_call(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let (call, access) = self.member_call(caller, id).await?;
        let time_zero = call.time_zero();
        let mut tracks = Vec::with_capacity(call.tracks.len());
        for t in &call.tracks {
            // The track's upload: its status and size (the size S3 stored, once uploaded).
            let upload = self.recordings.get(&t.track_id).await?;
            tracks.push(json!({
                "track_id": t.track_id, "peer_id": t.peer_id.as_str(), "role": t.role.as_str(),
                "started_at": t.started_at, "offset_ms": call.offset_ms(t),
                "status": upload.as_ref().map(|u| u.status.as_str()), "size": upload.as_ref().map(|u| u.size),
            }));
        }
        let peers: Vec<&str> = call.tracks.iter().map(|t| t.peer_id.as_str()).collect();
        let mut peers = peers;
        peers.sort_unstable();
        peers.dedup();
        let (preview_status, preview, preview_jobs) = self.preview_view(&call);
        let (export_status, export) = self.export_view(&call).await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "recording_id": call.recording_id, "kind": "call", "room_id": call.room_id,
                "access": access.as_str(), "created_at": rfc3339_ms(call.created_at_ms),
                "expires_at": rfc3339_ms(call.expires_at * 1000), "time_zero": time_zero,
                "peers": peers, "tracks": tracks,
                "composition": call.composition.as_ref().map(composition_json),
                "preview_status": preview_status, "preview": preview, "preview_jobs": preview_jobs,
                "export_status": export_status, "export": export,
            }),
        ))
    }

    /// `POST /recordings/{recording_id}/composition/token`: a single-use token for some or all scopes.
    pub(crate) async fn mint_token(
        &self,
        caller: &Caller,
        id: &str,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let (call, _) = self.member_call(caller, id).await?;
        let scopes = requested_scopes(body)?;
        let mut entropy = [0; CAPABILITY_BYTES];
        getrandom::fill(&mut entropy)?;
        let token = CompositionToken::issue(entropy);
        let grant = TokenGrant::mint(
            token.digest(),
            scopes,
            &call.recording_id,
            &call.room_id,
            caller.owner(),
            now_ms(),
        );
        self.calls.put_grant(&grant).await?;
        tracing::info!(recording_id = %call.recording_id, scopes = ?grant.scopes, "composition token minted");
        let scope: Vec<&str> = grant.scopes.iter().map(|s| s.as_str()).collect();
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"token": token.reveal(), "expires_at": rfc3339_ms(grant.expires_at_ms), "scope": scope,
                    "recording_id": call.recording_id, "room_id": call.room_id,
                    "audience": grant.audience}),
        ))
    }

    /// Checks the token `request` presents for `scope` on `call`, without burning it: 401 for a token that is
    /// unknown, used, expired, or minted for another audience, recording or caller; 403 for one whose scope does
    /// not cover the route. Returns what [`App::burn_token`] burns once the rest of the request is checked.
    pub(crate) async fn check_token(
        &self,
        caller: &Caller,
        call: &Call,
        scope: Scope,
        request: &Request,
    ) -> Result<CompositionToken, ApiError> {
        let token = presented_token(request)?;
        let grant = self
            .calls
            .get_grant(&token.digest())
            .await?
            .ok_or(TokenRefusal::Unknown)
            .map_err(invalid_token)?;
        let use_ = self.token_use(caller, call, scope);
        match grant.check(&use_) {
            Ok(()) => Ok(token),
            Err(why) if why.is_unauthorized() => Err(invalid_token(why)),
            Err(why) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                why.to_string(),
            )),
        }
    }

    fn token_use<'a>(&self, caller: &'a Caller, call: &'a Call, scope: Scope) -> TokenUse<'a> {
        TokenUse {
            recording_id: &call.recording_id,
            caller: caller.owner(),
            scope,
            now_ms: now_ms(),
        }
    }

    /// Burns a token [`App::check_token`] passed, with one conditional write: of concurrent uses one passes, the
    /// others are 401 (it was used, or expired meanwhile).
    pub(crate) async fn burn_token(
        &self,
        caller: &Caller,
        call: &Call,
        scope: Scope,
        token: &CompositionToken,
    ) -> Result<(), ApiError> {
        let use_ = self.token_use(caller, call, scope);
        if self.calls.burn(&token.digest(), &use_).await? {
            return Ok(());
        }
        let why = match self.calls.get_grant(&token.digest()).await? {
            // Still there and passing: a racing use that failed at the store's condition; it is not this one's.
            Some(grant) => grant.check(&use_).err().unwrap_or(TokenRefusal::Unknown),
            None => TokenRefusal::Unknown,
        };
        Err(invalid_token(why))
    }

    /// `PUT /recordings/{recording_id}/composition`: the Composition State, saved as the next version.
    pub(crate) async fn put_composition(
        &self,
        caller: &Caller,
        id: &str,
        request: &Request,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let (call, _) = self.member_call(caller, id).await?;
        let token = self
            .check_token(caller, &call, Scope::CompositionWrite, request)
            .await?;
        let expected = if_match(request)?;
        let state = CompositionState::parse(body, &call.peers()).map_err(ApiError::from)?;
        let current = call.composition.as_ref().map(|c| c.version);
        if !expected.matches(current) {
            return Err(precondition_failed(current));
        }
        self.burn_token(caller, &call, Scope::CompositionWrite, &token)
            .await?;
        let saved = match self
            .calls
            .save_composition(id, &state, expected, now_ms())
            .await
        {
            Ok(SaveOutcome::Saved(saved)) => saved,
            Ok(SaveOutcome::Mismatch { current }) => return Err(precondition_failed(current)),
            Err(StoreError::Conflict(_)) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        tracing::info!(
            recording_id = id,
            version = saved.version,
            "composition saved"
        );
        let mut response = json_response(
            StatusCode::OK,
            &json!({"status": "ok", "updated_at": rfc3339_ms(saved.updated_at_ms), "version": saved.version}),
        );
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", saved.version)) {
            response.headers_mut().insert(header::ETAG, etag);
        }
        Ok(response)
    }
}
