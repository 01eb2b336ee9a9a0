//! Builder c: one chunk of a render request, frame-exact, joinable without re-encoding.
//!
//! # Chunk container: MP4
//! Each chunk is a self-contained MP4 (H.264, video only). The MP4 index states every frame's timestamp, so the
//! frame count of a chunk is read back exactly (`ffprobe -count_packets`), and ffmpeg's concat demuxer joins the
//! chunks with `-c copy`, offsetting timestamps by each chunk's exact duration. MPEG-TS was the alternative: it
//! concatenates byte-wise, but MediaConvert gives each TS its own PTS offset and the durations are only implied by
//! packet timing, so joins need timestamp repair and frame counts are not written anywhere. The encoder settings
//! are the same for every chunk of a request (size, frame rate, profile, level, GOP, rate control), every GOP is
//! closed, there are no B-frames (so no composition offsets or edit lists), and each chunk starts with an IDR
//! frame: the chunks' streams share one parameter set and join into one valid stream.

use super::encoding::{h264, h264_qvbr, mp4_file_group, video};
use super::pip::{Rect, place};
use super::*;
use crate::render::{Chunk, OverlayAnimation, RenderRequest, SceneSegment, SceneTile, ZOOM_FROM};
use crate::s3uri::S3Uri;

/// The container of every chunk (see the module documentation for why).
pub const CHUNK_CONTAINER: ContainerType = ContainerType::Mp4;

/// QVBR quality of chunks: they are encoded once and joined without re-encoding, so a notch above composites.
const QUALITY: i32 = 8;

/// GOP length of chunks, in seconds of output frames.
const GOP_SECONDS: u32 = 2;

/// Margin of product overlays to the frame edges, as a fraction of the output width.
const OVERLAY_MARGIN: f64 = 0.03;

/// Most overlay images in one chunk: layers 1 to 99 of the output's image inserter.
pub const MAX_OVERLAY_IMAGES: usize = 99;

/// The MediaConvert job rendering `chunk` of `request` to `destination` (`….mp4`: the chunk's place in its render's
/// work folder, [`crate::render::scope::WorkFolder::chunk`], planned by the chunker).
///
/// `media` holds probe results by source URI. Overlay images need theirs (their size places them); a video
/// source without one is taken to run at the output frame rate (its in and out frames are counted in its own
/// frames, so a source at another rate needs its probe results to be clipped frame-exactly).
pub fn chunk_job(
    context: &JobContext,
    request: &RenderRequest,
    chunk: &Chunk,
    destination: &S3Uri,
    media: &BTreeMap<String, MediaInfo>,
) -> Result<CreateJobRequest, JobError> {
    request.validate()?;
    let segments = request.resolve_chunk(chunk)?;
    let size = Size::new(request.output.width, request.output.height);
    let rate = FrameRate::per_second(request.output.fps);

    let mut inputs = Vec::with_capacity(segments.len());
    let mut images = Vec::new();
    let mut chunk_frame = 0;
    for segment in &segments {
        inputs.push(segment_input(request, segment, size, rate, media)?);
        images.extend(overlay_images(
            request,
            segment,
            chunk_frame,
            size,
            rate,
            media,
        )?);
        chunk_frame += segment.frames;
    }
    // Every image of an inserter has its own layer (0..=99); their times never overlap, so the order is free.
    if images.len() > MAX_OVERLAY_IMAGES {
        return Err(JobError::InvalidOption(format!(
            "chunk {} needs {} overlay images (animation frames included); an image inserter takes at most \
             {MAX_OVERLAY_IMAGES}: shorten the zoom or slide animations of its scenes or the chunks",
            chunk.index,
            images.len()
        )));
    }
    for (layer, image) in (1..).zip(images.iter_mut()) {
        image.layer = Some(layer);
    }

    let mut description = video(size, h264(chunk_h264(size, request.output.fps)));
    // Every chunk must have the render's exact size to be joined without re-encoding: a source of another aspect
    // ratio (a portrait phone recording in a landscape render) is letterboxed, where FIT would shrink the output.
    description.scaling_behavior = Some(ScalingBehavior::Default);
    if !images.is_empty() {
        description.video_preprocessors = Some(VideoPreprocessors {
            image_inserter: Some(ImageInserter {
                insertable_images: Some(images),
            }),
        });
    }
    let chunk_uri = destination;
    let destination = chunk_uri.to_string();
    let destination = destination
        .strip_suffix(".mp4")
        .unwrap_or(&destination)
        .to_owned();
    let output = Output {
        video_description: Some(description),
        ..Default::default()
    };
    let settings = JobSettings {
        inputs: Some(inputs),
        timecode_config: Some(TimecodeConfig {
            source: Some(TimecodeSource::Zerobased),
            ..Default::default()
        }),
        output_groups: Some(vec![mp4_file_group("Chunk", destination, output)]),
    };
    let metadata = BTreeMap::from([
        ("render_id".to_owned(), request.render_id.clone()),
        ("chunk_index".to_owned(), chunk.index.to_string()),
        ("start_frame".to_owned(), chunk.start_frame.to_string()),
        ("end_frame".to_owned(), chunk.end_frame.to_string()),
        ("output_uri".to_owned(), chunk_uri.to_string()),
    ]);
    Ok(finish(context, JobKind::Chunk, settings, metadata, None))
}

/// The frames of a video source that `frames` output frames at `rate` show, starting `start_in_scene` frames into
/// a scene that begins `start_s` into the source: the first source frame and the count, in the source's own frames.
fn source_span(
    start_s: Option<f64>,
    start_in_scene: u64,
    frames: u64,
    source_rate: FrameRate,
    rate: FrameRate,
) -> (u64, u64) {
    let ratio = source_rate.fps() / rate.fps();
    let scene_start = (start_s.unwrap_or(0.0) * source_rate.fps()).round() as u64;
    let first = scene_start + (start_in_scene as f64 * ratio).round() as u64;
    let count = ((frames as f64 * ratio).round() as u64).max(1);
    (first, count)
}

/// Every video scene of `request` whose probed source is too short for it (`start_s` plus the scene's length past
/// the video's last frame), described one per line; empty when all fit. Scenes without probe results, or whose
/// probe states no duration, are skipped: their chunk job then ends where the video ends, and the assembler refuses
/// the short chunk (`ChunkMismatch`).
pub fn short_video_scenes(
    request: &RenderRequest,
    media: &BTreeMap<String, MediaInfo>,
) -> Vec<String> {
    let rate = FrameRate::per_second(request.output.fps);
    request
        .scenes
        .iter()
        .zip(request.scene_frames())
        .enumerate()
        .filter_map(|(index, (scene, frames))| {
            let uri = scene.video.as_ref()?;
            let info = media.get(uri)?;
            let duration_ms = info.duration_ms?;
            let source_rate = info.frame_rate_or_fallback();
            let available = (duration_ms as f64 * source_rate.fps() / 1000.0).round() as u64;
            let (first, count) = source_span(scene.start_s, 0, frames, source_rate, rate);
            (first + count > available).then(|| {
                format!(
                    "scenes[{index}] ({:?}): needs frames {first} to {} of {uri} ({:.3} s from start_s {}), but \
                     the video has {available} frames ({:.3} s at {:.3} fps)",
                    scene.id,
                    first + count - 1,
                    count as f64 / source_rate.fps(),
                    scene.start_s.unwrap_or(0.0),
                    duration_ms as f64 / 1000.0,
                    source_rate.fps()
                )
            })
        })
        .collect()
}

/// The input of one segment: a clipped video, or a generated video with the still image over the full frame.
fn segment_input(
    request: &RenderRequest,
    segment: &SceneSegment,
    size: Size,
    rate: FrameRate,
    media: &BTreeMap<String, MediaInfo>,
) -> Result<Input, JobError> {
    let scene = &request.scenes[segment.scene_index];
    if let Some(video_uri) = &scene.video {
        let source_rate = match media.get(video_uri) {
            Some(info) => {
                check_media(video_uri, info)?;
                info.frame_rate_or_fallback()
            }
            None => rate,
        };
        let (first, count) = source_span(
            scene.start_s,
            segment.start_in_scene,
            segment.frames,
            source_rate,
            rate,
        );
        return Ok(Input {
            file_input: Some(video_uri.clone()),
            timecode_source: Some(InputTimecodeSource::Zerobased),
            video_selector: Some(VideoSelector {
                rotate: Some(InputRotate::Auto),
                pad_video: None,
            }),
            input_clippings: Some(vec![InputClipping {
                start_timecode: Some(timecode(first, source_rate)?),
                end_timecode: Some(timecode(first + count - 1, source_rate)?),
            }]),
            ..Default::default()
        });
    }
    let duration_ms = rate.ms_of_frames(segment.frames);
    let duration = i32::try_from(duration_ms)
        .ok()
        .filter(|ms| (1..=86_400_000).contains(ms))
        .ok_or(JobError::DurationOutOfRange(duration_ms))?;
    let generated = Input {
        video_generator: Some(InputVideoGenerator {
            duration: Some(duration),
            width: Some(size.width as i32),
            height: Some(size.height as i32),
            framerate_numerator: Some(rate.numerator as i32),
            framerate_denominator: Some(rate.denominator as i32),
            ..Default::default()
        }),
        timecode_source: Some(InputTimecodeSource::Zerobased),
        ..Default::default()
    };
    if let Some(tiles) = &scene.tiles {
        let mut overlays = Vec::with_capacity(tiles.len());
        for tile in tiles {
            overlays.extend(tile_overlay(tile, segment, rate, media)?);
        }
        return Ok(Input {
            video_overlays: (!overlays.is_empty()).then_some(overlays),
            ..generated
        });
    }
    let image = scene.image.clone().unwrap_or_default();
    Ok(Input {
        image_inserter: Some(ImageInserter {
            insertable_images: Some(vec![InsertableImage {
                image_inserter_input: Some(image),
                image_x: Some(0),
                image_y: Some(0),
                width: Some(size.width as i32),
                height: Some(size.height as i32),
                layer: Some(0),
                opacity: Some(100),
                start_time: Some(timecode(0, rate)?),
                ..Default::default()
            }]),
        }),
        ..generated
    })
}

/// One tile of a tiled scene's segment: a `VideoOverlay` over the whole segment (its black `VideoGenerator`),
/// placed in pixels, its video clipped to the frames the segment shows (in the video's own frames, as a video
/// scene's), played once. A video that ends sooner leaves black: its clip stops at the video's last probed frame,
/// and a tile whose video has ended before the segment is left out (`None`).
fn tile_overlay(
    tile: &SceneTile,
    segment: &SceneSegment,
    rate: FrameRate,
    media: &BTreeMap<String, MediaInfo>,
) -> Result<Option<VideoOverlay>, JobError> {
    let info = media.get(&tile.video);
    let source_rate = match info {
        Some(info) => {
            check_media(&tile.video, info)?;
            info.frame_rate_or_fallback()
        }
        None => rate,
    };
    let (first, mut count) = source_span(
        Some(tile.start_s),
        segment.start_in_scene,
        segment.frames,
        source_rate,
        rate,
    );
    if let Some(duration_ms) = info.and_then(|i| i.duration_ms) {
        let available = (duration_ms as f64 * source_rate.fps() / 1000.0).round() as u64;
        if first >= available {
            return Ok(None);
        }
        count = count.min(available - first);
    }
    Ok(Some(VideoOverlay {
        input: Some(VideoOverlayInput {
            file_input: Some(tile.video.clone()),
            input_clippings: Some(vec![InputClipping {
                start_timecode: Some(timecode(first, source_rate)?),
                end_timecode: Some(timecode(first + count - 1, source_rate)?),
            }]),
            timecode_source: Some(InputTimecodeSource::Zerobased),
            ..Default::default()
        }),
        initial_position: Some(VideoOverlayPosition {
            x_position: Some(tile.x as i32),
            y_position: Some(tile.y as i32),
            width: Some(tile.width as i32),
            height: Some(tile.height as i32),
            unit: Some(VideoOverlayUnit::Pixels),
            ..Default::default()
        }),
        playback: Some(VideoOverlayPlayback::Once),
        ..Default::default()
    }))
}

/// The product overlay of a segment, on the output timeline of the chunk (layers are set by the caller).
///
/// A fade happens only where the segment holds the scene's start (fade in) or end (fade out): a fade cut by a
/// chunk boundary is dropped rather than restarted. A zoom or a slide is drawn frame by frame, one image per frame
/// of the animation at that frame's place and size ([`motion_rect`]), then the overlay stays as one image: the
/// frames are counted from the scene's start, so a chunk boundary in the animation cuts nothing.
fn overlay_images(
    request: &RenderRequest,
    segment: &SceneSegment,
    chunk_frame: u64,
    size: Size,
    rate: FrameRate,
    media: &BTreeMap<String, MediaInfo>,
) -> Result<Vec<InsertableImage>, JobError> {
    let Some(overlay) = &request.scenes[segment.scene_index].overlay else {
        return Ok(Vec::new());
    };
    let info = media
        .get(&overlay.image)
        .ok_or_else(|| JobError::MissingMediaInfo(overlay.image.clone()))?;
    check_media(&overlay.image, info)?;
    let rect = place(
        size,
        info.display_size(),
        overlay.scale,
        OVERLAY_MARGIN,
        (overlay.x, overlay.y),
    )?;
    let ms = |v: u64| i32::try_from(v).map_err(|_| JobError::DurationOutOfRange(v));
    let image = |r: Rect, from: u64, frames: u64| -> Result<InsertableImage, JobError> {
        Ok(InsertableImage {
            image_inserter_input: Some(overlay.image.clone()),
            image_x: Some(r.x as i32),
            image_y: Some(r.y as i32),
            width: Some(r.width as i32),
            height: Some(r.height as i32),
            layer: None,
            opacity: Some(100),
            start_time: Some(timecode(chunk_frame + from, rate)?),
            duration: Some(ms(rate.ms_of_frames(frames))?),
            fade_in: None,
            fade_out: None,
        })
    };
    let still = rect;
    let segment_ms = rate.ms_of_frames(segment.frames);
    match overlay.animation {
        OverlayAnimation::None => Ok(vec![image(still, 0, segment.frames)?]),
        OverlayAnimation::Fade => {
            let fade = u64::from(overlay.animation_ms()).min(segment_ms / 2);
            let fade_in = if segment.at_scene_start() { fade } else { 0 };
            let fade_out = if segment.at_scene_end() { fade } else { 0 };
            let mut shown = image(still, 0, segment.frames)?;
            shown.duration = Some(ms(segment_ms - fade_out)?);
            shown.fade_in = (fade_in > 0).then(|| ms(fade_in)).transpose()?;
            shown.fade_out = (fade_out > 0).then(|| ms(fade_out)).transpose()?;
            Ok(vec![shown])
        }
        animation @ (OverlayAnimation::Zoom | OverlayAnimation::Slide) => {
            let motion = rate
                .frame_at_ms(u64::from(overlay.animation_ms()))
                .min(segment.scene_frames);
            let first = segment.start_in_scene;
            let end = first + segment.frames;
            let mut images = Vec::new();
            for frame in first..end.min(motion) {
                let r = motion_rect(animation, rect, size, frame, motion);
                images.push(image(r, frame - first, 1)?);
            }
            let settled = first.max(motion);
            if settled < end {
                images.push(image(still, settled - first, end - settled)?);
            }
            Ok(images)
        }
    }
}

/// The overlay's place at frame `frame` (from the scene's start) of a `frames`-frame animation that ends at `rect`
/// in a `frame_size` output, moving linearly: at frame 0 it starts, at frame `frames` it is `rect`. Edges are never
/// negative (`ImageX` and `ImageY` are at least 0).
///
/// A zoom grows from [`ZOOM_FROM`] of the size about the rectangle's centre. A slide comes in from the frame edge
/// nearest to the rectangle (ties: bottom, then right, then top, then left): from just outside the frame on the
/// right or at the bottom (MediaConvert crops an image at the frame's edge); on the left or at the top it starts
/// touching the edge, because `ImageX` and `ImageY` cannot be negative and an image inserter cannot crop.
pub fn motion_rect(
    animation: OverlayAnimation,
    rect: Rect,
    frame_size: Size,
    frame: u64,
    frames: u64,
) -> Rect {
    if frame >= frames {
        return rect;
    }
    let progress = frame as f64 / frames as f64;
    let lerp = |from: f64, to: f64| (from + (to - from) * progress).round() as u32;
    match animation {
        OverlayAnimation::Zoom => {
            let scale = ZOOM_FROM + (1.0 - ZOOM_FROM) * progress;
            let width = ((f64::from(rect.width) * scale).round() as u32).max(1);
            let height = ((f64::from(rect.height) * scale).round() as u32).max(1);
            Rect {
                x: rect.x + (rect.width - width) / 2,
                y: rect.y + (rect.height - height) / 2,
                width,
                height,
            }
        }
        OverlayAnimation::Slide => {
            let right = frame_size.width.saturating_sub(rect.x + rect.width);
            let bottom = frame_size.height.saturating_sub(rect.y + rect.height);
            let nearest = [bottom, right, rect.y, rect.x]
                .into_iter()
                .enumerate()
                .min_by_key(|&(_, distance)| distance)
                .map_or(0, |(edge, _)| edge);
            let (x, y) = (f64::from(rect.x), f64::from(rect.y));
            let (x, y) = match nearest {
                0 => (rect.x, lerp(f64::from(frame_size.height), y)),
                1 => (lerp(f64::from(frame_size.width), x), rect.y),
                2 => (rect.x, lerp(0.0, y)),
                _ => (lerp(0.0, x), rect.y),
            };
            Rect { x, y, ..rect }
        }
        OverlayAnimation::Fade | OverlayAnimation::None => rect,
    }
}

/// Encoder settings for every chunk of a request: they depend only on the output size and frame rate.
fn chunk_h264(size: Size, fps: u32) -> H264Settings {
    H264Settings {
        codec_level: Some(h264_level(size, fps)),
        framerate_control: Some(H264FramerateControl::Specified),
        framerate_numerator: Some(fps as i32),
        framerate_denominator: Some(1),
        framerate_conversion_algorithm: Some(H264FramerateConversionAlgorithm::DuplicateDrop),
        gop_size: Some(f64::from(fps * GOP_SECONDS)),
        gop_size_units: Some(H264GopSizeUnits::Frames),
        gop_closed_cadence: Some(1),
        gop_b_reference: Some(EnabledDisabled::Disabled),
        number_b_frames_between_reference_frames: Some(0),
        number_reference_frames: Some(3),
        min_i_interval: Some(0),
        scene_change_detect: Some(H264SceneChangeDetect::Disabled),
        ..h264_qvbr(size, QUALITY)
    }
}

/// The lowest H.264 level (3.1 at least) whose frame size and macroblock rate fit `size` at `fps`.
fn h264_level(size: Size, fps: u32) -> H264CodecLevel {
    let macroblocks = u64::from(size.width.div_ceil(16)) * u64::from(size.height.div_ceil(16));
    let per_second = macroblocks * u64::from(fps);
    const LEVELS: [(H264CodecLevel, u64, u64); 6] = [
        (H264CodecLevel::Level31, 3_600, 108_000),
        (H264CodecLevel::Level32, 5_120, 216_000),
        (H264CodecLevel::Level41, 8_192, 245_760),
        (H264CodecLevel::Level42, 8_704, 522_240),
        (H264CodecLevel::Level5, 22_080, 589_824),
        (H264CodecLevel::Level51, 36_864, 983_040),
    ];
    LEVELS
        .iter()
        .find(|(_, frame, rate)| macroblocks <= *frame && per_second <= *rate)
        .map_or(H264CodecLevel::Level52, |(level, _, _)| *level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_grows_about_the_centre_and_slide_comes_from_the_nearest_edge() {
        let frame = Size::new(1280, 720);
        let rect = Rect {
            x: 900,
            y: 500,
            width: 300,
            height: 200,
        };
        let zoom = |k| motion_rect(OverlayAnimation::Zoom, rect, frame, k, 10);
        assert_eq!(
            zoom(0),
            Rect {
                x: 975,
                y: 550,
                width: 150,
                height: 100
            }
        );
        assert_eq!(
            zoom(5),
            Rect {
                x: 937,
                y: 525,
                width: 225,
                height: 150
            }
        );
        assert_eq!(zoom(10), rect);
        // Nearest edge: the bottom (20 px) before the right (80 px): it rises from below the frame.
        let slide = |rect, k| motion_rect(OverlayAnimation::Slide, rect, frame, k, 4);
        assert_eq!(slide(rect, 0), Rect { y: 720, ..rect });
        assert_eq!(slide(rect, 2), Rect { y: 610, ..rect });
        let right = Rect {
            x: 1100,
            y: 300,
            ..rect
        };
        assert_eq!(slide(right, 0), Rect { x: 1280, ..right });
        // On the left, the image cannot start outside the frame (ImageX >= 0): it starts at the edge.
        let left = Rect {
            x: 40,
            y: 300,
            ..rect
        };
        assert_eq!(slide(left, 0), Rect { x: 0, ..left });
        assert_eq!(slide(left, 4), left);
        for animation in [OverlayAnimation::Fade, OverlayAnimation::None] {
            assert_eq!(motion_rect(animation, rect, frame, 0, 10), rect);
        }
    }

    #[test]
    fn level_follows_size_and_rate() {
        assert_eq!(
            h264_level(Size::new(1280, 720), 30),
            H264CodecLevel::Level31
        );
        assert_eq!(
            h264_level(Size::new(1920, 1080), 30),
            H264CodecLevel::Level41
        );
        assert_eq!(
            h264_level(Size::new(1920, 1080), 60),
            H264CodecLevel::Level42
        );
        assert_eq!(
            h264_level(Size::new(3840, 2160), 30),
            H264CodecLevel::Level51
        );
        assert_eq!(
            h264_level(Size::new(7680, 4320), 60),
            H264CodecLevel::Level52
        );
    }
}
