//! Runner for `transforms.json` cases: a wire-format circuit, a transform chain, and steps of
//! input deltas with the expected output deltas.
//!
//! [`run_vectors`](crate::conformance::run_vectors) loads the circuits with
//! [`Expressions`](crate::wire::Expressions), so user-logic nodes (`select`, `project`,
//! `unwind`, `group_by`, `equi_join`, …) run with the semantics of the wire format (a
//! `select` without `"lenient": true` is strict, as in the reference).

use deltaloop_engine::{Executor, Transform, ZSet};
use serde_json::Value as Json;

use crate::conformance::Outcome;
use crate::transforms::parse_transforms;
use crate::value::{Value, canonical_json};
use crate::wire::{OperatorBuilder, load};

/// A Z-set from `[{doc, weight}, …]`.
fn zset(entries: Option<&Json>) -> Result<ZSet<Value>, String> {
    let mut z = ZSet::new();
    for e in entries.and_then(Json::as_array).into_iter().flatten() {
        let doc = e.get("doc").ok_or("an entry without \"doc\"")?;
        let weight = e
            .get("weight")
            .and_then(Json::as_i64)
            .ok_or("an entry without an integer \"weight\"")?;
        z.insert(Value::from(doc), weight);
    }
    Ok(z)
}

/// Renders a Z-set deterministically for failure messages.
pub(crate) fn show(z: &ZSet<Value>) -> String {
    let mut rows: Vec<String> = z
        .iter()
        .map(|(v, w)| format!("{} ×{w}", canonical_json(v)))
        .collect();
    rows.sort();
    format!("{{{}}}", rows.join(", "))
}

fn fail(expected: impl Into<String>, got: impl Into<String>) -> Outcome {
    Outcome::Fail {
        expected: expected.into(),
        got: got.into(),
    }
}

/// Runs one transforms case, building user-logic operators with `builder`.
#[must_use]
pub fn run_transforms_case(case: &Json, builder: &dyn OperatorBuilder) -> Outcome {
    let want_error = case.get("error").and_then(Json::as_str);
    let circuit = match case.get("circuit").map(|c| load(c, builder)) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return fail("a loadable circuit", e.to_string()),
        None => return fail("a \"circuit\" field", "none"),
    };
    let transformed = parse_transforms(case.get("transforms").unwrap_or(&Json::Array(Vec::new())))
        .map_err(|e| e.to_string())
        .and_then(|chain| match chain {
            Some(chain) => chain.apply(&circuit).map_err(|e| e.to_string()),
            None => Ok(circuit),
        });
    let transformed = match (transformed, want_error) {
        (Err(_), Some("transform")) => return Outcome::Pass,
        (Err(e), _) => return fail("the transforms to apply", format!("transform error: {e}")),
        (Ok(_), Some("transform")) => return fail("a transform error", "the transforms applied"),
        (Ok(c), _) => c,
    };
    let mut exec = match (Executor::new(transformed), want_error) {
        (Err(_), Some("validate")) => return Outcome::Pass,
        (Err(e), _) => return fail("a valid circuit", format!("validation error: {e}")),
        (Ok(_), Some("validate")) => return fail("a validation error", "a valid circuit"),
        (Ok(x), _) => x,
    };
    let steps = case
        .get("steps")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (t, step) in steps.iter().enumerate() {
        for (input, delta) in step
            .get("delta")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            let delta = match zset(Some(delta)) {
                Ok(z) => z,
                Err(e) => return fail("well-formed deltas", format!("step {t}: {e}")),
            };
            if let Err(e) = exec.feed(input, delta) {
                return fail(format!("input {input}"), e.to_string());
            }
        }
        match (exec.step(), want_error) {
            (Err(_), Some("runtime")) => return Outcome::Pass,
            (Err(e), _) => return fail(format!("step {t} to run"), e.to_string()),
            (Ok(()), _) => {}
        }
        let expected = step.get("expected_outputs").and_then(Json::as_object);
        for (output, entries) in expected.into_iter().flatten() {
            let expected = match zset(Some(entries)) {
                Ok(z) => z,
                Err(e) => return fail("well-formed expectations", format!("step {t}: {e}")),
            };
            match exec.output(output) {
                Ok(got) if *got == expected => {}
                Ok(got) => {
                    return fail(format!("step {t} {output}: {}", show(&expected)), show(got));
                }
                Err(e) => return fail(format!("output {output}"), e.to_string()),
            }
        }
    }
    match want_error {
        Some(phase) => fail(format!("a {phase} error"), "no error"),
        None => Outcome::Pass,
    }
}
