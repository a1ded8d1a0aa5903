//! The `deltaloop` command: argument parsing and wiring only.
//!
//! `main` parses the arguments, calls [`run`], prints any error with its cause chain and
//! returns the exit code.

mod apiserver_cmd;
mod args;
mod bench;
mod bind;
mod conformance;
mod eval;
mod explain;
mod files;
mod kubeconfig_cmd;
mod locate;
mod run_cmd;
mod steps;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// mimalloc instead of the system allocator, for the binary only: the library crates leave
/// the choice to their users. On the endpoints workload it is much faster than glibc malloc
/// at freeing a step's temporaries (see doc/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("deltaloop: {}", error_chain(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, `: `-separated, as `{:#}` prints them, except that a cause
/// whose text the message already ends with is not repeated (some errors, like the
/// engine's operator failures, say their cause in their own message too).
fn error_chain(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// Runs the chosen command.
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Conformance(args) => conformance::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Run(args) => run_cmd::run(&args),
        Command::Apiserver(args) => apiserver_cmd::run(&args),
        Command::Kubeconfig(args) => kubeconfig_cmd::run(&args),
    }
}
