//! Where a composite (or its single-source fallback) is written, and how to tell that key from an input.
//!
//! This rule lives here rather than in the upload key module: the output key is
//! `{prefix}{stream}_composited.mp4`, and a stream name may not end in `_composited` or `_camera`, so the output
//! can never be read as the screen recording `{prefix}{stream}.mp4` (or the camera `{stream}_camera.webm`) of
//! another stream, and the compositor never reacts to its own output.

use serde::{Deserialize, Serialize};

use super::JobError;
use crate::keys::{self, KeyKind, StreamName};
use crate::s3uri::S3Uri;

/// Suffix of the output's base name (the key rule's [`keys::COMPOSITED_MARK`]).
pub const COMPOSITED_SUFFIX: &str = keys::COMPOSITED_MARK;

/// Suffix of a camera recording's base name (the key rule's [`keys::CAMERA_MARK`]).
pub const CAMERA_SUFFIX: &str = keys::CAMERA_MARK;

/// The output of a stream's composite: `s3://{bucket}/{prefix}{stream}_composited.mp4`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompositeOutput {
    /// The bucket.
    pub bucket: String,
    /// The key prefix: empty or ending in `/`.
    #[serde(default)]
    pub prefix: String,
    /// The stream name.
    pub stream: String,
}

impl CompositeOutput {
    /// Checks the parts and returns the output location.
    pub fn new(bucket: &str, prefix: &str, stream: &str) -> Result<Self, JobError> {
        let output = Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            stream: stream.to_owned(),
        };
        output.check()?;
        Ok(output)
    }

    /// Checks a deserialized value the same way as [`CompositeOutput::new`].
    pub fn check(&self) -> Result<(), JobError> {
        check_stream_name(&self.stream)?;
        keys::check_prefix(&self.prefix)
            .map_err(|why| JobError::InvalidOutput(format!("prefix `{}` {why}", self.prefix)))?;
        S3Uri::new(&self.bucket, self.key()).map_err(|e| JobError::InvalidOutput(e.to_string()))?;
        Ok(())
    }

    /// The output of the stream a recording belongs to: `{prefix}{stream}.{ext}` (screen) or
    /// `{prefix}{stream}_camera.{ext}` (camera), in the recording's bucket.
    pub fn for_recording(recording: &S3Uri) -> Result<Self, JobError> {
        let key = recording.key();
        let (prefix, name) = key
            .rsplit_once('/')
            .map_or(("", key), |(p, n)| (&key[..p.len() + 1], n));
        let base = name.rsplit_once('.').map_or(name, |(base, _)| base);
        let stream = base.strip_suffix(CAMERA_SUFFIX).unwrap_or(base);
        Self::new(recording.bucket(), prefix, stream)
    }

    /// The output's object key.
    pub fn key(&self) -> String {
        format!("{}{}{COMPOSITED_SUFFIX}.mp4", self.prefix, self.stream)
    }

    /// The FILE_GROUP `Destination`: the key without its extension (MediaConvert adds `.mp4`), so no
    /// `NameModifier` is needed.
    pub fn destination(&self) -> String {
        format!(
            "s3://{}/{}{}{COMPOSITED_SUFFIX}",
            self.bucket, self.prefix, self.stream
        )
    }
}

/// Whether `key` is a composite output (so an upload trigger must ignore it), by [`keys::classify_key`] with the
/// key's own folder as the prefix.
pub fn is_composite_output_key(key: &str) -> bool {
    let folder = key.rfind('/').map_or("", |slash| &key[..=slash]);
    matches!(keys::classify_key(folder, key), KeyKind::Composited(_))
}

/// Checks a stream name by the one rule, [`StreamName::parse`]: `[A-Za-z0-9_-]{1,128}`, not ending in
/// `_composited` or `_camera`.
pub fn check_stream_name(stream: &str) -> Result<(), JobError> {
    StreamName::parse("stream", stream)
        .map(|_| ())
        .map_err(|e| JobError::InvalidStreamName {
            stream: stream.to_owned(),
            reason: e.message,
        })
}
