//! Runner for the conformance vectors (`conformance/*.json`).
//!
//! A vector file is a JSON array of cases (see the vectors' README). [`run_vectors`] detects
//! the file's kind from its cases and runs each one; [`Report`] lists pass/fail per case
//! with the expected and actual outcome. This module does no I/O: callers (the tests, the
//! CLI's `conformance` command) read the file and hand over its text.
//!
//! Expression, aggregation and transforms vectors are supported (transforms circuits are
//! loaded with the [`wire::Expressions`](crate::wire::Expressions) builder, so their nodes
//! may carry user logic: `select`, `project`, `group_by`, …); other kinds report every case
//! as unsupported.
//!
//! ```
//! use deltaloop_pipeline::conformance::{VectorKind, run_vectors};
//! let text = r#"[{"name": "add/ints", "expr": {"@add": [1, 2]}, "expected": 3,
//!                 "expected_type": "int"}]"#;
//! let report = run_vectors(text)?;
//! assert_eq!(report.kind, VectorKind::Expressions);
//! assert_eq!((report.passed(), report.failed()), (1, 0));
//! # Ok::<(), deltaloop_pipeline::conformance::ConformanceError>(())
//! ```

mod aggregation;
mod transforms;

use std::fmt;

pub use aggregation::run_aggregation_case;
pub use transforms::run_transforms_case;

use serde_json::Value as Json;

use crate::expr::{EvalContext, Expr};
use crate::value::{Value, canonical_json};

/// The kind of a vector file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VectorKind {
    /// `expressions.json`: `{expr, doc?, subject?, now?, expected | error}`.
    Expressions,
    /// `aggregation.json`: pipelines over Z-sets.
    Aggregation,
    /// `sql.json`: SQL queries.
    Sql,
    /// `transforms.json`: circuit transforms.
    Transforms,
    /// Cases of no known shape.
    Unknown,
}

impl fmt::Display for VectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VectorKind::Expressions => "expressions",
            VectorKind::Aggregation => "aggregation",
            VectorKind::Sql => "sql",
            VectorKind::Transforms => "transforms",
            VectorKind::Unknown => "unknown",
        })
    }
}

/// The vector file itself is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConformanceError {
    /// Not valid JSON.
    #[error("invalid vector file: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON, but not an array of case objects.
    #[error("invalid vector file: expected a json array of case objects")]
    Shape,
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The case passed.
    Pass,
    /// The case failed.
    Fail {
        /// What the vector expected.
        expected: String,
        /// What the implementation produced.
        got: String,
    },
    /// The case's kind is not supported by this runner yet.
    Unsupported(String),
}

/// One case's name and outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case name (`group/what`).
    pub name: String,
    /// Its outcome.
    pub outcome: Outcome,
}

/// The results of a vector file.
#[derive(Clone, Debug)]
pub struct Report {
    /// The detected kind.
    pub kind: VectorKind,
    /// One result per case, in file order.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// How many cases passed.
    #[must_use]
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Pass))
    }

    /// How many cases failed.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Fail { .. }))
    }

    /// How many cases were not run.
    #[must_use]
    pub fn unsupported(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Unsupported(_)))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> + '_ {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail { .. }))
    }
}

impl fmt::Display for Report {
    /// One line per failed or unsupported case, then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            match &r.outcome {
                Outcome::Pass => {}
                Outcome::Fail { expected, got } => {
                    writeln!(f, "FAIL {}: expected {expected}, got {got}", r.name)?;
                }
                Outcome::Unsupported(why) => writeln!(f, "SKIP {}: {why}", r.name)?,
            }
        }
        write!(
            f,
            "{} vectors: {} passed, {} failed, {} unsupported",
            self.kind,
            self.passed(),
            self.failed(),
            self.unsupported()
        )
    }
}

/// Detects the kind of a case from its fields.
#[must_use]
pub fn case_kind(case: &Json) -> VectorKind {
    let has = |k: &str| case.get(k).is_some();
    if has("expr") {
        VectorKind::Expressions
    } else if has("pipeline") {
        VectorKind::Aggregation
    } else if has("query") {
        VectorKind::Sql
    } else if has("circuit") {
        VectorKind::Transforms
    } else {
        VectorKind::Unknown
    }
}

/// Parses a vector file's text and runs every case.
///
/// # Errors
///
/// [`ConformanceError`] when the text is not a JSON array of objects.
pub fn run_vectors(text: &str) -> Result<Report, ConformanceError> {
    let doc: Json = serde_json::from_str(text)?;
    let cases = doc.as_array().ok_or(ConformanceError::Shape)?;
    if !cases.iter().all(Json::is_object) {
        return Err(ConformanceError::Shape);
    }
    let kind = cases.first().map_or(VectorKind::Unknown, case_kind);
    let results = cases.iter().map(run_case).collect();
    Ok(Report { kind, results })
}

/// Runs one case of any kind.
#[must_use]
pub fn run_case(case: &Json) -> CaseResult {
    let name = case
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or("<unnamed>")
        .to_owned();
    let outcome = match case_kind(case) {
        VectorKind::Expressions => run_expression_case(case),
        VectorKind::Aggregation => run_aggregation_case(case),
        VectorKind::Transforms => run_transforms_case(case, &crate::wire::Expressions::default()),
        other => Outcome::Unsupported(format!("unsupported kind: {other}")),
    };
    CaseResult { name, outcome }
}

fn type_matches(expected_type: &str, v: &Value) -> bool {
    match expected_type {
        "int" => matches!(v, Value::Int(_)),
        "float" => matches!(v, Value::Float(_)),
        "string" => matches!(v, Value::String(_)),
        "bool" => matches!(v, Value::Bool(_)),
        "null" => v.is_null(),
        "list" => matches!(v, Value::List(_)),
        "map" | "document" => matches!(v, Value::Map(_)),
        _ => false,
    }
}

fn describe(v: &Value) -> String {
    format!("{} {}", v.type_name(), canonical_json(v))
}

/// Runs one expression case.
#[must_use]
pub fn run_expression_case(case: &Json) -> Outcome {
    let fail = |expected: String, got: String| Outcome::Fail { expected, got };
    let Some(source) = case.get("expr") else {
        return fail("an expr field".into(), "none".into());
    };
    let expected_error = case.get("error").and_then(Json::as_str);
    let doc = case.get("doc").map(Value::from);
    let subject = case.get("subject").map(Value::from);
    let now = case.get("now").and_then(Json::as_str);

    let expr = match Expr::compile(source) {
        Ok(e) => e,
        Err(e) if expected_error == Some("compile") => {
            let _ = e;
            return Outcome::Pass;
        }
        Err(e) => {
            let expected = expected_error.map_or_else(
                || "a successful compile".to_owned(),
                |phase| format!("a {phase} error"),
            );
            return fail(expected, format!("compile error: {e}"));
        }
    };
    if expected_error == Some("compile") {
        return fail("a compile error".into(), format!("compiled to {expr}"));
    }
    let mut ctx = EvalContext::new();
    if let Some(d) = &doc {
        ctx = ctx.with_document(d);
    }
    if let Some(s) = &subject {
        ctx = ctx.with_subject(s);
    }
    if let Some(n) = now {
        ctx = ctx.with_now(n);
    }
    let result = expr.eval(&ctx);
    match (expected_error, result) {
        (Some("eval"), Err(_)) => Outcome::Pass,
        (Some(phase), Ok(v)) => fail(format!("a {phase} error"), describe(&v)),
        (Some(phase), Err(e)) => fail(format!("a {phase} error"), format!("eval error: {e}")),
        (None, Err(e)) => fail(
            case.get("expected")
                .map_or_else(|| "a value".to_owned(), |j| Value::from(j).to_string()),
            format!("eval error: {e}"),
        ),
        (None, Ok(v)) => {
            let expected = case.get("expected").map_or(Value::Null, Value::from);
            let ty = case.get("expected_type").and_then(Json::as_str);
            let type_ok = ty.is_none_or(|t| type_matches(t, &v));
            if v == expected && type_ok {
                Outcome::Pass
            } else {
                fail(
                    format!("{} {}", ty.unwrap_or("value"), canonical_json(&expected)),
                    describe(&v),
                )
            }
        }
    }
}
