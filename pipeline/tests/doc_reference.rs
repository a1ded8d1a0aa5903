//! Runs every example of the reference pages `doc/reference/expressions.md` and
//! `doc/reference/pipeline.md` as a conformance case.
//!
//! Every ```` ```json ```` block holds one case object and every ```` ```yaml ```` block
//! one YAML document of a case (expression vector or aggregation vector format); YAML is
//! converted to JSON with floats kept as floats. Each case gets the name
//! `<page>#<block index> (line <n>)` and goes through
//! [`deltaloop_pipeline::conformance::run_case`], so the pages cannot drift from the
//! implementation. A pipeline case with `error: compile` may also give `error_contains`, a
//! substring the compile error's message (location included) must contain.

use deltaloop_pipeline::conformance::{Outcome, run_case};
use deltaloop_pipeline::{Binding, CompileOptions, Registry, Value, compile, from_yaml};
use serde_json::Value as Json;

const EXPRESSIONS: &str = include_str!("../../doc/reference/expressions.md");
const PIPELINE: &str = include_str!("../../doc/reference/pipeline.md");

/// A fenced example: its language, its first line (1-based) and its text.
struct Block {
    lang: String,
    line: usize,
    text: String,
}

/// The ```` ```json ```` and ```` ```yaml ```` blocks of `page`, in order. Other fences
/// (```` ```text ````, ```` ```rust ````, …) are prose and are skipped.
fn blocks(page: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in page.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let lang = info.trim().to_owned();
                    if lang == "json" || lang == "yaml" {
                        open = Some(Block {
                            lang,
                            line: n + 2,
                            text: String::new(),
                        });
                    } else if !lang.is_empty() {
                        // A prose fence: skip to its end.
                        open = Some(Block {
                            lang: String::new(),
                            line: n + 2,
                            text: String::new(),
                        });
                    }
                }
            }
            Some(mut b) => {
                if trimmed.starts_with("```") {
                    if !b.lang.is_empty() {
                        out.push(b);
                    }
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                    open = Some(b);
                }
            }
        }
    }
    assert!(open.is_none(), "unterminated code fence");
    out
}

/// `Value` → JSON keeping floats as floats (`2.0` stays a float), so YAML documents mean
/// exactly what their JSON spelling would.
fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.to_string()),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

/// Runs every block of `page` and returns the number of blocks and the failures.
fn run_page(file: &str, page: &str) -> (usize, Vec<String>) {
    let blocks = blocks(page);
    let mut failures = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let name = format!("{file}#{i} (line {})", b.line);
        let parsed: Result<Json, String> = if b.lang == "json" {
            serde_json::from_str(&b.text).map_err(|e| e.to_string())
        } else {
            from_yaml(&b.text)
                .map(|v| to_json(&v))
                .map_err(|e| e.to_string())
        };
        let mut case = match parsed {
            Ok(Json::Object(m)) => m,
            Ok(other) => {
                failures.push(format!("{name}: expected one object, found {other}"));
                continue;
            }
            Err(e) => {
                failures.push(format!("{name}: unparsable {} block: {e}", b.lang));
                continue;
            }
        };
        let label = case
            .get("name")
            .and_then(Json::as_str)
            .map_or_else(|| name.clone(), |n| format!("{name} {n}"));
        case.insert("name".into(), Json::String(label.clone()));
        let case = Json::Object(case);
        match run_case(&case).outcome {
            Outcome::Pass => {
                if let Some(e) = check_error_message(&case) {
                    failures.push(format!("{label}: {e}"));
                }
            }
            Outcome::Fail { expected, got } => {
                failures.push(format!(
                    "{label}:\n    expected {expected}\n    got      {got}"
                ));
            }
            Outcome::Unsupported(why) => failures.push(format!("{label}: not run: {why}")),
        }
    }
    (blocks.len(), failures)
}

/// The `[{name, logical}]` bindings at `field`, as the aggregation runner reads them.
fn bindings(case: &Json, field: &str) -> Option<Vec<Binding>> {
    let list = case.get(field)?.as_array()?;
    let binding = |b: &Json| {
        let name = b.get("name")?.as_str()?;
        let logical = b.get("logical").and_then(Json::as_str).unwrap_or(name);
        Some(Binding::with_logical(name, logical))
    };
    Some(list.iter().filter_map(binding).collect())
}

/// For a case with `error: compile` and `error_contains`: compiles the pipeline with the
/// case's bindings and checks the message. `None` when there is nothing wrong.
fn check_error_message(case: &Json) -> Option<String> {
    let want = case.get("error_contains")?.as_str()?;
    if case.get("error").and_then(Json::as_str) != Some("compile") {
        return Some("error_contains is only checked for error: compile".into());
    }
    let inputs = bindings(case, "bindings").unwrap_or_else(|| {
        let names: Vec<String> = match case.get("input_names").and_then(Json::as_array) {
            Some(list) => list
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect(),
            None => case
                .get("inputs")
                .and_then(Json::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        };
        names.into_iter().map(Binding::new).collect()
    });
    let outputs = bindings(case, "outputs").unwrap_or_else(|| vec![Binding::new("output")]);
    let options = CompileOptions {
        inputs,
        outputs,
        ..CompileOptions::new("doc")
    };
    match compile(case.get("pipeline")?, &options) {
        Ok(_) => Some("compiled, expected an error".into()),
        Err(e) if e.to_string().contains(want) => None,
        Err(e) => Some(format!(
            "the error message\n    {e}\n    does not contain {want:?}"
        )),
    }
}

fn check_page(file: &str, page: &str, min_blocks: usize) {
    let (count, failures) = run_page(file, page);
    eprintln!("{file}: {count} examples, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {count} examples in {file} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        count >= min_blocks,
        "{file} has {count} examples, expected at least {min_blocks}"
    );
}

#[test]
fn every_expressions_md_example_should_hold() {
    check_page("expressions.md", EXPRESSIONS, 65);
}

#[test]
fn every_pipeline_md_example_should_hold() {
    check_page("pipeline.md", PIPELINE, 12);
}

#[test]
fn expressions_md_should_document_and_exemplify_every_operator() {
    let headed: Vec<&str> = EXPRESSIONS
        .lines()
        .filter(|l| l.starts_with('#') || l.starts_with('|'))
        .collect();
    let examples: Vec<String> = blocks(EXPRESSIONS)
        .into_iter()
        .filter(|b| b.lang == "json")
        .map(|b| b.text)
        .collect();
    let mut missing = Vec::new();
    for name in Registry::builtin().operator_names() {
        let code = format!("`{name}`");
        if !headed.iter().any(|l| l.contains(&code)) {
            missing.push(format!("{name}: in no heading or table row"));
        }
        let call = format!("\"{name}\"");
        if !examples.iter().any(|e| e.contains(&call)) {
            missing.push(format!("{name}: in no example"));
        }
    }
    assert!(
        missing.is_empty(),
        "operators missing from expressions.md:\n{}",
        missing.join("\n")
    );
}

#[test]
fn block_extraction_should_skip_prose_fences() {
    let page = "```text\n{\"x\": 1}\n```\n```json\n{\"expr\": 1}\n```\n```yaml\na: 1\n```\n";
    let b = blocks(page);
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].lang.as_str(), b[0].line), ("json", 5));
    assert_eq!(b[1].text, "a: 1\n");
}
