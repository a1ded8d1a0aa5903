//! Runs `transforms.json` (the conformance vectors of the circuit transforms) against the
//! engine, with rows as canonical JSON text. Vectors whose circuits need the expression
//! language (select, project, …) are run by the pipeline crate's conformance runner instead.

use std::collections::BTreeMap;

use deltaloop_engine::{
    Chain, ChainStep, Circuit, Distincter, Error, Executor, Incrementalizer, Operator, Reconciler,
    SmithPredictor, Transform, ZSet,
};
use serde_json::Value;

const VECTORS: &str = include_str!("../../pipeline/tests/conformance/transforms.json");

fn canon(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canon(&m[*k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(canon).collect::<Vec<_>>().join(",")),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn operator(spec: &Value) -> Option<Operator<String>> {
    Some(match spec["type"].as_str()? {
        "input" => Operator::Input,
        "output" => Operator::Output,
        "delay" => Operator::Delay,
        "integrate" => Operator::Integrate,
        "differentiate" => Operator::Differentiate,
        "delta0" => Operator::Delta0,
        "H_func" => Operator::DistinctH,
        "noop" => Operator::Noop,
        "negate" => Operator::Negate,
        "plus" | "sum" => Operator::plus(),
        "minus" | "subtract" => Operator::minus(),
        "linear_combination" => Operator::LinearCombination(
            spec["coeffs"]
                .as_array()?
                .iter()
                .filter_map(Value::as_i64)
                .collect(),
        ),
        "distinct" => Operator::Distinct,
        _ => return None,
    })
}

fn circuit(spec: &Value) -> Option<Circuit<String>> {
    let mut c = Circuit::new(spec["name"].as_str().unwrap_or("circuit"));
    for (id, op) in spec["nodes"].as_object()? {
        c.add_node(id.clone(), operator(op)?).unwrap();
    }
    for e in spec["edges"].as_array()? {
        let port = e["port"].as_u64().unwrap_or(0) as usize;
        c.connect(e["from"].as_str()?, e["to"].as_str()?, port)
            .unwrap();
    }
    Some(c)
}

fn chain(specs: &[Value]) -> Result<Option<Chain>, Error> {
    if specs.is_empty() {
        return Ok(None);
    }
    let pairs = |t: &Value| -> Vec<(String, String)> {
        t["pairs"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap().to_string(),
                            p[1].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut steps: Vec<ChainStep> = Vec::new();
    for t in specs {
        steps.push(match t["name"].as_str().unwrap_or("") {
            "Incrementalizer" => Incrementalizer.into(),
            "Distincter" => Distincter.into(),
            "Reconciler" => Reconciler::with_pairs(pairs(t)).into(),
            "SmithPredictor" => {
                SmithPredictor::new(t["k"].as_u64().unwrap_or(0) as usize, pairs(t)).into()
            }
            other => {
                return Err(Error::Transform {
                    transform: "Chain",
                    reason: format!("unknown transform {other:?}"),
                });
            }
        });
    }
    Chain::new(steps).map(Some)
}

fn zset(entries: &Value) -> ZSet<String> {
    entries
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| (canon(&e["doc"]), e["weight"].as_i64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs one case; `Ok(false)` when it needs operators the engine alone cannot build.
fn run(case: &Value) -> Result<bool, String> {
    let Some(c) = circuit(&case["circuit"]) else {
        return Ok(false);
    };
    let want_error = case["error"].as_str();
    let transformed = chain(case["transforms"].as_array().unwrap()).and_then(|ch| match ch {
        Some(ch) => ch.apply(&c),
        None => Ok(c.clone()),
    });
    let transformed = match (transformed, want_error) {
        (Err(Error::Transform { .. }), Some("transform")) => return Ok(true),
        (Err(e), _) => return Err(format!("transform failed: {e}")),
        (Ok(_), Some("transform")) => return Err("expected a transform error".into()),
        (Ok(t), _) => t,
    };
    for id in case["expected_nodes_include"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = id.as_str().unwrap();
        if !transformed.contains(id) {
            return Err(format!("missing node {id}"));
        }
    }
    for id in case["expected_nodes_exclude"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = id.as_str().unwrap();
        if transformed.contains(id) {
            return Err(format!("unexpected node {id}"));
        }
    }
    let mut exec = match (Executor::new(transformed), want_error) {
        (Err(_), Some("validate")) => return Ok(true),
        (Err(e), _) => return Err(format!("validation failed: {e}")),
        (Ok(_), Some(phase)) => return Err(format!("expected a {phase} error")),
        (Ok(x), None) => x,
    };
    for (t, step) in case["steps"].as_array().unwrap().iter().enumerate() {
        for (input, delta) in step["delta"].as_object().unwrap() {
            exec.feed(input, zset(delta)).map_err(|e| e.to_string())?;
        }
        exec.step().map_err(|e| format!("step {t}: {e}"))?;
        for (output, expected) in step["expected_outputs"].as_object().unwrap() {
            let got = exec.output(output).map_err(|e| e.to_string())?;
            let expected = zset(expected);
            if got != &expected {
                return Err(format!(
                    "step {t} output {output}: expected {expected:?}, got {got:?}"
                ));
            }
        }
    }
    Ok(true)
}

#[test]
fn transforms_vectors_should_all_pass() {
    let cases: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        match run(case) {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(e) => failures.push(format!("{}: {e}", case["name"])),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        ran,
        cases.len(),
        "every vector's circuit uses engine-only operators"
    );
}

#[test]
fn canonical_text_should_treat_integral_floats_as_ints() {
    let a: Value = serde_json::from_str(r#"{"b": 3.0, "a": [1]}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"a": [1.0], "b": 3}"#).unwrap();
    assert_eq!(canon(&a), canon(&b));
    let _unused: BTreeMap<(), ()> = BTreeMap::new();
}
