//! Against real local services: moto (S3 + DynamoDB, started by the test harness on a free loopback port) for the
//! whole upload flow, and an in-process s3s-fs server (which checks SigV4, as moto does not) for signature rules.

use std::collections::{BTreeSet, HashMap};
use vidpipe_presign::playback::PlaybackBackends;
use vidpipe_presign::renders::RenderBackends;
use vidpipe_presign::signing::PlaybackSigning;
use vidpipe_testkit::fakes::{
    InMemoryPlaybacks, InMemoryRenderFiles, InMemoryRenders, RecordingCanceller,
    RecordingExecutions,
};

use vidpipe_aws::dynamo::{DynamoCalls, DynamoRecordings, DynamoStreams};
use vidpipe_aws::provision::{Resources, provision};
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_core::pairing::{Arrival, Source};
use vidpipe_core::ports::{ObjectStore, StreamStatusStore, StreamStore};
use vidpipe_presign::App;
use vidpipe_presign::config::Config;
use vidpipe_testkit::config::vars;
use vidpipe_testkit::moto::{MotoServer, sdk_config_at};
use vidpipe_testkit::unique_name;

use crate::common::{Event, parts};

const MIB: usize = 1024 * 1024;

/// The API on moto, with in-memory render ports (the render routes have their own tests).
type MotoApp = App<
    S3Objects,
    DynamoRecordings,
    DynamoStreams,
    RenderBackends<InMemoryRenders, RecordingExecutions, InMemoryRenderFiles, RecordingCanceller>,
    PlaybackBackends<InMemoryPlaybacks, InMemoryRenderFiles>,
    DynamoCalls,
>;

pub(crate) struct Stack {
    pub(crate) app: MotoApp,
    pub(crate) s3: aws_sdk_s3::Client,
    ddb: aws_sdk_dynamodb::Client,
    pub(crate) bucket: String,
    pub(crate) table: String,
}

pub(crate) async fn moto_stack(vars: &[(&str, &str)]) -> Stack {
    let sdk = MotoServer::shared().sdk_config().await;
    let bucket = unique_name("uploads");
    let table = unique_name("recordings");
    let s3 = s3::client(&sdk, true);
    provision(
        &sdk,
        &s3,
        &Resources {
            bucket: bucket.clone(),
            key_prefix: "videos/".into(),
            retention_days: 30,
            allowed_origins: vec!["https://app.example.com".into()],
            table: table.clone(),
            queue: None,
        },
    )
    .await
    .expect("provision on moto");
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    Stack::new(vars, s3, bucket, ddb, table)
}

/// The API with S3 on a SigV4-checking s3s-fs server and DynamoDB on moto. moto 5.2 answers ListParts with a
/// `ListPartsResponse` root element where S3 says `ListPartsResult`, which the AWS SDK refuses; s3s-fs answers as S3.
async fn sigv4_stack(vars: &[(&str, &str)]) -> (Stack, tempfile::TempDir) {
    let (endpoint, root) = sigv4_s3("AKIDVIDPIPETEST", "vidpipe-test-secret-key").await;
    let s3_sdk = sdk_config_at(&endpoint, "AKIDVIDPIPETEST", "vidpipe-test-secret-key").await;
    let s3 = s3::client(&s3_sdk, true);
    let bucket = unique_name("uploads");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket on s3s-fs");
    let moto = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&moto);
    let table = unique_name("recordings");
    vidpipe_aws::provision::create_table(&ddb, &table)
        .await
        .expect("create table on moto");
    (Stack::new(vars, s3, bucket, ddb, table), root)
}

impl Stack {
    /// The API over `bucket` and `table`, configured by `overrides` on top of `KEY_PREFIX=videos/`.
    pub(crate) fn new(
        overrides: &[(&str, &str)],
        s3: aws_sdk_s3::Client,
        bucket: String,
        ddb: aws_sdk_dynamodb::Client,
        table: String,
    ) -> Self {
        let mut pairs = vec![
            ("BUCKET", bucket.as_str()),
            ("TABLE_NAME", table.as_str()),
            ("KEY_PREFIX", "videos/"),
            (
                "PLAYBACK_SIGNING_SECRET",
                "0123456789abcdef0123456789abcdef",
            ),
        ];
        pairs.retain(|(name, _)| !overrides.iter().any(|(o, _)| o == name));
        pairs.extend_from_slice(overrides);
        let config = Config::from_env(vars(&pairs)).unwrap();
        let app = App {
            signing: PlaybackSigning::from_values(&config).unwrap(),
            config,
            objects: S3Objects::new(s3.clone(), bucket.clone()),
            recordings: DynamoRecordings::new(ddb.clone(), table.clone()),
            streams: DynamoStreams::new(ddb.clone(), table.clone(), 30),
            renders: RenderBackends::default(),
            playback: PlaybackBackends::default(),
            calls: DynamoCalls::new(ddb.clone(), table.clone()),
        };
        Stack {
            app,
            s3,
            ddb,
            bucket,
            table,
        }
    }

    pub(crate) async fn call(&self, event: Event) -> (u16, serde_json::Value) {
        parts(self.app.handle(event.request()).await)
    }

    /// Everything S3 and DynamoDB hold for this stack: object keys, open multipart uploads, table items.
    async fn snapshot(&self) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
        let objects = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        let keys = objects
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        let uploads = self
            .s3
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        let open = uploads
            .uploads()
            .iter()
            .filter_map(|u| u.upload_id().map(str::to_owned))
            .collect();
        let scan = self
            .ddb
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        let items = scan
            .items()
            .iter()
            .map(|i| {
                format!(
                    "{:?}",
                    i.iter().collect::<std::collections::BTreeMap<_, _>>()
                )
            })
            .collect();
        (keys, open, items)
    }
}

fn camera_body(stream: &str, size: usize) -> String {
    format!(
        r#"{{"kind":"camera","content_type":"video/webm","size":{size},"stream_name":"{stream}","started_at":1795193990000}}"#
    )
}

/// PUTs `bytes` to a presigned upload with exactly the headers the API returned.
async fn put_signed(upload: &serde_json::Value, bytes: Vec<u8>) -> reqwest::Response {
    let mut put = reqwest::Client::new().put(upload["url"].as_str().unwrap());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" {
            put = put.header(name, value.as_str().unwrap());
        }
    }
    put.body(bytes).send().await.unwrap()
}

fn media_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn presign_put_list_and_download_round_trip_on_moto() {
    let stack = moto_stack(&[]).await;
    let bytes = media_bytes(64 * 1024, 7);
    let (status, created) = stack
        .call(
            Event::fixture("post-uploads-camera.json")
                .body(&camera_body("round-trip", bytes.len())),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let upload = &created["upload"];
    assert_eq!(upload["headers"]["if-none-match"], "*");
    assert_eq!(upload["headers"]["x-amz-meta-started-at"], "1795193990000");
    let signed_headers = url_query(upload["url"].as_str().unwrap())["X-Amz-SignedHeaders"].clone();
    for h in [
        "content-length",
        "content-type",
        "if-none-match",
        "x-amz-meta-started-at",
    ] {
        assert!(
            signed_headers.split(';').any(|s| s == h),
            "{h} is not signed: {signed_headers}"
        );
    }

    let response = put_signed(upload, bytes.clone()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    let head = stack
        .s3
        .head_object()
        .bucket(&stack.bucket)
        .key("videos/round-trip_camera.webm")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("video/webm"));
    assert_eq!(head.content_length(), Some(bytes.len() as i64));
    assert_eq!(head.metadata().unwrap()["started-at"], "1795193990000");

    let (status, listed) = stack
        .call(Event::fixture("get-recordings.json").query(&[]))
        .await;
    assert_eq!(status, 200, "{listed}");
    let mine = listed["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recording_id"] == created["recording_id"])
        .expect("the new recording is listed")
        .clone();
    assert_eq!(mine["key"], "videos/round-trip_camera.webm");
    let downloaded = reqwest::get(mine["download_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    // The key is taken now: the API refuses to sign it again.
    let (status, err) = stack
        .call(Event::fixture("post-uploads-camera.json").body(&camera_body("round-trip", 10)))
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("already_exists"))
    );
}

#[tokio::test]
async fn moto_honours_if_none_match_on_a_replayed_put() {
    // What the local emulator does with the signed `If-None-Match: *` (documented in the README): moto refuses a
    // second PUT of the same URL once the object exists, as S3 does, with 412 Precondition Failed.
    let stack = moto_stack(&[]).await;
    let bytes = media_bytes(1000, 1);
    let (_, created) = stack
        .call(Event::fixture("post-uploads-camera.json").body(&camera_body("replay", 1000)))
        .await;
    assert_eq!(
        put_signed(&created["upload"], bytes.clone()).await.status(),
        200
    );
    let replay = put_signed(&created["upload"], media_bytes(1000, 2)).await;
    assert_eq!(replay.status(), 412, "{:?}", replay.text().await);
    let object = stack
        .s3
        .get_object()
        .bucket(&stack.bucket)
        .key("videos/replay_camera.webm")
        .send()
        .await
        .unwrap();
    assert_eq!(
        object.body.collect().await.unwrap().to_vec(),
        bytes,
        "the first upload was kept"
    );
}

#[tokio::test]
async fn multipart_upload_of_three_parts_with_resume_on_a_signature_checking_s3() {
    let (stack, _root) = sigv4_stack(&[
        ("MULTIPART_THRESHOLD", "5242880"),
        ("MULTIPART_PART_SIZE", "5242880"),
    ])
    .await;
    let bytes = media_bytes(11 * MIB, 3);
    let body = format!(
        r#"{{"kind":"recording","content_type":"video/webm","size":{},"room_id":"room-7","filename":"call.webm"}}"#,
        bytes.len()
    );
    let (status, created) = stack
        .call(Event::fixture("post-uploads-multipart.json").body(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    let plan = &created["upload"];
    assert_eq!(plan["method"], "MULTIPART");
    assert_eq!(plan["part_size"], 5 * MIB);
    let planned = plan["parts"].as_array().unwrap();
    assert_eq!(planned.len(), 3);
    let id = created["recording_id"].as_str().unwrap().to_owned();
    let chunk = |n: usize| bytes[(n - 1) * 5 * MIB..(n * 5 * MIB).min(bytes.len())].to_vec();

    let http = reqwest::Client::new();
    let mut etags = HashMap::new();
    for n in [1usize, 3] {
        let response = http
            .put(planned[n - 1]["url"].as_str().unwrap())
            .body(chunk(n))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        etags.insert(n, response.headers()["etag"].to_str().unwrap().to_owned());
    }

    // Resume: only part 2 is missing, with a fresh URL.
    let (status, resume) = stack
        .call(Event::fixture("get-upload-parts.json").id(&id))
        .await;
    assert_eq!(status, 200, "{resume}");
    let missing = resume["parts"].as_array().unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["number"], 2);
    let uploaded: Vec<u64> = resume["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(uploaded, vec![1, 3]);
    let response = http
        .put(missing[0]["url"].as_str().unwrap())
        .body(chunk(2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    etags.insert(2, response.headers()["etag"].to_str().unwrap().to_owned());

    let parts: Vec<serde_json::Value> = (1..=3)
        .map(|n| serde_json::json!({"number": n, "etag": etags[&n]}))
        .collect();
    let complete = serde_json::json!({ "parts": parts }).to_string();
    let (status, done) = stack
        .call(
            Event::fixture("post-uploads-complete.json")
                .id(&id)
                .body(&complete),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let key = created["key"].as_str().unwrap();
    let object = stack
        .s3
        .get_object()
        .bucket(&stack.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("video/webm"));
    assert_eq!(object.body.collect().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn multipart_abort_drops_the_upload_on_moto() {
    let stack = moto_stack(&[
        ("MULTIPART_THRESHOLD", "5242880"),
        ("MULTIPART_PART_SIZE", "5242880"),
    ])
    .await;
    let body =
        r#"{"kind":"recording","content_type":"video/webm","size":6000000,"room_id":"room-8"}"#;
    let (_, created) = stack
        .call(Event::fixture("post-uploads-multipart.json").body(body))
        .await;
    let id = created["recording_id"].as_str().unwrap().to_owned();
    assert_eq!(stack.snapshot().await.1.len(), 1);
    let (status, _) = stack
        .call(Event::fixture("delete-upload.json").id(&id))
        .await;
    assert_eq!(status, 200);
    assert!(
        stack.snapshot().await.1.is_empty(),
        "the multipart upload is gone"
    );
    let (status, _) = stack
        .call(Event::fixture("get-upload-parts.json").id(&id))
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn rejected_requests_leave_s3_and_dynamodb_untouched_on_moto() {
    let stack = moto_stack(&[
        ("MULTIPART_THRESHOLD", "5242880"),
        ("MULTIPART_PART_SIZE", "5242880"),
    ])
    .await;
    // One real upload in progress and one existing object (its arrival recorded, as the compositor does), so
    // conflicts have something to hit.
    let taken = stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key("videos/taken.mp4")
        .body(vec![1u8; 10].into())
        .send()
        .await
        .unwrap();
    let arrival = Arrival {
        key: "videos/taken.mp4".into(),
        size: 10,
        etag: taken.e_tag().unwrap().trim_matches('"').to_owned(),
        arrived_at_ms: 1_795_194_000_000,
    };
    stack
        .app
        .streams
        .record_arrival("taken", Source::Screen, &arrival, arrival.arrived_at_ms)
        .await
        .unwrap();
    let big =
        r#"{"kind":"recording","content_type":"video/webm","size":6000000,"room_id":"room-9"}"#;
    let (_, open) = stack
        .call(Event::fixture("post-uploads-multipart.json").body(big))
        .await;
    let open_id = open["recording_id"].as_str().unwrap().to_owned();
    let before = stack.snapshot().await;

    let bad: Vec<Event> = vec![
        Event::fixture("post-uploads-camera.json").body("{oops"),
        Event::fixture("post-uploads-camera.json")
            .body(r#"{"kind":"camera","content_type":"video/webm","size":1.5,"stream_name":"s"}"#),
        Event::fixture("post-uploads-camera.json").body(&camera_body("x%2F..%2Fy", 10)),
        Event::fixture("post-uploads-camera.json").body(&camera_body("s", 6 * 1024 * MIB)),
        Event::fixture("post-uploads-camera.json").subject(None),
        Event::fixture("post-uploads-screen.json").body(
            r#"{"kind":"screen","content_type":"video/mp4","size":10,"stream_name":"taken"}"#,
        ),
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"taken.mp4"}"#),
        Event::fixture("post-presigned-url.json").body(r#"{"filename":"../../secret.mp4"}"#),
        Event::fixture("post-recordings-upload-url.json").body(r#"{"room_id":"a b"}"#),
        Event::fixture("post-uploads-complete.json")
            .id(&open_id)
            .body(r#"{"parts":[{"number":1,"etag":"x"}]}"#),
        Event::fixture("post-uploads-complete.json")
            .id(&open_id)
            .subject(Some("mallory"))
            .body(r#"{"parts":[]}"#),
        Event::fixture("delete-upload.json")
            .id(&open_id)
            .subject(Some("mallory")),
        Event::fixture("delete-upload.json").id("00000000-0000-0000-0000-000000000000"),
    ];
    for event in bad {
        let (status, body) = stack.call(event).await;
        assert!((400..500).contains(&status), "{status} {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    assert_eq!(stack.snapshot().await, before);
}

fn url_query(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// An S3 server on a temporary folder that checks SigV4 like S3 does (s3s-fs), on a free loopback port.
async fn sigv4_s3(access: &str, secret: &str) -> (String, tempfile::TempDir) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    let root = tempfile::tempdir().unwrap();
    let mut builder =
        s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(root.path()).unwrap());
    builder.set_auth(s3s::auth::SimpleAuth::from_single(access, secret));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (endpoint, root)
}

#[tokio::test]
async fn a_signature_checking_s3_refuses_puts_that_differ_from_what_was_signed() {
    let (endpoint, _root) = sigv4_s3("AKIDVIDPIPETEST", "vidpipe-test-secret-key").await;
    let sdk = sdk_config_at(&endpoint, "AKIDVIDPIPETEST", "vidpipe-test-secret-key").await;
    let client = s3::client(&sdk, true);
    client
        .create_bucket()
        .bucket("signed")
        .send()
        .await
        .unwrap();
    let objects = S3Objects::new(client.clone(), "signed");
    let spec = |key: &'static str| vidpipe_core::ports::PutSpec {
        key,
        content_type: "video/webm",
        content_length: Some(1000),
        metadata: &[],
        if_none_match: false,
        expires_in: std::time::Duration::from_secs(600),
    };
    let http = reqwest::Client::new();
    let send = |url: String, content_type: &'static str, len: usize| {
        let http = http.clone();
        async move {
            http.put(url)
                .header("content-type", content_type)
                .body(vec![0u8; len])
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    let signed = objects.presign_put(&spec("a.webm")).await.unwrap();
    assert_eq!(
        send(signed.url.clone(), "video/mp4", 1000).await,
        403,
        "another Content-Type is refused"
    );
    assert_eq!(
        send(signed.url.clone(), "video/webm", 999).await,
        403,
        "another length is refused"
    );
    let tampered = signed.url.replace("a.webm", "b.webm");
    assert_eq!(
        send(tampered, "video/webm", 1000).await,
        403,
        "another key is refused"
    );
    assert_eq!(
        send(signed.url.clone(), "video/webm", 1000).await,
        200,
        "exactly what was signed is accepted"
    );

    let short = vidpipe_core::ports::PutSpec {
        expires_in: std::time::Duration::from_secs(1),
        ..spec("c.webm")
    };
    let expiring = objects.presign_put(&short).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        send(expiring.url, "video/webm", 1000).await,
        403,
        "an expired URL is refused"
    );
}

#[tokio::test]
async fn every_sample_event_is_answered() {
    // The events in events/presign are what `cargo lambda invoke vidpipe-presign --data-file ...` sends; run each one
    // through the handler (S3 on s3s-fs, for ListParts; DynamoDB on moto). Events naming RECORDING_ID get the id of a
    // real multipart upload.
    let (stack, _root) = sigv4_stack(&[
        ("MULTIPART_THRESHOLD", "16777216"),
        ("MULTIPART_PART_SIZE", "5242880"),
        ("ALLOWED_ORIGINS", "https://app.example.com"),
        (
            "RENDER_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:vidpipe-render",
        ),
    ])
    .await;
    let (status, open) = stack
        .call(Event::fixture("post-uploads-multipart.json").body(
            r#"{"kind":"recording","content_type":"video/webm","size":20000000,"room_id":"abc123"}"#,
        ))
        .await;
    assert_eq!(status, 201);
    let id = open["recording_id"].as_str().unwrap().to_owned();
    // The sample stream exists once one of its uploads is signed, the sample call once its track is.
    let (status, _) = stack.call(Event::fixture("post-uploads-camera.json")).await;
    assert_eq!(status, 201);
    let (status, _) = stack.call(Event::fixture("post-uploads-track.json")).await;
    assert_eq!(status, 201);
    let mut names: Vec<String> = std::fs::read_dir(crate::common::fixture_path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 25, "{names:?}");
    for name in names {
        let expected = match name.as_str() {
            "post-uploads-complete.json" => 400, // its sample ETag is not one S3 issued
            "delete-upload.json" => 200,
            "options-preflight.json" => 204,
            "get-upload-parts.json" => 200,
            // They sort before post-renders.json: the sample render is not there yet.
            "delete-render.json" | "get-render.json" => 404,
            // Its sources are assets in events/local.env's bucket, not in this test's (the handler tests post it
            // with that bucket): refused by field, as another bucket's objects are.
            "post-renders.json" => 400,
            // The sample's signature is not this stack's key's.
            "get-play.json" => 403,
            "post-composition-token.json" => 201,
            // Its token is a placeholder: mint one with post-composition-token.json and put it in the header.
            "put-composition.json" | "post-preview.json" | "post-export.json" => 401,
            n if n.starts_with("post-uploads-") => 201,
            _ => 200,
        };
        // Abort, then delete, last, so the other events still find the upload open.
        if name == "delete-upload.json" || name == "delete-recording.json" {
            continue;
        }
        let (status, body) = stack.call(Event::fixture(&name).id(&id)).await;
        assert_eq!(status, expected, "{name}: {body}");
    }
    for name in ["delete-upload.json", "delete-recording.json"] {
        let (status, body) = stack.call(Event::fixture(name).id(&id)).await;
        assert_eq!(status, 200, "{name}: {body}");
    }
    // The recording's item is gone from DynamoDB.
    let (status, body) = stack
        .call(Event::fixture("get-recording.json").id(&id))
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn stream_status_and_ownership_on_moto() {
    let stack = moto_stack(&[]).await;
    let (status, created) = stack
        .call(Event::fixture("post-uploads-camera.json").body(&camera_body("status-rt", 1024)))
        .await;
    assert_eq!(status, 201, "{created}");
    let get = || Event::fixture("get-stream.json").path("/streams/status-rt");
    let (status, queued) = stack.call(get()).await;
    assert_eq!(status, 200, "{queued}");
    assert_eq!(
        (queued["status"].as_str(), queued["progress"].as_u64()),
        (Some("queued"), Some(0))
    );
    assert_eq!(queued["output_url"], serde_json::Value::Null);

    // Someone else can neither sign an upload for the stream nor read it; the refusal writes nothing.
    let before = stack.snapshot().await;
    let screen =
        r#"{"kind":"screen","content_type":"video/mp4","size":2048,"stream_name":"status-rt"}"#;
    let (status, err) = stack
        .call(
            Event::fixture("post-uploads-screen.json")
                .subject(Some("mallory"))
                .body(screen),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("stream_taken")),
        "{err}"
    );
    assert_eq!(stack.snapshot().await, before);
    let (status, _) = stack.call(get().subject(Some("mallory"))).await;
    assert_eq!(status, 404);

    // The notifier marks the stream ready (as it does after COMPLETE); the output is in the bucket.
    let output = b"composited bytes".to_vec();
    stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key("videos/status-rt_composited.mp4")
        .body(output.clone().into())
        .send()
        .await
        .unwrap();
    stack
        .ddb
        .update_item()
        .table_name(&stack.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("STREAM#status-rt".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("STREAM".into()),
        )
        .update_expression("SET #s = :ready, progress = :p, output_key = :k, generation = :g")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(
            ":ready",
            aws_sdk_dynamodb::types::AttributeValue::S("ready".into()),
        )
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::N("100".into()),
        )
        .expression_attribute_values(
            ":k",
            aws_sdk_dynamodb::types::AttributeValue::S("videos/status-rt_composited.mp4".into()),
        )
        .expression_attribute_values(":g", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let (status, ready) = stack.call(get()).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    let downloaded = reqwest::get(ready["output_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), output);
}

#[tokio::test]
async fn a_first_sign_that_fails_gives_the_stream_back_on_moto() {
    let stack = moto_stack(&[("AUTH_MODE", "anonymous")]).await;
    // The recordings store fails (its table does not exist) after the stream was claimed with a new capability,
    // which then never reaches the client: the claim is undone, so the respondent's retry claims the stream.
    let broken: MotoApp = App {
        signing: PlaybackSigning::from_values(&stack.app.config).unwrap(),
        config: stack.app.config.clone(),
        objects: S3Objects::new(stack.s3.clone(), stack.bucket.clone()),
        recordings: DynamoRecordings::new(stack.ddb.clone(), unique_name("missing")),
        streams: DynamoStreams::new(stack.ddb.clone(), stack.table.clone(), 30),
        renders: RenderBackends::default(),
        playback: PlaybackBackends::default(),
        calls: DynamoCalls::new(stack.ddb.clone(), stack.table.clone()),
    };
    let survey = || Event::fixture("post-presigned-url.json").subject(None);
    let (status, err) = parts(broken.handle(survey().request()).await);
    assert_eq!(status, 500, "{err}");
    assert!(err.get("stream_capability").is_none());
    let record = stack
        .app
        .streams
        .get_status("session-43")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((record.owner, record.capability), (None, None));
    let (status, body) = stack.call(survey()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["stream_capability"].is_string(), "{body}");
}

/// What `cargo lambda watch` 1.9 passed the function for `POST /lambda-url/vidpipe-presign/presigned-url` (captured;
/// the headers are a browser's).
fn function_url_event() -> Event {
    Event(
        serde_json::from_str(include_str!("../fixtures/function-url-presigned-url.json")).unwrap(),
    )
}

/// A function URL's path is the path after the host. `cargo lambda watch` serves function URLs at
/// `/lambda-url/{function}/...` and passes the function the rest (`rawPath` `/presigned-url`, stage `$default`, and
/// a top-level `httpMethod` of GET whatever the method); on AWS the URL's host names the function. The survey client
/// signs its camera file there in anonymous mode and PUTs it with only `Content-Type: video/webm`, which a
/// signature-checking S3 takes.
#[tokio::test]
async fn the_survey_client_signs_and_uploads_through_the_function_url() {
    let (stack, _root) = sigv4_stack(&[
        ("AUTH_MODE", "anonymous"),
        ("ALLOWED_ORIGINS", "https://app.example.com"),
    ])
    .await;
    let (status, body) = stack.call(function_url_event()).await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().unwrap();
    assert_eq!(
        url_query(url)["X-Amz-Expires"],
        "300",
        "LEGACY_UPLOAD_URL_TTL_SECONDS"
    );
    let put = reqwest::Client::new()
        .put(url)
        .header("content-type", "video/webm")
        .body(media_bytes(4096, 7))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    // The first sign of the stream returned its capability: the stream's screen file needs it.
    let capability = body["stream_capability"].as_str().unwrap();
    let screen = || function_url_event().body(r#"{"filename":"session-44.mp4"}"#);
    let (status, err) = stack.call(screen()).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("capability_required")),
        "{err}"
    );
    let (status, body) = stack
        .call(screen().header("x-stream-capability", capability))
        .await;
    assert_eq!(status, 200, "{body}");
    let head = stack
        .s3
        .head_object()
        .bucket(&stack.bucket)
        .key("videos/session-44_camera.webm")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(4096));

    // As Lambda sends it: no API Gateway leftovers, the URL id as API id and domain prefix.
    let mut on_aws = function_url_event().body(r#"{"filename":"session-45_camera.webm"}"#);
    let event = on_aws.0.as_object_mut().unwrap();
    for leftover in [
        "type",
        "methodArn",
        "httpMethod",
        "identitySource",
        "authorizationToken",
        "resource",
    ] {
        event.remove(leftover);
    }
    let host = "abcdefghij.lambda-url.us-east-1.on.aws";
    on_aws.0["headers"]["host"] = host.into();
    on_aws.0["requestContext"]["domainName"] = host.into();
    on_aws.0["requestContext"]["domainPrefix"] = "abcdefghij".into();
    on_aws.0["requestContext"]["apiId"] = "abcdefghij".into();
    on_aws.0["requestContext"]["accountId"] = "123456789012".into();
    let (status, body) = stack.call(on_aws).await;
    assert_eq!(status, 200, "{body}");

    // The preflight reaches the function (run the watch with --disable-cors) and its own policy answers it.
    let preflight = function_url_event()
        .method("OPTIONS")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type");
    let response = stack.app.handle(preflight.request()).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let elsewhere = function_url_event()
        .method("OPTIONS")
        .header("origin", "http://127.0.0.1:8123");
    assert_eq!(stack.app.handle(elsewhere.request()).await.status(), 403);
}
