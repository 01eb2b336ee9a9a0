//! Stream statuses and event markers against a real moto server.

use aws_sdk_dynamodb::types::AttributeValue;
use vidpipe_aws::dynamo::{DynamoProcessedEvents, DynamoStreams};
use vidpipe_core::capability::{CAPABILITY_BYTES, StreamCapability};
use vidpipe_core::cost::{CostBasis, JobCost};
use vidpipe_core::jobevent::StreamUpdate;
use vidpipe_core::ports::{
    ClaimIf, JobEventOutcome, OwnerClaim, ProcessedEventStore, StreamStatusStore,
};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_testkit::{moto::MotoServer, unique_name};

use crate::stream_pairing::raw_item;

struct Fixture {
    streams: DynamoStreams,
    events: DynamoProcessedEvents,
    ddb: aws_sdk_dynamodb::Client,
    name: String,
}

async fn fixture() -> Fixture {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let name = unique_name("streams");
    vidpipe_aws::provision::create_table(&ddb, &name)
        .await
        .expect("table on moto");
    Fixture {
        streams: DynamoStreams::new(ddb.clone(), &name, 30),
        events: DynamoProcessedEvents::new(ddb.clone(), &name),
        ddb,
        name,
    }
}

impl Fixture {
    /// The stream item as the compositor leaves it after submitting job `generation`.
    async fn submitted(&self, stream: &str, generation: u64) {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        self.ddb
            .put_item()
            .table_name(&self.name)
            .item("pk", s(&format!("STREAM#{stream}")))
            .item("sk", s("STREAM"))
            .item("stream", s(stream))
            .item("owner", s("user-1"))
            .item("status", s("processing"))
            .item("progress", AttributeValue::N("0".into()))
            .item("generation", AttributeValue::N(generation.to_string()))
            .item("job_id", s(&format!("job-{generation}")))
            .item("job_kind", s("composite"))
            .item("expires_at", AttributeValue::N("1900000000".into()))
            .send()
            .await
            .unwrap();
    }
}

/// A minute of 1080p at $0.015 a minute.
const MINUTE_COST: JobCost = JobCost {
    micro_usd: 15_000,
    output_seconds: 60,
    basis: CostBasis::MediaConvertOnDemand,
};

fn ready(key: &str) -> StreamUpdate {
    StreamUpdate::Ready {
        output_key: Some(key.to_owned()),
        cost: Some(MINUTE_COST),
    }
}

#[tokio::test]
async fn job_events_move_a_stream_forward_only() {
    let f = fixture().await;
    f.submitted("s1", 1).await;

    let JobEventOutcome::Applied(r) = f
        .streams
        .apply_job_event("s1", 1, &StreamUpdate::Progress(40), "e1", 1)
        .await
        .unwrap()
    else {
        panic!("progress applies")
    };
    assert_eq!((r.status, r.progress), (StreamStatus::Processing, 40));

    // Lower or equal progress, another generation: nothing changes.
    for (generation, update, event) in [
        (1, StreamUpdate::Progress(40), "e2"),
        (1, StreamUpdate::Progress(10), "e3"),
    ] {
        let outcome = f
            .streams
            .apply_job_event("s1", generation, &update, event, 2)
            .await
            .unwrap();
        assert!(matches!(outcome, JobEventOutcome::Stale(_)), "{outcome:?}");
    }
    let ahead = f
        .streams
        .apply_job_event("s1", 2, &ready("x.mp4"), "e4", 3)
        .await
        .unwrap();
    assert!(
        matches!(ahead, JobEventOutcome::AheadOfItem(ref r) if r.generation == 1),
        "{ahead:?}"
    );

    let JobEventOutcome::Applied(done) = f
        .streams
        .apply_job_event("s1", 1, &ready("videos/s1_composited.mp4"), "e5", 4)
        .await
        .unwrap()
    else {
        panic!("complete applies")
    };
    assert_eq!(done.status, StreamStatus::Ready);
    assert_eq!(done.progress, 100);
    assert_eq!(done.output_key.as_deref(), Some("videos/s1_composited.mp4"));
    assert_eq!(done.job_kind.as_deref(), Some("composite"));
    assert_eq!(
        done.cost,
        Some(MINUTE_COST),
        "the job's cost is on the item"
    );

    // The same event again is recognised as applied before; a late failure or progress is stale.
    let again = f
        .streams
        .apply_job_event("s1", 1, &ready("videos/s1_composited.mp4"), "e5", 5)
        .await
        .unwrap();
    assert_eq!(again, JobEventOutcome::AppliedBefore(done.clone()));
    let late = [
        StreamUpdate::Progress(99),
        StreamUpdate::Failed {
            code: "1040".into(),
            message: "late".into(),
        },
    ];
    for update in late {
        let outcome = f
            .streams
            .apply_job_event("s1", 1, &update, "e6", 6)
            .await
            .unwrap();
        assert_eq!(outcome, JobEventOutcome::Stale(done.clone()));
    }
    assert_eq!(f.streams.get_status("s1").await.unwrap(), Some(done));
}

#[tokio::test]
async fn a_failure_records_its_code_and_message_and_unknown_streams_are_named() {
    let f = fixture().await;
    f.submitted("s2", 3).await;
    let failed = StreamUpdate::Failed {
        code: "1040".into(),
        message: "bad input".into(),
    };
    let JobEventOutcome::Applied(r) = f
        .streams
        .apply_job_event("s2", 3, &failed, "e1", 1)
        .await
        .unwrap()
    else {
        panic!("failure applies")
    };
    assert_eq!(r.status, StreamStatus::Failed);
    assert_eq!(
        (r.error_code.as_deref(), r.error_message.as_deref()),
        (Some("1040"), Some("bad input"))
    );
    assert_eq!(
        f.streams
            .apply_job_event("nobody", 1, &failed, "e2", 1)
            .await
            .unwrap(),
        JobEventOutcome::UnknownStream
    );
    assert_eq!(f.streams.get_status("nobody").await.unwrap(), None);
}

#[tokio::test]
async fn events_of_one_job_out_of_order_end_ready_at_100() {
    // Sequential on purpose: moto does not serialize concurrent conditional writes as DynamoDB does, so a
    // concurrent version of this test would measure moto, not the condition.
    let f = fixture().await;
    f.submitted("s3", 1).await;
    let mut applied_ready = 0;
    for i in (0..20u8).rev() {
        let update = if i == 7 {
            ready("videos/s3_composited.mp4")
        } else {
            StreamUpdate::Progress(i * 5)
        };
        let outcome = f
            .streams
            .apply_job_event("s3", 1, &update, &format!("e{i}"), 1)
            .await
            .unwrap();
        if let JobEventOutcome::Applied(r) = outcome
            && r.status == StreamStatus::Ready
        {
            applied_ready += 1;
        }
        let r = f.streams.get_status("s3").await.unwrap().unwrap();
        if i <= 7 {
            assert_eq!(
                (r.status, r.progress),
                (StreamStatus::Ready, 100),
                "after e{i}"
            );
        }
    }
    assert_eq!(applied_ready, 1);
}

#[tokio::test]
async fn the_first_signer_owns_a_stream() {
    let f = fixture().await;
    let claim = |stream: &'static str, owner: &'static str, scope| {
        f.streams
            .claim_owner(stream, owner, None, 1_900_000_000, scope)
    };
    assert_eq!(
        claim("s4", "jwt:alice", ClaimIf::New).await.unwrap(),
        OwnerClaim::Claimed
    );
    let owned = OwnerClaim::Owned {
        owner: "jwt:alice".into(),
        capability: None,
    };
    for scope in [ClaimIf::New, ClaimIf::Unowned] {
        assert_eq!(claim("s4", "jwt:alice", scope).await.unwrap(), owned);
        assert_eq!(claim("s4", "jwt:bob", scope).await.unwrap(), owned);
    }
    let r = f.streams.get_status("s4").await.unwrap().unwrap();
    assert_eq!(r.owner.as_deref(), Some("jwt:alice"));
    assert_eq!(r.status, StreamStatus::Queued);
    // A stream the compositor created first (no owner yet) is not new: a claim of new streams only leaves it as it
    // is; a claim of unowned streams makes the signer its owner.
    f.submitted("s5", 1).await;
    f.ddb
        .update_item()
        .table_name(&f.name)
        .key("pk", AttributeValue::S("STREAM#s5".into()))
        .key("sk", AttributeValue::S("STREAM".into()))
        .update_expression("REMOVE #o")
        .expression_attribute_names("#o", "owner")
        .send()
        .await
        .unwrap();
    let before = raw_item(&f.ddb, &f.name, "s5").await;
    assert_eq!(
        claim("s5", "jwt:bob", ClaimIf::New).await.unwrap(),
        OwnerClaim::Unowned
    );
    assert_eq!(
        raw_item(&f.ddb, &f.name, "s5").await,
        before,
        "a refused claim writes nothing"
    );
    assert_eq!(
        claim("s5", "jwt:bob", ClaimIf::Unowned).await.unwrap(),
        OwnerClaim::Claimed
    );
    let r = f.streams.get_status("s5").await.unwrap().unwrap();
    assert_eq!(
        (r.owner.as_deref(), r.status, r.generation),
        (Some("jwt:bob"), StreamStatus::Processing, 1)
    );
}

#[tokio::test]
async fn an_anonymous_claim_stores_the_capabilitys_digest_and_can_be_undone() {
    let f = fixture().await;
    let capability = StreamCapability::issue([42; CAPABILITY_BYTES]);
    let digest = capability.digest();
    let claimed = f
        .streams
        .claim_owner(
            "s6",
            "anonymous",
            Some(&digest),
            1_900_000_000,
            ClaimIf::New,
        )
        .await
        .unwrap();
    assert_eq!(claimed, OwnerClaim::Claimed);
    // A second claim, with another capability, finds the first one's digest and changes nothing.
    let other = StreamCapability::issue([43; CAPABILITY_BYTES]).digest();
    let again = f
        .streams
        .claim_owner("s6", "anonymous", Some(&other), 1_900_000_000, ClaimIf::New)
        .await
        .unwrap();
    assert_eq!(
        again,
        OwnerClaim::Owned {
            owner: "anonymous".into(),
            capability: Some(digest.clone()),
        }
    );
    let r = f.streams.get_status("s6").await.unwrap().unwrap();
    assert_eq!(r.capability.as_ref(), Some(&digest));
    // The table holds the digest, never the capability.
    let item = f
        .ddb
        .get_item()
        .table_name(&f.name)
        .key("pk", AttributeValue::S("STREAM#s6".into()))
        .key("sk", AttributeValue::S("STREAM".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["capability_sha256"],
        AttributeValue::S(digest.to_stored())
    );
    assert_eq!(
        (&item["stream"], &item["expires_at"]),
        (
            &AttributeValue::S("s6".into()),
            &AttributeValue::N("1900000000".into())
        )
    );
    assert!(!format!("{item:?}").contains(capability.reveal()));

    // Only the capability the claim stored releases it; then the next signer claims the stream afresh.
    assert!(!f.streams.release_owner("s6", &other).await.unwrap());
    assert!(f.streams.release_owner("s6", &digest).await.unwrap());
    let r = f.streams.get_status("s6").await.unwrap().unwrap();
    assert_eq!((r.owner, r.capability), (None, None));
    assert!(!f.streams.release_owner("s6", &digest).await.unwrap());
    // The released item stays (without an owner): it is no longer new.
    let unowned = f
        .streams
        .claim_owner("s6", "anonymous", Some(&other), 1_900_000_000, ClaimIf::New)
        .await
        .unwrap();
    assert_eq!(unowned, OwnerClaim::Unowned);
    let reclaimed = f
        .streams
        .claim_owner(
            "s6",
            "anonymous",
            Some(&other),
            1_900_000_000,
            ClaimIf::Unowned,
        )
        .await
        .unwrap();
    assert_eq!(reclaimed, OwnerClaim::Claimed);
    assert!(!f.streams.release_owner("nowhere", &other).await.unwrap());
}

#[tokio::test]
async fn event_markers_remember_processed_events() {
    let f = fixture().await;
    assert!(!f.events.is_processed("evt-1").await.unwrap());
    f.events
        .mark_processed("evt-1", 1, 1_900_000_000)
        .await
        .unwrap();
    assert!(f.events.is_processed("evt-1").await.unwrap());
    assert!(!f.events.is_processed("evt-2").await.unwrap());
}
