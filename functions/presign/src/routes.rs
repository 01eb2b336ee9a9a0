//! The routes. Every rejection happens before the first write, and a write that fails part-way is undone.

use crate::auth::{CAPABILITY_HEADER, Caller, authenticate};
use crate::calls::CallPorts;
use crate::config::Config;
use crate::http::{ApiError, Cors, error_response, is_preflight, json_response};
use crate::playback::PlaybackPorts;
use crate::renders::RenderPorts;
use crate::signing::PlaybackSigning;
use crate::stream_claims::with_capability;
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use vidpipe_core::capability::StreamCapability;
use vidpipe_core::clock::{now_ms, rfc3339_ms};
use vidpipe_core::cost::JobCost;
use vidpipe_core::keys::{
    KeyKind, RoomId, StreamName, classify_key, composited_key, sanitize_filename,
};
use vidpipe_core::playback::PlaybackAsset;
use vidpipe_core::ports::{ObjectStore, PutSpec, RecordingStore, StreamStatusStore};
use vidpipe_core::recording::{MultipartUpload, Recording, RecordingStatus, expiry};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_core::upload::{self, UploadKind, UploadRequest, part_len, plan_parts};
use vidpipe_core::validate::{FieldError, JsonFields};

/// Largest request body read (JSON requests are small; API Gateway allows far more).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The HTTP API with its dependencies.
#[derive(Debug)]
pub struct App<O, R, S, V, P, C> {
    /// Configuration.
    pub config: Config,
    /// The bucket.
    pub objects: O,
    /// The recordings table.
    pub recordings: R,
    /// Stream items (in the same table).
    pub streams: S,
    /// What the render routes need ([`crate::renders::RenderBackends`]).
    pub renders: V,
    /// What the playback routes need ([`crate::playback::PlaybackBackends`]).
    pub playback: P,
    /// The keys playback URLs are signed with.
    pub signing: PlaybackSigning,
    /// Call recordings, their compositions and composition tokens ([`crate::calls`]; in the same table).
    pub calls: C,
}

/// The request path without the API Gateway stage prefix.
fn route_path(request: &Request) -> String {
    let path = request.uri().path();
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    match stage.filter(|s| s != "$default") {
        Some(stage) => path
            .strip_prefix(&format!("/{stage}"))
            .filter(|p| p.starts_with('/'))
            .unwrap_or(path)
            .to_owned(),
        None => path.to_owned(),
    }
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
    /// Answers one request: CORS, authentication, routing, and errors as JSON.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cors = Cors {
            allowed_origins: &self.config.allowed_origins,
        };
        if is_preflight(request.method()) {
            return cors.preflight(origin.as_deref());
        }
        let mut response = match self.route(&request).await {
            Ok(response) => response,
            Err(e) => {
                if e.status.is_client_error() {
                    tracing::info!(status = e.status.as_u16(), code = e.code, message = %e.message, "request rejected");
                }
                error_response(&e)
            }
        };
        cors.decorate(origin.as_deref(), &mut response);
        response
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let path = route_path(request);
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = request.method().clone();
        let known_path = matches!(
            segments.as_slice(),
            ["uploads"]
                | ["uploads", _]
                | ["uploads", _, "complete" | "parts"]
                | ["presigned-url"]
                | ["recordings"]
                | ["recordings", "upload-url"]
                | ["recordings", _]
                | ["recordings", _, "composition"]
                | ["recordings", _, "composition", "token"]
                | ["recordings", _, "preview"]
                | ["recordings", _, "export"]
                | ["streams", _]
                | ["renders"]
                | ["renders", _]
                | ["play", _, _, _]
                | ["play", "preview", _, _, _, _]
        );
        if !known_path {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_route",
                format!("no route for {path}"),
            ));
        }
        // A `GET /play` URL carries its own signature: a player cannot add an Authorization header.
        if let (&Method::GET, ["play", kind, id, file]) = (&method, segments.as_slice()) {
            let query = request.query_string_parameters();
            return self
                .play(kind, id, file, query.first("expires"), query.first("sig"))
                .await;
        }
        if let (&Method::GET, ["play", "preview", id, peer, role, file]) =
            (&method, segments.as_slice())
        {
            let query = request.query_string_parameters();
            let (expires, sig) = (query.first("expires"), query.first("sig"));
            return self
                .play_preview((id, peer, role), file, expires, sig)
                .await;
        }
        let caller = authenticate(&self.config.auth, request)?;
        let body = || body_bytes(request);
        match (&method, segments.as_slice()) {
            (&Method::POST, ["uploads"]) => self.create_upload(&caller, body()?).await,
            (&Method::POST, ["uploads", id, "complete"]) => {
                self.complete_upload(&caller, id, body()?).await
            }
            (&Method::DELETE, ["uploads", id]) => self.abort_upload(&caller, id).await,
            (&Method::GET, ["uploads", id, "parts"]) => self.missing_parts(&caller, id).await,
            (&Method::POST, ["presigned-url"]) => self.legacy_presigned_url(&caller, body()?).await,
            (&Method::POST, ["recordings", "upload-url"]) => {
                self.legacy_recording_url(&caller, body()?).await
            }
            (&Method::GET, ["recordings"]) => self.list_recordings(&caller, request).await,
            (&Method::GET, ["recordings", id]) => self.get_recording(&caller, id).await,
            (&Method::DELETE, ["recordings", id]) => self.delete_recording(&caller, id).await,
            (&Method::PUT, ["recordings", id, "composition"]) => {
                self.put_composition(&caller, id, request, body()?).await
            }
            (&Method::POST, ["recordings", id, "composition", "token"]) => {
                self.mint_token(&caller, id, body()?).await
            }
            (&Method::POST, ["recordings", id, "preview"]) => {
                self.post_preview(&caller, id, request, body()?).await
            }
            (&Method::POST, ["recordings", id, "export"]) => {
                self.post_export(&caller, id, request, body()?).await
            }
            (&Method::GET, ["streams", stream]) => self.get_stream(&caller, stream).await,
            (&Method::POST, ["renders"]) => self.post_render(&caller, body()?).await,
            (&Method::GET, ["renders"]) => self.list_renders(&caller, request).await,
            (&Method::GET, ["renders", id]) => self.get_render(&caller, id).await,
            (&Method::DELETE, ["renders", id]) => self.delete_render(&caller, id).await,
            _ => Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} not allowed on {path}"),
            )),
        }
    }

    fn new_recording(
        &self,
        caller: &Caller,
        kind: UploadKind,
        key: String,
        content_type: String,
        size: u64,
    ) -> Recording {
        let created_at_ms = now_ms();
        Recording {
            recording_id: uuid::Uuid::new_v4().to_string(),
            owner: caller.owner().to_owned(),
            kind,
            key,
            content_type,
            size,
            room_id: None,
            stream_name: None,
            filename: None,
            started_at: None,
            status: RecordingStatus::Uploading,
            created_at_ms,
            expires_at: expiry(created_at_ms, self.config.retention_days),
            multipart: None,
        }
    }

    async fn create_upload(
        &self,
        caller: &Caller,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let req = UploadRequest::parse(body, self.config.limits)?;
        caller.may_upload(req.kind)?;
        self.check_track_target(caller, &req).await?;
        let mut recording = self.new_recording(
            caller,
            req.kind,
            String::new(),
            req.content_type.clone(),
            req.size,
        );
        recording.key = req.key(
            &self.config.key_prefix,
            caller.owner(),
            &recording.recording_id,
        );
        recording.room_id = req.room_id.as_ref().map(|r| r.as_str().to_owned());
        recording.stream_name = req.stream_name.as_ref().map(|s| s.as_str().to_owned());
        recording.filename = req.filename.clone();
        recording.started_at = req.started_at;
        let issued = self.reserve_key(caller, &recording).await?;
        let upload = match self.sign_upload(&mut recording, &req).await {
            Ok(upload) => upload,
            Err(e) => return Err(self.undo_claim(&recording, issued.as_ref(), e).await),
        };
        let call = match self.register_track(&recording, &req).await {
            Ok(call) => call,
            Err(e) => {
                // The upload was recorded for a call it could not join: undo it, so the failure writes nothing.
                if let Err(undo) = self.recordings.delete(&recording.recording_id).await {
                    tracing::error!(error = %undo, "could not remove a track's recording after a failure");
                }
                return Err(self.undo_multipart(&recording, e).await);
            }
        };
        tracing::info!(recording_id = %recording.recording_id, key = %recording.key, size = req.size, "upload signed");
        let mut body = json!({"recording_id": recording.recording_id, "key": recording.key, "status": "uploading",
                              "upload": upload});
        if !call.is_null() {
            body["call"] = call;
        }
        if req.kind == UploadKind::Asset {
            // What the caller names in a render request's scenes and soundtrack.
            body["uri"] = json!(format!("s3://{}/{}", self.config.bucket, recording.key));
        }
        Ok(json_response(
            StatusCode::CREATED,
            &with_capability(body, issued.as_ref()),
        ))
    }

    /// Signs the upload of a reserved `recording` (a PUT, or a multipart plan above the threshold) and records it;
    /// returns the `upload` clients follow.
    async fn sign_upload(
        &self,
        recording: &mut Recording,
        req: &UploadRequest,
    ) -> Result<Value, ApiError> {
        let metadata: Vec<(&str, String)> = req
            .started_at
            .map(|t| ("started-at", t.to_string()))
            .into_iter()
            .collect();
        let url_expires_at = rfc3339_ms(now_ms() + self.config.upload_url_ttl.as_millis() as u64);
        if req.size > self.config.multipart_threshold {
            let (part_size, part_count) = plan_parts(req.size, self.config.multipart_part_size);
            let upload_id = self
                .objects
                .create_multipart(&recording.key, &req.content_type, &metadata)
                .await?;
            recording.multipart = Some(MultipartUpload {
                upload_id: upload_id.clone(),
                part_size,
                part_count,
            });
            let parts = match self.sign_parts(recording, 1..=part_count).await {
                Ok(parts) => parts,
                Err(e) => return Err(self.undo_multipart(recording, e).await),
            };
            if let Err(e) = self.recordings.put_new(recording).await {
                return Err(self.undo_multipart(recording, e.into()).await);
            }
            Ok(
                json!({"method": "MULTIPART", "upload_id": upload_id, "part_size": part_size, "parts": parts,
                       "expires_at": url_expires_at}),
            )
        } else {
            let signed = self
                .objects
                .presign_put(&PutSpec {
                    key: &recording.key,
                    content_type: &req.content_type,
                    content_length: Some(req.size),
                    metadata: &metadata,
                    if_none_match: true,
                    expires_in: self.config.upload_url_ttl,
                })
                .await?;
            self.recordings.put_new(recording).await?;
            Ok(
                json!({"method": signed.method, "url": signed.url, "headers": signed.headers,
                       "expires_at": url_expires_at}),
            )
        }
    }

    /// Aborts the multipart upload of a request that failed after creating it, so the failure writes nothing.
    async fn undo_multipart(&self, recording: &Recording, cause: ApiError) -> ApiError {
        if let Some(m) = &recording.multipart
            && let Err(e) = self
                .objects
                .abort_multipart(&recording.key, &m.upload_id)
                .await
        {
            tracing::error!(error = %e, key = %recording.key, "could not abort a multipart upload after a failure");
        }
        cause
    }

    async fn sign_parts(
        &self,
        recording: &Recording,
        numbers: impl IntoIterator<Item = u32>,
    ) -> Result<Vec<Value>, ApiError> {
        let m = recording.multipart.as_ref().ok_or_else(not_multipart)?;
        let mut parts = Vec::new();
        for number in numbers {
            let len = part_len(recording.size, m.part_size, number);
            let signed = self
                .objects
                .presign_part(
                    &recording.key,
                    &m.upload_id,
                    number,
                    len,
                    self.config.upload_url_ttl,
                )
                .await?;
            parts.push(json!({"number": number, "size": len, "url": signed.url}));
        }
        Ok(parts)
    }

    /// The caller's own recording, or 404.
    pub(crate) async fn own_recording(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Recording, ApiError> {
        if vidpipe_core::validate::identifier("recording_id", id, 64).is_err() {
            return Err(ApiError::not_found("recording"));
        }
        match self.recordings.get(id).await? {
            Some(r) if r.owner == caller.owner() => Ok(r),
            _ => Err(ApiError::not_found("recording")),
        }
    }

    /// The caller's open multipart upload, or an error saying why not.
    async fn open_multipart(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Recording, MultipartUpload), ApiError> {
        let recording = self.own_recording(caller, id).await?;
        let multipart = recording.multipart.clone().ok_or_else(not_multipart)?;
        if recording.status != RecordingStatus::Uploading {
            return Err(ApiError::conflict(
                "not_uploading",
                format!("the upload is {}", recording.status.as_str()),
            ));
        }
        Ok((recording, multipart))
    }

    async fn complete_upload(
        &self,
        caller: &Caller,
        id: &str,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let (recording, multipart) = self.open_multipart(caller, id).await?;
        let parts = parse_completed_parts(body, multipart.part_count)?;
        self.objects
            .complete_multipart(&recording.key, &multipart.upload_id, &parts)
            .await?;
        tracing::info!(recording_id = id, key = %recording.key, "multipart upload completed");
        Ok(json_response(
            StatusCode::OK,
            &json!({"recording_id": id, "key": recording.key, "status": "uploading"}),
        ))
    }

    async fn abort_upload(&self, caller: &Caller, id: &str) -> Result<Response<Body>, ApiError> {
        let (recording, multipart) = self.open_multipart(caller, id).await?;
        self.objects
            .abort_multipart(&recording.key, &multipart.upload_id)
            .await?;
        self.recordings
            .set_status(id, RecordingStatus::Uploading, RecordingStatus::Aborted)
            .await?;
        tracing::info!(recording_id = id, "multipart upload aborted");
        Ok(json_response(
            StatusCode::OK,
            &json!({"recording_id": id, "status": "aborted"}),
        ))
    }

    async fn missing_parts(&self, caller: &Caller, id: &str) -> Result<Response<Body>, ApiError> {
        let (recording, multipart) = self.open_multipart(caller, id).await?;
        let stored = self
            .objects
            .list_parts(&recording.key, &multipart.upload_id)
            .await?;
        let missing: Vec<u32> = (1..=multipart.part_count)
            .filter(|n| {
                !stored.iter().any(|p| {
                    p.number == *n && p.size == part_len(recording.size, multipart.part_size, *n)
                })
            })
            .collect();
        let parts = self.sign_parts(&recording, missing).await?;
        let uploaded: Vec<Value> = stored
            .iter()
            .map(|p| json!({"number": p.number, "etag": p.etag, "size": p.size}))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({"recording_id": id, "upload_id": multipart.upload_id, "part_size": multipart.part_size,
                    "parts": parts, "uploaded": uploaded,
                    "expires_at": rfc3339_ms(now_ms() + self.config.upload_url_ttl.as_millis() as u64)}),
        ))
    }

    /// The AddPipe survey client's route: `{filename}` -> `{url, stream_capability?}`. The filename names a
    /// stream's camera or screen file. Its client sends only Content-Type, so only that is signed; it reads only
    /// `url`, and signs one file per stream, so the capability an anonymous first sign returns asks nothing of it.
    async fn legacy_presigned_url(
        &self,
        caller: &Caller,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let mut f = JsonFields::parse(body)?;
        let filename = f.str("filename", 256)?;
        f.finish()?;
        let (kind, stream) = match classify_key("", &filename) {
            KeyKind::Camera(s) => (UploadKind::Camera, s),
            KeyKind::Screen(s) => (UploadKind::Screen, s),
            _ => {
                return Err(FieldError::new("filename", "must be {stream}_camera.webm or {stream}.mp4 with a stream name of [A-Za-z0-9_-]").into());
            }
        };
        caller.may_upload(kind)?;
        let content_type = kind.allowed_media_types()[0].to_owned();
        let key = format!("{}{filename}", self.config.key_prefix);
        let mut recording = self.new_recording(caller, kind, key, content_type, 0);
        recording.stream_name = Some(stream.as_str().to_owned());
        let (url, issued) = self.sign_legacy_put(caller, &recording).await?;
        Ok(json_response(
            StatusCode::OK,
            &with_capability(json!({ "url": url }), issued.as_ref()),
        ))
    }

    /// The video-call recorder's route: `{room_id, filename?, contentType?, size?}` ->
    /// `{upload_url, recording_id, s3_key, expires_in}`.
    async fn legacy_recording_url(
        &self,
        caller: &Caller,
        body: &[u8],
    ) -> Result<Response<Body>, ApiError> {
        let mut f = JsonFields::parse(body)?;
        let room = RoomId::parse("room_id", &f.str("room_id", 512)?)?;
        let filename = f
            .opt_str("filename", 1024)?
            .map(|n| sanitize_filename("filename", &n))
            .transpose()?;
        let content_type = f
            .opt_str("contentType", upload::MAX_CONTENT_TYPE)?
            .unwrap_or_else(|| "video/webm".into());
        let content_type =
            upload::content_type("contentType", UploadKind::Recording, &content_type)?;
        let size = f
            .opt_u64("size")?
            .map(|s| upload::size("size", self.config.limits, s))
            .transpose()?;
        f.finish()?;
        caller.may_upload(UploadKind::Recording)?;
        if size.is_some_and(|s| s > self.config.multipart_threshold) {
            return Err(FieldError::new(
                "size",
                "is above the single-upload limit: use POST /uploads",
            )
            .into());
        }
        let mut recording = self.new_recording(
            caller,
            UploadKind::Recording,
            String::new(),
            content_type.clone(),
            size.unwrap_or(0),
        );
        let filename = filename.unwrap_or_else(|| upload::default_filename(&content_type));
        recording.key = vidpipe_core::keys::recording_key(
            &self.config.key_prefix,
            &room,
            &recording.recording_id,
            &filename,
        );
        recording.room_id = Some(room.as_str().to_owned());
        recording.filename = Some(filename);
        // A recording's key is new (its id), so no stream is claimed and no capability issued.
        let (url, _) = self.sign_legacy_put(caller, &recording).await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"upload_url": url, "recording_id": recording.recording_id, "s3_key": recording.key,
                    "expires_in": self.config.legacy_upload_url_ttl.as_secs()}),
        ))
    }

    /// Signs a PUT for the legacy routes: Content-Type always, Content-Length when known, no If-None-Match (their
    /// clients would not send it), after reserving the key; then records the recording. Returns the URL and the
    /// stream capability issued, if any. S3 takes such a URL again until it expires, so it lives only
    /// `LEGACY_UPLOAD_URL_TTL_SECONDS`; bucket versioning keeps what a replay would overwrite.
    async fn sign_legacy_put(
        &self,
        caller: &Caller,
        recording: &Recording,
    ) -> Result<(String, Option<StreamCapability>), ApiError> {
        let issued = self.reserve_key(caller, recording).await?;
        let signed = async {
            let signed = self
                .objects
                .presign_put(&PutSpec {
                    key: &recording.key,
                    content_type: &recording.content_type,
                    content_length: (recording.size > 0).then_some(recording.size),
                    metadata: &[],
                    if_none_match: false,
                    expires_in: self.config.legacy_upload_url_ttl,
                })
                .await?;
            self.recordings.put_new(recording).await?;
            Ok(signed)
        };
        match signed.await {
            Ok(signed) => {
                tracing::info!(recording_id = %recording.recording_id, key = %recording.key, "legacy upload signed");
                Ok((signed.url, issued))
            }
            Err(e) => Err(self.undo_claim(recording, issued.as_ref(), e).await),
        }
    }

    async fn list_recordings(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let owner = caller.user_owner()?;
        let query = request.query_string_parameters();
        let room = query
            .first("room_id")
            .map(|r| RoomId::parse("room_id", r))
            .transpose()?;
        let cursor = crate::http::page_cursor(&query)?;
        let page = self
            .recordings
            .list_by_owner(
                owner,
                room.as_ref().map(RoomId::as_str),
                cursor,
                self.config.list_page_size,
            )
            .await?;
        let mut recordings = Vec::with_capacity(page.items.len());
        for r in &page.items {
            recordings.push(self.recording_view(r).await?);
        }
        Ok(json_response(
            StatusCode::OK,
            &json!({"recordings": recordings, "next_cursor": page.next_cursor}),
        ))
    }

    /// An upload of the caller's, or else a call recording it may see ([`crate::calls`]).
    async fn get_recording(&self, caller: &Caller, id: &str) -> Result<Response<Body>, ApiError> {
        caller.user_owner()?;
        let recording = match self.own_recording(caller, id).await {
            Err(e) if e.status == StatusCode::NOT_FOUND => return self.get_call(caller, id).await,
            found => found?,
        };
        Ok(json_response(
            StatusCode::OK,
            &self.recording_view(&recording).await?,
        ))
    }

    /// `GET /streams/{stream}`: the caller's own stream's status, with a presigned `output_url` once ready. An
    /// anonymous caller reads a stream with its capability only.
    async fn get_stream(&self, caller: &Caller, stream: &str) -> Result<Response<Body>, ApiError> {
        if let Caller::Anonymous {
            capability: None, ..
        } = caller
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "anonymous callers may read a stream only with its capability ({CAPABILITY_HEADER})"
                ),
            ));
        }
        let Ok(name) = StreamName::parse("stream", stream) else {
            return Err(ApiError::not_found("stream"));
        };
        let record = match self.streams.get_status(name.as_str()).await? {
            Some(r)
                if r.owner
                    .as_deref()
                    .is_some_and(|owner| caller.holds(owner, r.capability.as_ref())) =>
            {
                r
            }
            _ => return Err(ApiError::not_found("stream")),
        };
        let output_url = match record.status {
            StreamStatus::Ready => {
                let key = record
                    .output_key
                    .clone()
                    .unwrap_or_else(|| composited_key(&self.config.key_prefix, &name));
                Some(
                    self.objects
                        .presign_get(&key, self.config.download_url_ttl)
                        .await?
                        .url,
                )
            }
            _ => None,
        };
        let error = (record.status == StreamStatus::Failed)
            .then(|| json!({"code": record.error_code, "message": record.error_message}));
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "stream": record.stream, "status": record.status.as_str(), "progress": record.progress,
                "output_url": output_url, "error": error, "job_kind": record.job_kind,
                "fallback_reason": record.fallback_reason,
                "cost": record.cost.as_ref().map(JobCost::to_json),
                "uploads": {"screen": record.screen_uploads, "camera": record.camera_uploads},
                "playback": self.playback_json(&PlaybackAsset::Stream(name)).await?,
            }),
        ))
    }

    /// A recording as clients see it, with a presigned `download_url` (absent once aborted).
    /// A recording's status as its owner sees it. A stream's screen or camera upload is sent with one PUT that no
    /// request marks done: the compositor records its arrival on the stream's item, so it is `uploaded` once the
    /// stream counts an object of its kind (its key is the stream's and no other upload may take it).
    async fn recording_status(&self, r: &Recording) -> Result<RecordingStatus, ApiError> {
        let (RecordingStatus::Uploading, Some(stream)) = (r.status, r.stream_name.as_deref())
        else {
            return Ok(r.status);
        };
        let arrived = |record: &vidpipe_core::stream_status::StreamRecord| match r.kind {
            UploadKind::Screen => record.screen_uploads > 0,
            UploadKind::Camera => record.camera_uploads > 0,
            _ => false,
        };
        Ok(match self.streams.get_status(stream).await? {
            Some(record) if arrived(&record) => RecordingStatus::Uploaded,
            _ => r.status,
        })
    }

    async fn recording_view(&self, r: &Recording) -> Result<Value, ApiError> {
        let status = self.recording_status(r).await?;
        let download_url = match r.status {
            RecordingStatus::Aborted => None,
            _ => Some(
                self.objects
                    .presign_get(&r.key, self.config.download_url_ttl)
                    .await?
                    .url,
            ),
        };
        let playback = self
            .playback_json(&PlaybackAsset::Recording(r.recording_id.clone()))
            .await?;
        Ok(json!({
            "playback": playback,
            "recording_id": r.recording_id, "kind": r.kind.as_str(), "key": r.key, "status": status.as_str(),
            "content_type": r.content_type, "size": r.size, "room_id": r.room_id, "stream_name": r.stream_name,
            "filename": r.filename, "started_at": r.started_at, "created_at": rfc3339_ms(r.created_at_ms),
            "expires_at": rfc3339_ms(r.expires_at * 1000), "download_url": download_url,
        }))
    }
}

fn not_multipart() -> ApiError {
    ApiError::conflict("not_multipart", "this recording is not a multipart upload")
}

fn body_bytes(request: &Request) -> Result<&[u8], ApiError> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(body)
}

/// `{parts:[{number, etag}]}` naming every part 1..=count exactly once.
fn parse_completed_parts(body: &[u8], count: u32) -> Result<Vec<(u32, String)>, ApiError> {
    let mut f = JsonFields::parse(body)?;
    let items = f.array("parts")?;
    f.finish()?;
    let mut parts = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let field = |name: &str| format!("parts[{i}].{name}");
        let serde_json::Value::Object(map) = item else {
            return Err(FieldError::new(format!("parts[{i}]"), "must be an object").into());
        };
        let mut p = JsonFields::parse(&serde_json::to_vec(&map).unwrap_or_default())?;
        let number = p
            .u64("number")
            .map_err(|e| FieldError::new(field("number"), e.message))?;
        let etag = p
            .str("etag", 128)
            .map_err(|e| FieldError::new(field("etag"), e.message))?;
        p.finish()
            .map_err(|e| FieldError::new(format!("parts[{i}].{}", e.field), e.message))?;
        let number = u32::try_from(number)
            .ok()
            .filter(|n| (1..=count).contains(n))
            .ok_or_else(|| {
                FieldError::new(field("number"), format!("must be between 1 and {count}"))
            })?;
        if etag.is_empty() || etag.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(
                field("etag"),
                "must be the ETag S3 returned for the part",
            )
            .into());
        }
        parts.push((number, etag));
    }
    parts.sort_by_key(|(n, _)| *n);
    let complete = parts.len() == count as usize
        && parts
            .iter()
            .enumerate()
            .all(|(i, (n, _))| *n as usize == i + 1);
    if !complete {
        return Err(FieldError::new(
            "parts",
            format!("must list each part 1..={count} exactly once"),
        )
        .into());
    }
    Ok(parts)
}
