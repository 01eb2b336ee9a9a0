//! A job's lifecycle as MediaConvert reports it: the API status (SUBMITTED, PROGRESSING, COMPLETE, ERROR) with
//! percent complete, MediaConvert-style error codes, and "MediaConvert Job State Change" EventBridge events.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

/// MediaConvert's job status (`Job.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Accepted, not started.
    Submitted,
    /// Running.
    Progressing,
    /// Finished; every output is written.
    Complete,
    /// Failed; see the error code and message.
    Error,
}

/// MediaConvert's job phase (`Job.CurrentPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobPhase {
    /// Reading and probing the inputs.
    Probing,
    /// Encoding.
    Transcoding,
    /// Writing the outputs.
    Uploading,
}

/// Error code for an input that cannot be opened (MediaConvert's 1010, "File access error").
pub const ERROR_INPUT_ACCESS: i32 = 1010;
/// Error code for job settings that are invalid or that the engine does not implement.
pub const ERROR_INVALID_SETTINGS: i32 = 1030;
/// Error code for an output that cannot be written.
pub const ERROR_OUTPUT_WRITE: i32 = 1401;
/// Error code for a failure while transcoding.
pub const ERROR_TRANSCODE: i32 = 1999;

/// Why a job ended in ERROR: a MediaConvert-style numeric code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error {code}: {message}")]
pub struct JobFailure {
    /// The numeric error code (see the `ERROR_*` constants).
    pub code: i32,
    /// The message.
    pub message: String,
}

impl JobFailure {
    /// An input file that cannot be opened, worded like MediaConvert's 1010.
    pub fn input_access(uri: &str, reason: impl std::fmt::Display) -> Self {
        Self {
            code: ERROR_INPUT_ACCESS,
            message: format!("Unable to open input file [{uri}]: [Failed probe/open: [{reason}]]"),
        }
    }

    /// An invalid or unsupported setting, naming the field.
    pub fn invalid_setting(field: &str, reason: impl std::fmt::Display) -> Self {
        Self {
            code: ERROR_INVALID_SETTINGS,
            message: format!("Invalid setting [{field}]: {reason}"),
        }
    }

    /// An output that cannot be written.
    pub fn output_write(uri: &str, reason: impl std::fmt::Display) -> Self {
        Self {
            code: ERROR_OUTPUT_WRITE,
            message: format!("Unable to write to output file [{uri}]: [{reason}]"),
        }
    }

    /// A failed ffmpeg run: an input it could not decode is an input error, worded like MediaConvert's 1010 (which
    /// covers corrupt files), so the job's ERROR event lets the compositor make the output from the other recording;
    /// anything else is a failure while transcoding.
    pub fn ffmpeg(error: impl std::fmt::Display) -> Self {
        // ffmpeg's own words for an input it cannot decode: packets that do not decode, a stream whose format is
        // still unknown when the input ends (no frame decoded at all).
        const UNDECODABLE: [&str; 3] = [
            "Error while decoding stream",
            "Invalid data found when processing input",
            "Cannot determine format of input stream",
        ];
        let text = error.to_string();
        if UNDECODABLE.iter().any(|marker| text.contains(marker)) {
            return Self {
                code: ERROR_INPUT_ACCESS,
                message: format!("Unable to decode input: [{text}]"),
            };
        }
        Self::transcode(text)
    }

    /// A failure while transcoding.
    pub fn transcode(reason: impl std::fmt::Display) -> Self {
        Self {
            code: ERROR_TRANSCODE,
            message: format!("Transcoding failed: [{reason}]"),
        }
    }
}

/// Video facts of one output, as in the COMPLETE event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoDetails {
    /// Width in pixels.
    pub width_in_px: u32,
    /// Height in pixels.
    pub height_in_px: u32,
    /// Average video bit rate in bits per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_bitrate: Option<u64>,
}

/// One output of a finished job, as in the COMPLETE event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputDetail {
    /// Media files (FILE_GROUP, FRAME_CAPTURE) or the child playlist (HLS).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_file_paths: Vec<String>,
    /// Duration in milliseconds.
    pub duration_in_ms: u64,
    /// Picture size, for outputs with video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_details: Option<VideoDetails>,
}

/// One output group of a finished job, as in the COMPLETE event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputGroupDetail {
    /// `FILE_GROUP`, `HLS_GROUP` or `CMAF_GROUP`.
    #[serde(rename = "type")]
    pub group_type: String,
    /// The outputs.
    pub output_details: Vec<OutputDetail>,
    /// Main playlists (HLS, CMAF).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub playlist_file_paths: Vec<String>,
}

/// Where the engine says it runs: the account and region in job ARNs and events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// AWS account id.
    pub account_id: String,
    /// AWS region.
    pub region: String,
}

impl Default for Identity {
    /// moto's account (`000000000000`) in `us-east-1`.
    fn default() -> Self {
        Self {
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
        }
    }
}

impl Identity {
    /// `AWS_ACCOUNT_ID` and `AWS_REGION` in `var` (a variable lookup such as `|name| std::env::var(name).ok()`),
    /// each defaulting to [`Identity::default`]'s.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let default = Self::default();
        Self {
            account_id: var("AWS_ACCOUNT_ID").unwrap_or(default.account_id),
            region: var("AWS_REGION").unwrap_or(default.region),
        }
    }
}

/// A job's state, like the API's `Job` (GetJob) in PascalCase.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Job {
    /// Job id, `{epoch ms}-{6 letters}` like MediaConvert's.
    pub id: String,
    /// Job ARN.
    pub arn: String,
    /// Queue ARN.
    pub queue: String,
    /// Status.
    pub status: JobStatus,
    /// Current phase while PROGRESSING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_phase: Option<JobPhase>,
    /// Percent complete while PROGRESSING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_percent_complete: Option<u32>,
    /// Error code on ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    /// Error message on ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The request's user metadata.
    pub user_metadata: BTreeMap<String, String>,
    /// Output details on COMPLETE.
    #[serde(skip)]
    pub output_group_details: Vec<OutputGroupDetail>,
    #[serde(skip)]
    identity: Identity,
}

impl Job {
    /// A new SUBMITTED job.
    pub fn submitted(identity: Identity, user_metadata: BTreeMap<String, String>) -> Self {
        let letters: String = uuid::Uuid::new_v4()
            .as_bytes()
            .iter()
            .take(6)
            .map(|b| char::from(b'a' + b % 26))
            .collect();
        let id = format!("{}-{letters}", vidpipe_core::clock::now_ms());
        Self::submitted_as(id, identity, user_metadata)
    }

    /// A new SUBMITTED job with the id `id`, chosen by whoever submitted it (the ffmpeg backend on Lambda: the
    /// compositor records the id before the job runs).
    pub fn submitted_as(
        id: String,
        identity: Identity,
        user_metadata: BTreeMap<String, String>,
    ) -> Self {
        let prefix = format!(
            "arn:aws:mediaconvert:{}:{}",
            identity.region, identity.account_id
        );
        Self {
            arn: format!("{prefix}:jobs/{id}"),
            queue: format!("{prefix}:queues/Default"),
            id,
            status: JobStatus::Submitted,
            current_phase: None,
            job_percent_complete: None,
            error_code: None,
            error_message: None,
            user_metadata,
            output_group_details: Vec::new(),
            identity,
        }
    }

    /// The event of this job canceled while it ran: MediaConvert's CANCELED, with the job's metadata.
    pub fn canceled_event(&self) -> Value {
        let running = Self {
            status: JobStatus::Progressing,
            ..self.clone()
        };
        let mut event = running.event(false).expect("a running job has an event");
        event["detail"]["status"] = json!("CANCELED");
        event
    }

    /// The EventBridge "MediaConvert Job State Change" event for this job's state: PROGRESSING, a STATUS_UPDATE
    /// with `jobProgress` while transcoding, COMPLETE with `outputGroupDetails`, or ERROR with the error. A
    /// SUBMITTED job has no event, as in MediaConvert.
    pub fn event(&self, status_update: bool) -> Option<Value> {
        let mut detail = json!({
            "timestamp": vidpipe_core::clock::now_ms(),
            "accountId": self.identity.account_id,
            "queue": self.queue,
            "jobId": self.id,
            "userMetadata": self.user_metadata,
        });
        let status = match self.status {
            JobStatus::Submitted => return None,
            JobStatus::Progressing if status_update => {
                let phase = self.current_phase.unwrap_or(JobPhase::Probing);
                let percent = self.job_percent_complete.unwrap_or(0);
                detail["jobProgress"] = json!({
                    "phaseProgress": phase_progress(phase, percent),
                    "jobPercentComplete": percent,
                    "currentPhase": phase,
                    "retryCount": 0,
                });
                "STATUS_UPDATE"
            }
            JobStatus::Progressing => "PROGRESSING",
            JobStatus::Complete => {
                detail["outputGroupDetails"] = json!(self.output_group_details);
                detail["warnings"] = json!([]);
                "COMPLETE"
            }
            JobStatus::Error => {
                detail["errorCode"] = json!(self.error_code);
                detail["errorMessage"] = json!(self.error_message);
                "ERROR"
            }
        };
        detail["status"] = json!(status);
        Some(json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "MediaConvert Job State Change",
            "source": "aws.mediaconvert",
            "account": self.identity.account_id,
            "time": rfc3339_now(),
            "region": self.identity.region,
            "resources": [self.arn],
            "detail": detail,
        }))
    }
}

fn phase_progress(current: JobPhase, percent: u32) -> Value {
    let phases = [
        JobPhase::Probing,
        JobPhase::Transcoding,
        JobPhase::Uploading,
    ];
    let position = phases.iter().position(|p| *p == current).unwrap_or(0);
    let mut progress = serde_json::Map::new();
    for (i, phase) in phases.iter().enumerate() {
        let (status, done) = match i.cmp(&position) {
            std::cmp::Ordering::Less => ("COMPLETE", 100),
            std::cmp::Ordering::Equal => (
                "PROGRESSING",
                if *phase == JobPhase::Transcoding {
                    percent
                } else {
                    0
                },
            ),
            std::cmp::Ordering::Greater => ("PENDING", 0),
        };
        let name = serde_json::to_value(phase)
            .unwrap_or_default()
            .as_str()
            .unwrap_or_default()
            .to_string();
        progress.insert(name, json!({"status": status, "percentComplete": done}));
    }
    Value::Object(progress)
}

fn rfc3339_now() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job::submitted(
            Identity {
                account_id: "111122223333".into(),
                region: "us-west-2".into(),
            },
            BTreeMap::from([("streamId".to_string(), "abc".to_string())]),
        )
    }

    #[test]
    fn submitted_jobs_send_no_event_and_ids_look_like_mediaconvert() {
        let job = job();
        assert!(job.event(false).is_none());
        let (ms, letters) = job.id.split_once('-').unwrap();
        assert!(ms.len() >= 13 && ms.chars().all(|c| c.is_ascii_digit()));
        assert!(letters.len() == 6 && letters.chars().all(|c| c.is_ascii_lowercase()));
        assert_eq!(
            job.arn,
            format!(
                "arn:aws:mediaconvert:us-west-2:111122223333:jobs/{}",
                job.id
            )
        );
    }

    #[test]
    fn complete_event_has_the_eventbridge_shape() {
        let mut job = job();
        job.status = JobStatus::Complete;
        job.output_group_details = vec![OutputGroupDetail {
            group_type: "FILE_GROUP".into(),
            output_details: vec![OutputDetail {
                output_file_paths: vec!["s3://b/x.mp4".into()],
                duration_in_ms: 30041,
                video_details: Some(VideoDetails {
                    width_in_px: 1920,
                    height_in_px: 1080,
                    average_bitrate: None,
                }),
            }],
            playlist_file_paths: vec![],
        }];
        let event = job.event(false).unwrap();
        assert_eq!(event["detail-type"], "MediaConvert Job State Change");
        assert_eq!(event["source"], "aws.mediaconvert");
        assert_eq!(event["resources"][0], job.arn.as_str());
        assert_eq!(event["detail"]["status"], "COMPLETE");
        assert_eq!(
            event["detail"]["queue"],
            "arn:aws:mediaconvert:us-west-2:111122223333:queues/Default"
        );
        assert_eq!(event["detail"]["userMetadata"]["streamId"], "abc");
        assert_eq!(
            event["detail"]["outputGroupDetails"],
            json!([{"type": "FILE_GROUP", "outputDetails": [{"outputFilePaths": ["s3://b/x.mp4"], "durationInMs": 30041,
                "videoDetails": {"widthInPx": 1920, "heightInPx": 1080}}]}])
        );
        assert_eq!(
            event["time"].as_str().unwrap().len(),
            "2018-01-07T23:35:20Z".len()
        );
    }

    #[test]
    fn status_update_and_error_events() {
        let mut job = job();
        job.status = JobStatus::Progressing;
        job.current_phase = Some(JobPhase::Transcoding);
        job.job_percent_complete = Some(42);
        let update = job.event(true).unwrap();
        assert_eq!(update["detail"]["status"], "STATUS_UPDATE");
        assert_eq!(update["detail"]["jobProgress"]["jobPercentComplete"], 42);
        assert_eq!(
            update["detail"]["jobProgress"]["currentPhase"],
            "TRANSCODING"
        );
        assert_eq!(
            update["detail"]["jobProgress"]["phaseProgress"]["PROBING"]["status"],
            "COMPLETE"
        );
        assert_eq!(
            update["detail"]["jobProgress"]["phaseProgress"]["TRANSCODING"]["percentComplete"],
            42
        );
        assert_eq!(job.event(false).unwrap()["detail"]["status"], "PROGRESSING");
        let error = JobFailure::input_access("s3://b/missing.mp4", "NoSuchKey");
        job.status = JobStatus::Error;
        job.error_code = Some(error.code);
        job.error_message = Some(error.message);
        let event = job.event(false).unwrap();
        assert_eq!(event["detail"]["status"], "ERROR");
        assert_eq!(event["detail"]["errorCode"], 1010);
        assert!(
            event["detail"]["errorMessage"]
                .as_str()
                .unwrap()
                .starts_with("Unable to open input file [s3://b/missing.mp4]")
        );
    }
}
