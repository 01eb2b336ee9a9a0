//! `statemachines/render.asl.json`: statelint accepts it, and the local interpreter runs its data flow with the real
//! chunker and job-builder handlers and fakes for the video probe, MediaConvert, the assembler, the notifier and a
//! custom renderer: the happy path (the probe results reach every chunk job, inline or by URI), transient errors
//! retried, a failing chunk, an invalid request, and the custom renderer path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use vidpipe_core::job::{FrameRate, JobContext, MediaInfo};
use vidpipe_core::render::ports::{
    FetchError, HeaderReader, PutError, RequestReader, RequestWriter, VideoProbeError, VideoProber,
};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_stepfn::{
    Execution, Interpreter, Outcome, StateMachine, TaskError, TaskInvoker, substitute,
};

const CHUNKER: &str = "arn:aws:lambda:us-east-1:000000000000:function:vidpipe-chunker";
const JOB_BUILDER: &str = "arn:aws:lambda:us-east-1:000000000000:function:vidpipe-job-builder";
const ASSEMBLER: &str = "arn:aws:lambda:us-east-1:000000000000:function:vidpipe-assembler";
const NOTIFIER: &str = "arn:aws:lambda:us-east-1:000000000000:function:vidpipe-notifier";
const RENDERER: &str = "arn:aws:lambda:us-east-1:000000000000:function:custom-renderer";
const CREATE_JOB_SYNC: &str = "arn:aws:states:::mediaconvert:createJob.sync";
const EXECUTION: &str = "arn:aws:states:local:000000000000:execution:render:promo-42-run";
const QUEUE: &str = "arn:aws:mediaconvert:us-east-1:000000000000:queues/Default";

fn definition_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines/render.asl.json")
}

fn machine() -> StateMachine {
    let values = HashMap::from([
        ("ChunkerFunctionArn".to_owned(), CHUNKER.to_owned()),
        ("JobBuilderFunctionArn".to_owned(), JOB_BUILDER.to_owned()),
        ("AssemblerFunctionArn".to_owned(), ASSEMBLER.to_owned()),
        ("NotifierFunctionArn".to_owned(), NOTIFIER.to_owned()),
        ("MediaConvertQueueArn".to_owned(), QUEUE.to_owned()),
    ]);
    let text = std::fs::read_to_string(definition_path()).unwrap();
    StateMachine::from_json(&substitute(&text, &values).unwrap()).unwrap()
}

#[test]
fn the_render_definition_passes_statelint() {
    assert_statelint_accepts(&definition_path());
}

/// Fails unless AWS's statelint (in the venv) accepts the definition at `path`.
pub fn assert_statelint_accepts(path: &Path) {
    let statelint = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/statelint");
    let result = Command::new(&statelint)
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} could not run ({e}): run scripts/setup.sh",
                statelint.display()
            )
        });
    assert!(
        result.status.success(),
        "statelint rejects {}: {}{}",
        path.display(),
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Render requests stored in memory.
#[derive(Default)]
struct MemoryStore(Mutex<HashMap<String, Vec<u8>>>);

impl RequestReader for MemoryStore {
    async fn fetch(&self, uri: &S3Uri, _limit: u64) -> Result<Vec<u8>, FetchError> {
        self.0
            .lock()
            .unwrap()
            .get(&uri.to_string())
            .cloned()
            .ok_or_else(|| FetchError::NotFound(uri.clone()))
    }
}

impl HeaderReader for MemoryStore {
    /// Every image's header is a 600x400 PNG's.
    async fn fetch_header(&self, _uri: &S3Uri, len: u64) -> Result<Vec<u8>, FetchError> {
        let mut header = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        header.extend_from_slice(&600u32.to_be_bytes());
        header.extend_from_slice(&400u32.to_be_bytes());
        header.truncate(len as usize);
        Ok(header)
    }
}

impl RequestWriter for MemoryStore {
    async fn put(&self, uri: &S3Uri, json: Vec<u8>) -> Result<(), PutError> {
        self.0.lock().unwrap().insert(uri.to_string(), json);
        Ok(())
    }
}

/// A video probe that finds every video 1280x720 at 24 fps, 200 s long.
struct FixedProber;

impl VideoProber for FixedProber {
    async fn probe(&self, _uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        Ok(MediaInfo {
            width: 1280,
            height: 720,
            duration_ms: Some(200_000),
            frame_rate: Some(FrameRate::per_second(24)),
            has_audio: true,
            rotation: 0,
        })
    }
}

/// The real chunker and job-builder; fakes for the rest, recording every call.
#[derive(Default)]
struct Flow {
    store: MemoryStore,
    calls: Mutex<Vec<(String, Value)>>,
    /// The chunk whose MediaConvert job ends in ERROR.
    failing_chunk: Option<u64>,
    /// Throttling errors the job-builder raises before it answers.
    throttles_left: AtomicU32,
    /// Where the custom renderer claims to write, if not where it was told.
    renderer_writes_to: Option<String>,
    /// Whether the notifier fails every phase report.
    phase_reports_fail: bool,
}

impl Flow {
    /// The render results the notifier was sent (its phase reports aside).
    fn results(&self) -> Vec<Value> {
        self.calls_to(NOTIFIER)
            .into_iter()
            .filter(|c| c.get("render_result").is_some())
            .collect()
    }

    /// The phases reported to the notifier, in order, with their `chunks_total`.
    fn phases(&self) -> Vec<Value> {
        self.calls_to(NOTIFIER)
            .into_iter()
            .filter_map(|c| c.get("render_phase").cloned())
            .collect()
    }

    fn calls_to(&self, resource: &str) -> Vec<Value> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(r, _)| r == resource)
            .map(|(_, input)| input.clone())
            .collect()
    }
}

/// A function's error as the task's named error.
fn task_error(error: &(impl vidpipe_lambda::ErrorType + std::fmt::Display)) -> TaskError {
    let diagnostic = vidpipe_lambda::diagnostic(error);
    TaskError::new(diagnostic.error_type, diagnostic.error_message)
}

impl TaskInvoker for &'static Flow {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        self.calls
            .lock()
            .unwrap()
            .push((resource.to_owned(), input.clone()));
        match resource {
            CHUNKER => vidpipe_chunker::plan(
                input,
                &self.store,
                &FixedProber,
                &vidpipe_chunker::RenderLimits::default(),
                &vidpipe_core::render::scope::RenderScope {
                    renderer_arns: vec![RENDERER.to_owned()],
                    export_renderer: None,
                    ..Default::default()
                },
            )
            .await
            .map(|plan| serde_json::to_value(plan).unwrap())
            .map_err(|e| task_error(&e)),
            JOB_BUILDER => {
                if self.throttles_left.load(Ordering::SeqCst) > 0 {
                    self.throttles_left.fetch_sub(1, Ordering::SeqCst);
                    return Err(TaskError::new(
                        "Lambda.TooManyRequestsException",
                        "Rate exceeded",
                    ));
                }
                let context = JobContext {
                    role: "arn:aws:iam::000000000000:role/mediaconvert".into(),
                    queue: None,
                };
                vidpipe_job_builder::build(input, &context, &self.store)
                    .await
                    .map(|output| serde_json::to_value(output).unwrap())
                    .map_err(|e| task_error(&e))
            }
            CREATE_JOB_SYNC => {
                let chunk = input["UserMetadata"]["chunk_index"]
                    .as_str()
                    .unwrap_or_default()
                    .parse::<u64>()
                    .ok();
                if chunk.is_some() && chunk == self.failing_chunk {
                    return Err(TaskError::new(
                        "States.TaskFailed",
                        "job 1-abc: 1010 input file not found",
                    ));
                }
                Ok(
                    json!({"Job": {"Id": format!("job-{}", chunk.unwrap_or(99)), "Status": "COMPLETE"}}),
                )
            }
            RENDERER => Ok(json!({"output_uri": self.renderer_writes_to.clone()
                .unwrap_or_else(|| input["chunk"]["output_uri"].as_str().unwrap().to_owned())})),
            ASSEMBLER if input["action"] == "mix" => {
                Ok(json!({"soundtrack_uri": input["output_uri"], "duration_ms": 99_500}))
            }
            ASSEMBLER => Ok(
                json!({"output_uri": input["output"]["uri"], "frames": input["total_frames"],
                                   "duration_ms": 99_500}),
            ),
            NOTIFIER if input.get("render_phase").is_some() && self.phase_reports_fail => Err(
                TaskError::new("StatusStoreUnavailable", "the table is down"),
            ),
            NOTIFIER => Ok(json!({"render_id": input["render_result"]["render_id"],
                                  "status": input["render_result"]["status"]})),
            other => Err(TaskError::new("Test.UnknownResource", other)),
        }
    }
}

fn request() -> Value {
    json!({
        "render_id": "promo-42",
        "output": {"uri": "s3://vidpipe-renders/renders/promo-42.mp4", "width": 640, "height": 360, "fps": 30},
        "scenes": [
            {"id": "intro", "duration_s": 4.0, "image": "s3://vidpipe-renders/assets/title.png"},
            {"id": "demo", "duration_s": 95.5, "video": "s3://vidpipe-renders/assets/demo.mp4", "start_s": 12.0,
             "overlay": {"image": "s3://vidpipe-renders/assets/product.png", "x": "right", "y": "bottom",
                         "scale": 0.3, "fade_ms": 500}}
        ],
        "soundtrack": {"voiceover": "s3://vidpipe-renders/assets/vo.mp3"},
        "chunking": {"max_chunk_s": 60, "min_chunk_s": 10, "max_concurrency": 4}
    })
}

async fn execute(flow: Flow, input: Value) -> (&'static Flow, Execution) {
    let flow: &'static Flow = Box::leak(Box::new(flow));
    let execution = Interpreter::new("render", machine(), flow)
        .execute("promo-42-run", input)
        .await;
    (flow, execution)
}

#[tokio::test(start_paused = true)]
async fn chunks_render_on_mediaconvert_beside_the_mix_then_join_and_notify_ready() {
    let flow = Flow {
        throttles_left: AtomicU32::new(2),
        ..Flow::default()
    };
    let (flow, execution) = execute(flow, json!({"request": request()})).await;
    let Outcome::Succeeded { output } = &execution.outcome else {
        panic!("{:?}", execution.outcome)
    };
    assert_eq!(
        output,
        &json!({"render_id": "promo-42", "status": "ready", "output_uri": "s3://vidpipe-renders/renders/promo-42.mp4",
                "frames": 2985, "duration_ms": 99_500})
    );

    // The chunker hears the execution's name, which names the work folder every chunk job writes to.
    assert_eq!(flow.calls_to(CHUNKER)[0]["execution"], "promo-42-run");
    let mut destinations: Vec<String> = flow
        .calls_to(JOB_BUILDER)
        .iter()
        .map(|call| call["output_uri"].as_str().unwrap().to_owned())
        .collect();
    destinations.sort();
    destinations.dedup();
    assert_eq!(
        destinations,
        ["00000", "00001"]
            .map(|i| format!("s3://vidpipe-renders/renders/work/promo-42-run/chunks/{i}.mp4"))
    );

    // Two throttled job-builder calls were retried: four calls for two chunks.
    assert_eq!(flow.calls_to(JOB_BUILDER).len(), 4);
    let jobs = flow.calls_to(CREATE_JOB_SYNC);
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_eq!(job["Queue"], QUEUE);
        assert_eq!(job["Role"], "arn:aws:iam::000000000000:role/mediaconvert");
        assert!(job["Settings"]["Inputs"].is_array() && job["ClientRequestToken"].is_string());
    }
    assert_probed_media_reached_the_jobs(&jobs);
    let mut mix = flow.calls_to(ASSEMBLER)[0].clone();
    // The mix reads the video scenes' own sound from the request the plan carries.
    let request = mix.as_object_mut().unwrap().remove("request").unwrap();
    assert_eq!(request["render_id"], "promo-42");
    assert_eq!(
        mix,
        json!({"action": "mix", "render_id": "promo-42", "soundtrack": {"voiceover": "s3://vidpipe-renders/assets/vo.mp3"},
                "total_frames": 2985, "fps": 30, "output_uri": "s3://vidpipe-renders/renders/work/promo-42-run/soundtrack.m4a",
                "request_uri": null})
    );
    let assemble = flow
        .calls_to(ASSEMBLER)
        .into_iter()
        .find(|c| c["action"] == "assemble")
        .unwrap();
    assert_eq!(
        assemble["soundtrack_uri"],
        "s3://vidpipe-renders/renders/work/promo-42-run/soundtrack.m4a"
    );
    assert_eq!(assemble["total_frames"], 2985);
    assert_eq!(
        assemble["chunks"],
        json!([{"index": 0, "start_frame": 0, "end_frame": 1493,
                "output_uri": "s3://vidpipe-renders/renders/work/promo-42-run/chunks/00000.mp4"},
               {"index": 1, "start_frame": 1493, "end_frame": 2985,
                "output_uri": "s3://vidpipe-renders/renders/work/promo-42-run/chunks/00001.mp4"}])
    );
    assert_eq!(
        flow.results(),
        vec![
            json!({"render_result": {"render_id": "promo-42", "status": "ready",
                                       "output_uri": "s3://vidpipe-renders/renders/promo-42.mp4", "frames": 2985,
                                       "duration_ms": 99_500, "execution": EXECUTION}})
        ]
    );
    assert_eq!(
        flow.phases(),
        vec![
            json!({"render_id": "promo-42-run", "phase": "planning"}),
            json!({"render_id": "promo-42", "phase": "rendering", "chunks_total": 2}),
            json!({"render_id": "promo-42", "phase": "assembling"}),
            json!({"render_id": "promo-42", "phase": "notifying"}),
        ],
        "each step is reported as the render enters it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_phase_report_that_fails_never_fails_the_render() {
    let flow = Flow {
        phase_reports_fail: true,
        ..Flow::default()
    };
    let (flow, execution) = execute(flow, json!({"request": request()})).await;
    assert!(
        matches!(execution.outcome, Outcome::Succeeded { .. }),
        "{:?}",
        execution.outcome
    );
    assert_eq!(flow.results()[0]["render_result"]["status"], "ready");
    assert_eq!(flow.phases().len(), 4);
}

/// The chunk jobs of `request()` use the chunker's probe results: the overlay placed by its 600x400 size, and the
/// 24 fps video clipped in its own frames.
fn assert_probed_media_reached_the_jobs(jobs: &[Value]) {
    for job in jobs {
        let overlay = &job["Settings"]["OutputGroups"][0]["Outputs"][0]["VideoDescription"]["VideoPreprocessors"]
            ["ImageInserter"]["InsertableImages"][0];
        assert_eq!(
            overlay["ImageInserterInput"], "s3://vidpipe-renders/assets/product.png",
            "{job}"
        );
        // 0.3 of 640 is 192 wide, 128 high at 600x400, 18 (3 % rounded down to even) from the right and bottom.
        assert_eq!(
            [
                &overlay["Width"],
                &overlay["Height"],
                &overlay["ImageX"],
                &overlay["ImageY"]
            ],
            [192, 128, 430, 214]
        );
    }
    // Chunk 1 starts 1,373 output frames into the demo scene: 1,098 frames at 24 fps after its start (12 s),
    // source frame 1,386, 57 s and 18 frames (at 30 fps it would be 00:00:57:23).
    let chunk_1 = jobs
        .iter()
        .find(|job| job["UserMetadata"]["chunk_index"] == "1")
        .unwrap();
    assert_eq!(
        chunk_1["Settings"]["Inputs"][0]["InputClippings"][0]["StartTimecode"],
        "00:00:57:18"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_by_uri_sends_its_probe_results_by_uri_to_every_chunk_job() {
    let flow = Flow::default();
    let request_uri = "s3://vidpipe-renders/requests/promo-42.json";
    flow.store
        .0
        .lock()
        .unwrap()
        .insert(request_uri.into(), serde_json::to_vec(&request()).unwrap());
    let (flow, execution) = execute(flow, json!({"request_uri": request_uri})).await;
    assert!(
        matches!(execution.outcome, Outcome::Succeeded { .. }),
        "{:?}",
        execution.outcome
    );
    let media_uri = "s3://vidpipe-renders/renders/work/promo-42-run/media.json";
    for call in flow.calls_to(JOB_BUILDER) {
        assert_eq!(call["media_uri"], media_uri);
        assert_eq!(call["media"], Value::Null);
        assert_eq!(call["request_uri"], request_uri);
    }
    assert!(flow.store.0.lock().unwrap().contains_key(media_uri));
    assert_probed_media_reached_the_jobs(&flow.calls_to(CREATE_JOB_SYNC));
}

#[tokio::test(start_paused = true)]
async fn a_failing_chunk_is_reported_as_failed_with_its_cause() {
    let flow = Flow {
        failing_chunk: Some(1),
        ..Flow::default()
    };
    let (flow, execution) = execute(flow, json!({"request": request()})).await;
    let Outcome::Failed { error } = &execution.outcome else {
        panic!("{:?}", execution.outcome)
    };
    assert_eq!(error.error, "States.TaskFailed");
    assert!(
        error.cause.contains("1010 input file not found"),
        "{}",
        error.cause
    );
    assert!(
        flow.calls_to(ASSEMBLER)
            .iter()
            .all(|c| c["action"] != "assemble"),
        "nothing is assembled"
    );
    assert_eq!(
        flow.results(),
        vec![
            json!({"render_result": {"render_id": "promo-42", "status": "failed",
                     "error": {"error": "States.TaskFailed", "cause": "job 1-abc: 1010 input file not found"},
                     "execution": EXECUTION}})
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_invalid_request_is_reported_under_the_execution_name() {
    let mut bad = request();
    bad["output"]["width"] = json!(641);
    let (flow, execution) = execute(Flow::default(), json!({"request": bad})).await;
    let Outcome::Failed { error } = &execution.outcome else {
        panic!("{:?}", execution.outcome)
    };
    assert_eq!(error.error, "InvalidRenderRequest");
    let notified = &flow.results()[0]["render_result"];
    assert_eq!(notified["render_id"], "promo-42-run");
    assert_eq!(notified["status"], "failed");
    assert!(
        notified["error"]["cause"]
            .as_str()
            .unwrap()
            .contains("output.width"),
        "{notified}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_custom_renderer_renders_every_chunk_from_the_stored_request() {
    let mut custom = request();
    custom["renderer"] = json!({"lambda": RENDERER});
    let (flow, execution) = execute(Flow::default(), json!({"request": custom.clone()})).await;
    assert!(
        matches!(execution.outcome, Outcome::Succeeded { .. }),
        "{:?}",
        execution.outcome
    );
    assert!(flow.calls_to(JOB_BUILDER).is_empty() && flow.calls_to(CREATE_JOB_SYNC).is_empty());
    let renders = flow.calls_to(RENDERER);
    assert_eq!(renders.len(), 2);
    for (index, call) in renders.iter().enumerate() {
        assert_eq!(
            call["request_uri"],
            "s3://vidpipe-renders/renders/work/promo-42-run/request.json"
        );
        assert_eq!(call["chunk"]["index"], index);
        assert_eq!(
            call["media_uri"], "s3://vidpipe-renders/renders/work/promo-42-run/media.json",
            "the sources' probe results, stored beside the request"
        );
        assert_eq!(
            call.as_object().unwrap().len(),
            3,
            "the renderer gets {{request_uri, media_uri, chunk}}: {call}"
        );
    }
    let stored =
        flow.store.0.lock().unwrap()["s3://vidpipe-renders/renders/work/promo-42-run/request.json"]
            .clone();
    assert_eq!(
        serde_json::from_slice::<Value>(&stored).unwrap()["scenes"][1]["id"],
        "demo"
    );

    // A renderer that writes elsewhere fails the render: the join reads the planned locations.
    let flow = Flow {
        renderer_writes_to: Some("s3://elsewhere/x.mp4".into()),
        ..Flow::default()
    };
    let (flow, execution) = execute(flow, json!({"request": custom})).await;
    let Outcome::Failed { error } = &execution.outcome else {
        panic!("{:?}", execution.outcome)
    };
    assert_eq!(error.error, "ChunkMisplaced");
    assert_eq!(
        flow.results()[0]["render_result"]["error"]["error"],
        "ChunkMisplaced"
    );
}
