//! `vidpipe engine`: run a MediaConvert job locally with the ffmpeg engine, or probe media.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use serde_json::Value;
use vidpipe_core::config::{ConfigError, Vars};
use vidpipe_engine::{Engine, Job, JobObserver, JobStatus, Storage};

/// The `engine` subcommands.
#[derive(Debug, Subcommand)]
pub enum EngineCommand {
    /// Run a CreateJob request (PascalCase or the SDK's camelCase wire form) to COMPLETE or ERROR; prints progress
    /// to stderr and the final "MediaConvert Job State Change" event to stdout.
    Run {
        /// The CreateJob request JSON file.
        job: PathBuf,
        /// Also append every EventBridge event, one JSON object per line, to this file.
        #[arg(long)]
        events: Option<PathBuf>,
    },
    /// Print the MediaConvert Probe response for media files (`s3://bucket/key` or local paths).
    Probe {
        /// The files to probe.
        #[arg(required = true)]
        uris: Vec<String>,
    },
}

/// Prints progress and keeps the events.
struct Printer {
    events_file: Option<std::fs::File>,
    last: Option<(JobStatus, Option<u32>)>,
    final_event: Option<Value>,
    write_error: Option<std::io::Error>,
}

impl JobObserver for Printer {
    fn job_changed(&mut self, job: &Job) {
        let state = (job.status, job.job_percent_complete);
        if self.last != Some(state) {
            self.last = Some(state);
            let phase = job
                .current_phase
                .map(|p| format!(" {p:?}").to_uppercase())
                .unwrap_or_default();
            let percent = job
                .job_percent_complete
                .map(|p| format!(" {p}%"))
                .unwrap_or_default();
            eprintln!("job {} {:?}{phase}{percent}", job.id, job.status);
        }
    }

    fn event(&mut self, event: &Value) {
        if let Some(file) = &mut self.events_file
            && let Err(e) = writeln!(file, "{event}")
        {
            self.write_error.get_or_insert(e);
        }
        self.final_event = Some(event.clone());
    }
}

/// An S3 client from the standard AWS configuration (`vidpipe_aws::s3::client`); `S3_FORCE_PATH_STYLE=true` for
/// endpoints without virtual-host addressing, such as moto.
async fn s3_client() -> Result<aws_sdk_s3::Client, ConfigError> {
    let config = aws_config::load_from_env().await;
    let force_path_style =
        Vars::new(|name| std::env::var(name).ok()).flag("S3_FORCE_PATH_STYLE")?;
    Ok(vidpipe_aws::s3::client(&config, force_path_style))
}

/// Runs an `engine` subcommand; returns the process exit code.
pub async fn run(command: EngineCommand) -> Result<i32, Box<dyn std::error::Error>> {
    let engine = Engine::from_env(Storage::with_s3(s3_client().await?), |name| {
        std::env::var(name).ok()
    });
    match command {
        EngineCommand::Run { job, events } => {
            let request: Value = serde_json::from_slice(&std::fs::read(&job)?)?;
            let events_file = events
                .map(|path| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                })
                .transpose()?;
            let mut printer = Printer {
                events_file,
                last: None,
                final_event: None,
                write_error: None,
            };
            let job = engine.run(&request, &mut printer).await;
            if let Some(e) = printer.write_error {
                return Err(e.into());
            }
            if let Some(event) = &printer.final_event {
                println!("{}", serde_json::to_string_pretty(event)?);
            }
            Ok(if job.status == JobStatus::Complete {
                0
            } else {
                1
            })
        }
        EngineCommand::Probe { uris } => match engine.probe(&uris).await {
            Ok(response) => {
                println!("{}", serde_json::to_string_pretty(&response)?);
                Ok(0)
            }
            Err(error) => {
                eprintln!("probe failed: {error}");
                Ok(1)
            }
        },
    }
}
