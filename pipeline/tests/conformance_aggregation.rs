//! Runs every case of `conformance/aggregation.json` (copied from the shared vectors).

use deltaloop_pipeline::conformance::{VectorKind, run_vectors};

const AGGREGATION: &str = include_str!("conformance/aggregation.json");

#[test]
fn every_aggregation_vector_should_pass() {
    let report = run_vectors(AGGREGATION).unwrap();
    eprintln!("{report}");
    assert_eq!(report.kind, VectorKind::Aggregation);
    assert!(report.results.len() >= 66, "expected at least 66 cases");
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| !matches!(r.outcome, deltaloop_pipeline::conformance::Outcome::Pass))
        .map(|r| format!("{}: {:?}", r.name, r.outcome))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} aggregation vectors failed:\n{}",
        failures.len(),
        report.results.len(),
        failures.join("\n")
    );
}
