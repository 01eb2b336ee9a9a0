//! Render items, the render state machine's executions and a render's folder against a real moto server.

use aws_sdk_s3::primitives::ByteStream;
use vidpipe_aws::dynamo::{DynamoRecordings, DynamoRenders};
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_aws::stepfunctions::StepFunctionsRenders;
use vidpipe_core::cost::{CostBasis, JobCost};
use vidpipe_core::ports::{
    ExecutionError, RecordingStore, RenderExecutions, RenderStore, StoreError, update_render,
};
use vidpipe_core::recording::{Recording, RecordingStatus};
use vidpipe_core::render::ports::FolderRemover;
use vidpipe_core::render::record::{ChunkUpdate, RenderPhase, RenderRecord, RenderState};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::upload::UploadKind;
use vidpipe_testkit::moto::{MotoServer, create_state_machine};
use vidpipe_testkit::unique_name;

async fn table() -> (aws_sdk_dynamodb::Client, String) {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let name = unique_name("renders");
    vidpipe_aws::provision::create_table(&ddb, &name)
        .await
        .expect("table on moto");
    (ddb, name)
}

fn queued(id: &str, owner: &str, created_at_ms: u64) -> RenderRecord {
    let mut r = RenderRecord::queued(id, Some(owner), created_at_ms, 1_900_000_000);
    r.request_digest = Some("ab".repeat(32));
    r.output_uri = Some(format!("s3://media-bucket/renders/{owner}/{id}/output.mp4"));
    r.frames = Some(48);
    r.duration_ms = Some(2000);
    r
}

/// A chunk job's minute of 1080p at $0.015.
const MINUTE: JobCost = JobCost {
    micro_usd: 15_000,
    output_seconds: 60,
    basis: CostBasis::MediaConvertOnDemand,
};

#[tokio::test]
async fn a_render_item_round_trips_and_every_write_is_conditional_on_the_version_read() {
    let (ddb, name) = table().await;
    let renders = DynamoRenders::new(ddb, &name);
    let mut record = queued("r1", "jwt:u1", 1_000);
    record.call_recording_id = Some("rec-123".into());
    assert!(renders.create_render(&record).await.unwrap());
    assert!(
        !renders.create_render(&record).await.unwrap(),
        "a render id is taken once"
    );
    let stored = renders.get_render("r1").await.unwrap().unwrap();
    assert_eq!(
        stored,
        RenderRecord {
            version: 1,
            ..record
        }
    );

    // Two chunk events and a phase through the core rules; a repeated COMPLETE changes nothing.
    for (index, update) in [
        (0, ChunkUpdate::Running(40)),
        (0, ChunkUpdate::Complete),
        (0, ChunkUpdate::Complete),
    ] {
        update_render(&renders, "r1", 2_000, |r| {
            r.enter_phase(RenderPhase::Rendering, Some(2));
            if update == ChunkUpdate::Complete {
                r.apply_chunk_cost(index, MINUTE);
            }
            r.apply_chunk(index, "job-0", update)
        })
        .await
        .unwrap()
        .unwrap();
    }
    let after = renders.get_render("r1").await.unwrap().unwrap();
    assert_eq!(after.status, RenderState::Processing);
    assert_eq!(
        (after.progress, after.chunks.done.len(), after.version),
        (45, 1, 3)
    );
    assert_eq!(after.chunks.jobs.get(&0).map(String::as_str), Some("job-0"));
    assert_eq!(after.cost(), Some((MINUTE, 1)), "the chunk's cost, once");
    assert_eq!(after.updated_at_ms, 2_000);

    // A write over a version that is no longer current is refused.
    let mut stale = stored.clone();
    stale.version = 2;
    stale.progress = 1;
    assert!(!renders.replace_render(&stale).await.unwrap());
    assert_eq!(
        renders.get_render("r1").await.unwrap().unwrap().progress,
        45
    );

    renders.delete_render("r1").await.unwrap();
    assert_eq!(renders.get_render("r1").await.unwrap(), None);
    assert!(
        update_render(&renders, "r1", 3_000, |_| ())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_owner_lists_their_renders_newest_first_apart_from_recordings() {
    let (ddb, name) = table().await;
    let renders = DynamoRenders::new(ddb.clone(), &name);
    let recordings = DynamoRecordings::new(ddb, &name);
    for (id, owner, at) in [
        ("a", "jwt:u1", 1_000),
        ("b", "jwt:u1", 3_000),
        ("c", "jwt:u2", 2_000),
        ("d", "jwt:u1", 2_000),
    ] {
        assert!(renders.create_render(&queued(id, owner, at)).await.unwrap());
    }
    let recording = Recording {
        recording_id: "rec-1".into(),
        owner: "jwt:u1".into(),
        kind: UploadKind::Recording,
        key: "videos/rec-1.webm".into(),
        content_type: "video/webm".into(),
        size: 10,
        room_id: None,
        stream_name: None,
        filename: None,
        started_at: None,
        status: RecordingStatus::Uploading,
        created_at_ms: 2_500,
        expires_at: 1_900_000_000,
        multipart: None,
    };
    recordings.put_new(&recording).await.unwrap();

    let first = renders.list_renders("jwt:u1", None, 2).await.unwrap();
    let ids: Vec<_> = first.items.iter().map(|r| r.render_id.as_str()).collect();
    assert_eq!(ids, ["b", "d"]);
    let cursor = first.next_cursor.expect("a second page");
    let second = renders
        .list_renders("jwt:u1", Some(&cursor), 2)
        .await
        .unwrap();
    let ids: Vec<_> = second.items.iter().map(|r| r.render_id.as_str()).collect();
    assert_eq!(ids, ["a"]);
    assert!(
        matches!(
            renders.list_renders("jwt:u2", Some(&cursor), 2).await,
            Err(StoreError::InvalidCursor)
        ),
        "a cursor never reads another owner's renders"
    );
    let listed = recordings
        .list_by_owner("jwt:u1", None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        listed.items,
        vec![recording],
        "renders never show among recordings"
    );
}

#[tokio::test]
async fn executions_start_once_per_name_and_stop() {
    let sdk = MotoServer::shared().sdk_config().await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let definition = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;
    let machine = create_state_machine(&sfn, "render", definition).await;
    let executions = StepFunctionsRenders::new(sfn.clone(), machine);
    let input = serde_json::json!({"request_uri": "s3://media-bucket/renders/u/r1/request.json", "owner": "jwt:u1", "render_id": "r1"});
    let started = executions.start("r1", &input).await.unwrap();
    assert!(
        started.execution_arn.ends_with(":r1"),
        "{}",
        started.execution_arn
    );
    let described = sfn
        .describe_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .input()
            .map(|i| serde_json::from_str::<serde_json::Value>(i).unwrap()),
        Some(input.clone())
    );
    assert!(matches!(
        executions.start("r1", &serde_json::json!({"other": 1})).await,
        Err(ExecutionError::AlreadyExists(name)) if name == "r1"
    ));
    executions
        .stop(&started.execution_arn, "canceled")
        .await
        .unwrap();
    let missing = started.execution_arn.replace(":r1", ":nothing-here");
    executions
        .stop(&missing, "canceled")
        .await
        .expect("an unknown execution is already stopped");
}

#[tokio::test]
async fn a_render_folder_is_removed_with_everything_in_it_and_nothing_else() {
    let sdk = MotoServer::shared().sdk_config().await;
    let s3 = vidpipe_aws::s3::client(&sdk, true);
    let bucket = unique_name("render-files");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let keys = [
        "renders/jwt%3Au1/r1/request.json",
        "renders/jwt%3Au1/r1/output.mp4",
        "renders/jwt%3Au1/r1/output/chunks/00000.mp4",
        "renders/jwt%3Au1/r10/output.mp4",
    ];
    for key in keys {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    let store = S3RequestStore(s3.clone());
    let folder = S3Uri::new(&bucket, "renders/jwt%3Au1/r1/").unwrap();
    store.remove_folder(&folder).await.unwrap();
    let left = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let left: Vec<_> = left.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(left, ["renders/jwt%3Au1/r10/output.mp4"]);
    let not_a_folder = S3Uri::new(&bucket, "renders/jwt%3Au1/r10").unwrap();
    assert!(
        store.remove_folder(&not_a_folder).await.is_err(),
        "only a folder (ending in /) is removed"
    );
}
