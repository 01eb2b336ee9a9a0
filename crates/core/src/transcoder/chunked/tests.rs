use super::*;
use crate::job::{
    CompositeOptions, CompositeOutput, JobContext, Recording, SingleOptions, composite_job,
    single_job,
};
use crate::render::Chunk;

const SCREEN: &str = "s3://bucket/streams/s1.webm";
const CAMERA: &str = "s3://bucket/streams/s1_camera.webm";

fn context() -> JobContext {
    JobContext {
        role: "arn:aws:iam::123456789012:role/mc".into(),
        queue: None,
    }
}

fn info(width: u32, height: u32, duration_ms: u64, has_audio: bool) -> MediaInfo {
    MediaInfo {
        width,
        height,
        duration_ms: Some(duration_ms),
        frame_rate: Some(FrameRate::per_second(30)),
        has_audio,
        rotation: 0,
    }
}

fn composite(screen: &MediaInfo, camera: &MediaInfo, offset_ms: i64) -> CreateJobRequest {
    let output = CompositeOutput::new("bucket", "streams/", "s1").unwrap();
    let recording = |uri: &str, media: &MediaInfo| Recording {
        uri: uri.parse().unwrap(),
        media: media.clone(),
    };
    let options = CompositeOptions {
        camera_offset_ms: offset_ms,
        ..Default::default()
    };
    composite_job(
        &context(),
        &output,
        &recording(SCREEN, screen),
        &recording(CAMERA, camera),
        &options,
    )
    .unwrap()
}

fn media(screen: &MediaInfo, camera: &MediaInfo) -> BTreeMap<String, MediaInfo> {
    BTreeMap::from([
        (SCREEN.into(), screen.clone()),
        (CAMERA.into(), camera.clone()),
    ])
}

fn chunking() -> Chunking {
    Chunking {
        max_chunk_s: 4.0,
        min_chunk_s: 1.0,
        max_concurrency: 10,
    }
}

fn request(job: &CreateJobRequest, media: &BTreeMap<String, MediaInfo>) -> RenderRequest {
    let chunkable = ChunkableJob::of(job).unwrap();
    chunkable
        .render_request("composite-1", media, chunking())
        .unwrap()
}

/// A tile: its video, its start frame at 30 fps, and [x, y, width, height].
type Tile<'a> = (&'a str, u64, [u32; 4]);

/// Each scene as its frames and tiles.
fn stretches(request: &RenderRequest) -> Vec<(u64, Vec<Tile<'_>>)> {
    request
        .scenes
        .iter()
        .map(|scene| {
            let tiles = scene.tiles.as_ref().unwrap();
            (
                (scene.duration_s * 30.0).round() as u64,
                tiles
                    .iter()
                    .map(|t| {
                        let frame = (t.start_s * 30.0).round() as u64;
                        (t.video.as_str(), frame, [t.x, t.y, t.width, t.height])
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_composite_whose_camera_starts_late_shows_the_screen_alone_then_both() {
    let screen = info(1280, 720, 10_000, true);
    let camera = info(640, 360, 8_000, false);
    let job = composite(&screen, &camera, 2_000);
    let request = request(&job, &media(&screen, &camera));
    assert_eq!(request.output.uri, "s3://bucket/streams/s1_composited.mp4");
    assert_eq!(
        (
            request.output.width,
            request.output.height,
            request.output.fps
        ),
        (1280, 720, 30)
    );
    assert_eq!(request.total_frames(), 300);
    // The builder's rectangle: 15 % of the width, a margin of 2 % of the width, bottom right.
    let pip = [1062, 586, 192, 108];
    let full = [0, 0, 1280, 720];
    assert_eq!(
        stretches(&request),
        vec![
            (60, vec![(SCREEN, 0, full)]),
            (240, vec![(SCREEN, 60, full), (CAMERA, 0, pip)]),
        ]
    );
    assert_eq!(
        request.sounds,
        vec![PlacedSound {
            source: SCREEN.into(),
            at_s: 0.0,
            start_s: 0.0,
            duration_s: 10.0,
            volume: None,
        }],
        "the screen's sound, once over the whole timeline"
    );
}

#[test]
fn a_camera_that_started_first_is_clipped_and_leaves_before_the_screen_ends() {
    let screen = info(1920, 1080, 10_000, false);
    let camera = info(640, 360, 8_000, true);
    let job = composite(&screen, &camera, -1_500);
    let request = request(&job, &media(&screen, &camera));
    // 1920 wide is the default maximum: the output is the screen's size.
    assert_eq!((request.output.width, request.output.height), (1920, 1080));
    let pip = [1594, 880, 288, 162];
    let full = [0, 0, 1920, 1080];
    assert_eq!(
        stretches(&request),
        vec![
            (195, vec![(SCREEN, 0, full), (CAMERA, 45, pip)]),
            (105, vec![(SCREEN, 195, full)]),
        ],
        "6.5 s of camera from 1.5 s into its file"
    );
    assert!(request.sounds.is_empty(), "the screen has no sound");
}

#[test]
fn a_large_screen_is_scaled_and_the_overlay_with_it() {
    let screen = info(2560, 1440, 6_000, true);
    let camera = info(640, 360, 6_000, true);
    let job = composite(&screen, &camera, 0);
    let request = request(&job, &media(&screen, &camera));
    assert_eq!((request.output.width, request.output.height), (1920, 1080));
    let scenes = stretches(&request);
    assert_eq!(scenes.len(), 1);
    assert_eq!(
        scenes[0].1[1].2,
        [1595, 881, 288, 162],
        "the builder's rectangle on the 2560 px frame, scaled by 3/4"
    );
}

#[test]
fn a_single_source_job_is_one_stretch_and_a_browser_clock_rate_is_thirty_frames() {
    let mut source = info(640, 480, 5_000, true);
    source.frame_rate = Some(FrameRate::per_second(1000));
    let output = CompositeOutput::new("bucket", "streams/", "s1").unwrap();
    let recording = Recording {
        uri: CAMERA.parse().unwrap(),
        media: source.clone(),
    };
    let job = single_job(&context(), &output, &recording, &SingleOptions::default()).unwrap();
    let media = BTreeMap::from([(CAMERA.to_owned(), source)]);
    let request = request(&job, &media);
    assert_eq!(request.output.fps, 30);
    assert_eq!(request.total_frames(), 150);
    assert_eq!(
        stretches(&request),
        vec![(150, vec![(CAMERA, 0, [0, 0, 640, 480])])]
    );
    assert_eq!(request.sounds.len(), 1);
}

#[test]
fn every_chunk_of_the_layout_builds_a_job() {
    let screen = info(1280, 720, 10_000, true);
    let camera = info(640, 360, 8_000, false);
    let job = composite(&screen, &camera, 2_000);
    let media = media(&screen, &camera);
    let request = request(&job, &media);
    let chunks = request.plan().unwrap();
    assert_eq!(
        chunks
            .iter()
            .map(|c| (c.start_frame, c.end_frame))
            .collect::<Vec<_>>(),
        vec![(0, 60), (60, 180), (180, 300)],
        "chunks of at most 4 s, cut where the camera appears"
    );
    for chunk in &chunks {
        let uri: crate::s3uri::S3Uri = format!("s3://bucket/work/{:05}.mp4", chunk.index)
            .parse()
            .unwrap();
        let built = crate::job::chunk_job(&context(), &request, chunk, &uri, &media).unwrap();
        assert!(built.settings.inputs.is_some());
    }
    let _: Chunk = chunks[0];
}

#[test]
fn other_shapes_and_unknown_lengths_run_whole() {
    let screen = info(1280, 720, 10_000, true);
    let camera = info(640, 360, 8_000, false);
    let job = composite(&screen, &camera, 0);
    let refused = |edit: &dyn Fn(&mut CreateJobRequest)| {
        let mut changed = job.clone();
        edit(&mut changed);
        ChunkableJob::of(&changed).err()
    };
    fn input(job: &mut CreateJobRequest) -> &mut Input {
        &mut job.settings.inputs.as_mut().unwrap()[0]
    }
    assert!(
        refused(&|j| {
            let second = input(j).clone();
            j.settings.inputs.as_mut().unwrap().push(second);
        })
        .is_some()
    );
    assert!(refused(&|j| input(j).input_clippings = Some(vec![Default::default()])).is_some());
    assert!(
        refused(&|j| {
            input(j).video_overlays.as_mut().unwrap()[0].playback =
                Some(VideoOverlayPlayback::Repeat);
        })
        .is_some()
    );
    assert!(
        refused(&|j| {
            let overlay = &mut input(j).video_overlays.as_mut().unwrap()[0];
            overlay.initial_position.as_mut().unwrap().opacity = Some(50);
        })
        .is_some()
    );
    assert!(
        refused(&|j| {
            let group = &mut j.settings.output_groups.as_mut().unwrap()[0];
            group.output_group_settings.as_mut().unwrap().group_type =
                Some(OutputGroupType::HlsGroupSettings);
        })
        .is_some()
    );
    assert_eq!(
        refused(&|_| {}),
        None,
        "the builder's own shape is laid out"
    );

    let mut unknown = screen.clone();
    unknown.duration_ms = None;
    let chunkable = ChunkableJob::of(&job).unwrap();
    assert_eq!(chunkable.sources(), vec![SCREEN, CAMERA]);
    let error = chunkable
        .render_request("c", &media(&unknown, &camera), chunking())
        .unwrap_err();
    assert!(error.0.contains("length"), "{error}");
    let error = chunkable
        .render_request("c", &BTreeMap::new(), chunking())
        .unwrap_err();
    assert!(error.0.contains("not probed"), "{error}");
}
