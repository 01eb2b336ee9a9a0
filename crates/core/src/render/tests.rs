use super::*;

const EXAMPLE: &str = r#"{
  "render_id": "promo-42",
  "output": {"uri": "s3://bucket/renders/promo-42.mp4", "width": 1920, "height": 1080, "fps": 30},
  "scenes": [
    {"id": "intro", "duration_s": 4.0, "image": "s3://bucket/assets/title.png"},
    {"id": "demo", "duration_s": 95.5, "video": "s3://bucket/assets/demo.mp4", "start_s": 12.0,
     "overlay": {"image": "s3://bucket/assets/product.png", "x": "right", "y": "bottom", "scale": 0.3, "fade_ms": 500}}
  ],
  "soundtrack": {"voiceover": "s3://bucket/assets/vo.mp3", "music": "s3://bucket/assets/bed.mp3", "music_volume": 0.15},
  "chunking": {"max_chunk_s": 120, "min_chunk_s": 10, "max_concurrency": 10},
  "renderer": "mediaconvert"
}"#;

fn example() -> serde_json::Value {
    // The request of the issue, as JSON to edit.
    serde_json::from_str(EXAMPLE).unwrap()
}

/// The request of the issue, edited by `edit`.
pub(crate) fn example_with(edit: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut value = example();
    edit(&mut value);
    value
}

fn problems(value: serde_json::Value) -> Vec<String> {
    match RenderRequest::from_json(&value.to_string()) {
        Err(RenderError::Invalid(problems)) => problems.iter().map(Problem::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn the_issue_example_is_valid_and_round_trips() {
    let request = RenderRequest::from_json(EXAMPLE).unwrap();
    assert_eq!(request.scene_frames(), vec![120, 2865]);
    assert_eq!(request.total_frames(), 2985);
    assert_eq!(request.renderer, Renderer::MediaConvert);
    let back = RenderRequest::from_json(&serde_json::to_string(&request).unwrap()).unwrap();
    assert_eq!(back, request);
}

#[test]
fn a_lambda_renderer_and_defaults_are_accepted() {
    let mut value = example();
    value["renderer"] = serde_json::json!({"lambda": "arn:aws:lambda:us-east-1:123456789012:function:custom-renderer"});
    value.as_object_mut().unwrap().remove("chunking");
    let request = RenderRequest::from_json(&value.to_string()).unwrap();
    assert!(
        matches!(request.renderer, Renderer::Lambda(ref arn) if arn.ends_with(":custom-renderer"))
    );
    assert_eq!(request.chunking, Chunking::default());
}

#[test]
fn unknown_fields_are_rejected_by_name() {
    let mut value = example();
    value["scenes"][0]["transition"] = "fade".into();
    let err = RenderRequest::from_json(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `transition`"), "{err}");
}

#[test]
fn every_problem_is_named_at_once() {
    let mut value = example();
    value["output"]["width"] = 1921.into();
    value["output"]["height"] = 16.into();
    value["scenes"][0]["duration_s"] = 0.0.into();
    value["scenes"][1]["video"] = "https://example.com/demo.mp4".into();
    value["scenes"][1]["overlay"]["image"] = "s3://bucket/assets/product.jpg".into();
    value["scenes"][1]["overlay"]["scale"] = 1.5.into();
    value["soundtrack"]["music_volume"] = 2.0.into();
    value["chunking"]["min_chunk_s"] = 500.into();
    let found = problems(value);
    let expected = [
        "output.width: 1921 must be even",
        "output.height: 16 must be even and within 32..=8192",
        "scenes[0].duration_s: 0 must be a number > 0",
        "scenes[1].video: unsupported source",
        "scenes[1].overlay.image: unsupported source",
        "scenes[1].overlay.scale: 1.5",
        "soundtrack.music_volume: 2",
        "chunking.min_chunk_s: must not exceed max_chunk_s",
    ];
    for want in expected {
        assert!(
            found.iter().any(|p| p.starts_with(want)),
            "missing `{want}` in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn sources_must_be_one_of_image_or_video() {
    let mut value = example();
    value["scenes"][0]["video"] = "s3://bucket/assets/demo.mp4".into();
    value["scenes"][1].as_object_mut().unwrap().remove("video");
    let found = problems(value);
    assert!(
        found
            .iter()
            .any(|p| p.contains("either `image` or `video`, not both")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("needs an `image`, a `video` or `tiles`")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("scenes[1].start_s: applies to video scenes only")),
        "{found:?}"
    );
}

/// Found by fuzzing (fuzz/corpus/render_request/regression-start-beyond-timecodes.json): a `start_s` of 2^64
/// passed validation, then overflowed the chunk job's source frame numbers.
#[test]
fn a_scene_ending_past_24_hours_into_its_video_is_rejected() {
    let at_the_limit =
        example_with(|v| v["scenes"][1]["start_s"] = (MAX_TOTAL_SECONDS - 95.5).into());
    assert!(RenderRequest::from_json(&at_the_limit.to_string()).is_ok());
    for start in [MAX_TOTAL_SECONDS - 95.0, 18_446_744_073_709_551_615.0] {
        let found = problems(example_with(|v| v["scenes"][1]["start_s"] = start.into()));
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("scenes[1].start_s: the scene would end")
                    && p.contains("past the 24 hours")),
            "{found:?}"
        );
    }
}

/// Found by fuzzing (fuzz/corpus/render_request/regression-nul-in-source.json): a source URI holding NUL passed
/// validation, and its chunk jobs named a file no engine can open.
#[test]
fn uris_holding_control_characters_are_rejected() {
    let found = problems(example_with(|v| {
        v["output"]["uri"] = "s3://bucket/renders/promo\u{1}.mp4".into();
        v["scenes"][0]["image"] = "s3://bucket/assets/ti\0tle.png".into();
        v["scenes"][1]["overlay"]["image"] = "s3://bucket/assets/product\n.png".into();
        v["soundtrack"]["music"] = "s3://bucket/assets/bed\t.mp3".into();
    }));
    for field in [
        "output.uri",
        "scenes[0].image",
        "scenes[1].overlay.image",
        "soundtrack.music",
    ] {
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(&format!("{field}: ")) && p.contains("control character")),
            "{field}: {found:?}"
        );
    }
}

#[test]
fn uris_with_dot_segments_are_rejected_and_dots_in_names_are_not() {
    let found = problems(example_with(|v| {
        v["output"]["uri"] = "s3://bucket/renders/../promo.mp4".into();
        v["scenes"][1]["video"] = "s3://bucket/assets/./demo.mp4".into();
        v["soundtrack"]["voiceover"] = "s3://bucket/..".into();
        v["scenes"][0]["image"] = "s3://bucket/assets/..title..png".into();
    }));
    assert_eq!(found.len(), 3, "{found:?}");
    for field in ["output.uri", "scenes[1].video", "soundtrack.voiceover"] {
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(&format!("{field}: ")) && p.contains("`..` key segment")),
            "{field}: {found:?}"
        );
    }
}

#[test]
fn more_than_ten_thousand_scenes_is_rejected() {
    let mut value = example();
    let scene = value["scenes"][0].clone();
    value["scenes"] = serde_json::Value::Array(
        (0..=MAX_SCENES)
            .map(|i| {
                let mut s = scene.clone();
                s["id"] = format!("s{i}").into();
                s["duration_s"] = 0.5.into();
                s
            })
            .collect(),
    );
    let found = problems(value);
    assert_eq!(
        found,
        vec!["scenes: 10001 scenes is more than 10000".to_owned()]
    );
}

#[test]
fn duplicate_ids_bad_render_ids_and_bad_arns_are_named() {
    let mut value = example();
    value["render_id"] = "promo 42/x".into();
    value["scenes"][1]["id"] = "intro".into();
    value["renderer"] = serde_json::json!({"lambda": "my-function"});
    let found = problems(value);
    assert!(
        found.iter().any(|p| p.starts_with("render_id:")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("scenes[1].id: `intro` is used")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.starts_with("renderer.lambda:")),
        "{found:?}"
    );
}

#[test]
fn a_chunk_resolves_into_the_scene_segments_it_covers() {
    let request = RenderRequest::from_json(EXAMPLE).unwrap();
    let segments = request
        .resolve_chunk(&Chunk {
            index: 0,
            start_frame: 100,
            end_frame: 1000,
        })
        .unwrap();
    assert_eq!(
        segments,
        vec![
            SceneSegment {
                scene_index: 0,
                start_in_scene: 100,
                frames: 20,
                scene_frames: 120
            },
            SceneSegment {
                scene_index: 1,
                start_in_scene: 0,
                frames: 880,
                scene_frames: 2865
            },
        ]
    );
    assert!(!segments[0].at_scene_start() && segments[0].at_scene_end());
    assert!(segments[1].at_scene_start() && !segments[1].at_scene_end());
    // Chunks that tile the video cover every frame once.
    let bounds = [0, 7, 120, 121, 2000, 2985];
    let covered: u64 = bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let chunk = Chunk {
                index: i as u32,
                start_frame: w[0],
                end_frame: w[1],
            };
            request
                .resolve_chunk(&chunk)
                .unwrap()
                .iter()
                .map(|s| s.frames)
                .sum::<u64>()
        })
        .sum();
    assert_eq!(covered, request.total_frames());
}

#[test]
fn chunks_outside_the_video_are_named_errors() {
    let request = RenderRequest::from_json(EXAMPLE).unwrap();
    for (start, end, reason) in [
        (10, 10, "it holds no frame"),
        (0, 2986, "it ends after the video"),
    ] {
        let err = request
            .resolve_chunk(&Chunk {
                index: 2,
                start_frame: start,
                end_frame: end,
            })
            .unwrap_err();
        assert!(
            matches!(err, RenderError::InvalidChunk { reason: r, total_frames: 2985, .. } if r == reason),
            "{err}"
        );
    }
}

#[test]
fn video_scenes_have_their_sound_at_their_place_unless_muted() {
    let value = example_with(|v| {
        v["scenes"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"id": "quiet", "duration_s": 1.0,
                "video": "s3://bucket/assets/b-roll.mp4", "volume": 0.5}));
        v["scenes"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"id": "muted", "duration_s": 2.0,
                "video": "s3://bucket/assets/b-roll.mp4", "volume": 0}));
    });
    let request = RenderRequest::from_json(&value.to_string()).unwrap();
    let sounds = request.scene_sounds();
    assert_eq!(
        sounds,
        vec![
            SceneSound {
                scene_index: 1,
                video: "s3://bucket/assets/demo.mp4".into(),
                start_s: 12.0,
                start_frame: 120,
                frames: 2865,
                volume: 1.0,
            },
            SceneSound {
                scene_index: 2,
                video: "s3://bucket/assets/b-roll.mp4".into(),
                start_s: 0.0,
                start_frame: 2985,
                frames: 30,
                volume: 0.5,
            },
        ]
    );
}

#[test]
fn volume_and_ducking_are_checked_by_name() {
    let found = problems(example_with(|v| {
        v["scenes"][0]["volume"] = 0.5.into();
        v["scenes"][1]["volume"] = 2.5.into();
        v["soundtrack"]["ducking"] = serde_json::json!({"threshold_db": 3, "ratio": 0.5,
            "attack_ms": 0, "release_ms": 10000});
    }));
    assert_eq!(
        found,
        [
            "scenes[0].volume: applies to video scenes only",
            "scenes[1].volume: 2.5 must be within [0, 2]",
            "soundtrack.ducking.threshold_db: 3 must be within [-60, 0]",
            "soundtrack.ducking.ratio: 0.5 must be within [1, 20]",
            "soundtrack.ducking.attack_ms: 0 must be within 1..=2000",
            "soundtrack.ducking.release_ms: 10000 must be within 10..=9000",
        ]
    );
    let partial = example_with(|v| v["soundtrack"]["ducking"] = serde_json::json!({"ratio": 1}));
    let request = RenderRequest::from_json(&partial.to_string()).unwrap();
    let ducking = request.soundtrack.unwrap().ducking.unwrap();
    assert!(!ducking.is_on());
    assert_eq!(ducking.release_ms, Ducking::default().release_ms);
}

#[test]
fn overlay_animations_default_to_fade_and_are_checked_by_name() {
    let request = RenderRequest::from_json(EXAMPLE).unwrap();
    let overlay = request.scenes[1].overlay.as_ref().unwrap();
    assert_eq!(
        (overlay.animation, overlay.animation_ms()),
        (OverlayAnimation::Fade, 500)
    );
    let zoom = example_with(|v| {
        v["scenes"][1]["overlay"] = serde_json::json!({"image": "s3://bucket/assets/product.png", "x": "right",
            "y": "bottom", "scale": 0.3, "animation": "zoom", "duration_ms": 400});
    });
    let request = RenderRequest::from_json(&zoom.to_string()).unwrap();
    assert_eq!(
        request.scenes[1].overlay.as_ref().unwrap().animation,
        OverlayAnimation::Zoom
    );
    let found = problems(example_with(|v| {
        v["scenes"][0]["duration_s"] = 0.5.into();
        v["scenes"][0]["overlay"] = serde_json::json!({"image": "s3://bucket/assets/product.png", "x": "left",
            "y": "top", "scale": 0.3, "animation": "slide", "duration_ms": 600});
        v["scenes"][1]["overlay"]["animation"] = "zoom".into();
        v["scenes"][1]["overlay"]["duration_ms"] = 2500.into();
    }));
    assert_eq!(
        found,
        [
            "scenes[0].overlay.duration_ms: the animation is longer than the scene",
            "scenes[1].overlay.fade_ms: give `duration_ms` or (for a fade) `fade_ms`, not both",
            "scenes[1].overlay.fade_ms: applies to `animation: fade` only; use `duration_ms`",
            "scenes[1].overlay.duration_ms: 2500 ms is 75 frames at 30 fps; a zoom or slide lasts at most 60 \
             frames (one overlay image each)",
        ]
    );
    let unknown = example_with(|v| v["scenes"][1]["overlay"]["animation"] = "spin".into());
    let err = RenderRequest::from_json(&unknown.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `spin`"), "{err}");
}

#[test]
fn tiles_and_placed_sounds_are_checked_by_path() {
    let found = problems(example_with(|v| {
        v["scenes"][0] = serde_json::json!({"id": "call", "duration_s": 4.0, "image": "s3://bucket/a.png",
            "tiles": [{"video": "s3://bucket/a.webm", "x": 1800, "y": 0, "width": 240, "height": 135},
                      {"video": "s3://bucket/a.txt", "start_s": -1, "x": 0, "y": 1000, "width": 2, "height": 2}]});
        v["sounds"] = serde_json::json!([
            {"source": "s3://bucket/a.webm", "at_s": 1.0, "duration_s": 200.0},
            {"source": "s3://bucket/b.webm", "at_s": 0.0, "duration_s": 1.0, "volume": 0}]);
    }));
    assert_eq!(
        found
            .iter()
            .map(|p| p.split(": ").next().unwrap())
            .collect::<Vec<_>>(),
        [
            "scenes[0].tiles",
            "scenes[0].tiles[0].height",
            "scenes[0].tiles[0].x",
            "scenes[0].tiles[1].video",
            "scenes[0].tiles[1].start_s",
            "sounds[0].duration_s",
            "sounds[1].volume",
        ],
        "{found:?}"
    );
    let request = RenderRequest::from_json(
        &example_with(|v| {
            v["scenes"][0] = serde_json::json!({"id": "call", "duration_s": 4.0,
                "tiles": [{"video": "s3://bucket/a.webm", "x": 0, "y": 0, "width": 960, "height": 540}]});
            v["sounds"] = serde_json::json!([{"source": "s3://bucket/a.webm", "at_s": 1.0, "duration_s": 2.0}]);
        })
        .to_string(),
    )
    .unwrap();
    let placed = request.scene_sounds().pop().unwrap();
    assert_eq!(
        (
            placed.scene_index,
            placed.start_frame,
            placed.frames,
            placed.volume
        ),
        (0, 30, 60, 1.0)
    );
    assert!(
        request
            .sources()
            .contains(&("scenes[0].tiles[0].video".into(), "s3://bucket/a.webm"))
    );
    assert!(
        request
            .sources()
            .contains(&("sounds[0].source".into(), "s3://bucket/a.webm"))
    );
}

#[test]
fn thumbnails_are_a_folder_and_a_count_checked_by_path() {
    let with =
        |thumbnails: serde_json::Value| example_with(|v| v["output"]["thumbnails"] = thumbnails);
    let request = RenderRequest::from_json(
        &with(serde_json::json!({"uri": "s3://bucket/thumbs/", "count": 20})).to_string(),
    )
    .unwrap();
    assert_eq!(request.output.thumbnails.unwrap().count, MAX_THUMBNAILS);
    assert_eq!(thumbnail_name(1), "thumb_0001.jpg");
    assert_eq!(
        problems(with(
            serde_json::json!({"uri": "s3://bucket/thumbs", "count": 0})
        )),
        [
            "output.thumbnails.uri: must name a folder (end with `/`)",
            "output.thumbnails.count: 0 must be within 1..=20"
        ]
    );
    assert_eq!(
        problems(with(
            serde_json::json!({"uri": "s3://bucket/a/../b/", "count": 21})
        ))
        .len(),
        2
    );
    let unknown = with(serde_json::json!({"uri": "s3://bucket/t/", "count": 1, "width": 9}));
    assert!(matches!(
        RenderRequest::from_json(&unknown.to_string()),
        Err(RenderError::Shape(_))
    ));
}
