//! `vidpipe`: the command line for developers and ops.

mod job_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "vidpipe",
    version,
    about = "vidpipe: serverless video pipeline tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a MediaConvert job and print its CreateJob JSON.
    Job(job_cmd::JobArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Job(args) => job_cmd::run(&args).map(|json| println!("{json}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vidpipe: {error}");
            ExitCode::FAILURE
        }
    }
}
