//! The aggregation compiler's error locations, runtime error messages and step clock.

use deltaloop_engine::zset;
use deltaloop_pipeline::{Binding, CompileOptions, CompiledPipeline, Value, compile};
use serde_json::json;

fn options(inputs: &[&str], outputs: &[&str]) -> CompileOptions {
    let mut o = CompileOptions::new("t");
    for i in inputs {
        o = o.input(Binding::new(*i));
    }
    for i in outputs {
        o = o.output(Binding::new(*i));
    }
    o
}

/// The message of the error that feeding `doc` to input `in` of `p` fails the step with.
fn step_error(p: &CompiledPipeline, doc: serde_json::Value) -> String {
    let mut r = p.runner().unwrap();
    r.step([("in", zset! { Value::from(&doc) => 1 })])
        .unwrap_err()
        .to_string()
}

fn compile_error(pipeline: serde_json::Value, inputs: &[&str], outputs: &[&str]) -> String {
    compile(&pipeline, &options(inputs, outputs))
        .unwrap_err()
        .to_string()
}

#[test]
fn compile_errors_should_name_the_stage_and_position() {
    let e = compile_error(
        json!([{"@select": true}, {"@project": {"$.x": {"@doesnotexist": 1}}}]),
        &["in"],
        &[],
    );
    assert!(
        e.starts_with("pipeline[1] @project[\"$.x\"]: invalid expression"),
        "{e}"
    );
    assert!(e.contains("@doesnotexist"), "{e}");

    let e = compile_error(
        json!([{"@inputs": ["a", "b"]}, {"@join": [true, {"soft": ["c"]}]}]),
        &["a", "b"],
        &[],
    );
    assert!(e.starts_with("pipeline[1] @join[1].soft[0]: "), "{e}");

    let e = compile_error(
        json!([
            [{"@inputs": ["in"]}, {"@output": "x"}],
            [{"@inputs": ["x"]}, {"@groupBy": ["$.a", "$.b", {"distinct": 1}]}, {"@output": "output"}]
        ]),
        &["in"],
        &[],
    );
    assert!(
        e.starts_with("branch 1 stage 1 @groupBy[2].distinct: expected a boolean"),
        "{e}"
    );

    let e = compile_error(json!([{"@aggregate": []}]), &["in"], &[]);
    assert!(e.contains("use @groupBy and @project"), "{e}");
    let e = compile_error(json!({"@sort": {}}), &["in"], &[]);
    assert!(e.contains("unsupported pipeline operation @sort"), "{e}");
    let e = compile_error(json!([{"@select": true}]), &["a", "b"], &[]);
    assert!(e.contains("must start with @join"), "{e}");
    let e = compile_error(
        json!([[{"@inputs": ["in"]}, {"@output": "x"}]]),
        &["in"],
        &["y"],
    );
    assert!(e.contains("configured output \"y\" is unbound"), "{e}");
}

#[test]
fn runtime_errors_should_name_the_stage_and_document() {
    let p = compile(
        &json!([{"@select": {"@gt": ["$.a", 1]}}]),
        &options(&["in"], &[]),
    )
    .unwrap();
    let e = step_error(
        &p,
        json!({"metadata": {"name": "web", "namespace": "prod"}, "a": "x"}),
    );
    assert!(e.contains("b0_op_0 (@select)"), "{e}");
    assert!(e.contains("document prod/web"), "{e}");
    assert!(e.contains("@gt"), "{e}");
}

#[test]
fn a_projection_run_inside_the_group_by_should_fail_as_its_own_stage() {
    // The `@project` runs inside the `@groupBy` (see "What runs where"); a field it cannot
    // read fails the step with the `@project`'s message, naming its node and the document.
    let p = compile(
        &json!([
            {"@project": {"g": "$.spec.group", "ip": "$.status.ip"}},
            {"@groupBy": ["$.g", {"ip": "$.ip"}]},
            {"@project": {"key": "$.key", "ips": "$.values"}}
        ]),
        &options(&["in"], &[]),
    )
    .unwrap();
    assert!(!p.circuit().nodes().any(|(_, op)| op.kind() == "project"));
    let e = step_error(
        &p,
        json!({"metadata": {"name": "web", "namespace": "prod"}, "spec": {"group": "a"}}),
    );
    assert!(e.contains("b0_op_0 (@project)"), "{e}");
    assert!(e.contains("document prod/web"), "{e}");
    assert!(e.contains("$.status.ip"), "{e}");
}

#[test]
fn now_should_be_frozen_per_step() {
    let p = compile(
        &json!([{"@project": {"id": "$.id", "t": {"@now": null}}}]),
        &options(&["in"], &[]),
    )
    .unwrap();
    let mut r = p.runner().unwrap();
    let docs = zset! { Value::from(&json!({"id": 1})) => 1, Value::from(&json!({"id": 2})) => 1 };
    let out = r
        .step_at("2030-01-02T03:04:05Z", [("in", docs)])
        .unwrap()
        .remove("output")
        .unwrap();
    assert_eq!(
        out,
        zset! {
            Value::from(&json!({"id": 1, "t": "2030-01-02T03:04:05Z"})) => 1,
            Value::from(&json!({"id": 2, "t": "2030-01-02T03:04:05Z"})) => 1,
        }
    );
}

#[test]
fn branches_should_union_producers_and_feed_several_outputs() {
    let p = compile(
        &json!([
            [{"@inputs": ["in"]}, {"@select": {"@eq": ["$.k", "a"]}}, {"@output": "s"}],
            [{"@inputs": ["in"]}, {"@select": {"@eq": ["$.k", "a"]}}, {"@output": "s"}],
            [{"@inputs": ["s"]}, {"@project": {"k": "$.k"}}, {"@output": "A"}],
            [{"@inputs": ["in"]}, "@distinct", {"@output": "B"}]
        ]),
        &options(&["in"], &["A", "B"]),
    )
    .unwrap();
    assert!(p.circuit().contains("lc_stream_s"));
    let mut r = p.runner().unwrap();
    let a = Value::from(&json!({"k": "a", "x": 1}));
    let out = r.step([("in", zset! { a.clone() => 2 })]).unwrap();
    assert_eq!(out["A"], zset! { Value::from(&json!({"k": "a"})) => 4 });
    assert_eq!(out["B"], zset! { a => 1 });
}
