//! Runner for `aggregation.json` cases: a pipeline, its bindings and transforms, and either
//! one snapshot step (`inputs`) or a sequence of delta steps (`steps`), with the expected
//! output Z-sets or the phase of the expected error.
//!
//! Without an `Incrementalizer` the (snapshot) circuit simply runs on each step's deltas.
//! Lists at `unordered_list_paths` (the `@groupBy` lists, whose order is the reference's
//! hash order) are compared as multisets.

use std::collections::BTreeMap;

use deltaloop_engine::ZSet;
use serde_json::Value as Json;

use super::Outcome;
use super::transforms::show;
use crate::compile::{Binding, CompileOptions, compile};
use crate::transforms::parse_transforms;
use crate::value::{Object, Value};

fn fail(expected: impl Into<String>, got: impl Into<String>) -> Outcome {
    Outcome::Fail {
        expected: expected.into(),
        got: got.into(),
    }
}

/// The `[{name, logical}]` bindings at `field`, if present.
fn bindings(case: &Json, field: &str) -> Option<Vec<Binding>> {
    let list = case.get(field)?.as_array()?;
    Some(
        list.iter()
            .filter_map(|b| {
                let name = b.get("name")?.as_str()?;
                let logical = b.get("logical").and_then(Json::as_str).unwrap_or(name);
                Some(Binding::with_logical(name, logical))
            })
            .collect(),
    )
}

/// The identity input bindings: from `input_names`, else the keys of `inputs`, else the
/// topics the steps mention (in first-seen order).
fn default_inputs(case: &Json) -> Vec<Binding> {
    if let Some(names) = case.get("input_names").and_then(Json::as_array) {
        return names
            .iter()
            .filter_map(Json::as_str)
            .map(Binding::new)
            .collect();
    }
    if let Some(inputs) = case.get("inputs").and_then(Json::as_object) {
        return inputs.keys().map(Binding::new).collect();
    }
    let mut out: Vec<Binding> = Vec::new();
    for step in case
        .get("steps")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        for topic in step
            .get("delta")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !out.iter().any(|b| b.name == *topic) {
                out.push(Binding::new(topic.as_str()));
            }
        }
    }
    out
}

/// A Z-set from `[{doc, weight}]`.
fn weighted(entries: &Json) -> Result<ZSet<Value>, String> {
    let mut z = ZSet::new();
    for e in entries.as_array().into_iter().flatten() {
        let doc = e.get("doc").ok_or("an entry without \"doc\"")?;
        let w = e
            .get("weight")
            .and_then(Json::as_i64)
            .ok_or("an entry without an integer \"weight\"")?;
        z.insert(Value::from(doc), w);
    }
    Ok(z)
}

/// A Z-set from a multiset of documents (each at weight +1).
fn multiset(docs: &Json) -> ZSet<Value> {
    let mut z = ZSet::new();
    for d in docs.as_array().into_iter().flatten() {
        z.insert(Value::from(d), 1);
    }
    z
}

/// Sorts the lists at the simple `$.a.b` paths `paths` inside `v`.
fn sort_lists(v: &Value, paths: &[Vec<String>]) -> Value {
    let mut out = v.clone();
    for p in paths {
        sort_at(&mut out, p);
    }
    out
}

fn sort_at(v: &mut Value, path: &[String]) {
    match path {
        [] => {
            if let Value::List(items) = v {
                let mut sorted = items.to_vec();
                sorted.sort();
                *v = Value::list(sorted);
            }
        }
        [first, rest @ ..] => {
            if let Value::Map(m) = v
                && m.contains_key(first)
            {
                let mut obj: Object = m.clone();
                obj.modify(first, |child| sort_at(child, rest));
                *v = Value::Map(obj);
            }
        }
    }
}

fn normalize(z: &ZSet<Value>, paths: &[Vec<String>]) -> ZSet<Value> {
    if paths.is_empty() {
        return z.clone();
    }
    let mut out = ZSet::new();
    for (v, w) in z.iter() {
        out.insert(sort_lists(v, paths), w);
    }
    out
}

/// Runs one aggregation case.
#[must_use]
pub fn run_aggregation_case(case: &Json) -> Outcome {
    let want_error = case.get("error").and_then(Json::as_str);
    let Some(pipeline) = case.get("pipeline") else {
        return fail("a \"pipeline\" field", "none");
    };
    let inputs = bindings(case, "bindings").unwrap_or_else(|| default_inputs(case));
    let outputs = bindings(case, "outputs").unwrap_or_else(|| vec![Binding::new("output")]);
    let name = case.get("name").and_then(Json::as_str).unwrap_or("case");
    let options = CompileOptions {
        name: name.to_owned(),
        inputs,
        outputs,
        ..CompileOptions::default()
    };
    let compiled = match (compile(pipeline, &options), want_error) {
        (Err(_), Some("compile")) => return Outcome::Pass,
        (Err(e), _) => {
            return fail(
                want_error.map_or("a successful compile".into(), |p| format!("a {p} error")),
                format!("compile error: {e}"),
            );
        }
        (Ok(_), Some("compile")) => return fail("a compile error", "compiled"),
        (Ok(c), _) => c,
    };
    let chain = parse_transforms(case.get("transforms").unwrap_or(&Json::Array(Vec::new())))
        .map_err(|e| e.to_string())
        .and_then(|chain| match chain {
            Some(chain) => compiled.transform(&chain).map_err(|e| e.to_string()),
            None => Ok(compiled),
        });
    let compiled = match (chain, want_error) {
        (Err(_), Some("transform")) => return Outcome::Pass,
        (Err(e), _) => return fail("the transforms to apply", format!("transform error: {e}")),
        (Ok(_), Some("transform")) => return fail("a transform error", "the transforms applied"),
        (Ok(c), _) => c,
    };
    let mut runner = match compiled.runner() {
        Ok(r) => r,
        Err(_) if want_error == Some("validate") => return Outcome::Pass,
        Err(e) => return fail("a valid circuit", format!("validation error: {e}")),
    };
    let first_output = compiled
        .outputs()
        .first()
        .map(|b| b.topic.clone())
        .unwrap_or_default();
    let paths: Vec<Vec<String>> = case
        .get("unordered_list_paths")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(|p| {
            p.trim_start_matches("$.")
                .split('.')
                .map(str::to_owned)
                .collect()
        })
        .collect();

    // (deltas per topic, expected outputs per topic) per step.
    type Step = (
        Vec<(String, ZSet<Value>)>,
        Option<BTreeMap<String, ZSet<Value>>>,
    );
    let mut steps: Vec<Step> = Vec::new();
    if let Some(list) = case.get("steps").and_then(Json::as_array) {
        for (t, step) in list.iter().enumerate() {
            let mut deltas = Vec::new();
            for (topic, entries) in step
                .get("delta")
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
            {
                match weighted(entries) {
                    Ok(z) => deltas.push((topic.clone(), z)),
                    Err(e) => return fail("well-formed deltas", format!("step {t}: {e}")),
                }
            }
            let expected = match step.get("expected_delta").map(weighted) {
                Some(Ok(z)) => Some(BTreeMap::from([(first_output.clone(), z)])),
                Some(Err(e)) => return fail("well-formed expectations", format!("step {t}: {e}")),
                None => None,
            };
            steps.push((deltas, expected));
        }
    } else {
        let deltas = case
            .get("inputs")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .map(|(topic, docs)| (topic.clone(), multiset(docs)))
            .collect();
        let expected = if let Some(docs) = case.get("expected") {
            Some(BTreeMap::from([(first_output.clone(), multiset(docs))]))
        } else if let Some(entries) = case.get("expected_weighted") {
            match weighted(entries) {
                Ok(z) => Some(BTreeMap::from([(first_output.clone(), z)])),
                Err(e) => return fail("well-formed expectations", e),
            }
        } else {
            case.get("expected_by_output")
                .and_then(Json::as_object)
                .map(|by| {
                    by.iter()
                        .map(|(out, docs)| (out.clone(), multiset(docs)))
                        .collect()
                })
        };
        steps.push((deltas, expected));
    }

    let error_step = case.get("error_step").and_then(Json::as_u64);
    for (t, (deltas, expected)) in steps.into_iter().enumerate() {
        let deltas = deltas.iter().map(|(topic, z)| (topic.as_str(), z.clone()));
        let result = match case.get("now").and_then(Json::as_str) {
            Some(now) => runner.step_at(now, deltas),
            None => runner.step(deltas),
        };
        let got = match (result, want_error) {
            (Err(e), Some("runtime")) => {
                return match error_step {
                    Some(s) if s != t as u64 => fail(
                        format!("a runtime error at step {s}"),
                        format!("step {t}: {e}"),
                    ),
                    _ => Outcome::Pass,
                };
            }
            (Err(e), _) => return fail(format!("step {t} to run"), format!("runtime error: {e}")),
            (Ok(got), _) => got,
        };
        for (topic, want) in expected.into_iter().flatten() {
            let empty = ZSet::new();
            let have = got.get(&topic).unwrap_or(&empty);
            let (want, have) = (normalize(&want, &paths), normalize(have, &paths));
            if want != have {
                return fail(format!("step {t} {topic}: {}", show(&want)), show(&have));
            }
        }
    }
    match want_error {
        Some(phase) => fail(format!("a {phase} error"), "no error"),
        None => Outcome::Pass,
    }
}
