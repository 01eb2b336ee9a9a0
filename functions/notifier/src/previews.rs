//! Call preview jobs' events (issue 16, point 2): each moves its peer and role's preview forward on the call
//! recording (`queued < processing < ready | failed`, within the generation the job was submitted for), and the
//! call's aggregate `preview_status` reaching `ready` or `failed` is announced as `call.preview.ready` or
//! `call.preview.failed` (id `call.preview.{status}:{recording_id}:{generation}`, so receivers drop repeats).

use vidpipe_core::call::PreviewJob;
use vidpipe_core::call::preview::{PreviewAdvance, preview_event};
use vidpipe_core::clock::now_ms;
use vidpipe_core::jobevent::{JobStateChange, StreamUpdate};
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, PackageFiles, PlaybackStore, ProcessedEventStore, RenderStore,
    StreamStatusStore, update_preview,
};
use vidpipe_core::recording::expiry;
use vidpipe_core::render::ports::FolderRemover;
use vidpipe_core::stream_status::StreamStatus;

use crate::handler::{JobEventHandled, Notifier, NotifierError};

impl<S, R, E, P, B, F, C> Notifier<S, R, E, P, B, F, C>
where
    S: StreamStatusStore,
    R: RenderStore,
    E: ProcessedEventStore,
    P: EventPublisher,
    B: PlaybackStore,
    F: PackageFiles + FolderRemover,
    C: CallPreviews,
{
    /// A call preview job (`job`) reported.
    pub(crate) async fn preview_event(
        &self,
        event: &JobStateChange,
        job: &PreviewJob,
    ) -> Result<JobEventHandled, NotifierError> {
        let detail = &event.detail;
        let id = job.recording_id.as_str();
        let (status, code) = match detail.state.stream_update() {
            None => {
                return Ok(JobEventHandled::NoStatusChange {
                    status: detail.state.name().to_owned(),
                });
            }
            Some(StreamUpdate::Progress(_)) => (StreamStatus::Processing, None),
            Some(StreamUpdate::Ready { .. }) => (StreamStatus::Ready, None),
            Some(StreamUpdate::Failed { code, .. }) => (StreamStatus::Failed, Some(code)),
        };
        if self.events.is_processed(&event.id).await? {
            return Ok(JobEventHandled::Duplicate {
                event_id: event.id.clone(),
            });
        }
        let mut before = None;
        let updated = update_preview(&self.calls, id, |state| {
            // A repeat of the status this job holds in this generation is a redelivery, perhaps after a crash
            // between the update and its announcement.
            let repeat = state.generation == job.generation
                && state
                    .job(&job.peer_id, job.role)
                    .is_some_and(|j| j.status == status);
            before = Some(state.status());
            let advance = state.advance(
                job.generation,
                &job.peer_id,
                job.role,
                status,
                code.as_deref(),
            );
            (advance, repeat)
        })
        .await?;
        let Some((stored, (advance, repeat))) = updated else {
            tracing::warn!(recording_id = id, job_id = %detail.job_id, "preview job of a call without previews");
            return Ok(JobEventHandled::Ignored {
                reason: format!("no previews of call {id}"),
            });
        };
        let aggregate = stored.state.status();
        let applied = advance == PreviewAdvance::Applied;
        let handled = if applied || repeat {
            // Announced when this event made the aggregate terminal, and again for a redelivery once it is.
            let became = applied && before.is_some_and(|b| !b.is_terminal());
            let announcement =
                preview_event(id, &stored.state, event.time.clone()).filter(|_| became || repeat);
            let published = match announcement {
                Some(announcement) => {
                    self.publisher.publish(&announcement).await?;
                    Some(announcement.id)
                }
                None => None,
            };
            tracing::info!(
                recording_id = id,
                generation = job.generation,
                peer_id = job.peer_id.as_str(),
                role = job.role.as_str(),
                status = status.as_str(),
                preview_status = aggregate.as_str(),
                "preview status updated"
            );
            JobEventHandled::PreviewApplied {
                recording_id: id.to_owned(),
                status: aggregate.as_str().to_owned(),
                published,
            }
        } else if advance == PreviewAdvance::Unknown {
            JobEventHandled::Ignored {
                reason: format!(
                    "no preview of {} {} in call {id}",
                    job.peer_id.as_str(),
                    job.role.as_str()
                ),
            }
        } else {
            tracing::info!(
                recording_id = id,
                generation = job.generation,
                current = stored.state.generation,
                status = status.as_str(),
                "stale preview job event ignored"
            );
            JobEventHandled::PreviewStale {
                recording_id: id.to_owned(),
            }
        };
        let now = now_ms();
        self.events
            .mark_processed(&event.id, now, expiry(now, self.retention_days))
            .await?;
        Ok(handled)
    }
}
