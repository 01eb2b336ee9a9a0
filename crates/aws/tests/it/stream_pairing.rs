//! The compositor's side of the stream item, the recordings table's `mark_uploaded` and S3 HEAD metadata against a real moto server.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use vidpipe_aws::dynamo::{DynamoRecordings, DynamoStreams};
use vidpipe_aws::s3::{self, S3Objects};
use vidpipe_core::jobevent::{CANCELED_CODE, StreamUpdate};
use vidpipe_core::pairing::{
    Arrival, Claim, ClaimOutcome, OutputKind, Source, StreamFailure, StreamState, Submission,
};
use vidpipe_core::ports::{
    JobEventOutcome, ObjectStore, RecordingStore, StoreError, StreamStatusStore, StreamStore,
};
use vidpipe_core::recording::{Recording, RecordingStatus};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_core::upload::UploadKind;
use vidpipe_testkit::{moto::MotoServer, unique_name};

const NOW: u64 = 1_800_000_000_000;
const LEASE: u64 = 60_000;

async fn table() -> (aws_sdk_dynamodb::Client, String) {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let name = unique_name("streams");
    vidpipe_aws::provision::create_table(&ddb, &name)
        .await
        .expect("table");
    (ddb, name)
}

async fn streams() -> (DynamoStreams, aws_sdk_dynamodb::Client, String) {
    let (ddb, name) = table().await;
    (DynamoStreams::new(ddb.clone(), &name, 30), ddb, name)
}

/// `stream`'s item as stored (strongly consistent read).
pub(crate) async fn raw_item(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    stream: &str,
) -> HashMap<String, AttributeValue> {
    ddb.get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("STREAM#{stream}")))
        .key("sk", AttributeValue::S("STREAM".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the stream item exists")
}

fn arrival(key: &str, etag: &str) -> Arrival {
    Arrival {
        key: key.into(),
        size: 1234,
        etag: etag.into(),
        arrived_at_ms: NOW,
    }
}

fn composite(generation: u64) -> Submission {
    Submission {
        kind: OutputKind::Composite,
        source: None,
        generation,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: None,
    }
}

async fn both_arrived(table: &DynamoStreams, stream: &str) -> StreamState {
    table
        .record_arrival(stream, Source::Screen, &arrival("s.mp4", "e1"), NOW)
        .await
        .unwrap();
    table
        .record_arrival(stream, Source::Camera, &arrival("s_camera.webm", "e2"), NOW)
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn arrivals_are_recorded_once_per_etag_and_create_a_queued_item_with_ttl() {
    let (table, ddb, name) = streams().await;
    let (state, new) = table
        .record_arrival("s1", Source::Screen, &arrival("v/s1.mp4", "e1"), NOW)
        .await
        .unwrap();
    assert!(new);
    assert_eq!(state.stream, "s1");
    assert_eq!(state.status, Some(StreamStatus::Queued));
    assert_eq!(state.screen, Some(arrival("v/s1.mp4", "e1")));
    assert_eq!(state.camera, None);
    assert_eq!(state.generation, 0);

    let later = Arrival {
        arrived_at_ms: NOW + 5,
        ..arrival("v/s1.mp4", "e1")
    };
    let (again, new) = table
        .record_arrival("s1", Source::Screen, &later, NOW + 5)
        .await
        .unwrap();
    assert!(!new, "the same etag is a duplicate");
    assert_eq!(
        again.screen.unwrap().arrived_at_ms,
        NOW,
        "a duplicate changes nothing"
    );

    let (replaced, new) = table
        .record_arrival("s1", Source::Screen, &arrival("v/s1.mp4", "e9"), NOW + 9)
        .await
        .unwrap();
    assert!(new, "a re-upload is a new arrival");
    assert_eq!(replaced.screen.unwrap().etag, "e9");

    let item = raw_item(&ddb, &name, "s1").await;
    let ttl: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, (NOW + 9) / 1000 + 30 * 86_400);
    assert_eq!(item["screen_size"].as_n().unwrap(), "1234");
    assert_eq!(item["screen_arrived_at"].as_n().unwrap(), &NOW.to_string());
}

#[tokio::test]
async fn an_arrival_keeps_an_owner_and_a_status_already_there() {
    let (table, ddb, name) = streams().await;
    ddb.put_item()
        .table_name(&name)
        .item("pk", AttributeValue::S("STREAM#s2".into()))
        .item("sk", AttributeValue::S("STREAM".into()))
        .item("stream", AttributeValue::S("s2".into()))
        .item("owner", AttributeValue::S("user-1".into()))
        .item("status", AttributeValue::S("ready".into()))
        .send()
        .await
        .unwrap();
    let (state, _) = table
        .record_arrival("s2", Source::Camera, &arrival("s2_camera.webm", "c"), NOW)
        .await
        .unwrap();
    assert_eq!(state.status, Some(StreamStatus::Ready));
    let item = raw_item(&ddb, &name, "s2").await;
    assert_eq!(item["owner"].as_s().unwrap(), "user-1");
}

fn taken(outcome: ClaimOutcome) -> bool {
    matches!(outcome, ClaimOutcome::Taken { .. })
}

#[tokio::test]
async fn one_claim_wins_and_an_expired_claim_can_be_taken_over() {
    let (table, _, _) = streams().await;
    both_arrived(&table, "s3").await;
    assert!(taken(
        table
            .claim("s3", &composite(1), "a", NOW, LEASE)
            .await
            .unwrap()
    ));
    assert_eq!(
        table
            .claim("s3", &composite(1), "b", NOW + 1, LEASE)
            .await
            .unwrap(),
        ClaimOutcome::HeldElsewhere {
            until_ms: NOW + LEASE
        }
    );
    let state = table.get("s3").await.unwrap().unwrap();
    let claim = state.claim.unwrap();
    assert_eq!(
        (claim.token.as_str(), claim.expires_at_ms),
        ("a", NOW + LEASE)
    );
    // After the lease, another handler takes it over, told of the claim it replaced (the job's intent: who, when,
    // which generation); the first one can no longer record its job.
    assert_eq!(
        table
            .claim("s3", &composite(1), "b", NOW + LEASE, LEASE)
            .await
            .unwrap(),
        ClaimOutcome::Taken {
            taken_over: Some(Claim {
                token: "a".into(),
                claimed_at_ms: NOW,
                expires_at_ms: NOW + LEASE,
                generation: 1,
            })
        }
    );
    let err = table
        .record_submitted("s3", "a", &composite(1), "job-a", NOW + LEASE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    table
        .record_submitted("s3", "b", &composite(1), "job-b", NOW + LEASE)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_claims_leave_exactly_one_holder_who_alone_records_the_job() {
    let (table, _, _) = streams().await;
    both_arrived(&table, "s4").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let table = table.clone();
        tasks.spawn(async move {
            let token = format!("t{i}");
            let won = table
                .claim("s4", &composite(1), &token, NOW, LEASE)
                .await
                .unwrap();
            (token, won)
        });
    }
    let results = tasks.join_all().await;
    // DynamoDB lets exactly one conditional claim through. moto does not serialize concurrent conditional writes,
    // so more than one may "win" there; what must hold either way is that one claim is stored, and only its holder
    // can record the job.
    let winners: Vec<String> = results
        .into_iter()
        .filter_map(|(token, won)| matches!(won, ClaimOutcome::Taken { .. }).then_some(token))
        .collect();
    assert!(!winners.is_empty());
    let holder = table.get("s4").await.unwrap().unwrap().claim.unwrap().token;
    assert!(winners.contains(&holder), "{holder} among {winners:?}");
    let mut recorded = 0;
    for token in &winners {
        match table
            .record_submitted("s4", token, &composite(1), "job-1", NOW)
            .await
        {
            Ok(()) => recorded += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn a_claim_made_on_a_stale_generation_is_refused() {
    let (table, _, _) = streams().await;
    both_arrived(&table, "s5").await;
    assert!(taken(
        table
            .claim("s5", &composite(1), "a", NOW, LEASE)
            .await
            .unwrap()
    ));
    table
        .record_submitted("s5", "a", &composite(1), "job-1", NOW)
        .await
        .unwrap();
    assert_eq!(
        table
            .claim("s5", &composite(1), "late", NOW, LEASE)
            .await
            .unwrap(),
        ClaimOutcome::GenerationMoved,
        "generation 1 exists: a decision made on generation 0 is stale"
    );
    assert!(taken(
        table
            .claim("s5", &composite(2), "next", NOW, LEASE)
            .await
            .unwrap()
    ));
}

#[tokio::test]
async fn a_submitted_job_starts_a_new_generation_and_clears_the_previous_outcome() {
    let (table, ddb, name) = streams().await;
    table
        .record_arrival("s6", Source::Screen, &arrival("s6.mp4", "e1"), NOW)
        .await
        .unwrap();
    let single = Submission {
        kind: OutputKind::Single,
        source: Some(Source::Screen),
        generation: 1,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: None,
    };
    assert!(taken(
        table.claim("s6", &single, "a", NOW, LEASE).await.unwrap()
    ));
    table
        .record_submitted("s6", "a", &single, "job-1", NOW)
        .await
        .unwrap();
    let item = raw_item(&ddb, &name, "s6").await;
    assert_eq!(item["fallback_reason"].as_s().unwrap(), "camera_missing");
    assert_eq!(item["job_kind"].as_s().unwrap(), "single");
    // The notifier finishes generation 1.
    ddb.update_item()
        .table_name(&name)
        .key("pk", AttributeValue::S("STREAM#s6".into()))
        .key("sk", AttributeValue::S("STREAM".into()))
        .update_expression("SET #s = :ready, output_key = :k, progress = :p, error_code = :c")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":ready", AttributeValue::S("ready".into()))
        .expression_attribute_values(":k", AttributeValue::S("s6_composited.mp4".into()))
        .expression_attribute_values(":p", AttributeValue::N("100".into()))
        .expression_attribute_values(":c", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap();
    let state = table
        .record_arrival(
            "s6",
            Source::Camera,
            &arrival("s6_camera.webm", "e2"),
            NOW + 1,
        )
        .await
        .unwrap()
        .0;
    assert_eq!(state.status, Some(StreamStatus::Ready));
    assert!(taken(
        table
            .claim("s6", &composite(2), "b", NOW + 1, LEASE)
            .await
            .unwrap()
    ));
    table
        .record_submitted("s6", "b", &composite(2), "job-2", NOW + 2)
        .await
        .unwrap();
    let item = raw_item(&ddb, &name, "s6").await;
    assert_eq!(item["generation"].as_n().unwrap(), "2");
    assert_eq!(item["status"].as_s().unwrap(), "processing");
    assert_eq!(item["progress"].as_n().unwrap(), "0");
    assert_eq!(item["job_id"].as_s().unwrap(), "job-2");
    assert_eq!(item["job_kind"].as_s().unwrap(), "composite");
    for cleared in [
        "output_key",
        "error_code",
        "error_message",
        "fallback_reason",
        "claim_token",
        "claim_expires_at",
    ] {
        assert!(!item.contains_key(cleared), "{cleared} is cleared");
    }
    let state = table.get("s6").await.unwrap().unwrap();
    assert_eq!(state.generation, 2);
    assert_eq!(state.job_kind, Some(OutputKind::Composite));
    assert_eq!(state.job_id.as_deref(), Some("job-2"));
}

#[tokio::test]
async fn a_released_claim_can_be_taken_at_once_and_a_failure_is_recorded_by_the_holder() {
    let (table, ddb, name) = streams().await;
    both_arrived(&table, "s7").await;
    assert!(taken(
        table
            .claim("s7", &composite(1), "a", NOW, LEASE)
            .await
            .unwrap()
    ));
    assert!(table.release("s7", "a").await.unwrap());
    assert!(!table.release("s7", "a").await.unwrap(), "already released");
    assert!(taken(
        table
            .claim("s7", &composite(1), "b", NOW + 1, LEASE)
            .await
            .unwrap()
    ));
    let failure = StreamFailure {
        code: "recording_unusable".into(),
        message: "camera: not a video".into(),
    };
    let err = table
        .mark_failed("s7", "a", &failure, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    table.mark_failed("s7", "b", &failure, NOW).await.unwrap();
    let item = raw_item(&ddb, &name, "s7").await;
    assert_eq!(item["status"].as_s().unwrap(), "failed");
    assert_eq!(item["error_code"].as_s().unwrap(), "recording_unusable");
    assert_eq!(item["error_message"].as_s().unwrap(), "camera: not a video");
    assert!(!item.contains_key("claim_token"));
}

#[tokio::test]
async fn a_recording_is_marked_uploaded_with_size_and_etag_once_or_twice() {
    let (ddb, name) = table().await;
    let recordings = DynamoRecordings::new(ddb.clone(), &name);
    let recording = Recording {
        recording_id: "r1".into(),
        owner: "u1".into(),
        kind: UploadKind::Recording,
        key: "v/recordings/room/r1/a.webm".into(),
        content_type: "video/webm".into(),
        size: 0,
        room_id: Some("room".into()),
        stream_name: None,
        filename: Some("a.webm".into()),
        started_at: None,
        status: RecordingStatus::Uploading,
        created_at_ms: NOW,
        expires_at: NOW / 1000,
        multipart: None,
    };
    recordings.put_new(&recording).await.unwrap();
    recordings
        .mark_uploaded("r1", 4321, "etag-1")
        .await
        .unwrap();
    recordings
        .mark_uploaded("r1", 4321, "etag-1")
        .await
        .unwrap();
    let stored = recordings.get("r1").await.unwrap().unwrap();
    assert_eq!(stored.status, RecordingStatus::Uploaded);
    assert_eq!(stored.size, 4321);
    let err = recordings
        .mark_uploaded("missing", 1, "e")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
}

#[tokio::test]
async fn head_reads_size_etag_and_user_metadata() {
    let sdk = MotoServer::shared().sdk_config().await;
    let client = s3::client(&sdk, true);
    let bucket = unique_name("head");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key("v/s1.mp4")
        .metadata("started-at", "1800000000123")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap();
    let objects = S3Objects::new(client, &bucket);
    let head = objects.head("v/s1.mp4").await.unwrap().expect("exists");
    assert_eq!(head.size, 5);
    assert_eq!(head.etag, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(head.metadata["started-at"], "1800000000123");
    assert!(objects.head("v/none.mp4").await.unwrap().is_none());
}

#[tokio::test]
async fn a_superseded_generation_recorded_by_the_claims_holder_makes_its_cancellation_fail_nothing()
{
    let (table, _, _) = streams().await;
    table
        .record_arrival("s8", Source::Screen, &arrival("s8.mp4", "e1"), NOW)
        .await
        .unwrap();
    let single = Submission {
        kind: OutputKind::Single,
        source: Some(Source::Screen),
        generation: 1,
        cancel_job_id: None,
        partner_unusable: false,
        input_fallback: None,
    };
    assert!(taken(
        table.claim("s8", &single, "a", NOW, LEASE).await.unwrap()
    ));
    table
        .record_submitted("s8", "a", &single, "job-1", NOW)
        .await
        .unwrap();
    table
        .record_arrival(
            "s8",
            Source::Camera,
            &arrival("s8_camera.webm", "e2"),
            NOW + 1,
        )
        .await
        .unwrap();
    let replacing = Submission {
        cancel_job_id: Some("job-1".into()),
        ..composite(2)
    };
    assert!(taken(
        table
            .claim("s8", &replacing, "b", NOW + 1, LEASE)
            .await
            .unwrap()
    ));
    // Only the holder of the claim records the generation it is about to cancel.
    let err = table.supersede("s8", "a", 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    table.supersede("s8", "b", 1).await.unwrap();
    // The fallback's CANCELED event, arriving before the composite is recorded, is stale, not a failure.
    let canceled = StreamUpdate::Failed {
        code: CANCELED_CODE.into(),
        message: "the job was canceled".into(),
    };
    let outcome = table
        .apply_job_event("s8", 1, &canceled, "ev-canceled", NOW + 2)
        .await
        .unwrap();
    assert!(matches!(outcome, JobEventOutcome::Stale(_)), "{outcome:?}");
    let record = table.get_status("s8").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.superseded_generation),
        (StreamStatus::Processing, 1)
    );
    // The fallback's other events still count until the composite is recorded.
    let progress = table
        .apply_job_event("s8", 1, &StreamUpdate::Progress(40), "ev-progress", NOW + 3)
        .await
        .unwrap();
    assert!(
        matches!(progress, JobEventOutcome::Applied(_)),
        "{progress:?}"
    );
}
