//! The playback package after its job: the storyboard (thumbnails tiled into sprites, and the WebVTT that points
//! into them).
//!
//! MediaConvert's frame capture writes one JPEG per thumbnail; players scrub with a WebVTT whose cues name a region
//! of a sprite (`storyboard_000.jpg#xywh=x,y,w,h`), so a step after the job tiles the frames and writes the `.vtt`.

use std::fmt::Write as _;

use crate::job::{Size, names};

/// Thumbnails per sprite row.
pub const SPRITE_COLUMNS: u32 = 10;
/// Thumbnails per sprite (10 rows of 10): a 160x90 grid makes a 1600x900 JPEG, well under any decoder's limit.
pub const SPRITE_TILES: u32 = 100;

/// Where each thumbnail of a storyboard goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storyboard {
    /// How many thumbnails.
    pub count: u32,
    /// A thumbnail's size (every one has the first one's).
    pub tile: Size,
    /// Seconds between thumbnails.
    pub interval_s: u32,
}

/// One thumbnail's place: its sprite and its top-left corner there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The sprite's index.
    pub sheet: u32,
    /// Left edge in pixels.
    pub x: u32,
    /// Top edge in pixels.
    pub y: u32,
}

impl Storyboard {
    /// How many sprites.
    pub fn sheets(&self) -> u32 {
        self.count.div_ceil(SPRITE_TILES)
    }

    /// Sprite `sheet`'s file name, `storyboard_NNN.jpg`.
    pub fn sheet_name(sheet: u32) -> String {
        format!("{}_{sheet:03}.jpg", names::SPRITE)
    }

    /// The size of sprite `sheet`: as many columns as it needs up to [`SPRITE_COLUMNS`], as many rows as it fills.
    pub fn sheet_size(&self, sheet: u32) -> Size {
        let tiles = (self.count - sheet * SPRITE_TILES).min(SPRITE_TILES);
        let columns = tiles.min(SPRITE_COLUMNS);
        Size::new(
            columns * self.tile.width,
            tiles.div_ceil(SPRITE_COLUMNS) * self.tile.height,
        )
    }

    /// Where thumbnail `index` goes: row by row, [`SPRITE_TILES`] to a sprite.
    pub fn place(&self, index: u32) -> Placement {
        let within = index % SPRITE_TILES;
        Placement {
            sheet: index / SPRITE_TILES,
            x: (within % SPRITE_COLUMNS) * self.tile.width,
            y: (within / SPRITE_COLUMNS) * self.tile.height,
        }
    }

    /// The WebVTT: thumbnail `i` covers `i * interval` up to the next one, the last one up to `duration_ms` (or
    /// one interval when the length is unknown or shorter).
    pub fn vtt(&self, duration_ms: Option<u64>) -> String {
        let interval_ms = u64::from(self.interval_s) * 1000;
        let mut text = String::from("WEBVTT\n");
        for index in 0..self.count {
            let start = u64::from(index) * interval_ms;
            let end = if index + 1 == self.count {
                duration_ms
                    .filter(|&d| d > start)
                    .unwrap_or(start + interval_ms)
            } else {
                start + interval_ms
            };
            let at = self.place(index);
            write!(
                text,
                "\n{} --> {}\n{}#xywh={},{},{},{}\n",
                cue_time(start),
                cue_time(end),
                Self::sheet_name(at.sheet),
                at.x,
                at.y,
                self.tile.width,
                self.tile.height
            )
            .expect("writing to a String");
        }
        text
    }
}

/// `HH:MM:SS.mmm`, WebVTT's cue timestamp.
fn cue_time(ms: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// The number of frame captures a job wrote, from the paths its COMPLETE event lists for them: MediaConvert names
/// captures `{base}.NNNNNNN.jpg` from 0, so the highest index plus one (whether the event lists every capture, as
/// the engine does, or only the last one).
pub fn capture_count<'a>(paths: impl IntoIterator<Item = &'a str>) -> Option<u32> {
    paths
        .into_iter()
        .filter_map(|path| {
            let stem = path.strip_suffix(".jpg")?;
            let (_, index) = stem.rsplit_once('.')?;
            index.parse::<u32>().ok()
        })
        .max()
        .map(|last| last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(count: u32) -> Storyboard {
        Storyboard {
            count,
            tile: Size::new(160, 90),
            interval_s: 2,
        }
    }

    #[test]
    fn thumbnails_fill_rows_of_ten_and_sheets_of_a_hundred() {
        let b = board(123);
        assert_eq!(b.sheets(), 2);
        assert_eq!(b.sheet_size(0), Size::new(1600, 900));
        // 23 left: 10 columns, 3 rows.
        assert_eq!(b.sheet_size(1), Size::new(1600, 270));
        assert_eq!(board(3).sheet_size(0), Size::new(480, 90));
        assert_eq!(
            b.place(0),
            Placement {
                sheet: 0,
                x: 0,
                y: 0
            }
        );
        assert_eq!(
            b.place(13),
            Placement {
                sheet: 0,
                x: 480,
                y: 90
            }
        );
        assert_eq!(
            b.place(105),
            Placement {
                sheet: 1,
                x: 800,
                y: 0
            }
        );
    }

    #[test]
    fn the_vtt_has_one_cue_per_thumbnail_up_to_the_end() {
        let vtt = board(3).vtt(Some(5_500));
        assert_eq!(
            vtt,
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard_000.jpg#xywh=0,0,160,90\n\
             \n00:00:02.000 --> 00:00:04.000\nstoryboard_000.jpg#xywh=160,0,160,90\n\
             \n00:00:04.000 --> 00:00:05.500\nstoryboard_000.jpg#xywh=320,0,160,90\n"
        );
        // Unknown length: the last cue lasts one interval.
        assert!(board(1).vtt(None).contains("00:00:00.000 --> 00:00:02.000"));
        let long = board(101).vtt(Some(3_600_000));
        assert!(long.contains("00:03:20.000 --> 01:00:00.000\nstoryboard_001.jpg#xywh=0,0,160,90"));
    }

    #[test]
    fn the_capture_count_is_the_last_index_plus_one() {
        let engine = [
            "s3://b/p/thumbs/thumb.0000000.jpg",
            "s3://b/p/thumbs/thumb.0000001.jpg",
        ];
        assert_eq!(capture_count(engine), Some(2));
        assert_eq!(
            capture_count(["s3://b/p/thumbs/thumb.0000029.jpg"]),
            Some(30)
        );
        assert_eq!(capture_count(["s3://b/p/index.m3u8"]), None);
    }
}
