//! `deltaloop conformance FILE.json …`: runs vector files and reports per case.

use std::process::ExitCode;

use anyhow::Context as _;
use deltaloop_pipeline::conformance::{Outcome, run_vectors};

use crate::args::ConformanceArgs;

/// Runs every file, prints one line per failing or skipped case and a closing
/// `N passed, M failed[, K skipped]` line; exit status 0 only when nothing failed.
pub(crate) fn run(args: &ConformanceArgs) -> anyhow::Result<ExitCode> {
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read vector file {}", file.display()))?;
        let report = run_vectors(&text).with_context(|| format!("in {}", file.display()))?;
        println!(
            "{}: {} {} case(s)",
            file.display(),
            report.kind,
            report.results.len()
        );
        for result in &report.results {
            match &result.outcome {
                Outcome::Pass => passed += 1,
                Outcome::Fail { expected, got } => {
                    failed += 1;
                    println!("FAIL {}: expected {expected}; got {got}", result.name);
                }
                Outcome::Unsupported(why) => {
                    skipped += 1;
                    println!("SKIP {}: {why}", result.name);
                }
            }
        }
    }
    if skipped > 0 {
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
