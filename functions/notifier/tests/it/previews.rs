//! Call preview jobs' events on the in-memory stores: each peer and role's preview moves forward within its
//! generation, duplicates and out-of-order events change nothing, and the aggregate is announced once.

use serde_json::{Value, json};
use vidpipe_core::call::preview::{PreviewStart, plan_previews};
use vidpipe_core::call::{Call, CallTrack, PeerId, TrackRole};
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::ports::{CallPreviews, CallTracks};
use vidpipe_core::stream_status::StreamStatus;

use crate::in_memory::{TestNotifier, notifier, published};
use crate::moto::fixture;

/// The notifier with call `rec-123`'s previews started (generation 1): peer-1's and peer-2's av.
async fn with_previews() -> TestNotifier {
    let notifier = notifier();
    for (n, peer) in ["peer-1", "peer-2"].iter().enumerate() {
        let track = CallTrack {
            track_id: format!("t{n}"),
            peer_id: PeerId::parse("peer_id", peer).unwrap(),
            role: TrackRole::Av,
            started_at: 1_795_194_000_000 + n as u64 * 1_000,
            uploader: "jwt:alice".into(),
            key: format!("videos/rooms/room-456/rec-123/tracks/{peer}/av/t{n}.webm"),
            created_at_ms: 1,
        };
        notifier
            .calls
            .register_track("room-456", "rec-123", &track, 2_000_000_000)
            .await
            .unwrap();
    }
    let call: Call = notifier.calls.get_call("rec-123").await.unwrap().unwrap();
    let PreviewStart::Start(state) = plan_previews(&call, |_| true, 0).unwrap() else {
        panic!("a first start")
    };
    assert!(
        notifier
            .calls
            .replace_preview("rec-123", &state, None)
            .await
            .unwrap()
    );
    notifier
}

/// The event `fixture` of peer `peer`'s preview job of `generation`, with its own event id.
fn event(fixture_name: &str, peer: &str, generation: u64, id: &str) -> Value {
    let mut event = fixture(fixture_name);
    event["id"] = json!(id);
    event["detail"]["userMetadata"] = json!({"app": "vidpipe", "kind": "call_preview",
        "recording_id": "rec-123", "peer_id": peer, "role": "av", "generation": generation.to_string()});
    event
}

async fn statuses(notifier: &TestNotifier) -> (StreamStatus, Vec<StreamStatus>) {
    let stored = notifier
        .calls
        .get_preview("rec-123")
        .await
        .unwrap()
        .unwrap();
    let jobs = stored.state.jobs.iter().map(|j| j.status).collect();
    (stored.state.status(), jobs)
}

#[tokio::test]
async fn preview_jobs_move_their_status_forward_and_the_call_is_announced_ready_once() {
    use StreamStatus::*;
    let notifier = with_previews().await;
    let answer = notifier
        .handle(event("progressing.json", "peer-1", 1, "e1"))
        .await
        .unwrap();
    assert_eq!(
        (answer["outcome"].as_str(), answer["status"].as_str()),
        (Some("preview_applied"), Some("processing")),
        "{answer}"
    );
    assert_eq!(
        statuses(&notifier).await,
        (Processing, vec![Processing, Queued])
    );
    // Out of order: peer-2's COMPLETE before its PROGRESSING; the late PROGRESSING changes nothing.
    notifier
        .handle(event("complete.json", "peer-2", 1, "e2"))
        .await
        .unwrap();
    let late = notifier
        .handle(event("progressing.json", "peer-2", 1, "e3"))
        .await
        .unwrap();
    assert_eq!(late["outcome"], "preview_stale", "{late}");
    assert_eq!(
        statuses(&notifier).await,
        (Processing, vec![Processing, Ready])
    );
    // An earlier generation's job changes nothing.
    let old = notifier
        .handle(event("error.json", "peer-1", 0, "e4"))
        .await
        .unwrap();
    assert_eq!(old["outcome"], "preview_stale", "{old}");
    assert!(published(&notifier).is_empty());
    // The last job completes: ready, announced.
    let done = notifier
        .handle(event("complete.json", "peer-1", 1, "e5"))
        .await
        .unwrap();
    assert_eq!(
        (done["status"].as_str(), done["published"].as_str()),
        (Some("ready"), Some("call.preview.ready:rec-123:1")),
        "{done}"
    );
    assert_eq!(statuses(&notifier).await, (Ready, vec![Ready, Ready]));
    // The same event again: a duplicate; a late ERROR of a ready job: stale. Announced once.
    let duplicate = notifier
        .handle(event("complete.json", "peer-1", 1, "e5"))
        .await
        .unwrap();
    assert_eq!(duplicate["outcome"], "duplicate", "{duplicate}");
    let late = notifier
        .handle(event("error.json", "peer-1", 1, "e6"))
        .await
        .unwrap();
    assert_eq!(late["outcome"], "preview_stale", "{late}");
    assert_eq!(published(&notifier), [DomainEventType::CallPreviewReady]);
    let announced = &notifier.publisher.events()[0];
    assert_eq!(announced.data["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(announced.data["generation"], 1);
}

#[tokio::test]
async fn a_failed_job_fails_the_calls_previews_once_and_a_redelivery_announces_the_same_id() {
    use StreamStatus::*;
    let notifier = with_previews().await;
    let failed = notifier
        .handle(event("error.json", "peer-2", 1, "e1"))
        .await
        .unwrap();
    assert_eq!(
        (failed["status"].as_str(), failed["published"].as_str()),
        (Some("failed"), Some("call.preview.failed:rec-123:1")),
        "{failed}"
    );
    let stored = notifier
        .calls
        .get_preview("rec-123")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.state.jobs[1].error_code.is_some());
    // The other job completes later: the call stays failed, nothing more is announced.
    let other = notifier
        .handle(event("complete.json", "peer-1", 1, "e2"))
        .await
        .unwrap();
    assert_eq!(
        (other["status"].as_str(), &other["published"]),
        (Some("failed"), &Value::Null)
    );
    assert_eq!(statuses(&notifier).await, (Failed, vec![Ready, Failed]));
    // The ERROR redelivered with another event id (as after a crash before its marker): announced again, same id.
    let again = notifier
        .handle(event("error.json", "peer-2", 1, "e3"))
        .await
        .unwrap();
    assert_eq!(
        again["published"], "call.preview.failed:rec-123:1",
        "{again}"
    );
    let ids: Vec<String> = notifier
        .publisher
        .events()
        .iter()
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(
        ids,
        [
            "call.preview.failed:rec-123:1",
            "call.preview.failed:rec-123:1"
        ]
    );
    // Metadata that breaks the preview's rules is rejected by name; a call without previews is ignored.
    let mut bad = event("complete.json", "peer-1", 1, "e4");
    bad["detail"]["userMetadata"]["peer_id"] = json!("../peer");
    assert_eq!(notifier.handle(bad).await.unwrap()["outcome"], "rejected");
    let mut unknown = event("complete.json", "peer-1", 1, "e5");
    unknown["detail"]["userMetadata"]["recording_id"] = json!("rec-999");
    assert_eq!(
        notifier.handle(unknown).await.unwrap()["outcome"],
        "ignored"
    );
    // Not mistaken for the stream whose job id the fixtures carry.
    assert_eq!(
        notifier.streams.record("session-42").unwrap().status,
        Processing
    );
}
