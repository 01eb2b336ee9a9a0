//! Submitting playback packages: an upload of a kind in `PLAYBACK_KINDS` (when it is marked uploaded), a stream's
//! output and a render's video (when its object is created, so the package is made from the finished file) get a
//! playback job, once.
//!
//! The package's record is the claim (`PlaybackStore::put_queued`). A package that stays `queued` is submitted
//! again by a redelivery: the job's `ClientRequestToken` is a digest of the job, so a handler that stopped between
//! the claim and `CreateJob`, or whose `CreateJob` failed, is finished by the retry without a second job.

use vidpipe_core::job::{
    CreateJobRequest, JobKind, PlaybackOptions, PlaybackPlan, Recording, playback_job,
};
use vidpipe_core::playback::{PlaybackAsset, PlaybackPackage, PlaybackSource, PlaybackUpdate};
use vidpipe_core::ports::{
    EventPublisher, ObjectStore, PartnerTimer, PlaybackStore, RecordingStore, StreamStatusStore,
    StreamStore, TranscodeError, Transcoder,
};
use vidpipe_core::recording::expiry;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::stream_status::StreamStatus;

use crate::event::ObjectCreated;
use crate::handler::{Compositor, Outcome, TransientError};

/// The `UserMetadata` key that routes a playback job's events to its package.
const METADATA_ASSET: &str = "asset";

impl<S, R, O, M, E, T, P> Compositor<S, R, O, M, E, T, P>
where
    S: StreamStore + StreamStatusStore,
    R: RecordingStore,
    O: ObjectStore,
    M: Transcoder,
    E: EventPublisher,
    T: PartnerTimer,
    P: PlaybackStore,
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
        self.submit_playback(&asset, &recording.owner, &object.key, false)
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
        self.submit_playback(&asset, &owner, &object.key, true)
            .await
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
        self.submit_playback(&asset, &owner, &object.key, true)
            .await
    }

    /// Probes the video at `key`, claims the package of `asset` and submits its job (again while it is `queued`).
    async fn submit_playback(
        &self,
        asset: &PlaybackAsset,
        owner: &str,
        key: &str,
        source_is_mp4: bool,
    ) -> Result<Outcome, TransientError> {
        let wire = asset.as_wire();
        if let Some(existing) = self.playbacks.get(&wire).await?
            && existing.status != StreamStatus::Queued
        {
            tracing::info!(asset = %wire, status = existing.status.as_str(), "playback already submitted");
            return Ok(Outcome::Nothing("playback_submitted".into()));
        }
        let options = PlaybackOptions {
            source_is_mp4,
            ..PlaybackOptions::default()
        };
        let (job, package) = match self.playback_plan(asset, owner, key, &options).await? {
            Ok(planned) => planned,
            Err(why) => {
                tracing::warn!(asset = %wire, key, why, "no playback package: the video cannot be used");
                return Ok(Outcome::Nothing(format!("playback_{why}")));
            }
        };
        let now = (self.now_ms)();
        let claimed = self
            .playbacks
            .put_queued(&package, expiry(now, self.config.retention_days))
            .await?;
        match self.transcoder.create_job(&job).await {
            Ok(job_id) => {
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
                    cost: None,
                };
                self.playbacks.advance(&wire, &failed).await?;
                Ok(Outcome::Failed(
                    "the transcoder refused the playback job".into(),
                ))
            }
        }
    }

    /// The job and the `queued` package of the video at `key`, or why it cannot have one.
    async fn playback_plan(
        &self,
        asset: &PlaybackAsset,
        owner: &str,
        key: &str,
        options: &PlaybackOptions,
    ) -> Result<Result<(CreateJobRequest, PlaybackPackage), &'static str>, TransientError> {
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
        let package = PlaybackPackage::queued(asset, owner, &self.config.bucket, key, &plan);
        let Ok(folder) = S3Uri::new(&self.config.bucket, package.folder.clone()) else {
            return Ok(Err("unusable_key"));
        };
        let source = Recording { uri, media };
        let Ok(job) = playback_job(&self.config.job_context, &source, &folder, options) else {
            return Ok(Err("unplayable"));
        };
        let job = job.with_user_metadata(JobKind::Playback, &[(METADATA_ASSET, asset.as_wire())]);
        Ok(Ok((job, package)))
    }
}
