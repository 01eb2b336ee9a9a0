//! The SDK conversion, checked on the wire: a real `aws-sdk-mediaconvert` client sends to a loopback listener,
//! which captures the JSON body and answers with a canned response.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;

use aws_sdk_mediaconvert as sdk;
use serde_json::Value;
use vidpipe_aws::mediaconvert::{
    MediaConvertError, cancel_job, create_job, find_stream_job, probe, submit_job,
};
use vidpipe_core::job::{CreateJobRequest, FrameRate, MediaInfo};
use vidpipe_core::ports::CancelOutcome;
use vidpipe_testkit::moto::sdk_config_at;

/// One request the listener received.
#[derive(Debug)]
struct Captured {
    method: String,
    path: String,
    body: Value,
}

/// Starts a listener on 127.0.0.1:0 answering every request with `status` and `body`; returns its endpoint URL and
/// the requests it receives.
fn capture_server(status: &'static str, body: &'static str) -> (String, mpsc::Receiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = request_line.split_whitespace();
                    let (method, path) = (
                        parts.next().unwrap_or("").to_owned(),
                        parts.next().unwrap_or("").to_owned(),
                    );
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut raw = vec![0; length];
                    reader.read_exact(&mut raw).unwrap();
                    let request_body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                    tx.send(Captured {
                        method,
                        path,
                        body: request_body,
                    })
                    .ok();
                    let error_type = if status.starts_with('4') {
                        "x-amzn-ErrorType: BadRequestException\r\n"
                    } else {
                        ""
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{error_type}Content-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    writer.write_all(response.as_bytes()).unwrap();
                }
            });
        }
    });
    (endpoint, rx)
}

async fn client(endpoint: &str) -> sdk::Client {
    sdk::Client::new(&sdk_config_at(endpoint, "AKIDTEST", "secret").await)
}

/// Members whose values are maps: their keys are data, not member names, and stay as they are.
const MAP_MEMBERS: [&str; 3] = ["UserMetadata", "Tags", "AudioSelectors"];

/// The model's PascalCase JSON in the wire form: member names as their camelCase `locationName`, map keys
/// untouched, numbers compared as numbers.
fn wire_form(value: &Value, is_map: bool) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, child)| {
                    if is_map {
                        (key.clone(), wire_form(child, false))
                    } else {
                        let mut camel = key[..1].to_ascii_lowercase();
                        camel.push_str(&key[1..]);
                        (camel, wire_form(child, MAP_MEMBERS.contains(&key.as_str())))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| wire_form(v, false)).collect()),
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        other => other.clone(),
    }
}

/// `value` with every number as a float, to compare with [`wire_form`].
fn numbers_as_f64(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        other => other.clone(),
    }
}

fn golden_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../core/tests/fixtures/create_job_realistic.json"),
    );
    files
}

#[tokio::test]
async fn every_golden_job_reaches_the_wire_exactly_as_the_model_json() {
    let (endpoint, requests) = capture_server(
        "201 Created",
        r#"{"job":{"id":"1700000000000-abc123","role":"r","settings":{}}}"#,
    );
    let client = client(&endpoint).await;
    let files = golden_files();
    assert!(files.len() > 20, "golden files missing");
    for path in &files {
        let json = std::fs::read_to_string(path).unwrap();
        let job: CreateJobRequest = serde_json::from_str(&json).unwrap();
        let id = submit_job(&client, &job).await.unwrap();
        assert_eq!(id, "1700000000000-abc123");
        let captured = requests
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            (captured.method.as_str(), captured.path.as_str()),
            ("POST", "/2017-08-29/jobs")
        );
        let expected = wire_form(&serde_json::from_str(&json).unwrap(), false);
        assert_eq!(
            numbers_as_f64(&captured.body),
            expected,
            "{}: the SDK request differs from the model JSON",
            path.display()
        );
    }
}

#[tokio::test]
async fn create_job_errors_are_reported_not_panicked() {
    let (endpoint, _requests) = capture_server("400 Bad Request", r#"{"message":"Invalid Role"}"#);
    let json = std::fs::read_to_string(&golden_files()[0]).unwrap();
    let job: CreateJobRequest = serde_json::from_str(&json).unwrap();
    let err = create_job(&client(&endpoint).await, &job).send().await;
    assert!(err.is_err());
    let err = submit_job(&client(&endpoint).await, &job)
        .await
        .unwrap_err();
    assert!(
        matches!(err, MediaConvertError::CreateJob(_)) && err.to_string().contains("Invalid Role"),
        "{err}"
    );
}

const PROBE_RESPONSE: &str = r#"{"probeResults":[{
  "container":{"format":"mp4","duration":12.345,"bitRate":2000000,"tracks":[
    {"trackType":"video","index":1,"codec":"AVC","duration":12.3,
     "videoProperties":{"width":1280,"height":720,"bitDepth":8,"frameRate":{"numerator":30000,"denominator":1001},"rotation":90}},
    {"trackType":"audio","index":2,"codec":"AAC","duration":12.345,"audioProperties":{"channels":2,"sampleRate":48000}}]},
  "metadata":{"eTag":"abc","fileSize":123456,"mimeType":"video/mp4"}}]}"#;

#[tokio::test]
async fn probe_turns_the_probe_result_into_media_info() {
    let (endpoint, requests) = capture_server("200 OK", PROBE_RESPONSE);
    let uri = "s3://bucket/streams/s1_camera.mp4".parse().unwrap();
    let info = probe(&client(&endpoint).await, &uri).await.unwrap();
    assert_eq!(
        info,
        MediaInfo {
            width: 1280,
            height: 720,
            duration_ms: Some(12_345),
            frame_rate: Some(FrameRate {
                numerator: 30000,
                denominator: 1001
            }),
            has_audio: true,
            rotation: 90,
        }
    );
    let captured = requests.recv().unwrap();
    assert_eq!(
        (captured.method.as_str(), captured.path.as_str()),
        ("POST", "/2017-08-29/probe")
    );
    assert_eq!(
        captured.body,
        serde_json::json!({"inputFiles": [{"fileUrl": "s3://bucket/streams/s1_camera.mp4"}]})
    );
}

/// Probe's answer for a browser's MediaRecorder WebM: no duration in the header (none stated, or 0), and the
/// timestamp resolution where a frame rate would be.
const BROWSER_WEBM_PROBE_RESPONSE: &str = r#"{"probeResults":[{
  "container":{"format":"webm","duration":0.0,"tracks":[
    {"trackType":"audio","index":1,"codec":"OPUS","audioProperties":{"channels":1,"sampleRate":48000}},
    {"trackType":"video","index":2,"codec":"VP8",
     "videoProperties":{"width":640,"height":360,"frameRate":{"numerator":1000,"denominator":1}}}]},
  "metadata":{"fileSize":115000,"mimeType":"video/webm"}}]}"#;

#[tokio::test]
async fn a_browser_recording_without_a_stated_duration_or_rate_is_still_media() {
    let (endpoint, _requests) = capture_server("200 OK", BROWSER_WEBM_PROBE_RESPONSE);
    let uri = "s3://bucket/videos/s1_camera.webm".parse().unwrap();
    let info = probe(&client(&endpoint).await, &uri).await.unwrap();
    assert_eq!(
        info,
        MediaInfo {
            width: 640,
            height: 360,
            duration_ms: None,
            frame_rate: None,
            has_audio: true,
            rotation: 0,
        }
    );
}

#[tokio::test]
async fn probe_without_a_video_track_is_a_named_error() {
    let (endpoint, _requests) = capture_server(
        "200 OK",
        r#"{"probeResults":[{"container":{"format":"mp3","duration":3.0,"tracks":[{"trackType":"audio","audioProperties":{"channels":2}}]}}]}"#,
    );
    let uri = "s3://bucket/a.mp3".parse().unwrap();
    let err = probe(&client(&endpoint).await, &uri).await.unwrap_err();
    assert!(
        matches!(
            err,
            MediaConvertError::ProbeIncomplete {
                missing: "video track",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_probe_the_service_refuses_is_an_unusable_input() {
    let (endpoint, _requests) = capture_server(
        "400 Bad Request",
        r#"{"message":"The file is not a media file"}"#,
    );
    let uri = "s3://bucket/streams/s1.mp4".parse().unwrap();
    let err = probe(&client(&endpoint).await, &uri).await.unwrap_err();
    assert!(
        matches!(err, MediaConvertError::ProbeRejected { .. }),
        "{err}"
    );
    assert!(err.is_unusable_input());
    assert!(!MediaConvertError::NoJobId.is_unusable_input());
}

#[tokio::test]
async fn cancel_job_cancels_and_treats_a_finished_job_as_nothing_to_do() {
    let (endpoint, requests) = capture_server("202 Accepted", "{}");
    let outcome = cancel_job(&client(&endpoint).await, "1795194000000-abcdef")
        .await
        .unwrap();
    assert_eq!(outcome, CancelOutcome::Canceled);
    let captured = requests.recv().unwrap();
    assert_eq!(
        (captured.method.as_str(), captured.path.as_str()),
        ("DELETE", "/2017-08-29/jobs/1795194000000-abcdef")
    );
    let (endpoint, _requests) = capture_server(
        "400 Bad Request",
        r#"{"message":"Job is already complete"}"#,
    );
    let outcome = cancel_job(&client(&endpoint).await, "1795194000000-abcdef")
        .await
        .unwrap();
    assert_eq!(outcome, CancelOutcome::AlreadyFinished);
}

#[tokio::test]
async fn find_stream_job_reads_list_jobs_newest_first_and_stops_at_older_jobs() {
    // Newest first: generation 2 of s1, generation 1 of s1, another app's job, then a job older than the cut-off.
    let body = r#"{"jobs": [
        {"id": "j-new", "createdAt": 1795194300, "role": "r", "settings": {},
         "userMetadata": {"app": "vidpipe", "kind": "composite", "stream": "s1", "generation": "2"}},
        {"id": "j-s1-1", "createdAt": 1795194200, "role": "r", "settings": {},
         "userMetadata": {"app": "vidpipe", "kind": "single", "stream": "s1", "generation": "1"}},
        {"id": "j-other", "createdAt": 1795194150, "role": "r", "settings": {},
         "userMetadata": {"app": "someone-else", "stream": "s9", "generation": "1"}},
        {"id": "j-old", "createdAt": 1795190000, "role": "r", "settings": {},
         "userMetadata": {"app": "vidpipe", "kind": "composite", "stream": "s9", "generation": "1"}}
    ]}"#;
    let (endpoint, requests) = capture_server("200 OK", body);
    let client = client(&endpoint).await;
    let since = 1_795_194_000_000;
    let found = find_stream_job(&client, "s1", 1, since).await.unwrap();
    assert_eq!(found.as_deref(), Some("j-s1-1"));
    let captured = requests.recv().unwrap();
    assert_eq!(captured.method, "GET");
    assert!(
        captured.path.starts_with("/2017-08-29/jobs?")
            && captured.path.contains("order=DESCENDING"),
        "{}",
        captured.path
    );
    // s9's vidpipe job is older than the claim it would belong to: not the one.
    assert_eq!(
        find_stream_job(&client, "s9", 1, since).await.unwrap(),
        None
    );
    assert_eq!(
        find_stream_job(&client, "s1", 3, since).await.unwrap(),
        None
    );
}
