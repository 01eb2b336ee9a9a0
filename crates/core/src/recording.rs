//! Recordings: what the API records about an upload, and its lifecycle.

use crate::upload::UploadKind;
use serde::{Deserialize, Serialize};

/// Where an upload is in its life. Only moves forward: `Uploading` -> `Uploaded`, or `Uploading` -> `Aborted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingStatus {
    /// Signed; the client is uploading.
    Uploading,
    /// The object is in S3 (set when its ObjectCreated event arrives).
    Uploaded,
    /// The client abandoned a multipart upload.
    Aborted,
}

impl RecordingStatus {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Uploaded => "uploaded",
            Self::Aborted => "aborted",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "uploading" => Some(Self::Uploading),
            "uploaded" => Some(Self::Uploaded),
            "aborted" => Some(Self::Aborted),
            _ => None,
        }
    }
}

/// A multipart upload's plan, kept so parts can be re-signed and the upload completed or aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    /// S3's upload id.
    pub upload_id: String,
    /// Size of every part but the last, in bytes.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u32,
}

/// One recording, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Server-chosen id.
    pub recording_id: String,
    /// Who asked for the upload (the authenticated subject, or `anonymous`).
    pub owner: String,
    /// What it is.
    pub kind: UploadKind,
    /// The object key.
    pub key: String,
    /// The signed Content-Type.
    pub content_type: String,
    /// The signed size in bytes (0 when the legacy route could not know it).
    pub size: u64,
    /// The room, if any.
    pub room_id: Option<String>,
    /// The stream, for camera and screen recordings.
    pub stream_name: Option<String>,
    /// The sanitized file name, for generic recordings.
    pub filename: Option<String>,
    /// When the recording started (epoch ms), if the client said.
    pub started_at: Option<u64>,
    /// Lifecycle state.
    pub status: RecordingStatus,
    /// When it was created (epoch ms).
    pub created_at_ms: u64,
    /// When it expires (epoch seconds, the DynamoDB TTL).
    pub expires_at: u64,
    /// The multipart plan, for large uploads.
    pub multipart: Option<MultipartUpload>,
}

/// When a record created at `now_ms` expires, in epoch seconds.
pub fn expiry(now_ms: u64, retention_days: u32) -> u64 {
    now_ms / 1000 + u64::from(retention_days) * 86_400
}
