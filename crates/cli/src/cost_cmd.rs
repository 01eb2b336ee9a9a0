//! `vidpipe cost`: what a job that ran costs on each backend, by the one rule (`vidpipe_core::cost`): MediaConvert
//! from the job's document and the length of its outputs, the ffmpeg engine on Lambda from the CPU time it took.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};
use vidpipe_core::cost::{
    JobRate, LAMBDA_MB_PER_VCPU, job_rate, lambda_cost_micro_usd, lambda_duration_ms,
};
use vidpipe_core::job::CreateJobRequest;
use vidpipe_core::jobevent::{JobState, JobStateChange};

/// `vidpipe cost` arguments.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// The CreateJob request JSON file (PascalCase) the job ran.
    #[arg(long)]
    job: PathBuf,
    /// The job's COMPLETE event (what `vidpipe engine run` prints): its outputs' length is what is billed.
    #[arg(long, required_unless_present = "output_ms")]
    event: Option<PathBuf>,
    /// The billed output length in ms, instead of an event: a render's, whose chunk jobs all have the job's rate
    /// (what `vidpipe render` prints as `duration_ms`).
    #[arg(long, conflicts_with = "event")]
    output_ms: Option<u64>,
    /// CPU seconds (user + system) the engine took for the job, to price it on Lambda.
    #[arg(long)]
    cpu_seconds: Option<f64>,
    /// The Lambda function's memory size in MB (CPU is allocated in proportion: 1769 MB is one vCPU).
    #[arg(long, default_value_t = 3538)]
    memory_mb: u64,
}

/// Why the figures cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Neither an event nor an output length says what is billed.
    #[error("pass --event or --output-ms: the output's length is what is billed")]
    NoLength,
    /// A file is not what it should be.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The figures as JSON: the output's length, MediaConvert's cost and, with CPU seconds, Lambda's.
pub fn run(args: &CostArgs) -> Result<Value, CostError> {
    let job: CreateJobRequest = read_json(&args.job)?;
    // A job vidpipe built carries its rate (with its source's frame rate); another is rated from its document.
    let rate = job
        .user_metadata
        .as_ref()
        .and_then(JobRate::from_metadata)
        .unwrap_or_else(|| job_rate(&job, None));
    let output_ms = match (&args.event, args.output_ms) {
        (Some(event), _) => output_ms(event)?,
        (None, Some(ms)) => ms,
        (None, None) => return Err(CostError::NoLength),
    };
    let minutes = output_ms as f64 / 60_000.0;
    let mediaconvert = rate.cost(output_ms);
    let mut figures = json!({
        "output_ms": output_ms,
        "mediaconvert": {
            "rate_usd_per_timeline_minute": rate.micro_usd_per_minute as f64 / 1e6,
            "outputs": rate.outputs,
            "cost": mediaconvert.to_json(),
            "usd_per_output_minute": mediaconvert.usd() / minutes,
        },
    });
    if let Some(cpu_seconds) = args.cpu_seconds.filter(|s| s.is_finite() && *s >= 0.0) {
        let cpu_ms = (cpu_seconds * 1000.0).round() as u64;
        let billed_ms = lambda_duration_ms(cpu_ms, args.memory_mb);
        let micro_usd = lambda_cost_micro_usd(billed_ms, args.memory_mb);
        figures["lambda_arm64"] = json!({
            "memory_mb": args.memory_mb,
            "vcpus": args.memory_mb as f64 / LAMBDA_MB_PER_VCPU as f64,
            "cpu_seconds": cpu_seconds,
            "billed_ms": billed_ms,
            "estimated_usd": micro_usd as f64 / 1e6,
            "usd_per_output_minute": micro_usd as f64 / 1e6 / minutes,
        });
    }
    Ok(figures)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T, CostError> {
    let text = std::fs::read_to_string(path).map_err(|source| CostError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| CostError::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })
}

/// The longest output's length in a COMPLETE event (every output of a job lasts its timeline).
fn output_ms(path: &PathBuf) -> Result<u64, CostError> {
    let invalid = |reason: String| CostError::Invalid {
        path: path.clone(),
        reason,
    };
    let event =
        JobStateChange::from_eventbridge(read_json(path)?).map_err(|e| invalid(e.to_string()))?;
    let JobState::Complete {
        output_group_details,
    } = &event.detail.state
    else {
        return Err(invalid(format!(
            "the job ended {}, not COMPLETE",
            event.detail.state.name()
        )));
    };
    output_group_details
        .iter()
        .flat_map(|g| &g.output_details)
        .filter_map(|o| o.duration_in_ms)
        .max()
        .ok_or_else(|| invalid("no output has a durationInMs".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_of_720p_is_priced_on_both_backends() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("job.json");
        std::fs::write(
            &job,
            r#"{"Role": "r", "Settings": {"OutputGroups": [{"Outputs": [{"VideoDescription":
                {"Width": 1280, "Height": 720}, "AudioDescriptions": [{}]}]}]}}"#,
        )
        .unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"version": "0", "id": "e", "detail-type": "MediaConvert Job State Change",
                "source": "aws.mediaconvert", "account": "1", "time": "2026-12-07T00:00:00Z",
                "region": "us-east-1", "resources": [],
                "detail": {"timestamp": 1, "jobId": "j", "status": "COMPLETE", "userMetadata": {},
                  "outputGroupDetails": [{"outputDetails": [{"durationInMs": 60000}]}]}}"#,
        )
        .unwrap();
        let figures = run(&CostArgs {
            job: job.clone(),
            event: Some(event.clone()),
            output_ms: None,
            cpu_seconds: Some(30.0),
            memory_mb: 1769,
        })
        .unwrap();
        assert_eq!(figures["output_ms"], 60_000);
        assert_eq!(figures["mediaconvert"]["usd_per_output_minute"], 0.015);
        // 30 CPU seconds on one vCPU: 30 s at 1769 MB.
        assert_eq!(figures["lambda_arm64"]["billed_ms"], 30_000);
        assert_eq!(figures["lambda_arm64"]["estimated_usd"], 0.000691);
        // A render's length given instead of an event prices the same.
        let by_length = |output_ms| {
            run(&CostArgs {
                job: job.clone(),
                event: None,
                output_ms,
                cpu_seconds: Some(30.0),
                memory_mb: 1769,
            })
        };
        assert_eq!(by_length(Some(60_000)).unwrap(), figures);
        assert!(matches!(by_length(None), Err(CostError::NoLength)));
        // A job that did not complete has no billed length.
        let failed = std::fs::read_to_string(&event)
            .unwrap()
            .replace("COMPLETE", "ERROR");
        std::fs::write(&event, failed).unwrap();
        let err = run(&CostArgs {
            job: dir.path().join("job.json"),
            event: Some(event),
            output_ms: None,
            cpu_seconds: None,
            memory_mb: 1769,
        })
        .unwrap_err();
        assert!(err.to_string().contains("not COMPLETE"), "{err}");
    }
}
