//! What the ffmpeg backend on Lambda (`functions/transcoder`) is invoked with: the contract between the
//! `LambdaTranscoder` adapter that submits jobs and the function that runs them.
//!
//! - `{"job_id": "...", "job": {CreateJob request}}`, invoked asynchronously: run the job under that id and put its
//!   MediaConvert-shaped events on the bus. The submitter chooses the id, so it can record it before the job runs.
//! - `{"probe": "s3://bucket/key"}`, invoked synchronously: answer the file's [`MediaInfo`](crate::job::MediaInfo),
//!   or fail with [`INPUT_UNUSABLE`] when the file cannot be read as media.
//! - `{"request_uri": "s3://...", "media_uri": "s3://..." | null, "chunk": {index, start_frame, end_frame,
//!   output_uri}}`, invoked synchronously by the render state machine (the custom renderer's contract, README "The
//!   render request"): render that chunk of the stored render request, with the chunker's stored probe results, and
//!   answer `{"output_uri", "cost_usd"}`. A chunk of a job in chunks also carries `"progress": {"job_id",
//!   "user_metadata", "chunks"}` ([`ChunkProgress`]): once rendered, it reports the job's progress.
//! - `{"flow": "soundtrack" | "join" | "failed", "job": ChunkedJob, ...}`, invoked synchronously by the transcode
//!   state machine ([`chunked`]): a step of a long job run in chunks ([`FlowStep`]).

pub mod chunked;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::render::Chunk;
use crate::s3uri::S3Uri;
use chunked::ChunkedJob;

/// The error type the transcoder function answers a probe of a file that is missing or not media with (the
/// recording's own fault: a retry cannot help).
pub const INPUT_UNUSABLE: &str = "InputUnusable";

/// One invocation of the transcoder function.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Run a CreateJob request as job `job_id`.
    Job {
        /// The job's id, chosen by the submitter.
        job_id: String,
        /// The CreateJob request, as MediaConvert takes it: kept as JSON, so a document the engine refuses still
        /// reaches it and ends in an ERROR event.
        job: Value,
    },
    /// Probe the file at `uri`.
    Probe {
        /// The file.
        uri: S3Uri,
    },
    /// Render one chunk of a render request, as the render flow's custom renderer.
    Chunk {
        /// The stored render request.
        request_uri: S3Uri,
        /// The chunker's stored probe results of its sources, if any.
        media_uri: Option<S3Uri>,
        /// The chunk's index and frames.
        chunk: Chunk,
        /// Where the chunk's MP4 goes.
        output_uri: S3Uri,
        /// The job in chunks this chunk belongs to (none for a render's chunk).
        progress: Option<ChunkProgress>,
    },
    /// A step of the transcode state machine.
    Flow(FlowStep),
}

/// A step of a job run in chunks by the transcode state machine: its `flow` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case", deny_unknown_fields)]
pub enum FlowStep {
    /// Mix the job's sound over its whole timeline to `job.soundtrack_uri`; answers a [`FlowResult`].
    Soundtrack {
        /// The job.
        job: ChunkedJob,
    },
    /// Join the rendered chunks and the sound into the job's output, then report the job COMPLETE.
    Join {
        /// The job.
        job: ChunkedJob,
        /// What each chunk's invocation answered, in chunk order (the Map's results).
        rendered: Vec<FlowResult>,
        /// What the soundtrack step answered.
        soundtrack: FlowResult,
    },
    /// Report the job in ERROR: a step failed.
    Failed {
        /// The job.
        job: ChunkedJob,
        /// What Step Functions caught.
        error: FlowError,
    },
}

/// The job a chunk of a job in chunks belongs to: once the chunk is rendered, the transcoder counts the job's
/// rendered chunks and puts its STATUS_UPDATE event, as MediaConvert reports a running job's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkProgress {
    /// The job's id.
    pub job_id: String,
    /// The job's `UserMetadata`, carried by its events.
    pub user_metadata: BTreeMap<String, String>,
    /// How many chunks the job has.
    pub chunks: u32,
}

impl ChunkProgress {
    /// The job's percentage once `rendered` of its chunks are: up to 90, the join and its sound being the rest.
    pub fn percent(&self, rendered: u32) -> u8 {
        let chunks = u64::from(self.chunks.max(1));
        (90 * u64::from(rendered.min(self.chunks)) / chunks) as u8
    }
}

/// What a step of the flow answers: the file it wrote (none for a job without sound) and what its invocation cost
/// on Lambda, when the function knows its memory size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowResult {
    /// The chunk's MP4, or the mixed sound.
    pub output_uri: Option<String>,
    /// The invocation's cost in dollars.
    pub cost_usd: Option<f64>,
}

/// An error Step Functions caught (a `Catch`'s `ResultPath` value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowError {
    /// The error name (`ChunkFailed`, `States.Timeout`, ...).
    #[serde(rename = "Error")]
    pub error: String,
    /// What it says.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// Why an event is no invocation of the transcoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a transcoder invocation: {0}")]
pub struct InvocationError(pub String);

impl Invocation {
    /// The invocation's JSON payload.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Job { job_id, job } => json!({"job_id": job_id, "job": job}),
            Self::Probe { uri } => json!({"probe": uri.to_string()}),
            Self::Chunk {
                request_uri,
                media_uri,
                chunk,
                output_uri,
                progress,
            } => {
                let mut payload = json!({"request_uri": request_uri.to_string(),
                        "media_uri": media_uri.as_ref().map(S3Uri::to_string),
                        "chunk": {"index": chunk.index, "start_frame": chunk.start_frame,
                                  "end_frame": chunk.end_frame, "output_uri": output_uri.to_string()}});
                if let Some(progress) = progress {
                    payload["progress"] = json!(progress);
                }
                payload
            }
            Self::Flow(step) => serde_json::to_value(step).unwrap_or_default(),
        }
    }

    /// Reads an invocation payload.
    pub fn parse(event: &Value) -> Result<Self, InvocationError> {
        let refuse = |why: &str| Err(InvocationError(why.to_owned()));
        if let Some(probe) = event.get("probe") {
            let Some(uri) = probe.as_str() else {
                return refuse("probe is not a string");
            };
            return match S3Uri::parse_str(uri) {
                Ok(uri) => Ok(Self::Probe { uri }),
                Err(e) => Err(InvocationError(format!("probe: {e}"))),
            };
        }
        if event.get("chunk").is_some() {
            return Self::parse_chunk(event);
        }
        if event.get("flow").is_some() {
            return serde_json::from_value(event.clone())
                .map(Self::Flow)
                .map_err(|e| InvocationError(format!("flow: {e}")));
        }
        let Some(job) = event.get("job") else {
            return refuse("neither a job, a probe nor a chunk");
        };
        match event.get("job_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && id.len() <= 128 && id.bytes().all(is_id_byte) => {
                Ok(Self::Job {
                    job_id: id.to_owned(),
                    job: job.clone(),
                })
            }
            _ => refuse("job_id must be 1 to 128 letters, digits, '-' or '_'"),
        }
    }
}

impl Invocation {
    fn parse_chunk(event: &Value) -> Result<Self, InvocationError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            request_uri: S3Uri,
            #[serde(default)]
            media_uri: Option<S3Uri>,
            chunk: WireChunk,
            #[serde(default)]
            progress: Option<ChunkProgress>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WireChunk {
            index: u32,
            start_frame: u64,
            end_frame: u64,
            output_uri: S3Uri,
        }
        let wire: Wire = serde_json::from_value(event.clone())
            .map_err(|e| InvocationError(format!("chunk: {e}")))?;
        if wire.chunk.end_frame <= wire.chunk.start_frame {
            return Err(InvocationError(
                "chunk: end_frame must be after start_frame".into(),
            ));
        }
        Ok(Self::Chunk {
            request_uri: wire.request_uri,
            media_uri: wire.media_uri,
            chunk: Chunk {
                index: wire.chunk.index,
                start_frame: wire.chunk.start_frame,
                end_frame: wire.chunk.end_frame,
            },
            output_uri: wire.chunk.output_uri,
            progress: wire.progress,
        })
    }
}

/// Job ids go into ARNs, log lines and item attributes: plain characters only.
fn is_id_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_round_trip_and_bad_ones_are_refused() {
        let job = Invocation::Job {
            job_id: "composite-0123abcd".into(),
            job: json!({"Settings": {}}),
        };
        assert_eq!(Invocation::parse(&job.to_json()).unwrap(), job);
        let probe = Invocation::Probe {
            uri: S3Uri::parse_str("s3://vidpipe-uploads/videos/s.mp4").unwrap(),
        };
        assert_eq!(
            probe.to_json(),
            json!({"probe": "s3://vidpipe-uploads/videos/s.mp4"}),
            "the wire form"
        );
        assert_eq!(Invocation::parse(&probe.to_json()).unwrap(), probe);
        for bad in [
            json!({}),
            json!("job"),
            json!({"probe": 3}),
            json!({"probe": "https://vidpipe-uploads/s.mp4"}),
            json!({"job": {}}),
            json!({"job": {}, "job_id": ""}),
            json!({"job": {}, "job_id": "../x"}),
            json!({"job": {}, "job_id": 7}),
        ] {
            assert!(Invocation::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_chunk_invocation_is_the_custom_renderers_payload() {
        let payload = json!({"request_uri": "s3://bkt/renders/o/r/work/e/request.json",
                             "media_uri": "s3://bkt/renders/o/r/work/e/media.json",
                             "chunk": {"index": 2, "start_frame": 240, "end_frame": 360,
                                       "output_uri": "s3://bkt/renders/o/r/work/e/chunks/00002.mp4"}});
        let chunk = Invocation::parse(&payload).unwrap();
        let Invocation::Chunk { chunk: c, .. } = &chunk else {
            panic!("a chunk: {chunk:?}");
        };
        assert_eq!((c.index, c.start_frame, c.end_frame), (2, 240, 360));
        assert_eq!(chunk.to_json(), payload, "the wire form");
        assert!(matches!(chunk, Invocation::Chunk { progress: None, .. }));
        let mut without_media = payload.clone();
        without_media["media_uri"] = Value::Null;
        assert!(Invocation::parse(&without_media).is_ok());
        let mut of_a_job = payload.clone();
        of_a_job["progress"] =
            json!({"job_id": "composite-1", "user_metadata": {"stream": "s1"}, "chunks": 4});
        let parsed = Invocation::parse(&of_a_job).unwrap();
        let Invocation::Chunk {
            progress: Some(progress),
            ..
        } = &parsed
        else {
            panic!("a job's chunk: {parsed:?}");
        };
        assert_eq!(
            (progress.job_id.as_str(), progress.chunks),
            ("composite-1", 4)
        );
        assert_eq!(parsed.to_json(), of_a_job, "the wire form");
        assert_eq!(
            [0, 1, 2, 3, 4, 5].map(|rendered| progress.percent(rendered)),
            [0, 22, 45, 67, 90, 90],
            "up to 90: the join is the rest"
        );
        for bad in [
            json!({"chunk": {}}),
            json!({"request_uri": "s3://bkt/r.json", "chunk": {"index": 0, "start_frame": 5, "end_frame": 5,
                                                              "output_uri": "s3://bkt/c.mp4"}}),
            json!({"request_uri": "/etc/passwd", "chunk": payload["chunk"]}),
            json!({"request_uri": "s3://bkt/r.json", "chunk": payload["chunk"], "job": {}}),
            json!({"request_uri": "s3://bkt/r.json", "chunk": {"index": -1, "start_frame": 0, "end_frame": 5,
                                                              "output_uri": "s3://bkt/c.mp4"}}),
            json!({"request_uri": "s3://bkt/r.json", "chunk": payload["chunk"], "progress": {"job_id": "j"}}),
            json!({"request_uri": "s3://bkt/r.json", "chunk": payload["chunk"],
                   "progress": {"job_id": "j", "user_metadata": {}, "chunks": 2, "stream": "s"}}),
        ] {
            assert!(Invocation::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_flow_step_names_its_step_and_carries_the_job() {
        let job = json!({"job_id": "composite-1", "user_metadata": {"stream": "s1"},
            "request_uri": "s3://bkt/v/work/composite-1/request.json",
            "media_uri": "s3://bkt/v/work/composite-1/media.json",
            "output": {"uri": "s3://bkt/v/s1_composited.mp4", "width": 640, "height": 360, "fps": 30},
            "total_frames": 180, "max_concurrency": 40,
            "chunks": [{"index": 0, "start_frame": 0, "end_frame": 180,
                        "output_uri": "s3://bkt/v/work/composite-1/chunks/00000.mp4"}],
            "soundtrack_uri": null, "planning_cost_micro_usd": 0});
        let sound = json!({"flow": "soundtrack", "job": job});
        let parsed = Invocation::parse(&sound).unwrap();
        assert!(
            matches!(&parsed, Invocation::Flow(FlowStep::Soundtrack { job }) if job.total_frames == 180)
        );
        assert_eq!(parsed.to_json(), sound, "the wire form");
        let failed = json!({"flow": "failed", "job": job,
                            "error": {"Error": "ChunkFailed", "Cause": "chunk 1: 1999: ffmpeg failed"}});
        let Invocation::Flow(FlowStep::Failed { error, .. }) = Invocation::parse(&failed).unwrap()
        else {
            panic!("a failure");
        };
        assert_eq!(error.error, "ChunkFailed");
        for bad in [
            json!({"flow": "encode", "job": job}),
            json!({"flow": "soundtrack"}),
            json!({"flow": "soundtrack", "job": {"job_id": "x"}}),
            json!({"flow": "soundtrack", "job": job, "extra": 1}),
            json!({"flow": "join", "job": job, "rendered": []}),
            json!({"flow": 7, "job": job}),
        ] {
            assert!(Invocation::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_transcoders_job_events_read_as_mediaconverts() {
        use crate::jobevent::{JOB_STATE_CHANGE, JobStateChange, TRANSCODER_SOURCE};
        let detail = json!({"timestamp": 1, "jobId": "j", "status": "PROGRESSING"});
        let event = JobStateChange::from_event(
            Some("e".into()),
            Some("2026-11-21T10:00:00Z".into()),
            TRANSCODER_SOURCE,
            JOB_STATE_CHANGE,
            detail,
        )
        .unwrap();
        assert_eq!(event.detail.job_id, "j");
    }
}
