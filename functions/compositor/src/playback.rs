//! Submitting playback packages: an upload of a kind in `PLAYBACK_KINDS` (when it is marked uploaded), a stream's
//! output and a render's video (when its object is created, so the package is made from the finished file) get a
//! playback job, once.
//!
//! The package's record is the claim (`PlaybackStore::put_queued`). A package that stays `queued` is submitted
//! again by a redelivery: the job's `ClientRequestToken` is a digest of the job, so a handler that stopped between
//! the claim and `CreateJob`, or whose `CreateJob` failed, is finished by the retry without a second job.
//!
//! A package is made from one object, named by its ETag. A later object at the same key (a late partner's composite
//! written over the fallback) makes it again, in a folder of its own, once: when the event's object is the one the
//! key holds now (an old event redelivered is not) and the package is still the earlier one's (a conditional
//! replace); the earlier job's events are then stale for the notifier.

use vidpipe_core::job::{
    CreateJobRequest, JobKind, PlaybackOptions, PlaybackPlan, Recording, playback_job,
};
use vidpipe_core::playback::{
    PlaybackAsset, PlaybackPackage, PlaybackSource, PlaybackUpdate, package_folder,
};
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, ObjectStore, PartnerTimer, PlaybackStore, RecordingStore,
    StreamStatusStore, StreamStore, TranscodeError, Transcoder,
};
use vidpipe_core::recording::expiry;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::stream_status::StreamStatus;

use crate::event::ObjectCreated;
use crate::handler::{Compositor, Outcome, TransientError};

/// The `UserMetadata` key that routes a playback job's events to its package.
const METADATA_ASSET: &str = "asset";
/// The `UserMetadata` key naming the source object's ETag, the package's generation (`jobevent::route`).
const METADATA_SOURCE: &str = "source";

impl<S, R, O, M, E, T, P, C> Compositor<S, R, O, M, E, T, P, C>
where
    S: StreamStore + StreamStatusStore,
    R: RecordingStore,
    O: ObjectStore,
    M: Transcoder,
    E: EventPublisher,
    T: PartnerTimer,
    P: PlaybackStore,
    C: CallPreviews,
{
    /// Whether uploads or outputs of `source` get a package.
    pub(crate) fn plays(&self, source: PlaybackSource) -> bool {
        self.config.playback_kinds.contains(&source)
    }

    /// The uploaded recording `recording_id` (its object `object`) gets its package.
    pub(crate) async fn recording_playback(
        &self,
        object: &ObjectCreated,
        recording_id: &str,
    ) -> Result<Outcome, TransientError> {
        let Some(recording) = self.recordings.get(recording_id).await? else {
            return Ok(Outcome::Nothing("no_such_recording".into()));
        };
        let asset = PlaybackAsset::Recording(recording_id.to_owned());
        self.submit_playback(&asset, &recording.owner, object, false)
            .await
    }

    /// The stream's output (its object `object`) gets its package; vidpipe's outputs are progressive MP4s already.
    pub(crate) async fn output_playback(
        &self,
        object: &ObjectCreated,
        stream: &vidpipe_core::keys::StreamName,
    ) -> Result<Outcome, TransientError> {
        let owner = self
            .streams
            .get_status(stream.as_str())
            .await?
            .and_then(|record| record.owner)
            .unwrap_or_default();
        let asset = PlaybackAsset::Stream(stream.clone());
        self.submit_playback(&asset, &owner, object, true).await
    }

    /// A render's video (its object `object`, under its owner's segment) gets its package; the render flow writes
    /// progressive MP4s already.
    pub(crate) async fn render_playback(
        &self,
        object: &ObjectCreated,
        owner_segment: &str,
        render_id: &str,
    ) -> Result<Outcome, TransientError> {
        let Some(owner) = vidpipe_core::keys::segment_owner(owner_segment) else {
            return Ok(Outcome::Ignored("not an owner's render".into()));
        };
        let asset = PlaybackAsset::Render(render_id.to_owned());
        self.submit_playback(&asset, &owner, object, true).await
    }

    /// Probes the video `object`, claims the package of `asset` (or replaces one made from an earlier object at its
    /// key) and submits its job (again while it is `queued`).
    async fn submit_playback(
        &self,
        asset: &PlaybackAsset,
        owner: &str,
        object: &ObjectCreated,
        source_is_mp4: bool,
    ) -> Result<Outcome, TransientError> {
        let wire = asset.as_wire();
        let existing = self.playbacks.get(&wire).await?;
        // Whether the package replaces an earlier object's, and whether it has a folder of its own (a package made
        // again that is still `queued` is submitted again as it was, in its own folder).
        let (replacing, own_folder) = match &existing {
            None => (None, false),
            Some(package) if package.source_etag.as_deref() == Some(object.etag.as_str()) => {
                if package.status != StreamStatus::Queued {
                    tracing::info!(asset = %wire, status = package.status.as_str(), "playback already submitted");
                    return Ok(Outcome::Nothing("playback_submitted".into()));
                }
                (None, package.folder != package_folder(&object.key))
            }
            Some(package) => {
                let current = self.objects.head(&object.key).await?;
                if current.is_none_or(|head| head.etag != object.etag) {
                    tracing::info!(asset = %wire, key = %object.key, "not the object the key holds now: no new package");
                    return Ok(Outcome::Nothing("playback_superseded".into()));
                }
                (Some(package.source_etag.clone()), true)
            }
        };
        let options = PlaybackOptions {
            source_is_mp4,
            ..PlaybackOptions::default()
        };
        let (job, package) = match self
            .playback_plan(asset, owner, object, &options, own_folder)
            .await?
        {
            Ok(planned) => planned,
            Err(why) => {
                tracing::warn!(asset = %wire, key = %object.key, why, "no playback package: the video cannot be used");
                return Ok(Outcome::Nothing(format!("playback_{why}")));
            }
        };
        let expires_at = expiry((self.now_ms)(), self.config.retention_days);
        let claimed = match &replacing {
            None => self.playbacks.put_queued(&package, expires_at).await?,
            Some(replaced) => {
                let replaced = self
                    .playbacks
                    .replace_queued(&package, expires_at, replaced.as_deref())
                    .await?;
                if !replaced {
                    tracing::info!(asset = %wire, "the package was made again by another handler");
                    return Ok(Outcome::Nothing("playback_submitted".into()));
                }
                tracing::info!(asset = %wire, folder = %package.folder, "a later object: the package is made again");
                true
            }
        };
        match self.transcoder.create_job(&job).await {
            Ok(job_id) => {
                self.playbacks
                    .record_job(&wire, &object.etag, &job_id)
                    .await?;
                tracing::info!(asset = %wire, %job_id, claimed, "playback job submitted");
                Ok(Outcome::PlaybackSubmitted {
                    job_id,
                    asset: wire,
                })
            }
            Err(e @ TranscodeError::Unavailable(_)) => Err(TransientError::Transcoder(e)),
            Err(e @ TranscodeError::Unusable(_)) => {
                tracing::warn!(asset = %wire, error = %e, "the transcoder refused the playback job");
                let failed = PlaybackUpdate {
                    status: StreamStatus::Failed,
                    duration_ms: None,
                    size: None,
                    error_code: Some("job_refused".into()),
                    source_etag: Some(object.etag.clone()),
                    cost: None,
                };
                self.playbacks.advance(&wire, &failed).await?;
                Ok(Outcome::Failed(
                    "the transcoder refused the playback job".into(),
                ))
            }
        }
    }

    /// The job and the `queued` package of the video `object` (in a folder of its own, `own_folder`, when it
    /// replaces an earlier object's package), or why it cannot have one.
    async fn playback_plan(
        &self,
        asset: &PlaybackAsset,
        owner: &str,
        object: &ObjectCreated,
        options: &PlaybackOptions,
        own_folder: bool,
    ) -> Result<Result<(CreateJobRequest, PlaybackPackage), &'static str>, TransientError> {
        let key = object.key.as_str();
        let Ok(uri) = S3Uri::new(&self.config.bucket, key) else {
            return Ok(Err("unusable_key"));
        };
        let media = match self.transcoder.probe(&uri).await {
            Ok(media) => media,
            Err(e @ TranscodeError::Unavailable(_)) => return Err(TransientError::Transcoder(e)),
            Err(TranscodeError::Unusable(_)) => return Ok(Err("unreadable")),
        };
        if self.config.limits.check_media(&media).is_err() {
            return Ok(Err("too_large"));
        }
        let Ok(plan) = PlaybackPlan::new(&media, options) else {
            return Ok(Err("unplayable"));
        };
        let mut package = PlaybackPackage::queued(
            asset,
            owner,
            &self.config.bucket,
            (key, &object.etag),
            &plan,
        );
        if own_folder {
            package = package.in_own_folder();
        }
        let Ok(folder) = S3Uri::new(&self.config.bucket, package.folder.clone()) else {
            return Ok(Err("unusable_key"));
        };
        let source = Recording { uri, media };
        let Ok(job) = playback_job(&self.config.job_context, &source, &folder, options) else {
            return Ok(Err("unplayable"));
        };
        let job = job.with_user_metadata(
            JobKind::Playback,
            &[
                (METADATA_ASSET, asset.as_wire()),
                (METADATA_SOURCE, object.etag.clone()),
            ],
        );
        Ok(Ok((job, package)))
    }
}
