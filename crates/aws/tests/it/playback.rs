//! Playback packages against a real moto server: created once, forward-only statuses, made again once from a later
//! source (the earlier job then stale), deleted.

use vidpipe_aws::dynamo::DynamoPlaybacks;
use vidpipe_core::cost::{CostBasis, JobCost};
use vidpipe_core::job::Size;
use vidpipe_core::playback::{PlaybackPackage, PlaybackUpdate};
use vidpipe_core::ports::{PlaybackAdvance, PlaybackStore};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_testkit::{moto::MotoServer, unique_name};

async fn store() -> DynamoPlaybacks {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let name = unique_name("playback");
    vidpipe_aws::provision::create_table(&ddb, &name)
        .await
        .expect("table on moto");
    DynamoPlaybacks::new(ddb, &name)
}

fn queued(asset: &str) -> PlaybackPackage {
    PlaybackPackage {
        asset: asset.into(),
        owner: "jwt:u1".into(),
        bucket: "b".into(),
        folder: "streams/s-1_camera/playback/".into(),
        status: StreamStatus::Queued,
        mp4_key: "streams/s-1_camera/playback/video.mp4".into(),
        poster: "poster.0000001.jpg".into(),
        duration_ms: None,
        width: None,
        height: None,
        error_code: None,
        source_etag: None,
        job_id: None,
        cost: None,
    }
}

fn update(status: StreamStatus) -> PlaybackUpdate {
    PlaybackUpdate {
        status,
        duration_ms: None,
        size: None,
        error_code: None,
        source_etag: None,
        cost: None,
    }
}

#[tokio::test]
async fn a_package_is_created_once_moves_forward_only_and_is_deleted() {
    let store = store().await;
    let asset = "recording/0b6f1c2e";
    assert!(
        store
            .put_queued(&queued(asset), 2_000_000_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_queued(&queued(asset), 2_000_000_000)
            .await
            .unwrap(),
        "a second submission of the same package is refused"
    );
    assert_eq!(store.get(asset).await.unwrap(), Some(queued(asset)));

    let moved = store
        .advance(asset, &update(StreamStatus::Processing))
        .await
        .unwrap();
    assert!(
        matches!(moved, PlaybackAdvance::Applied(ref p) if p.status == StreamStatus::Processing)
    );
    let cost = JobCost {
        micro_usd: 4_110,
        output_seconds: 60,
        basis: CostBasis::MediaConvertOnDemand,
    };
    let ready = PlaybackUpdate {
        duration_ms: Some(6_000),
        size: Some(Size::new(480, 640)),
        cost: Some(cost),
        ..update(StreamStatus::Ready)
    };
    let PlaybackAdvance::Applied(package) = store.advance(asset, &ready).await.unwrap() else {
        panic!("ready applies");
    };
    assert_eq!(
        (
            package.status,
            package.duration_ms,
            package.width,
            package.height
        ),
        (StreamStatus::Ready, Some(6_000), Some(480), Some(640))
    );
    assert_eq!(package.cost, Some(cost), "the job's cost is on the item");
    assert_eq!(store.get(asset).await.unwrap().unwrap().cost, Some(cost));
    // A late PROGRESSING, a repeated COMPLETE, an ERROR after COMPLETE: nothing changes.
    for late in [
        StreamStatus::Processing,
        StreamStatus::Ready,
        StreamStatus::Failed,
        StreamStatus::Queued,
    ] {
        let stale = store.advance(asset, &update(late)).await.unwrap();
        assert!(
            matches!(stale, PlaybackAdvance::Stale(ref p) if p.status == StreamStatus::Ready),
            "{late:?}: {stale:?}"
        );
    }
    assert_eq!(
        store
            .advance("recording/none", &update(StreamStatus::Ready))
            .await
            .unwrap(),
        PlaybackAdvance::Unknown
    );
    store.delete(asset).await.unwrap();
    assert_eq!(store.get(asset).await.unwrap(), None);
}

#[tokio::test]
async fn a_package_made_again_replaces_its_source_once_and_ignores_the_earlier_job() {
    let store = store().await;
    let asset = "stream/s-2";
    let made_from = |etag: &str| PlaybackPackage {
        source_etag: Some(etag.into()),
        ..queued(asset)
    };
    let from = |status, etag: &str| PlaybackUpdate {
        source_etag: Some(etag.into()),
        ..update(status)
    };
    // Replacing needs a package to replace.
    assert!(
        !store
            .replace_queued(&made_from("e2"), 2_000_000_000, Some("e1"))
            .await
            .unwrap()
    );
    assert!(
        store
            .put_queued(&made_from("e1"), 2_000_000_000)
            .await
            .unwrap()
    );
    store
        .advance(asset, &from(StreamStatus::Ready, "e1"))
        .await
        .unwrap();
    let again = made_from("e2").in_own_folder();
    assert!(
        store
            .replace_queued(&again, 2_000_000_000, Some("e1"))
            .await
            .unwrap()
    );
    // A second handler that saw the first package replaces nothing.
    assert!(
        !store
            .replace_queued(&again, 2_000_000_000, Some("e1"))
            .await
            .unwrap()
    );
    assert_eq!(store.get(asset).await.unwrap(), Some(again.clone()));
    // Only the job of the package's own source is recorded on it.
    store.record_job(asset, "e1", "job-1").await.unwrap();
    assert_eq!(store.get(asset).await.unwrap().unwrap().job_id, None);
    store.record_job(asset, "e2", "job-2").await.unwrap();
    assert_eq!(
        store.get(asset).await.unwrap().unwrap().job_id.as_deref(),
        Some("job-2")
    );
    store
        .record_job("stream/none", "e2", "job-3")
        .await
        .unwrap();
    // The earlier job's events are stale; the new job's apply; an event of unknown source applies too.
    let stale = store
        .advance(asset, &from(StreamStatus::Failed, "e1"))
        .await
        .unwrap();
    assert!(matches!(stale, PlaybackAdvance::Stale(ref p) if p.status == StreamStatus::Queued));
    let moved = store
        .advance(asset, &from(StreamStatus::Processing, "e2"))
        .await
        .unwrap();
    assert!(
        matches!(moved, PlaybackAdvance::Applied(ref p) if p.status == StreamStatus::Processing)
    );
    let unknown = store
        .advance(asset, &update(StreamStatus::Ready))
        .await
        .unwrap();
    assert!(matches!(unknown, PlaybackAdvance::Applied(ref p) if p.status == StreamStatus::Ready));
    // A package recorded before sources were kept is replaced by naming none.
    store.delete(asset).await.unwrap();
    store
        .put_queued(&queued(asset), 2_000_000_000)
        .await
        .unwrap();
    assert!(
        store
            .replace_queued(&made_from("e3"), 2_000_000_000, None)
            .await
            .unwrap()
    );
}
