//! Playback submission: an upload of a kind in `PLAYBACK_KINDS` and a stream's output get one package and one job,
//! a redelivery finishes a `queued` package without a second job, a later object at the output's key (a late
//! partner's composite over the fallback) makes the package again once, and a video that cannot be read gets none.

use vidpipe_core::job::JobKind;
use vidpipe_core::playback::PlaybackUpdate;
use vidpipe_core::ports::{
    ClaimIf, PlaybackAdvance, PlaybackStore, RecordingStore, StreamStatusStore,
};
use vidpipe_core::recording::{Recording, RecordingStatus};
use vidpipe_core::stream_status::StreamStatus;
use vidpipe_core::upload::UploadKind;

use crate::common::PREFIX;
use crate::in_memory::{Setup, setup_with};

const KINDS: [(&str, &str); 1] = [("PLAYBACK_KINDS", "recording,composite")];

async fn recording(s: &Setup, id: &str, key: &str) {
    s.compositor
        .recordings
        .put_new(&Recording {
            recording_id: id.into(),
            owner: "jwt:u1".into(),
            kind: UploadKind::Recording,
            key: key.into(),
            content_type: "video/webm".into(),
            size: 0,
            room_id: Some("room-1".into()),
            stream_name: None,
            filename: Some("talk.webm".into()),
            started_at: None,
            status: RecordingStatus::Uploading,
            created_at_ms: 1,
            expires_at: 1,
            multipart: None,
        })
        .await
        .unwrap();
}

fn playback_jobs(s: &Setup) -> Vec<vidpipe_core::job::CreateJobRequest> {
    s.compositor
        .transcoder
        .jobs()
        .into_iter()
        .filter(|job| job.user_metadata.as_ref().unwrap()["kind"] == JobKind::Playback.as_str())
        .collect()
}

#[tokio::test]
async fn an_uploaded_recording_gets_one_package_and_one_job() {
    let s = setup_with(&KINDS);
    let key = format!("{PREFIX}recordings/room-1/rec-1/talk.webm");
    recording(&s, "rec-1", &key).await;
    let event = s.put(&key, "e1", None);
    let answer = s.compositor.handle(event.clone()).await.unwrap();
    assert_eq!(
        answer["records"][0]["outcome"], "playback_submitted",
        "{answer}"
    );
    assert_eq!(answer["records"][0]["asset"], "recording/rec-1");
    let stored = s.compositor.recordings.get("rec-1").await.unwrap().unwrap();
    assert_eq!(stored.status, RecordingStatus::Uploaded);

    let package = s.compositor.playbacks.package("recording/rec-1").unwrap();
    assert_eq!(package.status, StreamStatus::Queued);
    assert_eq!(package.owner, "jwt:u1");
    assert_eq!(
        package.folder,
        format!("{PREFIX}recordings/room-1/rec-1/talk/playback/")
    );
    assert_eq!(package.mp4_key, format!("{}video.mp4", package.folder));
    let jobs = playback_jobs(&s);
    assert_eq!(jobs.len(), 1);
    let metadata = jobs[0].user_metadata.as_ref().unwrap();
    assert_eq!(metadata["asset"], "recording/rec-1");
    assert_eq!(
        metadata["destination"],
        format!("s3://in-memory/{}", package.folder)
    );

    // A redelivery while the package is queued submits the same job (its token), never a second one.
    let again = s.compositor.handle(event.clone()).await.unwrap();
    assert_eq!(again["records"][0]["outcome"], "playback_submitted");
    assert_eq!(playback_jobs(&s).len(), 1);
    // Once the job reported, a redelivery does nothing.
    let processing = PlaybackUpdate {
        status: StreamStatus::Processing,
        duration_ms: None,
        size: None,
        error_code: None,
        source_etag: None,
        cost: None,
    };
    s.compositor
        .playbacks
        .advance("recording/rec-1", &processing)
        .await
        .unwrap();
    let late = s.compositor.handle(event).await.unwrap();
    assert_eq!(late["records"][0]["reason"], "playback_submitted", "{late}");
    assert_eq!(s.compositor.transcoder.jobs().len(), 1);
}

#[tokio::test]
async fn a_streams_output_gets_a_package_owned_by_the_streams_owner() {
    let s = setup_with(&KINDS);
    s.compositor
        .streams
        .claim_owner("m1", "jwt:u2", None, u64::MAX, ClaimIf::New)
        .await
        .unwrap();
    let key = format!("{PREFIX}m1_composited.mp4");
    let answer = s
        .compositor
        .handle(s.put(&key, "e-out", None))
        .await
        .unwrap();
    assert_eq!(
        answer["records"][0]["outcome"], "playback_submitted",
        "{answer}"
    );
    let package = s.compositor.playbacks.package("stream/m1").unwrap();
    assert_eq!(package.owner, "jwt:u2");
    assert_eq!(package.folder, format!("{PREFIX}m1_composited/playback/"));
    // The output is an MP4 already: it is the package's MP4, and the job makes none.
    assert_eq!(package.mp4_key, key);
    let groups: Vec<_> = playback_jobs(&s)[0]
        .settings
        .output_groups
        .iter()
        .flatten()
        .filter_map(|group| group.name.clone())
        .collect();
    assert!(!groups.iter().any(|name| name == "MP4"), "{groups:?}");
    assert!(groups.iter().any(|name| name == "Poster"), "{groups:?}");
}

#[tokio::test]
async fn a_later_output_at_the_same_key_makes_the_package_again_once() {
    let s = setup_with(&KINDS);
    s.compositor
        .streams
        .claim_owner("m1", "jwt:u2", None, u64::MAX, ClaimIf::New)
        .await
        .unwrap();
    let key = format!("{PREFIX}m1_composited.mp4");
    let fallback = s.put(&key, "e-fallback", None);
    s.compositor.handle(fallback.clone()).await.unwrap();
    let first = s.compositor.playbacks.package("stream/m1").unwrap();
    assert_eq!(first.source_etag.as_deref(), Some("e-fallback"));
    let ready = PlaybackUpdate {
        status: StreamStatus::Ready,
        duration_ms: Some(6_000),
        size: None,
        error_code: None,
        source_etag: Some("e-fallback".into()),
        cost: None,
    };
    s.compositor
        .playbacks
        .advance("stream/m1", &ready)
        .await
        .unwrap();

    // The late partner's composite is written over the fallback.
    let composite = s.put(&key, "e-composite", None);
    let answer = s.compositor.handle(composite.clone()).await.unwrap();
    assert_eq!(
        answer["records"][0]["outcome"], "playback_submitted",
        "{answer}"
    );
    let again = s.compositor.playbacks.package("stream/m1").unwrap();
    assert_eq!(again.status, StreamStatus::Queued);
    assert_eq!(again.source_etag.as_deref(), Some("e-composite"));
    // Its own folder: the first job (it may still run) writes nothing over it.
    assert_eq!(again.folder, format!("{}gecomposite/", first.folder));
    // The job is recorded on the package it makes (DELETE cancels it while it runs).
    assert!(
        again.job_id.is_some() && again.job_id != first.job_id,
        "{again:?}"
    );
    let jobs = playback_jobs(&s);
    assert_eq!(jobs.len(), 2);
    let metadata = jobs[1].user_metadata.as_ref().unwrap();
    assert_eq!(metadata["source"], "e-composite");
    assert_eq!(
        metadata["destination"],
        format!("s3://in-memory/{}", again.folder)
    );

    // The fallback's event redelivered is not about the object the key holds: nothing.
    let old = s.compositor.handle(fallback).await.unwrap();
    assert_eq!(old["records"][0]["reason"], "playback_superseded", "{old}");
    // The composite's event redelivered while queued submits the same job again, never a third.
    s.compositor.handle(composite).await.unwrap();
    assert_eq!(playback_jobs(&s).len(), 2);
    // The first job's late COMPLETE does not touch the package made again.
    assert!(matches!(
        s.compositor.playbacks.advance("stream/m1", &ready).await.unwrap(),
        PlaybackAdvance::Stale(p) if p.status == StreamStatus::Queued
    ));
}

#[tokio::test]
async fn without_the_kind_or_with_an_unreadable_video_no_package_is_made() {
    let s = setup_with(&[("PLAYBACK_KINDS", "composite")]);
    let key = format!("{PREFIX}recordings/room-1/rec-2/talk.webm");
    recording(&s, "rec-2", &key).await;
    let answer = s.compositor.handle(s.put(&key, "e2", None)).await.unwrap();
    assert_eq!(answer["records"][0]["outcome"], "recording_uploaded");

    let output = format!("{PREFIX}m2_composited.mp4");
    s.compositor
        .transcoder
        .unusable
        .lock()
        .unwrap()
        .insert(output.clone());
    let answer = s
        .compositor
        .handle(s.put(&output, "e3", None))
        .await
        .unwrap();
    assert_eq!(
        answer["records"][0]["reason"], "playback_unreadable",
        "{answer}"
    );
    assert!(s.compositor.playbacks.items.lock().unwrap().is_empty());
    assert!(playback_jobs(&s).is_empty());
}

#[tokio::test]
async fn a_renders_video_gets_a_package_owned_by_the_renders_owner_and_its_chunks_none() {
    let s = setup_with(&[("PLAYBACK_KINDS", "render")]);
    let folder = format!("{PREFIX}renders/jwt%3Au3/promo.v2/");
    for (key, etag) in [
        (format!("{folder}work/promo.v2/chunks/00000.mp4"), "e-chunk"),
        (format!("{folder}request.json"), "e-request"),
    ] {
        let answer = s.compositor.handle(s.put(&key, etag, None)).await.unwrap();
        assert_eq!(
            answer["records"][0]["outcome"], "ignored",
            "{key}: {answer}"
        );
    }
    let key = format!("{folder}output.mp4");
    let answer = s
        .compositor
        .handle(s.put(&key, "e-video", None))
        .await
        .unwrap();
    assert_eq!(
        answer["records"][0]["outcome"], "playback_submitted",
        "{answer}"
    );
    assert_eq!(answer["records"][0]["asset"], "render/promo.v2");
    let package = s.compositor.playbacks.package("render/promo.v2").unwrap();
    assert_eq!(package.owner, "jwt:u3");
    assert_eq!(package.folder, format!("{folder}output/playback/"));
    assert_eq!(package.mp4_key, key, "the render's MP4 is the package's");
    assert_eq!(playback_jobs(&s).len(), 1);

    // Without the kind, a render's video is left alone.
    let s = setup_with(&KINDS);
    let answer = s
        .compositor
        .handle(s.put(&key, "e-video", None))
        .await
        .unwrap();
    assert_eq!(answer["records"][0]["outcome"], "ignored", "{answer}");
    assert!(playback_jobs(&s).is_empty());
}
