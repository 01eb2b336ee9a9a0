//! A render's chunk jobs: a zoom and a slide of an overlay, built by core for two chunks that meet inside the
//! slide's animation, with the overlay's place and size measured in every frame against `motion_rect`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use vidpipe_core::job::pip::Rect;
use vidpipe_core::job::{JobContext, MediaInfo, Size, chunk_job, motion_rect};
use vidpipe_core::render::{Chunk, OverlayAnimation, RenderRequest};

use crate::media::{self, Frame};

/// The bucket the render's request names (`s3://fid/`): replace it with where the sources are.
pub const BUCKET: &str = "s3://fid/";

const WIDTH: u32 = 320;
const HEIGHT: u32 = 180;
const FPS: u32 = 30;
/// The zoom scene's frames: 15 of animation, then 17 of the still image. 17 frames are 567 ms, which an engine
/// rounding milliseconds up to frames kept for 18 frames, one into the next scene.
const ZOOM_FRAMES: usize = 32;
/// The slide scene's frames; the render's chunks meet at frame 35, inside the slide's animation.
const SLIDE_FRAMES: usize = 28;
/// The chunks: index, first frame, end frame.
const CHUNKS: [(u32, u64, u64); 2] = [(0, 0, 35), (1, 35, 60)];

/// The box of the pixels brighter than mid-grey in a frame of a white image over black, or `None` when there is none.
fn bright_box(frame: &Frame) -> Option<Rect> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (i, rgb) in frame.rgb.chunks_exact(3).enumerate() {
        if rgb[1] > 128 {
            let (x, y) = (i as u32 % frame.width, i as u32 / frame.width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (x0 != u32::MAX).then(|| Rect {
        x: x0,
        y: y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
    })
}

/// The part of `rect` inside the frame, or `None`.
fn visible(rect: Rect) -> Option<Rect> {
    let (x1, y1) = (
        (rect.x + rect.width).min(WIDTH),
        (rect.y + rect.height).min(HEIGHT),
    );
    (rect.x < x1 && rect.y < y1).then(|| Rect {
        x: rect.x,
        y: rect.y,
        width: x1 - rect.x,
        height: y1 - rect.y,
    })
}

/// Equal within one pixel on each edge and size: scaling blends the image's edge pixels into the black.
fn close(a: Option<Rect>, b: Option<Rect>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => [
            (a.x, b.x),
            (a.y, b.y),
            (a.width, b.width),
            (a.height, b.height),
        ]
        .iter()
        .all(|(p, q)| p.abs_diff(*q) <= 1),
        _ => false,
    }
}

/// A zoom in at the bottom right over 500 ms (15 frames), then a slide in from the right edge (its nearest) at the
/// centre right over 400 ms (12 frames), a 64x32 white product at a quarter of the width over black stills.
fn request() -> RenderRequest {
    let seconds = |frames: usize| frames as f64 / f64::from(FPS);
    RenderRequest::from_json(
        &serde_json::json!({
            "render_id": "motion",
            "output": {"uri": "s3://fid/renders/motion.mp4", "width": WIDTH, "height": HEIGHT, "fps": FPS},
            "scenes": [
                {"id": "zoom", "duration_s": seconds(ZOOM_FRAMES), "image": "s3://fid/black.png",
                 "overlay": {"image": "s3://fid/product.png", "x": "right", "y": "bottom", "scale": 0.25,
                             "animation": "zoom", "duration_ms": 500}},
                {"id": "slide", "duration_s": seconds(SLIDE_FRAMES), "image": "s3://fid/black.png",
                 "overlay": {"image": "s3://fid/product.png", "x": "right", "y": "center", "scale": 0.25,
                             "animation": "slide", "duration_ms": 400}}
            ]
        })
        .to_string(),
    )
    .expect("the request is valid")
}

/// Writes the render's sources into `dir` (the bucket's root): a black still and a 64x32 white product.
pub fn write_sources(dir: &Path) {
    media::write_png(&dir.join("black.png"), "black", WIDTH, HEIGHT);
    media::write_png(&dir.join("product.png"), "white", 64, 32);
}

/// One chunk's job and what it writes.
#[derive(Debug, Clone)]
pub struct ChunkJob {
    /// The CreateJob request, with [`BUCKET`] replaced.
    pub job: Value,
    /// The chunk's output key, under the folder that replaced [`BUCKET`].
    pub key: String,
    /// How many frames the chunk has.
    pub frames: u64,
}

/// Each chunk's job as core builds it (as MediaConvert gets it), with [`BUCKET`] replaced by `bucket`.
pub fn chunk_jobs(bucket: &str) -> Vec<ChunkJob> {
    let request = request();
    let product = MediaInfo {
        width: 64,
        height: 32,
        duration_ms: Some(0),
        frame_rate: None,
        has_audio: false,
        rotation: 0,
    };
    let media = BTreeMap::from([("s3://fid/product.png".to_owned(), product)]);
    let context = JobContext {
        role: "arn:aws:iam::000000000000:role/MediaConvert".into(),
        queue: None,
    };
    CHUNKS
        .iter()
        .map(|&(index, start_frame, end_frame)| {
            let chunk = Chunk {
                index,
                start_frame,
                end_frame,
            };
            // The render's work folder, named as an execution of the render id would name it.
            let chunk_uri = request.work_folder("motion").unwrap().chunk(index);
            let job = chunk_job(&context, &request, &chunk, &chunk_uri, &media).unwrap();
            let json = serde_json::to_string(&job).unwrap().replace(BUCKET, bucket);
            ChunkJob {
                job: serde_json::from_str(&json).unwrap(),
                key: chunk_uri.key().to_owned(),
                frames: end_frame - start_frame,
            }
        })
        .collect()
}

/// Checks every frame of the render (the chunks' frames, one chunk after the other): the overlay where
/// `motion_rect` puts it, in every frame, across the chunk boundary.
pub fn assert_frames(frames: &[Frame]) {
    assert_eq!(frames.len(), ZOOM_FRAMES + SLIDE_FRAMES);

    // 25 % of 320 wide with 3 % margins (10 px): 80x40, at (230, 130) bottom right and (230, 70) centre right.
    let at = |x, y| Rect {
        x,
        y,
        width: 80,
        height: 40,
    };
    let zoom = (OverlayAnimation::Zoom, at(230, 130), 15);
    let slide = (OverlayAnimation::Slide, at(230, 70), 12);
    for (index, frame) in frames.iter().enumerate() {
        let ((animation, rect, motion), in_scene) = match index.checked_sub(ZOOM_FRAMES) {
            None => (zoom, index),
            Some(in_slide) => (slide, in_slide),
        };
        let expected = visible(motion_rect(
            animation,
            rect,
            Size::new(WIDTH, HEIGHT),
            in_scene as u64,
            motion,
        ));
        let found = bright_box(frame);
        assert!(
            close(found, expected),
            "frame {index} ({animation:?} frame {in_scene}): overlay at {found:?}, expected {expected:?}"
        );
    }
    // The animations move: the zoom starts at half size; the slide starts outside the frame, then comes in.
    assert_eq!(
        bright_box(&frames[0]).map(|r| (r.width, r.height)),
        Some((40, 20))
    );
    assert_eq!(bright_box(&frames[ZOOM_FRAMES]), None);
    assert!(
        bright_box(&frames[ZOOM_FRAMES + 5]).is_some_and(|r| r.x > 230 && r.x + r.width == WIDTH)
    );
}
