//! A long job in chunks, on moto: the job invocation lays a composite out and starts the transcode state machine
//! (moto's Step Functions), then the machine's steps run here in its order (the chunks, the sound, the join), and
//! the output is the whole job's, frame for frame, with one PROGRESSING and one COMPLETE event under the job's id.
//! A failed step reports the job in ERROR; a job of one chunk runs whole.

use std::time::Duration;

use serde_json::{Value, json};
use vidpipe_aws::stepfunctions::StepFunctionsRenders;
use vidpipe_core::job::{
    CompositeOptions, CompositeOutput, CreateJobRequest, JobContext, Recording, composite_job,
};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::transcoder::chunked::ChunkedJob;
use vidpipe_core::transcoder::{FlowError, FlowResult, FlowStep, Invocation};
use vidpipe_testkit::media::{
    self, Frame, Picture, VideoSpec, colour_close, mean_volume_db, read_frame_counter,
};
use vidpipe_testkit::moto::create_state_machine;
use vidpipe_transcoder::Transcoder;
use vidpipe_transcoder::flow::ChunkedFlow;

use crate::common::Stack;
use crate::handler::transcoder;

const SCREEN_KEY: &str = "streams/s1.webm";
const CAMERA_KEY: &str = "streams/s1_camera.webm";

/// A state machine on moto that only records its executions (moto does not run them): the steps run here.
async fn state_machine(stack: &Stack) -> (aws_sdk_sfn::Client, String) {
    let sfn = aws_sdk_sfn::Client::new(&stack.sdk);
    let definition = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../statemachines/transcode.asl.json"
    ))
    .unwrap();
    let arn = create_state_machine(&sfn, "transcode", &definition).await;
    (sfn, arn)
}

fn with_flow(
    stack: &Stack,
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
    chunk_seconds: u32,
) -> Transcoder {
    Transcoder {
        flow: Some(ChunkedFlow {
            executions: StepFunctionsRenders::new(sfn.clone(), arn),
            chunking: ChunkedFlow::chunking(chunk_seconds),
        }),
        memory_mb: Some(3538),
        canceled: None,
        ..transcoder(stack)
    }
}

/// The builder's composite of the uploaded screen (6 s, a frame counter and a tone) and a browser's camera
/// (Chromium's MediaRecorder, VP8), which starts 1 s after the screen.
async fn composite(stack: &Stack, transcoder: &Transcoder) -> CreateJobRequest {
    let dir = tempfile::tempdir().unwrap();
    let screen = dir.path().join("screen.webm");
    media::write_webm(
        &screen,
        &VideoSpec::new(Picture::FrameCounter, 640, 360, 30, 6.0).with_tone(440),
    );
    stack.upload(&screen, SCREEN_KEY).await;
    let camera = vidpipe_testkit::browser::recording("camera-vp8.webm");
    stack.upload(&camera.path, CAMERA_KEY).await;
    let mut recordings = Vec::new();
    for key in [SCREEN_KEY, CAMERA_KEY] {
        let uri = S3Uri::parse_str(&format!("{}{key}", stack.root())).unwrap();
        recordings.push(Recording {
            media: transcoder.engine.media_info(&uri).await.unwrap(),
            uri,
        });
    }
    composite_job(
        &JobContext {
            role: "arn:aws:iam::000000000000:role/mediaconvert".into(),
            queue: None,
        },
        &CompositeOutput::new(&stack.bucket, "streams/", "s1").unwrap(),
        &recordings[0],
        &recordings[1],
        &CompositeOptions {
            camera_offset_ms: 1_000,
            ..Default::default()
        },
    )
    .unwrap()
    .with_user_metadata(
        vidpipe_core::job::JobKind::Composite,
        &[("generation", "3".into())],
    )
}

/// The name and input of the state machine's only execution.
async fn the_execution(sfn: &aws_sdk_sfn::Client, arn: &str) -> (String, ChunkedJob) {
    let executions = sfn
        .list_executions()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(executions.executions().len(), 1);
    let execution = &executions.executions()[0];
    let described = sfn
        .describe_execution()
        .execution_arn(execution.execution_arn())
        .send()
        .await
        .unwrap();
    let input = serde_json::from_str(described.input().unwrap()).unwrap();
    (execution.name().to_owned(), input)
}

fn invocation(job: &CreateJobRequest) -> Value {
    Invocation::Job {
        job_id: job.client_request_token.clone().unwrap(),
        job: json!(job),
    }
    .to_json()
}

/// Runs the machine's steps as its definition orders them: every chunk (with its job's progress, as the Map's
/// `ItemSelector` gives it), the sound, the join.
async fn run_steps(transcoder: &Transcoder, job: &ChunkedJob) -> Value {
    let mut rendered = Vec::new();
    for chunk in &job.chunks {
        let progress = json!({"job_id": job.job_id, "user_metadata": job.user_metadata,
                              "chunks": job.chunks.len()});
        let payload = json!({"request_uri": job.request_uri, "media_uri": job.media_uri, "chunk": chunk,
                             "progress": progress});
        let answer = transcoder.handle(payload, None).await.unwrap();
        rendered.push(serde_json::from_value::<FlowResult>(answer).unwrap());
    }
    let sound = FlowStep::Soundtrack { job: job.clone() };
    let answer = transcoder
        .handle(Invocation::Flow(sound).to_json(), None)
        .await
        .unwrap();
    let soundtrack: FlowResult = serde_json::from_value(answer).unwrap();
    assert_eq!(
        soundtrack.output_uri, job.soundtrack_uri,
        "the screen has sound"
    );
    let join = FlowStep::Join {
        job: job.clone(),
        rendered,
        soundtrack,
    };
    transcoder
        .handle(Invocation::Flow(join).to_json(), None)
        .await
        .unwrap()
}

async fn download_output(stack: &Stack, dir: &std::path::Path) -> std::path::PathBuf {
    let local = stack.download("streams/", dir).await;
    std::path::PathBuf::from(format!("{local}s1_composited.mp4"))
}

#[tokio::test]
async fn a_long_composite_runs_in_chunks_and_comes_out_as_the_whole_jobs_output() {
    let stack = Stack::new().await;
    let (sfn, arn) = state_machine(&stack).await;
    let transcoder = with_flow(&stack, &sfn, &arn, 2);
    let job = composite(&stack, &transcoder).await;
    let job_id = job.client_request_token.clone().unwrap();

    let answer = transcoder.handle(invocation(&job), None).await.unwrap();
    assert_eq!(answer["status"], "PROGRESSING", "{answer}");
    // Lambda may run an asynchronous invocation twice: the execution, named after the job, starts once.
    transcoder.handle(invocation(&job), None).await.unwrap();
    let (name, chunked) = the_execution(&sfn, &arn).await;
    assert_eq!(name, job_id);
    assert_eq!(chunked.job_id, job_id);
    assert_eq!(chunked.total_frames, 180);
    assert!(chunked.chunks.len() >= 3, "{:?}", chunked.chunks);
    assert!(
        chunked
            .chunks
            .iter()
            .all(|c| c.end_frame - c.start_frame <= 60),
        "chunks of at most 2 s: {:?}",
        chunked.chunks
    );
    assert_eq!(chunked.user_metadata["generation"], "3");

    let work = format!("streams/work/{job_id}/");
    let stored = stack.keys(&work).await;
    assert!(
        stored.contains(&format!("{work}request.json")),
        "the job's work files: {stored:?}"
    );
    let answer = run_steps(&transcoder, &chunked).await;
    assert_eq!(answer, json!({"job_id": job_id, "status": "COMPLETE"}));
    assert_eq!(
        stack.keys("streams/").await,
        [
            "streams/s1.webm",
            "streams/s1_camera.webm",
            "streams/s1_composited.mp4"
        ],
        "the output beside the sources; the work files (request, probes, chunks, sound) removed"
    );
    let events = stack
        .job_events(
            std::slice::from_ref(&job_id),
            Duration::from_secs(30),
            String::new,
        )
        .await
        .remove(0);
    let statuses: Vec<_> = events
        .iter()
        .map(|e| e["detail"]["status"].as_str().unwrap())
        .collect();
    let chunks = chunked.chunks.len();
    let mut expected = vec!["PROGRESSING", "PROGRESSING"];
    expected.extend(vec!["STATUS_UPDATE"; chunks]);
    expected.push("COMPLETE");
    assert_eq!(
        statuses, expected,
        "a STATUS_UPDATE as each chunk is rendered"
    );
    let mut percents: Vec<_> = events[2..2 + chunks]
        .iter()
        .map(|e| {
            assert_eq!(e["detail"]["userMetadata"]["stream"], "s1");
            e["detail"]["jobProgress"]["jobPercentComplete"]
                .as_u64()
                .unwrap()
        })
        .collect();
    percents.sort_unstable();
    let counted: Vec<u64> = (1..=chunks as u64)
        .map(|n| 90 * n / chunks as u64)
        .collect();
    assert_eq!(percents, counted, "the rendered chunks counted, up to 90");
    let detail = &events[2 + chunks]["detail"];
    assert_eq!(detail["userMetadata"]["stream"], "s1");
    assert_eq!(detail["userMetadata"]["generation"], "3");
    let output = &detail["outputGroupDetails"][0]["outputDetails"][0];
    assert_eq!(output["durationInMs"], 6000);
    assert_eq!(
        output["outputFilePaths"][0],
        format!("{}streams/s1_composited.mp4", stack.root())
    );
    assert_eq!(output["videoDetails"]["widthInPx"], 640);
    let cost: u64 = detail["userMetadata"]["cost_lambda_micro_usd"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        cost > chunked.planning_cost_micro_usd,
        "every invocation counted: {cost}"
    );

    let dir = tempfile::tempdir().unwrap();
    let chunked_output = download_output(&stack, dir.path()).await;
    let camera = vidpipe_testkit::browser::recording("camera-vp8.webm");
    check_composite(&chunked_output, camera.colour.unwrap());

    // The same job run whole (chunks longer than the job): the same frames.
    let whole = with_flow(&stack, &sfn, &arn, 600);
    let answer = whole.handle(invocation(&job), None).await.unwrap();
    assert_eq!(
        answer["status"], "COMPLETE",
        "one chunk runs whole: {answer}"
    );
    let (name, _) = the_execution(&sfn, &arn).await;
    assert_eq!(
        name, job_id,
        "still the one execution: a job run whole starts none"
    );
    let whole_dir = tempfile::tempdir().unwrap();
    let whole_output = download_output(&stack, whole_dir.path()).await;
    check_composite(&whole_output, camera.colour.unwrap());
}

/// Every frame shows its own index (frame-exact joins), the camera's colour in its corner from 1 s to 5 s and the
/// screen's black there otherwise, and the screen's tone throughout.
fn check_composite(path: &std::path::Path, camera_colour: [u8; 3]) {
    let frames = Frame::all(path);
    assert_eq!(frames.len(), 180, "{}", path.display());
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(read_frame_counter(frame) as usize, index, "frame {index}");
    }
    let corner = |frame: &Frame| frame.pixel(590, 320);
    for index in [15, 25] {
        assert!(
            colour_close(corner(&frames[index]), [0, 0, 0], 24),
            "{index}: {:?}",
            corner(&frames[index])
        );
    }
    for index in [35, 59, 60, 90, 140] {
        assert!(
            colour_close(corner(&frames[index]), camera_colour, 48),
            "{index}: {:?}",
            corner(&frames[index])
        );
    }
    assert!(mean_volume_db(path, 0.2, 5.5) > -30.0, "the screen's tone");
}

#[tokio::test]
async fn a_failed_step_reports_the_job_in_error() {
    let stack = Stack::new().await;
    let (sfn, arn) = state_machine(&stack).await;
    let transcoder = with_flow(&stack, &sfn, &arn, 2);
    let job = composite(&stack, &transcoder).await;
    transcoder.handle(invocation(&job), None).await.unwrap();
    let (_, chunked) = the_execution(&sfn, &arn).await;
    // A join before its chunks were rendered is the assembler's ChunkMissing, which the machine catches.
    let join = FlowStep::Join {
        job: chunked.clone(),
        rendered: Vec::new(),
        soundtrack: FlowResult {
            output_uri: None,
            cost_usd: None,
        },
    };
    let error = transcoder
        .handle(Invocation::Flow(join).to_json(), None)
        .await
        .unwrap_err();
    assert_eq!(
        vidpipe_lambda::ErrorType::error_type(&error),
        "ChunkMissing",
        "{error}"
    );
    let failed = FlowStep::Failed {
        job: chunked.clone(),
        error: FlowError {
            error: "ChunkMissing".into(),
            cause: error.to_string(),
        },
    };
    let answer = transcoder
        .handle(Invocation::Flow(failed).to_json(), None)
        .await
        .unwrap();
    assert_eq!(answer["status"], "ERROR");
    let events = stack
        .job_events(
            std::slice::from_ref(&chunked.job_id),
            Duration::from_secs(30),
            String::new,
        )
        .await
        .remove(0);
    let last = &events.last().unwrap()["detail"];
    assert_eq!(last["status"], "ERROR");
    assert_eq!(last["errorCode"], 1999);
    assert!(
        last["errorMessage"]
            .as_str()
            .unwrap()
            .contains("ChunkMissing"),
        "{last}"
    );
    assert_eq!(last["userMetadata"]["stream"], "s1");
    let work = format!("streams/work/{}/", chunked.job_id);
    assert_eq!(
        stack.keys(&work).await,
        [format!("{work}media.json"), format!("{work}request.json")],
        "a failed job's work files stay"
    );
}
