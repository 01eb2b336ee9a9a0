//! The probe backends `MEDIACONVERT_BACKEND` chooses between at run time: MediaConvert's `Probe` on AWS, or ffprobe
//! through vidpipe-engine in this process (the `local` feature).

use vidpipe_aws::prober::MediaConvertProber;
use vidpipe_core::job::MediaInfo;
use vidpipe_core::render::ports::{VideoProbeError, VideoProber};
use vidpipe_core::s3uri::S3Uri;

/// The video probe a chunker runs with.
#[derive(Clone)]
pub enum ProbeBackend {
    /// AWS Elemental MediaConvert's `Probe`.
    MediaConvert(MediaConvertProber),
    /// ffprobe through vidpipe-engine, in this process (every failure counts as unusable input).
    #[cfg(feature = "local")]
    Engine(vidpipe_engine::Engine),
}

impl VideoProber for ProbeBackend {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        match self {
            Self::MediaConvert(prober) => prober.probe(uri).await,
            #[cfg(feature = "local")]
            Self::Engine(engine) => engine
                .media_info(uri)
                .await
                .map_err(|e| VideoProbeError::Unusable(Box::new(e))),
        }
    }
}
