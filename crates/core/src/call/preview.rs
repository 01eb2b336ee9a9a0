//! A call recording's previews (issue 16, point 2): what `POST /recordings/{recording_id}/preview` starts, one
//! `job::call_preview_job` per peer and role, and the statuses their job events move.
//!
//! The state is kept on the call recording ([`PreviewState`]): a generation (one per start), the uploaded tracks it
//! was started over (a snapshot: the compositor builds the jobs from it, the notifier needs nothing else), and one
//! [`PreviewJobState`] per peer and role. Statuses only move forward within a generation; a job event of another
//! generation changes nothing. The call's `preview_status` is their aggregate ([`PreviewState::status`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Call, CallTrack, PeerId, TrackRole, UploadedTrack, track_ids};
use crate::notify::{DomainEvent, DomainEventType};
use crate::playback::statuses_before;
use crate::stream_status::StreamStatus;
use crate::validate::{FieldError, JsonFields};

impl Serialize for PeerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PeerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse("peer_id", &value).map_err(serde::de::Error::custom)
    }
}

impl Serialize for TrackRole {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TrackRole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse("role", &value).map_err(serde::de::Error::custom)
    }
}

/// The preview job of one peer and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewJobState {
    /// The peer.
    pub peer_id: PeerId,
    /// The role.
    pub role: TrackRole,
    /// Its status.
    pub status: StreamStatus,
    /// The transcoder's job id, once submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// A call recording's previews, as stored on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewState {
    /// Which start this is (1, 2, ...): carried by the jobs' `UserMetadata`, so an earlier start's jobs change
    /// nothing.
    pub generation: u64,
    /// The store's revision of this state, one more on every write (the condition of the next one).
    pub revision: u64,
    /// When it was started, epoch ms.
    pub requested_at_ms: u64,
    /// The tracks it is made from.
    pub sources: Vec<UploadedTrack>,
    /// One job per peer and role (peers sorted, `av` first), as `Call::preview_groups` groups them.
    pub jobs: Vec<PreviewJobState>,
}

/// Why previews cannot be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PreviewRefusal {
    /// No track of the call is uploaded yet.
    #[error("no track of this call is uploaded yet: upload a track, then ask again")]
    NoTracks,
}

/// What a start request comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewStart {
    /// A new generation, to be stored and submitted.
    Start(PreviewState),
    /// The stored previews stand: in progress, or ready and made from the same tracks.
    Current(PreviewState),
}

/// What a job event did to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewAdvance {
    /// The job moved forward.
    Applied,
    /// Another generation's job, or not forward (a duplicate, a late `processing`): nothing changed.
    Stale,
    /// No job of this peer and role in the state.
    Unknown,
}

impl PreviewState {
    /// The aggregate status: `failed` if any job failed, `ready` when every job is, `processing` once any job
    /// started, else `queued`.
    pub fn status(&self) -> StreamStatus {
        let any = |s: StreamStatus| self.jobs.iter().any(|j| j.status == s);
        if any(StreamStatus::Failed) {
            StreamStatus::Failed
        } else if self.jobs.iter().all(|j| j.status == StreamStatus::Ready) {
            StreamStatus::Ready
        } else if any(StreamStatus::Processing) || any(StreamStatus::Ready) {
            StreamStatus::Processing
        } else {
            StreamStatus::Queued
        }
    }

    /// Each job as clients see it: `[{"peer_id", "role", "status", "error": {"code"} | null}]`.
    pub fn jobs_view(&self) -> serde_json::Value {
        let jobs = self.jobs.iter().map(|j| {
            serde_json::json!({"peer_id": j.peer_id.as_str(), "role": j.role.as_str(), "status": j.status.as_str(),
                "error": j.error_code.as_ref().map(|code| serde_json::json!({"code": code}))})
        });
        serde_json::Value::Array(jobs.collect())
    }

    /// The job of `peer_id` and `role`.
    pub fn job(&self, peer_id: &PeerId, role: TrackRole) -> Option<&PreviewJobState> {
        self.jobs
            .iter()
            .find(|j| &j.peer_id == peer_id && j.role == role)
    }

    /// The sources of `peer_id` and `role`, earliest first.
    pub fn sources_of(&self, peer_id: &PeerId, role: TrackRole) -> Vec<&UploadedTrack> {
        let mut sources: Vec<&UploadedTrack> = self
            .sources
            .iter()
            .filter(|s| &s.peer_id == peer_id && s.role == role)
            .collect();
        sources.sort_by_key(|s| s.offset_ms);
        sources
    }

    /// Moves the job of `peer_id` and `role` of `generation` to `status` (with `error_code` when it failed), by the
    /// forward-only rule: `queued < processing < ready | failed`.
    pub fn advance(
        &mut self,
        generation: u64,
        peer_id: &PeerId,
        role: TrackRole,
        status: StreamStatus,
        error_code: Option<&str>,
    ) -> PreviewAdvance {
        if generation != self.generation {
            return PreviewAdvance::Stale;
        }
        let Some(job) = self
            .jobs
            .iter_mut()
            .find(|j| &j.peer_id == peer_id && j.role == role)
        else {
            return PreviewAdvance::Unknown;
        };
        if !statuses_before(status).contains(&job.status) {
            return PreviewAdvance::Stale;
        }
        job.status = status;
        job.error_code = error_code.map(str::to_owned);
        PreviewAdvance::Applied
    }

    /// Records the job id of `peer_id` and `role` of `generation`; `false` if it is another generation's or one
    /// is recorded already.
    pub fn record_job(
        &mut self,
        generation: u64,
        peer_id: &PeerId,
        role: TrackRole,
        job_id: &str,
    ) -> bool {
        let job = self
            .jobs
            .iter_mut()
            .find(|j| &j.peer_id == peer_id && j.role == role);
        match job {
            Some(job) if generation == self.generation && job.job_id.is_none() => {
                job.job_id = Some(job_id.to_owned());
                true
            }
            _ => false,
        }
    }
}

/// `call.preview.ready` or `call.preview.failed` once the previews `state` of `recording_id` reached either (`None`
/// before). Its id is derived from the status, the call and the generation, so a redelivered job event (or the
/// compositor and the notifier both seeing a failure) announces the same id, which receivers drop.
pub fn preview_event(
    recording_id: &str,
    state: &PreviewState,
    time: String,
) -> Option<DomainEvent> {
    let event_type = match state.status() {
        StreamStatus::Ready => DomainEventType::CallPreviewReady,
        StreamStatus::Failed => DomainEventType::CallPreviewFailed,
        StreamStatus::Queued | StreamStatus::Processing => return None,
    };
    Some(DomainEvent {
        id: format!(
            "{}:{recording_id}:{}",
            event_type.as_str(),
            state.generation
        ),
        event_type,
        time,
        data: serde_json::json!({"recording_id": recording_id, "status": state.status().as_str(),
            "generation": state.generation, "jobs": state.jobs_view()}),
    })
}

/// What `POST /recordings/{recording_id}/preview` starts, by the rule: previews of the call's `uploaded` tracks, a
/// new generation unless a job of the stored previews (`call.preview`) is still queued or processing, or they are
/// ready and made from the same tracks. Failed previews (once every job ended), or ready ones made from fewer (or
/// other) tracks than are uploaded now, are made again. Refused when no track is uploaded.
pub fn plan_previews(
    call: &Call,
    uploaded: impl Fn(&CallTrack) -> bool,
    now_ms: u64,
) -> Result<PreviewStart, PreviewRefusal> {
    let sources = call.uploaded_tracks(uploaded);
    let mut jobs: Vec<PreviewJobState> = Vec::new();
    for source in &sources {
        if !jobs
            .iter()
            .any(|j| j.peer_id == source.peer_id && j.role == source.role)
        {
            jobs.push(PreviewJobState {
                peer_id: source.peer_id.clone(),
                role: source.role,
                status: StreamStatus::Queued,
                job_id: None,
                error_code: None,
            });
        }
    }
    if jobs.is_empty() {
        return Err(PreviewRefusal::NoTracks);
    }
    let generation = match &call.preview {
        Some(current) => {
            let same_tracks = track_ids(&current.sources) == track_ids(&sources);
            // A job still queued or running (even when another failed) writes into the folders a new generation
            // would write: nothing starts until every job ended.
            let running = current.jobs.iter().any(|j| !j.status.is_terminal());
            match current.status() {
                _ if running => return Ok(PreviewStart::Current(current.clone())),
                StreamStatus::Ready if same_tracks => {
                    return Ok(PreviewStart::Current(current.clone()));
                }
                _ => current.generation + 1,
            }
        }
        None => 1,
    };
    Ok(PreviewStart::Start(PreviewState {
        generation,
        revision: call.preview.as_ref().map_or(1, |p| p.revision + 1),
        requested_at_ms: now_ms,
        sources,
        jobs,
    }))
}

/// The body of `POST /recordings/{recording_id}/preview`: empty, `{}`, or the plan's fields with the values vidpipe
/// makes (`preset` `standard`, `segment_seconds` 2, `mux_per_peer` true); anything else is refused by name, so a
/// client never believes it asked for something it does not get.
pub fn parse_preview_request(body: &[u8]) -> Result<(), FieldError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let mut fields = JsonFields::parse(body)?;
    if let Some(preset) = fields.opt_str("preset", 64)?
        && preset != "standard"
    {
        return Err(FieldError::new("preset", "must be standard"));
    }
    if let Some(seconds) = fields.opt_u64("segment_seconds")?
        && seconds != crate::job::CALL_PREVIEW_SEGMENT_SECONDS as u64
    {
        return Err(FieldError::new(
            "segment_seconds",
            "must be 2: every call preview is cut in 2 s segments, so peers' segments align",
        ));
    }
    if let Some(mux) = fields.opt_bool("mux_per_peer")?
        && !mux
    {
        return Err(FieldError::new(
            "mux_per_peer",
            "must be true: a peer's preview carries its camera and microphone together",
        ));
    }
    fields.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(id: &str, peer: &str, role: TrackRole, started_at: u64) -> CallTrack {
        CallTrack {
            track_id: id.to_owned(),
            peer_id: PeerId::parse("peer_id", peer).unwrap(),
            role,
            started_at,
            uploader: "jwt:alice".into(),
            key: format!("rooms/r/c/tracks/{peer}/{}/{id}.webm", role.as_str()),
            created_at_ms: 0,
        }
    }

    fn call(tracks: Vec<CallTrack>) -> Call {
        Call {
            recording_id: "c".into(),
            room_id: "r".into(),
            owner: "jwt:alice".into(),
            created_at_ms: 0,
            expires_at: 0,
            tracks,
            composition: None,
            preview: None,
            export: None,
        }
    }

    fn peer(p: &str) -> PeerId {
        PeerId::parse("peer_id", p).unwrap()
    }

    fn started(start: PreviewStart) -> PreviewState {
        match start {
            PreviewStart::Start(state) => state,
            PreviewStart::Current(state) => panic!("expected a start, got {state:?}"),
        }
    }

    #[test]
    fn previews_start_over_the_uploaded_tracks_one_job_per_peer_and_role() {
        let mut c = call(vec![
            track("t2", "p2", TrackRole::Av, 3_000),
            track("t1", "p1", TrackRole::Av, 1_000),
            track("t3", "p1", TrackRole::Screenshare, 5_000),
            track("t4", "p3", TrackRole::Av, 2_000),
        ]);
        assert_eq!(
            plan_previews(&c, |_| false, 7),
            Err(PreviewRefusal::NoTracks)
        );
        let state = started(plan_previews(&c, |t| t.track_id != "t4", 7).unwrap());
        assert_eq!(state.generation, 1);
        assert_eq!(state.requested_at_ms, 7);
        let jobs: Vec<_> = state
            .jobs
            .iter()
            .map(|j| (j.peer_id.as_str(), j.role.as_str(), j.status))
            .collect();
        assert_eq!(
            jobs,
            [
                ("p1", "av", StreamStatus::Queued),
                ("p1", "screenshare", StreamStatus::Queued),
                ("p2", "av", StreamStatus::Queued),
            ]
        );
        let offsets: Vec<_> = state
            .sources
            .iter()
            .map(|s| (s.track_id.as_str(), s.offset_ms))
            .collect();
        // Offsets from the call's time zero, which counts every track (t4's too, uploaded or not).
        assert_eq!(offsets, [("t1", 0), ("t3", 4_000), ("t2", 2_000)]);
        assert_eq!(state.status(), StreamStatus::Queued);

        // Queued or processing: the stored previews stand.
        c.preview = Some(state.clone());
        assert_eq!(
            plan_previews(&c, |_| true, 8),
            Ok(PreviewStart::Current(state.clone()))
        );
        // Ready over the same tracks: they stand; ready over fewer tracks than are uploaded now: made again.
        let mut ready = state.clone();
        for job in &mut ready.jobs {
            job.status = StreamStatus::Ready;
        }
        c.preview = Some(ready.clone());
        assert_eq!(
            plan_previews(&c, |t| t.track_id != "t4", 8),
            Ok(PreviewStart::Current(ready.clone()))
        );
        let again = started(plan_previews(&c, |_| true, 9).unwrap());
        assert_eq!((again.generation, again.jobs.len()), (2, 4));
        // Failed while another job still runs: nothing starts (it writes where a new generation would).
        let mut failed = state;
        failed.jobs[1].status = StreamStatus::Failed;
        failed.jobs[2].status = StreamStatus::Processing;
        c.preview = Some(failed.clone());
        assert_eq!(
            plan_previews(&c, |t| t.track_id != "t4", 9),
            Ok(PreviewStart::Current(failed.clone()))
        );
        // Failed, every job ended: made again.
        failed.jobs[0].status = StreamStatus::Ready;
        failed.jobs[2].status = StreamStatus::Ready;
        c.preview = Some(failed);
        assert_eq!(
            started(plan_previews(&c, |t| t.track_id != "t4", 9).unwrap()).generation,
            2
        );
    }

    #[test]
    fn statuses_move_forward_only_within_their_generation_and_aggregate() {
        let c = call(vec![
            track("t1", "p1", TrackRole::Av, 0),
            track("t2", "p2", TrackRole::Av, 0),
        ]);
        let mut state = started(plan_previews(&c, |_| true, 0).unwrap());
        let (p1, p2, av) = (peer("p1"), peer("p2"), TrackRole::Av);
        use StreamStatus::*;
        assert_eq!(
            state.advance(2, &p1, av, Processing, None),
            PreviewAdvance::Stale
        );
        assert_eq!(
            state.advance(1, &p1, TrackRole::Screenshare, Processing, None),
            PreviewAdvance::Unknown
        );
        // Out of order: COMPLETE before PROGRESSING; the late PROGRESSING changes nothing.
        assert_eq!(
            state.advance(1, &p1, av, Ready, None),
            PreviewAdvance::Applied
        );
        assert_eq!(state.status(), Processing);
        assert_eq!(
            state.advance(1, &p1, av, Processing, None),
            PreviewAdvance::Stale
        );
        assert_eq!(
            state.advance(1, &p1, av, Ready, None),
            PreviewAdvance::Stale
        );
        assert_eq!(
            state.advance(1, &p2, av, Processing, None),
            PreviewAdvance::Applied
        );
        assert_eq!(state.status(), Processing);
        assert_eq!(
            state.advance(1, &p2, av, Ready, None),
            PreviewAdvance::Applied
        );
        assert_eq!(state.status(), Ready);
        assert_eq!(
            state.advance(1, &p2, av, Failed, Some("x")),
            PreviewAdvance::Stale
        );
        assert_eq!(state.status(), Ready);

        let mut other = started(plan_previews(&c, |_| true, 0).unwrap());
        other.advance(1, &p2, av, Failed, Some("input_unreadable"));
        assert_eq!(other.status(), Failed);
        assert_eq!(
            other.job(&p2, av).unwrap().error_code.as_deref(),
            Some("input_unreadable")
        );
        assert!(other.record_job(1, &p1, av, "job-1"));
        assert!(!other.record_job(1, &p1, av, "job-2"));
        assert!(!other.record_job(2, &p2, av, "job-3"));
        let stored = serde_json::to_string(&other).unwrap();
        assert_eq!(
            serde_json::from_str::<PreviewState>(&stored).unwrap(),
            other
        );
    }

    #[test]
    fn a_preview_request_names_only_what_vidpipe_makes() {
        for ok in [
            &b""[..],
            b"{}",
            br#"{"preset": "standard", "segment_seconds": 2, "mux_per_peer": true}"#,
        ] {
            assert_eq!(parse_preview_request(ok), Ok(()));
        }
        for (bad, field) in [
            (&br#"{"segment_seconds": 4}"#[..], "segment_seconds"),
            (br#"{"segment_seconds": "2"}"#, "segment_seconds"),
            (br#"{"mux_per_peer": false}"#, "mux_per_peer"),
            (br#"{"preset": "high"}"#, "preset"),
            (br#"{"layout": "grid"}"#, "layout"),
            (b"[1]", "body"),
            (b"{", "body"),
        ] {
            assert_eq!(parse_preview_request(bad).unwrap_err().field, field);
        }
    }
}
