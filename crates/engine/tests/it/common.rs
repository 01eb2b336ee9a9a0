//! Helpers shared by the engine's integration tests.

use serde_json::{Value, json};
use vidpipe_engine::{Engine, Job, JobObserver, Storage};
pub use vidpipe_testkit::media::decoded_frames;

/// Records every job change and event.
#[derive(Debug, Default)]
pub struct Recorder {
    pub jobs: Vec<Job>,
    pub events: Vec<Value>,
}

impl JobObserver for Recorder {
    fn job_changed(&mut self, job: &Job) {
        self.jobs.push(job.clone());
    }
    fn event(&mut self, event: &Value) {
        self.events.push(event.clone());
    }
}

/// Runs `request` on a local-only engine.
pub async fn run_local(request: &Value) -> (Job, Recorder) {
    run_with(&Engine::new(Storage::local()), request).await
}

/// Runs `request` on `engine`.
pub async fn run_with(engine: &Engine, request: &Value) -> (Job, Recorder) {
    let mut recorder = Recorder::default();
    let job = engine.run(request, &mut recorder).await;
    (job, recorder)
}

/// An H.264/AAC MP4 file output (QVBR 10 so pixel samples stay close to the source).
pub fn mp4_output(modifier: Option<&str>, audio: bool) -> Value {
    let mut output = json!({
        "ContainerSettings": {"Container": "MP4"},
        "VideoDescription": {"CodecSettings": {"Codec": "H_264", "H264Settings": {
            "RateControlMode": "QVBR", "MaxBitrate": 20000000, "QvbrSettings": {"QvbrQualityLevel": 10}}}}
    });
    if let Some(m) = modifier {
        output["NameModifier"] = json!(m);
    }
    if audio {
        output["AudioDescriptions"] = json!([{"CodecSettings": {"Codec": "AAC", "AacSettings": {
            "Bitrate": 96000, "CodingMode": "CODING_MODE_2_0", "SampleRate": 48000}}}]);
    }
    output
}

/// A job with `inputs` and one FILE_GROUP of `outputs` at `destination`.
pub fn file_job(inputs: Value, destination: &str, outputs: Value) -> Value {
    json!({
        "Role": "arn:aws:iam::000000000000:role/MediaConvert",
        "UserMetadata": {"test": "engine"},
        "Settings": {
            "Inputs": inputs,
            "OutputGroups": [{
                "OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS", "FileGroupSettings": {"Destination": destination}},
                "Outputs": outputs
            }]
        }
    })
}

/// The COMPLETE event's first output file path.
pub fn first_output(events: &[Value]) -> String {
    let complete = events.last().expect("events");
    assert_eq!(
        complete["detail"]["status"], "COMPLETE",
        "job did not complete: {complete}"
    );
    complete["detail"]["outputGroupDetails"][0]["outputDetails"][0]["outputFilePaths"][0]
        .as_str()
        .expect("an output path")
        .to_string()
}

/// Asserts the job completed.
pub fn assert_complete(job: &Job) {
    assert_eq!(
        job.status,
        vidpipe_engine::JobStatus::Complete,
        "job failed: {:?} {:?}",
        job.error_code,
        job.error_message
    );
}
