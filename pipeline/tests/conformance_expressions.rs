//! Runs every case of `conformance/expressions.json` (copied from the shared vectors).

use deltaloop_pipeline::conformance::{VectorKind, run_vectors};

const EXPRESSIONS: &str = include_str!("conformance/expressions.json");

#[test]
fn every_expression_vector_should_pass() {
    let report = run_vectors(EXPRESSIONS).unwrap();
    eprintln!("{report}");
    assert_eq!(report.kind, VectorKind::Expressions);
    assert!(report.results.len() >= 175, "expected at least 175 cases");
    let failures: Vec<String> = report
        .failures()
        .map(|r| format!("{}: {:?}", r.name, r.outcome))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} expression vectors failed:\n{}",
        failures.len(),
        report.results.len(),
        failures.join("\n")
    );
    assert_eq!(report.passed(), report.results.len());
}

#[test]
fn sql_vectors_should_be_reported_unsupported_until_the_sql_compiler_exists() {
    let report = run_vectors(include_str!("conformance/sql.json")).unwrap();
    assert_eq!(report.kind, VectorKind::Sql);
    assert_eq!(report.unsupported(), report.results.len());
}

#[test]
fn core_types_should_be_send_sync_static() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<deltaloop_pipeline::Value>();
    check::<deltaloop_pipeline::Expr>();
    check::<deltaloop_pipeline::Path>();
    check::<deltaloop_pipeline::Registry>();
}
