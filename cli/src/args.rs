//! Command-line arguments (clap derive), faithful to what the user typed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// deltaloop: incremental control loops as declarative pipelines.
#[derive(Debug, Parser)]
#[command(name = "deltaloop", version, about)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run conformance vector files (expressions, aggregation, transforms, sql) and report
    /// every failing case; ends with `N passed, M failed`.
    Conformance(ConformanceArgs),
}

/// Arguments of `deltaloop conformance`.
#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// The vector files; the kind of each is detected from its content.
    #[arg(required = true, value_name = "FILE.json")]
    pub(crate) files: Vec<PathBuf>,
}
