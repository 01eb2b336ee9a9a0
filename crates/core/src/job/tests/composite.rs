//! The composite and single-source builders, and what every builder shares (metadata, tokens, output keys).

use super::*;

/// A mistake of the original compositing plan: `NameModifier: {stream}_composited` with `Destination: s3://bucket/`
/// gives `{stream}{stream}_composited.mp4`. Ours: the Destination is the output's base name and there is no modifier.
#[test]
fn compositing_plan_mistake_output_name_is_exactly_the_promised_key() {
    for job in [
        composite(CompositeOptions::default()).unwrap(),
        single_job(&ctx(), &out(), &camera(), &SingleOptions::default()).unwrap(),
    ] {
        assert_eq!(file_destination(&job), "s3://bucket/streams/s1_composited");
        let output = outputs(&job).next().unwrap();
        assert_eq!(output.name_modifier, None);
        assert_eq!(output.extension.as_deref(), Some("mp4"));
        // What MediaConvert writes: Destination + NameModifier + "." + Extension.
        let written = format!(
            "{}.{}",
            file_destination(&job),
            output.extension.as_deref().unwrap()
        );
        assert_eq!(written, format!("s3://bucket/{}", out().key()));
        assert_eq!(out().key(), "streams/s1_composited.mp4");
    }
}

/// A mistake of the original compositing plan: PERCENTAGE sizes the overlay relative to its own source, not the frame.
/// Ours: PIXELS computed from both probed sizes.
#[test]
fn compositing_plan_mistake_units_overlay_is_placed_in_pixels_from_both_sizes() {
    let job = composite(CompositeOptions::default()).unwrap();
    let position = overlay(&job).initial_position.as_ref().unwrap();
    assert_eq!(position.unit, Some(VideoOverlayUnit::Pixels));
    // 15 % of the 1920 frame = 288 px (PERCENTAGE 15 would have meant 96 px of the 640 px camera).
    assert_eq!((position.width, position.height), (Some(288), Some(162)));
    assert_eq!(
        (position.x_position, position.y_position),
        (Some(1920 - 38 - 288), Some(1080 - 38 - 162))
    );

    let portrait = rec("s3://bucket/streams/s1_camera.webm", info(720, 1280, true));
    let job = composite_job(
        &ctx(),
        &out(),
        &screen(),
        &portrait,
        &CompositeOptions::default(),
    )
    .unwrap();
    let position = overlay(&job).initial_position.as_ref().unwrap();
    assert_eq!((position.width, position.height), (Some(288), Some(512)));
}

/// A mistake of the original compositing plan: without `Playback: ONCE` a shorter camera loops. Ours: ONCE, on
/// ZEROBASED timecodes.
#[test]
fn compositing_plan_mistake_playback_overlay_plays_once_on_zerobased_timecodes() {
    let job = composite(CompositeOptions::default()).unwrap();
    assert_eq!(overlay(&job).playback, Some(VideoOverlayPlayback::Once));
    assert_eq!(
        only_input(&job).timecode_source,
        Some(InputTimecodeSource::Zerobased)
    );
    assert_eq!(
        overlay(&job).input.as_ref().unwrap().timecode_source,
        Some(InputTimecodeSource::Zerobased)
    );
    assert_eq!(
        job.settings.timecode_config.as_ref().unwrap().source,
        Some(TimecodeSource::Zerobased)
    );
}

/// A mistake of the original compositing plan: QVBR needs `MaxBitrate`. Ours: every QVBR output of every builder has
/// one, scaled to its size.
#[test]
fn compositing_plan_mistake_max_bitrate_every_qvbr_output_has_a_scaled_max_bitrate() {
    let request = RenderRequest::from_json(RENDER).unwrap();
    let jobs = [
        composite(CompositeOptions::default()).unwrap(),
        single_job(
            &ctx(),
            &out(),
            &rec("s3://bucket/streams/s1.mp4", info(854, 480, true)),
            &SingleOptions::default(),
        )
        .unwrap(),
        chunk_job(
            &ctx(),
            &request,
            &Chunk {
                index: 0,
                start_frame: 0,
                end_frame: 90,
            },
            &chunk_at(&request, 0),
            &render_media(),
        )
        .unwrap(),
        preview_job(
            &ctx(),
            &screen(),
            &"s3://bucket/previews/p1/".parse().unwrap(),
            "p1",
            &PreviewOptions::default(),
        )
        .unwrap(),
    ];
    let mut seen = Vec::new();
    for job in &jobs {
        for output in outputs(job).filter(|o| {
            o.video_description
                .as_ref()
                .and_then(|v| v.codec_settings.as_ref())
                .and_then(|c| c.codec)
                == Some(VideoCodec::H264)
        }) {
            let h264 = h264_of(output);
            assert_eq!(h264.rate_control_mode, Some(H264RateControlMode::Qvbr));
            let video = output.video_description.as_ref().unwrap();
            let size = Size::new(video.width.unwrap() as u32, video.height.unwrap() as u32);
            assert_eq!(h264.max_bitrate, Some(max_bitrate(size)));
            seen.push(h264.max_bitrate.unwrap());
        }
    }
    // 1920x1080 composite, 854x480 single, 1280x720 chunk, 1280x720 preview.
    assert_eq!(seen, vec![6_221_000, 1_230_000, 2_765_000, 2_765_000]);
}

/// A mistake of the original compositing plan: the `.mp4` trigger also matched `_composited.mp4` and re-triggered on
/// its own output. Ours: output keys are recognisable, and no valid stream's screen key can equal any output key.
#[test]
fn compositing_plan_mistake_recursion_output_key_is_never_an_input_key() {
    assert!(is_composite_output_key("streams/s1_composited.mp4"));
    assert!(!is_composite_output_key("streams/s1.mp4"));
    assert!(!is_composite_output_key("streams/s1_camera.webm"));
    for stream in ["s1_composited", "s1_camera", "", "a/b", "x y"] {
        assert!(
            matches!(
                CompositeOutput::new("bucket", "p/", stream),
                Err(JobError::InvalidStreamName { .. })
            ),
            "{stream:?} accepted"
        );
    }
}

proptest! {
    #[test]
    fn no_screen_key_of_a_valid_stream_is_an_output_key(
        s in "[A-Za-z0-9_-]{1,24}", t in "[A-Za-z0-9._-]{1,36}", prefix in "(|[a-z]{1,8}/)",
    ) {
        prop_assume!(check_stream_name(&s).is_ok() && check_stream_name(&t).is_ok());
        let output = CompositeOutput::new("bucket", &prefix, &s).unwrap();
        let screen_key = format!("{prefix}{t}.mp4");
        prop_assert_ne!(output.key(), screen_key.clone());
        prop_assert!(!is_composite_output_key(&screen_key));
        prop_assert!(is_composite_output_key(&output.key()));
    }
}

#[test]
fn camera_starting_late_becomes_the_overlay_start_timecode() {
    let job = composite(CompositeOptions {
        camera_offset_ms: 1_500,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(overlay(&job).start_timecode.as_deref(), Some("00:00:01:15"));
    assert_eq!(overlay(&job).input.as_ref().unwrap().input_clippings, None);
}

#[test]
fn camera_starting_first_has_its_beginning_clipped() {
    let job = composite(CompositeOptions {
        camera_offset_ms: -2_250,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(overlay(&job).start_timecode, None);
    let clips = overlay(&job)
        .input
        .as_ref()
        .unwrap()
        .input_clippings
        .as_ref()
        .unwrap();
    // 2.25 s at 30 fps = frame 67.5 -> 68 = 2 s + 8 frames.
    assert_eq!(
        clips,
        &vec![InputClipping {
            start_timecode: Some("00:00:02:08".into()),
            end_timecode: None
        }]
    );
}

#[test]
fn offsets_without_overlap_are_named_errors() {
    assert!(matches!(
        composite(CompositeOptions {
            camera_offset_ms: 30_000,
            ..Default::default()
        }),
        Err(JobError::NoOverlap { .. })
    ));
    assert!(matches!(
        composite(CompositeOptions {
            camera_offset_ms: -30_000,
            ..Default::default()
        }),
        Err(JobError::NoOverlap { .. })
    ));
}

#[test]
fn a_browser_recording_without_a_stated_length_or_rate_still_gets_its_composite() {
    // What MediaConvert's Probe may say of a MediaRecorder WebM: no duration, no frame rate.
    let unknown = |r: Recording| Recording {
        media: MediaInfo {
            duration_ms: None,
            frame_rate: None,
            ..r.media
        },
        ..r
    };
    for offset in [-2_000, 0, 2_000, 30_000] {
        let options = CompositeOptions {
            camera_offset_ms: offset,
            ..Default::default()
        };
        let job = composite_job(
            &ctx(),
            &out(),
            &unknown(screen()),
            &unknown(camera()),
            &options,
        )
        .unwrap_or_else(|e| panic!("offset {offset}: {e}"));
        assert_eq!(overlay(&job).playback, Some(VideoOverlayPlayback::Once));
    }
    let single = single_job(
        &ctx(),
        &out(),
        &unknown(camera()),
        &SingleOptions::default(),
    );
    assert!(single.is_ok());
}

#[test]
fn audio_comes_from_the_screen_only_when_it_has_audio() {
    let job = composite(CompositeOptions::default()).unwrap();
    let audio = outputs(&job)
        .next()
        .unwrap()
        .audio_descriptions
        .as_ref()
        .unwrap();
    let aac = audio[0]
        .codec_settings
        .as_ref()
        .unwrap()
        .aac_settings
        .as_ref()
        .unwrap();
    assert_eq!(
        (aac.sample_rate, aac.coding_mode, aac.bitrate),
        (
            Some(48_000),
            Some(AacCodingMode::CodingMode20),
            Some(128_000)
        )
    );
    assert!(
        only_input(&job)
            .audio_selectors
            .as_ref()
            .unwrap()
            .contains_key("Audio Selector 1")
    );

    let silent = rec("s3://bucket/streams/s1.mp4", info(1920, 1080, false));
    let job = composite_job(
        &ctx(),
        &out(),
        &silent,
        &camera(),
        &CompositeOptions::default(),
    )
    .unwrap();
    assert_eq!(outputs(&job).next().unwrap().audio_descriptions, None);
    assert_eq!(only_input(&job).audio_selectors, None);
}

#[test]
fn composite_output_is_h264_high_mp4_with_the_index_first_never_upscaled() {
    let retina = rec("s3://bucket/streams/s1.mp4", info(2880, 1800, true));
    let job = composite_job(
        &ctx(),
        &out(),
        &retina,
        &camera(),
        &CompositeOptions::default(),
    )
    .unwrap();
    let output = outputs(&job).next().unwrap();
    let video = output.video_description.as_ref().unwrap();
    assert_eq!((video.width, video.height), (Some(1920), Some(1200)));
    assert_eq!(h264_of(output).codec_profile, Some(H264CodecProfile::High));
    let mp4 = output
        .container_settings
        .as_ref()
        .unwrap()
        .mp4_settings
        .as_ref()
        .unwrap();
    assert_eq!(
        mp4.moov_placement,
        Some(Mp4MoovPlacement::ProgressiveDownload)
    );

    let small = rec("s3://bucket/streams/s1.mp4", info(854, 480, true));
    let job = composite_job(
        &ctx(),
        &out(),
        &small,
        &camera(),
        &CompositeOptions::default(),
    )
    .unwrap();
    let video = outputs(&job)
        .next()
        .unwrap()
        .video_description
        .as_ref()
        .unwrap();
    assert_eq!((video.width, video.height), (Some(854), Some(480)));

    let narrow = CompositeOptions {
        max_width: 1280,
        ..Default::default()
    };
    let job = composite(narrow).unwrap();
    let video = outputs(&job)
        .next()
        .unwrap()
        .video_description
        .as_ref()
        .unwrap();
    assert_eq!((video.width, video.height), (Some(1280), Some(720)));
}

#[test]
fn metadata_routes_events_and_the_token_is_deterministic() {
    let a = composite(CompositeOptions::default()).unwrap();
    let b = composite(CompositeOptions::default()).unwrap();
    let metadata = a.user_metadata.as_ref().unwrap();
    assert_eq!(metadata.get("stream").map(String::as_str), Some("s1"));
    assert_eq!(
        metadata.get("output_key").map(String::as_str),
        Some("streams/s1_composited.mp4")
    );
    assert_eq!(
        metadata.get(METADATA_KIND).map(String::as_str),
        Some("composite")
    );
    let token = a.client_request_token.clone().unwrap();
    assert!(
        token.len() <= 64 && token.is_ascii() && token.starts_with("composite-"),
        "{token}"
    );
    assert_eq!(a.client_request_token, b.client_request_token);
    let other = CompositeOutput::new("bucket", "streams/", "s2").unwrap();
    let c = composite_job(
        &ctx(),
        &other,
        &screen(),
        &camera(),
        &CompositeOptions::default(),
    )
    .unwrap();
    assert_ne!(a.client_request_token, c.client_request_token);
}

#[test]
fn bad_probe_results_are_named_errors() {
    let broken = rec("s3://bucket/streams/s1_camera.webm", info(0, 360, true));
    let err = composite_job(
        &ctx(),
        &out(),
        &screen(),
        &broken,
        &CompositeOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, JobError::InvalidMedia { source_name, .. } if source_name == "camera"),
        "{err}"
    );
    let bad_layout = CompositeOptions {
        layout: pip::PipLayout {
            width_pct: 0.0,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(composite(bad_layout), Err(JobError::Geometry(_))));
}

#[test]
fn rotated_phone_camera_is_placed_by_its_displayed_size() {
    let mut phone = info(1280, 720, true);
    phone.rotation = 90;
    let job = composite_job(
        &ctx(),
        &out(),
        &screen(),
        &rec("s3://bucket/streams/s1_camera.webm", phone),
        &CompositeOptions::default(),
    )
    .unwrap();
    let position = overlay(&job).initial_position.as_ref().unwrap();
    assert_eq!((position.width, position.height), (Some(288), Some(512)));
}

#[test]
fn output_of_a_recording_is_its_streams_composite() {
    for key in ["streams/s1.mp4", "streams/s1_camera.webm"] {
        let uri = format!("s3://bucket/{key}").parse().unwrap();
        assert_eq!(CompositeOutput::for_recording(&uri).unwrap(), out());
    }
    let root: crate::s3uri::S3Uri = "s3://bucket/s1.mp4".parse().unwrap();
    assert_eq!(
        CompositeOutput::for_recording(&root).unwrap().key(),
        "s1_composited.mp4"
    );
    let output: crate::s3uri::S3Uri = "s3://bucket/streams/s1_composited.mp4".parse().unwrap();
    assert!(matches!(
        CompositeOutput::for_recording(&output),
        Err(JobError::InvalidStreamName { .. })
    ));
}

#[test]
fn added_metadata_keeps_the_token_deterministic_and_distinct() {
    let job = composite(CompositeOptions::default()).unwrap();
    let first = job
        .clone()
        .with_user_metadata(JobKind::Composite, &[("generation", "1".into())]);
    let again = job
        .clone()
        .with_user_metadata(JobKind::Composite, &[("generation", "1".into())]);
    let second = job
        .clone()
        .with_user_metadata(JobKind::Composite, &[("generation", "2".into())]);
    assert_eq!(first.client_request_token, again.client_request_token);
    assert_ne!(first.client_request_token, second.client_request_token);
    assert_ne!(first.client_request_token, job.client_request_token);
    let token = first.client_request_token.clone().unwrap();
    assert!(token.starts_with("composite-") && token.len() <= 64);
    let metadata = first.user_metadata.unwrap();
    assert_eq!(metadata["generation"], "1");
    assert_eq!(metadata["app"], "vidpipe");
    assert_eq!(metadata["kind"], "composite");
}
