//! The render flow's video probe on AWS Elemental MediaConvert's `Probe` ([`VideoProber`]).

use vidpipe_core::job::MediaInfo;
use vidpipe_core::render::ports::{VideoProbeError, VideoProber};
use vidpipe_core::s3uri::S3Uri;

use crate::mediaconvert;

/// Probes videos with MediaConvert's `Probe`.
#[derive(Debug, Clone)]
pub struct MediaConvertProber(pub aws_sdk_mediaconvert::Client);

impl VideoProber for MediaConvertProber {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        mediaconvert::probe(&self.0, uri).await.map_err(|e| {
            if e.is_unusable_input() {
                VideoProbeError::Unusable(Box::new(e))
            } else {
                VideoProbeError::Unavailable(Box::new(e))
            }
        })
    }
}
