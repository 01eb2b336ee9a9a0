use proptest::prelude::*;

use super::*;

const NOW: u64 = 1_000_000;

fn arrival(key: &str, etag: &str) -> Arrival {
    Arrival {
        key: key.into(),
        size: 10,
        etag: etag.into(),
        arrived_at_ms: NOW,
    }
}

fn state(screen: bool, camera: bool) -> StreamState {
    StreamState {
        stream: "s1".into(),
        screen: screen.then(|| arrival("s1.mp4", "a")),
        camera: camera.then(|| arrival("s1_camera.webm", "b")),
        status: Some(StreamStatus::Queued),
        ..Default::default()
    }
}

fn composite_gen(generation: u64, cancel: Option<&str>) -> Action {
    Action::Submit(Submission {
        kind: OutputKind::Composite,
        source: None,
        generation,
        cancel_job_id: cancel.map(str::to_owned),
        partner_unusable: false,
        input_fallback: Some(Source::Screen),
    })
}

fn with_job(mut s: StreamState, kind: OutputKind, status: StreamStatus) -> StreamState {
    s.generation += 1;
    s.job_kind = Some(kind);
    s.job_id = Some(format!("job-{}", s.generation));
    s.status = Some(status);
    s
}

#[test]
fn first_arrival_of_either_recording_starts_the_partner_timer() {
    assert_eq!(
        after_arrival(&state(true, false), true, NOW),
        Action::StartPartnerTimer
    );
    assert_eq!(
        after_arrival(&state(false, true), true, NOW),
        Action::StartPartnerTimer
    );
    // A duplicate of it asks again; the timer's deterministic name makes that harmless.
    assert_eq!(
        after_arrival(&state(true, false), false, NOW),
        Action::StartPartnerTimer
    );
}

#[test]
fn the_arrival_that_completes_the_pair_submits_the_first_composite() {
    assert_eq!(
        after_arrival(&state(true, true), true, NOW),
        composite_gen(1, None)
    );
    // A duplicate of either, before anyone claimed, reaches the same decision: the claim picks one.
    assert_eq!(
        after_arrival(&state(true, true), false, NOW),
        composite_gen(1, None)
    );
}

#[test]
fn a_live_claim_leaves_the_work_to_its_holder() {
    let mut s = state(true, true);
    s.claim = Some(Claim {
        token: "t".into(),
        claimed_at_ms: 0,
        expires_at_ms: NOW + 1,
        generation: 1,
    });
    assert_eq!(
        after_arrival(&s, false, NOW),
        Action::Nothing(Idle::ClaimedElsewhere)
    );
    let submission = Submission {
        kind: OutputKind::Composite,
        source: None,
        generation: 1,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: Some(Source::Screen),
    };
    assert!(!may_claim(&s, &submission, NOW));
}

#[test]
fn an_expired_claim_can_be_taken_over() {
    let mut s = state(true, true);
    s.claim = Some(Claim {
        token: "t".into(),
        claimed_at_ms: 0,
        expires_at_ms: NOW,
        generation: 1,
    });
    let action = after_arrival(&s, false, NOW);
    assert_eq!(action, composite_gen(1, None));
    let Action::Submit(submission) = action else {
        unreachable!()
    };
    assert!(may_claim(&s, &submission, NOW));
}

#[test]
fn a_claim_on_a_decision_made_on_an_older_generation_is_refused() {
    let s = with_job(
        state(true, true),
        OutputKind::Composite,
        StreamStatus::Processing,
    );
    let stale = Submission {
        kind: OutputKind::Composite,
        source: None,
        generation: 1,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: Some(Source::Screen),
    };
    assert!(!may_claim(&s, &stale, NOW));
}

#[test]
fn duplicates_after_the_composite_was_submitted_do_nothing() {
    for status in [
        StreamStatus::Processing,
        StreamStatus::Ready,
        StreamStatus::Failed,
    ] {
        let s = with_job(state(true, true), OutputKind::Composite, status);
        for new in [false, true] {
            assert_eq!(
                after_arrival(&s, new, NOW),
                Action::Nothing(Idle::AlreadySubmitted)
            );
        }
        assert_eq!(
            after_partner_timeout(&s, NOW),
            Action::Nothing(Idle::AlreadySubmitted)
        );
    }
}

#[test]
fn the_partner_timeout_submits_a_single_source_fallback_from_what_exists() {
    assert_eq!(
        after_partner_timeout(&state(true, false), NOW),
        Action::Submit(Submission {
            kind: OutputKind::Single,
            source: Some(Source::Screen),
            generation: 1,
            cancel_job_id: None,
            partner_unusable: false,
            input_fallback: None,
        })
    );
    let Action::Submit(camera_only) = after_partner_timeout(&state(false, true), NOW) else {
        panic!("a camera alone gets a fallback")
    };
    assert_eq!(camera_only.source, Some(Source::Camera));
    assert_eq!(camera_only.fallback_reason(), Some("screen_missing"));
    assert_eq!(Source::Screen.fallback_reason(), "camera_missing");
}

#[test]
fn the_partner_timeout_completes_a_pair_left_without_a_job() {
    assert_eq!(
        after_partner_timeout(&state(true, true), NOW),
        composite_gen(1, None)
    );
}

#[test]
fn the_partner_timeout_does_nothing_when_claimed_failed_submitted_or_empty() {
    let mut claimed = state(true, false);
    claimed.claim = Some(Claim {
        token: "t".into(),
        claimed_at_ms: 0,
        expires_at_ms: NOW + 5,
        generation: 1,
    });
    assert_eq!(
        after_partner_timeout(&claimed, NOW),
        Action::Nothing(Idle::ClaimedElsewhere)
    );
    let mut failed = state(true, false);
    failed.status = Some(StreamStatus::Failed);
    assert_eq!(
        after_partner_timeout(&failed, NOW),
        Action::Nothing(Idle::Failed)
    );
    let fallback = with_job(state(true, false), OutputKind::Single, StreamStatus::Ready);
    assert_eq!(
        after_partner_timeout(&fallback, NOW),
        Action::Nothing(Idle::FallbackSubmitted)
    );
    assert_eq!(
        after_partner_timeout(&state(false, false), NOW),
        Action::Nothing(Idle::NothingArrived)
    );
}

#[test]
fn a_duplicate_of_the_lone_recording_after_a_fallback_does_nothing() {
    let s = with_job(
        state(true, false),
        OutputKind::Single,
        StreamStatus::Processing,
    );
    assert_eq!(
        after_arrival(&s, false, NOW),
        Action::Nothing(Idle::FallbackSubmitted)
    );
}

#[test]
fn a_late_partner_after_a_running_fallback_cancels_it_and_submits_the_next_generation() {
    let mut s = with_job(
        state(true, false),
        OutputKind::Single,
        StreamStatus::Processing,
    );
    s.camera = Some(arrival("s1_camera.webm", "b"));
    assert_eq!(
        after_arrival(&s, true, NOW),
        composite_gen(2, Some("job-1"))
    );
}

#[test]
fn a_late_partner_after_a_finished_fallback_submits_without_cancelling() {
    for status in [StreamStatus::Ready, StreamStatus::Failed] {
        let mut s = with_job(state(false, true), OutputKind::Single, status);
        s.screen = Some(arrival("s1.mp4", "a"));
        assert_eq!(after_arrival(&s, true, NOW), composite_gen(2, None));
    }
}

#[test]
fn a_failed_stream_acts_again_only_on_a_new_arrival() {
    let mut s = state(true, true);
    s.status = Some(StreamStatus::Failed);
    assert_eq!(after_arrival(&s, false, NOW), Action::Nothing(Idle::Failed));
    assert_eq!(after_arrival(&s, true, NOW), composite_gen(1, None));
}

#[test]
fn statuses_and_kinds_round_trip_their_stored_names() {
    for status in [
        StreamStatus::Queued,
        StreamStatus::Processing,
        StreamStatus::Ready,
        StreamStatus::Failed,
    ] {
        assert_eq!(StreamStatus::parse(status.as_str()), Some(status));
    }
    for kind in [OutputKind::Composite, OutputKind::Single] {
        assert_eq!(OutputKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(StreamStatus::parse("done"), None);
    assert_eq!(Source::Screen.partner(), Source::Camera);
}

/// An in-memory store applying the same rules as the DynamoDB adapter: arrivals idempotent on the etag, a claim
/// conditional on [`may_claim`], the submission recorded under the claim.
#[derive(Default)]
struct Model {
    state: StreamState,
    submitted: Vec<Submission>,
}

impl Model {
    fn arrive(&mut self, source: Source, now: u64) {
        let slot = match source {
            Source::Screen => &mut self.state.screen,
            Source::Camera => &mut self.state.camera,
        };
        let new = slot.is_none();
        if new {
            *slot = Some(arrival(source.as_str(), source.as_str()));
        }
        let action = after_arrival(&self.state, new, now);
        self.act(action, now);
    }

    fn timeout(&mut self, now: u64) {
        let action = after_partner_timeout(&self.state, now);
        self.act(action, now);
    }

    fn act(&mut self, action: Action, now: u64) {
        let Action::Submit(submission) = action else {
            return;
        };
        if !may_claim(&self.state, &submission, now) {
            return;
        }
        self.state.generation = submission.generation;
        self.state.job_kind = Some(submission.kind);
        self.state.job_id = Some(format!("job-{}", submission.generation));
        self.state.status = Some(StreamStatus::Processing);
        self.submitted.push(submission);
    }
}

proptest! {
    /// Any order and duplication of the two arrivals gives exactly one job: the composite.
    #[test]
    fn any_order_and_duplication_of_arrivals_gives_one_composite(
        events in proptest::collection::vec(prop::bool::ANY, 2..12)
            .prop_filter("both recordings arrive", |e| e.contains(&true) && e.contains(&false))
    ) {
        let mut model = Model::default();
        for (i, screen) in events.iter().enumerate() {
            let source = if *screen { Source::Screen } else { Source::Camera };
            model.arrive(source, NOW + i as u64);
        }
        prop_assert_eq!(model.submitted.len(), 1);
        prop_assert_eq!(model.submitted[0].kind, OutputKind::Composite);
    }

    /// With the partner timer firing anywhere in the sequence, the last job is always the composite, there is at
    /// most one fallback, and it comes first.
    #[test]
    fn a_timeout_anywhere_ends_with_the_composite(
        events in proptest::collection::vec(prop::bool::ANY, 2..10)
            .prop_filter("both recordings arrive", |e| e.contains(&true) && e.contains(&false)),
        timeout_at in 0usize..10,
    ) {
        let mut model = Model::default();
        for (i, screen) in events.iter().enumerate() {
            if i == timeout_at {
                model.timeout(NOW + i as u64);
            }
            let source = if *screen { Source::Screen } else { Source::Camera };
            model.arrive(source, NOW + i as u64);
        }
        model.timeout(NOW + 100);
        let kinds: Vec<OutputKind> = model.submitted.iter().map(|s| s.kind).collect();
        prop_assert!(
            kinds == vec![OutputKind::Composite]
                || kinds == vec![OutputKind::Single, OutputKind::Composite],
            "{:?}", kinds
        );
        let generations: Vec<u64> = model.submitted.iter().map(|s| s.generation).collect();
        prop_assert_eq!(generations, (1..=kinds.len() as u64).collect::<Vec<_>>());
    }
}

#[test]
fn a_fallback_made_because_the_partner_was_unusable_acts_again_only_on_a_new_upload_of_it() {
    let mut s = with_job(
        state(true, true),
        OutputKind::Single,
        StreamStatus::Processing,
    );
    s.fallback_reason = Some("camera_unusable".into());
    assert_eq!(
        after_arrival(&s, false, NOW),
        Action::Nothing(Idle::FallbackSubmitted)
    );
    assert_eq!(
        after_arrival(&s, true, NOW),
        composite_gen(2, Some("job-1"))
    );
    // A fallback made because the partner never came is replaced by the composite as soon as it is here.
    s.fallback_reason = Some("camera_missing".into());
    assert_eq!(
        after_arrival(&s, false, NOW),
        composite_gen(2, Some("job-1"))
    );
}

#[test]
fn a_single_source_job_says_why_it_is_single() {
    let single = |source, partner_unusable| Submission {
        kind: OutputKind::Single,
        source: Some(source),
        generation: 1,
        cancel_job_id: None,
        partner_unusable,
        input_fallback: None,
    };
    assert_eq!(
        single(Source::Screen, false).fallback_reason(),
        Some("camera_missing")
    );
    assert_eq!(
        single(Source::Screen, true).fallback_reason(),
        Some("camera_unusable")
    );
    assert_eq!(
        single(Source::Camera, true).fallback_reason(),
        Some("screen_unusable")
    );
}

#[test]
fn a_job_that_fails_on_its_inputs_leaves_the_output_to_the_screen_then_to_the_camera() {
    let single = |source, generation, input_fallback| {
        Action::Submit(Submission {
            kind: OutputKind::Single,
            source: Some(source),
            generation,
            cancel_job_id: None,
            partner_unusable: true,
            input_fallback,
        })
    };
    // The composite failed: the screen alone, which names the camera in case the screen was the culprit.
    let composite = with_job(
        state(true, true),
        OutputKind::Composite,
        StreamStatus::Processing,
    );
    let screen_alone = after_input_failure(&composite, 1, Source::Screen);
    assert_eq!(
        screen_alone,
        single(Source::Screen, 2, Some(Source::Camera))
    );
    let Action::Submit(submission) = &screen_alone else {
        unreachable!()
    };
    assert_eq!(submission.fallback_reason(), Some("camera_unusable"));
    // The screen alone failed too: the camera alone, which names nothing (a failure of it fails the stream).
    let screen = with_job(composite, OutputKind::Single, StreamStatus::Processing);
    let camera_alone = after_input_failure(&screen, 2, Source::Camera);
    assert_eq!(camera_alone, single(Source::Camera, 3, None));
    let Action::Submit(submission) = &camera_alone else {
        unreachable!()
    };
    assert_eq!(submission.fallback_reason(), Some("screen_unusable"));
    // A screen fallback without a camera names nothing.
    let alone = with_job(
        state(true, false),
        OutputKind::Composite,
        StreamStatus::Processing,
    );
    assert_eq!(
        after_input_failure(&alone, 1, Source::Screen),
        single(Source::Screen, 2, None)
    );
    // The event of an older job, or a redelivery after the fallback was submitted, does nothing.
    assert_eq!(
        after_input_failure(&screen, 1, Source::Screen),
        Action::Nothing(Idle::AlreadySubmitted)
    );
    assert_eq!(
        after_input_failure(
            &with_job(
                state(true, false),
                OutputKind::Single,
                StreamStatus::Processing
            ),
            1,
            Source::Camera
        ),
        Action::Nothing(Idle::NothingArrived)
    );
}
