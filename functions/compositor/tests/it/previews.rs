//! A call's preview request on the in-memory stores: one job per peer and role submitted once (a redelivery
//! submits none), each padded to the call's time zero with its generation in its metadata; a track that cannot be
//! read fails its own preview only, and the call's failure is announced.

use vidpipe_core::call::preview::{PreviewStart, plan_previews};
use vidpipe_core::call::{CallTrack, PeerId, TrackRole};
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::ports::{CallPreviews, CallTracks};
use vidpipe_core::stream_status::StreamStatus;

use crate::common::{PREFIX, s3_event};
use crate::in_memory::{BUCKET, InMemoryCompositor, setup_with};

const FOLDER: &str = "videos/rooms/room-456/rec-123/";

fn track(id: &str, peer: &str, role: TrackRole, started_at: u64) -> CallTrack {
    CallTrack {
        track_id: id.to_owned(),
        peer_id: PeerId::parse("peer_id", peer).unwrap(),
        role,
        started_at,
        uploader: "jwt:alice".into(),
        key: format!("{FOLDER}tracks/{peer}/{}/{id}.webm", role.as_str()),
        created_at_ms: started_at,
    }
}

/// Registers the call's tracks and starts its previews (generation 1), as `POST .../preview` does.
async fn started(c: &InMemoryCompositor) {
    let t0 = T0;
    for t in [
        track("a1", "peer-1", TrackRole::Av, t0),
        // peer-1 left and rejoined: its second track follows the first (whose probe says 10 s) after a gap.
        track("a2", "peer-1", TrackRole::Av, t0 + 20_000),
        track("b1", "peer-2", TrackRole::Av, t0 + 1_500),
        track("s1", "peer-2", TrackRole::Screenshare, t0 + 4_000),
    ] {
        c.calls
            .register_track("room-456", "rec-123", &t, 2_000_000_000)
            .await
            .unwrap();
    }
    let call = c.calls.get_call("rec-123").await.unwrap().unwrap();
    let PreviewStart::Start(state) = plan_previews(&call, |_| true, t0).unwrap() else {
        panic!("a first start")
    };
    assert!(
        c.calls
            .replace_preview("rec-123", &state, None)
            .await
            .unwrap()
    );
}

const T0: u64 = 1_795_194_000_000;

#[tokio::test]
async fn a_preview_request_submits_one_job_per_peer_and_role_once() {
    assert_eq!(PREFIX, "videos/");
    let s = setup_with(&[]);
    let c = &s.compositor;
    started(c).await;
    c.transcoder
        .unusable
        .lock()
        .unwrap()
        .insert(format!("{FOLDER}tracks/peer-2/screenshare/s1.webm"));

    let request = s3_event(BUCKET, &format!("{FOLDER}preview/requests/1.json"), "e-1");
    let answer = c.handle(request.clone()).await.unwrap();
    let outcome = &answer["records"][0];
    assert_eq!(
        (
            outcome["outcome"].as_str(),
            outcome["submitted"].as_u64(),
            outcome["failed"].as_u64()
        ),
        (Some("previews_submitted"), Some(2), Some(1)),
        "{answer}"
    );
    let jobs = c.transcoder.jobs();
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        let metadata = job.user_metadata.as_ref().unwrap();
        assert_eq!(
            (metadata["kind"].as_str(), metadata["generation"].as_str()),
            ("call_preview", "1")
        );
    }
    let peer_1 = jobs
        .iter()
        .find(|j| j.user_metadata.as_ref().unwrap()["peer_id"] == "peer-1")
        .unwrap();
    let inputs = peer_1.settings.inputs.as_ref().unwrap();
    // Track, 10 s of black and silence, track: the second track starts 20 s after time zero.
    assert_eq!(inputs.len(), 3);
    assert_eq!(
        inputs[1].video_generator.as_ref().unwrap().duration,
        Some(10_000)
    );
    let peer_2 = jobs
        .iter()
        .find(|j| j.user_metadata.as_ref().unwrap()["peer_id"] == "peer-2")
        .unwrap();
    // peer-2 joined 1.5 s after time zero: padded from it.
    assert_eq!(
        peer_2.settings.inputs.as_ref().unwrap()[0]
            .video_generator
            .as_ref()
            .unwrap()
            .duration,
        Some(1_500)
    );

    let stored = c.calls.get_preview("rec-123").await.unwrap().unwrap().state;
    let recorded: Vec<_> = stored
        .jobs
        .iter()
        .map(|j| (j.job_id.is_some(), j.status, j.error_code.clone()))
        .collect();
    assert_eq!(
        recorded,
        [
            (true, StreamStatus::Queued, None),
            (true, StreamStatus::Queued, None),
            (false, StreamStatus::Failed, Some("unreadable".to_owned())),
        ]
    );
    let announced = c.publisher.events();
    assert_eq!(
        announced.iter().map(|e| e.event_type).collect::<Vec<_>>(),
        [DomainEventType::CallPreviewFailed]
    );

    // Delivered again: nothing more submitted.
    let again = c.handle(request).await.unwrap();
    assert_eq!(again["records"][0]["submitted"], 0, "{again}");
    assert_eq!(c.transcoder.jobs().len(), 2);
    // Another generation's request, or one in another room's folder: nothing.
    let later = c
        .handle(s3_event(
            BUCKET,
            &format!("{FOLDER}preview/requests/2.json"),
            "e-2",
        ))
        .await
        .unwrap();
    assert_eq!(
        later["records"][0]["reason"], "preview_superseded",
        "{later}"
    );
    let elsewhere = s3_event(
        BUCKET,
        "videos/rooms/room-9/rec-123/preview/requests/1.json",
        "e-3",
    );
    assert_eq!(
        c.handle(elsewhere).await.unwrap()["records"][0]["outcome"],
        "ignored"
    );
    // The previews' own files start nothing.
    let playlist = s3_event(
        BUCKET,
        &format!("{FOLDER}preview/peers/peer-1/av.m3u8"),
        "e-4",
    );
    assert_eq!(
        c.handle(playlist).await.unwrap()["records"][0]["outcome"],
        "ignored"
    );
    assert_eq!(
        c.transcoder
            .create_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}
