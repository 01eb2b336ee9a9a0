//! The notifier's log lines, as Lambda's JSON log format writes them (lambda_runtime's subscriber with
//! `AWS_LAMBDA_LOG_FORMAT=JSON`): every line of an invocation names what it is about, from the event itself.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use vidpipe_core::stream_status::{StreamRecord, StreamStatus};
use vidpipe_notifier::Notifier;
use vidpipe_testkit::fakes::{
    InMemoryPlaybacks, InMemoryProcessedEvents, InMemoryRenderFiles, InMemoryRenders,
    InMemoryStreams, RecordingPublisher,
};

use crate::moto::fixture;

/// Every line the JSON subscriber writes while `run` runs.
async fn json_lines<F: std::future::Future>(run: F) -> Vec<Value> {
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    run.await;
    drop(guard);
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn every_line_of_an_invocation_names_its_job_stream_or_render() {
    let streams = InMemoryStreams::default();
    streams.insert(StreamRecord {
        status: StreamStatus::Processing,
        generation: 1,
        job_id: Some("1795194000000-a1b2c3".into()),
        job_kind: Some("composite".into()),
        ..StreamRecord::new("session-42", Some("user-123".into()))
    });
    let notifier = Notifier {
        streams,
        renders: InMemoryRenders::default(),
        events: InMemoryProcessedEvents::default(),
        publisher: RecordingPublisher::default(),
        playbacks: InMemoryPlaybacks::default(),
        files: InMemoryRenderFiles::default(),
        calls: vidpipe_testkit::fakes::InMemoryCalls::default(),
        retention_days: 30,
    };
    let error = fixture("error.json");
    let job_id = error["detail"]["jobId"].as_str().unwrap().to_owned();
    let lines = json_lines(async {
        notifier.handle(error.clone()).await.unwrap();
    })
    .await;
    assert!(!lines.is_empty(), "a failed job is logged");
    for line in &lines {
        assert_eq!(line["span"]["job_id"], json!(job_id), "{line}");
        assert_eq!(line["span"]["stream"], "session-42", "{line}");
    }
    // A render report, even one refused, is logged with its render.
    let lines = json_lines(async {
        let report = json!({"render_result": {"render_id": "render-7", "status": "bogus"}});
        notifier.handle(report).await.unwrap_err();
    })
    .await;
    assert!(!lines.is_empty(), "a refused render result is logged");
    for line in &lines {
        assert_eq!(line["span"]["render_id"], "render-7", "{line}");
    }
}
