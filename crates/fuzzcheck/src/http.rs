//! The HTTP API: a fuzzed API Gateway event through the whole presign handler (routing, authentication, validation,
//! the stores' conditions) on testkit's in-memory ports.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use vidpipe_presign::playback::PlaybackBackends;
use vidpipe_presign::renders::RenderBackends;
use vidpipe_presign::signing::PlaybackSigning;
use vidpipe_testkit::fakes::{
    InMemoryPlaybacks, InMemoryRenderFiles, InMemoryRenders, RecordingCanceller,
    RecordingExecutions,
};

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::{Body, Response};
use serde_json::Value;
use vidpipe_core::call::token::{CompositionToken, Scope, TokenGrant};
use vidpipe_core::call::{Call, CallTrack, PeerId, TrackRole};
use vidpipe_core::capability::StreamCapability;
use vidpipe_core::ports::{ObjectHead, StoredPart};
use vidpipe_core::recording::{MultipartUpload, Recording, RecordingStatus};
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};
use vidpipe_core::upload::UploadKind;
use vidpipe_presign::App;
use vidpipe_presign::config::Config;
use vidpipe_presign::event_guard;
use vidpipe_testkit::config::vars;
use vidpipe_testkit::fakes::{InMemoryCalls, InMemoryObjects, InMemoryRecordings, InMemoryStreams};

use crate::runtime::block_on;

/// The multipart recording every app starts with, owned by the JWT caller `user-123` of the seed events.
pub const RECORDING_ID: &str = "4b0c1d7e-5f3a-4c2b-9d1e-000000000042";

/// Entropy of the composition token of `user-123` on the call recording `rec-123` every app starts with (one track
/// of `peer-1`); seed events present it (64 times `3c`) in `x-composition-token`.
const TOKEN_ENTROPY: [u8; 32] = [0x3c; 32];

/// Entropy of the capability of `survey-7`, the anonymous stream every app starts with; seed events present the
/// capability it issues (64 times `5a`) in `x-stream-capability`.
const SURVEY_ENTROPY: [u8; 32] = [0x5a; 32];

type FuzzApp = App<
    InMemoryObjects,
    InMemoryRecordings,
    InMemoryStreams,
    RenderBackends<InMemoryRenders, RecordingExecutions, InMemoryRenderFiles, RecordingCanceller>,
    PlaybackBackends<InMemoryPlaybacks, InMemoryRenderFiles>,
    InMemoryCalls,
>;

/// The configurations requests are answered under: the API Gateway JWT authorizer, HS256 tokens checked by the
/// function (no seed carries a valid one: tokens expire; garbage tokens are what is fuzzed), and anonymous callers.
fn configs() -> &'static [Config; 3] {
    static CONFIGS: OnceLock<[Config; 3]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let config = |mode: &[(&str, &str)]| {
            let mut pairs = vec![
                ("BUCKET", "uploads"),
                ("TABLE_NAME", "vidpipe"),
                ("KEY_PREFIX", "videos/"),
                ("ALLOWED_ORIGINS", "https://app.example.com"),
                (
                    "PLAYBACK_SIGNING_SECRET",
                    "0123456789abcdef0123456789abcdef",
                ),
            ];
            pairs.extend_from_slice(mode);
            Config::from_env(vars(&pairs)).expect("the fuzzed configurations are valid")
        };
        [
            config(&[]),
            config(&[
                ("AUTH_MODE", "hs256"),
                ("JWT_SECRET", "fuzz-secret-of-at-least-32-bytes-long"),
                ("JWT_AUDIENCE", "vidpipe"),
            ]),
            config(&[("AUTH_MODE", "anonymous")]),
        ]
    })
}

/// An app whose stores hold what the seed events name: a multipart recording with one part uploaded, `user-123`'s
/// ready stream `session-42`, and the anonymous stream `survey-7`.
fn app(config: &Config) -> FuzzApp {
    let app = App {
        signing: PlaybackSigning::from_values(config).expect("the fuzzed configurations sign"),
        config: config.clone(),
        objects: InMemoryObjects::default(),
        recordings: InMemoryRecordings::default(),
        streams: InMemoryStreams::default(),
        renders: RenderBackends::default(),
        playback: PlaybackBackends::default(),
        calls: InMemoryCalls::default(),
    };
    let key = format!("videos/recordings/room-1/{RECORDING_ID}/talk.webm");
    app.objects.uploads.lock().expect("uploads").insert(
        "upload-0".into(),
        vec![StoredPart {
            number: 1,
            etag: "etag-of-part-1".into(),
            size: 8 * 1024 * 1024,
        }],
    );
    app.objects.insert(
        "videos/session-42_composited.mp4",
        ObjectHead {
            size: 1,
            etag: "e".into(),
            last_modified: None,
            metadata: Default::default(),
        },
    );
    app.recordings.items.lock().expect("recordings").insert(
        RECORDING_ID.into(),
        Recording {
            recording_id: RECORDING_ID.into(),
            owner: "jwt:user-123".into(),
            kind: UploadKind::Recording,
            key,
            content_type: "video/webm".into(),
            size: 20 * 1024 * 1024,
            room_id: Some("room-1".into()),
            stream_name: None,
            filename: Some("talk.webm".into()),
            started_at: None,
            status: RecordingStatus::Uploading,
            created_at_ms: 1_795_194_000_000,
            expires_at: 1_797_786_000,
            multipart: Some(MultipartUpload {
                upload_id: "upload-0".into(),
                part_size: 8 * 1024 * 1024,
                part_count: 3,
            }),
        },
    );
    app.streams.insert(StreamRecord {
        status: StreamStatus::Ready,
        generation: 1,
        output_key: Some("videos/session-42_composited.mp4".into()),
        ..StreamRecord::new("session-42", Some("jwt:user-123".into()))
    });
    app.streams.insert(StreamRecord {
        capability: Some(StreamCapability::issue(SURVEY_ENTROPY).digest()),
        ..StreamRecord::new("survey-7", Some("anonymous".into()))
    });
    with_call(&app);
    app
}

/// The call recording `rec-123` of room `room-456`: `user-123`'s track of `peer-1`, and a token of theirs for it.
fn with_call(app: &FuzzApp) {
    let track = CallTrack {
        track_id: "track-1".into(),
        peer_id: PeerId::parse("peer_id", "peer-1").expect("a peer id"),
        role: TrackRole::Av,
        started_at: 1_795_194_000_000,
        uploader: "jwt:user-123".into(),
        key: "videos/rooms/room-456/rec-123/tracks/peer-1/av/track-1.webm".into(),
        created_at_ms: 1_795_194_000_000,
    };
    app.calls.calls.lock().expect("calls").insert(
        "rec-123".into(),
        Call {
            recording_id: "rec-123".into(),
            room_id: "room-456".into(),
            owner: "jwt:user-123".into(),
            created_at_ms: 1_795_194_000_000,
            expires_at: 1_797_786_000,
            tracks: vec![track],
            composition: None,
            preview: None,
            export: None,
        },
    );
    let grant = TokenGrant::mint(
        CompositionToken::issue(TOKEN_ENTROPY).digest(),
        Scope::ALL.to_vec(),
        "rec-123",
        "room-456",
        "jwt:user-123",
        vidpipe_core::clock::now_ms(),
    );
    app.calls
        .grants
        .lock()
        .expect("grants")
        .insert(grant.digest.to_stored(), grant);
}

/// What the stores hold: a rejected request must leave it as it was.
#[derive(Debug, PartialEq)]
struct Stores {
    objects: HashMap<String, ObjectHead>,
    uploads: HashMap<String, Vec<StoredPart>>,
    recordings: HashMap<String, Recording>,
    stream_writes: usize,
    call_writes: usize,
}

fn stores(app: &FuzzApp) -> Stores {
    Stores {
        objects: app.objects.objects.lock().expect("objects").clone(),
        uploads: app.objects.uploads.lock().expect("uploads").clone(),
        recordings: app.recordings.items.lock().expect("recordings").clone(),
        stream_writes: app.streams.writes(),
        call_writes: app.calls.writes.load(Ordering::SeqCst),
    }
}

/// Checks the presign handler on an API Gateway event (payload 2.0, as `lambda_http` reads it), under every
/// configuration: it never panics and never answers 5xx (the in-memory stores do not fail); every answer with a body
/// is JSON; every error is `{"error":{"code","message"}}`; and a refused request changes no store.
pub fn presign_http(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut event) = serde_json::from_str::<ApiGatewayV2httpRequest>(text) else {
        return;
    };
    // As the function's runtime does: lambda_http panics on some events the guard repairs (docs/fuzzing.md).
    event_guard::repair(&mut event);
    let text = serde_json::to_string(&event).expect("an event serializes");
    for config in configs() {
        // `Request` is not `Clone`: each configuration reads the event afresh.
        let Ok(request) = lambda_http::request::from_str(&text) else {
            return;
        };
        let app = app(config);
        let before = stores(&app);
        let response = block_on(app.handle(request));
        let status = response.status().as_u16();
        let body = json_body(&response, status);
        assert!(status < 500, "answered {status}: {body}");
        if status >= 400 {
            let error = &body["error"];
            assert!(
                error["code"].is_string() && error["message"].is_string(),
                "a {status} without an error code and message: {body}"
            );
            assert_eq!(
                stores(&app),
                before,
                "a {status} changed the stores: {body}"
            );
            // A multipart upload created, then aborted, leaves the bucket as it was but was a write all the same.
            let bucket_writes = app.objects.writes.load(Ordering::SeqCst);
            assert_eq!(bucket_writes, 0, "a {status} wrote to the bucket: {body}");
        }
    }
}

/// The response body as JSON (`null` when empty, as a preflight's is).
fn json_body(response: &Response<Body>, status: u16) -> Value {
    let body: &[u8] = response.body().as_ref();
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "a {status} answer is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    })
}
