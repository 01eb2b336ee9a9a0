//! Picture-in-picture geometry: where an overlay goes, in even pixels, inside the frame.
//!
//! MediaConvert's PERCENTAGE unit sizes an overlay relative to the overlay source, not the frame, so vidpipe
//! always computes PIXELS from both probed sizes.

use serde::{Deserialize, Serialize};

use super::Size;

/// Horizontal placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HorizontalAlign {
    /// Against the left margin.
    Left,
    /// Centred.
    Center,
    /// Against the right margin.
    Right,
}

/// Vertical placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerticalAlign {
    /// Against the top margin.
    Top,
    /// Centred.
    Center,
    /// Against the bottom margin.
    Bottom,
}

/// A corner of the frame, for the camera of a composite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    /// Top left.
    TopLeft,
    /// Top right.
    TopRight,
    /// Bottom left.
    BottomLeft,
    /// Bottom right (the default).
    #[default]
    BottomRight,
}

impl Corner {
    /// Every corner.
    pub const ALL: [Corner; 4] = [
        Corner::TopLeft,
        Corner::TopRight,
        Corner::BottomLeft,
        Corner::BottomRight,
    ];

    /// The corner as horizontal and vertical placement.
    pub const fn align(self) -> (HorizontalAlign, VerticalAlign) {
        match self {
            Corner::TopLeft => (HorizontalAlign::Left, VerticalAlign::Top),
            Corner::TopRight => (HorizontalAlign::Right, VerticalAlign::Top),
            Corner::BottomLeft => (HorizontalAlign::Left, VerticalAlign::Bottom),
            Corner::BottomRight => (HorizontalAlign::Right, VerticalAlign::Bottom),
        }
    }
}

impl std::str::FromStr for Corner {
    type Err = String;

    /// Parses `top-left`, `top-right`, `bottom-left` or `bottom-right`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!("`{s}` is not a corner (top-left, top-right, bottom-left, bottom-right)")
        })
    }
}

/// Where the camera of a composite goes: a corner, a width and a margin, both in percent of the frame width.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipLayout {
    /// The corner (default bottom-right).
    pub corner: Corner,
    /// Overlay width in percent of the frame width, in (0, 100] (default 15).
    pub width_pct: f64,
    /// Margin to the frame edges in percent of the frame width, in [0, 25) (default 2).
    pub margin_pct: f64,
}

impl Default for PipLayout {
    fn default() -> Self {
        Self {
            corner: Corner::BottomRight,
            width_pct: 15.0,
            margin_pct: 2.0,
        }
    }
}

/// A rectangle in pixels, relative to the frame's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Why an overlay cannot be placed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// A size is below 2x2 pixels.
    #[error("{what} size {size} is too small (at least 2x2)")]
    TooSmall {
        /// Which size.
        what: &'static str,
        /// The size.
        size: Size,
    },
    /// The width fraction is outside (0, 1].
    #[error("overlay width {0} is outside (0, 1] of the frame width")]
    Width(f64),
    /// The margin fraction is outside [0, 0.25).
    #[error("margin {0} is outside [0, 0.25) of the frame width")]
    Margin(f64),
}

/// Places an overlay of `source` size in `frame`.
///
/// The overlay is `width_fraction` of the frame width, keeps the source's aspect ratio, and sits `margin_fraction`
/// of the frame width away from the edges it is aligned to. All values are even. When that width would make the
/// overlay taller than the frame allows (a portrait source in a landscape frame), the height is capped to fit and
/// the width follows from the aspect ratio.
pub fn place(
    frame: Size,
    source: Size,
    width_fraction: f64,
    margin_fraction: f64,
    align: (HorizontalAlign, VerticalAlign),
) -> Result<Rect, GeometryError> {
    for (what, size) in [("frame", frame), ("overlay source", source)] {
        if size.width < 2 || size.height < 2 {
            return Err(GeometryError::TooSmall { what, size });
        }
    }
    if !(width_fraction > 0.0 && width_fraction <= 1.0) {
        return Err(GeometryError::Width(width_fraction));
    }
    if !(0.0..0.25).contains(&margin_fraction) {
        return Err(GeometryError::Margin(margin_fraction));
    }
    let margin = even_floor((f64::from(frame.width) * margin_fraction).round() as u32);
    let room_w = even_floor(frame.width.saturating_sub(2 * margin)).max(2);
    let room_h = even_floor(frame.height.saturating_sub(2 * margin)).max(2);
    let margin_x = even_floor(margin.min((frame.width - room_w) / 2));
    let margin_y = even_floor(margin.min((frame.height - room_h) / 2));

    let aspect = f64::from(source.height) / f64::from(source.width);
    let requested = even_round(f64::from(frame.width) * width_fraction).clamp(2, room_w);
    let (mut width, mut height) = (requested, even_round(f64::from(requested) * aspect).max(2));
    if height > room_h {
        height = room_h;
        width = even_round(f64::from(height) / aspect).clamp(2, requested);
    }
    let x = match align.0 {
        HorizontalAlign::Left => margin_x,
        HorizontalAlign::Center => even_floor((frame.width - width) / 2),
        HorizontalAlign::Right => even_floor(frame.width - margin_x - width),
    };
    let y = match align.1 {
        VerticalAlign::Top => margin_y,
        VerticalAlign::Center => even_floor((frame.height - height) / 2),
        VerticalAlign::Bottom => even_floor(frame.height - margin_y - height),
    };
    Ok(Rect {
        x,
        y,
        width,
        height,
    })
}

/// `n` rounded down to an even number.
pub(crate) const fn even_floor(n: u32) -> u32 {
    n & !1
}

/// `v` rounded to the nearest even number (at least 0).
pub(crate) fn even_round(v: f64) -> u32 {
    ((v / 2.0).round().max(0.0) as u32) * 2
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn default_camera_on_1080p_is_bottom_right_15_percent() {
        let rect = place(
            Size::new(1920, 1080),
            Size::new(640, 360),
            0.15,
            0.02,
            Corner::BottomRight.align(),
        )
        .unwrap();
        // 15 % of 1920 = 288 wide, 16:9 -> 162 high, margin 2 % of 1920 = 38.4 -> 38.
        assert_eq!(
            rect,
            Rect {
                x: 1920 - 38 - 288,
                y: 1080 - 38 - 162,
                width: 288,
                height: 162
            }
        );
    }

    #[test]
    fn portrait_camera_keeps_its_aspect_ratio() {
        let rect = place(
            Size::new(1920, 1080),
            Size::new(720, 1280),
            0.15,
            0.02,
            Corner::TopLeft.align(),
        )
        .unwrap();
        assert_eq!(
            rect,
            Rect {
                x: 38,
                y: 38,
                width: 288,
                height: 512
            }
        );
    }

    #[test]
    fn too_tall_overlay_is_capped_to_the_frame_height() {
        let rect = place(
            Size::new(854, 480),
            Size::new(720, 1280),
            0.5,
            0.02,
            Corner::BottomLeft.align(),
        )
        .unwrap();
        let margin = 16; // 2 % of 854 = 17.08 -> 17 -> even 16
        assert_eq!(rect.height, 480 - 2 * margin);
        assert_eq!(
            rect.width,
            even_round(f64::from(rect.height) * 720.0 / 1280.0)
        );
        assert_eq!((rect.x, rect.y), (margin, margin));
    }

    #[test]
    fn bad_fractions_and_sizes_are_named_errors() {
        let f = Size::new(1920, 1080);
        let s = Size::new(640, 360);
        assert_eq!(
            place(f, s, 0.0, 0.02, Corner::TopLeft.align()),
            Err(GeometryError::Width(0.0))
        );
        assert_eq!(
            place(f, s, 0.15, 0.3, Corner::TopLeft.align()),
            Err(GeometryError::Margin(0.3))
        );
        assert!(matches!(
            place(f, Size::new(0, 360), 0.15, 0.02, Corner::TopLeft.align()),
            Err(GeometryError::TooSmall {
                what: "overlay source",
                ..
            })
        ));
    }

    #[test]
    fn corner_parses_from_kebab_case() {
        assert_eq!("top-right".parse::<Corner>(), Ok(Corner::TopRight));
        assert!("middle".parse::<Corner>().is_err());
    }

    fn any_align() -> impl Strategy<Value = (HorizontalAlign, VerticalAlign)> {
        let h = prop_oneof![
            Just(HorizontalAlign::Left),
            Just(HorizontalAlign::Center),
            Just(HorizontalAlign::Right)
        ];
        let v = prop_oneof![
            Just(VerticalAlign::Top),
            Just(VerticalAlign::Center),
            Just(VerticalAlign::Bottom)
        ];
        (h, v)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn overlay_stays_inside_the_frame_with_the_requested_width(
            fw in 32u32..=8192, fh in 32u32..=8192, sw in 2u32..=8192, sh in 2u32..=8192,
            width_pct in 1u32..=100, margin_pct in 0u32..=10, align in any_align(),
        ) {
            let (frame, source) = (Size::new(fw, fh), Size::new(sw, sh));
            let (wf, mf) = (f64::from(width_pct) / 100.0, f64::from(margin_pct) / 100.0);
            let r = place(frame, source, wf, mf, align).unwrap();
            // Inside the frame, even, never empty.
            prop_assert!(r.x + r.width <= fw && r.y + r.height <= fh, "{r:?} outside {frame}");
            prop_assert!(r.width >= 2 && r.height >= 2);
            prop_assert!([r.x, r.y, r.width, r.height].iter().all(|v| v.is_multiple_of(2)), "{r:?}");
            // The requested width, unless the height had to be capped to fit.
            let margin = even_floor((f64::from(fw) * mf).round() as u32);
            let room_w = even_floor(fw.saturating_sub(2 * margin)).max(2);
            let room_h = even_floor(fh.saturating_sub(2 * margin)).max(2);
            let requested = even_round(f64::from(fw) * wf).clamp(2, room_w);
            if r.width != requested {
                prop_assert_eq!(r.height, room_h, "width {} != requested {} without a capped height", r.width, requested);
                prop_assert!(r.width <= requested);
            }
            // The source's aspect ratio, within even rounding (2 px) on the derived side.
            let derived_h = f64::from(r.width) * f64::from(sh) / f64::from(sw);
            let derived_w = f64::from(r.height) * f64::from(sw) / f64::from(sh);
            prop_assert!(
                (f64::from(r.height) - derived_h).abs() <= 2.0
                    || (f64::from(r.width) - derived_w).abs() <= 2.0
                    || r.height == 2 || r.width == 2 || r.width == room_w,
                "{r:?} does not keep {sw}x{sh}"
            );
            // Aligned edges keep the margin (up to one pixel of even rounding).
            match align.0 {
                HorizontalAlign::Left => prop_assert!(r.x <= margin),
                HorizontalAlign::Right => prop_assert!(fw - r.x - r.width <= margin + 1),
                HorizontalAlign::Center => prop_assert!(r.x.abs_diff(fw - r.x - r.width) <= 3),
            }
            match align.1 {
                VerticalAlign::Top => prop_assert!(r.y <= margin),
                VerticalAlign::Bottom => prop_assert!(fh - r.y - r.height <= margin + 1),
                VerticalAlign::Center => prop_assert!(r.y.abs_diff(fh - r.y - r.height) <= 3),
            }
        }
    }
}
