//! The render request: parsing and validation, the chunk plan, and a chunk's MediaConvert job through the engine's
//! planner.

use std::collections::BTreeMap;

use vidpipe_core::job::{FrameRate, JobContext, MediaInfo, chunk_job};
use vidpipe_core::render::plan::{MAX_CHUNKS, MAX_INPUTS_PER_JOB};
use vidpipe_core::render::{Chunk, RenderRequest};

use crate::plan::{assumed, check_planned};

/// Checks a render request: parsing never panics and refuses with a `RenderError` (by its type); a valid request
/// serialised and read again is the same request, and its own JSON is valid; its chunk plan, when it has one,
/// covers the video's frames in order with chunks of at most 150 scene segments each, every chunk resolves and has
/// an output location; and the first and last chunks' MediaConvert jobs, when the builder makes them, are jobs the
/// engine plans.
pub fn render_request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = RenderRequest::from_json(text) else {
        return;
    };
    let value = serde_json::to_value(&request).expect("a request serialises");
    let again: RenderRequest = serde_json::from_value(value).expect("a serialised request reads");
    assert_eq!(again, request);
    let own = serde_json::to_string(&request).expect("a request serialises");
    if let Err(e) = RenderRequest::from_json(&own) {
        panic!("a valid request's own JSON is refused: {e}\n{own}");
    }
    let Ok(chunks) = request.plan() else { return };
    chunks_cover_the_video(&request, &chunks);
    let media = media(&request);
    let context = JobContext {
        role: "arn:aws:iam::123456789012:role/MediaConvert".into(),
        queue: None,
    };
    let work = request
        .work_folder("fuzz")
        .unwrap_or_else(|e| panic!("a planned request has no work folder: {e}"));
    for chunk in [chunks.first(), chunks.last()].into_iter().flatten() {
        let Ok(job) = chunk_job(&context, &request, chunk, &work.chunk(chunk.index), &media) else {
            continue;
        };
        let job = serde_json::to_value(&job).expect("a job serialises");
        let fps = i32::try_from(request.output.fps).expect("fps is at most 120");
        let readable = |uri: &str| Some(assumed(uri, fps, longest(&request)));
        if let Err(failure) = check_planned(&job, readable) {
            panic!(
                "the engine refuses chunk {} of a valid request: {failure}\n{job}",
                chunk.index
            );
        }
    }
}

fn chunks_cover_the_video(request: &RenderRequest, chunks: &[Chunk]) {
    assert!(!chunks.is_empty() && chunks.len() as u64 <= MAX_CHUNKS);
    let mut next = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.index as usize, index);
        assert_eq!(
            chunk.start_frame, next,
            "chunk {index} leaves a gap or overlaps"
        );
        assert!(
            chunk.end_frame > chunk.start_frame,
            "chunk {index} is empty"
        );
        next = chunk.end_frame;
        let segments = request
            .resolve_chunk(chunk)
            .unwrap_or_else(|e| panic!("a planned chunk does not resolve: {e}"));
        assert!(segments.len() <= MAX_INPUTS_PER_JOB);
        let frames: u64 = segments.iter().map(|s| s.frames).sum();
        assert_eq!(frames, chunk.end_frame - chunk.start_frame);
    }
    assert_eq!(next, request.total_frames(), "the chunks stop short");
}

/// Seconds of the longest source a request may need: every video is assumed to be this long, so no scene or tile
/// runs past the end of its source.
fn longest(request: &RenderRequest) -> f64 {
    let needed = request
        .scenes
        .iter()
        .flat_map(|s| {
            let tiles = s.tiles.iter().flatten().map(|t| t.start_s);
            s.start_s
                .into_iter()
                .chain(tiles)
                .chain([0.0])
                .map(move |start| start + s.duration_s)
        })
        .fold(0.0, f64::max);
    needed + 1.0
}

/// Probe results for every source, as the chunker gathers them: images 640x360, videos 1280x720 at the output rate
/// and [`longest`] seconds long.
fn media(request: &RenderRequest) -> BTreeMap<String, MediaInfo> {
    let video = MediaInfo {
        width: 1280,
        height: 720,
        duration_ms: Some((longest(request) * 1000.0).ceil() as u64),
        frame_rate: Some(FrameRate::per_second(request.output.fps)),
        has_audio: true,
        rotation: 0,
    };
    let image = MediaInfo {
        width: 640,
        height: 360,
        duration_ms: Some(0),
        frame_rate: None,
        has_audio: false,
        rotation: 0,
    };
    let mut media = BTreeMap::new();
    for scene in &request.scenes {
        let tiles = scene.tiles.iter().flatten().map(|t| &t.video);
        for uri in scene.video.iter().chain(tiles) {
            media.insert(uri.clone(), video.clone());
        }
        for uri in scene
            .image
            .iter()
            .chain(scene.overlay.as_ref().map(|o| &o.image))
        {
            media.insert(uri.clone(), image.clone());
        }
    }
    media
}
