//! The last steps of a chunked render: [`Assembler::mix`] encodes the soundtrack once, and [`Assembler::join`] joins
//! the rendered chunks without re-encoding the video and muxes the soundtrack in.
//!
//! Every failure is an [`AssembleError`] whose [`AssembleError::error_type`] is a stable name (`ChunkMissing`,
//! `ChunkMismatch`, `FrameCountMismatch`, ...) that a Step Functions Catch or Retry can match.

mod join;
mod mix;
mod scenes;
mod thumbnails;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::storage::{Location, Storage, StorageError};
use crate::tools::{ToolError, Tools};

pub use join::{ChunkFile, JoinSpec, Joined};
pub use mix::{MUSIC_FADE_OUT_SECONDS, MixSpec, Mixed, SAMPLE_RATE};

/// Why a mix or a join failed.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A chunk file does not exist.
    #[error("chunk {index} is missing: [{uri}] does not exist")]
    ChunkMissing {
        /// The chunk's index.
        index: u32,
        /// Where it was expected.
        uri: String,
    },
    /// A chunk differs from the plan or from the first chunk in a property the join needs to be equal.
    #[error("chunk {index} [{uri}] does not match: {property} is {found}, expected {expected}")]
    ChunkMismatch {
        /// The chunk's index.
        index: u32,
        /// Where it is.
        uri: String,
        /// The property that differs (`size`, `frame rate`, `frames`, `codec`, `profile`, ...).
        property: &'static str,
        /// The value the plan or the first chunk has.
        expected: String,
        /// The chunk's value.
        found: String,
    },
    /// The joined video does not have the planned number of frames.
    #[error("the joined video has {found} frames, the plan has {expected}")]
    FrameCountMismatch {
        /// Frames in the plan.
        expected: u64,
        /// Frames in the joined video.
        found: u64,
    },
    /// Something is at the output's location already: it is kept, never overwritten (another render's video, or
    /// this render's from an earlier run).
    #[error("the output [{uri}] exists already: a render never overwrites a video")]
    OutputExists {
        /// The output.
        uri: String,
    },
    /// An audio source (voice-over, music, soundtrack) does not exist.
    #[error("source [{uri}] does not exist")]
    SourceMissing {
        /// Where it was expected.
        uri: String,
    },
    /// The request cannot be carried out as given (bad URI, chunks that do not cover the video, a source without
    /// audio, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// ffmpeg or ffprobe failed.
    #[error("media tool failed: {0}")]
    MediaFailed(#[from] ToolError),
    /// Reading or writing storage failed for a reason other than a missing object (worth retrying).
    #[error("storage failed: {0}")]
    StorageFailed(StorageError),
}

impl AssembleError {
    /// The error's stable name, used as the Lambda error type.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::ChunkMissing { .. } => "ChunkMissing",
            Self::ChunkMismatch { .. } => "ChunkMismatch",
            Self::FrameCountMismatch { .. } => "FrameCountMismatch",
            Self::OutputExists { .. } => "OutputExists",
            Self::SourceMissing { .. } => "SourceMissing",
            Self::InvalidInput(_) => "InvalidInput",
            Self::MediaFailed(_) => "MediaFailed",
            Self::StorageFailed(_) => "StorageFailed",
        }
    }

    fn storage(error: StorageError) -> Self {
        match error {
            StorageError::InvalidUri { .. } | StorageError::NoS3Client(_) => {
                Self::InvalidInput(error.to_string())
            }
            other => Self::StorageFailed(other),
        }
    }
}

/// Mixes soundtracks and joins chunks, reading and writing through [`Storage`] with ffmpeg from [`Tools`].
#[derive(Debug, Clone, Default)]
pub struct Assembler {
    storage: Storage,
    tools: Tools,
}

impl Assembler {
    /// An assembler over `storage`, with ffmpeg and ffprobe on `PATH`.
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            tools: Tools::default(),
        }
    }

    /// An assembler over `storage`, with its tools from the variables in `var` ([`Tools::from_env`]).
    pub fn from_env(storage: Storage, var: impl Fn(&str) -> Option<String>) -> Self {
        Self::new(storage).with_tools(Tools::from_env(var))
    }

    /// The same assembler with other tool paths.
    pub fn with_tools(mut self, tools: Tools) -> Self {
        self.tools = tools;
        self
    }

    /// A local copy of the source at `uri` in `work`, or [`AssembleError::SourceMissing`].
    async fn fetch_source(&self, uri: &str, work: &Path) -> Result<PathBuf, AssembleError> {
        let location = Location::parse(uri).map_err(AssembleError::storage)?;
        self.storage
            .fetch(&location, work)
            .await
            .map_err(|e| match e {
                StorageError::NotFound(_) => AssembleError::SourceMissing { uri: uri.into() },
                other => AssembleError::storage(other),
            })
    }

    /// The text of the document at `uri` (a stored render request), or [`AssembleError::SourceMissing`].
    pub async fn read_document(&self, uri: &str) -> Result<String, AssembleError> {
        let work = work_dir()?;
        let path = self.fetch_source(uri, work.path()).await?;
        tokio::fs::read_to_string(&path).await.map_err(|source| {
            AssembleError::StorageFailed(StorageError::Io {
                uri: uri.into(),
                source,
            })
        })
    }

    /// Stores the finished local `file` at `uri`.
    async fn store(&self, file: &Path, uri: &str) -> Result<(), AssembleError> {
        let location = Location::parse(uri).map_err(AssembleError::storage)?;
        self.storage
            .store(file, &location)
            .await
            .map_err(AssembleError::storage)
    }

    /// Stores the finished local `file` at `uri` unless something is there already
    /// ([`AssembleError::OutputExists`]).
    async fn store_new(&self, file: &Path, uri: &str) -> Result<(), AssembleError> {
        let location = Location::parse(uri).map_err(AssembleError::storage)?;
        self.storage
            .store_new(file, &location)
            .await
            .map_err(|e| match e {
                StorageError::Exists(uri) => AssembleError::OutputExists { uri },
                other => AssembleError::storage(other),
            })
    }

    /// Runs ffmpeg with `args`.
    async fn ffmpeg(&self, args: &[String]) -> Result<(), AssembleError> {
        self.tools.ffmpeg(args, &mut |_| {}).await?;
        Ok(())
    }

    /// ffprobe's JSON for `file` with `args` before the file name.
    async fn probe_json(&self, file: &Path, args: &[&str]) -> Result<Value, AssembleError> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["-of".into(), "json".into(), file.display().to_string()]);
        let out = self.tools.ffprobe(&all).await?;
        serde_json::from_str(&out).map_err(|e| {
            AssembleError::MediaFailed(ToolError::Failed {
                binary: self.tools.ffprobe.display().to_string(),
                message: format!("output is not JSON: {e}"),
            })
        })
    }

    /// Whether `file` has an audio stream.
    async fn has_audio(&self, file: &Path) -> Result<bool, AssembleError> {
        let json = self
            .probe_json(
                file,
                &["-select_streams", "a", "-show_entries", "stream=index"],
            )
            .await?;
        Ok(json["streams"].as_array().is_some_and(|s| !s.is_empty()))
    }
}

/// A fresh temporary work folder.
fn work_dir() -> Result<tempfile::TempDir, AssembleError> {
    tempfile::tempdir().map_err(|e| {
        AssembleError::StorageFailed(StorageError::Io {
            uri: std::env::temp_dir().display().to_string(),
            source: e,
        })
    })
}

/// Milliseconds of `frames` frames at `fps` frames per second, rounded.
pub fn frames_to_ms(frames: u64, fps: u32) -> u64 {
    (frames * 1000 + u64::from(fps) / 2) / u64::from(fps.max(1))
}
