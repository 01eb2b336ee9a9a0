use super::*;
use crate::call::{CallId, PeerId, TrackRole};

fn track(id: &str, offset_ms: u64, duration_ms: Option<u64>) -> PreviewTrack {
    PreviewTrack {
        recording: rec(
            &format!("s3://bkt/rooms/r/c/tracks/p/av/{id}.webm"),
            MediaInfo {
                duration_ms,
                ..info(640, 480, true)
            },
        ),
        offset_ms,
    }
}

fn build(role: TrackRole, tracks: &[PreviewTrack]) -> Result<CreateJobRequest, JobError> {
    let folder: S3Uri = "s3://bkt/rooms/r/c/".parse().unwrap();
    let preview = CallPreview {
        call_folder: &folder,
        recording_id: &CallId::parse("recording_id", "c").unwrap(),
        peer_id: &PeerId::parse("peer_id", "p").unwrap(),
        role,
        tracks,
    };
    call_preview_job(&ctx(), &preview)
}

/// Each input: the gap's duration in ms, or the track's file.
fn inputs(job: &CreateJobRequest) -> Vec<String> {
    let inputs = job.settings.inputs.as_ref().unwrap();
    inputs
        .iter()
        .map(|i| match (&i.video_generator, &i.file_input) {
            (Some(g), None) => format!("gap {}", g.duration.unwrap()),
            (None, Some(f)) => f.rsplit('/').next().unwrap().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn gaps_fill_whole_frames_from_time_zero_before_and_between_tracks() {
    // 1017 ms is frame 30.51 at 30 fps: frame 31, 1033 ms. The first track lasts 600 frames (to frame 631), the
    // second starts at 25 s (frame 750): a gap of 119 frames, 3967 ms.
    let job = build(
        TrackRole::Av,
        &[
            track("t-2", 25_000, None),
            track("t-1", 1_017, Some(20_000)),
        ],
    )
    .unwrap();
    assert_eq!(
        inputs(&job),
        ["gap 1033", "t-1.webm", "gap 3967", "t-2.webm"]
    );
    // A track at time zero has no gap.
    let job = build(TrackRole::Av, &[track("t-1", 10, None)]).unwrap();
    assert_eq!(inputs(&job), ["t-1.webm"]);
}

#[test]
fn the_playlist_is_named_by_the_storage_contract_and_the_metadata_routes_it() {
    let job = build(TrackRole::Av, &[track("t-1", 0, None)]).unwrap();
    let group = &job.settings.output_groups.as_ref().unwrap()[0];
    let cmaf = group
        .output_group_settings
        .as_ref()
        .unwrap()
        .cmaf_group_settings
        .as_ref()
        .unwrap();
    assert_eq!(
        cmaf.destination.as_deref(),
        Some("s3://bkt/rooms/r/c/preview/peers/p/av")
    );
    assert_eq!(cmaf.segment_length, Some(2));
    assert_eq!(cmaf.write_dash_manifest, Some(EnabledDisabled::Disabled));
    let modifiers: Vec<_> = group
        .outputs
        .iter()
        .flatten()
        .map(|o| o.name_modifier.clone().unwrap())
        .collect();
    assert_eq!(modifiers, ["_video", "_audio"]);
    // The compositor adds the previews' generation when it submits the job.
    assert_eq!(
        crate::jobevent::route(job.user_metadata.as_ref().unwrap()),
        Err(crate::jobevent::RouteError::Missing("generation"))
    );
    let job = job.with_user_metadata(
        JobKind::CallPreview,
        &[(METADATA_PREVIEW_GENERATION, "1".to_owned())],
    );
    let metadata = job.user_metadata.as_ref().unwrap();
    assert_eq!(
        crate::jobevent::route(metadata),
        Ok(crate::jobevent::JobRoute::CallPreview(
            crate::call::PreviewJob {
                recording_id: CallId::parse("recording_id", "c").unwrap(),
                peer_id: PeerId::parse("peer_id", "p").unwrap(),
                role: TrackRole::Av,
                generation: 1,
            }
        ))
    );
    let screenshare = build(TrackRole::Screenshare, &[track("t-1", 0, None)]).unwrap();
    let group = &screenshare.settings.output_groups.as_ref().unwrap()[0];
    assert_eq!(group.outputs.as_ref().unwrap().len(), 1, "video only");
    assert_eq!(
        call_preview_base(
            &"s3://bkt/rooms/r/c/".parse().unwrap(),
            &PeerId::parse("peer_id", "p").unwrap(),
            TrackRole::Screenshare
        ),
        "s3://bkt/rooms/r/c/preview/screenshare/p/video"
    );
}

#[test]
fn tracks_that_cannot_be_placed_are_refused_by_name() {
    assert!(matches!(
        build(TrackRole::Av, &[]),
        Err(JobError::InvalidOption(_))
    ));
    // A track followed by another needs its duration.
    let err = build(
        TrackRole::Av,
        &[track("t-1", 0, None), track("t-2", 5_000, None)],
    );
    assert!(
        matches!(&err, Err(JobError::InvalidMedia { source_name, .. }) if source_name.ends_with("t-1.webm")),
        "{err:?}"
    );
    // Overlapping tracks of one peer and role.
    let err = build(
        TrackRole::Av,
        &[track("t-1", 0, Some(6_000)), track("t-2", 5_000, None)],
    );
    assert!(matches!(err, Err(JobError::InvalidOption(m)) if m.contains("t-2.webm")));
    let folder: S3Uri = "s3://bkt/rooms/r/c".parse().unwrap();
    let preview = CallPreview {
        call_folder: &folder,
        recording_id: &CallId::parse("recording_id", "c").unwrap(),
        peer_id: &PeerId::parse("peer_id", "p").unwrap(),
        role: TrackRole::Av,
        tracks: &[track("t-1", 0, None)],
    };
    assert!(matches!(
        call_preview_job(&ctx(), &preview),
        Err(JobError::InvalidOutput(_))
    ));
}
