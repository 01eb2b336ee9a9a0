//! Submitting a call's previews (issue 16, point 2): `POST /recordings/{recording_id}/preview` stores a generation
//! on the call recording and writes its request object; its ObjectCreated event lands here. Each job of the
//! generation still `queued` without a job id is built from the stored tracks (each probed: its size, its audio,
//! and the duration of a track followed by another of the same peer and role) and submitted, then its id recorded.
//!
//! Redelivery is safe: a job's `ClientRequestToken` is a digest of the job, generation included, so a handler that
//! stopped between `CreateJob` and the record is finished by the retry without a second job; a job already recorded
//! is not submitted again, and a request of an earlier generation submits nothing. A job that cannot be made (a
//! track that cannot be read or is too large, a refused job) is `failed` with a code, so the call's
//! `preview_status` never waits for it.

use vidpipe_core::call::CallId;
use vidpipe_core::call::preview::{PreviewJobState, PreviewState, preview_event};
use vidpipe_core::clock::rfc3339_ms;
use vidpipe_core::job::{
    CallPreview, CreateJobRequest, JobKind, METADATA_PREVIEW_GENERATION, PreviewTrack, Recording,
    call_preview_job,
};
use vidpipe_core::keys::{KeyKind, RoomId, call_prefix, classify_key};
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, ObjectStore, PartnerTimer, PlaybackStore, RecordingStore,
    StreamStatusStore, StreamStore, TranscodeError, Transcoder, update_preview,
};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::stream_status::StreamStatus;

use crate::handler::{Compositor, Outcome, TransientError};

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
    /// The request object of generation `generation` of the previews of `recording_id` (in `room_id`) arrived.
    pub(crate) async fn preview_request(
        &self,
        room_id: &RoomId,
        recording_id: &CallId,
        generation: u64,
    ) -> Result<Outcome, TransientError> {
        let id = recording_id.as_str();
        let Some(stored) = self.calls.get_preview(id).await? else {
            tracing::warn!(
                recording_id = id,
                "a preview request of a call without previews"
            );
            return Ok(Outcome::Ignored("no previews requested".into()));
        };
        if stored.room_id != room_id.as_str() {
            tracing::warn!(
                recording_id = id,
                room_id = room_id.as_str(),
                "a preview request in another room's folder"
            );
            return Ok(Outcome::Ignored("another room's call".into()));
        }
        if stored.state.generation != generation {
            tracing::info!(
                recording_id = id,
                generation,
                current = stored.state.generation,
                "an earlier generation's preview request"
            );
            return Ok(Outcome::Nothing("preview_superseded".into()));
        }
        let folder = call_prefix(&self.config.key_prefix, room_id, recording_id);
        let Ok(folder) = S3Uri::new(&self.config.bucket, folder) else {
            return Ok(Outcome::Ignored("not a usable call folder".into()));
        };
        let (mut submitted, mut failed) = (0, 0);
        let waiting = stored
            .state
            .jobs
            .iter()
            .filter(|j| j.job_id.is_none() && j.status == StreamStatus::Queued);
        for job in waiting {
            let built = self
                .build_preview(&folder, (room_id, recording_id), &stored.state, job)
                .await?;
            let refusal = match built {
                Ok(request) => match self.transcoder.create_job(&request).await {
                    Ok(job_id) => {
                        update_preview(self.calls.as_ref(), id, |s| {
                            s.record_job(generation, &job.peer_id, job.role, &job_id)
                        })
                        .await?;
                        tracing::info!(recording_id = id, generation, peer_id = job.peer_id.as_str(), role = job.role.as_str(), %job_id, "preview job submitted");
                        submitted += 1;
                        continue;
                    }
                    Err(e @ TranscodeError::Unavailable(_)) => {
                        return Err(TransientError::Transcoder(e));
                    }
                    Err(e @ TranscodeError::Unusable(_)) => {
                        tracing::warn!(recording_id = id, error = %e, "the transcoder refused a preview job");
                        "job_refused"
                    }
                },
                Err(why) => why,
            };
            tracing::warn!(
                recording_id = id,
                generation,
                peer_id = job.peer_id.as_str(),
                role = job.role.as_str(),
                why = refusal,
                "a preview cannot be made"
            );
            self.fail_preview(id, generation, job, refusal).await?;
            failed += 1;
        }
        Ok(Outcome::PreviewsSubmitted {
            recording_id: id.to_owned(),
            generation,
            submitted,
            failed,
        })
    }

    /// Marks `job` failed with `code`, and announces the previews' failure (the notifier would have, had the job
    /// run).
    async fn fail_preview(
        &self,
        id: &str,
        generation: u64,
        job: &PreviewJobState,
        code: &str,
    ) -> Result<(), TransientError> {
        let updated = update_preview(self.calls.as_ref(), id, |s| {
            s.advance(
                generation,
                &job.peer_id,
                job.role,
                StreamStatus::Failed,
                Some(code),
            )
        })
        .await?;
        if let Some((stored, _)) = updated
            && let Some(event) = preview_event(id, &stored.state, rfc3339_ms((self.now_ms)()))
        {
            self.publisher.publish(&event).await?;
        }
        Ok(())
    }

    /// The job of `job` (one peer and role of `state`), or why it cannot be made. Each source key is checked again
    /// to be a track of this call, peer and role before it becomes a job input.
    async fn build_preview(
        &self,
        folder: &S3Uri,
        (room_id, recording_id): (&RoomId, &CallId),
        state: &PreviewState,
        job: &PreviewJobState,
    ) -> Result<Result<CreateJobRequest, &'static str>, TransientError> {
        let mut tracks = Vec::new();
        for source in state.sources_of(&job.peer_id, job.role) {
            let ours = matches!(
                classify_key(&self.config.key_prefix, &source.key),
                KeyKind::Track { room_id: r, recording_id: c, peer_id: p, role, .. }
                    if &r == room_id && &c == recording_id && p == job.peer_id && role == job.role
            );
            let uri = S3Uri::new(&self.config.bucket, source.key.clone());
            let (true, Ok(uri)) = (ours, uri) else {
                return Ok(Err("unusable_key"));
            };
            let media = match self.transcoder.probe(&uri).await {
                Ok(media) => media,
                Err(e @ TranscodeError::Unavailable(_)) => {
                    return Err(TransientError::Transcoder(e));
                }
                Err(TranscodeError::Unusable(_)) => return Ok(Err("unreadable")),
            };
            if self.config.limits.check_media(&media).is_err() {
                return Ok(Err("too_large"));
            }
            tracks.push(PreviewTrack {
                recording: Recording { uri, media },
                offset_ms: source.offset_ms,
            });
        }
        let preview = CallPreview {
            call_folder: folder,
            recording_id,
            peer_id: &job.peer_id,
            role: job.role,
            tracks: &tracks,
        };
        let Ok(request) = call_preview_job(&self.config.job_context, &preview) else {
            return Ok(Err("unplayable"));
        };
        Ok(Ok(request.with_user_metadata(
            JobKind::CallPreview,
            &[(METADATA_PREVIEW_GENERATION, state.generation.to_string())],
        )))
    }
}
