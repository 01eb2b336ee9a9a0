//! Call recordings (issue 16): the tracks of a call's peers, who may see and compose them, the saved Composition
//! State ([`composition`]) and the single-use tokens that authorize composition work ([`token`]).
//!
//! A call recording is named by the recording service's `recording_id` in its `room_id`. Each peer's track is an
//! upload of kind `track` (`POST /uploads`), kept under
//! `{prefix}rooms/{room_id}/{recording_id}/tracks/{peer_id}/{role}/{track_id}.{ext}` ([`crate::keys::track_key`]).
//!
//! Access ([`Call::access`]): the caller whose track upload created the call recording is its owner; every caller
//! who uploaded a track to it is a member of its room. Both may read it, mint composition tokens and save its
//! composition; anyone else is told it does not exist.

pub mod composition;
pub mod export;
pub mod preview;
pub mod token;

use crate::jobevent::{JobRoute, RouteError};
use crate::validate::{FieldError, identifier};
use composition::SavedComposition;
use std::collections::BTreeMap;

/// Longest call recording id and peer id accepted.
pub const MAX_CALL_ID: usize = 64;

/// A validated call recording id (the recording service's): `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(String);

impl CallId {
    /// Validates `value` as the JSON field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        identifier(field, value, MAX_CALL_ID)?;
        Ok(Self(value.to_owned()))
    }

    /// The id itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated peer id: `[A-Za-z0-9_-]{1,64}`, one key segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(String);

impl PeerId {
    /// Validates `value` as the JSON field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        identifier(field, value, MAX_CALL_ID)?;
        Ok(Self(value.to_owned()))
    }

    /// The id itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a peer's track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackRole {
    /// The peer's camera and microphone, muxed.
    Av,
    /// The peer's shared screen (its video is what counts).
    Screenshare,
}

impl TrackRole {
    /// Parses the wire name (`av`, `screenshare`) of the JSON field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        match value {
            "av" => Ok(Self::Av),
            "screenshare" => Ok(Self::Screenshare),
            _ => Err(FieldError::new(field, "must be av or screenshare")),
        }
    }

    /// The wire name, also the track's key segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Av => "av",
            Self::Screenshare => "screenshare",
        }
    }
}

/// One track of a call recording, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTrack {
    /// The track's upload (its recording id in `POST /uploads`, and its file name).
    pub track_id: String,
    /// The peer it belongs to.
    pub peer_id: PeerId,
    /// What it carries.
    pub role: TrackRole,
    /// When it started, epoch ms.
    pub started_at: u64,
    /// Who uploaded it: a member of the call's room.
    pub uploader: String,
    /// Its object key.
    pub key: String,
    /// When it was registered, epoch ms.
    pub created_at_ms: u64,
}

/// A call recording as stored: its head, its tracks (oldest registration first) and its saved composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The recording service's id.
    pub recording_id: String,
    /// The room.
    pub room_id: String,
    /// Who created it (the first track's uploader).
    pub owner: String,
    /// When it was created, epoch ms.
    pub created_at_ms: u64,
    /// When its item expires, epoch seconds (the latest track's retention).
    pub expires_at: u64,
    /// Its tracks.
    pub tracks: Vec<CallTrack>,
    /// The last Composition State saved, if any.
    pub composition: Option<SavedComposition>,
    /// Its previews, once started (`POST /recordings/{recording_id}/preview`).
    pub preview: Option<preview::PreviewState>,
    /// Its latest export, once asked for (`POST /recordings/{recording_id}/export`).
    pub export: Option<export::ExportState>,
}

/// What a caller may do with a call recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallAccess {
    /// It created the call recording.
    Owner,
    /// It uploaded a track to it.
    Member,
}

impl CallAccess {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Member => "member",
        }
    }
}

impl Call {
    /// What `owner` may do with this call: the rule of the module's documentation. `None` for anyone else.
    pub fn access(&self, owner: &str) -> Option<CallAccess> {
        if self.owner == owner {
            Some(CallAccess::Owner)
        } else if self.tracks.iter().any(|t| t.uploader == owner) {
            Some(CallAccess::Member)
        } else {
            None
        }
    }

    /// The common time zero: the earliest `started_at` of its tracks, epoch ms.
    pub fn time_zero(&self) -> Option<u64> {
        self.tracks.iter().map(|t| t.started_at).min()
    }

    /// A track's start after time zero, in milliseconds.
    pub fn offset_ms(&self, track: &CallTrack) -> u64 {
        track
            .started_at
            .saturating_sub(self.time_zero().unwrap_or(track.started_at))
    }

    /// Its tracks as the previews take them (`job::call_preview_job`): one group per peer and role (peers sorted,
    /// `av` before `screenshare`), each track with its offset from the call's time zero, earliest first.
    pub fn preview_groups(&self) -> Vec<PreviewGroup<'_>> {
        let mut groups: BTreeMap<(&PeerId, bool), PreviewGroup<'_>> = BTreeMap::new();
        for track in &self.tracks {
            let key = (&track.peer_id, track.role == TrackRole::Screenshare);
            groups
                .entry(key)
                .or_insert_with(|| PreviewGroup {
                    peer_id: &track.peer_id,
                    role: track.role,
                    tracks: Vec::new(),
                })
                .tracks
                .push((track, self.offset_ms(track)));
        }
        let mut groups: Vec<PreviewGroup<'_>> = groups.into_values().collect();
        for group in &mut groups {
            group.tracks.sort_by_key(|(_, offset)| *offset);
        }
        groups
    }

    /// Its tracks that `uploaded` keeps, as previews and exports are made from them: in [`Call::preview_groups`]'s
    /// order (peer by peer, `av` first, each group's earliest first), each with its offset from time zero.
    pub fn uploaded_tracks(&self, uploaded: impl Fn(&CallTrack) -> bool) -> Vec<UploadedTrack> {
        self.preview_groups()
            .iter()
            .flat_map(|group| &group.tracks)
            .filter(|(track, _)| uploaded(track))
            .map(|(track, offset_ms)| UploadedTrack {
                track_id: track.track_id.clone(),
                peer_id: track.peer_id.clone(),
                role: track.role,
                offset_ms: *offset_ms,
                key: track.key.clone(),
            })
            .collect()
    }

    /// Its peers, each once, sorted.
    pub fn peers(&self) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self.tracks.iter().map(|t| t.peer_id.clone()).collect();
        peers.sort();
        peers.dedup();
        peers
    }
}

/// One uploaded track a preview generation or an export is made from: a snapshot, so what was made from it does
/// not change when tracks are added later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedTrack {
    /// The track's upload id.
    pub track_id: String,
    /// Its peer.
    pub peer_id: PeerId,
    /// Its role.
    pub role: TrackRole,
    /// Its start after the call's time zero, ms.
    pub offset_ms: u64,
    /// Its object key.
    pub key: String,
}

/// The track ids of `tracks`, sorted: two snapshots are of the same tracks when these are equal.
pub fn track_ids(tracks: &[UploadedTrack]) -> Vec<&str> {
    let mut ids: Vec<&str> = tracks.iter().map(|s| s.track_id.as_str()).collect();
    ids.sort_unstable();
    ids
}

/// One peer's tracks of one role, for one preview job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewGroup<'a> {
    /// The peer.
    pub peer_id: &'a PeerId,
    /// The role of all its tracks.
    pub role: TrackRole,
    /// Each track and its offset from the call's time zero (ms), earliest first.
    pub tracks: Vec<(&'a CallTrack, u64)>,
}

/// What a call preview job's events belong to (its `UserMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewJob {
    /// The call recording.
    pub recording_id: CallId,
    /// The peer.
    pub peer_id: PeerId,
    /// Which of the peer's tracks.
    pub role: TrackRole,
    /// The previews' generation it was submitted for (`preview::PreviewState::generation`).
    pub generation: u64,
}

/// A call preview job's route (`jobevent::route` of `kind = call_preview`): its `recording_id`, `peer_id`, `role`
/// and `generation`, each checked by the rule that admitted it.
pub fn preview_job_route(user_metadata: &BTreeMap<String, String>) -> Result<JobRoute, RouteError> {
    use crate::job::{
        METADATA_PEER_ID, METADATA_PREVIEW_GENERATION, METADATA_RECORDING_ID, METADATA_ROLE,
    };
    let field = |name: &'static str| {
        user_metadata
            .get(name)
            .ok_or(RouteError::Missing(name))
            .map(|value| (name, value))
    };
    let invalid = |(field, value): (&'static str, &String)| RouteError::Invalid {
        field,
        value: value.clone(),
    };
    let recording = field(METADATA_RECORDING_ID)?;
    let peer = field(METADATA_PEER_ID)?;
    let role = field(METADATA_ROLE)?;
    let generation = field(METADATA_PREVIEW_GENERATION)?;
    Ok(JobRoute::CallPreview(PreviewJob {
        recording_id: CallId::parse(recording.0, recording.1).map_err(|_| invalid(recording))?,
        peer_id: PeerId::parse(peer.0, peer.1).map_err(|_| invalid(peer))?,
        role: TrackRole::parse(role.0, role.1).map_err(|_| invalid(role))?,
        generation: generation.1.parse().map_err(|_| invalid(generation))?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(peer: &str, started_at: u64, uploader: &str) -> CallTrack {
        CallTrack {
            track_id: format!("t-{peer}-{started_at}"),
            peer_id: PeerId::parse("peer_id", peer).unwrap(),
            role: TrackRole::Av,
            started_at,
            uploader: uploader.to_owned(),
            key: String::new(),
            created_at_ms: 0,
        }
    }

    #[test]
    fn the_owner_and_the_rooms_uploaders_have_access_and_nobody_else() {
        let call = Call {
            recording_id: "rec-1".into(),
            room_id: "room-1".into(),
            owner: "jwt:alice".into(),
            created_at_ms: 0,
            expires_at: 0,
            tracks: vec![
                track("p2", 2_000, "jwt:bob"),
                track("p1", 1_500, "jwt:alice"),
                track("p2", 9_000, "jwt:bob"),
            ],
            composition: None,
            preview: None,
            export: None,
        };
        assert_eq!(call.access("jwt:alice"), Some(CallAccess::Owner));
        assert_eq!(call.access("jwt:bob"), Some(CallAccess::Member));
        assert_eq!(call.access("jwt:carol"), None);
        assert_eq!(call.access("anonymous"), None);
        assert_eq!(call.time_zero(), Some(1_500));
        let peers: Vec<String> = call.peers().iter().map(|p| p.as_str().to_owned()).collect();
        assert_eq!(peers, ["p1", "p2"]);
    }

    #[test]
    fn previews_group_each_peers_tracks_by_role_with_offsets_from_the_calls_time_zero() {
        let screen = CallTrack {
            role: TrackRole::Screenshare,
            ..track("p1", 6_000, "jwt:alice")
        };
        let call = Call {
            recording_id: "rec-1".into(),
            room_id: "room-1".into(),
            owner: "jwt:alice".into(),
            created_at_ms: 0,
            expires_at: 0,
            tracks: vec![
                track("p2", 9_000, "jwt:bob"),
                screen,
                track("p2", 2_000, "jwt:bob"),
                track("p1", 1_500, "jwt:alice"),
            ],
            composition: None,
            preview: None,
            export: None,
        };
        type Group<'a> = (&'a str, &'a str, Vec<(String, u64)>);
        let groups: Vec<Group<'_>> = call
            .preview_groups()
            .iter()
            .map(|g| {
                let tracks = g.tracks.iter();
                let tracks = tracks.map(|(t, offset)| (t.track_id.clone(), *offset));
                (g.peer_id.as_str(), g.role.as_str(), tracks.collect())
            })
            .collect();
        assert_eq!(
            groups,
            [
                ("p1", "av", vec![("t-p1-1500".into(), 0)]),
                ("p1", "screenshare", vec![("t-p1-6000".into(), 4_500)]),
                (
                    "p2",
                    "av",
                    vec![("t-p2-2000".into(), 500), ("t-p2-9000".into(), 7_500)]
                ),
            ]
        );
    }

    #[test]
    fn ids_and_roles_follow_the_identifier_rule() {
        assert!(CallId::parse("recording_id", &"a".repeat(64)).is_ok());
        for bad in ["", "a/b", "..", "a%2Fb", "a\u{0}", "a.b", &"a".repeat(65)] {
            assert_eq!(
                CallId::parse("recording_id", bad).unwrap_err().field,
                "recording_id"
            );
            assert_eq!(PeerId::parse("peer_id", bad).unwrap_err().field, "peer_id");
        }
        assert_eq!(TrackRole::parse("role", "av"), Ok(TrackRole::Av));
        assert_eq!(
            TrackRole::parse("role", "screenshare"),
            Ok(TrackRole::Screenshare)
        );
        assert!(TrackRole::parse("role", "audio").is_err());
    }

    #[test]
    fn a_call_preview_job_routes_to_its_recording_peer_and_role_and_nothing_else() {
        use crate::jobevent::route;
        let metadata = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let full = [
            ("app", "vidpipe"),
            ("kind", "call_preview"),
            ("recording_id", "rec-123"),
            ("peer_id", "peer-1"),
            ("role", "screenshare"),
            ("generation", "2"),
        ];
        assert_eq!(
            route(&metadata(&full)),
            Ok(JobRoute::CallPreview(PreviewJob {
                recording_id: CallId::parse("recording_id", "rec-123").unwrap(),
                peer_id: PeerId::parse("peer_id", "peer-1").unwrap(),
                role: TrackRole::Screenshare,
                generation: 2,
            }))
        );
        for missing in ["recording_id", "peer_id", "role", "generation"] {
            let pairs: Vec<_> = full
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(route(&metadata(&pairs)), Err(RouteError::Missing(missing)));
        }
        for (field, bad) in [
            ("recording_id", "../rec"),
            ("peer_id", "peer 1"),
            ("role", "audio"),
            ("generation", "two"),
        ] {
            let pairs: Vec<_> = full
                .iter()
                .map(|&(k, v)| (k, if k == field { bad } else { v }))
                .collect();
            assert_eq!(
                route(&metadata(&pairs)),
                Err(RouteError::Invalid {
                    field,
                    value: bad.into()
                })
            );
        }
        // The generic preview job keeps its kind: not mistaken for a call's.
        assert_eq!(
            route(&metadata(&[("app", "vidpipe"), ("kind", "preview")])),
            Ok(JobRoute::NotOurs {
                kind: "preview".into()
            })
        );
    }
}
