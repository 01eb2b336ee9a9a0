//! The playback routes: the `playback` object of a recording, a stream or a render, `GET /play/{asset}/{file}` (a
//! package's manifest or storyboard with every file it names rewritten into a short-lived signed URL), and
//! `DELETE /recordings/{id}`.
//!
//! `GET /play` is how a player reads a private package: its URLs carry their own signature and expiry
//! (`vidpipe_core::play_url`), minted only into the `playback` object its owner is shown, so no `Authorization`
//! header is needed (native players cannot send one). In a manifest, each segment, init segment and sprite becomes a
//! presigned S3 GET valid `PLAYBACK_URL_TTL_SECONDS` or, with a CloudFront distribution, a CloudFront URL under one
//! custom policy over the package's folder; an HLS main playlist's variant playlists stay relative, with the same
//! signed query, so the player fetches them through this route too.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use vidpipe_core::job::names;
use vidpipe_core::manifest::{self, ManifestError};
use vidpipe_core::play_url::PlayUrlError;
use vidpipe_core::playback::PlaybackAsset;
use vidpipe_core::ports::{
    JobCanceller, ObjectStore, PackageFiles, PlaybackStore, RecordingStore, StreamStatusStore,
};
use vidpipe_core::render::ports::{FetchError, FolderRemover};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_core::upload::UploadKind;

use crate::App;
use crate::auth::Caller;
use crate::calls::CallPorts;
use crate::http::{ApiError, json_response};
use crate::renders::RenderPorts;
use crate::signing::CdnFolder;

/// The largest manifest read (a two-hour ladder's DASH `SegmentList` is well under it).
const MANIFEST_LIMIT: u64 = 4 << 20;

/// What the playback routes need besides the bucket: the packages and their files.
#[derive(Debug, Default)]
pub struct PlaybackBackends<St, Fi> {
    /// Package items.
    pub store: St,
    /// Manifests read, and a deleted recording's folder removed.
    pub files: Fi,
}

/// The playback routes' ports, as one type parameter of [`App`].
pub trait PlaybackPorts: Send + Sync {
    /// Package items.
    type Store: PlaybackStore;
    /// Package files.
    type Files: PackageFiles + FolderRemover;
    /// The package items.
    fn store(&self) -> &Self::Store;
    /// The package files.
    fn files(&self) -> &Self::Files;
}

impl<St: PlaybackStore, Fi: PackageFiles + FolderRemover> PlaybackPorts
    for PlaybackBackends<St, Fi>
{
    type Store = St;
    type Files = Fi;
    fn store(&self) -> &St {
        &self.store
    }
    fn files(&self) -> &Fi {
        &self.files
    }
}

/// What a file of a package is served as: its content type and how its URIs are rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    Hls,
    Dash,
    Storyboard,
}

impl Served {
    /// The kind of `file`: the main playlist, a variant playlist (`index_720p.m3u8`), the DASH manifest or the
    /// storyboard; anything else is not served (segments and images are fetched with their presigned URLs).
    fn of(file: &str) -> Option<Self> {
        let plain = file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        match file {
            _ if !plain => None,
            names::DASH => Some(Self::Dash),
            names::STORYBOARD => Some(Self::Storyboard),
            _ if file.starts_with("index") && file.ends_with(".m3u8") => Some(Self::Hls),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Hls => "application/vnd.apple.mpegurl",
            Self::Dash => "application/dash+xml",
            Self::Storyboard => "text/vtt",
        }
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
    /// The `playback` object of `asset` (`null` when it has no package), for a caller already allowed to read
    /// `asset`: manifests and the storyboard as signed `GET /play` URLs, the MP4 and the poster as signed GETs (from
    /// the CDN when there is one), once `ready`.
    pub(crate) async fn playback_json(&self, asset: &PlaybackAsset) -> Result<Value, ApiError> {
        let Some(package) = self.playback.store().get(&asset.as_wire()).await? else {
            return Ok(Value::Null);
        };
        let view = package.view(str::to_owned);
        let expires = self.signing.expiry();
        let query = self.signing.play_query(&asset.as_wire(), expires);
        let play = |key: Option<String>| {
            key.map(|key| {
                let file = key.rsplit('/').next().unwrap_or_default();
                let base = self.config.public_base_url.as_deref().unwrap_or_default();
                format!("{base}/play/{}/{file}?{query}", asset.as_wire())
            })
        };
        let mut json = serde_json::to_value(&view).unwrap_or_default();
        json["hls"] = json!(play(view.hls));
        json["dash"] = json!(play(view.dash));
        json["storyboard"] = json!(play(view.storyboard));
        let cdn = self.signing.cdn_folder(&package.folder, expires);
        for (field, key) in [("mp4", view.mp4), ("poster", view.poster)] {
            if let Some(key) = key {
                json[field] = json!(self.file_url(cdn.as_ref(), &key).await?);
            }
        }
        Ok(json)
    }

    /// The URL a player fetches the package file `key` from: through the CDN when there is one, else presigned.
    async fn file_url(&self, cdn: Option<&CdnFolder>, key: &str) -> Result<String, ApiError> {
        if let Some(url) = cdn.and_then(|cdn| cdn.url(key)) {
            return Ok(url);
        }
        Ok(self
            .objects
            .presign_get(key, self.config.playback_url_ttl)
            .await?
            .url)
    }

    /// `GET /play/{kind}/{id}/{file}?expires=...&sig=...`: a package's manifest or storyboard, rewritten, for
    /// whoever holds a URL signed for the package and not expired (403 otherwise); no `Authorization` is read.
    pub(crate) async fn play(
        &self,
        kind: &str,
        id: &str,
        file: &str,
        expires: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Response<Body>, ApiError> {
        let not_found = || ApiError::not_found("playback file");
        let asset = PlaybackAsset::parse(&format!("{kind}/{id}")).map_err(|_| not_found())?;
        let expires = self
            .signing
            .verify_play(&asset.as_wire(), expires, signature)
            .map_err(refused)?;
        let served = Served::of(file).ok_or_else(not_found)?;
        let package = self
            .playback
            .store()
            .get(&asset.as_wire())
            .await?
            .ok_or_else(not_found)?;
        if package.status != StreamStatus::Ready {
            return Err(ApiError::conflict(
                "not_ready",
                format!("the playback package is {}", package.status.as_str()),
            ));
        }
        // The variant playlists go with the request's own grant: its expiry, never a later one.
        let grant = self.signing.play_query(&asset.as_wire(), expires);
        self.serve(
            &package.bucket,
            &package.folder,
            served,
            file,
            &grant,
            &asset.as_wire(),
        )
        .await
    }

    /// Serves the file `file` of the package folder `folder` (a key ending in `/`) of `bucket`, read and rewritten
    /// as `served`, every file it names signed (variant playlists with the request's `grant`); `what` names the
    /// package in the log. The one way `GET /play` answers, for packages and call previews alike.
    pub(crate) async fn serve(
        &self,
        bucket: &str,
        folder: &str,
        served: Served,
        file: &str,
        grant: &str,
        what: &str,
    ) -> Result<Response<Body>, ApiError> {
        let not_found = || ApiError::not_found("playback file");
        let key = manifest::resolve(folder, file).map_err(|_| not_found())?;
        let uri = S3Uri::new(bucket, key).map_err(|_| not_found())?;
        let text = match self.playback.files().read(&uri, MANIFEST_LIMIT).await {
            Ok(bytes) => {
                String::from_utf8(bytes).map_err(|_| self.unservable(what, &"not UTF-8"))?
            }
            Err(FetchError::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(ApiError::internal(&e)),
        };
        let rewritten = self
            .rewrite(folder, served, &text, grant)
            .await
            .map_err(|e| self.unservable(what, &e))?;
        let mut response = Response::new(Body::Text(rewritten));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(served.content_type()),
        );
        // The URLs inside expire: no cache may keep them.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        Ok(response)
    }

    /// `text` with every file it names signed (an HLS variant playlist stays relative, with the request's own
    /// signed query `grant`: it comes back here).
    async fn rewrite(
        &self,
        folder: &str,
        served: Served,
        text: &str,
        grant: &str,
    ) -> Result<String, ManifestError> {
        // The rewriters take a synchronous callback: resolve every URI first, then sign each key once.
        let mut keys = Vec::new();
        let mut collect = |uri: &str| {
            let key = manifest::resolve(folder, uri)?;
            keys.push((uri.to_owned(), key));
            Ok(String::new())
        };
        match served {
            Served::Hls => manifest::rewrite_hls(text, &mut collect)?,
            Served::Dash => manifest::rewrite_dash(text, &mut collect)?,
            Served::Storyboard => manifest::rewrite_vtt(text, &mut collect)?,
        };
        let cdn = self.signing.cdn_folder(folder, self.signing.expiry());
        let mut signed = HashMap::new();
        for (uri, key) in keys {
            let Entry::Vacant(slot) = signed.entry(uri) else {
                continue;
            };
            let url = if served == Served::Hls && slot.key().ends_with(".m3u8") {
                format!("{}?{grant}", slot.key())
            } else {
                self.file_url(cdn.as_ref(), &key)
                    .await
                    .map_err(|_| ManifestError::OutsidePackage(slot.key().clone()))?
            };
            slot.insert(url);
        }
        let mut lookup = |uri: &str| {
            signed
                .get(uri)
                .cloned()
                .ok_or_else(|| ManifestError::OutsidePackage(uri.to_owned()))
        };
        match served {
            Served::Hls => manifest::rewrite_hls(text, &mut lookup),
            Served::Dash => manifest::rewrite_dash(text, &mut lookup),
            Served::Storyboard => manifest::rewrite_vtt(text, &mut lookup),
        }
    }

    /// A stored file that cannot be served: logged, answered as a server error.
    fn unservable(&self, what: &str, why: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(asset = what, %why, "a playback file cannot be served");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the playback file cannot be served",
        )
    }

    /// Cancels the package job of `asset` while it may still run, so it writes nothing into a deleted folder; a
    /// job that finished meanwhile is nothing to do, a transcoder that cannot be reached fails the request (503)
    /// with nothing deleted, so it can be repeated.
    async fn cancel_playback_job(&self, asset: &PlaybackAsset) -> Result<(), ApiError> {
        let Some(package) = self.playback.store().get(&asset.as_wire()).await? else {
            return Ok(());
        };
        let running = matches!(
            package.status,
            StreamStatus::Queued | StreamStatus::Processing
        );
        let (true, Some(job_id)) = (running, package.job_id.as_deref()) else {
            return Ok(());
        };
        match self.renders.jobs().cancel_job(job_id).await {
            Ok(outcome) => {
                tracing::info!(
                    asset = asset.as_wire(),
                    job_id,
                    ?outcome,
                    "playback job canceled"
                );
                Ok(())
            }
            Err(e) => {
                tracing::error!(asset = asset.as_wire(), job_id, error = %e, "the playback job could not be canceled");
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "transcoder_unavailable",
                    "the recording's playback job could not be stopped; try again",
                ))
            }
        }
    }

    /// `DELETE /recordings/{id}`: the caller's own recording, its folder (the upload and its playback package) and
    /// its items. A stream's screen or camera recording is part of the stream's output and is refused (409).
    pub(crate) async fn delete_recording(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        caller.user_owner()?;
        let recording = self.own_recording(caller, id).await?;
        if recording.kind == UploadKind::Track {
            return Err(ApiError::conflict(
                "call_track",
                "a call's track is part of its call recording and is not deleted alone",
            ));
        }
        if !matches!(recording.kind, UploadKind::Recording | UploadKind::Asset) {
            return Err(ApiError::conflict(
                "stream_recording",
                "a stream's recording is part of its output and is not deleted alone",
            ));
        }
        // The recording's folder holds its upload and everything made from it; files go first, so a failure
        // leaves the items and the request can be repeated.
        let (folder, _) = recording.key.rsplit_once('/').unwrap_or_default();
        if !folder.ends_with(&format!("/{}", recording.recording_id)) {
            return Err(ApiError::conflict(
                "not_deletable",
                "this recording's key is not in a folder of its own",
            ));
        }
        let folder = S3Uri::new(&self.config.bucket, format!("{folder}/"))
            .map_err(|e| ApiError::internal(&e))?;
        let asset = PlaybackAsset::Recording(recording.recording_id.clone());
        self.cancel_playback_job(&asset).await?;
        self.playback
            .files()
            .remove_folder(&folder)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        self.playback.store().delete(&asset.as_wire()).await?;
        self.recordings.delete(&recording.recording_id).await?;
        tracing::info!(recording_id = %recording.recording_id, key = %recording.key, "recording deleted");
        Ok(json_response(
            StatusCode::OK,
            &json!({"recording_id": recording.recording_id, "status": "deleted"}),
        ))
    }
}

/// A `GET /play` URL that is not signed for its package, or has expired: 403, as CloudFront answers.
pub(crate) fn refused(e: PlayUrlError) -> ApiError {
    let code = match e {
        PlayUrlError::Expired => "expired",
        PlayUrlError::Unsigned | PlayUrlError::Mismatch => "invalid_signature",
    };
    ApiError::new(StatusCode::FORBIDDEN, code, e.to_string())
}
