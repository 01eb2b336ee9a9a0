//! A stream's screen and camera keys are reserved with the stream: the first signer claims it, and only its owner
//! (an anonymous owner's caller, only with the stream's capability) signs its keys again.

use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use vidpipe_core::capability::{CAPABILITY_BYTES, StreamCapability};
use vidpipe_core::ports::{
    ClaimIf, ObjectStore, ObjectStoreError, OwnerClaim, RecordingStore, StoreError,
    StreamStatusStore,
};
use vidpipe_core::recording::Recording;
use vidpipe_core::upload::UploadKind;

use crate::App;
use crate::auth::{CAPABILITY_HEADER, Caller};
use crate::calls::CallPorts;
use crate::http::ApiError;
use crate::playback::PlaybackPorts;
use crate::renders::RenderPorts;

impl<O, R, S, V, P, C> App<O, R, S, V, P, C>
where
    O: ObjectStore,
    R: RecordingStore,
    S: StreamStatusStore,
    V: RenderPorts,
    P: PlaybackPorts,
    C: CallPorts,
{
    /// Reserves the recording's key. A key that holds the recording's new id is free by construction; a stream's
    /// screen or camera key is reserved with its stream, claimed for the caller (the first write of the request). A
    /// stream owned by someone else is refused with 409 `stream_taken`; a stream of the anonymous owner, to an
    /// anonymous caller without its capability, with 403 `capability_required`; a key that holds an object, with
    /// 409 `already_exists`. The first claim of a stream by an anonymous caller issues the stream's capability,
    /// returned here.
    pub(crate) async fn reserve_key(
        &self,
        caller: &Caller,
        recording: &Recording,
    ) -> Result<Option<StreamCapability>, ApiError> {
        let stream = match (&recording.kind, &recording.stream_name) {
            (UploadKind::Camera | UploadKind::Screen, Some(stream)) => stream,
            _ => return Ok(None),
        };
        let issued = match caller {
            Caller::Anonymous { .. } => Some(issue_capability()?),
            Caller::User(_) => None,
        };
        let digest = issued.as_ref().map(StreamCapability::digest);
        let claim = |scope| {
            self.streams.claim_owner(
                stream,
                caller.owner(),
                digest.as_ref(),
                recording.expires_at,
                scope,
            )
        };
        // A stream without an item has no files (each claim and each arrival writes it): it is claimed in one
        // write, without asking S3 about the key, which saves the first signing of every stream (the survey
        // client's only one) a round trip. A stream with an item has its key looked up before any write, so a
        // refusal writes nothing.
        let mut looked_up = false;
        let claim = match claim(ClaimIf::New).await? {
            OwnerClaim::Unowned => {
                self.refuse_taken_key(&recording.key).await?;
                looked_up = true;
                claim(ClaimIf::Unowned).await?
            }
            other => other,
        };
        match claim {
            OwnerClaim::Claimed => Ok(issued),
            OwnerClaim::Owned { owner, capability }
                if caller.holds(&owner, capability.as_ref()) =>
            {
                if !looked_up {
                    self.refuse_taken_key(&recording.key).await?;
                }
                Ok(None)
            }
            OwnerClaim::Owned { owner, .. } if owner == caller.owner() => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "capability_required",
                format!(
                    "this stream was signed before: send the stream_capability its first signing returned, in \
                     the {CAPABILITY_HEADER} header"
                ),
            )),
            OwnerClaim::Owned { .. } => Err(ApiError::conflict(
                "stream_taken",
                "this stream belongs to someone else",
            )),
            OwnerClaim::Unowned => Err(StoreError::Corrupt(format!(
                "stream {stream}: a claim of an unowned stream found it unowned"
            ))
            .into()),
        }
    }

    /// 409 `already_exists` if `key` holds an object.
    async fn refuse_taken_key(&self, key: &str) -> Result<(), ApiError> {
        if self.objects.exists(key).await? {
            return Err(ObjectStoreError::AlreadyExists.into());
        }
        Ok(())
    }

    /// Gives back the stream a request claimed with `issued` when a later step of it fails: the capability never
    /// reaches the client, and without it no one could sign or read the stream again.
    pub(crate) async fn undo_claim(
        &self,
        recording: &Recording,
        issued: Option<&StreamCapability>,
        cause: ApiError,
    ) -> ApiError {
        if let (Some(capability), Some(stream)) = (issued, &recording.stream_name)
            && let Err(e) = self
                .streams
                .release_owner(stream, &capability.digest())
                .await
        {
            tracing::error!(error = %e, stream = %stream, "could not release a stream claim after a failure");
        }
        cause
    }
}

/// A new stream capability, from the operating system's CSPRNG.
fn issue_capability() -> Result<StreamCapability, ApiError> {
    let mut entropy = [0; CAPABILITY_BYTES];
    getrandom::fill(&mut entropy)?;
    Ok(StreamCapability::issue(entropy))
}

/// `body` with the `stream_capability` issued to this caller, if any: the one time the client sees it.
pub(crate) fn with_capability(mut body: Value, issued: Option<&StreamCapability>) -> Value {
    if let Some(capability) = issued {
        body["stream_capability"] = json!(capability.reveal());
    }
    body
}
