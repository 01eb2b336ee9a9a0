//! `vidpipe`: the command line for developers and ops.

mod local_cmd;

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
    /// Work with the local stack (moto or any endpoint `AWS_ENDPOINT_URL` points to).
    Local(local_cmd::LocalArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Local(args) => local_cmd::run(&args).map(|out| println!("{out}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vidpipe: {error}");
            ExitCode::FAILURE
        }
    }
}
