//! The compositor's handler on the in-memory stores of `vidpipe_testkit::fakes` (streams, recordings, the bucket)
//! with the fakes of `common` for the rest: the pairing rules without AWS.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vidpipe_compositor::Compositor;
use vidpipe_core::notify::DomainEventType;
use vidpipe_core::pairing::OutputKind;
use vidpipe_core::ports::{ObjectHead, RecordingStore, StreamStore};
use vidpipe_core::recording::{Recording, RecordingStatus};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_core::upload::UploadKind;
use vidpipe_testkit::fakes::{
    InMemoryCalls, InMemoryObjects, InMemoryPlaybacks, InMemoryRecordings, InMemoryStreams,
    RecordingPublisher,
};

use crate::common::{CountingTranscoder, PREFIX, RecordingTimer, config, s3_event};

pub(crate) const BUCKET: &str = "in-memory";

pub(crate) type InMemoryCompositor = Compositor<
    InMemoryStreams,
    InMemoryRecordings,
    InMemoryObjects,
    CountingTranscoder,
    RecordingPublisher,
    RecordingTimer,
    InMemoryPlaybacks,
    InMemoryCalls,
>;

pub(crate) struct Setup {
    pub(crate) compositor: InMemoryCompositor,
    now: Arc<AtomicU64>,
}

fn setup() -> Setup {
    setup_with(&[])
}

/// The in-memory compositor with configuration `overrides`.
pub(crate) fn setup_with(overrides: &[(&str, &str)]) -> Setup {
    let now = Arc::new(AtomicU64::new(1_795_194_000_000));
    let clock = Arc::clone(&now);
    let compositor = Compositor {
        config: config(BUCKET, "unused", overrides),
        streams: Arc::default(),
        recordings: Arc::default(),
        objects: Arc::default(),
        transcoder: Arc::default(),
        publisher: Arc::default(),
        timer: Arc::default(),
        playbacks: Arc::default(),
        calls: Arc::default(),
        now_ms: Arc::new(move || clock.load(Ordering::SeqCst)),
    };
    Setup { compositor, now }
}

impl Setup {
    /// Puts an object (with `started-at`, when given) and returns its ObjectCreated event.
    pub(crate) fn put(&self, key: &str, etag: &str, started_at: Option<u64>) -> serde_json::Value {
        let metadata = started_at
            .map(|t| BTreeMap::from([("started-at".to_owned(), t.to_string())]))
            .unwrap_or_default();
        self.compositor.objects.insert(
            key,
            ObjectHead {
                size: 1234,
                etag: etag.to_owned(),
                last_modified: None,
                metadata,
            },
        );
        s3_event(BUCKET, key, etag)
    }
}

#[tokio::test]
async fn a_pair_is_composited_once() {
    let s = setup();
    let screen = s.put(
        &format!("{PREFIX}m1.mp4"),
        "e-screen",
        Some(1_795_194_000_000),
    );
    let camera = s.put(
        &format!("{PREFIX}m1_camera.webm"),
        "e-camera",
        Some(1_795_194_000_500),
    );
    let first = s.compositor.handle(screen).await.unwrap();
    assert_eq!(first["records"][0]["outcome"], "timer_started", "{first}");
    let second = s.compositor.handle(camera.clone()).await.unwrap();
    assert_eq!(second["records"][0]["outcome"], "submitted", "{second}");
    let again = s.compositor.handle(camera).await.unwrap();
    assert_eq!(again["records"][0]["reason"], "already_submitted");

    let jobs = s.compositor.transcoder.jobs_for("m1");
    assert_eq!(jobs.len(), 1);
    let overlay = &jobs[0].settings.inputs.as_ref().unwrap()[0]
        .video_overlays
        .as_ref()
        .unwrap()[0];
    assert_eq!(overlay.start_timecode.as_deref(), Some("00:00:00:15"));
    let state = s.compositor.streams.get("m1").await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.job_kind, state.generation),
        (
            Some(StreamStatus::Processing),
            Some(OutputKind::Composite),
            1
        )
    );
}

#[tokio::test]
async fn the_partner_timeout_submits_the_fallback() {
    let s = setup();
    let camera = s.put(&format!("{PREFIX}t1_camera.webm"), "e-camera", None);
    s.compositor.handle(camera).await.unwrap();
    s.now.fetch_add(900_001, Ordering::SeqCst);
    let answer = s
        .compositor
        .handle(serde_json::json!({"partner_timeout": {"stream": "t1"}}))
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "submitted", "{answer}");
    assert_eq!(answer["job_kind"], "single");
    let record = s.compositor.streams.record("t1").unwrap();
    assert_eq!(record.fallback_reason.as_deref(), Some("screen_missing"));
}

#[tokio::test]
async fn a_generic_recording_is_marked_uploaded_and_announced() {
    let s = setup();
    let key = format!("{PREFIX}recordings/room-1/rec-1/talk.webm");
    s.compositor
        .recordings
        .put_new(&Recording {
            recording_id: "rec-1".into(),
            owner: "u1".into(),
            kind: UploadKind::Recording,
            key: key.clone(),
            content_type: "video/webm".into(),
            size: 0,
            room_id: Some("room-1".into()),
            stream_name: None,
            filename: Some("talk.webm".into()),
            started_at: None,
            status: RecordingStatus::Uploading,
            created_at_ms: 1,
            expires_at: 1,
            multipart: None,
        })
        .await
        .unwrap();
    let answer = s.compositor.handle(s.put(&key, "e1", None)).await.unwrap();
    assert_eq!(answer["records"][0]["outcome"], "recording_uploaded");
    let stored = s.compositor.recordings.get("rec-1").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.size),
        (RecordingStatus::Uploaded, 1234)
    );
    let events = s.compositor.publisher.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, DomainEventType::RecordingUploaded);
}
