//! Upload requests: what a client may ask to upload, checked before anything is signed or written.

use crate::call::{CallId, PeerId, TrackRole};
use crate::keys::{self, RoomId, StreamName};
use crate::validate::{FieldError, JsonFields};
use serde::{Deserialize, Serialize};

/// What is being uploaded; it decides the key and the allowed content types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    /// A stream's camera recording: `{prefix}{stream}_camera.webm`.
    Camera,
    /// A stream's screen recording: `{prefix}{stream}.mp4`.
    Screen,
    /// A generic recording: `{prefix}recordings/{room_id}/{recording_id}/{filename}`.
    Recording,
    /// An image, clip or audio file for the caller's renders: `{prefix}assets/{owner}/{recording_id}/{filename}`
    /// ([`keys::asset_prefix`]), the only place a caller's render reads from besides the shared assets.
    Asset,
    /// One peer's track of a call recording:
    /// `{prefix}rooms/{room_id}/{recording_id}/tracks/{peer_id}/{role}/{upload id}.{ext}` ([`keys::track_key`]).
    Track,
}

/// What a render reads, by media type: the extension its key gets (the render request checks sources by extension:
/// [`crate::render::IMAGE_EXTENSIONS`], [`crate::render::VIDEO_EXTENSIONS`]; audio goes to ffmpeg, which reads them
/// all).
const ASSET_TYPES: [(&str, &str); 13] = [
    ("image/png", "png"),
    ("image/bmp", "bmp"),
    ("image/x-tga", "tga"),
    ("video/mp4", "mp4"),
    ("video/quicktime", "mov"),
    ("video/webm", "webm"),
    ("video/x-matroska", "mkv"),
    ("audio/wav", "wav"),
    ("audio/x-wav", "wav"),
    ("audio/mpeg", "mp3"),
    ("audio/mp4", "m4a"),
    ("audio/aac", "aac"),
    ("audio/flac", "flac"),
];

impl UploadKind {
    /// Parses the wire name (`camera`, `screen`, `recording`, `asset`, `track`).
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        match value {
            "camera" => Ok(Self::Camera),
            "screen" => Ok(Self::Screen),
            "recording" => Ok(Self::Recording),
            "asset" => Ok(Self::Asset),
            "track" => Ok(Self::Track),
            _ => Err(FieldError::new(
                field,
                "must be one of camera, screen, recording, asset, track",
            )),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Screen => "screen",
            Self::Recording => "recording",
            Self::Asset => "asset",
            Self::Track => "track",
        }
    }

    /// Media types (without parameters) a client may upload for this kind. The key's extension must not lie.
    pub fn allowed_media_types(self) -> &'static [&'static str] {
        match self {
            Self::Camera => &["video/webm"],
            Self::Screen => &["video/mp4"],
            Self::Recording => &[
                "video/webm",
                "video/mp4",
                "video/quicktime",
                "audio/webm",
                "audio/mp4",
                "audio/mpeg",
            ],
            Self::Asset => &ASSET_MEDIA_TYPES,
            Self::Track => &TRACK_MEDIA_TYPES,
        }
    }
}

const ASSET_MEDIA_TYPES: [&str; ASSET_TYPES.len()] = {
    let mut types = [""; ASSET_TYPES.len()];
    let mut i = 0;
    while i < ASSET_TYPES.len() {
        types[i] = ASSET_TYPES[i].0;
        i += 1;
    }
    types
};

const TRACK_MEDIA_TYPES: [&str; keys::TRACK_TYPES.len()] = {
    let mut types = [""; keys::TRACK_TYPES.len()];
    let mut i = 0;
    while i < keys::TRACK_TYPES.len() {
        types[i] = keys::TRACK_TYPES[i].0;
        i += 1;
    }
    types
};

/// The file extension a file of `content_type` (an allowed one) gets in `types`.
fn extension(types: &[(&str, &'static str)], content_type: &str) -> &'static str {
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    types
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(media_type))
        .map_or("bin", |(_, ext)| ext)
}

/// Longest Content-Type accepted, parameters included.
pub const MAX_CONTENT_TYPE: usize = 255;

/// Checks `value` is an allowed media type for `kind`, optionally with parameters such as
/// `video/webm;codecs=vp8,opus` (what MediaRecorder reports). Returns it unchanged: it is signed as sent.
pub fn content_type(field: &str, kind: UploadKind, value: &str) -> Result<String, FieldError> {
    let (media_type, params) = value.split_once(';').unwrap_or((value, ""));
    let media_type = media_type.trim();
    if !kind
        .allowed_media_types()
        .iter()
        .any(|t| t.eq_ignore_ascii_case(media_type))
    {
        return Err(FieldError::new(
            field,
            format!(
                "must be one of {} for kind {}",
                kind.allowed_media_types().join(", "),
                kind.as_str()
            ),
        ));
    }
    let params_ok = params
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " =,.;-_\"".contains(c));
    if !params_ok || value.len() > MAX_CONTENT_TYPE {
        return Err(FieldError::new(field, "has invalid parameters"));
    }
    Ok(value.to_owned())
}

/// Size limits for uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest object accepted, in bytes.
    pub max_upload_bytes: u64,
}

/// Checks `size` is 1..=max bytes.
pub fn size(field: &str, limits: UploadLimits, size: u64) -> Result<u64, FieldError> {
    if size == 0 || size > limits.max_upload_bytes {
        return Err(FieldError::new(
            field,
            format!("must be between 1 and {} bytes", limits.max_upload_bytes),
        ));
    }
    Ok(size)
}

/// Earliest and latest `started_at` accepted (epoch ms): 2000-01-01 to 2100-01-01.
const STARTED_AT_RANGE: std::ops::RangeInclusive<u64> = 946_684_800_000..=4_102_444_800_000;

/// A validated `POST /uploads` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// What is uploaded.
    pub kind: UploadKind,
    /// The Content-Type the client will send (signed).
    pub content_type: String,
    /// The exact size the client will send (signed).
    pub size: u64,
    /// The stream (camera and screen kinds).
    pub stream_name: Option<StreamName>,
    /// The room (required for the recording kind, optional otherwise).
    pub room_id: Option<RoomId>,
    /// The sanitized file name (recording kind; a default is chosen when absent).
    pub filename: Option<String>,
    /// When the recording started, epoch ms (signed as `x-amz-meta-started-at`); required for kind track.
    pub started_at: Option<u64>,
    /// The call recording and peer a track belongs to (kind track only).
    pub track: Option<TrackUpload>,
}

/// What an upload of kind `track` names besides its room and start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackUpload {
    /// The call recording (the recording service's id).
    pub recording_id: CallId,
    /// The peer.
    pub peer_id: PeerId,
    /// What the track carries.
    pub role: TrackRole,
}

/// The track fields of a request of `kind`: required for a track, refused for any other kind.
fn track_fields(f: &mut JsonFields, kind: UploadKind) -> Result<Option<TrackUpload>, FieldError> {
    let recording_id = f.opt_str("recording_id", crate::call::MAX_CALL_ID * 4)?;
    let peer_id = f.opt_str("peer_id", crate::call::MAX_CALL_ID * 4)?;
    let role = f.opt_str("role", 32)?;
    if kind != UploadKind::Track {
        let given = [
            ("recording_id", &recording_id),
            ("peer_id", &peer_id),
            ("role", &role),
        ];
        return match given.into_iter().find(|(_, v)| v.is_some()) {
            Some((name, _)) => Err(FieldError::new(name, "is only for kind track")),
            None => Ok(None),
        };
    }
    let required = |name: &str, v: Option<String>| {
        v.ok_or_else(|| FieldError::new(name, "is required for kind track"))
    };
    Ok(Some(TrackUpload {
        recording_id: CallId::parse("recording_id", &required("recording_id", recording_id)?)?,
        peer_id: PeerId::parse("peer_id", &required("peer_id", peer_id)?)?,
        role: TrackRole::parse("role", &required("role", role)?)?,
    }))
}

impl UploadRequest {
    /// Parses and validates a `POST /uploads` body. Every error names its field.
    pub fn parse(body: &[u8], limits: UploadLimits) -> Result<Self, FieldError> {
        let mut f = JsonFields::parse(body)?;
        let kind = UploadKind::parse("kind", &f.str("kind", 32)?)?;
        let content_type = content_type(
            "content_type",
            kind,
            &f.str("content_type", MAX_CONTENT_TYPE)?,
        )?;
        let size = size("size", limits, f.u64("size")?)?;
        let stream_name = f
            .opt_str("stream_name", keys::MAX_STREAM_NAME * 4)?
            .map(|s| StreamName::parse("stream_name", &s))
            .transpose()?;
        let room_id = f
            .opt_str("room_id", keys::MAX_ROOM_ID * 4)?
            .map(|s| RoomId::parse("room_id", &s))
            .transpose()?;
        let filename = f
            .opt_str("filename", keys::MAX_FILENAME * 4)?
            .map(|s| keys::sanitize_filename("filename", &s))
            .transpose()?;
        // One form: epoch ms, as the recorder's clock gives it. An RFC 3339 string is refused, saying so.
        let started_at = f.opt_u64("started_at").map_err(|_| {
            FieldError::new(
                "started_at",
                "must be epoch milliseconds as an integer (RFC 3339 strings are not accepted)",
            )
        })?;
        let track = track_fields(&mut f, kind)?;
        f.finish()?;
        if let Some(t) = started_at
            && !STARTED_AT_RANGE.contains(&t)
        {
            return Err(FieldError::new(
                "started_at",
                "must be epoch milliseconds between 2000 and 2100",
            ));
        }
        match kind {
            UploadKind::Camera | UploadKind::Screen if stream_name.is_none() => {
                return Err(FieldError::new(
                    "stream_name",
                    format!("is required for kind {}", kind.as_str()),
                ));
            }
            UploadKind::Recording | UploadKind::Track if room_id.is_none() => {
                return Err(FieldError::new(
                    "room_id",
                    format!("is required for kind {}", kind.as_str()),
                ));
            }
            UploadKind::Track if started_at.is_none() => {
                return Err(FieldError::new("started_at", "is required for kind track"));
            }
            UploadKind::Track if filename.is_some() => {
                return Err(FieldError::new("filename", "is not for kind track"));
            }
            UploadKind::Recording | UploadKind::Asset | UploadKind::Track
                if stream_name.is_some() =>
            {
                return Err(FieldError::new(
                    "stream_name",
                    "is only for kinds camera and screen",
                ));
            }
            UploadKind::Asset if room_id.is_some() => {
                return Err(FieldError::new("room_id", "is not for kind asset"));
            }
            _ => {}
        }
        Ok(Self {
            kind,
            content_type,
            size,
            stream_name,
            room_id,
            filename,
            started_at,
            track,
        })
    }

    /// The object key the server chooses for this request of `owner`'s.
    pub fn key(&self, prefix: &str, owner: &str, recording_id: &str) -> String {
        match (self.kind, &self.stream_name, &self.room_id) {
            (UploadKind::Track, _, Some(room)) => {
                let track = self
                    .track
                    .as_ref()
                    .expect("parse() requires a track's fields");
                keys::track_key(
                    prefix,
                    room,
                    &track.recording_id,
                    &track.peer_id,
                    track.role,
                    recording_id,
                    extension(&keys::TRACK_TYPES, &self.content_type),
                )
            }
            (UploadKind::Asset, _, _) => {
                // The extension is the content type's, whatever the client's file was called: a render checks its
                // sources by extension, so the key must not lie.
                let ext = extension(&ASSET_TYPES, &self.content_type);
                let stem = self
                    .filename
                    .as_deref()
                    .map(|name| name.rsplit_once('.').map_or(name, |(stem, _)| stem))
                    .filter(|stem| !stem.is_empty())
                    .unwrap_or("asset");
                format!(
                    "{}{recording_id}/{stem}.{ext}",
                    keys::asset_prefix(prefix, owner)
                )
            }
            (UploadKind::Camera, Some(stream), _) => keys::camera_key(prefix, stream),
            (UploadKind::Screen, Some(stream), _) => keys::screen_key(prefix, stream),
            (_, _, Some(room)) => {
                let filename = self
                    .filename
                    .clone()
                    .unwrap_or_else(|| default_filename(&self.content_type));
                keys::recording_key(prefix, room, recording_id, &filename)
            }
            _ => unreachable!("parse() guarantees the fields each kind needs"),
        }
    }
}

/// `recording.{ext}` for a media type.
pub fn default_filename(content_type: &str) -> String {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let ext = match media_type.as_str() {
        "video/mp4" | "audio/mp4" => "mp4",
        "video/quicktime" => "mov",
        "audio/mpeg" => "mp3",
        _ => "webm",
    };
    format!("recording.{ext}")
}

/// Most parts a multipart plan hands out (S3 allows 10,000; fewer keeps the plan's URL list small).
pub const MAX_PLANNED_PARTS: u64 = 1000;

/// A multipart plan for `size` bytes: the part size (every part but the last), and the part count. Parts are at
/// least `min_part_size` and grow, in whole MiB, to keep the count within [`MAX_PLANNED_PARTS`].
pub fn plan_parts(size: u64, min_part_size: u64) -> (u64, u32) {
    const MIB: u64 = 1024 * 1024;
    let needed = size.div_ceil(MAX_PLANNED_PARTS).div_ceil(MIB) * MIB;
    let part_size = needed.max(min_part_size);
    let count = u32::try_from(size.div_ceil(part_size).max(1)).unwrap_or(u32::MAX);
    (part_size, count)
}

/// Length of part `number` (from 1) of a `size`-byte upload cut into `part_size` parts.
pub fn part_len(size: u64, part_size: u64, number: u32) -> u64 {
    let start = u64::from(number - 1) * part_size;
    size.saturating_sub(start).min(part_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: UploadLimits = UploadLimits {
        max_upload_bytes: 1000,
    };

    fn parse(body: &str) -> Result<UploadRequest, FieldError> {
        UploadRequest::parse(body.as_bytes(), LIMITS)
    }

    #[test]
    fn camera_request_gets_the_survey_clients_key() {
        let r = parse(r#"{"kind":"camera","content_type":"video/webm;codecs=vp8","size":10,"stream_name":"s1","started_at":1700000000000}"#).unwrap();
        assert_eq!(r.key("p/", "jwt:u", "id"), "p/s1_camera.webm");
        assert_eq!(r.started_at, Some(1_700_000_000_000));
    }

    #[test]
    fn recording_request_gets_a_sanitized_key() {
        let r = parse(r#"{"kind":"recording","content_type":"video/webm","size":10,"room_id":"r1","filename":"my call.webm"}"#)
            .unwrap();
        assert_eq!(
            r.key("p/", "jwt:u", "id9"),
            "p/recordings/r1/id9/my_call.webm"
        );
        let r =
            parse(r#"{"kind":"recording","content_type":"audio/mpeg","size":10,"room_id":"r1"}"#)
                .unwrap();
        assert_eq!(r.key("", "jwt:u", "i"), "recordings/r1/i/recording.mp3");
    }

    #[test]
    fn an_asset_is_keyed_in_its_owners_assets_with_its_types_extension() {
        let asset = |content_type: &str, filename: Option<&str>| {
            let name = filename.map_or(String::new(), |f| format!(r#","filename":"{f}""#));
            parse(&format!(
                r#"{{"kind":"asset","content_type":"{content_type}","size":10{name}}}"#
            ))
            .unwrap()
            .key("videos/", "jwt:user-1", "a1")
        };
        assert_eq!(
            asset("image/png", Some("Product shot.PNG")),
            "videos/assets/jwt%3Auser-1/a1/Product_shot.png"
        );
        assert_eq!(
            asset("video/quicktime", Some("clip.mp4")),
            "videos/assets/jwt%3Auser-1/a1/clip.mov"
        );
        assert_eq!(
            asset("audio/mpeg", None),
            "videos/assets/jwt%3Auser-1/a1/asset.mp3"
        );
        assert_eq!(
            asset("audio/x-wav", Some(".wav")),
            "videos/assets/jwt%3Auser-1/a1/wav.wav"
        );
        for (body, field) in [
            (
                r#"{"kind":"asset","content_type":"image/jpeg","size":1}"#,
                "content_type",
            ),
            (
                r#"{"kind":"asset","content_type":"image/png","size":1001}"#,
                "size",
            ),
            (
                r#"{"kind":"asset","content_type":"image/png","size":1,"room_id":"r"}"#,
                "room_id",
            ),
            (
                r#"{"kind":"asset","content_type":"image/png","size":1,"filename":"../x.png"}"#,
                "filename",
            ),
        ] {
            assert_eq!(parse(body).unwrap_err().field, field, "{body}");
        }
    }

    #[test]
    fn a_track_is_keyed_under_its_call_and_names_its_fields() {
        let base = r#"{"kind":"track","content_type":"video/webm;codecs=vp8,opus","size":10,"room_id":"room-456","recording_id":"rec-123","peer_id":"peer-1","role":"av","started_at":1767261600000}"#;
        let r = parse(base).unwrap();
        assert_eq!(
            r.key("videos/", "jwt:u", "t-9"),
            "videos/rooms/room-456/rec-123/tracks/peer-1/av/t-9.webm"
        );
        assert_eq!(r.started_at, Some(1_767_261_600_000));
        let with = |from: &str, to: &str| {
            assert!(base.contains(from), "{from}");
            base.replacen(from, to, 1)
        };
        let cases = [
            (with(r#","role":"av""#, ""), "role"),
            (with(r#""role":"av""#, r#""role":"audio""#), "role"),
            (with(r#","peer_id":"peer-1""#, ""), "peer_id"),
            (
                with(r#""peer_id":"peer-1""#, r#""peer_id":"../p""#),
                "peer_id",
            ),
            (
                with(r#""peer_id":"peer-1""#, r#""peer_id":"p%2F1""#),
                "peer_id",
            ),
            (
                with(r#""peer_id":"peer-1""#, r#""peer_id":"p\u0000""#),
                "peer_id",
            ),
            (with(r#""recording_id":"rec-123","#, ""), "recording_id"),
            (
                with(r#""recording_id":"rec-123""#, r#""recording_id":"a/b""#),
                "recording_id",
            ),
            (
                with(r#""recording_id":"rec-123""#, r#""recording_id":7"#),
                "recording_id",
            ),
            (with(r#""room_id":"room-456","#, ""), "room_id"),
            (
                with(r#""room_id":"room-456""#, r#""room_id":"..""#),
                "room_id",
            ),
            (with(",\"started_at\":1767261600000", ""), "started_at"),
            (
                with("1767261600000", "\"2026-01-01T10:00:00Z\""),
                "started_at",
            ),
            (with("1767261600000", "5"), "started_at"),
            (
                with("video/webm;codecs=vp8,opus", "audio/mpeg"),
                "content_type",
            ),
            (
                with(r#""size":10"#, r#""size":10,"filename":"x.webm""#),
                "filename",
            ),
            (
                with(r#""size":10"#, r#""size":10,"stream_name":"s""#),
                "stream_name",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(parse(&body).unwrap_err().field, field, "{body}");
        }
        let message = parse(&with("1767261600000", "\"2026-01-01T10:00:00Z\""))
            .unwrap_err()
            .message;
        assert!(message.contains("RFC 3339"), "{message}");
        let recording = r#"{"kind":"recording","content_type":"video/webm","size":1,"room_id":"r","peer_id":"p"}"#;
        assert_eq!(parse(recording).unwrap_err().field, "peer_id");
    }

    #[test]
    fn multipart_plans_cover_the_size_exactly() {
        const MIB: u64 = 1024 * 1024;
        assert_eq!(plan_parts(11 * MIB, 5 * MIB), (5 * MIB, 3));
        assert_eq!(part_len(11 * MIB, 5 * MIB, 3), MIB);
        let (part, count) = plan_parts(5 * 1024 * MIB, 8 * MIB);
        assert_eq!((part, count), (8 * MIB, 640));
        let (part, count) = plan_parts(50 * 1024 * MIB, 8 * MIB);
        assert!(u64::from(count) <= MAX_PLANNED_PARTS && part % MIB == 0);
        for size in [1, 5 * MIB, 5 * MIB + 1, 123_456_789, 50 * 1024 * MIB + 7] {
            let (part, count) = plan_parts(size, 5 * MIB);
            let total: u64 = (1..=count).map(|n| part_len(size, part, n)).sum();
            assert_eq!(total, size);
            assert!((1..=count).all(|n| part_len(size, part, n) > 0));
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let cases = [
            ("{", "body"),
            ("[]", "body"),
            (r#"{"content_type":"video/webm","size":1}"#, "kind"),
            (
                r#"{"kind":"movie","content_type":"video/webm","size":1}"#,
                "kind",
            ),
            (r#"{"kind":7,"content_type":"video/webm","size":1}"#, "kind"),
            (
                r#"{"kind":"camera","content_type":"video/mp4","size":1,"stream_name":"s"}"#,
                "content_type",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm;x=<script>","size":1,"stream_name":"s"}"#,
                "content_type",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":0,"stream_name":"s"}"#,
                "size",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":1001,"stream_name":"s"}"#,
                "size",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":"10","stream_name":"s"}"#,
                "size",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":1e30,"stream_name":"s"}"#,
                "size",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":1}"#,
                "stream_name",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":1,"stream_name":"../x"}"#,
                "stream_name",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":1,"stream_name":"a%2Fb"}"#,
                "stream_name",
            ),
            (
                r#"{"kind":"screen","content_type":"video/mp4","size":1,"stream_name":"x_composited"}"#,
                "stream_name",
            ),
            (
                r#"{"kind":"recording","content_type":"video/webm","size":1}"#,
                "room_id",
            ),
            (
                r#"{"kind":"recording","content_type":"video/webm","size":1,"room_id":"a/b"}"#,
                "room_id",
            ),
            (
                r#"{"kind":"recording","content_type":"video/webm","size":1,"room_id":"r","filename":"../../etc"}"#,
                "filename",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":1,"stream_name":"s","started_at":5}"#,
                "started_at",
            ),
            (
                r#"{"kind":"camera","content_type":"video/webm","size":1,"stream_name":"s","owner":"x"}"#,
                "owner",
            ),
        ];
        for (body, field) in cases {
            let err = parse(body).expect_err(body);
            assert_eq!(err.field, field, "{body}: {err}");
        }
        let long = format!(
            r#"{{"kind":"camera","content_type":"video/webm","size":1,"stream_name":"{}"}}"#,
            "a".repeat(129)
        );
        assert_eq!(parse(&long).unwrap_err().field, "stream_name");
    }
}
