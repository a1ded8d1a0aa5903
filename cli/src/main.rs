//! The `deltaloop` command.

use std::process::ExitCode;

use clap::Parser;

/// deltaloop: incremental control loops as declarative pipelines.
#[derive(Debug, Parser)]
#[command(name = "deltaloop", version, about)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}
