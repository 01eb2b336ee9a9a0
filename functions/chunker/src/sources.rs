//! Probing a render request's sources: every distinct overlay image and video, once.
//!
//! Videos go to a [`VideoProber`]: MediaConvert's `Probe` on AWS, or ffprobe through vidpipe-engine locally
//! ([`crate::ProbeBackend`], chosen by `MEDIACONVERT_BACKEND`). Overlay images (PNG, TGA, BMP) are not media
//! MediaConvert probes: their size is read from the file header with one small ranged GET, on either backend.

use std::collections::BTreeMap;

use vidpipe_core::job::MediaInfo;
use vidpipe_core::render::RenderRequest;
use vidpipe_core::render::ports::{FetchError, HeaderReader, VideoProbeError, VideoProber};
use vidpipe_core::s3uri::{S3Uri, S3UriError};

/// Bytes read from the start of an overlay image: enough for the PNG IHDR, the BMP info header and the TGA header.
pub const IMAGE_HEADER_BYTES: u64 = 32;

/// Why a source of the request cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A source is not an `s3://` URI.
    #[error(transparent)]
    Uri(#[from] S3UriError),
    /// The video is missing or not usable media.
    #[error("scene {scene:?}: the video {video} cannot be probed: {source}")]
    VideoUnusable {
        /// The first scene that uses it.
        scene: String,
        /// The video.
        video: String,
        /// The probe's answer.
        #[source]
        source: VideoProbeError,
    },
    /// The probe service failed (worth a retry).
    #[error("probing {video} failed: {source}")]
    ProbeUnavailable {
        /// The video.
        video: String,
        /// The probe's answer.
        #[source]
        source: VideoProbeError,
    },
    /// The overlay image is missing or too large.
    #[error("scene {scene:?}: the overlay image {source}")]
    OverlayMissing {
        /// The first scene that uses it.
        scene: String,
        /// Why.
        #[source]
        source: FetchError,
    },
    /// S3 failed reading the overlay image (worth a retry).
    #[error(transparent)]
    OverlayUnavailable(FetchError),
    /// The overlay image's header is not one of a PNG, BMP or TGA, or holds no size.
    #[error("scene {scene:?}: the overlay image {uri} {source}")]
    OverlayHeader {
        /// The first scene that uses it.
        scene: String,
        /// The image.
        uri: S3Uri,
        /// What is wrong with the header.
        #[source]
        source: ImageHeaderError,
    },
}

impl SourceError {
    /// Whether a retry may succeed: a service failed, the sources themselves may be fine.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::ProbeUnavailable { .. } | Self::OverlayUnavailable(_) => true,
            Self::Uri(_)
            | Self::VideoUnusable { .. }
            | Self::OverlayMissing { .. }
            | Self::OverlayHeader { .. } => false,
        }
    }
}

/// What is wrong with an image file's header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageHeaderError {
    /// A `.png` without the PNG signature and IHDR chunk.
    #[error("is not a PNG (no signature and IHDR chunk)")]
    NotPng,
    /// A `.bmp` without the `BM` signature.
    #[error("is not a BMP (no BM signature)")]
    NotBmp,
    /// A `.tga` of an image type TGA does not define.
    #[error("is not a TGA (unknown image type)")]
    NotTga,
    /// Another extension.
    #[error("is not a PNG, BMP or TGA file")]
    UnknownType,
    /// The header states a width or height of 0.
    #[error("has an empty size {width}x{height} in its header")]
    EmptySize {
        /// The stated width.
        width: u32,
        /// The stated height.
        height: u32,
    },
    /// The file ends before its header does.
    #[error("is too short ({0} bytes) for its header")]
    TooShort(usize),
}

/// Probe results of every distinct overlay image and video source of `request`, by URI, adding to `media` (the
/// sources probed already, which are not probed again).
pub async fn probe_sources(
    request: &RenderRequest,
    headers: &impl HeaderReader,
    prober: &impl VideoProber,
    mut media: BTreeMap<String, MediaInfo>,
) -> Result<BTreeMap<String, MediaInfo>, SourceError> {
    for scene in &request.scenes {
        // A tiled scene's videos are placed by their own frame rate too (their clips are counted in it).
        let tiles = scene.tiles.iter().flatten().map(|tile| &tile.video);
        for video in scene.video.iter().chain(tiles) {
            if !media.contains_key(video) {
                let info = probe_video(&scene.id, video, prober).await?;
                media.insert(video.clone(), info);
            }
        }
        if let Some(overlay) = &scene.overlay
            && !media.contains_key(&overlay.image)
        {
            let info = read_image_size(&scene.id, &overlay.image, headers).await?;
            media.insert(overlay.image.clone(), info);
        }
    }
    Ok(media)
}

/// Probe results of a call export's tracks (`CallExport::track_uris`), by URI: what the layout needs (each one's
/// length and displayed size) before the export is a render request. A track that cannot be probed is named by
/// its URI.
pub async fn probe_tracks(
    uris: &[String],
    prober: &impl VideoProber,
) -> Result<BTreeMap<String, MediaInfo>, SourceError> {
    let mut media = BTreeMap::new();
    for uri in uris {
        if !media.contains_key(uri) {
            media.insert(uri.clone(), probe_video("export", uri, prober).await?);
        }
    }
    Ok(media)
}

async fn probe_video(
    scene: &str,
    video: &str,
    prober: &impl VideoProber,
) -> Result<MediaInfo, SourceError> {
    let uri = S3Uri::parse_str(video)?;
    prober.probe(&uri).await.map_err(|source| match source {
        VideoProbeError::Unusable(_) => SourceError::VideoUnusable {
            scene: scene.to_owned(),
            video: video.to_owned(),
            source,
        },
        VideoProbeError::Unavailable(_) => SourceError::ProbeUnavailable {
            video: video.to_owned(),
            source,
        },
    })
}

/// An overlay image's size from its header, as the [`MediaInfo`] of a still.
async fn read_image_size(
    scene: &str,
    image: &str,
    headers: &impl HeaderReader,
) -> Result<MediaInfo, SourceError> {
    let uri = S3Uri::parse_str(image)?;
    let header = headers
        .fetch_header(&uri, IMAGE_HEADER_BYTES)
        .await
        .map_err(|source| {
            if source.is_transient() {
                SourceError::OverlayUnavailable(source)
            } else {
                SourceError::OverlayMissing {
                    scene: scene.to_owned(),
                    source,
                }
            }
        })?;
    let (width, height) =
        image_size(uri.key(), &header).map_err(|source| SourceError::OverlayHeader {
            scene: scene.to_owned(),
            uri: uri.clone(),
            source,
        })?;
    Ok(MediaInfo {
        width,
        height,
        duration_ms: Some(0),
        frame_rate: None,
        has_audio: false,
        rotation: 0,
    })
}

/// The width and height in an image file's header, by the file's extension: PNG (IHDR), BMP (info header) or
/// TGA (image specification).
pub fn image_size(name: &str, header: &[u8]) -> Result<(u32, u32), ImageHeaderError> {
    let u16_le = |at: usize| {
        header
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_be = |at: usize| {
        header
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let i32_le = |at: usize| {
        header
            .get(at..at + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let size = match extension.as_deref() {
        Some("png") => {
            if !header.starts_with(b"\x89PNG\r\n\x1a\n") || header.get(12..16) != Some(b"IHDR") {
                return Err(ImageHeaderError::NotPng);
            }
            u32_be(16).zip(u32_be(20))
        }
        Some("bmp") => {
            if !header.starts_with(b"BM") {
                return Err(ImageHeaderError::NotBmp);
            }
            match header
                .get(14..18)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            {
                Some(12) => u16_le(18)
                    .zip(u16_le(20))
                    .map(|(w, h)| (w.into(), h.into())),
                _ => i32_le(18)
                    .zip(i32_le(22))
                    .map(|(w, h)| (w.unsigned_abs(), h.unsigned_abs())),
            }
        }
        Some("tga") => {
            if !matches!(header.get(2), Some(1 | 2 | 3 | 9 | 10 | 11)) {
                return Err(ImageHeaderError::NotTga);
            }
            u16_le(12)
                .zip(u16_le(14))
                .map(|(w, h)| (w.into(), h.into()))
        }
        _ => return Err(ImageHeaderError::UnknownType),
    };
    match size {
        Some((width, height)) if width > 0 && height > 0 => Ok((width, height)),
        Some((width, height)) => Err(ImageHeaderError::EmptySize { width, height }),
        None => Err(ImageHeaderError::TooShort(header.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::image_size;

    #[test]
    fn sizes_are_read_from_png_bmp_and_tga_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&360u32.to_be_bytes());
        assert_eq!(image_size("a/logo.PNG", &png), Ok((640, 360)));

        let mut bmp = vec![0u8; 26];
        bmp[..2].copy_from_slice(b"BM");
        bmp[14..18].copy_from_slice(&40u32.to_le_bytes());
        bmp[18..22].copy_from_slice(&100i32.to_le_bytes());
        bmp[22..26].copy_from_slice(&(-50i32).to_le_bytes());
        assert_eq!(image_size("x.bmp", &bmp), Ok((100, 50)));

        let mut tga = vec![0u8; 18];
        tga[2] = 2;
        tga[12..14].copy_from_slice(&32u16.to_le_bytes());
        tga[14..16].copy_from_slice(&16u16.to_le_bytes());
        assert_eq!(image_size("x.tga", &tga), Ok((32, 16)));
    }

    #[test]
    fn bad_headers_are_named() {
        assert!(
            image_size("x.png", b"GIF89a")
                .unwrap_err()
                .to_string()
                .contains("not a PNG")
        );
        assert!(
            image_size("x.bmp", b"BM")
                .unwrap_err()
                .to_string()
                .contains("too short")
        );
        assert!(
            image_size("x.jpg", b"")
                .unwrap_err()
                .to_string()
                .contains("not a PNG, BMP or TGA")
        );
    }
}
