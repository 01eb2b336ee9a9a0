//! The storyboard step: the playback job's thumbnails (one JPEG per frame capture) tiled into sprites, in pure Rust
//! so it runs in the notifier's Lambda, which has no ffmpeg.
//!
//! It runs in the notifier, on the playback job's COMPLETE, before the package is marked `ready`: the package is
//! ready only once its storyboard exists, with one writer of that status and no second event hop; the frames are
//! small (100 thumbnails of 160x90 in a typical package, about 1 MB), well within one invocation.

use jpeg_decoder::{Decoder, PixelFormat};
use jpeg_encoder::{ColorType, Encoder};
use vidpipe_core::playback::Storyboard;

/// JPEG quality of the sprites.
const SPRITE_QUALITY: u8 = 70;

/// Why the sprites cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum StoryboardError {
    /// A thumbnail is not a JPEG the decoder reads.
    #[error("thumbnail {index}: {source}")]
    Decode {
        /// Which thumbnail.
        index: usize,
        /// The decoder's error.
        #[source]
        source: jpeg_decoder::Error,
    },
    /// A thumbnail whose pixels are not 8-bit RGB or gray, or whose size is not the first one's.
    #[error("thumbnail {index}: {reason}")]
    Unusable {
        /// Which thumbnail.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The encoder failed.
    #[error("sprite {sheet}: {source}")]
    Encode {
        /// Which sprite.
        sheet: u32,
        /// The encoder's error.
        #[source]
        source: jpeg_encoder::EncodingError,
    },
}

/// The sprites of `board` (one JPEG per [`Storyboard::sheets`]) from its thumbnails, in order.
pub fn sprites(
    board: &Storyboard,
    thumbnails: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, StoryboardError> {
    let mut sheets: Vec<Vec<u8>> = (0..board.sheets())
        .map(|sheet| {
            let size = board.sheet_size(sheet);
            vec![0u8; size.width as usize * size.height as usize * 3]
        })
        .collect();
    for (index, jpeg) in thumbnails.iter().enumerate() {
        let rgb = decode_rgb(index, jpeg, board)?;
        let at = board.place(index as u32);
        let width = board.sheet_size(at.sheet).width as usize;
        let row = board.tile.width as usize * 3;
        let sheet = &mut sheets[at.sheet as usize];
        for y in 0..board.tile.height as usize {
            let start = ((at.y as usize + y) * width + at.x as usize) * 3;
            sheet[start..start + row].copy_from_slice(&rgb[y * row..(y + 1) * row]);
        }
    }
    sheets
        .into_iter()
        .enumerate()
        .map(|(sheet, pixels)| {
            let size = board.sheet_size(sheet as u32);
            let mut jpeg = Vec::new();
            Encoder::new(&mut jpeg, SPRITE_QUALITY)
                .encode(
                    &pixels,
                    size.width as u16,
                    size.height as u16,
                    ColorType::Rgb,
                )
                .map_err(|source| StoryboardError::Encode {
                    sheet: sheet as u32,
                    source,
                })?;
            Ok(jpeg)
        })
        .collect()
}

/// The size of the first thumbnail, which every other one must have: the storyboard's tile.
pub fn tile_size(jpeg: &[u8]) -> Result<vidpipe_core::job::Size, StoryboardError> {
    let mut decoder = Decoder::new(jpeg);
    decoder
        .read_info()
        .map_err(|source| StoryboardError::Decode { index: 0, source })?;
    let info = decoder.info().ok_or_else(|| StoryboardError::Unusable {
        index: 0,
        reason: "no image header".into(),
    })?;
    Ok(vidpipe_core::job::Size::new(
        u32::from(info.width),
        u32::from(info.height),
    ))
}

/// One thumbnail as RGB bytes, checked to be the board's tile size.
fn decode_rgb(index: usize, jpeg: &[u8], board: &Storyboard) -> Result<Vec<u8>, StoryboardError> {
    let mut decoder = Decoder::new(jpeg);
    let pixels = decoder
        .decode()
        .map_err(|source| StoryboardError::Decode { index, source })?;
    let info = decoder.info().ok_or_else(|| StoryboardError::Unusable {
        index,
        reason: "no image header".into(),
    })?;
    let size = (u32::from(info.width), u32::from(info.height));
    if size != (board.tile.width, board.tile.height) {
        return Err(StoryboardError::Unusable {
            index,
            reason: format!("{}x{} is not the tile size {}", size.0, size.1, board.tile),
        });
    }
    match info.pixel_format {
        PixelFormat::RGB24 => Ok(pixels),
        PixelFormat::L8 => Ok(pixels.iter().flat_map(|&l| [l, l, l]).collect()),
        other => Err(StoryboardError::Unusable {
            index,
            reason: format!("pixel format {other:?} is not 8-bit RGB or gray"),
        }),
    }
}
