//! `vidpipe`: the command line for developers and ops.

mod cost_cmd;
mod demo_cmd;
mod engine_cmd;
mod flow;
mod job_cmd;
mod lambda_api;
mod local_cmd;
mod local_files;
mod local_sfn;
mod progress;
mod pump;
mod render_cmd;

use clap::{Parser, Subcommand};

/// vidpipe's command line.
#[derive(Debug, Parser)]
#[command(name = "vidpipe", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// What a job that ran costs on each backend, by the one rule: MediaConvert's on-demand rate for its outputs
    /// times their length, and the ffmpeg engine on Lambda (arm64) from its CPU seconds; prints JSON.
    Cost(cost_cmd::CostArgs),
    /// The main job, headless, on a running stack: upload a screen and a camera recording through the HTTP API,
    /// wait for the composite with a progress bar, download it, and print its path, size, duration and the time
    /// each step took.
    Demo(demo_cmd::DemoArgs),
    /// Run MediaConvert jobs and Probe locally with the ffmpeg engine.
    #[command(subcommand)]
    Engine(engine_cmd::EngineCommand),
    /// Build a MediaConvert job and print its CreateJob JSON.
    Job(job_cmd::JobArgs),
    /// Work with the local stack (moto, or any endpoint `AWS_ENDPOINT_URL` points to).
    Local(local_cmd::LocalArgs),
    /// Run a render request through the render state machine (`statemachines/render.asl.json`, carried in the
    /// binary) on this machine; prints progress to stderr (a bar on a terminal) and the execution's outcome to stdout
    /// (exit code 1 when it failed).
    Render(render_cmd::RenderArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse().command).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            // What failed, in words, with its causes: not the error's Debug form.
            eprintln!("vidpipe: {}", vidpipe_core::error::Chain(e.as_ref()));
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs the subcommand: its exit code (a job or an execution that failed is 1), or why it could not run.
async fn run(command: Command) -> Result<u8, Box<dyn std::error::Error>> {
    let code = match command {
        Command::Cost(args) => {
            println!("{:#}", cost_cmd::run(&args)?);
            0
        }
        Command::Demo(args) => {
            demo_cmd::run(args).await?;
            0
        }
        Command::Engine(command) => engine_cmd::run(command).await?,
        Command::Job(args) => {
            println!("{}", job_cmd::run(&args)?);
            0
        }
        Command::Local(args) => {
            println!("{}", local_cmd::run(&args).await?);
            0
        }
        Command::Render(args) => render_cmd::run(args).await?,
    };
    Ok(code as u8)
}
