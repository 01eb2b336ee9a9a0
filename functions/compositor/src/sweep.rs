//! The sweeper: a scheduled invocation (`{"sweep": {}}`) that finds streams left waiting and repairs or fails them.
//! A stream can be left `queued` when every delivery of its events and of its partner timer failed for good (they
//! went to the dead-letter queues), and `processing` when its job stopped reporting (an event lost on the way to the
//! notifier). The first is repaired as its partner timer would have: the fallback, or the composite. The second is
//! failed with a reason, so the client's stored URL does not wait forever.

use serde_json::{Value, json};
use tracing::Instrument;
use vidpipe_core::keys::StreamName;
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::pairing::StreamFailure;
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, ObjectStore, PartnerTimer, PlaybackStore, RecordingStore,
    StalledStream, StreamStatusStore, StreamStore, Transcoder,
};
use vidpipe_core::stream_status::StreamStatus;

use crate::handler::{Compositor, Outcome, TransientError};

/// Streams handled per sweep; the next sweep takes the rest.
const SWEEP_LIMIT: usize = 100;

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
    /// Finds streams `queued` past the partner wait and the claim lease, or `processing` past `JOB_STALL_SECONDS`
    /// without a job event, and repairs or fails each; answers what it did. One stream's failure is logged and
    /// counted, not retried: the next sweep finds it again.
    pub(crate) async fn sweep(&self) -> Result<Value, TransientError> {
        let now = (self.now_ms)();
        let waited = self.config.composite_wait + self.config.claim_lease;
        let queued_before = now.saturating_sub(waited.as_millis() as u64);
        let processing_before = now.saturating_sub(self.config.job_stall.as_millis() as u64);
        let stalled = self
            .streams
            .stalled(queued_before, processing_before, SWEEP_LIMIT)
            .await?;
        let mut answers = Vec::new();
        for stream in &stalled {
            let answer = async {
                match stream.status {
                    StreamStatus::Processing => self.fail_stalled_job(stream, now).await,
                    _ => self.repair_queued(&stream.stream).await,
                }
            }
            .instrument(tracing::info_span!("stalled", stream = %stream.stream))
            .await;
            let mut answer = match answer {
                Ok(outcome) => outcome.to_json(),
                Err(error) => {
                    tracing::warn!(stream = %stream.stream, %error, "sweep: could not settle the stream");
                    json!({"outcome": "error", "reason": error.to_string()})
                }
            };
            answer["stream"] = json!(stream.stream);
            answer["was"] = json!(stream.status.as_str());
            answers.push(answer);
        }
        tracing::info!(found = stalled.len(), "sweep done");
        Ok(json!({"swept": answers}))
    }

    /// A stream left `queued`: what its partner timer would have done.
    async fn repair_queued(&self, stream: &str) -> Result<Outcome, TransientError> {
        match StreamName::parse("stream", stream) {
            Ok(name) => self.partner_timeout(&name).await,
            Err(e) => Ok(Outcome::Ignored(e.to_string())),
        }
    }

    /// A stream whose job stopped reporting: failed with a reason, and `composite.failed` published.
    async fn fail_stalled_job(
        &self,
        stalled: &StalledStream,
        now: u64,
    ) -> Result<Outcome, TransientError> {
        let hours = self.config.job_stall.as_secs() / 3600;
        let failure = StreamFailure {
            code: "job_stalled".to_owned(),
            message: format!("the job did not report for {hours} h"),
        };
        if !self.streams.fail_stalled(stalled, &failure, now).await? {
            return Ok(Outcome::Nothing("moved_meanwhile".into()));
        }
        tracing::warn!(stream = %stalled.stream, generation = stalled.generation, "sweep: failed a stalled job");
        self.publish(
            &format!("{}/stalled/{}", stalled.stream, stalled.generation),
            DomainEventType::CompositeFailed,
            json!({"stream": stalled.stream, "status": "failed", "generation": stalled.generation,
                "error": {"code": failure.code, "message": failure.message}}),
        )
        .await?;
        Ok(Outcome::Failed(failure.message))
    }
}
