//! The fuzz harness: what the `fuzz/` targets run on each input (they include this file by
//! path), and what the crash-replay test runs on every saved crash input.
//!
//! Any panic here is a bug in the pipeline crate: inputs that are not JSON, or do not
//! compile, are skipped; compile, step and evaluation *errors* are fine. Beyond "no panic",
//! the harness checks that a compiled circuit survives the wire format
//! (`save(load(save(c))) == save(c)`) and that an expression's surface form compiles back to
//! the same surface form.

use deltaloop_engine::{Chain, Incrementalizer, ZSet};
use deltaloop_pipeline::wire::{Expressions, load, save};
use deltaloop_pipeline::{
    Binding, CompileOptions, CompiledPipeline, EvalContext, Expr, Value, compile,
};
use serde_json::Value as Json;

const NOW: &str = "2024-05-06T07:08:09Z";

/// Small documents with the fields pipelines usually read.
fn docs() -> Vec<Value> {
    [
        r#"{"metadata": {"name": "p", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"x": 1, "app": "web", "list": [1, 2, {"a": null}]}, "status": {"phase": "Running"}}"#,
        r#"{"metadata": {"name": "q", "namespace": "kube"}, "spec": {"x": 2.5, "app": "db", "list": []}}"#,
        r#"{"id": 3, "a": {"b": [true, "s", 1e300]}, "x": null, "l": {"k": -9223372036854775808}}"#,
        "{}",
    ]
    .iter()
    .filter_map(|t| Value::from_json_str(t).ok())
    .collect()
}

fn zset(rows: &[Value], weights: &[i64]) -> ZSet<Value> {
    rows.iter()
        .zip(weights)
        .map(|(r, w)| (r.clone(), *w))
        .collect()
}

/// `save(load(save(c))) == save(c)` for the circuit of `compiled` (compiled from `source`).
fn round_trip(compiled: &CompiledPipeline, source: &Json) {
    let saved = save(compiled.circuit());
    match load(&saved, &Expressions::new(compiled.clock().clone())) {
        Ok(again) => assert_eq!(save(&again), saved, "wire round trip of {source}"),
        Err(e) => panic!("the circuit of {source} does not reload: {e}\n{saved}"),
    }
}

/// Bytes → JSON pipeline → compile (one input `a`, then inputs `a` and `b`) → wire round
/// trip → two snapshot steps and two incremental steps on small documents.
pub(crate) fn pipeline(data: &[u8]) {
    let Ok(json) = serde_json::from_slice::<Json>(data) else {
        return;
    };
    let docs = docs();
    for inputs in [&["a"][..], &["a", "b"][..]] {
        let mut options = CompileOptions::new("fuzz").output(Binding::new("out"));
        for i in inputs {
            options = options.input(Binding::new(*i));
        }
        let Ok(compiled) = compile(&json, &options) else {
            continue;
        };
        round_trip(&compiled, &json);
        let steps = [zset(&docs, &[1, 2, 1, 1]), zset(&docs, &[-1, 0, 1, -1])];
        if let Ok(mut runner) = compiled.runner() {
            for step in &steps {
                let _ = runner.step_at(NOW, inputs.iter().map(|i| (*i, step.clone())));
            }
        }
        let Ok(chain) = Chain::new(vec![Incrementalizer.into()]) else {
            continue;
        };
        let Ok(incremental) = compiled.transform(&chain) else {
            continue;
        };
        round_trip(&incremental, &json);
        if let Ok(mut runner) = incremental.runner() {
            for step in &steps {
                let _ = runner.step_at(NOW, inputs.iter().map(|i| (*i, step.clone())));
            }
        }
    }
}

/// Bytes → JSON expression → compile → surface form round trip → evaluate on small
/// documents (as document and as subject).
pub(crate) fn expr(data: &[u8]) {
    let Ok(json) = serde_json::from_slice::<Json>(data) else {
        return;
    };
    let Ok(expr) = Expr::compile(&json) else {
        return;
    };
    let surface = expr.to_json();
    match Expr::compile(&surface) {
        Ok(again) => assert_eq!(again.to_json(), surface, "surface form of {json}"),
        Err(e) => panic!("the surface form {surface} of {json} does not compile: {e}"),
    }
    let _ = expr.to_string();
    let _ = expr.eval(&EvalContext::new().with_now(NOW));
    for d in docs() {
        let ctx = EvalContext::new().with_document(&d).with_now(NOW);
        let _ = expr.eval(&ctx);
        let _ = expr.eval(&ctx.with_subject(&d));
    }
}
