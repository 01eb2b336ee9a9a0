//! MediaConvert "Job State Change" events as EventBridge delivers them, and how the notifier routes them.
//!
//! The envelope has `source = "aws.mediaconvert"` (or `vidpipe.transcoder`, from the ffmpeg backend on Lambda) and
//! `detail-type = "MediaConvert Job State Change"`; `detail` carries the job id, its `userMetadata` and a `status`
//! with per-status fields. MediaConvert never sends a `SUBMITTED` event.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;

use crate::keys::StreamName;
use crate::pairing::Source;
use crate::s3uri::S3Uri;
use serde::Deserialize;
use std::collections::BTreeMap;

use crate::render::record::ChunkUpdate;

/// The failure code of a `CANCELED` job.
pub const CANCELED_CODE: &str = "canceled";

/// `source` of MediaConvert events.
pub const MEDIACONVERT_SOURCE: &str = "aws.mediaconvert";
/// `source` of the job events of the ffmpeg backend on Lambda (`functions/transcoder`): the same detail-type and
/// detail as MediaConvert's, under a source of its own, because EventBridge refuses `aws.` sources from `PutEvents`.
pub const TRANSCODER_SOURCE: &str = "vidpipe.transcoder";
/// Every `source` a job state change comes from: MediaConvert, and the ffmpeg backend on Lambda.
pub const JOB_EVENT_SOURCES: [&str; 2] = [MEDIACONVERT_SOURCE, TRANSCODER_SOURCE];
/// `detail-type` of MediaConvert job state changes.
pub const JOB_STATE_CHANGE: &str = "MediaConvert Job State Change";
/// The `source` of Step Functions' events (an execution's status changes).
pub const STATES_SOURCE: &str = "aws.states";
/// The `detail-type` of Step Functions' event for an execution's status change.
pub const EXECUTION_STATUS_CHANGE: &str = "Step Functions Execution Status Change";

/// One EventBridge "MediaConvert Job State Change" event: the parts the notifier reads. The envelope is read by
/// the function that receives it (`aws_lambda_events`' `EventBridgeEvent`), then checked here.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStateChange {
    /// EventBridge's event id (stable across redeliveries of this event).
    pub id: String,
    /// When the event happened, RFC 3339.
    pub time: String,
    /// The job and its state.
    pub detail: JobStateDetail,
}

/// The `detail` of a job state change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobStateDetail {
    /// Epoch milliseconds.
    pub timestamp: u64,
    /// The account.
    #[serde(rename = "accountId", default)]
    pub account_id: Option<String>,
    /// The queue ARN.
    #[serde(default)]
    pub queue: Option<String>,
    /// The MediaConvert job id.
    #[serde(rename = "jobId")]
    pub job_id: String,
    /// The job's `UserMetadata` (`{}` when none).
    #[serde(rename = "userMetadata", default)]
    pub user_metadata: BTreeMap<String, String>,
    /// The status and its own fields.
    #[serde(flatten)]
    pub state: JobState,
}

/// A number or a string (MediaConvert sends error and warning codes as numbers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Code {
    /// A numeric code, such as 1040.
    Number(i64),
    /// A textual code.
    Text(String),
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

/// Every `detail.status` MediaConvert sends, with the fields the notifier reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// The inputs were probed.
    InputInformation {
        /// One entry per input (`id`, `uri`, `audio`, `video`).
        #[serde(rename = "inputDetails", default)]
        input_details: Vec<serde_json::Value>,
    },
    /// The job started transcoding.
    Progressing,
    /// Periodic progress.
    StatusUpdate {
        /// Progress by phase and overall.
        #[serde(rename = "jobProgress", default)]
        job_progress: Option<JobProgress>,
        /// Frames decoded so far.
        #[serde(rename = "framesDecoded", default)]
        frames_decoded: Option<u64>,
    },
    /// The job finished and wrote its outputs.
    Complete {
        /// The outputs, by group.
        #[serde(rename = "outputGroupDetails", default)]
        output_group_details: Vec<OutputGroupDetail>,
    },
    /// Someone canceled the job.
    Canceled,
    /// The job failed. A failure without a code or message is still a failure (never left as `processing`).
    Error {
        /// MediaConvert's error code, such as 1040.
        #[serde(rename = "errorCode", default)]
        error_code: Option<Code>,
        /// What went wrong.
        #[serde(rename = "errorMessage", default)]
        error_message: Option<String>,
    },
    /// A warning; the job goes on.
    NewWarning {
        /// The warning code.
        #[serde(rename = "warningCode", default)]
        warning_code: Option<Code>,
        /// The warning text.
        #[serde(rename = "warningMessage", default)]
        warning_message: Option<String>,
    },
    /// The job moved to another queue.
    QueueHop {
        /// The queue it left.
        #[serde(rename = "previousQueue", default)]
        previous_queue: Option<String>,
    },
}

/// `jobProgress` of a STATUS_UPDATE.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobProgress {
    /// Overall percent complete.
    #[serde(rename = "jobPercentComplete", default)]
    pub job_percent_complete: Option<f64>,
    /// `PROBING`, `TRANSCODING` or `UPLOADING`.
    #[serde(rename = "currentPhase", default)]
    pub current_phase: Option<String>,
}

/// One output group of a COMPLETE event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutputGroupDetail {
    /// `FILE_GROUP`, `HLS_GROUP`, `DASH_ISO_GROUP`, `CMAF_GROUP` or `MS_SMOOTH_GROUP`.
    #[serde(rename = "type", default)]
    pub group_type: Option<String>,
    /// The group's outputs.
    #[serde(rename = "outputDetails", default)]
    pub output_details: Vec<OutputDetail>,
    /// Main manifests (segmented groups).
    #[serde(rename = "playlistFilePaths", default)]
    pub playlist_file_paths: Vec<String>,
}

/// One output of a COMPLETE event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutputDetail {
    /// Where it was written (`s3://bucket/key`).
    #[serde(rename = "outputFilePaths", default)]
    pub output_file_paths: Vec<String>,
    /// Its duration.
    #[serde(rename = "durationInMs", default)]
    pub duration_in_ms: Option<u64>,
    /// Its picture, for outputs with video.
    #[serde(rename = "videoDetails", default)]
    pub video_details: Option<VideoDetails>,
}

/// `videoDetails` of an output in a COMPLETE event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct VideoDetails {
    /// Width in pixels.
    #[serde(rename = "widthInPx")]
    pub width_in_px: u32,
    /// Height in pixels.
    #[serde(rename = "heightInPx")]
    pub height_in_px: u32,
}

/// Why an event cannot be read as a MediaConvert job state change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobEventError {
    /// Not from MediaConvert, or not a job state change.
    #[error(
        "not a MediaConvert job state change (source {event_source:?}, detail-type {detail_type:?})"
    )]
    Foreign {
        /// The event's source.
        event_source: String,
        /// The event's detail-type.
        detail_type: String,
    },
    /// The shape is wrong (a missing field, an unknown status).
    #[error("malformed MediaConvert event: {0}")]
    Malformed(String),
}

impl JobStateChange {
    /// Reads a job state change from an EventBridge event: the envelope as `aws_lambda_events` types it (a `time`
    /// that is not RFC 3339 makes the event malformed), then [`Self::from_event`].
    pub fn from_eventbridge(payload: serde_json::Value) -> Result<Self, JobEventError> {
        let event: EventBridgeEvent =
            serde_json::from_value(payload).map_err(|e| JobEventError::Malformed(e.to_string()))?;
        let time = event
            .time
            .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        Self::from_event(
            event.id,
            time,
            &event.source,
            &event.detail_type,
            event.detail,
        )
    }

    /// Checks an EventBridge event's `source`, `detail-type` and `id` and reads its `detail`, refusing foreign and
    /// malformed events.
    pub fn from_event(
        id: Option<String>,
        time: Option<String>,
        source: &str,
        detail_type: &str,
        detail: serde_json::Value,
    ) -> Result<Self, JobEventError> {
        if !JOB_EVENT_SOURCES.contains(&source) || detail_type != JOB_STATE_CHANGE {
            return Err(JobEventError::Foreign {
                event_source: source.to_owned(),
                detail_type: detail_type.to_owned(),
            });
        }
        let id = id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| JobEventError::Malformed("the event has no id".into()))?;
        let time = time.ok_or_else(|| JobEventError::Malformed("the event has no time".into()))?;
        let detail =
            serde_json::from_value(detail).map_err(|e| JobEventError::Malformed(e.to_string()))?;
        Ok(Self { id, time, detail })
    }
}

impl JobStateDetail {
    /// The recording to make the output from alone, when this is the ERROR of a job that failed on its inputs and
    /// named one (`input_fallback`); `None` otherwise.
    pub fn input_fallback(&self) -> Option<Source> {
        let JobState::Error { error_code, .. } = &self.state else {
            return None;
        };
        if !error_code
            .as_ref()
            .is_some_and(|code| is_input_failure(&code.to_string()))
        {
            return None;
        }
        match self.user_metadata.get(METADATA_INPUT_FALLBACK)?.as_str() {
            "screen" => Some(Source::Screen),
            "camera" => Some(Source::Camera),
            _ => None,
        }
    }
}

/// Which kind of stream job a `kind` metadata names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamJobKind {
    /// Screen plus camera.
    Composite,
    /// One recording (the partner never came).
    Single,
}

impl StreamJobKind {
    /// The stored name (`job_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Composite => "composite",
            Self::Single => "single",
        }
    }
}

/// `UserMetadata` key of a stream job that names the recording to make the output from alone if the job fails on
/// its inputs (`screen` or `camera`; see [`crate::pairing::Submission::input_fallback`]).
pub const METADATA_INPUT_FALLBACK: &str = "input_fallback";

/// MediaConvert's code for invalid job settings: in the 10xx range, but not about the inputs.
const INVALID_SETTINGS_CODE: u32 = 1030;

/// Whether MediaConvert error `code` says an input could not be read or decoded (10xx, but for invalid settings).
pub fn is_input_failure(code: &str) -> bool {
    matches!(code.parse::<u32>(), Ok(c @ 1000..=1099) if c != INVALID_SETTINGS_CODE)
}

/// The plain message clients see for a failed job with MediaConvert error `code`. MediaConvert's own message (and
/// the local engine's) names objects and quotes the tools; it goes to the log only.
pub fn failure_message(code: &str) -> &'static str {
    if is_input_failure(code) {
        return "a recording could not be read or decoded";
    }
    match code.parse::<u32>() {
        Ok(INVALID_SETTINGS_CODE) => "the transcoder refused the job's settings",
        Ok(1400..=1499) => "the transcoder could not read or write the stream's files",
        Ok(1500..=1999) => "the transcoder refused the job's settings",
        Ok(3000..=3999) => "the transcoder failed; trying again may work",
        _ => "the transcoder failed",
    }
}

/// Whether a job's `UserMetadata` makes it the job of `stream`'s `generation`.
pub fn is_stream_job(
    user_metadata: &BTreeMap<String, String>,
    stream: &str,
    generation: u64,
) -> bool {
    matches!(route(user_metadata), Ok(JobRoute::Stream { stream: ref s, generation: g, .. })
        if s.as_str() == stream && g == generation)
}

/// Where a job's events go, by its `UserMetadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRoute {
    /// A stream's composite or single-source job.
    Stream {
        /// The stream.
        stream: StreamName,
        /// The stream generation the job was submitted for.
        generation: u64,
        /// Composite or single.
        kind: StreamJobKind,
    },
    /// A chunk of a render (the chunk job builder's `render_id` and `chunk_index`).
    Chunk {
        /// The render.
        render_id: String,
        /// The chunk's index.
        index: u32,
    },
    /// A playback package's job.
    Playback {
        /// What the package belongs to.
        asset: crate::playback::PlaybackAsset,
        /// The ETag of the source the job was made from (its `source`), the package's generation.
        source_etag: Option<String>,
    },
    /// One peer's preview of a call recording (`kind = call_preview`).
    CallPreview(crate::call::PreviewJob),
    /// A vidpipe job whose events the notifier does not track (`preview_job`'s, kind `preview`).
    NotOurs {
        /// Its `kind`.
        kind: String,
    },
}

/// Why a job's metadata cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// `app` is missing or not `vidpipe`: somebody else's job.
    #[error("not a vidpipe job (app = {0:?})")]
    ForeignApp(Option<String>),
    /// A metadata field a stream job needs is missing.
    #[error("userMetadata.{0} is missing")]
    Missing(&'static str),
    /// A metadata field has a bad value.
    #[error("userMetadata.{field} is invalid: {value:?}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
    },
}

/// Routes a job by its `UserMetadata`: `app = vidpipe`, `kind`, and for `composite`/`single` the `stream` and
/// `generation` (a decimal string) the compositor set, for `playback` the `asset` and its `source` ETag.
pub fn route(user_metadata: &BTreeMap<String, String>) -> Result<JobRoute, RouteError> {
    let app = user_metadata.get("app");
    if app.map(String::as_str) != Some("vidpipe") {
        return Err(RouteError::ForeignApp(app.cloned()));
    }
    let kind = user_metadata
        .get("kind")
        .ok_or(RouteError::Missing("kind"))?;
    let kind = match kind.as_str() {
        "chunk" => return chunk_route(user_metadata),
        "composite" => StreamJobKind::Composite,
        "single" => StreamJobKind::Single,
        "playback" => return crate::playback::job_route(user_metadata),
        "call_preview" => return crate::call::preview_job_route(user_metadata),
        other => {
            return Ok(JobRoute::NotOurs {
                kind: other.to_owned(),
            });
        }
    };
    let stream = user_metadata
        .get("stream")
        .ok_or(RouteError::Missing("stream"))?;
    let stream = StreamName::parse("stream", stream).map_err(|_| RouteError::Invalid {
        field: "stream",
        value: stream.clone(),
    })?;
    let generation = user_metadata
        .get("generation")
        .ok_or(RouteError::Missing("generation"))?;
    let generation = generation
        .parse::<u64>()
        .ok()
        .filter(|g| *g >= 1 && generation.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| RouteError::Invalid {
            field: "generation",
            value: generation.clone(),
        })?;
    Ok(JobRoute::Stream {
        stream,
        generation,
        kind,
    })
}

/// A chunk job's route: its `render_id` (a render id's characters) and `chunk_index` (decimal).
fn chunk_route(user_metadata: &BTreeMap<String, String>) -> Result<JobRoute, RouteError> {
    let render_id = user_metadata
        .get("render_id")
        .ok_or(RouteError::Missing("render_id"))?;
    if !crate::render::is_render_id(render_id) {
        return Err(RouteError::Invalid {
            field: "render_id",
            value: render_id.clone(),
        });
    }
    let index = user_metadata
        .get("chunk_index")
        .ok_or(RouteError::Missing("chunk_index"))?;
    let parsed = index
        .parse::<u32>()
        .ok()
        .filter(|_| index.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| RouteError::Invalid {
            field: "chunk_index",
            value: index.clone(),
        })?;
    Ok(JobRoute::Chunk {
        render_id: render_id.clone(),
        index: parsed,
    })
}

/// What a job event asks of its stream's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamUpdate {
    /// The job runs, this far along (0..=100).
    Progress(u8),
    /// The job completed; its media file, when the event names one.
    Ready {
        /// The output's object key.
        output_key: Option<String>,
        /// The job's cost, when it carries its rate (`JobStateDetail::cost`).
        cost: Option<crate::cost::JobCost>,
    },
    /// The job failed or was canceled.
    Failed {
        /// MediaConvert's error code, or `canceled`.
        code: String,
        /// What went wrong.
        message: String,
    },
}

impl StreamUpdate {
    /// True for `Ready` and `Failed`, after which nothing changes the generation's status.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::Progress(_))
    }

    /// True for a `CANCELED` job: a failure unless the compositor canceled the job itself to replace it.
    pub fn is_cancellation(&self) -> bool {
        matches!(self, Self::Failed { code, .. } if code == CANCELED_CODE)
    }
}

impl JobState {
    /// The update this state asks for; `None` for states that change no status (input information, warnings,
    /// queue hops).
    pub fn stream_update(&self) -> Option<StreamUpdate> {
        match self {
            Self::Progressing => Some(StreamUpdate::Progress(0)),
            Self::StatusUpdate { job_progress, .. } => {
                let percent = job_progress
                    .as_ref()
                    .and_then(|p| p.job_percent_complete)
                    .unwrap_or(0.0);
                Some(StreamUpdate::Progress(percent.clamp(0.0, 100.0) as u8))
            }
            Self::Complete {
                output_group_details,
            } => Some(StreamUpdate::Ready {
                output_key: media_output_key(output_group_details),
                cost: None,
            }),
            Self::Canceled => Some(StreamUpdate::Failed {
                code: CANCELED_CODE.to_owned(),
                message: "the job was canceled".to_owned(),
            }),
            Self::Error { error_code, .. } => {
                let code = error_code
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), Code::to_string);
                Some(StreamUpdate::Failed {
                    message: failure_message(&code).to_owned(),
                    code,
                })
            }
            Self::InputInformation { .. } | Self::NewWarning { .. } | Self::QueueHop { .. } => None,
        }
    }

    /// What this state says of a chunk job's chunk; `None` for states that say nothing of it.
    pub fn chunk_update(&self) -> Option<ChunkUpdate> {
        match self.stream_update()? {
            StreamUpdate::Progress(percent) => Some(ChunkUpdate::Running(percent)),
            StreamUpdate::Ready { .. } => Some(ChunkUpdate::Complete),
            StreamUpdate::Failed { .. } => Some(ChunkUpdate::Ended),
        }
    }

    /// The status name as MediaConvert sends it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InputInformation { .. } => "INPUT_INFORMATION",
            Self::Progressing => "PROGRESSING",
            Self::StatusUpdate { .. } => "STATUS_UPDATE",
            Self::Complete { .. } => "COMPLETE",
            Self::Canceled => "CANCELED",
            Self::Error { .. } => "ERROR",
            Self::NewWarning { .. } => "NEW_WARNING",
            Self::QueueHop { .. } => "QUEUE_HOP",
        }
    }
}

/// The key of the first file-group output (the stream's MP4), else the first playlist.
fn media_output_key(groups: &[OutputGroupDetail]) -> Option<String> {
    let file = groups
        .iter()
        .filter(|g| g.group_type.as_deref().is_none_or(|t| t == "FILE_GROUP"))
        .flat_map(|g| &g.output_details)
        .flat_map(|o| &o.output_file_paths)
        .next();
    let playlist = groups.iter().flat_map(|g| &g.playlist_file_paths).next();
    file.or(playlist)
        .and_then(|path| S3Uri::parse_str(path).ok())
        .map(|uri| uri.key().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(detail: serde_json::Value) -> Result<JobStateChange, JobEventError> {
        JobStateChange::from_event(
            Some("a0b1".into()),
            Some("2026-11-21T10:00:00Z".into()),
            MEDIACONVERT_SOURCE,
            JOB_STATE_CHANGE,
            detail,
        )
    }

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn an_error_event_shaped_as_in_the_docs_fails_with_its_code_and_a_plain_message() {
        let raw = "Failed probe/open: [Can't read s3://bucket/videos/s1_camera.webm: /tmp/x: invalid data]";
        let e = parse(json!({
            "timestamp": 1_795_000_000_000_u64, "accountId": "123456789012",
            "queue": "arn:aws:mediaconvert:us-east-1:123456789012:queues/Default", "jobId": "1700000000000-abc123",
            "status": "ERROR", "errorCode": 1040, "errorMessage": raw, "userMetadata": {}
        }))
        .unwrap();
        // The service's words (object names, machine paths, the tool's output) are not for clients.
        assert_eq!(
            e.detail.state.stream_update(),
            Some(StreamUpdate::Failed {
                code: "1040".into(),
                message: "a recording could not be read or decoded".into()
            })
        );
        assert_eq!(
            failure_message("1432"),
            "the transcoder could not read or write the stream's files"
        );
        assert_eq!(
            failure_message("1550"),
            "the transcoder refused the job's settings"
        );
        assert_eq!(
            failure_message("3450"),
            "the transcoder failed; trying again may work"
        );
        assert_eq!(failure_message("unknown"), "the transcoder failed");
    }

    #[test]
    fn only_an_input_failure_of_a_job_that_names_a_fallback_asks_for_one() {
        let detail = |status: &str, code: Value, fallback: Option<&str>| {
            let mut metadata =
                json!({"app": "vidpipe", "kind": "composite", "stream": "s1", "generation": "1"});
            if let Some(fallback) = fallback {
                metadata["input_fallback"] = json!(fallback);
            }
            parse(
                json!({"timestamp": 1, "jobId": "j", "status": status, "errorCode": code,
                "userMetadata": metadata}),
            )
            .unwrap()
            .detail
        };
        assert_eq!(
            detail("ERROR", json!(1010), Some("screen")).input_fallback(),
            Some(Source::Screen)
        );
        assert_eq!(
            detail("ERROR", json!(1040), Some("camera")).input_fallback(),
            Some(Source::Camera)
        );
        // Not about the inputs: invalid settings, output, service failures, no code.
        for code in [
            json!(1030),
            json!(1401),
            json!(1999),
            json!(3450),
            Value::Null,
        ] {
            assert_eq!(
                detail("ERROR", code.clone(), Some("screen")).input_fallback(),
                None,
                "{code}"
            );
        }
        assert_eq!(detail("ERROR", json!(1010), None).input_fallback(), None);
        assert_eq!(
            detail("ERROR", json!(1010), Some("both")).input_fallback(),
            None
        );
        assert_eq!(
            detail("CANCELED", Value::Null, Some("screen")).input_fallback(),
            None
        );
        assert_eq!(
            failure_message("1030"),
            "the transcoder refused the job's settings"
        );
    }

    #[test]
    fn an_error_without_code_or_message_still_fails() {
        let e = parse(json!({
            "timestamp": 1, "jobId": "j", "status": "ERROR", "errorCode": null, "userMetadata": {}
        }))
        .unwrap();
        assert_eq!(
            e.detail.state.stream_update(),
            Some(StreamUpdate::Failed {
                code: "unknown".into(),
                message: "the transcoder failed".into()
            })
        );
    }

    #[test]
    fn complete_gives_the_key_of_the_file_output() {
        let e = parse(json!({
            "timestamp": 1, "jobId": "j", "status": "COMPLETE", "userMetadata": {},
            "outputGroupDetails": [{"type": "FILE_GROUP", "outputDetails": [{
                "outputFilePaths": ["s3://bucket/videos/s1_composited.mp4"], "durationInMs": 30041,
                "videoDetails": {"widthInPx": 1920, "heightInPx": 1080}}]}],
            "warnings": [{"code": 230001, "count": 1}]
        }))
        .unwrap();
        assert_eq!(
            e.detail.state.stream_update(),
            Some(StreamUpdate::Ready {
                output_key: Some("videos/s1_composited.mp4".into()),
                cost: None,
            })
        );
    }

    #[test]
    fn progress_comes_from_status_update_and_is_clamped() {
        let update = |percent: serde_json::Value| {
            parse(json!({
                "timestamp": 1, "jobId": "j", "status": "STATUS_UPDATE", "framesDecoded": 10,
                "jobProgress": {"jobPercentComplete": percent, "currentPhase": "TRANSCODING", "retryCount": 0},
                "userMetadata": {}
            }))
            .unwrap()
            .detail
            .state
            .stream_update()
        };
        assert_eq!(update(json!(42)), Some(StreamUpdate::Progress(42)));
        assert_eq!(update(json!(250)), Some(StreamUpdate::Progress(100)));
    }

    #[test]
    fn warnings_hops_and_input_information_change_no_status() {
        for detail in [
            json!({"status": "NEW_WARNING", "warningCode": 0, "warningMessage": "w"}),
            json!({"status": "QUEUE_HOP", "previousQueue": "q", "priority": 1, "previousPriority": 0}),
            json!({"status": "INPUT_INFORMATION", "inputDetails": [{"id": 1, "uri": "s3://b/k"}]}),
        ] {
            let mut d = detail;
            d["timestamp"] = json!(1);
            d["jobId"] = json!("j");
            let e = parse(d).unwrap();
            assert_eq!(
                e.detail.state.stream_update(),
                None,
                "{}",
                e.detail.state.name()
            );
        }
    }

    #[test]
    fn foreign_and_malformed_events_are_named() {
        let detail = json!({"timestamp": 1, "jobId": "j", "status": "PROGRESSING"});
        assert!(matches!(
            JobStateChange::from_event(
                Some("a".into()),
                None,
                "aws.s3",
                JOB_STATE_CHANGE,
                detail.clone()
            ),
            Err(JobEventError::Foreign { .. })
        ));
        assert!(matches!(
            JobStateChange::from_event(None, None, MEDIACONVERT_SOURCE, JOB_STATE_CHANGE, detail),
            Err(JobEventError::Malformed(_))
        ));
        let unknown = json!({"timestamp": 1, "jobId": "j", "status": "SUBMITTED"});
        assert!(matches!(parse(unknown), Err(JobEventError::Malformed(_))));
        let no_job = json!({"timestamp": 1, "status": "PROGRESSING"});
        assert!(matches!(parse(no_job), Err(JobEventError::Malformed(_))));
    }

    #[test]
    fn routing_follows_the_contract() {
        assert_eq!(
            route(&metadata(&[
                ("app", "vidpipe"),
                ("kind", "composite"),
                ("stream", "s1"),
                ("generation", "2")
            ])),
            Ok(JobRoute::Stream {
                stream: StreamName::parse("stream", "s1").unwrap(),
                generation: 2,
                kind: StreamJobKind::Composite
            })
        );
        assert_eq!(
            route(&metadata(&[
                ("app", "vidpipe"),
                ("kind", "chunk"),
                ("render_id", "promo-42"),
                ("chunk_index", "3")
            ])),
            Ok(JobRoute::Chunk {
                render_id: "promo-42".into(),
                index: 3
            })
        );
        assert_eq!(
            route(&metadata(&[("app", "vidpipe"), ("kind", "chunk")])),
            Err(RouteError::Missing("render_id"))
        );
        // Every id a render request allows routes, dots included.
        assert_eq!(
            route(&metadata(&[
                ("app", "vidpipe"),
                ("kind", "chunk"),
                ("render_id", "promo.v2"),
                ("chunk_index", "0")
            ])),
            Ok(JobRoute::Chunk {
                render_id: "promo.v2".into(),
                index: 0
            })
        );
        for (id, index) in [
            ("a/b", "1"),
            ("..", "1"),
            ("r1", "-1"),
            ("r1", "+2"),
            ("r1", "x"),
        ] {
            assert!(
                route(&metadata(&[
                    ("app", "vidpipe"),
                    ("kind", "chunk"),
                    ("render_id", id),
                    ("chunk_index", index)
                ]))
                .is_err(),
                "{id} {index}"
            );
        }
        assert_eq!(
            route(&metadata(&[("app", "vidpipe"), ("kind", "preview")])),
            Ok(JobRoute::NotOurs {
                kind: "preview".into()
            })
        );
        assert_eq!(route(&metadata(&[])), Err(RouteError::ForeignApp(None)));
        assert_eq!(
            route(&metadata(&[
                ("app", "vidpipe"),
                ("kind", "single"),
                ("stream", "s1")
            ])),
            Err(RouteError::Missing("generation"))
        );
        for bad in ["0", "-1", "+2", "x", ""] {
            assert!(matches!(
                route(&metadata(&[
                    ("app", "vidpipe"),
                    ("kind", "single"),
                    ("stream", "s1"),
                    ("generation", bad)
                ])),
                Err(RouteError::Invalid {
                    field: "generation",
                    ..
                })
            ));
        }
        assert!(matches!(
            route(&metadata(&[
                ("app", "vidpipe"),
                ("kind", "single"),
                ("stream", "a/b"),
                ("generation", "1")
            ])),
            Err(RouteError::Invalid {
                field: "stream",
                ..
            })
        ));
    }

    #[test]
    fn playback_jobs_are_routed_by_their_asset() {
        assert_eq!(
            route(&metadata(&[
                ("app", "vidpipe"),
                ("kind", "playback"),
                ("asset", "stream/s1"),
                ("source", "etag-1")
            ])),
            Ok(JobRoute::Playback {
                asset: crate::playback::PlaybackAsset::Stream(
                    StreamName::parse("stream", "s1").unwrap()
                ),
                source_etag: Some("etag-1".into())
            })
        );
        assert_eq!(
            route(&metadata(&[("app", "vidpipe"), ("kind", "playback")])),
            Err(RouteError::Missing("asset"))
        );
        assert!(matches!(
            route(&metadata(&[
                ("app", "vidpipe"),
                ("kind", "playback"),
                ("asset", "recording/../x")
            ])),
            Err(RouteError::Invalid { field: "asset", .. })
        ));
    }
}
