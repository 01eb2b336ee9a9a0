//! Call recordings, their composition and single-use tokens against a real moto server: registrations, saves and
//! burns that race.

use std::sync::Arc;

use vidpipe_aws::dynamo::DynamoCalls;
use vidpipe_core::call::composition::CompositionState;
use vidpipe_core::call::export::{ExportAsk, ExportStart, plan_export};
use vidpipe_core::call::preview::{PreviewAdvance, PreviewStart, plan_previews};
use vidpipe_core::call::token::{CompositionToken, Scope, TokenGrant, TokenRefusal, TokenUse};
use vidpipe_core::call::{CallTrack, PeerId, TrackRole};
use vidpipe_core::ports::{
    CallExports, CallPreviews, CallTracks, CompositionStore, CompositionTokens, SaveOutcome,
    StoreError, VersionMatch, update_preview,
};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_testkit::moto::{MotoServer, sdk_config_at};
use vidpipe_testkit::serial::SerialProxy;
use vidpipe_testkit::unique_name;

/// The call items of a new table on moto, reached through a [`SerialProxy`]: DynamoDB serializes the writes to one
/// item and moto does not, so without it these races would measure moto.
async fn calls() -> DynamoCalls {
    let proxy = SerialProxy::start(MotoServer::shared().endpoint());
    let sdk = sdk_config_at(proxy.endpoint(), "testing", "testing").await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let name = unique_name("calls");
    vidpipe_aws::provision::create_table(&ddb, &name)
        .await
        .expect("table on moto");
    DynamoCalls::new(ddb, name)
}

fn track(n: u64, uploader: &str) -> CallTrack {
    CallTrack {
        track_id: format!("track-{n}"),
        peer_id: PeerId::parse("peer_id", &format!("peer-{}", n % 4)).unwrap(),
        role: if n.is_multiple_of(5) {
            TrackRole::Screenshare
        } else {
            TrackRole::Av
        },
        started_at: 1_767_261_600_000 + 1_000 * (10 - n),
        uploader: uploader.to_owned(),
        key: format!("rooms/room-1/rec-1/tracks/peer-{}/av/track-{n}.webm", n % 4),
        created_at_ms: 1_767_261_600_000 + n,
    }
}

#[tokio::test]
async fn tracks_registered_at_once_all_land_and_one_uploader_owns_the_call() {
    let calls = Arc::new(calls().await);
    let tasks: Vec<_> = (0..8u64)
        .map(|n| {
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                calls
                    .register_track(
                        "room-1",
                        "rec-1",
                        &track(n, &format!("jwt:u{n}")),
                        2_000_000_000 + n,
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every registration lands");
    }
    let call = calls
        .get_call("rec-1")
        .await
        .unwrap()
        .expect("the call exists");
    assert_eq!(call.tracks.len(), 8, "no registration lost");
    assert_eq!(call.room_id, "room-1");
    assert!(
        (0..8).any(|n| call.owner == format!("jwt:u{n}")),
        "{}",
        call.owner
    );
    assert_eq!(call.time_zero(), Some(1_767_261_600_000 + 1_000 * 3));
    for n in 0..8u64 {
        assert!(
            call.tracks.contains(&track(n, &format!("jwt:u{n}"))),
            "track {n}"
        );
    }
    let owner = call.owner.clone();

    // Another room under the same recording id is refused and writes nothing; a track id is registered once.
    let refused = calls
        .register_track("room-2", "rec-1", &track(9, "jwt:x"), 2_100_000_000)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let again = calls
        .register_track("room-1", "rec-1", &track(3, "jwt:u3"), 2_100_000_000)
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let call = calls.get_call("rec-1").await.unwrap().unwrap();
    assert_eq!((call.tracks.len(), call.owner), (8, owner));
    assert!(calls.get_call("rec-2").await.unwrap().is_none());
}

fn state(fps: u32) -> CompositionState {
    let peers = [PeerId::parse("p", "peer-1").unwrap()];
    let body = format!(
        r#"{{"layout":"grid","timeline":[{{"t":0,"type":"pin","peer_id":"peer-1"}}],"tracks":[{{"peer_id":"peer-1","muted":true}}],"export":{{"resolution":"1280x720","fps":{fps}}}}}"#
    );
    CompositionState::parse(body.as_bytes(), &peers).unwrap()
}

#[tokio::test]
async fn of_two_saves_over_the_same_version_exactly_one_applies() {
    let calls = Arc::new(calls().await);
    let unknown = calls
        .save_composition("rec-9", &state(30), VersionMatch::Any, 1)
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Conflict(_))),
        "{unknown:?}"
    );
    calls
        .register_track("room-1", "rec-9", &track(1, "jwt:a"), 2_000_000_000)
        .await
        .unwrap();
    let exists = calls
        .save_composition("rec-9", &state(30), VersionMatch::Exists, 1)
        .await
        .unwrap();
    assert_eq!(
        exists,
        SaveOutcome::Mismatch { current: None },
        "If-Match: * needs a saved state"
    );
    let SaveOutcome::Saved(first) = calls
        .save_composition("rec-9", &state(30), VersionMatch::Any, 1_000)
        .await
        .unwrap()
    else {
        panic!("the first save applies");
    };
    assert_eq!((first.version, first.updated_at_ms), (1, 1_000));

    let tasks: Vec<_> = [24, 25]
        .map(|fps| {
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                calls
                    .save_composition("rec-9", &state(fps), VersionMatch::Version(1), 2_000)
                    .await
                    .unwrap()
            })
        })
        .into_iter()
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let saved: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            SaveOutcome::Saved(s) => Some(s.clone()),
            SaveOutcome::Mismatch { .. } => None,
        })
        .collect();
    assert_eq!(saved.len(), 1, "{outcomes:?}");
    assert!(
        outcomes.contains(&SaveOutcome::Mismatch { current: Some(2) }),
        "{outcomes:?}"
    );
    assert_eq!(saved[0].version, 2);
    let stored = calls
        .get_call("rec-9")
        .await
        .unwrap()
        .unwrap()
        .composition
        .unwrap();
    assert_eq!(stored, saved[0], "the winner's state is what is stored");
    let SaveOutcome::Saved(third) = calls
        .save_composition("rec-9", &state(60), VersionMatch::Exists, 3_000)
        .await
        .unwrap()
    else {
        panic!("If-Match: * saves over a saved state");
    };
    assert_eq!(third.version, 3);
}

async fn minted(
    calls: &DynamoCalls,
    seed: u8,
    scopes: Vec<Scope>,
    now_ms: u64,
) -> CompositionToken {
    // Each test has its own table, so fixed entropy is unique where it matters.
    let token = CompositionToken::issue([seed; 32]);
    let grant = TokenGrant::mint(token.digest(), scopes, "rec-1", "room-1", "jwt:a", now_ms);
    calls.put_grant(&grant).await.unwrap();
    token
}

fn use_at(now_ms: u64, scope: Scope) -> TokenUse<'static> {
    TokenUse {
        recording_id: "rec-1",
        caller: "jwt:a",
        scope,
        now_ms,
    }
}

#[tokio::test]
async fn a_token_burns_once_of_twenty_concurrent_uses_and_never_out_of_its_grant() {
    let calls = Arc::new(calls().await);
    let now = vidpipe_core::clock::now_ms();
    let token = minted(&calls, 1, Scope::ALL.to_vec(), now).await;
    let stored = calls.get_grant(&token.digest()).await.unwrap().unwrap();
    assert_eq!(stored.scopes, Scope::ALL);
    assert_eq!(stored.check(&use_at(now, Scope::ExportCreate)), Ok(()));

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let calls = Arc::clone(&calls);
            let digest = token.digest();
            tokio::spawn(async move {
                calls
                    .burn(&digest, &use_at(now + 1, Scope::CompositionWrite))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut burned = 0;
    for task in tasks {
        burned += usize::from(task.await.unwrap());
    }
    assert_eq!(burned, 1, "exactly one of 20 concurrent uses passes");
    assert!(
        calls.get_grant(&token.digest()).await.unwrap().is_none(),
        "a burn deletes the grant"
    );
    assert!(
        !calls
            .burn(&token.digest(), &use_at(now + 2, Scope::CompositionWrite))
            .await
            .unwrap(),
        "replay"
    );

    // Refused uses never burn: a scope not granted, another recording, another caller, after expiry; nor does an
    // unknown token exist to burn.
    let narrow = minted(&calls, 2, vec![Scope::PreviewRead], now).await;
    let refused = [
        use_at(now, Scope::ExportCreate),
        TokenUse {
            recording_id: "rec-2",
            ..use_at(now, Scope::PreviewRead)
        },
        TokenUse {
            caller: "jwt:b",
            ..use_at(now, Scope::PreviewRead)
        },
        use_at(
            now + vidpipe_core::call::token::TOKEN_TTL_MS,
            Scope::PreviewRead,
        ),
    ];
    for use_ in &refused {
        assert!(
            !calls.burn(&narrow.digest(), use_).await.unwrap(),
            "{use_:?}"
        );
    }
    let grant = calls
        .get_grant(&narrow.digest())
        .await
        .unwrap()
        .expect("no refused use burned it");
    assert_eq!(grant.check(&refused[3]), Err(TokenRefusal::Expired));
    assert!(
        calls
            .burn(&narrow.digest(), &use_at(now, Scope::PreviewRead))
            .await
            .unwrap()
    );

    // A grant for another audience (as another service's would be) is never burned here.
    let elsewhere = CompositionToken::issue([3; 32]);
    let grant = TokenGrant {
        audience: "playback".into(),
        ..TokenGrant::mint(
            elsewhere.digest(),
            Scope::ALL.to_vec(),
            "rec-1",
            "room-1",
            "jwt:a",
            now,
        )
    };
    calls.put_grant(&grant).await.unwrap();
    assert!(
        !calls
            .burn(&elsewhere.digest(), &use_at(now, Scope::PreviewRead))
            .await
            .unwrap()
    );
    let unknown = CompositionToken::presented("never-minted");
    assert!(calls.get_grant(&unknown.digest()).await.unwrap().is_none());
    assert!(
        !calls
            .burn(&unknown.digest(), &use_at(now, Scope::PreviewRead))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn previews_start_once_and_concurrent_job_reports_all_land() {
    let calls = Arc::new(calls().await);
    assert!(matches!(
        calls
            .replace_preview("rec-none", &plan(&calls, "rec-none").await, None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    for n in 0..8u64 {
        calls
            .register_track("room-1", "rec-p", &track(n, "jwt:alice"), 2_000_000_000)
            .await
            .unwrap();
    }
    assert!(calls.get_preview("rec-p").await.unwrap().is_none());
    let state = plan(&calls, "rec-p").await;
    assert_eq!(
        state.jobs.len(),
        6,
        "four peers' av, two peers' screenshare"
    );
    // Two starts over the same read: one lands.
    assert!(calls.replace_preview("rec-p", &state, None).await.unwrap());
    assert!(!calls.replace_preview("rec-p", &state, None).await.unwrap());
    let stored = calls.get_preview("rec-p").await.unwrap().unwrap();
    assert_eq!((stored.room_id.as_str(), &stored.state), ("room-1", &state));
    assert_eq!(
        calls.get_call("rec-p").await.unwrap().unwrap().preview,
        Some(state.clone())
    );
    // Every job reports ready at once: each report is applied, none lost to another's write.
    let tasks: Vec<_> = state
        .jobs
        .iter()
        .map(|job| {
            let (calls, peer, role) = (Arc::clone(&calls), job.peer_id.clone(), job.role);
            tokio::spawn(async move {
                update_preview(calls.as_ref(), "rec-p", |s| {
                    s.advance(1, &peer, role, StreamStatus::Ready, None)
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        let (_, advance) = task.await.unwrap().unwrap().unwrap();
        assert_eq!(advance, PreviewAdvance::Applied);
    }
    let stored = calls.get_preview("rec-p").await.unwrap().unwrap();
    assert_eq!(stored.state.status(), StreamStatus::Ready);
    assert_eq!(stored.state.revision, state.revision + 6);
    // A write over an older revision is refused.
    assert!(
        !calls
            .replace_preview("rec-p", &state, Some(state.revision))
            .await
            .unwrap()
    );
}

async fn plan(calls: &DynamoCalls, id: &str) -> vidpipe_core::call::preview::PreviewState {
    let call = calls.get_call(id).await.unwrap();
    let call = call.unwrap_or_else(|| vidpipe_core::call::Call {
        recording_id: id.into(),
        room_id: "room-1".into(),
        owner: "jwt:alice".into(),
        created_at_ms: 0,
        expires_at: 0,
        tracks: vec![track(1, "jwt:alice")],
        composition: None,
        preview: None,
        export: None,
    });
    match plan_previews(&call, |_| true, 1_000).unwrap() {
        PreviewStart::Start(state) => state,
        PreviewStart::Current(_) => panic!("nothing started yet"),
    }
}

#[tokio::test]
async fn an_export_is_stored_with_its_call_and_of_concurrent_starts_one_lands() {
    let calls = Arc::new(calls().await);
    calls
        .register_track("room-1", "rec-e", &track(1, "jwt:alice"), 2_000_000_000)
        .await
        .unwrap();
    calls
        .save_composition("rec-e", &state(30), VersionMatch::Any, 1)
        .await
        .unwrap();
    let call = calls.get_call("rec-e").await.unwrap().unwrap();
    assert_eq!(call.export, None);
    let start = |id: &str, call: &vidpipe_core::call::Call| match plan_export(
        call,
        |_| true,
        ExportAsk::default(),
        None,
        id,
        7,
    )
    .unwrap()
    {
        ExportStart::Start(state) => state,
        ExportStart::Current(_) => panic!("a new export"),
    };
    let missing = calls
        .replace_export("rec-none", &start("e-0", &call), None)
        .await;
    assert!(
        matches!(missing, Err(StoreError::Conflict(_))),
        "{missing:?}"
    );
    // Ten requests that read the call at once each try to start their own export: one lands.
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let (calls, state) = (Arc::clone(&calls), start(&format!("e-{n}"), &call));
            tokio::spawn(async move { calls.replace_export("rec-e", &state, None).await })
        })
        .collect();
    let mut landed = 0;
    for task in tasks {
        landed += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(landed, 1);
    let stored = calls
        .get_call("rec-e")
        .await
        .unwrap()
        .unwrap()
        .export
        .unwrap();
    assert_eq!(stored.revision, 1);
    assert_eq!(stored.export.composition_version, 1);
    assert_eq!(stored.export.state, state(30));
    // The next export replaces it only over the revision read; the previews' attribute is its own.
    let mut read = calls.get_call("rec-e").await.unwrap().unwrap();
    let next = start("e-next", &{
        read.export = Some(stored.clone());
        read.composition.as_mut().unwrap().version = 2;
        read
    });
    assert_eq!(next.revision, 2);
    assert!(!calls.replace_export("rec-e", &next, None).await.unwrap());
    assert!(calls.replace_export("rec-e", &next, Some(1)).await.unwrap());
    assert!(!calls.replace_export("rec-e", &next, Some(1)).await.unwrap());
    let after = calls.get_call("rec-e").await.unwrap().unwrap();
    assert_eq!(after.export, Some(next));
    assert_eq!(after.preview, None);
}

#[tokio::test]
async fn of_two_first_saves_at_once_where_nothing_is_saved_one_applies() {
    let calls = Arc::new(calls().await);
    calls
        .register_track("room-1", "rec-10", &track(1, "jwt:a"), 2_000_000_000)
        .await
        .unwrap();
    // Two first saves at once, each only where nothing is saved (If-None-Match: *): one applies.
    let firsts: Vec<_> = [24, 25]
        .into_iter()
        .map(|fps| {
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                calls
                    .save_composition("rec-10", &state(fps), VersionMatch::Absent, 1)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut applied = 0;
    for first in firsts {
        if let SaveOutcome::Saved(saved) = first.await.unwrap() {
            assert_eq!(saved.version, 1);
            applied += 1;
        }
    }
    assert_eq!(applied, 1, "of two first saves, one applies");
    let again = calls
        .save_composition("rec-10", &state(30), VersionMatch::Absent, 2)
        .await
        .unwrap();
    assert_eq!(again, SaveOutcome::Mismatch { current: Some(1) });
}
