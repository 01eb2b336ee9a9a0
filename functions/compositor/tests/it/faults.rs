//! Fault injection: the handler fails (the store or the service errs) or stops (the process dies: its task is
//! aborted mid-call) at each step of claim, probe, create and record. Each stream then ends with exactly one job,
//! recorded on its item, and ready once that job completes: Lambda's redeliveries (after the lease, when the
//! handler stopped holding the claim, and after MediaConvert forgot the `ClientRequestToken`) finish the work
//! without a second job.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use vidpipe_aws::dynamo::DynamoStreams;
use vidpipe_compositor::{Compositor, TransientError};
use vidpipe_core::capability::CapabilityDigest;
use vidpipe_core::jobevent::StreamUpdate;
use vidpipe_core::pairing::{
    Arrival, ClaimOutcome, Source, StreamFailure, StreamState, Submission,
};
use vidpipe_core::ports::{
    ClaimIf, JobEventOutcome, OwnerClaim, StalledStream, StoreError, StreamStatusStore, StreamStore,
};
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};

use crate::common::{PREFIX, Stack};

/// Where the handler is interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Taking the claim.
    Claim,
    /// Probing a recording.
    Probe,
    /// Inside `CreateJob`, before the job exists.
    CreateJob,
    /// After `CreateJob` made the job, before it is recorded.
    AfterCreateJob,
    /// Recording the job on the item.
    Record,
}

/// What happens there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The call fails (the store or the service is unavailable): the handler sees an error.
    Fails,
    /// The process dies during the call: the handler never returns.
    Stops,
}

/// The stream store, with one fault armed on one of the calls a submission makes.
struct FaultyStreams {
    inner: DynamoStreams,
    step: Step,
    fault: Fault,
    armed: AtomicBool,
}

impl FaultyStreams {
    /// Runs `call`, unless the fault is armed for `step`: then fails or stops, once.
    async fn at<T>(
        &self,
        step: Step,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if self.step == step && self.armed.swap(false, Ordering::SeqCst) {
            match self.fault {
                Fault::Fails => return Err(StoreError::Unavailable("injected outage".into())),
                Fault::Stops => std::future::pending::<()>().await,
            }
        }
        call.await
    }
}

/// The owner and status side, untouched by the faults: the compositor reads a stream's owner for its output's
/// playback package.
impl StreamStatusStore for FaultyStreams {
    async fn get_status(&self, stream: &str) -> Result<Option<StreamRecord>, StoreError> {
        self.inner.get_status(stream).await
    }

    async fn claim_owner(
        &self,
        stream: &str,
        owner: &str,
        capability: Option<&CapabilityDigest>,
        expires_at: u64,
        scope: ClaimIf,
    ) -> Result<OwnerClaim, StoreError> {
        self.inner
            .claim_owner(stream, owner, capability, expires_at, scope)
            .await
    }

    async fn release_owner(
        &self,
        stream: &str,
        capability: &CapabilityDigest,
    ) -> Result<bool, StoreError> {
        self.inner.release_owner(stream, capability).await
    }

    async fn apply_job_event(
        &self,
        stream: &str,
        generation: u64,
        update: &StreamUpdate,
        event_id: &str,
        now_ms: u64,
    ) -> Result<JobEventOutcome, StoreError> {
        self.inner
            .apply_job_event(stream, generation, update, event_id, now_ms)
            .await
    }
}

impl StreamStore for FaultyStreams {
    async fn get(&self, stream: &str) -> Result<Option<StreamState>, StoreError> {
        self.inner.get(stream).await
    }

    async fn record_arrival(
        &self,
        stream: &str,
        source: Source,
        arrival: &Arrival,
        now_ms: u64,
    ) -> Result<(StreamState, bool), StoreError> {
        self.inner
            .record_arrival(stream, source, arrival, now_ms)
            .await
    }

    async fn claim(
        &self,
        stream: &str,
        submission: &Submission,
        token: &str,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        let call = self
            .inner
            .claim(stream, submission, token, now_ms, lease_ms);
        self.at(Step::Claim, call).await
    }

    async fn record_submitted(
        &self,
        stream: &str,
        token: &str,
        submission: &Submission,
        job_id: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let call = self
            .inner
            .record_submitted(stream, token, submission, job_id, now_ms);
        self.at(Step::Record, call).await
    }

    async fn supersede(
        &self,
        stream: &str,
        token: &str,
        generation: u64,
    ) -> Result<(), StoreError> {
        self.inner.supersede(stream, token, generation).await
    }

    async fn stalled(
        &self,
        queued_before_ms: u64,
        processing_before_ms: u64,
        limit: usize,
    ) -> Result<Vec<StalledStream>, StoreError> {
        self.inner
            .stalled(queued_before_ms, processing_before_ms, limit)
            .await
    }

    async fn fail_stalled(
        &self,
        stalled: &StalledStream,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        self.inner.fail_stalled(stalled, failure, now_ms).await
    }

    async fn release(&self, stream: &str, token: &str) -> Result<bool, StoreError> {
        self.inner.release(stream, token).await
    }

    async fn mark_failed(
        &self,
        stream: &str,
        token: &str,
        failure: &StreamFailure,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.inner.mark_failed(stream, token, failure, now_ms).await
    }
}

/// Runs `stream`'s pair through a handler interrupted at `step` by `fault`, then redelivers the camera's event as
/// Lambda would until it is handled, and checks the outcome.
async fn interrupted(step: Step, fault: Fault) {
    let stack = Stack::new().await;
    let stream = format!("fault-{step:?}-{fault:?}").to_lowercase();
    let screen_key = format!("{PREFIX}{stream}.mp4");
    let camera_key = format!("{PREFIX}{stream}_camera.webm");
    let screen = stack.event(&screen_key, &stack.put(&screen_key, None).await);
    let camera = stack.event(&camera_key, &stack.put(&camera_key, None).await);
    stack.compositor.handle(screen).await.unwrap();

    let healthy = &stack.compositor;
    let faulty = Compositor {
        config: healthy.config.clone(),
        streams: Arc::new(FaultyStreams {
            inner: stack.streams.clone(),
            step,
            fault,
            armed: AtomicBool::new(true),
        }),
        recordings: Arc::clone(&healthy.recordings),
        objects: Arc::clone(&healthy.objects),
        transcoder: Arc::clone(&healthy.transcoder),
        publisher: Arc::clone(&healthy.publisher),
        timer: Arc::clone(&healthy.timer),
        playbacks: Arc::clone(&healthy.playbacks),
        calls: Arc::clone(&healthy.calls),
        now_ms: Arc::clone(&healthy.now_ms),
    };
    match (step, fault) {
        (Step::Probe, Fault::Fails) => {
            stack
                .transcoder
                .unavailable_probes
                .store(1, Ordering::SeqCst);
        }
        (Step::CreateJob, Fault::Stops) => {
            *stack.transcoder.during_next_create.lock().unwrap() =
                Some(Box::pin(std::future::pending()));
        }
        (Step::AfterCreateJob, Fault::Stops) => {
            *stack.transcoder.after_next_create.lock().unwrap() =
                Some(Box::pin(std::future::pending()));
        }
        _ => {}
    }
    let event = camera.clone();
    let first = tokio::spawn(async move { faulty.handle(event).await });
    match fault {
        Fault::Fails => {
            let answer = first.await.unwrap();
            assert!(
                answer.is_err(),
                "{step:?}: an injected failure fails the invocation: {answer:?}"
            );
        }
        Fault::Stops => {
            // Long enough to reach the step on a loaded machine; the process then dies there.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert!(
                !first.is_finished(),
                "{step:?}: the handler stopped at the step"
            );
            first.abort();
        }
    }

    // Lambda redelivers; a handler that stopped holding the claim keeps it until the lease ends.
    let lease = stack.compositor.config.claim_lease.as_millis() as u64;
    let mut redeliveries = 0;
    let answer = loop {
        redeliveries += 1;
        assert!(redeliveries <= 3, "{step:?}/{fault:?} never completed");
        match stack.compositor.handle(camera.clone()).await {
            Err(TransientError::ClaimHeld { .. }) => {
                stack.advance(lease + 1);
                // Past the lease, MediaConvert no longer knows the token either.
                stack.transcoder.forget_tokens();
            }
            Err(e) => panic!("{step:?}/{fault:?}: {e}"),
            Ok(answer) => break answer,
        }
    };
    let jobs = stack.transcoder.jobs_for(&stream);
    assert_eq!(
        jobs.len(),
        1,
        "{step:?}/{fault:?}: exactly one job ({answer})"
    );
    let state = stack.state(&stream).await;
    assert_eq!(
        (
            state.generation,
            state.job_id.as_deref(),
            state.claim.is_none()
        ),
        (1, Some("job-1"), true),
        "{step:?}/{fault:?}: the job is recorded ({answer})"
    );
    // The job completes: the stream is ready.
    stack
        .streams
        .apply_job_event(
            &stream,
            1,
            &StreamUpdate::Ready {
                output_key: None,
                cost: None,
            },
            "complete",
            0,
        )
        .await
        .unwrap();
    let record = stack.streams.get_status(&stream).await.unwrap().unwrap();
    assert_eq!(record.status, StreamStatus::Ready, "{step:?}/{fault:?}");
}

#[tokio::test]
async fn a_failure_at_each_step_ends_with_one_job() {
    for step in [Step::Claim, Step::Probe, Step::Record] {
        interrupted(step, Fault::Fails).await;
    }
}

#[tokio::test]
async fn a_handler_that_stops_at_each_step_ends_with_one_job() {
    // A stop during the probe is a stop after the claim and before `CreateJob`: `CreateJob`'s case.
    for step in [
        Step::Claim,
        Step::CreateJob,
        Step::AfterCreateJob,
        Step::Record,
    ] {
        interrupted(step, Fault::Stops).await;
    }
}
