//! Starting a call's export (`POST /recordings/{recording_id}/export`): what the request may ask
//! ([`parse_export_request`]), whether it starts a new export or answers the one that stands ([`plan_export`]), and
//! the export as the render flow's chunker takes it ([`CallExport`]: the execution's input, laid out once the
//! chunker has probed the tracks).
//!
//! A call keeps its latest export ([`ExportState`]); the export's status is its render's (the render item under
//! the export's id, moved by the render state machine's notifier), so nothing here keeps a second status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ExportError, ExportTarget, export_layout, export_request, export_tracks};
use crate::call::composition::CompositionState;
use crate::call::{Call, CallId, CallTrack, UploadedTrack, track_ids};
use crate::job::MediaInfo;
use crate::keys::{KeyKind, RoomId, classify_key, export_key, export_thumbnails_prefix};
use crate::notify::{DomainEvent, DomainEventType};
use crate::render::record::{RenderRecord, RenderState};
use crate::render::{Chunking, RenderRequest, Renderer, Thumbnails};
use crate::validate::{FieldError, JsonFields};

/// Thumbnails of every export: `thumb_0001.jpg` to `thumb_0005.jpg`, at the middles of five equal spans.
pub const EXPORT_THUMBNAILS: u32 = 5;

/// What `POST .../export` asks: which saved composition to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportAsk {
    /// The version the client expects to export (`composition_id` `"3"`); `None` for the latest.
    pub composition_version: Option<u64>,
}

/// Parses the body of `POST /recordings/{recording_id}/export`: empty, `{}`, or the plan's
/// `{"composition_id": "latest" | "{version}", "preset": "high", "format": "mp4"}`. Other values are refused by
/// name, so a client never believes it asked for something it does not get: an export is one MP4 at the
/// composition's size and rate, encoded at the render flow's quality for that size.
pub fn parse_export_request(body: &[u8]) -> Result<ExportAsk, FieldError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ExportAsk::default());
    }
    let mut fields = JsonFields::parse(body)?;
    let composition_version = match fields.opt_str("composition_id", 32)?.as_deref() {
        None | Some("latest") => None,
        Some(version) => Some(
            version
                .parse::<u64>()
                .ok()
                .filter(|v| *v > 0 && !version.starts_with('0'))
                .ok_or_else(|| {
                    FieldError::new(
                        "composition_id",
                        "must be `latest` or a saved version (`\"3\"`, as PUT .../composition answered)",
                    )
                })?,
        ),
    };
    if let Some(preset) = fields.opt_str("preset", 64)?
        && preset != "high"
    {
        return Err(FieldError::new(
            "preset",
            "must be high: an export is encoded at the render flow's quality for its size",
        ));
    }
    if let Some(format) = fields.opt_str("format", 16)?
        && format != "mp4"
    {
        return Err(FieldError::new("format", "must be mp4"));
    }
    fields.finish()?;
    Ok(ExportAsk {
        composition_version,
    })
}

/// A call's export as the render flow takes it (the state machine's input `export`): the composition saved when
/// it was asked for and the uploaded tracks then. The chunker probes the tracks, lays the export out and plans it
/// as a render ([`CallExport::render_request`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallExport {
    /// The export's id, also its render's id and its execution's name.
    pub export_id: String,
    /// The call's room.
    pub room_id: String,
    /// The call recording.
    pub recording_id: String,
    /// The version of the composition exported.
    pub composition_version: u64,
    /// That composition.
    pub state: CompositionState,
    /// The tracks it is made from.
    pub tracks: Vec<UploadedTrack>,
}

impl CallExport {
    /// Its tracks' files in `bucket`, each checked to be a track of this call by the key rule under `prefix`
    /// ([`classify_key`]): an input that names anything else is refused before anything is read.
    pub fn track_uris(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, ExportError> {
        self.tracks
            .iter()
            .map(|track| match classify_key(prefix, &track.key) {
                KeyKind::Track {
                    room_id,
                    recording_id,
                    peer_id,
                    role,
                    track_id,
                } if room_id.as_str() == self.room_id
                    && recording_id.as_str() == self.recording_id
                    && peer_id == track.peer_id
                    && role == track.role
                    && track_id == track.track_id =>
                {
                    Ok(format!("s3://{bucket}/{}", track.key))
                }
                _ => Err(ExportError::NotThisCall(track.key.clone())),
            })
            .collect()
    }

    /// The export's video, `s3://{bucket}/{prefix}rooms/{room_id}/{recording_id}/processed/exports/{export_id}.mp4`,
    /// and its thumbnails' folder, `.../processed/thumbnails/{export_id}/`.
    pub fn outputs(&self, bucket: &str, prefix: &str) -> Result<(String, String), ExportError> {
        let room = RoomId::parse("room_id", &self.room_id)
            .map_err(|_| ExportError::NotThisCall(self.room_id.clone()))?;
        let call = CallId::parse("recording_id", &self.recording_id)
            .map_err(|_| ExportError::NotThisCall(self.recording_id.clone()))?;
        let video = export_key(prefix, &room, &call, &self.export_id);
        let thumbnails = export_thumbnails_prefix(prefix, &room, &call, &self.export_id);
        Ok((
            format!("s3://{bucket}/{video}"),
            format!("s3://{bucket}/{thumbnails}"),
        ))
    }

    /// The render request of the export: its tracks ([`CallExport::track_uris`]) probed in `media`, laid out by
    /// [`export_layout`], drawn by [`export_request`] to [`CallExport::outputs`] with [`EXPORT_THUMBNAILS`]
    /// thumbnails, in chunks of the render flow's default limits, by `renderer`.
    pub fn render_request(
        &self,
        bucket: &str,
        prefix: &str,
        media: &BTreeMap<String, MediaInfo>,
        renderer: Renderer,
    ) -> Result<RenderRequest, ExportError> {
        self.track_uris(bucket, prefix)?;
        let tracks = export_tracks(&self.tracks, bucket, media)?;
        let layout = export_layout(&self.state, &tracks)?;
        let (uri, thumbnails) = self.outputs(bucket, prefix)?;
        let target = ExportTarget {
            render_id: self.export_id.clone(),
            uri,
            chunking: Chunking::default(),
            renderer,
        };
        let mut request = export_request(&self.state, &tracks, &layout, &target)?;
        request.output.thumbnails = Some(Thumbnails {
            uri: thumbnails,
            count: EXPORT_THUMBNAILS,
        });
        request.validate()?;
        Ok(request)
    }
}

/// A call's latest export, as stored on the call recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportState {
    /// The export.
    pub export: CallExport,
    /// The store's revision of this state, one more on every write (the condition of the next one).
    pub revision: u64,
    /// When it was asked for, epoch ms.
    pub requested_at_ms: u64,
}

/// The announcement of a call's export that ended, from its render's item (`record`, once ready or failed, and only
/// for a render that is a call's export): `call.export.ready` or `call.export.failed`, with the call's
/// `recording_id`, the `export_id`, its `status`, `duration_ms` and `error`; the id
/// `call.export.{status}:{export_id}`, stable, so receivers drop repeats. No URL: the export's is signed for its
/// reader by `GET /recordings/{recording_id}`.
pub fn export_event(record: &RenderRecord, time: String) -> Option<DomainEvent> {
    let recording_id = record.call_recording_id.as_deref()?;
    let event_type = match record.status {
        RenderState::Ready => DomainEventType::CallExportReady,
        RenderState::Failed => DomainEventType::CallExportFailed,
        RenderState::Queued | RenderState::Processing => return None,
    };
    Some(DomainEvent {
        id: format!("{}:{}", event_type.as_str(), record.render_id),
        event_type,
        time,
        data: serde_json::json!({"recording_id": recording_id, "export_id": record.render_id,
            "status": record.status.as_str(), "duration_ms": record.duration_ms,
            "error": record.error.as_ref().map(|e| serde_json::json!({"code": e.error, "message": e.cause}))}),
    })
}

/// Why an export cannot be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExportRefusal {
    /// No Composition State is saved.
    #[error("no composition is saved: PUT /recordings/{{recording_id}}/composition first")]
    NoComposition,
    /// The client asked for a version that is not the saved one.
    #[error(
        "composition {asked} is not the saved one ({current}): export `latest` or the saved version"
    )]
    CompositionChanged {
        /// The version asked for.
        asked: u64,
        /// The version saved.
        current: u64,
    },
    /// No track of the call is uploaded yet.
    #[error("no track of this call is uploaded yet: upload a track, then ask again")]
    NoTracks,
}

/// What an export request comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportStart {
    /// A new export, to be stored and started.
    Start(ExportState),
    /// The stored export stands: of the same composition and tracks, and not failed.
    Current(ExportState),
}

/// What `POST .../export` starts, by the rule: an export of the saved composition (the version asked, if any)
/// over the call's `uploaded` tracks, named `export_id`, unless the latest export (`call.export`, whose render is
/// `current_status`, `None` when its render item is not written yet) is of the same composition version and the
/// same tracks and has not failed: then that one stands (a repeat neither pays twice nor loses the first).
pub fn plan_export(
    call: &Call,
    uploaded: impl Fn(&CallTrack) -> bool,
    ask: ExportAsk,
    current_status: Option<RenderState>,
    export_id: &str,
    now_ms: u64,
) -> Result<ExportStart, ExportRefusal> {
    let saved = call
        .composition
        .as_ref()
        .ok_or(ExportRefusal::NoComposition)?;
    if let Some(asked) = ask.composition_version
        && asked != saved.version
    {
        return Err(ExportRefusal::CompositionChanged {
            asked,
            current: saved.version,
        });
    }
    let tracks = call.uploaded_tracks(uploaded);
    if tracks.is_empty() {
        return Err(ExportRefusal::NoTracks);
    }
    if let Some(current) = &call.export {
        let same = current.export.composition_version == saved.version
            && track_ids(&current.export.tracks) == track_ids(&tracks);
        if same && current_status != Some(RenderState::Failed) {
            return Ok(ExportStart::Current(current.clone()));
        }
    }
    Ok(ExportStart::Start(ExportState {
        export: CallExport {
            export_id: export_id.to_owned(),
            room_id: call.room_id.clone(),
            recording_id: call.recording_id.clone(),
            composition_version: saved.version,
            state: saved.state.clone(),
            tracks,
        },
        revision: call.export.as_ref().map_or(1, |e| e.revision + 1),
        requested_at_ms: now_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::composition::{ExportSettings, Layout, SavedComposition};
    use crate::call::{PeerId, TrackRole};
    use crate::job::FrameRate;

    fn track(id: &str, peer: &str, role: TrackRole, started_at: u64) -> CallTrack {
        CallTrack {
            track_id: id.to_owned(),
            peer_id: PeerId::parse("peer_id", peer).unwrap(),
            role,
            started_at,
            uploader: "jwt:alice".into(),
            key: format!(
                "calls/rooms/room-1/rec-1/tracks/{peer}/{}/{id}.webm",
                role.as_str()
            ),
            created_at_ms: 0,
        }
    }

    fn call(version: Option<u64>) -> Call {
        Call {
            recording_id: "rec-1".into(),
            room_id: "room-1".into(),
            owner: "jwt:alice".into(),
            created_at_ms: 0,
            expires_at: 0,
            tracks: vec![
                track("t-1", "peer-1", TrackRole::Av, 1_000),
                track("t-2", "peer-2", TrackRole::Av, 2_500),
                track("t-3", "peer-2", TrackRole::Screenshare, 3_000),
            ],
            composition: version.map(|version| SavedComposition {
                state: CompositionState {
                    layout: Layout::Grid,
                    timeline: Vec::new(),
                    tracks: Vec::new(),
                    export: ExportSettings {
                        resolution: "1280x720".into(),
                        fps: 30,
                    },
                },
                version,
                updated_at_ms: 0,
            }),
            preview: None,
            export: None,
        }
    }

    #[test]
    fn the_body_may_be_empty_or_the_plans_fields_with_the_values_vidpipe_makes() {
        for body in [
            "",
            " ",
            "{}",
            r#"{"composition_id": "latest", "preset": "high", "format": "mp4"}"#,
        ] {
            assert_eq!(
                parse_export_request(body.as_bytes()),
                Ok(ExportAsk::default()),
                "{body}"
            );
        }
        assert_eq!(
            parse_export_request(br#"{"composition_id": "3"}"#)
                .unwrap()
                .composition_version,
            Some(3)
        );
        for (body, field) in [
            (r#"{"composition_id": "0"}"#, "composition_id"),
            (r#"{"composition_id": "03"}"#, "composition_id"),
            (r#"{"composition_id": "v3"}"#, "composition_id"),
            (r#"{"composition_id": 3}"#, "composition_id"),
            (r#"{"preset": "low"}"#, "preset"),
            (r#"{"format": "webm"}"#, "format"),
            (r#"{"format": "mp4", "audio_only": true}"#, "audio_only"),
            ("[]", "body"),
            ("{", "body"),
        ] {
            let error = parse_export_request(body.as_bytes()).unwrap_err();
            assert_eq!(error.field, field, "{body}: {error:?}");
        }
    }

    #[test]
    fn an_export_needs_a_saved_composition_of_the_version_asked_and_an_uploaded_track() {
        let ask = ExportAsk::default();
        let refused = |call: &Call, ask, uploaded: bool| {
            plan_export(call, |_| uploaded, ask, None, "e-1", 5).unwrap_err()
        };
        assert_eq!(
            refused(&call(None), ask, true),
            ExportRefusal::NoComposition
        );
        assert_eq!(
            refused(
                &call(Some(2)),
                ExportAsk {
                    composition_version: Some(1)
                },
                true
            ),
            ExportRefusal::CompositionChanged {
                asked: 1,
                current: 2
            }
        );
        assert_eq!(refused(&call(Some(2)), ask, false), ExportRefusal::NoTracks);
    }

    #[test]
    fn an_export_of_the_same_composition_and_tracks_stands_until_it_fails() {
        let mut call = call(Some(2));
        let uploaded = |t: &CallTrack| t.track_id != "t-3";
        let ask = ExportAsk {
            composition_version: Some(2),
        };
        let ExportStart::Start(first) = plan_export(&call, uploaded, ask, None, "e-1", 5).unwrap()
        else {
            panic!("the first export starts");
        };
        assert_eq!((first.revision, first.requested_at_ms), (1, 5));
        assert_eq!(first.export.export_id, "e-1");
        assert_eq!(first.export.composition_version, 2);
        assert_eq!(track_ids(&first.export.tracks), ["t-1", "t-2"]);
        assert_eq!(first.export.tracks[1].offset_ms, 1_500);
        call.export = Some(first.clone());
        for status in [
            None,
            Some(RenderState::Queued),
            Some(RenderState::Processing),
            Some(RenderState::Ready),
        ] {
            assert_eq!(
                plan_export(&call, uploaded, ask, status, "e-2", 6),
                Ok(ExportStart::Current(first.clone())),
                "{status:?}"
            );
        }
        let again = |call: &Call, uploaded: &dyn Fn(&CallTrack) -> bool, status| match plan_export(
            call,
            uploaded,
            ExportAsk::default(),
            status,
            "e-2",
            6,
        )
        .unwrap()
        {
            ExportStart::Start(next) => next,
            ExportStart::Current(_) => panic!("a new export starts"),
        };
        let failed = again(&call, &uploaded, Some(RenderState::Failed));
        assert_eq!(
            (failed.export.export_id.as_str(), failed.revision),
            ("e-2", 2)
        );
        // A late upload finished: the export is made again over every uploaded track.
        let more = again(&call, &|_| true, Some(RenderState::Ready));
        assert_eq!(track_ids(&more.export.tracks), ["t-1", "t-2", "t-3"]);
        // A new composition saved.
        call.composition.as_mut().unwrap().version = 3;
        let changed = again(&call, &uploaded, Some(RenderState::Ready));
        assert_eq!(changed.export.composition_version, 3);
    }

    fn export() -> CallExport {
        let call = call(Some(1));
        let ExportStart::Start(state) =
            plan_export(&call, |_| true, ExportAsk::default(), None, "e-1", 5).unwrap()
        else {
            panic!("starts");
        };
        state.export
    }

    #[test]
    fn only_the_calls_own_tracks_are_read_whatever_the_input_says() {
        let export = export();
        assert_eq!(
            export.track_uris("bkt", "calls/").unwrap()[0],
            "s3://bkt/calls/rooms/room-1/rec-1/tracks/peer-1/av/t-1.webm"
        );
        let foreign = [
            "calls/rooms/room-2/rec-1/tracks/peer-1/av/t-1.webm",
            "calls/rooms/room-1/rec-2/tracks/peer-1/av/t-1.webm",
            "calls/rooms/room-1/rec-1/tracks/peer-2/av/t-1.webm",
            "calls/rooms/room-1/rec-1/tracks/peer-1/screenshare/t-1.webm",
            "calls/rooms/room-1/rec-1/tracks/peer-1/av/t-9.webm",
            "calls/rooms/room-1/rec-1/tracks/peer-1/av/../../../../../assets/x/y.webm",
            "calls/rooms/room-1/rec-1/tracks/peer-1/av/t-1%2F.webm",
            "calls/assets/jwt_alice/r/t-1.webm",
            "rooms/room-1/rec-1/tracks/peer-1/av/t-1.webm",
        ];
        for key in foreign {
            let mut bad = export.clone();
            bad.tracks[0].key = key.to_owned();
            assert_eq!(
                bad.track_uris("bkt", "calls/"),
                Err(ExportError::NotThisCall(key.to_owned())),
                "{key}"
            );
        }
    }

    #[test]
    fn the_render_request_writes_the_export_and_its_thumbnails_where_the_storage_contract_says() {
        let export = export();
        let probe = MediaInfo {
            width: 640,
            height: 480,
            duration_ms: Some(4_000),
            frame_rate: Some(FrameRate::per_second(30)),
            has_audio: true,
            rotation: 0,
        };
        let uris = export.track_uris("bkt", "calls/").unwrap();
        let media: BTreeMap<String, MediaInfo> =
            uris.iter().map(|u| (u.clone(), probe.clone())).collect();
        let request = export
            .render_request("bkt", "calls/", &media, Renderer::MediaConvert)
            .unwrap();
        assert_eq!(request.render_id, "e-1");
        assert_eq!(
            request.output.uri,
            "s3://bkt/calls/rooms/room-1/rec-1/processed/exports/e-1.mp4"
        );
        assert_eq!(
            request.output.thumbnails,
            Some(Thumbnails {
                uri: "s3://bkt/calls/rooms/room-1/rec-1/processed/thumbnails/e-1/".into(),
                count: EXPORT_THUMBNAILS,
            })
        );
        assert_eq!((request.output.width, request.output.height), (1280, 720));
        // Until the last track ends: the screenshare starts 2 s after time zero and lasts 4 s.
        assert_eq!(request.total_frames(), 180);
        assert_eq!(request.sounds.len(), 2, "both peers' av tracks are heard");
        let unprobed = BTreeMap::new();
        assert_eq!(
            export.render_request("bkt", "calls/", &unprobed, Renderer::MediaConvert),
            Err(ExportError::NotProbed(uris[0].clone()))
        );
    }

    #[test]
    fn an_ended_export_is_announced_to_its_call_and_nothing_else_is() {
        let mut record = RenderRecord::queued("e-1", None, 0, 0);
        assert_eq!(
            export_event(&record, "t".into()),
            None,
            "not a call's export"
        );
        record.call_recording_id = Some("rec-1".into());
        assert_eq!(export_event(&record, "t".into()), None, "still queued");
        record.status = RenderState::Ready;
        record.duration_ms = Some(6_700);
        let ready = export_event(&record, "t".into()).unwrap();
        assert_eq!(
            (ready.id.as_str(), ready.event_type),
            ("call.export.ready:e-1", DomainEventType::CallExportReady)
        );
        assert_eq!(
            ready.data,
            serde_json::json!({"recording_id": "rec-1", "export_id": "e-1", "status": "ready",
                               "duration_ms": 6_700, "error": null})
        );
        record.status = RenderState::Failed;
        record.error = Some(crate::stream_status::RenderFailure {
            error: "InvalidRenderRequest".into(),
            cause: "a track cannot be probed".into(),
        });
        let failed = export_event(&record, "t".into()).unwrap();
        assert_eq!(failed.event_type, DomainEventType::CallExportFailed);
        assert_eq!(failed.data["error"]["code"], "InvalidRenderRequest");
    }
}
