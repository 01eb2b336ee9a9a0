//! Handler tests: every route and every bad input, with the in-memory stores of `vidpipe_testkit::fakes`.

mod auth;
mod calls;
mod event_guard;
mod exports;
mod http;
mod legacy_routes;
mod playback;
mod previews;
mod recordings;
mod renders;
mod streams;
mod uploads;

use std::sync::atomic::Ordering;

use vidpipe_core::stream_status::{StreamRecord, StreamStatus};
use vidpipe_presign::App;
use vidpipe_presign::config::Config;
use vidpipe_presign::playback::PlaybackBackends;
use vidpipe_presign::renders::RenderBackends;
use vidpipe_presign::signing::PlaybackSigning;
use vidpipe_testkit::config::vars;
use vidpipe_testkit::fakes::{InMemoryCalls, InMemoryObjects, InMemoryRecordings, InMemoryStreams};
use vidpipe_testkit::fakes::{
    InMemoryPlaybacks, InMemoryRenderFiles, InMemoryRenders, RecordingCanceller,
    RecordingExecutions,
};

use crate::common::{Event, parts};

const MIB: u64 = 1024 * 1024;

fn stream_record(stream: &str, owner: Option<&str>, status: StreamStatus) -> StreamRecord {
    StreamRecord {
        status,
        ..StreamRecord::new(stream, owner.map(str::to_owned))
    }
}

/// The render routes' in-memory ports.
type TestRenders =
    RenderBackends<InMemoryRenders, RecordingExecutions, InMemoryRenderFiles, RecordingCanceller>;

type TestApp = App<
    InMemoryObjects,
    InMemoryRecordings,
    InMemoryStreams,
    TestRenders,
    PlaybackBackends<InMemoryPlaybacks, InMemoryRenderFiles>,
    InMemoryCalls,
>;

/// The configuration of these tests, with `overrides` replacing its values.
fn config(overrides: &[(&str, &str)]) -> Config {
    let threshold = (100 * MIB).to_string();
    let max_upload = (1024 * MIB).to_string();
    let mut pairs = vec![
        ("BUCKET", "uploads"),
        ("TABLE_NAME", "vidpipe"),
        ("KEY_PREFIX", "videos/"),
        ("ALLOWED_ORIGINS", "https://app.example.com"),
        ("MULTIPART_THRESHOLD", threshold.as_str()),
        ("MAX_UPLOAD_BYTES", max_upload.as_str()),
        (
            "PLAYBACK_SIGNING_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
    ];
    pairs.retain(|(name, _)| !overrides.iter().any(|(o, _)| o == name));
    pairs.extend_from_slice(overrides);
    Config::from_env(vars(&pairs)).unwrap()
}

fn app(overrides: &[(&str, &str)]) -> TestApp {
    let config = config(overrides);
    App {
        signing: PlaybackSigning::from_values(&config).unwrap(),
        config,
        objects: InMemoryObjects::default(),
        recordings: InMemoryRecordings::default(),
        streams: InMemoryStreams::default(),
        renders: RenderBackends::default(),
        playback: PlaybackBackends::default(),
        calls: InMemoryCalls::default(),
    }
}

/// Writes made to any store so far.
fn writes(app: &TestApp) -> usize {
    app.objects.writes.load(Ordering::SeqCst)
        + app.recordings.writes.load(Ordering::SeqCst)
        + app.streams.writes()
        + app.calls.writes.load(Ordering::SeqCst)
}

async fn call(app: &TestApp, event: Event) -> (u16, serde_json::Value) {
    parts(app.handle(event.request()).await)
}
