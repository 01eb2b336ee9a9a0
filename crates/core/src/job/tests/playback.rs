//! The playback builder: its ladder, its groups and what it leaves out.

use super::*;

fn sizes(list: &[(u32, u32)]) -> Vec<Size> {
    list.iter().map(|&(w, h)| Size::new(w, h)).collect()
}

#[test]
fn the_ladder_follows_the_source_and_never_upscales() {
    type Case = ((u32, u32), &'static [(u32, u32)]);
    let cases: [Case; 7] = [
        (
            (3840, 2160),
            &[(1920, 1080), (1280, 720), (960, 540), (640, 360)],
        ),
        (
            (1920, 1080),
            &[(1920, 1080), (1280, 720), (960, 540), (640, 360)],
        ),
        ((1280, 720), &[(1280, 720), (960, 540), (640, 360)]),
        // Portrait: the rungs are the short side, the width.
        ((480, 640), &[(480, 640), (360, 480)]),
        ((720, 1280), &[(720, 1280), (540, 960), (360, 640)]),
        ((640, 360), &[(640, 360)]),
        // Between rungs: the source's own size on top, then the rungs clearly below it (not 720 under 768).
        ((1366, 768), &[(1366, 768), (960, 540), (640, 360)]),
    ];
    for (source, expected) in cases {
        let source = Size::new(source.0, source.1);
        assert_eq!(ladder(source).unwrap(), sizes(expected), "{source}");
    }
    // Smaller than the lowest rung: one rendition at the source's size.
    assert_eq!(ladder(Size::new(320, 240)).unwrap(), sizes(&[(320, 240)]));
}

fn playback(source: &Recording, options: &PlaybackOptions) -> CreateJobRequest {
    let folder = "s3://bucket/streams/s1/playback/".parse().unwrap();
    playback_job(&ctx(), source, &folder, options).unwrap()
}

fn group<'a>(job: &'a CreateJobRequest, name: &str) -> &'a OutputGroup {
    let groups = job.settings.output_groups.as_ref().unwrap();
    groups
        .iter()
        .find(|g| g.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no group {name}"))
}

fn capture(group: &OutputGroup) -> (Option<i32>, &FrameCaptureSettings) {
    let video = group.outputs.as_ref().unwrap()[0]
        .video_description
        .as_ref()
        .unwrap();
    let settings = video.codec_settings.as_ref().unwrap();
    (
        video.width,
        settings.frame_capture_settings.as_ref().unwrap(),
    )
}

#[test]
fn a_1080p_webm_gets_a_cmaf_ladder_one_audio_an_mp4_a_poster_and_storyboard_frames() {
    let source = rec("s3://bucket/streams/s1_camera.webm", info(1920, 1080, true));
    let job = playback(&source, &PlaybackOptions::default());
    let cmaf_group = group(&job, "CMAF");
    let cmaf = cmaf_group
        .output_group_settings
        .as_ref()
        .unwrap()
        .cmaf_group_settings
        .as_ref()
        .unwrap();
    assert_eq!(cmaf.segment_length, Some(4));
    assert_eq!(
        cmaf.segment_length_control,
        Some(SegmentLengthControl::Exact)
    );
    assert_eq!(cmaf.write_hls_manifest, Some(EnabledDisabled::Enabled));
    assert_eq!(cmaf.write_dash_manifest, Some(EnabledDisabled::Enabled));
    assert_eq!(
        cmaf.destination.as_deref(),
        Some("s3://bucket/streams/s1/playback/index")
    );
    let outputs = cmaf_group.outputs.as_ref().unwrap();
    let modifiers: Vec<_> = outputs
        .iter()
        .map(|o| o.name_modifier.as_deref().unwrap())
        .collect();
    assert_eq!(modifiers, ["_1080p", "_720p", "_540p", "_360p", "_audio"]);
    assert_eq!(
        outputs
            .iter()
            .filter(|o| o.audio_descriptions.is_some())
            .count(),
        1,
        "one audio rendition"
    );
    for video in &outputs[..4] {
        let h264 = h264_of(video);
        assert_eq!(h264.gop_size_units, Some(H264GopSizeUnits::Auto));
        assert!(video.audio_descriptions.is_none());
    }
    let mp4 = group(&job, "MP4");
    assert_eq!(
        mp4.output_group_settings
            .as_ref()
            .unwrap()
            .file_group_settings
            .as_ref()
            .unwrap()
            .destination
            .as_deref(),
        Some("s3://bucket/streams/s1/playback/video")
    );
    let mp4_output = &mp4.outputs.as_ref().unwrap()[0];
    assert!(mp4_output.audio_descriptions.is_some());
    let moov = mp4_output
        .container_settings
        .as_ref()
        .unwrap()
        .mp4_settings
        .as_ref()
        .unwrap()
        .moov_placement;
    assert_eq!(moov, Some(Mp4MoovPlacement::ProgressiveDownload));

    // The poster at 2 s: the first frame, then one 2 s later, and no more.
    let (width, poster) = capture(group(&job, "Poster"));
    assert_eq!(width, Some(1920));
    assert_eq!(
        (poster.framerate_denominator, poster.max_captures),
        (Some(2), Some(2))
    );
    // 30 s of source: the shortest interval, thumbnails 160 wide.
    let (width, frames) = capture(group(&job, "Storyboard"));
    assert_eq!((width, frames.framerate_denominator), (Some(160), Some(2)));
    let metadata = job.user_metadata.as_ref().unwrap();
    assert_eq!(metadata[METADATA_KIND], "playback");
    assert_eq!(metadata[METADATA_STORYBOARD_INTERVAL], "2");
    assert_eq!(
        metadata[METADATA_DESTINATION],
        "s3://bucket/streams/s1/playback/"
    );
}

#[test]
fn an_mp4_source_is_not_copied_and_a_silent_one_has_no_audio_rendition() {
    let source = rec(
        "s3://bucket/streams/s1_composited.mp4",
        info(1280, 720, false),
    );
    let options = PlaybackOptions {
        source_is_mp4: true,
        ..Default::default()
    };
    let job = playback(&source, &options);
    let groups = job.settings.output_groups.as_ref().unwrap();
    let names: Vec<_> = groups.iter().map(|g| g.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["CMAF", "Poster", "Storyboard"]);
    assert!(outputs(&job).all(|o| o.audio_descriptions.is_none()));
    assert!(only_input(&job).audio_selectors.is_none());
}

#[test]
fn the_poster_and_storyboard_interval_follow_the_length() {
    let mut media = info(1920, 1080, true);
    let plan = |media: &MediaInfo| PlaybackPlan::new(media, &PlaybackOptions::default()).unwrap();
    // A 3 s clip: the poster at 1 s, half its length.
    media.duration_ms = Some(3_000);
    assert_eq!(
        (plan(&media).poster_s, plan(&media).poster_name()),
        (1, "poster.0000001.jpg")
    );
    // Under 2 s, and of unknown length (a browser's WebM as MediaConvert may probe it): the first frame.
    media.duration_ms = Some(1_500);
    assert_eq!(plan(&media).poster_name(), "poster.0000000.jpg");
    media.duration_ms = None;
    assert_eq!(
        (plan(&media).poster_s, plan(&media).storyboard_interval_s),
        (0, 2)
    );
    // An hour: about 100 thumbnails; ten hours: at most one a minute.
    media.duration_ms = Some(3_600_000);
    assert_eq!(plan(&media).storyboard_interval_s, 36);
    media.duration_ms = Some(36_000_000);
    assert_eq!(plan(&media).storyboard_interval_s, 60);
    // A portrait thumbnail is 160 high.
    assert_eq!(plan(&info(720, 1280, true)).thumbnail, Size::new(90, 160));
    // A rotated phone recording is portrait as displayed.
    let mut rotated = info(1280, 720, true);
    rotated.rotation = 90;
    assert_eq!(plan(&rotated).ladder[0], Size::new(720, 1280));
}

#[test]
fn a_destination_that_is_not_a_folder_is_refused() {
    let folder = "s3://bucket/streams/s1/playback".parse().unwrap();
    let err = playback_job(&ctx(), &screen(), &folder, &PlaybackOptions::default()).unwrap_err();
    assert!(matches!(err, JobError::InvalidOutput(_)), "{err}");
}

#[test]
fn the_same_package_gets_the_same_token_and_another_asset_another() {
    let a = playback(&screen(), &PlaybackOptions::default());
    let b = playback(&screen(), &PlaybackOptions::default());
    assert_eq!(a.client_request_token, b.client_request_token);
    let c = a
        .clone()
        .with_user_metadata(JobKind::Playback, &[("asset", "other".into())]);
    assert_ne!(a.client_request_token, c.client_request_token);
    assert!(c.client_request_token.unwrap().starts_with("playback-"));
}
