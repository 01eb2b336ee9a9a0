//! Probing a render request's sources: every distinct overlay image and video, once.
//!
//! Videos go to a [`VideoProber`]: MediaConvert's `Probe` on AWS, or ffprobe through vidpipe-engine locally
//! ([`ProbeBackend`], chosen by `MEDIACONVERT_BACKEND`). Overlay images (PNG, TGA, BMP) are not media MediaConvert
//! probes: their size is read from the file header with one small ranged GET, on either backend.

use std::collections::BTreeMap;
use std::future::Future;

use vidpipe_aws::mediaconvert;
use vidpipe_aws::objects::ObjectError;
use vidpipe_core::job::MediaInfo;
use vidpipe_core::render::RenderRequest;
use vidpipe_core::s3uri::S3Uri;
use vidpipe_engine::Engine;

use crate::{ChunkerError, RequestStore};

/// Bytes read from the start of an overlay image: enough for the PNG IHDR, the BMP info header and the TGA header.
pub const IMAGE_HEADER_BYTES: u64 = 32;

/// Why a video could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The file is missing, unreadable or not usable media: retrying cannot help.
    #[error("{0}")]
    Unusable(String),
    /// The service failed: worth a retry.
    #[error("{0}")]
    Unavailable(String),
}

/// Probes video sources.
pub trait VideoProber {
    /// Probe results of the video at `uri`.
    fn probe(&self, uri: &S3Uri) -> impl Future<Output = Result<MediaInfo, ProbeError>> + Send;
}

/// The two probe backends.
#[derive(Clone)]
pub enum ProbeBackend {
    /// AWS Elemental MediaConvert's `Probe`.
    MediaConvert(aws_sdk_mediaconvert::Client),
    /// ffprobe through vidpipe-engine, in this process (every failure counts as unusable input).
    Engine(Engine),
}

impl VideoProber for ProbeBackend {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, ProbeError> {
        match self {
            Self::MediaConvert(client) => mediaconvert::probe(client, uri).await.map_err(|e| {
                if e.is_unusable_input() {
                    ProbeError::Unusable(e.to_string())
                } else {
                    ProbeError::Unavailable(e.to_string())
                }
            }),
            Self::Engine(engine) => {
                let response = engine
                    .probe(&[uri.to_string()])
                    .await
                    .map_err(|e| ProbeError::Unusable(e.message))?;
                let result = response
                    .probe_results
                    .first()
                    .ok_or_else(|| ProbeError::Unusable(format!("no probe result for {uri}")))?;
                result
                    .media_info()
                    .map_err(|why| ProbeError::Unusable(format!("{uri}: {why}")))
            }
        }
    }
}

/// Probe results of every distinct overlay image and video source of `request`, by URI.
pub async fn probe_sources(
    request: &RenderRequest,
    store: &impl RequestStore,
    prober: &impl VideoProber,
) -> Result<BTreeMap<String, MediaInfo>, ChunkerError> {
    let mut media = BTreeMap::new();
    for scene in &request.scenes {
        if let Some(video) = &scene.video
            && !media.contains_key(video)
        {
            let uri = source_uri(video)?;
            let info = prober.probe(&uri).await.map_err(|e| match e {
                ProbeError::Unusable(why) => ChunkerError::InvalidRenderRequest(format!(
                    "scene {:?}: the video {video} cannot be probed: {why}",
                    scene.id
                )),
                ProbeError::Unavailable(why) => {
                    ChunkerError::RequestUnavailable(format!("probing {video} failed: {why}"))
                }
            })?;
            media.insert(video.clone(), info);
        }
        if let Some(overlay) = &scene.overlay
            && !media.contains_key(&overlay.image)
        {
            let uri = source_uri(&overlay.image)?;
            let header =
                store
                    .fetch_prefix(&uri, IMAGE_HEADER_BYTES)
                    .await
                    .map_err(|e| match e {
                        ObjectError::S3 { .. } => ChunkerError::RequestUnavailable(e.to_string()),
                        ObjectError::NotFound(_) | ObjectError::TooLarge { .. } => {
                            ChunkerError::InvalidRenderRequest(format!(
                                "scene {:?}: the overlay image {}",
                                scene.id, e
                            ))
                        }
                    })?;
            let (width, height) = image_size(uri.key(), &header).map_err(|why| {
                ChunkerError::InvalidRenderRequest(format!(
                    "scene {:?}: the overlay image {uri} {why}",
                    scene.id
                ))
            })?;
            media.insert(
                overlay.image.clone(),
                MediaInfo {
                    width,
                    height,
                    duration_ms: Some(0),
                    frame_rate: None,
                    has_audio: false,
                    rotation: 0,
                },
            );
        }
    }
    Ok(media)
}

fn source_uri(uri: &str) -> Result<S3Uri, ChunkerError> {
    S3Uri::parse_str(uri).map_err(|e| ChunkerError::InvalidRenderRequest(e.to_string()))
}

/// The width and height in an image file's header, by the file's extension: PNG (IHDR), BMP (info header) or
/// TGA (image specification).
pub fn image_size(name: &str, header: &[u8]) -> Result<(u32, u32), String> {
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
                return Err("is not a PNG (no signature and IHDR chunk)".into());
            }
            u32_be(16).zip(u32_be(20))
        }
        Some("bmp") => {
            if !header.starts_with(b"BM") {
                return Err("is not a BMP (no BM signature)".into());
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
                return Err("is not a TGA (unknown image type)".into());
            }
            u16_le(12)
                .zip(u16_le(14))
                .map(|(w, h)| (w.into(), h.into()))
        }
        _ => return Err("is not a PNG, BMP or TGA file".into()),
    };
    match size {
        Some((width, height)) if width > 0 && height > 0 => Ok((width, height)),
        Some((width, height)) => Err(format!("has an empty size {width}x{height} in its header")),
        None => Err(format!(
            "is too short ({} bytes) for its header",
            header.len()
        )),
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
                .contains("not a PNG")
        );
        assert!(
            image_size("x.bmp", b"BM")
                .unwrap_err()
                .contains("too short")
        );
        assert!(
            image_size("x.jpg", b"")
                .unwrap_err()
                .contains("not a PNG, BMP or TGA")
        );
    }
}
