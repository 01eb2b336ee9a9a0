//! Object key naming: the server chooses every key, by these rules only.
//!
//! Stream keys are the ones the AddPipe survey client and its recording service already write, so they keep
//! working: `{prefix}{stream}.mp4` (screen), `{prefix}{stream}_camera.webm` (camera) and
//! `{prefix}{stream}_composited.mp4` (output). Generic recordings live under
//! `{prefix}recordings/{room_id}/{recording_id}/{filename}`; a call's tracks under
//! `{prefix}rooms/{room_id}/{recording_id}/tracks/{peer_id}/{role}/{track_id}.{ext}` ([`track_key`]). Every key
//! starts with a prefix that [`check_prefix`] accepts.

use crate::call::{CallId, PeerId, TrackRole};
use crate::validate::{FieldError, identifier};

/// Longest stream name accepted.
pub const MAX_STREAM_NAME: usize = 128;
/// Longest room id accepted.
pub const MAX_ROOM_ID: usize = 128;
/// Longest filename kept in a key (after sanitizing).
pub const MAX_FILENAME: usize = 200;

/// End of a composited output's base name; no stream name may end with it.
pub const COMPOSITED_MARK: &str = "_composited";
/// End of a camera recording's base name; no stream name may end with it.
pub const CAMERA_MARK: &str = "_camera";

const CAMERA_SUFFIX: &str = "_camera.webm";
const COMPOSITED_SUFFIX: &str = "_composited.mp4";
const SCREEN_SUFFIX: &str = ".mp4";
const RECORDINGS_DIR: &str = "recordings/";
/// Folder (under the key prefix) of the call recordings, one folder per room and recording.
pub const ROOMS_DIR: &str = "rooms/";
/// Extensions of a call's track files, by media type: what `POST /uploads` of kind `track` accepts.
pub const TRACK_TYPES: [(&str, &str); 3] = [
    ("video/webm", "webm"),
    ("video/mp4", "mp4"),
    ("video/x-matroska", "mkv"),
];
/// Folder (under the key prefix) of the renders, one folder per owner and render.
pub const RENDERS_DIR: &str = "renders/";
/// Folder (under the key prefix) of the assets callers upload for renders, one folder per owner.
pub const ASSETS_DIR: &str = "assets/";

/// A validated stream name: `[A-Za-z0-9_-]{1,128}`, never ending in `_composited` or `_camera`, so that a screen
/// key can never be mistaken for an output key or a camera key (the compositor must never react to its own output).
/// This is the one stream-name rule: every other check delegates to [`StreamName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamName(String);

impl StreamName {
    /// Validates `value` as the JSON field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        identifier(field, value, MAX_STREAM_NAME)?;
        for (mark, reserved_for) in [(COMPOSITED_MARK, "outputs"), (CAMERA_MARK, "camera files")] {
            if value.ends_with(mark) {
                return Err(FieldError::new(
                    field,
                    format!("must not end with '{mark}' (reserved for {reserved_for})"),
                ));
            }
        }
        Ok(Self(value.to_owned()))
    }

    /// The name itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated room id: `[A-Za-z0-9_-]{1,128}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomId(String);

impl RoomId {
    /// Validates `value` as the JSON field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        identifier(field, value, MAX_ROOM_ID)?;
        Ok(Self(value.to_owned()))
    }

    /// The id itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a key prefix (`KEY_PREFIX`, an output's folder): empty, or ending in `/` and not starting with `/`
/// (`videos/`), so that `{prefix}{name}` is always a key in the prefix's folder. `Err` says what is wrong.
pub fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    if (prefix.is_empty() || prefix.ends_with('/')) && !prefix.starts_with('/') {
        Ok(())
    } else {
        Err("must be empty or end with `/`, and not start with `/`")
    }
}

/// Key of a stream's screen recording.
pub fn screen_key(prefix: &str, stream: &StreamName) -> String {
    format!("{prefix}{}{SCREEN_SUFFIX}", stream.0)
}

/// Key of a stream's camera recording.
pub fn camera_key(prefix: &str, stream: &StreamName) -> String {
    format!("{prefix}{}{CAMERA_SUFFIX}", stream.0)
}

/// Key of a stream's composited output.
pub fn composited_key(prefix: &str, stream: &StreamName) -> String {
    format!("{prefix}{}{COMPOSITED_SUFFIX}", stream.0)
}

/// Key of a generic recording; `filename` must come from [`sanitize_filename`].
pub fn recording_key(prefix: &str, room: &RoomId, recording_id: &str, filename: &str) -> String {
    format!(
        "{prefix}{RECORDINGS_DIR}{}/{recording_id}/{filename}",
        room.0
    )
}

/// The folder of a call recording: `{prefix}rooms/{room_id}/{recording_id}/` (its tracks, and later its previews
/// and exports).
pub fn call_prefix(prefix: &str, room: &RoomId, call: &CallId) -> String {
    format!("{prefix}{ROOMS_DIR}{}/{}/", room.0, call.as_str())
}

/// Key of a call's export: `{call_prefix}processed/exports/{export_id}.mp4` (`export_id` a render id: `[A-Za-z0-9._-]`,
/// checked with the render request). It classifies as nothing ([`classify_key`]), so its arrival starts no job.
pub fn export_key(prefix: &str, room: &RoomId, call: &CallId, export_id: &str) -> String {
    format!(
        "{}processed/exports/{export_id}.mp4",
        call_prefix(prefix, room, call)
    )
}

/// Folder of a call's export's thumbnails: `{call_prefix}processed/thumbnails/{export_id}/` (`thumb_0001.jpg`, ...).
/// Nothing in it classifies ([`classify_key`]).
pub fn export_thumbnails_prefix(
    prefix: &str,
    room: &RoomId,
    call: &CallId,
    export_id: &str,
) -> String {
    format!(
        "{}processed/thumbnails/{export_id}/",
        call_prefix(prefix, room, call)
    )
}

/// Key of the request object of a call's previews, generation `generation`:
/// `{call_prefix}preview/requests/{generation}.json`. `POST /recordings/{recording_id}/preview` writes it; its
/// ObjectCreated event has the compositor submit that generation's jobs.
pub fn preview_request_key(prefix: &str, room: &RoomId, call: &CallId, generation: u64) -> String {
    format!(
        "{}preview/requests/{generation}.json",
        call_prefix(prefix, room, call)
    )
}

/// Key of one track of a call: `{call_prefix}tracks/{peer_id}/{role}/{track_id}.{ext}`. `track_id` is the upload's
/// server-chosen id and `ext` one of [`TRACK_TYPES`]'.
pub fn track_key(
    prefix: &str,
    room: &RoomId,
    call: &CallId,
    peer: &PeerId,
    role: TrackRole,
    track_id: &str,
    ext: &str,
) -> String {
    format!(
        "{}tracks/{}/{}/{track_id}.{ext}",
        call_prefix(prefix, room, call),
        peer.as_str(),
        role.as_str()
    )
}

/// An owner (`jwt:user-123`, `anonymous`, ...) as one key segment: bytes outside `[A-Za-z0-9._-]` become `%XX`, so
/// the segment is reversible, never holds a `/` or `..` of the caller's choosing, and two owners never share one.
pub fn owner_segment(owner: &str) -> String {
    let mut segment = String::with_capacity(owner.len());
    for byte in owner.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'_' | b'-')
            || (byte == b'.' && !segment.is_empty())
        {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

/// The folder of one render: `{prefix}renders/{owner}/{render_id}/` (its request, its work and its output).
pub fn render_prefix(prefix: &str, owner: &str, render_id: &str) -> String {
    format!("{prefix}{RENDERS_DIR}{}/{render_id}/", owner_segment(owner))
}

/// The owner an [`owner_segment`] was made from, or None when `segment` is not one.
pub fn segment_owner(segment: &str) -> Option<String> {
    if !is_owner_segment(segment) {
        return None;
    }
    let bytes = segment.as_bytes();
    let mut owner = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            owner.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            owner.push(bytes[i]);
            i += 1;
        }
    }
    let owner = String::from_utf8(owner).ok()?;
    // Only the one spelling owner_segment makes: no other escape of the same owner is taken for it.
    (owner_segment(&owner) == segment).then_some(owner)
}

/// Whether `segment` is one [`owner_segment`] could have made: its bytes, escapes as `%XX`, no leading dot.
fn is_owner_segment(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('.')
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%'))
}

/// The folder of an owner's render assets: `{prefix}assets/{owner}/`.
pub fn asset_prefix(prefix: &str, owner: &str) -> String {
    format!("{prefix}{ASSETS_DIR}{}/", owner_segment(owner))
}

/// Makes a client's filename safe to use as the last key segment.
///
/// Path separators, `..`, and control characters are refused (they are never innocent in a filename); every other
/// character outside `[A-Za-z0-9._-]` becomes `_`; leading dots are dropped.
pub fn sanitize_filename(field: &str, name: &str) -> Result<String, FieldError> {
    if name.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(FieldError::new(field, "must be a file name, not a path"));
    }
    if name.contains("..") {
        return Err(FieldError::new(field, "must not contain '..'"));
    }
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_owned();
    if cleaned.is_empty() {
        return Err(FieldError::new(
            field,
            "must contain at least one letter or digit",
        ));
    }
    if cleaned.len() > MAX_FILENAME {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_FILENAME} characters"),
        ));
    }
    Ok(cleaned)
}

/// What an object key is, by the naming rules above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// A stream's screen recording.
    Screen(StreamName),
    /// A stream's camera recording.
    Camera(StreamName),
    /// A stream's composited output: never a trigger for work.
    Composited(StreamName),
    /// A generic recording.
    Recording {
        /// The room it belongs to.
        room_id: RoomId,
        /// Its recording id.
        recording_id: String,
    },
    /// A caller's render asset (`POST /uploads` kind `asset`): `{prefix}assets/{owner}/{recording_id}/{filename}`.
    Asset {
        /// Its owner, as the key segment [`owner_segment`] made.
        owner_segment: String,
        /// Its recording id.
        recording_id: String,
    },
    /// One track of a call recording (`POST /uploads` kind `track`).
    Track {
        /// The call's room.
        room_id: RoomId,
        /// The call recording.
        recording_id: CallId,
        /// The peer.
        peer_id: PeerId,
        /// What it carries.
        role: TrackRole,
        /// The track's upload id.
        track_id: String,
    },
    /// The request object of a call's previews ([`preview_request_key`]).
    PreviewRequest {
        /// The call's room.
        room_id: RoomId,
        /// The call recording.
        recording_id: CallId,
        /// The previews' generation.
        generation: u64,
    },
    /// A render's video, made by the render flow: `{prefix}renders/{owner}/{render_id}/output.mp4`.
    RenderOutput {
        /// Its owner, as the key segment [`owner_segment`] made.
        owner_segment: String,
        /// The render.
        render_id: String,
    },
    /// Outside the prefix, or not named by these rules.
    Other,
}

/// Classifies `key` (already URL-decoded). Outputs are recognised before screens, so `x_composited.mp4` is never
/// taken for the screen of a stream `x_composited` (such stream names are refused anyway).
pub fn classify_key(prefix: &str, key: &str) -> KeyKind {
    let Some(rest) = key.strip_prefix(prefix) else {
        return KeyKind::Other;
    };
    if let Some(path) = rest.strip_prefix(RECORDINGS_DIR) {
        let parts: Vec<&str> = path.split('/').collect();
        if let [room, id, file] = parts.as_slice()
            && let Ok(room_id) = RoomId::parse("room_id", room)
            && identifier("recording_id", id, 64).is_ok()
            && sanitize_filename("filename", file).as_deref() == Ok(*file)
        {
            return KeyKind::Recording {
                room_id,
                recording_id: (*id).to_owned(),
            };
        }
        return KeyKind::Other;
    }
    if let Some(path) = rest.strip_prefix(ROOMS_DIR) {
        return classify_track(path).unwrap_or(KeyKind::Other);
    }
    if let Some(path) = rest.strip_prefix(ASSETS_DIR) {
        let parts: Vec<&str> = path.split('/').collect();
        if let [owner, id, file] = parts.as_slice()
            && is_owner_segment(owner)
            && identifier("recording_id", id, 64).is_ok()
            && sanitize_filename("filename", file).as_deref() == Ok(*file)
        {
            return KeyKind::Asset {
                owner_segment: (*owner).to_owned(),
                recording_id: (*id).to_owned(),
            };
        }
        return KeyKind::Other;
    }
    if let Some(path) = rest.strip_prefix(RENDERS_DIR) {
        let parts: Vec<&str> = path.split('/').collect();
        if let [owner, id, file] = parts.as_slice()
            && is_owner_segment(owner)
            && crate::render::is_render_id(id)
            && *file == crate::render::scope::OUTPUT_NAME
        {
            return KeyKind::RenderOutput {
                owner_segment: (*owner).to_owned(),
                render_id: (*id).to_owned(),
            };
        }
        return KeyKind::Other;
    }
    let stream = |suffix: &str| {
        rest.strip_suffix(suffix)
            .and_then(|name| StreamName::parse("stream", name).ok())
    };
    if let Some(s) = stream(COMPOSITED_SUFFIX) {
        return KeyKind::Composited(s);
    }
    if let Some(s) = stream(CAMERA_SUFFIX) {
        return KeyKind::Camera(s);
    }
    match stream(SCREEN_SUFFIX) {
        Some(s) => KeyKind::Screen(s),
        None => KeyKind::Other,
    }
}

/// A track's key below `{prefix}rooms/`, by the one rule [`track_key`] builds, or a preview request's
/// ([`preview_request_key`]); `None` for anything else in a call's folder (the previews' own files among them).
/// Every segment must pass its own id rule, so `..`, `%2F` or an empty segment never classify.
fn classify_track(path: &str) -> Option<KeyKind> {
    let parts = path.split('/').collect::<Vec<_>>();
    if let [room, call, "preview", "requests", file] = parts[..] {
        let digits = file.strip_suffix(".json")?;
        // Generations start at 1 and are written without leading zeros: one key per generation.
        let canonical = !digits.starts_with('0') && digits.len() <= 19;
        if !canonical || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(KeyKind::PreviewRequest {
            room_id: RoomId::parse("room_id", room).ok()?,
            recording_id: CallId::parse("recording_id", call).ok()?,
            generation: digits.parse().ok()?,
        });
    }
    let [room, call, "tracks", peer, role, file] = parts[..] else {
        return None;
    };
    let (track_id, ext) = file.rsplit_once('.')?;
    identifier("track_id", track_id, 64).ok()?;
    TRACK_TYPES.iter().find(|(_, e)| *e == ext)?;
    Some(KeyKind::Track {
        room_id: RoomId::parse("room_id", room).ok()?,
        recording_id: CallId::parse("recording_id", call).ok()?,
        peer_id: PeerId::parse("peer_id", peer).ok()?,
        role: TrackRole::parse("role", role).ok()?,
        track_id: track_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tracks_key_is_built_and_classified_by_one_rule() {
        use super::*;
        let room = RoomId::parse("room_id", "room-456").unwrap();
        let call = CallId::parse("recording_id", "rec-123").unwrap();
        let peer = PeerId::parse("peer_id", "peer-7").unwrap();
        let key = track_key(
            "videos/",
            &room,
            &call,
            &peer,
            TrackRole::Screenshare,
            "t-1",
            "webm",
        );
        assert_eq!(
            key,
            "videos/rooms/room-456/rec-123/tracks/peer-7/screenshare/t-1.webm"
        );
        assert_eq!(
            classify_key("videos/", &key),
            KeyKind::Track {
                room_id: room.clone(),
                recording_id: call.clone(),
                peer_id: peer,
                role: TrackRole::Screenshare,
                track_id: "t-1".into()
            }
        );
        assert_eq!(
            call_prefix(
                "",
                &RoomId::parse("r", "r").unwrap(),
                &CallId::parse("c", "c").unwrap()
            ),
            "rooms/r/c/"
        );
        let export = export_key("videos/", &room, &call, "export-1");
        assert_eq!(
            export,
            "videos/rooms/room-456/rec-123/processed/exports/export-1.mp4"
        );
        assert_eq!(classify_key("videos/", &export), KeyKind::Other);
        let thumbnails = export_thumbnails_prefix("videos/", &room, &call, "export-1");
        assert_eq!(
            thumbnails,
            "videos/rooms/room-456/rec-123/processed/thumbnails/export-1/"
        );
        assert_eq!(
            classify_key("videos/", &format!("{thumbnails}thumb_0001.jpg")),
            KeyKind::Other
        );
        for other in [
            "videos/rooms/room-456/rec-123/tracks/peer-7/av/t-1.mov",
            "videos/rooms/room-456/rec-123/tracks/peer-7/audio/t-1.webm",
            "videos/rooms/room-456/rec-123/tracks/peer-7/av/../t-1.webm",
            "videos/rooms/room-456/rec-123/tracks/../av/t-1.webm",
            "videos/rooms/room-456/../tracks/peer-7/av/t-1.webm",
            "videos/rooms/room-456/rec-123/tracks/peer%2F7/av/t-1.webm",
            "videos/rooms/room%2F456/rec-123/tracks/peer-7/av/t-1.webm",
            "videos/rooms/room-456/rec-123/tracks/peer-7/av/t.1.webm",
            "videos/rooms/room-456/rec-123/tracks/peer-7/av/.webm",
            "videos/rooms/room-456/rec-123/tracks//av/t-1.webm",
            "videos/rooms/room-456/rec-123/tracks/peer-7/av/t-1.webm/x",
            "videos/rooms/room-456/rec-123/preview/peers/peer-7/av.m3u8",
            "videos/rooms/room-456/rec-123/processed/exports/e1.mp4",
            "rooms/room-456/rec-123/tracks/peer-7/av/t-1.webm",
        ] {
            assert_eq!(classify_key("videos/", other), KeyKind::Other, "{other}");
        }
    }

    #[test]
    fn a_preview_requests_key_is_built_and_classified_by_one_rule() {
        use super::*;
        let room = RoomId::parse("room_id", "room-456").unwrap();
        let call = CallId::parse("recording_id", "rec-123").unwrap();
        let key = preview_request_key("videos/", &room, &call, 3);
        assert_eq!(key, "videos/rooms/room-456/rec-123/preview/requests/3.json");
        assert_eq!(
            classify_key("videos/", &key),
            KeyKind::PreviewRequest {
                room_id: room,
                recording_id: call,
                generation: 3
            }
        );
        for other in [
            "videos/rooms/room-456/rec-123/preview/requests/x.json",
            "videos/rooms/room-456/rec-123/preview/requests/.json",
            "videos/rooms/room-456/rec-123/preview/requests/03.json",
            "videos/rooms/room-456/rec-123/preview/requests/0.json",
            "videos/rooms/room-456/rec-123/preview/requests/3.json.m3u8",
            "videos/rooms/room-456/rec-123/preview/requests/-3.json",
            "videos/rooms/room-456/rec-123/preview/requests/99999999999999999999.json",
            "videos/rooms/room-456/../preview/requests/3.json",
            "videos/rooms/room-456/rec-123/preview/requests/3.json/x",
            "videos/rooms/room-456/rec-123/preview/peers/p/av_video_00001.mp4",
        ] {
            assert_eq!(classify_key("videos/", other), KeyKind::Other, "{other}");
        }
    }

    #[test]
    fn owners_become_one_reversible_segment_each() {
        use super::{asset_prefix, owner_segment, render_prefix};
        assert_eq!(owner_segment("jwt:user-123"), "jwt%3Auser-123");
        assert_eq!(owner_segment("hs256:a/../b"), "hs256%3Aa%2F..%2Fb");
        assert_eq!(owner_segment(".."), "%2E.");
        assert_eq!(owner_segment("anonymous"), "anonymous");
        assert_ne!(owner_segment("a:b"), owner_segment("a%3Ab"));
        assert_eq!(
            render_prefix("videos/", "jwt:u1", "r-1"),
            "videos/renders/jwt%3Au1/r-1/"
        );
        assert_eq!(asset_prefix("", "jwt:u1"), "assets/jwt%3Au1/");
        for owner in ["jwt:user-123", "hs256:a/../b", "..", "anonymous", "a%3Ab"] {
            assert_eq!(
                super::segment_owner(&owner_segment(owner)).as_deref(),
                Some(owner)
            );
        }
        for segment in ["jwt%3auser", "a%", "%zz", "", ".x", "a:b"] {
            assert_eq!(super::segment_owner(segment), None, "{segment}");
        }
    }

    use super::*;

    fn stream(s: &str) -> StreamName {
        StreamName::parse("stream_name", s).unwrap()
    }

    #[test]
    fn a_renders_video_is_classified_and_nothing_else_of_its_folder() {
        let folder = "videos/renders/jwt%3Au1/promo.v2/";
        assert_eq!(
            classify_key("videos/", &format!("{folder}output.mp4")),
            KeyKind::RenderOutput {
                owner_segment: "jwt%3Au1".into(),
                render_id: "promo.v2".into()
            }
        );
        for other in [
            format!("{folder}request.json"),
            format!("{folder}work/e1/chunks/00000.mp4"),
            "videos/renders/jwt%3Au1/../output.mp4".to_owned(),
            "videos/renders/.x/r/output.mp4".to_owned(),
            "videos/renders/jwt%3Au1/r/sub/output.mp4".to_owned(),
        ] {
            assert_eq!(classify_key("videos/", &other), KeyKind::Other, "{other}");
        }
    }

    #[test]
    fn stream_keys_are_the_survey_clients_keys() {
        let s = stream("abc123");
        assert_eq!(screen_key("v/", &s), "v/abc123.mp4");
        assert_eq!(camera_key("v/", &s), "v/abc123_camera.webm");
        assert_eq!(composited_key("v/", &s), "v/abc123_composited.mp4");
    }

    #[test]
    fn outputs_are_never_classified_as_screens() {
        assert_eq!(
            classify_key("", "abc_composited.mp4"),
            KeyKind::Composited(stream("abc"))
        );
        assert_eq!(classify_key("", "abc.mp4"), KeyKind::Screen(stream("abc")));
        assert_eq!(
            classify_key("", "abc_camera.webm"),
            KeyKind::Camera(stream("abc"))
        );
        assert!(StreamName::parse("stream_name", "abc_composited").is_err());
        assert!(StreamName::parse("stream_name", "abc_camera").is_err());
        // A screen key whose name ends in a reserved mark is no stream's recording.
        assert_eq!(classify_key("", "abc_camera.mp4"), KeyKind::Other);
        assert_eq!(
            classify_key("", "abc_composited_composited.mp4"),
            KeyKind::Other
        );
        assert_eq!(classify_key("", "abc_camera_camera.webm"), KeyKind::Other);
    }

    /// The one stream-name rule, over every case either of its two former copies (the upload keys' and the job
    /// builders' `check_stream_name`) was tested with: both answer alike, because the second calls the first.
    #[test]
    fn the_stream_name_rule_is_the_same_for_keys_and_jobs() {
        let long = "a".repeat(MAX_STREAM_NAME);
        let too_long = "a".repeat(MAX_STREAM_NAME + 1);
        let valid = [
            "abc123",
            "session-42",
            "s_1",
            "A-Z_a-z_0-9",
            "x_composite",
            "camera",
            &long,
        ];
        let invalid = [
            "",
            "abc_composited",
            "abc_camera",
            "s1_composited",
            "s1_camera",
            "a/b",
            "x y",
            "a.b",
            "r\u{e9}sum\u{e9}",
            "a\nb",
            &too_long,
        ];
        for name in valid {
            assert!(StreamName::parse("stream", name).is_ok(), "{name:?}");
            assert!(crate::job::check_stream_name(name).is_ok(), "{name:?}");
        }
        for name in invalid {
            assert!(StreamName::parse("stream", name).is_err(), "{name:?}");
            assert!(crate::job::check_stream_name(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn prefixes_are_empty_or_a_folder() {
        for good in ["", "videos/", "a/b/"] {
            assert_eq!(check_prefix(good), Ok(()), "{good:?}");
        }
        for bad in ["videos", "/videos/", "/"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_outside_the_prefix_or_rules_are_other() {
        assert_eq!(classify_key("v/", "abc.mp4"), KeyKind::Other);
        assert_eq!(classify_key("v/", "v/a/b.mp4"), KeyKind::Other);
        assert_eq!(classify_key("v/", "v/abc.webm"), KeyKind::Other);
        assert_eq!(
            classify_key("v/", "v/recordings/r1/id/../x"),
            KeyKind::Other
        );
        assert_eq!(
            classify_key("v/", "v/recordings/room-1/id1/file.webm"),
            KeyKind::Recording {
                room_id: RoomId::parse("r", "room-1").unwrap(),
                recording_id: "id1".into()
            }
        );
        assert_eq!(
            classify_key("v/", "v/assets/jwt%3Au1/id1/logo.png"),
            KeyKind::Asset {
                owner_segment: "jwt%3Au1".into(),
                recording_id: "id1".into()
            }
        );
        for other in [
            "v/assets/jwt%3Au1/id1/../x.png",
            "v/assets/.hidden/id1/x.png",
            "v/assets/a b/id1/x.png",
            "v/assets/jwt%3Au1/x.png",
        ] {
            assert_eq!(classify_key("v/", other), KeyKind::Other, "{other}");
        }
    }

    #[test]
    fn filenames_are_sanitized_or_refused() {
        assert_eq!(
            sanitize_filename("f", "my talk (1).webm").unwrap(),
            "my_talk__1_.webm"
        );
        assert_eq!(
            sanitize_filename("f", ".hidden.webm").unwrap(),
            "hidden.webm"
        );
        assert_eq!(
            sanitize_filename("f", "résumé.webm").unwrap(),
            "r_sum_.webm"
        );
        for bad in [
            "../etc/passwd",
            "a/b.webm",
            "a\\b",
            "..",
            "a\nb",
            "a\u{7f}b",
            "...",
            "",
        ] {
            assert!(sanitize_filename("filename", bad).is_err(), "{bad:?}");
        }
        assert!(sanitize_filename("f", &"a".repeat(201)).is_err());
    }
}
