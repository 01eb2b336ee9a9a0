//! Video overlays (picture in picture, with crop, opacity and moving transitions) and image inserters.

use vidpipe_core::job as m;

use super::frames::{
    enable_until, frame_index_pts, frames_to_seconds, ms_to_frames, rate_expr, seconds_to_frames,
};
use super::inputs::{Timeline, clip_ranges, clip_video, file_video, origin};
use super::{Media, MediaMap, media_for, required, unsupported};
use crate::graph::Graph;
use crate::lifecycle::JobFailure;
use crate::probe::FrameRate;

pub(super) fn images(inserter: &Option<m::ImageInserter>) -> Vec<m::InsertableImage> {
    inserter
        .as_ref()
        .and_then(|i| i.insertable_images.clone())
        .unwrap_or_default()
}

/// Pixel size of an overlay: blank width and height mean the base frame's size; one of them keeps the overlay
/// source's aspect ratio; PERCENTAGE sizes are relative to the overlay source's own size.
fn overlay_size(
    position: &m::VideoOverlayPosition,
    base: (u32, u32),
    source: (u32, u32),
) -> (u32, u32) {
    let percent = position.unit == Some(m::VideoOverlayUnit::Percentage);
    let scale = |value: i32, of: u32| -> u32 {
        if percent {
            (f64::from(value) * f64::from(of) / 100.0).round() as u32
        } else {
            value.max(0) as u32
        }
    };
    let width = position
        .width
        .filter(|w| *w >= 0)
        .map(|w| scale(w, source.0));
    let height = position
        .height
        .filter(|h| *h >= 0)
        .map(|h| scale(h, source.1));
    let even = |v: f64| ((v / 2.0).round() * 2.0).max(2.0) as u32;
    match (width, height) {
        (None, None) => base,
        (Some(w), None) => (
            w,
            even(f64::from(w) * f64::from(source.1) / f64::from(source.0)),
        ),
        (None, Some(h)) => (
            even(f64::from(h) * f64::from(source.0) / f64::from(source.1)),
            h,
        ),
        (Some(w), Some(h)) => (w, h),
    }
}

/// Pixel position of an overlay: PERCENTAGE positions are relative to the base frame.
fn overlay_xy(position: &m::VideoOverlayPosition, base: (u32, u32)) -> (i64, i64) {
    let percent = position.unit == Some(m::VideoOverlayUnit::Percentage);
    let place = |value: Option<i32>, of: u32| -> i64 {
        let value = i64::from(value.unwrap_or(0));
        if percent {
            (value as f64 * f64::from(of) / 100.0).round() as i64
        } else {
            value
        }
    };
    (
        place(position.x_position, base.0),
        place(position.y_position, base.1),
    )
}

pub(super) fn video_overlay(
    graph: &mut Graph,
    base: &str,
    overlay: &m::VideoOverlay,
    base_size: (u32, u32),
    timeline: &Timeline,
    media: &MediaMap,
    at: &str,
) -> Result<String, JobFailure> {
    let m::VideoOverlay {
        input,
        start_timecode,
        end_timecode,
        initial_position,
        playback,
        transitions,
        crop,
    } = overlay;
    let source = required(&format!("{at}.Input"), input)?;
    let uri = required(&format!("{at}.Input.FileInput"), &source.file_input)?;
    let source_media = media_for(media, uri, &format!("{at}.Input.FileInput"))?;
    let (sw, sh, _) = source_media
        .facts
        .video
        .ok_or_else(|| JobFailure::input_access(uri, "the overlay file has no video track"))?;

    let start = match start_timecode {
        Some(tc) => timeline.frame(tc, &format!("{at}.StartTimecode"))?,
        None => 0,
    };
    let last = timeline.frames.saturating_sub(1);
    let end = match end_timecode {
        Some(tc) => timeline.frame(tc, &format!("{at}.EndTimecode"))?.min(last),
        None => last,
    };
    if start > end {
        return Err(JobFailure::invalid_setting(
            &format!("{at}.StartTimecode"),
            "the overlay starts after it ends",
        ));
    }
    let window = end - start + 1;
    let repeat =
        playback.unwrap_or(m::VideoOverlayPlayback::Repeat) == m::VideoOverlayPlayback::Repeat;

    // The overlay's own timeline and clippings, at the base rate.
    let (pad, mut filters) =
        overlay_source(graph, source, source_media, repeat, timeline.rate, at)?;
    // One frame more than shown, cut by `enable`: ffmpeg's overlay drops the secondary's last frame when the
    // secondary ends at that very frame.
    filters.push(format!("trim=end_frame={}", window + 1));

    // Crop, then size and opacity.
    let mut cropped = (sw, sh);
    if let Some(crop) = crop {
        let (filter, size) = crop_filter(crop, (sw, sh));
        filters.push(filter);
        cropped = size;
    }
    let position = initial_position.clone().unwrap_or_default();
    let (w, h) = overlay_size(&position, base_size, cropped);
    if (w, h) != cropped {
        filters.push(format!("scale={w}:{h}"));
    }
    match position.opacity {
        Some(o) if !(0..=100).contains(&o) => {
            return Err(JobFailure::invalid_setting(
                &format!("{at}.InitialPosition.Opacity"),
                "must be 0..100",
            ));
        }
        Some(o) if o < 100 => {
            filters.push(format!(
                "format=yuva420p,colorchannelmixer=aa={:.4}",
                f64::from(o) / 100.0
            ));
        }
        _ => {}
    }
    filters.push(frame_index_pts(timeline.rate, start));
    let moving = graph.chain(&pad, &filters.join(","));

    // `enable` reads the base's frame times (see enable_until).
    let base = graph.chain(base, &frame_index_pts(timeline.rate, 0));
    let (x0, y0) = overlay_xy(&position, base_size);
    let (x, y) = transition_expressions(
        transitions,
        &position,
        (x0, y0),
        (w, h),
        base_size,
        timeline,
        at,
    )?;
    Ok(graph.chain(
        &format!("{base}{moving}"),
        &format!(
            "overlay=x='{x}':y='{y}':eof_action=pass:eval=frame:{}",
            enable_until(start + window - 1, timeline.rate)
        ),
    ))
}

/// How long before an overlay clip's first frame its file is sought: the frames the rate conversion picks around
/// the clip's start are then the same as without the seek.
const SEEK_MARGIN_S: f64 = 2.0;

/// The overlay source's picture (`media`, a file with video): its own timeline clipped, converted to the base
/// `rate`, looped when `repeat`. Returns its pad and the filters so far.
fn overlay_source(
    graph: &mut Graph,
    source: &m::VideoOverlayInput,
    media: &Media,
    repeat: bool,
    rate: FrameRate,
    at: &str,
) -> Result<(String, Vec<String>), JobFailure> {
    let m::VideoOverlayInput {
        file_input: _,
        input_clippings,
        timecode_source,
        timecode_start,
    } = source;
    let (sw, sh, source_rate) = media.facts.video.expect("the overlay file has video");
    let source_origin = origin(
        *timecode_source,
        timecode_start,
        media.facts.start_timecode.as_deref(),
        source_rate,
        &format!("{at}.Input"),
    )?;
    let source_timeline = Timeline {
        rate: source_rate,
        origin: source_origin,
        frames: seconds_to_frames(media.facts.duration, source_rate),
    };
    let ranges = clip_ranges(input_clippings, &source_timeline, &format!("{at}.Input"))?;
    let whole = source_timeline.keeps_all(&ranges);
    let loop_input = repeat && whole;
    let options: &[&str] = if loop_input {
        &["-stream_loop", "-1"]
    } else {
        &[]
    };
    // A looped overlay runs on; one shown once holds its last frame until its file ends.
    let length = (!loop_input).then_some(source_timeline.frames);
    // A clip that starts late in its file is decoded from a key frame before it, not from the file's start.
    let first = ranges.iter().map(|(a, _)| *a).min().unwrap_or(0);
    let seek_s = Some(frames_to_seconds(first, source_rate) - SEEK_MARGIN_S)
        .filter(|s| !loop_input && *s > 0.0);
    let mut pad = file_video(
        graph,
        media,
        options,
        (sw, sh),
        "",
        (source_rate, length, seek_s),
    );
    if !whole {
        pad = clip_video(graph, &pad, &ranges);
    }
    let mut filters = vec![format!("fps={}", rate_expr(rate))];
    if repeat && !whole {
        let kept: u64 = ranges.iter().map(|(a, b)| b - a + 1).sum();
        let kept_at_base = seconds_to_frames(frames_to_seconds(kept, source_rate), rate).max(1);
        filters.push(format!("loop=loop=-1:size={kept_at_base}"));
    }
    Ok((pad, filters))
}

/// The crop filter for an overlay's Crop (PERCENTAGE relative to the overlay source), and the cropped size. The
/// crop stays inside the source and keeps at least 2x2 pixels.
fn crop_filter(crop: &m::VideoOverlayCrop, (sw, sh): (u32, u32)) -> (String, (u32, u32)) {
    let m::VideoOverlayCrop {
        x,
        y,
        width,
        height,
        unit,
    } = crop;
    let percent = *unit == Some(m::VideoOverlayUnit::Percentage);
    let px = |v: Option<i32>, of: u32| -> u32 {
        let v = v.unwrap_or(0).max(0) as u32;
        if percent {
            (f64::from(v) * f64::from(of) / 100.0).round() as u32
        } else {
            v
        }
    };
    let (cx, cy) = (
        px(*x, sw).min(sw.saturating_sub(2)),
        px(*y, sh).min(sh.saturating_sub(2)),
    );
    let cw = Some(px(*width, sw))
        .filter(|w| *w > 0)
        .unwrap_or(sw - cx)
        .min(sw - cx);
    let ch = Some(px(*height, sh))
        .filter(|h| *h > 0)
        .unwrap_or(sh - cy)
        .min(sh - cy);
    (format!("crop={cw}:{ch}:{cx}:{cy}"), (cw, ch))
}

/// Overlay position expressions in `t` (seconds on the base timeline): the initial position, moved linearly by
/// each transition from its start to its end.
fn transition_expressions(
    transitions: &Option<Vec<m::VideoOverlayTransition>>,
    initial: &m::VideoOverlayPosition,
    start_xy: (i64, i64),
    size: (u32, u32),
    base: (u32, u32),
    timeline: &Timeline,
    at: &str,
) -> Result<(String, String), JobFailure> {
    let (mut x, mut y) = (start_xy.0.to_string(), start_xy.1.to_string());
    let mut current = start_xy;
    for (i, transition) in transitions.iter().flatten().enumerate() {
        let at = format!("{at}.Transitions[{i}]");
        let m::VideoOverlayTransition {
            start_timecode,
            end_timecode,
            end_position,
        } = transition;
        let s = timeline.frame(
            required(&format!("{at}.StartTimecode"), start_timecode)?,
            &format!("{at}.StartTimecode"),
        )?;
        let e = timeline.frame(
            required(&format!("{at}.EndTimecode"), end_timecode)?,
            &format!("{at}.EndTimecode"),
        )?;
        if e <= s {
            return Err(JobFailure::invalid_setting(
                &at,
                "EndTimecode must be after StartTimecode",
            ));
        }
        let mut target = required(&format!("{at}.EndPosition"), end_position)?.clone();
        if target.unit.is_none() {
            target.unit = initial.unit;
        }
        if overlay_size(&target, base, size) != size
            && (target.width.is_some() || target.height.is_some())
        {
            return Err(unsupported(
                &format!("{at}.EndPosition.Width"),
                "a size change during a transition",
            ));
        }
        if let Some(o) = target.opacity {
            return Err(unsupported(&format!("{at}.EndPosition.Opacity"), o));
        }
        let goal = overlay_xy(&target, base);
        let (ts, te) = (
            frames_to_seconds(s, timeline.rate),
            frames_to_seconds(e, timeline.rate),
        );
        let ramp = |from: i64, to: i64, before: &str| {
            format!(
                "if(lt(t,{ts}),{before},if(lt(t,{te}),{from}+({to}-{from})*(t-{ts})/({te}-{ts}),{to}))"
            )
        };
        x = ramp(current.0, goal.0, &x);
        y = ramp(current.1, goal.1, &y);
        current = goal;
    }
    // Commas inside the expression must be escaped for the filter graph parser.
    Ok((x.replace(',', "\\,"), y.replace(',', "\\,")))
}

/// Inserts still images over `video`, lowest Layer first, each at its pixel position and size, with opacity
/// (default 50), start time on the timeline, duration (fade-in included) and fade-out after the duration.
pub(super) fn insert_images(
    graph: &mut Graph,
    video: &str,
    inserter: &Option<m::ImageInserter>,
    timeline: &Timeline,
    media: &MediaMap,
    at: &str,
) -> Result<String, JobFailure> {
    let mut list: Vec<(usize, m::InsertableImage)> =
        images(inserter).into_iter().enumerate().collect();
    let mut layers = std::collections::HashSet::new();
    for (j, image) in &list {
        let layer = image.layer.unwrap_or(0);
        if !(0..=99).contains(&layer) || !layers.insert(layer) {
            return Err(JobFailure::invalid_setting(
                &format!("{at}.InsertableImages[{j}].Layer"),
                format!("{layer} must be 0..99 and unique within the inserter"),
            ));
        }
    }
    list.sort_by_key(|(_, image)| image.layer.unwrap_or(0));
    let r = rate_expr(timeline.rate);
    let mut video = video.to_string();
    if !list.is_empty() {
        // `enable` reads the main's frame times (see enable_until).
        video = graph.chain(&video, &frame_index_pts(timeline.rate, 0));
    }
    for (j, image) in list {
        let at = format!("{at}.InsertableImages[{j}]");
        let m::InsertableImage {
            image_inserter_input,
            image_x,
            image_y,
            width,
            height,
            layer: _,
            opacity,
            start_time,
            duration,
            fade_in,
            fade_out,
        } = &image;
        let uri = required(&format!("{at}.ImageInserterInput"), image_inserter_input)?;
        let source = media_for(media, uri, &format!("{at}.ImageInserterInput"))?;
        let x = *required(&format!("{at}.ImageX"), image_x)?;
        let y = *required(&format!("{at}.ImageY"), image_y)?;
        let opacity = opacity.unwrap_or(50);
        if !(0..=100).contains(&opacity) {
            return Err(JobFailure::invalid_setting(
                &format!("{at}.Opacity"),
                "must be 0..100",
            ));
        }
        let start = match start_time {
            Some(tc) => timeline.frame(tc, &format!("{at}.StartTime"))?,
            None => 0,
        };
        let remaining = timeline.frames.saturating_sub(start);
        let fade_in_s = f64::from(fade_in.unwrap_or(0).max(0)) / 1000.0;
        let fade_out_s = f64::from(fade_out.unwrap_or(0).max(0)) / 1000.0;
        let visible = match duration {
            Some(ms) => (ms_to_frames(*ms, timeline.rate)
                + ms_to_frames(fade_out.unwrap_or(0), timeline.rate))
            .min(remaining),
            None => remaining,
        };
        if visible == 0 {
            continue;
        }
        let mut filters = Vec::new();
        match (width.filter(|w| *w > 0), height.filter(|h| *h > 0)) {
            (None, None) => {}
            (w, h) => filters.push(format!(
                "scale={}:{}",
                w.map_or("iw".to_string(), |w| w.to_string()),
                h.map_or("ih".to_string(), |h| h.to_string())
            )),
        }
        filters.push(format!(
            "format=rgba,colorchannelmixer=aa={:.4}",
            f64::from(opacity) / 100.0
        ));
        if fade_in_s > 0.0 {
            filters.push(format!("fade=t=in:st=0:d={fade_in_s}:alpha=1"));
        }
        if let (Some(ms), true) = (duration, fade_out_s > 0.0) {
            filters.push(format!(
                "fade=t=out:st={}:d={fade_out_s}:alpha=1",
                f64::from(*ms) / 1000.0
            ));
        }
        filters.push(format!(
            "trim=end_frame={},{}",
            visible + 1,
            frame_index_pts(timeline.rate, start)
        ));
        let options = ["-loop", "1", "-framerate", &r].map(String::from);
        let k = graph.file_input(&options, &source.path);
        let pad = graph.chain(&format!("[{k}:v:0]"), &filters.join(","));
        video = graph.chain(
            &format!("{video}{pad}"),
            // One frame more than shown (see video_overlay), cut by `enable`.
            &format!(
                "overlay=x={x}:y={y}:eof_action=pass:{}",
                enable_until(start + visible - 1, timeline.rate)
            ),
        );
    }
    Ok(video)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(
        x: Option<i32>,
        y: Option<i32>,
        w: Option<i32>,
        h: Option<i32>,
        unit: m::VideoOverlayUnit,
    ) -> m::VideoOverlayPosition {
        m::VideoOverlayPosition {
            x_position: x,
            y_position: y,
            width: w,
            height: h,
            unit: Some(unit),
            opacity: None,
        }
    }

    #[test]
    fn overlay_units_are_asymmetric() {
        let base = (1920, 1080);
        let camera = (640, 360);
        let p = position(
            Some(10),
            Some(50),
            Some(50),
            None,
            m::VideoOverlayUnit::Percentage,
        );
        assert_eq!(
            overlay_xy(&p, base),
            (192, 540),
            "X/Y are percentages of the base frame"
        );
        assert_eq!(
            overlay_size(&p, base, camera),
            (320, 180),
            "Width is a percentage of the overlay source"
        );
        let blank = position(None, None, None, None, m::VideoOverlayUnit::Pixels);
        assert_eq!(
            overlay_size(&blank, base, camera),
            base,
            "blank size means the base size"
        );
        let one = position(None, None, None, Some(270), m::VideoOverlayUnit::Pixels);
        assert_eq!(
            overlay_size(&one, base, camera),
            (480, 270),
            "one dimension keeps the aspect ratio"
        );
    }
}
