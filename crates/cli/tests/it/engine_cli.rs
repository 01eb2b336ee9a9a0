//! `vidpipe engine run` and `vidpipe engine probe` on generated media.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use vidpipe_testkit::media::{self, Picture, VideoSpec};

fn vidpipe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vidpipe"))
        .args(args)
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run vidpipe")
}

fn job(input: &Path, destination: &str) -> Value {
    json!({
        "Role": "arn:aws:iam::000000000000:role/MediaConvert",
        "Settings": {
            "Inputs": [{"FileInput": input.display().to_string()}],
            "OutputGroups": [{
                "OutputGroupSettings": {"Type": "FILE_GROUP_SETTINGS", "FileGroupSettings": {"Destination": destination}},
                "Outputs": [{"ContainerSettings": {"Container": "MP4"},
                    "VideoDescription": {"CodecSettings": {"Codec": "H_264",
                        "H264Settings": {"RateControlMode": "QVBR", "MaxBitrate": 1000000}}}}]
            }]
        }
    })
}

#[test]
fn run_prints_progress_and_the_final_event_and_appends_events() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mp4");
    media::write_mp4(
        &input,
        &VideoSpec::new(Picture::Solid("red".into()), 320, 180, 10, 2.0),
    );
    let job_file = dir.path().join("job.json");
    let destination = format!("{}/out/", dir.path().display());
    std::fs::write(&job_file, job(&input, &destination).to_string()).unwrap();
    let events = dir.path().join("events.jsonl");
    let out = vidpipe(&[
        "engine",
        "run",
        job_file.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Progressing") && stderr.contains("Complete"),
        "{stderr}"
    );
    let event: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["detail"]["status"], "COMPLETE");
    let path = format!("{destination}in.mp4");
    assert_eq!(
        event["detail"]["outputGroupDetails"][0]["outputDetails"][0]["outputFilePaths"][0],
        path.as_str()
    );
    assert!((media::probe(Path::new(&path)).duration - 2.0).abs() < 0.2);
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.first().unwrap()["detail"]["status"], "PROGRESSING");
    assert_eq!(lines.last().unwrap(), &event);
}

#[test]
fn run_exits_non_zero_with_the_error_event_for_a_missing_input() {
    let dir = tempfile::tempdir().unwrap();
    let job_file = dir.path().join("job.json");
    std::fs::write(
        &job_file,
        job(
            &dir.path().join("missing.mp4"),
            &format!("{}/out/", dir.path().display()),
        )
        .to_string(),
    )
    .unwrap();
    let out = vidpipe(&["engine", "run", job_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let event: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["detail"]["status"], "ERROR");
    assert_eq!(event["detail"]["errorCode"], 1010);
}

#[test]
fn probe_prints_the_probe_response() {
    let dir = tempfile::tempdir().unwrap();
    let camera = dir.path().join("camera.webm");
    media::write_webm(
        &camera,
        &VideoSpec::new(Picture::Solid("red".into()), 640, 360, 10, 1.0).with_tone(440),
    );
    let out = vidpipe(&["engine", "probe", camera.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    let container = &response["ProbeResults"][0]["Container"];
    assert_eq!(container["Format"], "webm");
    assert_eq!(container["Tracks"][0]["Codec"], "VP8");
    assert_eq!(container["Tracks"][0]["VideoProperties"]["Height"], 360);
    assert_eq!(container["Tracks"][1]["Codec"], "OPUS");
    assert_eq!(container["Tracks"][1]["AudioProperties"]["Channels"], 2);
    assert_eq!(
        response["ProbeResults"][0]["Metadata"]["MimeType"],
        "video/webm"
    );
}
