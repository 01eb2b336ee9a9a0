//! Handler tests: every route and every bad input, with in-memory fakes of the stores.

mod common;

use common::{Event, parts};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use vidpipe_aws::recordings::{Page, StoreError};
use vidpipe_aws::s3::{PresignedHttp, PutSpec, S3Error, StoredPart};
use vidpipe_aws::streams::StreamRecord;
use vidpipe_core::recording::{Recording, RecordingStatus};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_presign::App;
use vidpipe_presign::config::Config;
use vidpipe_presign::ports::{Objects, Recordings, Streams};

const MIB: u64 = 1024 * 1024;

/// What a presigned PUT covered: key, Content-Type, Content-Length, If-None-Match, metadata.
type SignedPut = (String, String, Option<u64>, bool, Vec<(String, String)>);

#[derive(Default)]
struct FakeObjects {
    existing: Mutex<HashSet<String>>,
    uploads: Mutex<HashMap<String, Vec<StoredPart>>>,
    signed_puts: Mutex<Vec<SignedPut>>,
    writes: AtomicUsize,
}

impl Objects for FakeObjects {
    async fn exists(&self, key: &str) -> Result<bool, S3Error> {
        Ok(self.existing.lock().unwrap().contains(key))
    }
    async fn presign_put(&self, spec: &PutSpec<'_>) -> Result<PresignedHttp, S3Error> {
        let meta = spec
            .metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.signed_puts.lock().unwrap().push((
            spec.key.to_owned(),
            spec.content_type.to_owned(),
            spec.content_length,
            spec.if_none_match,
            meta,
        ));
        let mut headers = std::collections::BTreeMap::from([(
            "content-type".to_owned(),
            spec.content_type.to_owned(),
        )]);
        if let Some(len) = spec.content_length {
            headers.insert("content-length".into(), len.to_string());
        }
        Ok(PresignedHttp {
            method: "PUT".into(),
            url: format!("https://s3.test/{}?X-Amz-Signature=x", spec.key),
            headers,
        })
    }
    async fn presign_get(&self, key: &str, _ttl: Duration) -> Result<PresignedHttp, S3Error> {
        Ok(PresignedHttp {
            method: "GET".into(),
            url: format!("https://s3.test/{key}?get"),
            headers: Default::default(),
        })
    }
    async fn create_multipart(
        &self,
        key: &str,
        _ct: &str,
        _m: &[(&str, String)],
    ) -> Result<String, S3Error> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let id = format!("upload-{}", self.uploads.lock().unwrap().len() + 1);
        self.uploads.lock().unwrap().insert(id.clone(), Vec::new());
        assert!(!key.is_empty());
        Ok(id)
    }
    async fn presign_part(
        &self,
        key: &str,
        id: &str,
        n: u32,
        len: u64,
        _t: Duration,
    ) -> Result<PresignedHttp, S3Error> {
        Ok(PresignedHttp {
            method: "PUT".into(),
            url: format!("https://s3.test/{key}?uploadId={id}&partNumber={n}&len={len}"),
            headers: Default::default(),
        })
    }
    async fn list_parts(&self, _key: &str, id: &str) -> Result<Vec<StoredPart>, S3Error> {
        self.uploads
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or(S3Error::NoSuchUpload)
    }
    async fn complete_multipart(
        &self,
        _key: &str,
        id: &str,
        _parts: &[(u32, String)],
    ) -> Result<(), S3Error> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.uploads
            .lock()
            .unwrap()
            .remove(id)
            .map(|_| ())
            .ok_or(S3Error::NoSuchUpload)
    }
    async fn abort_multipart(&self, _key: &str, id: &str) -> Result<(), S3Error> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.uploads
            .lock()
            .unwrap()
            .remove(id)
            .map(|_| ())
            .ok_or(S3Error::NoSuchUpload)
    }
}

#[derive(Default)]
struct FakeRecordings {
    items: Mutex<HashMap<String, Recording>>,
    writes: AtomicUsize,
}

impl Recordings for FakeRecordings {
    async fn put_new(&self, r: &Recording) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut items = self.items.lock().unwrap();
        if items.contains_key(&r.recording_id) {
            return Err(StoreError::Conflict("exists"));
        }
        items.insert(r.recording_id.clone(), r.clone());
        Ok(())
    }
    async fn get(&self, id: &str) -> Result<Option<Recording>, StoreError> {
        Ok(self.items.lock().unwrap().get(id).cloned())
    }
    async fn set_status(
        &self,
        id: &str,
        from: RecordingStatus,
        to: RecordingStatus,
    ) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        match self.items.lock().unwrap().get_mut(id) {
            Some(r) if r.status == from => {
                r.status = to;
                Ok(())
            }
            _ => Err(StoreError::Conflict("state")),
        }
    }
    async fn list_by_owner(
        &self,
        owner: &str,
        room: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let mut mine: Vec<Recording> = self
            .items
            .lock()
            .unwrap()
            .values()
            .filter(|r| {
                r.owner == owner && room.is_none_or(|room| r.room_id.as_deref() == Some(room))
            })
            .cloned()
            .collect();
        mine.sort_by(|a, b| {
            (b.created_at_ms, &b.recording_id).cmp(&(a.created_at_ms, &a.recording_id))
        });
        let start: usize = match cursor {
            Some(c) => c.parse().map_err(|_| StoreError::InvalidCursor)?,
            None => 0,
        };
        let items: Vec<Recording> = mine.iter().skip(start).take(limit).cloned().collect();
        let next = (start + limit < mine.len()).then(|| (start + limit).to_string());
        Ok(Page {
            items,
            next_cursor: next,
        })
    }
}

#[derive(Default)]
struct FakeStreams {
    items: Mutex<HashMap<String, StreamRecord>>,
    writes: AtomicUsize,
}

impl Streams for FakeStreams {
    async fn get_stream(&self, stream: &str) -> Result<Option<StreamRecord>, StoreError> {
        Ok(self.items.lock().unwrap().get(stream).cloned())
    }
    async fn claim_stream(
        &self,
        stream: &str,
        owner: &str,
        _expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut items = self.items.lock().unwrap();
        let record = items
            .entry(stream.to_owned())
            .or_insert_with(|| stream_record(stream, None, StreamStatus::Queued));
        match &record.owner {
            Some(o) if o != owner => Err(StoreError::Conflict("owned")),
            _ => {
                self.writes.fetch_add(1, Ordering::SeqCst);
                record.owner = Some(owner.to_owned());
                Ok(())
            }
        }
    }
}

fn stream_record(stream: &str, owner: Option<&str>, status: StreamStatus) -> StreamRecord {
    StreamRecord {
        stream: stream.to_owned(),
        owner: owner.map(str::to_owned),
        status,
        progress: 0,
        generation: 0,
        job_id: None,
        job_kind: None,
        fallback_reason: None,
        output_key: None,
        error_code: None,
        error_message: None,
    }
}

type TestApp = App<FakeObjects, FakeRecordings, FakeStreams>;

fn config(vars: &[(&str, &str)]) -> Config {
    let mut all: HashMap<String, String> = HashMap::from([
        ("KEY_PREFIX".into(), "videos/".into()),
        ("ALLOWED_ORIGINS".into(), "https://app.example.com".into()),
        ("MULTIPART_THRESHOLD".into(), (100 * MIB).to_string()),
        ("MAX_UPLOAD_BYTES".into(), (1024 * MIB).to_string()),
    ]);
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Config::from_env(|k| all.get(k).cloned()).unwrap()
}

fn app(vars: &[(&str, &str)]) -> TestApp {
    App {
        config: config(vars),
        objects: FakeObjects::default(),
        recordings: FakeRecordings::default(),
        streams: FakeStreams::default(),
    }
}

/// Writes made to either store so far.
fn writes(app: &TestApp) -> usize {
    app.objects.writes.load(Ordering::SeqCst)
        + app.recordings.writes.load(Ordering::SeqCst)
        + app.streams.writes.load(Ordering::SeqCst)
}

async fn call(app: &TestApp, event: Event) -> (u16, serde_json::Value) {
    parts(app.handle(event.request()).await)
}

#[tokio::test]
async fn camera_upload_is_signed_with_a_server_chosen_key() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["key"], "videos/session-42_camera.webm");
    assert_eq!(body["upload"]["method"], "PUT");
    assert_eq!(body["upload"]["headers"]["content-type"], "video/webm");
    assert_eq!(body["upload"]["headers"]["content-length"], "1048576");
    let (key, content_type, len, if_none_match, meta) =
        app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(
        (key.as_str(), content_type.as_str(), len, if_none_match),
        (
            "videos/session-42_camera.webm",
            "video/webm",
            Some(1_048_576),
            true
        )
    );
    assert_eq!(
        meta,
        vec![("started-at".to_owned(), "1795193990000".to_owned())]
    );
    let id = body["recording_id"].as_str().unwrap();
    let stored = app
        .recordings
        .items
        .lock()
        .unwrap()
        .get(id)
        .cloned()
        .unwrap();
    assert_eq!(stored.status, RecordingStatus::Uploading);
    assert_eq!(stored.owner, "user-123");
    assert_eq!(stored.stream_name.as_deref(), Some("session-42"));
    let retention = stored.expires_at * 1000 - stored.created_at_ms;
    assert!(
        (30 * 86_400_000 - 1000..=30 * 86_400_000).contains(&retention),
        "{retention}"
    );
}

#[tokio::test]
async fn recording_upload_key_lives_under_room_and_id() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-recording.json")).await;
    assert_eq!(status, 201, "{body}");
    let id = body["recording_id"].as_str().unwrap();
    assert_eq!(
        body["key"],
        format!("videos/recordings/abc123/{id}/recording-1795193990.webm")
    );
}

#[tokio::test]
async fn large_upload_gets_a_multipart_plan_that_can_be_completed() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-multipart.json")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["upload"]["method"], "MULTIPART");
    let part_size = body["upload"]["part_size"].as_u64().unwrap();
    let part_list = body["upload"]["parts"].as_array().unwrap();
    assert_eq!(part_size, 8 * MIB);
    assert_eq!(part_list.len() as u64, (300 * MIB).div_ceil(part_size));
    let id = body["recording_id"].as_str().unwrap().to_owned();

    // Resume: every part is still missing.
    let (status, missing) = call(&app, Event::fixture("get-upload-parts.json").id(&id)).await;
    assert_eq!(status, 200, "{missing}");
    assert_eq!(missing["parts"].as_array().unwrap().len(), part_list.len());

    // Incomplete part lists are refused, and nothing is completed.
    let (status, err) = call(&app, Event::fixture("post-uploads-complete.json").id(&id)).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("parts")),
        "{err}"
    );
    let all: Vec<String> = (1..=part_list.len())
        .map(|n| format!(r#"{{"number":{n},"etag":"\"e{n}\""}}"#))
        .collect();
    let body = format!(r#"{{"parts":[{}]}}"#, all.join(","));
    let (status, done) = call(
        &app,
        Event::fixture("post-uploads-complete.json")
            .id(&id)
            .body(&body),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    // Once completed, the upload is no longer open.
    let (status, _) = call(
        &app,
        Event::fixture("post-uploads-complete.json")
            .id(&id)
            .body(&body),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn multipart_upload_can_be_aborted_once() {
    let app = app(&[]);
    let (_, body) = call(&app, Event::fixture("post-uploads-multipart.json")).await;
    let id = body["recording_id"].as_str().unwrap().to_owned();
    let (status, aborted) = call(&app, Event::fixture("delete-upload.json").id(&id)).await;
    assert_eq!((status, aborted["status"].as_str()), (200, Some("aborted")));
    let (status, again) = call(&app, Event::fixture("delete-upload.json").id(&id)).await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("not_uploading"))
    );
    let (status, listed) = call(&app, Event::fixture("get-recording.json").id(&id)).await;
    assert_eq!((status, listed["status"].as_str()), (200, Some("aborted")));
    assert!(listed["download_url"].is_null());
}

#[tokio::test]
async fn bad_upload_requests_are_400_naming_the_field_and_write_nothing() {
    let app = app(&[]);
    let cases: &[(&str, &str)] = &[
        ("{not json", "body"),
        ("[]", "body"),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":"big","stream_name":"s"}"#,
            "size",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":1073741825,"stream_name":"s"}"#,
            "size",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":-1,"stream_name":"s"}"#,
            "size",
        ),
        (
            r#"{"kind":"camera","content_type":"text/html","size":10,"stream_name":"s"}"#,
            "content_type",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":10,"stream_name":"../../etc/passwd"}"#,
            "stream_name",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":10,"stream_name":"a%2Fb"}"#,
            "stream_name",
        ),
        (
            r#"{"kind":"recording","content_type":"video/webm","size":10,"room_id":"r","filename":"..\\..\\x"}"#,
            "filename",
        ),
        (
            r#"{"kind":"recording","content_type":"video/webm","size":10,"room_id":"r","filename":"a\u0000b"}"#,
            "filename",
        ),
        (
            r#"{"kind":"recording","content_type":"video/webm","size":10}"#,
            "room_id",
        ),
        (
            r#"{"kind":"camera","content_type":"video/webm","size":10,"stream_name":"s","key":"evil"}"#,
            "key",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = call(&app, Event::fixture("post-uploads-camera.json").body(body)).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"]["field"], *field, "{body}: {err}");
        assert!(err["error"]["code"].is_string() && err["error"]["message"].is_string());
    }
    let oversize = format!(
        r#"{{"kind":"camera","content_type":"video/webm","size":1,"stream_name":"{}"}}"#,
        "a".repeat(70_000)
    );
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-camera.json").body(&oversize),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    assert_eq!(writes(&app), 0);
    assert!(app.objects.signed_puts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_existing_object_is_never_overwritten() {
    let app = app(&[]);
    app.objects
        .existing
        .lock()
        .unwrap()
        .insert("videos/session-42_camera.webm".into());
    let (status, err) = call(&app, Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("already_exists"))
    );
    let (status, _) = call(
        &app,
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"session-42_camera.webm"}"#),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(writes(&app), 0);
}

#[tokio::test]
async fn seed_000_route_signs_stream_files_only() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-presigned-url.json")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["url"]
            .as_str()
            .unwrap()
            .contains("videos/session-43_camera.webm")
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "seed 000's client reads only url"
    );
    let (key, content_type, len, if_none_match, _) =
        app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(
        (key.as_str(), content_type.as_str(), len, if_none_match),
        ("videos/session-43_camera.webm", "video/webm", None, false)
    );
    let (status, _) = call(
        &app,
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"s.mp4"}"#),
    )
    .await;
    assert_eq!(status, 200);
    let before = writes(&app);
    for bad in [
        r#"{"filename":"index.html"}"#,
        r#"{"filename":"../x_camera.webm"}"#,
        r#"{"filename":"x_composited.mp4"}"#,
        r#"{"filename":"a/b.mp4"}"#,
        r#"{"name":"x.mp4"}"#,
        r#"{"filename":5}"#,
    ] {
        let (status, err) = call(&app, Event::fixture("post-presigned-url.json").body(bad)).await;
        assert_eq!(status, 400, "{bad}: {err}");
    }
    assert_eq!(writes(&app), before);
}

#[tokio::test]
async fn seed_001_route_keeps_its_shapes() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-recordings-upload-url.json")).await;
    assert_eq!(status, 200, "{body}");
    let keys: HashSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["upload_url", "recording_id", "s3_key", "expires_in"])
    );
    assert_eq!(body["expires_in"], 1800);
    assert!(
        body["s3_key"]
            .as_str()
            .unwrap()
            .starts_with("videos/recordings/abc123/")
    );
    let (_, _, len, _, _) = app.objects.signed_puts.lock().unwrap()[0].clone();
    assert_eq!(len, Some(12_345_678));
    // Optional fields default as the seed documents.
    let (status, body) = call(
        &app,
        Event::fixture("post-recordings-upload-url.json").body(r#"{"room_id":"abc123"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["s3_key"]
            .as_str()
            .unwrap()
            .ends_with("/recording.webm")
    );
    for (bad, field) in [
        (r#"{"filename":"x.webm"}"#, "room_id"),
        (
            r#"{"room_id":"abc","contentType":"image/png"}"#,
            "contentType",
        ),
        (r#"{"room_id":"abc","size":0}"#, "size"),
    ] {
        let (status, err) = call(
            &app,
            Event::fixture("post-recordings-upload-url.json").body(bad),
        )
        .await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (400, Some(field)),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn listing_is_per_owner_newest_first_and_paginated() {
    let app = app(&[("LIST_PAGE_SIZE", "2")]);
    for (sub, room) in [
        ("alice", "r1"),
        ("alice", "r2"),
        ("bob", "r1"),
        ("alice", "r1"),
    ] {
        let body = format!(
            r#"{{"kind":"recording","content_type":"video/webm","size":10,"room_id":"{room}"}}"#
        );
        let (status, _) = call(
            &app,
            Event::fixture("post-uploads-recording.json")
                .subject(Some(sub))
                .body(&body),
        )
        .await;
        assert_eq!(status, 201);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let (status, page1) = call(
        &app,
        Event::fixture("get-recordings.json")
            .subject(Some("alice"))
            .query(&[]),
    )
    .await;
    assert_eq!(status, 200, "{page1}");
    let recs = page1["recordings"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs[0]["created_at"].as_str() >= recs[1]["created_at"].as_str());
    assert!(recs.iter().all(|r| {
        r["download_url"]
            .as_str()
            .unwrap()
            .starts_with("https://s3.test/")
    }));
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = call(
        &app,
        Event::fixture("get-recordings.json")
            .subject(Some("alice"))
            .query(&[("cursor", cursor)]),
    )
    .await;
    assert_eq!(page2["recordings"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());
    let (_, r1) = call(
        &app,
        Event::fixture("get-recordings.json")
            .subject(Some("alice"))
            .query(&[("room_id", "r1")]),
    )
    .await;
    assert!(
        r1["recordings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["room_id"] == "r1")
    );
    let (status, err) = call(
        &app,
        Event::fixture("get-recordings.json").query(&[("room_id", "../x")]),
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("room_id"))
    );
    let (status, _) = call(
        &app,
        Event::fixture("get-recordings.json").query(&[("cursor", "not-a-cursor")]),
    )
    .await;
    assert_eq!(status, 400);

    // Bob cannot read Alice's recording, and learns nothing about it.
    let alice_id = recs[0]["recording_id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("bob"))
            .id(alice_id),
    )
    .await;
    assert_eq!(status, 404);
    let (status, mine) = call(
        &app,
        Event::fixture("get-recording.json")
            .subject(Some("alice"))
            .id(alice_id),
    )
    .await;
    assert_eq!(
        (status, mine["recording_id"].as_str()),
        (200, Some(alice_id))
    );
    let (status, _) = call(
        &app,
        Event::fixture("delete-upload.json")
            .subject(Some("bob"))
            .id(alice_id),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn jwt_mode_requires_authorizer_claims() {
    let app = app(&[]);
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-camera.json").subject(None),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(writes(&app), 0);
}

fn hs256_token(secret: &str, claims: serde_json::Value) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn hs256_mode_checks_signature_expiry_audience_and_issuer() {
    let secret = "0123456789abcdef0123456789abcdef";
    let app = app(&[
        ("AUTH_MODE", "hs256"),
        ("JWT_SECRET", secret),
        ("JWT_AUDIENCE", "vidpipe"),
        ("JWT_ISSUER", "https://id.example.com"),
    ]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let good = serde_json::json!({"sub": "carol", "exp": now + 600, "aud": "vidpipe", "iss": "https://id.example.com"});
    let token = hs256_token(secret, good.clone());
    let (status, body) = call(
        &app,
        Event::fixture("post-uploads-camera.json")
            .subject(None)
            .header("authorization", &format!("Bearer {token}")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["recording_id"].as_str().unwrap();
    assert_eq!(app.recordings.items.lock().unwrap()[id].owner, "carol");

    let mut expired = good.clone();
    expired["exp"] = (now - 3600).into();
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = "other".into();
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = "https://evil.example.com".into();
    let bad_tokens = [
        hs256_token("another-secret-another-secret-xx", good.clone()),
        hs256_token(secret, expired),
        hs256_token(secret, wrong_aud),
        hs256_token(secret, wrong_iss),
        hs256_token(
            secret,
            serde_json::json!({"sub": "carol", "aud": "vidpipe", "iss": "https://id.example.com"}),
        ),
        "not.a.jwt".to_owned(),
    ];
    let before = writes(&app);
    for token in bad_tokens {
        let (status, err) = call(
            &app,
            Event::fixture("post-uploads-screen.json")
                .subject(None)
                .header("authorization", &format!("Bearer {token}")),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{err}"
        );
    }
    let (status, _) = call(
        &app,
        Event::fixture("post-uploads-screen.json").subject(None),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(writes(&app), before);
}

#[tokio::test]
async fn anonymous_mode_allows_only_configured_kinds_and_no_reading() {
    let app = app(&[("AUTH_MODE", "anonymous"), ("ANONYMOUS_KINDS", "camera")]);
    let (status, _) = call(
        &app,
        Event::fixture("post-uploads-camera.json").subject(None),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &app,
        Event::fixture("post-presigned-url.json").subject(None),
    )
    .await;
    assert_eq!(status, 200);
    let before = writes(&app);
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-screen.json").subject(None),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = call(
        &app,
        Event::fixture("post-presigned-url.json")
            .subject(None)
            .body(r#"{"filename":"s.mp4"}"#),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, Event::fixture("get-recordings.json").subject(None)).await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        Event::fixture("get-recording.json").subject(None).id("x"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(writes(&app), before);
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = app(&[]);
    let response = app
        .handle(Event::fixture("options-preflight.json").request())
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        response.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let response = app
        .handle(
            Event::fixture("options-preflight.json")
                .header("origin", "https://evil.example.com")
                .request(),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = app
        .handle(Event::fixture("post-uploads-camera.json").request())
        .await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let response = app
        .handle(
            Event::fixture("post-uploads-screen.json")
                .header("origin", "https://evil.example.com")
                .request(),
        )
        .await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let open = self::app(&[("ALLOWED_ORIGINS", "*")]);
    let response = open
        .handle(
            Event::fixture("options-preflight.json")
                .header("origin", "https://any.example.com")
                .request(),
        )
        .await;
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = app(&[]);
    let (status, err) = call(&app, Event::fixture("get-recordings.json").path("/admin")).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("no_route"))
    );
    let (status, err) = call(&app, Event::fixture("get-recordings.json").method("PUT")).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, _) = call(&app, Event::fixture("get-recording.json").id("nope")).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        Event::fixture("get-recording.json").id("..%2F..%2Fetc"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_named_stage_prefix_is_ignored() {
    let app = app(&[]);
    let mut event = Event::fixture("post-uploads-camera.json").path("/prod/uploads");
    event.0["requestContext"]["stage"] = "prod".into();
    let (status, body) = call(&app, event).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_stream_upload_claims_the_stream_and_someone_else_is_refused_before_any_write() {
    let app = app(&[]);
    let (status, body) = call(&app, Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(status, 201, "{body}");
    let owner = app.streams.items.lock().unwrap()["session-42"]
        .owner
        .clone();
    assert_eq!(owner.as_deref(), Some("user-123"));

    // The same owner may sign the partner recording.
    let (status, body) = call(&app, Event::fixture("post-uploads-screen.json")).await;
    assert_eq!(status, 201, "{body}");

    let before = writes(&app);
    let signed_before = app.objects.signed_puts.lock().unwrap().len();
    let (status, err) = call(
        &app,
        Event::fixture("post-uploads-camera.json")
            .subject(Some("mallory"))
            .body(r#"{"kind":"camera","content_type":"video/webm","size":1024,"stream_name":"session-42"}"#),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("stream_taken")),
        "{err}"
    );
    assert_eq!(writes(&app), before);
    assert_eq!(app.objects.signed_puts.lock().unwrap().len(), signed_before);
}

#[tokio::test]
async fn the_legacy_stream_route_claims_the_stream_too() {
    let app = app(&[]);
    app.streams.items.lock().unwrap().insert(
        "abc123".into(),
        stream_record("abc123", Some("bob"), StreamStatus::Queued),
    );
    let (status, err) = call(
        &app,
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"abc123_camera.webm"}"#),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("stream_taken")),
        "{err}"
    );
    assert!(app.objects.signed_puts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn stream_status_is_served_to_its_owner_only() {
    let app = app(&[]);
    let mut ready = stream_record("session-42", Some("user-123"), StreamStatus::Ready);
    ready.progress = 100;
    ready.generation = 1;
    ready.job_kind = Some("single".into());
    ready.fallback_reason = Some("camera_missing".into());
    ready.output_key = Some("videos/session-42_composited.mp4".into());
    let mut failed = stream_record("s-failed", Some("user-123"), StreamStatus::Failed);
    failed.error_code = Some("1040".into());
    failed.error_message = Some("bad input".into());
    let mut processing = stream_record("s-running", Some("user-123"), StreamStatus::Processing);
    processing.progress = 46;
    {
        let mut items = app.streams.items.lock().unwrap();
        items.insert("session-42".into(), ready);
        items.insert("s-failed".into(), failed);
        items.insert("s-running".into(), processing);
        items.insert(
            "s-bob".into(),
            stream_record("s-bob", Some("bob"), StreamStatus::Ready),
        );
    }
    let (status, body) = call(&app, Event::fixture("get-stream.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"stream": "session-42", "status": "ready", "progress": 100,
            "output_url": "https://s3.test/videos/session-42_composited.mp4?get", "error": null,
            "job_kind": "single", "fallback_reason": "camera_missing"})
    );
    let get = |stream: &str| Event::fixture("get-stream.json").path(&format!("/streams/{stream}"));
    let (_, running) = call(&app, get("s-running")).await;
    assert_eq!(
        (
            running["status"].as_str(),
            running["progress"].as_u64(),
            &running["output_url"]
        ),
        (Some("processing"), Some(46), &serde_json::Value::Null)
    );
    let (_, failed) = call(&app, get("s-failed")).await;
    assert_eq!(
        failed["error"],
        serde_json::json!({"code": "1040", "message": "bad input"})
    );
    assert_eq!(failed["output_url"], serde_json::Value::Null);
    for (stream, expected) in [
        ("s-bob", 404),
        ("nobody", 404),
        ("bad%20name", 404),
        ("x_composited", 404),
    ] {
        let (status, body) = call(&app, get(stream)).await;
        assert_eq!(status, expected, "{stream}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = call(&app, Event::fixture("get-stream.json").subject(None)).await;
    assert_eq!(status, 401);
    let anonymous = self::app(&[("AUTH_MODE", "anonymous")]);
    let (status, _) = call(&anonymous, Event::fixture("get-stream.json").subject(None)).await;
    assert_eq!(status, 403);
    assert_eq!(writes(&app), 0);
}
