//! Runs every example of the reference page `doc/reference/expressions.md` as a
//! conformance case.
//!
//! Every ```` ```json ```` block holds one case object and every ```` ```yaml ```` block
//! one YAML document of a case (expression vector or aggregation vector format); YAML is
//! converted to JSON with floats kept as floats. Each case gets the name
//! `<page>#<block index> (line <n>)` and goes through
//! [`deltaloop_pipeline::conformance::run_case`], so the pages cannot drift from the
//! implementation.

use deltaloop_pipeline::conformance::{Outcome, run_case};
use deltaloop_pipeline::{Registry, Value, from_yaml};
use serde_json::Value as Json;

const EXPRESSIONS: &str = include_str!("../../doc/reference/expressions.md");

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
        match run_case(&Json::Object(case)).outcome {
            Outcome::Pass => {}
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
