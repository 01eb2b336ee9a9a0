use super::*;

const REALISTIC: &str = include_str!("../../tests/fixtures/create_job_realistic.json");

#[test]
fn realistic_job_round_trips_without_losing_a_field() {
    let original: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    let job: CreateJobRequest = serde_json::from_str(REALISTIC).unwrap();
    let back = serde_json::to_value(&job).unwrap();
    assert_eq!(back, original);
    let overlay = &job.settings.inputs.as_ref().unwrap()[0]
        .video_overlays
        .as_ref()
        .unwrap()[0];
    assert_eq!(overlay.playback, Some(VideoOverlayPlayback::Once));
    assert_eq!(
        overlay.initial_position.as_ref().unwrap().unit,
        Some(VideoOverlayUnit::Pixels)
    );
}

#[test]
fn unknown_field_is_rejected_with_its_name() {
    let mut value: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    value["Settings"]["Inputs"][0]["VideoOverlays"][0]["InitialPosition"]["Scale"] = 3.into();
    let err = serde_json::from_value::<CreateJobRequest>(value)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `Scale`"), "{err}");
}

#[test]
fn wrong_enum_value_is_rejected_with_the_value() {
    let mut value: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    value["Settings"]["Inputs"][0]["VideoOverlays"][0]["Playback"] = "LOOP".into();
    let err = serde_json::from_value::<CreateJobRequest>(value)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `LOOP`"), "{err}");
}

#[test]
fn absent_optional_members_are_left_out_of_the_json() {
    let job = CreateJobRequest {
        role: "arn:aws:iam::1:role/r".into(),
        settings: JobSettings::default(),
        queue: None,
        user_metadata: None,
        tags: None,
        client_request_token: None,
        status_update_interval: None,
        priority: None,
        acceleration_settings: None,
    };
    assert_eq!(
        serde_json::to_string(&job).unwrap(),
        r#"{"Role":"arn:aws:iam::1:role/r","Settings":{}}"#
    );
}

#[test]
fn enum_wire_strings_match_serde() {
    assert_eq!(VideoCodec::H264.as_str(), "H_264");
    assert_eq!(serde_json::to_value(VideoCodec::H264).unwrap(), "H_264");
    assert_eq!(
        serde_json::to_value(OutputGroupType::FileGroupSettings).unwrap(),
        "FILE_GROUP_SETTINGS"
    );
}

// ---- builders -------------------------------------------------------------------------------------------------

use proptest::prelude::*;

use crate::render::{Chunk, RenderRequest};

fn ctx() -> JobContext {
    JobContext {
        role: "arn:aws:iam::123456789012:role/mc".into(),
        queue: None,
    }
}

fn info(width: u32, height: u32, has_audio: bool) -> MediaInfo {
    MediaInfo {
        width,
        height,
        duration_ms: Some(30_000),
        frame_rate: Some(FrameRate::per_second(30)),
        has_audio,
        rotation: 0,
    }
}

fn rec(uri: &str, media: MediaInfo) -> Recording {
    Recording {
        uri: uri.parse().unwrap(),
        media,
    }
}

fn screen() -> Recording {
    rec("s3://bucket/streams/s1.mp4", info(1920, 1080, true))
}

fn camera() -> Recording {
    rec("s3://bucket/streams/s1_camera.webm", info(640, 360, true))
}

fn out() -> CompositeOutput {
    CompositeOutput::new("bucket", "streams/", "s1").unwrap()
}

fn composite(options: CompositeOptions) -> Result<CreateJobRequest, JobError> {
    composite_job(&ctx(), &out(), &screen(), &camera(), &options)
}

fn only_input(job: &CreateJobRequest) -> &Input {
    let inputs = job.settings.inputs.as_ref().unwrap();
    assert_eq!(inputs.len(), 1);
    &inputs[0]
}

fn overlay(job: &CreateJobRequest) -> &VideoOverlay {
    &only_input(job).video_overlays.as_ref().unwrap()[0]
}

fn outputs(job: &CreateJobRequest) -> impl Iterator<Item = &Output> {
    job.settings
        .output_groups
        .iter()
        .flatten()
        .flat_map(|g| g.outputs.iter().flatten())
}

fn file_destination(job: &CreateJobRequest) -> &str {
    let group = &job.settings.output_groups.as_ref().unwrap()[0];
    let settings = group.output_group_settings.as_ref().unwrap();
    settings
        .file_group_settings
        .as_ref()
        .unwrap()
        .destination
        .as_deref()
        .unwrap()
}

fn h264_of(output: &Output) -> &H264Settings {
    let codec = output
        .video_description
        .as_ref()
        .unwrap()
        .codec_settings
        .as_ref()
        .unwrap();
    codec.h264_settings.as_ref().unwrap()
}

/// Seed 000 mistake: `NameModifier: {stream}_composited` with `Destination: s3://bucket/` gives
/// `{stream}{stream}_composited.mp4`. Ours: the Destination is the output's base name and there is no modifier.
#[test]
fn seed_mistake_output_name_is_exactly_the_promised_key() {
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

/// Seed 000 mistake: PERCENTAGE sizes the overlay relative to its own source, not the frame. Ours: PIXELS computed
/// from both probed sizes.
#[test]
fn seed_mistake_units_overlay_is_placed_in_pixels_from_both_sizes() {
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

/// Seed 000 mistake: without `Playback: ONCE` a shorter camera loops. Ours: ONCE, on ZEROBASED timecodes.
#[test]
fn seed_mistake_playback_overlay_plays_once_on_zerobased_timecodes() {
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

/// Seed 000 mistake: QVBR needs `MaxBitrate`. Ours: every QVBR output of every builder has one, scaled to its size.
#[test]
fn seed_mistake_max_bitrate_every_qvbr_output_has_a_scaled_max_bitrate() {
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

/// Seed 000 mistake: the `.mp4` trigger also matched `_composited.mp4` and re-triggered on its own output. Ours:
/// output keys are recognisable, and no valid stream's screen key can equal any output key.
#[test]
fn seed_mistake_recursion_output_key_is_never_an_input_key() {
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

// ---- chunks ---------------------------------------------------------------------------------------------------

const RENDER: &str = r#"{
  "render_id": "promo-42",
  "output": {"uri": "s3://bucket/renders/promo-42.mp4", "width": 1280, "height": 720, "fps": 30},
  "scenes": [
    {"id": "intro", "duration_s": 4.0, "image": "s3://bucket/assets/title.png"},
    {"id": "demo", "duration_s": 95.5, "video": "s3://bucket/assets/demo.mp4", "start_s": 12.0,
     "overlay": {"image": "s3://bucket/assets/product.png", "x": "right", "y": "bottom", "scale": 0.3, "fade_ms": 500}}
  ]
}"#;

fn render_media() -> BTreeMap<String, MediaInfo> {
    BTreeMap::from([(
        "s3://bucket/assets/product.png".to_owned(),
        MediaInfo {
            duration_ms: Some(0),
            frame_rate: None,
            ..info(400, 200, false)
        },
    )])
}

fn chunk(index: u32, start_frame: u64, end_frame: u64) -> CreateJobRequest {
    let request = RenderRequest::from_json(RENDER).unwrap();
    chunk_job(
        &ctx(),
        &request,
        &Chunk {
            index,
            start_frame,
            end_frame,
        },
        &render_media(),
    )
    .unwrap()
}

#[test]
fn chunk_encoder_settings_are_identical_across_chunks_with_closed_gops_and_no_audio() {
    let (a, b) = (chunk(0, 0, 1_000), chunk(1, 1_000, 2_985));
    let (oa, ob) = (outputs(&a).next().unwrap(), outputs(&b).next().unwrap());
    assert_eq!(h264_of(oa), h264_of(ob));
    assert_eq!(oa.container_settings, ob.container_settings);
    assert_eq!(
        oa.container_settings.as_ref().unwrap().container,
        Some(CHUNK_CONTAINER)
    );
    let h264 = h264_of(oa);
    assert_eq!(h264.gop_closed_cadence, Some(1));
    assert_eq!(h264.number_b_frames_between_reference_frames, Some(0));
    assert_eq!(
        h264.scene_change_detect,
        Some(H264SceneChangeDetect::Disabled)
    );
    assert_eq!(
        (h264.gop_size, h264.gop_size_units),
        (Some(60.0), Some(H264GopSizeUnits::Frames))
    );
    assert_eq!(
        (
            h264.framerate_control,
            h264.framerate_numerator,
            h264.framerate_denominator
        ),
        (Some(H264FramerateControl::Specified), Some(30), Some(1))
    );
    assert_ne!(h264.codec_level, Some(H264CodecLevel::Auto));
    assert_eq!(oa.audio_descriptions, None);
    assert_eq!(
        file_destination(&b),
        "s3://bucket/renders/promo-42/chunks/00001"
    );
}

#[test]
fn chunk_inputs_are_frame_exact_clips_and_generated_stills() {
    // Frames: intro [0, 120), demo [120, 2985) starting at source frame 12 s * 30 = 360.
    let job = chunk(0, 100, 1_000);
    let inputs = job.settings.inputs.as_ref().unwrap();
    assert_eq!(inputs.len(), 2);
    let still = inputs[0].video_generator.as_ref().unwrap();
    assert_eq!(
        (still.duration, still.width, still.height),
        (Some(667), Some(1280), Some(720))
    ); // 20 frames
    let image = &inputs[0]
        .image_inserter
        .as_ref()
        .unwrap()
        .insertable_images
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        (image.image_x, image.image_y, image.width, image.height),
        (Some(0), Some(0), Some(1280), Some(720))
    );
    assert_eq!(
        image.image_inserter_input.as_deref(),
        Some("s3://bucket/assets/title.png")
    );
    // Demo frames [0, 880) of the scene = source frames 360..=1239.
    let clip = &inputs[1].input_clippings.as_ref().unwrap()[0];
    assert_eq!(clip.start_timecode.as_deref(), Some("00:00:12:00"));
    assert_eq!(clip.end_timecode.as_deref(), Some("00:00:41:09"));

    let job = chunk(1, 1_000, 2_985);
    let clip = &job.settings.inputs.as_ref().unwrap()[0]
        .input_clippings
        .as_ref()
        .unwrap()[0];
    // Scene frame 880 -> source 1240; 1985 frames -> last source frame 3224.
    assert_eq!(clip.start_timecode.as_deref(), Some("00:00:41:10"));
    assert_eq!(clip.end_timecode.as_deref(), Some("00:01:47:14"));
}

#[test]
fn chunk_overlay_is_placed_timed_and_faded_on_the_output_timeline() {
    let job = chunk(0, 100, 1_000);
    let video = outputs(&job)
        .next()
        .unwrap()
        .video_description
        .as_ref()
        .unwrap();
    let images = video
        .video_preprocessors
        .as_ref()
        .unwrap()
        .image_inserter
        .as_ref()
        .unwrap();
    let product = &images.insertable_images.as_ref().unwrap()[0];
    // 30 % of 1280 = 384 wide, 2:1 -> 192 high, right/bottom with a 3 % (38 px) margin.
    assert_eq!((product.width, product.height), (Some(384), Some(192)));
    assert_eq!(
        (product.image_x, product.image_y),
        (Some(1280 - 38 - 384), Some(720 - 38 - 192))
    );
    // The demo segment starts 20 frames into the chunk, holds the scene start (fade in) but not its end.
    assert_eq!(product.start_time.as_deref(), Some("00:00:00:20"));
    assert_eq!((product.fade_in, product.fade_out), (Some(500), None));
    assert_eq!(product.duration, Some(29_333)); // 880 frames
    let tail = chunk(1, 1_000, 2_985);
    let video = outputs(&tail)
        .next()
        .unwrap()
        .video_description
        .as_ref()
        .unwrap();
    let product = &video
        .video_preprocessors
        .as_ref()
        .unwrap()
        .image_inserter
        .as_ref()
        .unwrap()
        .insertable_images
        .as_ref()
        .unwrap()[0];
    assert_eq!((product.fade_in, product.fade_out), (None, Some(500)));
    assert_eq!(product.duration, Some(66_167 - 500)); // 1985 frames, fade-out after Duration
}

#[test]
fn chunk_of_a_faster_source_clips_in_source_frames() {
    let request = RenderRequest::from_json(RENDER).unwrap();
    let mut media = render_media();
    media.insert(
        "s3://bucket/assets/demo.mp4".into(),
        MediaInfo {
            frame_rate: Some(FrameRate::per_second(60)),
            ..info(1920, 1080, true)
        },
    );
    let job = chunk_job(
        &ctx(),
        &request,
        &Chunk {
            index: 0,
            start_frame: 120,
            end_frame: 150,
        },
        &media,
    )
    .unwrap();
    let clip = &job.settings.inputs.as_ref().unwrap()[0]
        .input_clippings
        .as_ref()
        .unwrap()[0];
    // 12 s at 60 fps = frame 720; 30 output frames = 60 source frames.
    assert_eq!(clip.start_timecode.as_deref(), Some("00:00:12:00"));
    assert_eq!(clip.end_timecode.as_deref(), Some("00:00:12:59"));
}

#[test]
fn chunk_errors_are_named() {
    let request = RenderRequest::from_json(RENDER).unwrap();
    let err = chunk_job(
        &ctx(),
        &request,
        &Chunk {
            index: 0,
            start_frame: 0,
            end_frame: 200,
        },
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        JobError::MissingMediaInfo("s3://bucket/assets/product.png".into())
    );
    let err = chunk_job(
        &ctx(),
        &request,
        &Chunk {
            index: 3,
            start_frame: 10,
            end_frame: 5_000,
        },
        &render_media(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            JobError::Render(crate::render::RenderError::InvalidChunk {
                total_frames: 2985,
                ..
            })
        ),
        "{err}"
    );
}

// ---- previews -------------------------------------------------------------------------------------------------

#[test]
fn hls_preview_has_4s_segments_auto_gop_and_a_poster() {
    let destination = "s3://bucket/previews/p1/".parse().unwrap();
    let job = preview_job(
        &ctx(),
        &screen(),
        &destination,
        "p1",
        &PreviewOptions::default(),
    )
    .unwrap();
    let groups = job.settings.output_groups.as_ref().unwrap();
    let hls = groups[0]
        .output_group_settings
        .as_ref()
        .unwrap()
        .hls_group_settings
        .as_ref()
        .unwrap();
    assert_eq!(hls.segment_length, Some(4));
    assert_eq!(
        hls.destination.as_deref(),
        Some("s3://bucket/previews/p1/index")
    );
    let rendition = &groups[0].outputs.as_ref().unwrap()[0];
    let h264 = h264_of(rendition);
    assert_eq!(
        (h264.gop_size_units, h264.gop_size, h264.gop_closed_cadence),
        (Some(H264GopSizeUnits::Auto), None, None)
    );
    assert!(rendition.audio_descriptions.is_some());
    let video = rendition.video_description.as_ref().unwrap();
    assert_eq!((video.width, video.height), (Some(1280), Some(720)));
    let poster = &groups[1].outputs.as_ref().unwrap()[0];
    let capture = poster
        .video_description
        .as_ref()
        .unwrap()
        .codec_settings
        .as_ref()
        .unwrap();
    assert_eq!(capture.codec, Some(VideoCodec::FrameCapture));
    assert_eq!(
        capture
            .frame_capture_settings
            .as_ref()
            .unwrap()
            .max_captures,
        Some(1)
    );
    assert_eq!(
        file_destination(&Job::poster_first(&job)),
        "s3://bucket/previews/p1/poster"
    );
}

#[test]
fn cmaf_preview_puts_audio_in_its_own_output() {
    let destination = "s3://bucket/previews/p1/".parse().unwrap();
    let options = PreviewOptions {
        format: PreviewFormat::Cmaf,
        ..Default::default()
    };
    let job = preview_job(&ctx(), &screen(), &destination, "p1", &options).unwrap();
    let group = &job.settings.output_groups.as_ref().unwrap()[0];
    let cmaf = group
        .output_group_settings
        .as_ref()
        .unwrap()
        .cmaf_group_settings
        .as_ref()
        .unwrap();
    assert_eq!(cmaf.segment_length, Some(4));
    let outs = group.outputs.as_ref().unwrap();
    assert_eq!(outs.len(), 2);
    assert!(outs[0].audio_descriptions.is_none() && outs[0].video_description.is_some());
    assert!(outs[1].audio_descriptions.is_some() && outs[1].video_description.is_none());
    let err = preview_job(
        &ctx(),
        &screen(),
        &"s3://bucket/previews/p1".parse().unwrap(),
        "p1",
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, JobError::InvalidOutput(_)));
}

/// Test helper: the same job with the poster group first, to read its destination with `file_destination`.
struct Job;

impl Job {
    fn poster_first(job: &CreateJobRequest) -> CreateJobRequest {
        let mut job = job.clone();
        job.settings.output_groups.as_mut().unwrap().reverse();
        job
    }
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

#[test]
fn a_video_scene_is_checked_against_its_length_only_when_the_probe_states_one() {
    let request = RenderRequest::from_json(RENDER).unwrap();
    let demo = "s3://bucket/assets/demo.mp4".to_owned();
    // The scene needs 12 s + 95.5 s of the video.
    let with = |duration_ms| {
        let mut media = render_media();
        media.insert(
            demo.clone(),
            MediaInfo {
                duration_ms,
                ..info(1280, 720, true)
            },
        );
        short_video_scenes(&request, &media)
    };
    assert_eq!(with(Some(100_000)).len(), 1, "too short: named");
    assert!(with(Some(120_000)).is_empty());
    assert!(
        with(None).is_empty(),
        "unknown length: left to the assembler"
    );
}

#[test]
fn a_chunk_is_letterboxed_to_the_renders_exact_size() {
    let job = chunk(0, 0, 300);
    for output in outputs(&job) {
        let video = output.video_description.as_ref().unwrap();
        assert_eq!(video.scaling_behavior, Some(ScalingBehavior::Default));
        assert_eq!((video.width, video.height), (Some(1280), Some(720)));
    }
}
