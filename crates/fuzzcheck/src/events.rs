//! Event parsing: the compositor's invocations (S3 notifications, SQS, EventBridge, the partner timer), S3 key
//! decoding and classification, and the notifier's handler (MediaConvert job state changes and render results).

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use vidpipe_compositor::event::{Invocation, ObjectCreated, decode_key};
use vidpipe_core::keys::{
    ASSETS_DIR, KeyKind, RENDERS_DIR, camera_key, classify_key, composited_key, recording_key,
    screen_key,
};
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};
use vidpipe_notifier::{Notifier, NotifierError};
use vidpipe_testkit::fakes::{
    InMemoryCalls, InMemoryPlaybacks, InMemoryProcessedEvents, InMemoryRenderFiles,
    InMemoryRenders, InMemoryStreams, RecordingPublisher,
};

use crate::json;
use crate::runtime::block_on;

/// `KEY_PREFIX`es keys are classified under: none, and a folder.
const PREFIXES: [&str; 2] = ["", "videos/"];

/// Checks the compositor's reading of an invocation: it never panics, and every object it reads (from S3 records,
/// SQS bodies or EventBridge) reads back the same from an S3 record with its key encoded as S3 encodes keys, and
/// from an EventBridge event; a partner timeout reads back from the timer's input; an SQS body is never itself a
/// queue event.
pub fn compositor_event(data: &[u8]) {
    let Some(event) = json(data) else { return };
    let objects = match Invocation::from_json(&event) {
        Ok(Invocation::Objects(objects)) => objects,
        Ok(Invocation::Queue(messages)) => messages
            .into_iter()
            .filter_map(|message| message.body.ok())
            .flat_map(|body| match body {
                Invocation::Objects(objects) => objects,
                Invocation::Queue(_) => panic!("an SQS message body was read as a queue event"),
                Invocation::TestEvent
                | Invocation::Sweep
                | Invocation::PartnerTimeout { .. }
                | Invocation::JobStateChange(_) => Vec::new(),
            })
            .collect(),
        Ok(Invocation::PartnerTimeout { stream }) => {
            let again = Invocation::from_json(&json!({"partner_timeout": {"stream": stream}}));
            assert_eq!(again, Ok(Invocation::PartnerTimeout { stream }));
            Vec::new()
        }
        Ok(Invocation::TestEvent | Invocation::Sweep | Invocation::JobStateChange(_)) | Err(_) => {
            Vec::new()
        }
    };
    for object in objects.iter().flatten() {
        object_reads_back(object);
    }
}

/// `object` as an S3 notification record and as an EventBridge event reads back as `object`.
fn object_reads_back(object: &ObjectCreated) {
    // S3 records carry the size as a signed 64-bit number; no object is larger, so a larger size (from an
    // EventBridge event, whose size is unsigned) is left out and reads back as 0.
    let size = i64::try_from(object.size).ok();
    let record = json!({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": object.bucket},
               "object": {"key": s3_encoded(&object.key), "size": size, "eTag": object.etag}},
    }]});
    let expected = ObjectCreated {
        size: if size.is_some() { object.size } else { 0 },
        ..object.clone()
    };
    assert_eq!(
        Invocation::from_json(&record),
        Ok(Invocation::Objects(vec![Ok(expected)])),
        "{object:?} as an S3 record"
    );
    let eventbridge = json!({"source": "aws.s3", "detail-type": "Object Created",
        "detail": {"bucket": {"name": object.bucket},
                   "object": {"key": object.key, "size": object.size, "etag": object.etag}}});
    assert_eq!(
        Invocation::from_json(&eventbridge),
        Ok(Invocation::Objects(vec![Ok(object.clone())])),
        "{object:?} as an EventBridge event"
    );
}

/// A key encoded as S3 notifications encode keys: form-urlencoded, `+` for a space.
fn s3_encoded(key: &str) -> String {
    utf8_percent_encode(key, NON_ALPHANUMERIC)
        .to_string()
        .replace("%20", "+")
}

/// Checks S3 key decoding and classification on a key as a notification carries it: decoding fails only on a
/// percent-escape that is not UTF-8, and undoes S3's encoding; a key classified as a stream's screen, camera or
/// output, or as a recording, is exactly the key vidpipe's naming rules build from what the classification found.
pub fn s3_key(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    match decode_key(raw) {
        Ok(key) => {
            assert_eq!(decode_key(&s3_encoded(&key)).as_ref(), Ok(&key));
            for prefix in PREFIXES {
                classification_rebuilds(prefix, &key);
            }
        }
        Err(_) => assert!(raw.contains('%'), "{raw:?} has no escape, yet fails"),
    }
    for prefix in PREFIXES {
        classification_rebuilds(prefix, raw);
    }
}

/// The key `classify_key` found a kind in is the key the naming rules build for that kind.
fn classification_rebuilds(prefix: &str, key: &str) {
    let rebuilt = match classify_key(prefix, key) {
        KeyKind::Screen(stream) => screen_key(prefix, &stream),
        KeyKind::Camera(stream) => camera_key(prefix, &stream),
        KeyKind::Composited(stream) => composited_key(prefix, &stream),
        KeyKind::Recording {
            room_id,
            recording_id,
        } => {
            let filename = key.rsplit('/').next().unwrap_or_default();
            recording_key(prefix, &room_id, &recording_id, filename)
        }
        KeyKind::Asset {
            owner_segment,
            recording_id,
        } => {
            let filename = key.rsplit('/').next().unwrap_or_default();
            format!("{prefix}{ASSETS_DIR}{owner_segment}/{recording_id}/{filename}")
        }
        KeyKind::Track {
            room_id,
            recording_id,
            peer_id,
            role,
            track_id,
        } => {
            let ext = key.rsplit_once('.').map(|(_, ext)| ext).unwrap_or_default();
            vidpipe_core::keys::track_key(
                prefix,
                &room_id,
                &recording_id,
                &peer_id,
                role,
                &track_id,
                ext,
            )
        }
        KeyKind::PreviewRequest {
            room_id,
            recording_id,
            generation,
        } => vidpipe_core::keys::preview_request_key(prefix, &room_id, &recording_id, generation),
        KeyKind::RenderOutput {
            owner_segment,
            render_id,
        } => format!("{prefix}{RENDERS_DIR}{owner_segment}/{render_id}/output.mp4"),
        KeyKind::Other => return,
    };
    assert_eq!(rebuilt, key, "classified under prefix {prefix:?}");
}

type FuzzNotifier = Notifier<
    InMemoryStreams,
    InMemoryRenders,
    InMemoryProcessedEvents,
    RecordingPublisher,
    InMemoryPlaybacks,
    InMemoryRenderFiles,
    InMemoryCalls,
>;

/// The notifier with `session-42` as the compositor leaves it after submitting its first composite (the stream the
/// seed events name).
fn notifier() -> FuzzNotifier {
    let streams = InMemoryStreams::default();
    streams.insert(StreamRecord {
        status: StreamStatus::Processing,
        generation: 1,
        job_id: Some("1795194000000-a1b2c3".into()),
        job_kind: Some("composite".into()),
        ..StreamRecord::new("session-42", Some("jwt:user-123".into()))
    });
    Notifier {
        streams,
        renders: InMemoryRenders::default(),
        events: InMemoryProcessedEvents::default(),
        publisher: RecordingPublisher::default(),
        playbacks: InMemoryPlaybacks::default(),
        files: InMemoryRenderFiles::default(),
        calls: InMemoryCalls::default(),
        retention_days: 30,
    }
}

/// Checks the notifier's handler on in-memory ports: it never panics; it fails only on a render result that breaks
/// the contract or a job newer than the stream's recorded generation (in-memory stores do not fail); an event it
/// rejects or ignores changes no stream and publishes nothing; and a redelivered event publishes nothing more.
pub fn notifier_event(data: &[u8]) {
    let Some(payload) = json(data) else { return };
    let notifier = notifier();
    let first = block_on(notifier.handle(payload.clone()));
    let published = notifier.publisher.events().len();
    match &first {
        Ok(answer) => {
            let outcome = answer.get("outcome").and_then(Value::as_str);
            if matches!(outcome, Some("rejected" | "ignored" | "no_status_change")) {
                assert_eq!(published, 0, "{answer} published");
                assert_eq!(notifier.streams.writes(), 0, "{answer} wrote a stream");
            }
        }
        Err(
            NotifierError::InvalidRenderResult(_) | NotifierError::GenerationNotRecorded { .. },
        ) => {
            assert_eq!(published, 0, "a failed invocation published");
        }
        Err(e) => panic!("the in-memory ports never fail, yet: {e}"),
    }
    let again = block_on(notifier.handle(payload));
    assert_eq!(
        notifier.publisher.events().len(),
        published,
        "a redelivery published again (first answer {first:?}, then {again:?})"
    );
}
