//! `statemachines/transcode.asl.json`: statelint accepts it, and the local interpreter runs its data flow with a
//! fake transcoder that reads every payload as the transcoder's own `Invocation` does: the chunks in the Map beside
//! the sound, the join with the Map's results in order, a transient error retried, and a failing chunk reported as
//! the job's failure without a join.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::render_definition::assert_statelint_accepts;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use vidpipe_core::render::{PlannedChunk, RenderOutput};
use vidpipe_core::transcoder::chunked::ChunkedJob;
use vidpipe_core::transcoder::{ChunkProgress, FlowStep, Invocation};
use vidpipe_stepfn::{
    Execution, Interpreter, Outcome, StateMachine, TaskError, TaskInvoker, substitute,
};

const TRANSCODER: &str = "arn:aws:lambda:us-east-1:000000000000:function:vidpipe-transcoder";
const WORK: &str = "s3://media/streams/work/composite-1/";

fn definition_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines/transcode.asl.json")
}

fn machine() -> StateMachine {
    let values = HashMap::from([("TranscoderFunctionArn".to_owned(), TRANSCODER.to_owned())]);
    let text = std::fs::read_to_string(definition_path()).unwrap();
    StateMachine::from_json(&substitute(&text, &values).unwrap()).unwrap()
}

#[test]
fn the_transcode_definition_passes_statelint() {
    assert_statelint_accepts(&definition_path());
}

fn job() -> ChunkedJob {
    ChunkedJob {
        job_id: "composite-1".into(),
        user_metadata: BTreeMap::from([("stream".to_owned(), "s1".to_owned())]),
        request_uri: format!("{WORK}request.json"),
        media_uri: format!("{WORK}media.json"),
        output: RenderOutput {
            uri: "s3://media/streams/s1_composited.mp4".into(),
            width: 1280,
            height: 720,
            fps: 30,
            thumbnails: None,
        },
        total_frames: 300,
        max_concurrency: 40,
        chunks: (0..3)
            .map(|i| PlannedChunk {
                index: i,
                start_frame: u64::from(i) * 100,
                end_frame: u64::from(i + 1) * 100,
                output_uri: format!("{WORK}chunks/{i:05}.mp4"),
            })
            .collect(),
        soundtrack_uri: Some(format!("{WORK}soundtrack.m4a")),
        planning_cost_micro_usd: 40,
    }
}

/// The transcoder, answering as the function does; every invocation is kept, read as an `Invocation`.
#[derive(Default)]
struct FakeTranscoder {
    calls: Mutex<Vec<Invocation>>,
    failing_chunk: Option<u32>,
    throttles_left: AtomicU32,
}

impl FakeTranscoder {
    fn steps(&self) -> Vec<FlowStep> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter_map(|c| match c {
                Invocation::Flow(step) => Some(step.clone()),
                _ => None,
            })
            .collect()
    }

    fn chunks(&self) -> Vec<u32> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter_map(|c| match c {
                Invocation::Chunk {
                    chunk, progress, ..
                } => {
                    let job = job();
                    let of_the_job = ChunkProgress {
                        job_id: job.job_id,
                        user_metadata: job.user_metadata,
                        chunks: 3,
                    };
                    assert_eq!(
                        progress.as_ref(),
                        Some(&of_the_job),
                        "each chunk knows its job"
                    );
                    Some(chunk.index)
                }
                _ => None,
            })
            .collect()
    }
}

impl TaskInvoker for &'static FakeTranscoder {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        assert_eq!(resource, TRANSCODER);
        let invocation = Invocation::parse(&input)
            .unwrap_or_else(|e| panic!("the transcoder refuses {input}: {e}"));
        self.calls.lock().unwrap().push(invocation.clone());
        let answer = match invocation {
            Invocation::Chunk {
                chunk, output_uri, ..
            } => {
                if self.throttles_left.load(Ordering::SeqCst) > 0 {
                    self.throttles_left.fetch_sub(1, Ordering::SeqCst);
                    return Err(TaskError::new(
                        "Lambda.TooManyRequestsException",
                        "Rate exceeded",
                    ));
                }
                if Some(chunk.index) == self.failing_chunk {
                    return Err(TaskError::new(
                        "ChunkFailed",
                        "chunk 1: 1999: ffmpeg failed",
                    ));
                }
                json!({"output_uri": output_uri.to_string(), "cost_usd": 0.001})
            }
            Invocation::Flow(FlowStep::Soundtrack { job }) => {
                json!({"output_uri": job.soundtrack_uri, "cost_usd": 0.0005})
            }
            Invocation::Flow(FlowStep::Join { job, .. }) => {
                json!({"job_id": job.job_id, "status": "COMPLETE"})
            }
            Invocation::Flow(FlowStep::Failed { job, .. }) => {
                json!({"job_id": job.job_id, "status": "ERROR"})
            }
            other => panic!("the flow does not invoke {other:?}"),
        };
        Ok(answer)
    }
}

async fn execute(transcoder: FakeTranscoder) -> (&'static FakeTranscoder, Execution) {
    let transcoder: &'static FakeTranscoder = Box::leak(Box::new(transcoder));
    let execution = Interpreter::new("transcode", machine(), transcoder)
        .execute("composite-1", json!(job()))
        .await;
    (transcoder, execution)
}

#[tokio::test(start_paused = true)]
async fn chunks_render_beside_the_sound_then_the_join_gets_every_result_in_order() {
    let (transcoder, execution) = execute(FakeTranscoder {
        throttles_left: AtomicU32::new(2),
        ..Default::default()
    })
    .await;
    assert!(
        matches!(execution.outcome, Outcome::Succeeded { .. }),
        "{:?}",
        execution.outcome
    );
    let mut chunks = transcoder.chunks();
    chunks.sort_unstable();
    chunks.dedup();
    assert_eq!(chunks, vec![0, 1, 2], "every chunk, a throttled one again");
    let steps = transcoder.steps();
    assert!(
        matches!(&steps[..], [FlowStep::Soundtrack { job: j }, FlowStep::Join { .. }] if *j == job())
    );
    let FlowStep::Join {
        job: joined,
        rendered,
        soundtrack,
    } = &steps[1]
    else {
        unreachable!()
    };
    assert_eq!(*joined, job(), "the join reads the execution's input");
    let uris: Vec<_> = rendered
        .iter()
        .map(|r| r.output_uri.clone().unwrap())
        .collect();
    assert_eq!(
        uris,
        job()
            .chunks
            .iter()
            .map(|c| c.output_uri.clone())
            .collect::<Vec<_>>()
    );
    assert!(rendered.iter().all(|r| r.cost_usd == Some(0.001)));
    assert_eq!(soundtrack.output_uri, job().soundtrack_uri);
}

#[tokio::test(start_paused = true)]
async fn a_failing_chunk_is_reported_as_the_jobs_failure_and_nothing_is_joined() {
    let (transcoder, execution) = execute(FakeTranscoder {
        failing_chunk: Some(1),
        ..Default::default()
    })
    .await;
    let Outcome::Failed { error } = &execution.outcome else {
        panic!("{:?}", execution.outcome)
    };
    assert_eq!(error.error, "JobFailed");
    let steps = transcoder.steps();
    let failed: Vec<_> = steps
        .iter()
        .filter_map(|s| match s {
            FlowStep::Failed { job: j, error } => Some((j.clone(), error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{steps:?}");
    assert_eq!(failed[0].0, job());
    assert_eq!(failed[0].1.error, "ChunkFailed");
    assert!(
        failed[0].1.cause.contains("ffmpeg failed"),
        "{:?}",
        failed[0].1
    );
    assert!(!steps.iter().any(|s| matches!(s, FlowStep::Join { .. })));
}
