//! The render chunk builder.

use super::*;

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
        &chunk_at(&request, index),
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
        &chunk_at(&request, 0),
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
        &chunk_at(&request, 0),
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
        &chunk_at(&request, 3),
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

#[test]
fn a_tiled_scene_is_black_with_one_overlay_per_tile_clipped_to_the_chunk_and_to_its_video() {
    let request = RenderRequest::from_json(
        r#"{"render_id": "export-1",
            "output": {"uri": "s3://calls/exports/export-1.mp4", "width": 1280, "height": 720, "fps": 30},
            "scenes": [{"id": "grid", "duration_s": 4.0, "tiles": [
                {"video": "s3://calls/a.webm", "start_s": 1.0, "x": 0, "y": 180, "width": 640, "height": 360},
                {"video": "s3://calls/b.webm", "x": 640, "y": 180, "width": 640, "height": 360}]}]}"#,
    )
    .unwrap();
    // b.webm lasts 2.5 s: it ends inside the second chunk, and before the third.
    let mut short = info(640, 360, true);
    short.duration_ms = Some(2_500);
    let media = BTreeMap::from([
        ("s3://calls/a.webm".to_owned(), info(640, 360, true)),
        ("s3://calls/b.webm".to_owned(), short),
    ]);
    let job = |index, start_frame, end_frame| {
        let chunk = Chunk {
            index,
            start_frame,
            end_frame,
        };
        chunk_job(&ctx(), &request, &chunk, &chunk_at(&request, index), &media).unwrap()
    };
    let overlays = |job: &CreateJobRequest| {
        let input = &job.settings.inputs.as_ref().unwrap()[0];
        let generator = input.video_generator.as_ref().unwrap();
        assert_eq!((generator.width, generator.height), (Some(1280), Some(720)));
        assert!(input.file_input.is_none() && input.image_inserter.is_none());
        input
            .video_overlays
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|o| {
                assert_eq!(o.playback, Some(VideoOverlayPlayback::Once));
                let at = o.initial_position.unwrap();
                assert_eq!(at.unit, Some(VideoOverlayUnit::Pixels));
                let input = o.input.unwrap();
                let clip = input.input_clippings.unwrap().remove(0);
                (
                    input.file_input.unwrap(),
                    clip.start_timecode.unwrap(),
                    clip.end_timecode.unwrap(),
                    (at.x_position, at.width),
                )
            })
            .collect::<Vec<_>>()
    };
    let first = overlays(&job(0, 0, 60));
    assert_eq!(
        first,
        [
            (
                "s3://calls/a.webm".into(),
                "00:00:01:00".into(),
                "00:00:02:29".into(),
                (Some(0), Some(640))
            ),
            (
                "s3://calls/b.webm".into(),
                "00:00:00:00".into(),
                "00:00:01:29".into(),
                (Some(640), Some(640))
            ),
        ]
    );
    let second = overlays(&job(1, 60, 90));
    assert_eq!(
        (second[1].1.as_str(), second[1].2.as_str()),
        ("00:00:02:00", "00:00:02:14")
    );
    let third = overlays(&job(2, 90, 120));
    assert_eq!(third.len(), 1, "b.webm has ended: its tile is left out");
}
