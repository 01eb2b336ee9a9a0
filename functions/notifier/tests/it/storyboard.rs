//! The storyboard's sprites from JPEG thumbnails as ffmpeg (the engine's frame capture) writes them, read back by
//! ffmpeg.

use std::path::Path;

use vidpipe_core::job::Size;
use vidpipe_core::playback::Storyboard;
use vidpipe_notifier::storyboard::{StoryboardError, sprites};
use vidpipe_testkit::media::{self, Frame, colour_close};

/// A `width`x`height` JPEG of one colour, written by ffmpeg's MJPEG encoder (as frame captures are).
fn thumbnail(dir: &Path, colour: &str, width: u32, height: u32) -> Vec<u8> {
    let file = dir.join(format!("{colour}.jpg"));
    media::ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("color=c={colour}:size={width}x{height}"),
            "-frames:v",
            "1",
            &file.display().to_string(),
        ]
        .map(String::from),
    );
    std::fs::read(file).unwrap()
}

#[test]
fn thumbnails_are_tiled_row_by_row_into_a_sprite_ffmpeg_reads() {
    let dir = tempfile::tempdir().unwrap();
    let colours = [
        ("red", [255, 0, 0]),
        ("lime", [0, 255, 0]),
        ("blue", [0, 0, 255]),
        ("white", [255, 255, 255]),
    ];
    let mut thumbnails: Vec<Vec<u8>> = Vec::new();
    // 12 thumbnails: one full row of 10 and two on the second row.
    for i in 0..12 {
        thumbnails.push(thumbnail(dir.path(), colours[i % 4].0, 160, 90));
    }
    let board = Storyboard {
        count: 12,
        tile: Size::new(160, 90),
        interval_s: 2,
    };
    let sheets = sprites(&board, &thumbnails).unwrap();
    assert_eq!(sheets.len(), 1);
    let file = dir.path().join("storyboard_000.jpg");
    std::fs::write(&file, &sheets[0]).unwrap();
    let sprite = Frame::at_index(&file, 0);
    assert_eq!((sprite.width, sprite.height), (1600, 180));
    for i in 0..12u32 {
        let at = board.place(i);
        let centre = sprite.pixel(at.x + 80, at.y + 45);
        let expected = colours[i as usize % 4].1;
        assert!(colour_close(centre, expected, 40), "tile {i}: {centre:?}");
    }
}

#[test]
fn a_thumbnail_of_another_size_or_not_a_jpeg_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let board = Storyboard {
        count: 2,
        tile: Size::new(160, 90),
        interval_s: 2,
    };
    let good = thumbnail(dir.path(), "red", 160, 90);
    let other = thumbnail(dir.path(), "blue", 90, 160);
    let err = sprites(&board, &[good.clone(), other]).unwrap_err();
    assert!(
        matches!(err, StoryboardError::Unusable { index: 1, .. }),
        "{err}"
    );
    let err = sprites(&board, &[good, b"not a jpeg".to_vec()]).unwrap_err();
    assert!(
        matches!(err, StoryboardError::Decode { index: 1, .. }),
        "{err}"
    );
}
