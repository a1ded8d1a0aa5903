//! The wire format with user logic: compiled pipelines saved to JSON and loaded back with
//! `wire::Expressions` run the same; reference-style `select`/`project` nodes load with the
//! reference's semantics; malformed specs name the field.

use deltaloop_engine::{Chain, Incrementalizer, ZSet, zset};
use deltaloop_pipeline::conformance::{VectorKind, run_vectors};
use deltaloop_pipeline::wire::{Expressions, load, save};
use deltaloop_pipeline::{Binding, CompileOptions, CompiledPipeline, Value, compile};
use serde_json::json;

fn doc(text: &str) -> Value {
    Value::from_json_str(text).unwrap()
}

fn reload(p: &CompiledPipeline) -> CompiledPipeline {
    let json = save(p.circuit());
    let circuit = load(&json, &Expressions::new(p.clock().clone())).unwrap();
    assert_eq!(save(&circuit), json, "save(load(save(c))) == save(c)");
    p.with_circuit(circuit)
}

/// join (automatic equi-join) + select + project + groupBy over pods and services.
fn pipeline() -> CompiledPipeline {
    let options = CompileOptions::new("svc-pods")
        .input(Binding::new("pods"))
        .input(Binding::new("svcs"))
        .output(Binding::new("out"));
    compile(
        &json!([
            {"@join": {"@and": [
                {"@eq": ["$.pods.spec.app", "$.svcs.spec.selector"]},
                {"@eq": ["$.pods.metadata.namespace", "$.svcs.metadata.namespace"]}
            ]}},
            {"@select": {"@eq": ["$.pods.status.phase", "Running"]}},
            {"@project": {"$.": "$.svcs", "pod": "$.pods.metadata.name"}},
            {"@groupBy": ["$.metadata", "$.pod"]},
            {"@project": {"metadata": "$.key", "pods": "$.values"}}
        ]),
        &options,
    )
    .unwrap()
}

fn steps() -> Vec<Vec<(&'static str, ZSet<Value>)>> {
    let pod = |name: &str, app: &str, phase: &str| {
        doc(&format!(
            r#"{{"metadata": {{"name": "{name}", "namespace": "ns"}}, "spec": {{"app": "{app}"}},
                "status": {{"phase": "{phase}"}}}}"#
        ))
    };
    let svc = |name: &str, sel: &str| {
        doc(&format!(
            r#"{{"metadata": {{"name": "{name}", "namespace": "ns"}}, "spec": {{"selector": "{sel}"}}}}"#
        ))
    };
    vec![
        vec![
            (
                "pods",
                zset! { pod("a", "web", "Running") => 1, pod("b", "web", "Pending") => 1 },
            ),
            ("svcs", zset! { svc("web", "web") => 1 }),
        ],
        vec![(
            "pods",
            zset! { pod("b", "web", "Pending") => -1, pod("b", "web", "Running") => 1 },
        )],
        vec![
            ("pods", zset! { pod("c", "db", "Running") => 1 }),
            ("svcs", zset! { svc("db", "db") => 1 }),
        ],
        // A pod without a phase: the lenient @select drops it (a strict one would fail).
        vec![(
            "pods",
            zset! { doc(r#"{"metadata": {"name": "d", "namespace": "ns"}, "spec": {"app": "db"}}"#) => 1 },
        )],
        vec![("svcs", zset! { svc("web", "web") => -1 })],
    ]
}

/// The per-step outputs of `p` fed with `steps`.
fn outputs(p: &CompiledPipeline, steps: &[Vec<(&str, ZSet<Value>)>]) -> Vec<ZSet<Value>> {
    let mut runner = p.runner().unwrap();
    steps
        .iter()
        .map(|step| {
            runner
                .step_at(
                    "2024-01-01T00:00:00Z",
                    step.iter().map(|(t, z)| (*t, z.clone())),
                )
                .unwrap()
                .remove("out")
                .unwrap()
        })
        .collect()
}

/// The steps with each input integrated (the snapshot mode's inputs).
fn integrated(steps: &[Vec<(&'static str, ZSet<Value>)>]) -> Vec<Vec<(&'static str, ZSet<Value>)>> {
    let mut totals: Vec<(&'static str, ZSet<Value>)> =
        vec![("pods", ZSet::new()), ("svcs", ZSet::new())];
    steps
        .iter()
        .map(|step| {
            for (t, z) in step {
                if let Some((_, total)) = totals.iter_mut().find(|(n, _)| n == t) {
                    total.add_assign(z);
                }
            }
            totals.clone()
        })
        .collect()
}

#[test]
fn a_reloaded_compiled_pipeline_should_give_the_same_snapshot_outputs() {
    let p = pipeline();
    let kinds: Vec<&str> = p.circuit().nodes().map(|(_, op)| op.kind()).collect();
    for k in ["equi_join", "select", "project", "group_by"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let again = reload(&p);
    // Every snapshot step runs on a fresh runner over the integrated inputs.
    for (t, inputs) in integrated(&steps()).iter().enumerate() {
        let a = outputs(&p, std::slice::from_ref(inputs));
        let b = outputs(&again, std::slice::from_ref(inputs));
        assert_eq!(a, b, "step {t}");
        if t == 0 {
            assert_eq!(a[0].len(), 1, "{:?}", a[0]);
        }
    }
}

#[test]
fn a_reloaded_incremental_pipeline_should_give_the_same_deltas() {
    let inc = pipeline()
        .transform(&Chain::new(vec![Incrementalizer.into()]).unwrap())
        .unwrap();
    let kinds: Vec<&str> = inc.circuit().nodes().map(|(_, op)| op.kind()).collect();
    for k in ["equi_join_incremental", "group_by_incremental", "select"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let again = reload(&inc);
    let a = outputs(&inc, &steps());
    assert_eq!(a, outputs(&again, &steps()));
    assert!(a.iter().filter(|z| !z.is_empty()).count() >= 3, "{a:?}");

    // And a snapshot pipeline reloaded, then incrementalized, gives the same deltas too.
    let later = reload(&pipeline())
        .transform(&Chain::new(vec![Incrementalizer.into()]).unwrap())
        .unwrap();
    assert_eq!(a, outputs(&later, &steps()));
}

#[test]
fn our_select_and_project_should_be_marked_in_the_wire_json() {
    let json = save(pipeline().circuit());
    let nodes = json["nodes"].as_object().unwrap();
    let selects: Vec<_> = nodes.values().filter(|n| n["type"] == "select").collect();
    assert!(!selects.is_empty());
    assert!(selects.iter().all(|n| n["lenient"] == true), "{selects:?}");
    let projects: Vec<_> = nodes.values().filter(|n| n["type"] == "project").collect();
    assert!(
        projects.iter().all(|n| n["fragments"] == true),
        "{projects:?}"
    );
    // The `@project` after the `@groupBy` runs inside it, under its own node id.
    assert_eq!(
        json["nodes"]["b0_op_3"],
        json!({"type": "group_by", "keyExpr": "$.metadata", "valueExpr": "$.pod", "distinct": false,
               "then": {"node": "b0_op_4", "projection": {"metadata": "$.key", "pods": "$.values"}}})
    );
    assert!(json["nodes"].get("b0_op_4").is_none(), "{json}");
}

#[test]
fn a_project_run_inside_the_group_by_should_be_marked_and_reload() {
    let options = CompileOptions::new("svc-pods")
        .input(Binding::new("pods"))
        .input(Binding::new("svcs"))
        .output(Binding::new("out"));
    let p = compile(
        &json!([
            {"@join": {"@eq": ["$.pods.spec.app", "$.svcs.spec.selector"]}},
            {"@project": {"svc": "$.svcs.metadata.name", "pod": "$.pods.metadata.name"}},
            {"@groupBy": ["$.svc", {"name": "$.pod"}]},
            {"@project": {"metadata": {"name": "$.key"}, "pods": "$.values"}}
        ]),
        &options,
    )
    .unwrap();
    let json = save(p.circuit());
    assert_eq!(
        json["nodes"]["b0_op_2"],
        json!({"type": "group_by", "keyExpr": "$.svc", "valueExpr": {"name": "$.pod"},
               "distinct": false,
               "before": {"node": "b0_op_1", "projection": {"pod": "$.pods.metadata.name",
                                                            "svc": "$.svcs.metadata.name"}},
               "then": {"node": "b0_op_3",
                        "projection": {"metadata": {"name": "$.key"}, "pods": "$.values"}}})
    );
    assert!(json["nodes"].get("b0_op_1").is_none(), "{json}");
    let inc = p
        .transform(&Chain::new(vec![Incrementalizer.into()]).unwrap())
        .unwrap();
    let a = outputs(&inc, &steps());
    assert_eq!(a, outputs(&reload(&inc), &steps()));
    assert!(a.iter().filter(|z| !z.is_empty()).count() >= 3, "{a:?}");
    // A `before` whose key and value do not arrange the projected fields is refused.
    let mut bad = json.clone();
    bad["nodes"]["b0_op_2"]["valueExpr"] = json!({"@concat": ["$.pod", "!"]});
    let err = load(&bad, &Expressions::new(p.clock().clone())).unwrap_err();
    assert!(err.to_string().contains("before"), "{err}");
}

fn circuit(op: serde_json::Value) -> serde_json::Value {
    json!({"name": "t", "nodes": {"input_x": {"type": "input"}, "op": op,
            "output_x": {"type": "output"}},
           "edges": [{"from": "input_x", "to": "op", "port": 0},
                     {"from": "op", "to": "output_x", "port": 0}]})
}

#[test]
fn a_transforms_case_with_select_and_project_nodes_should_run() {
    let cases = json!([
        {"name": "user-logic/select-project",
         "circuit": {"name": "sp", "nodes": {
             "input_x": {"type": "input"},
             "sel": {"type": "select", "predicate": {"@gt": ["$.n", 1]}},
             "proj": {"type": "project", "projection": {"id": "$.id", "twice": {"@mul": ["$.n", 2]}}},
             "output_x": {"type": "output"}},
           "edges": [{"from": "input_x", "to": "sel", "port": 0},
                     {"from": "sel", "to": "proj", "port": 0},
                     {"from": "proj", "to": "output_x", "port": 0}]},
         "transforms": [{"name": "Incrementalizer"}],
         "steps": [
             {"delta": {"input_x": [{"doc": {"id": "a", "n": 1}, "weight": 1},
                                    {"doc": {"id": "b", "n": 2}, "weight": 1}]},
              "expected_outputs": {"output_x": [{"doc": {"id": "b", "twice": 4}, "weight": 1}]}},
             {"delta": {"input_x": [{"doc": {"id": "b", "n": 2}, "weight": -1}]},
              "expected_outputs": {"output_x": [{"doc": {"id": "b", "twice": 4}, "weight": -1}]}}
         ]},
        {"name": "user-logic/strict-select",
         "circuit": circuit(json!({"type": "select", "predicate": {"@eq": ["$.missing", 1]}})),
         "steps": [{"delta": {"input_x": [{"doc": {"id": "a"}, "weight": 1}]}}],
         "error": "runtime"},
        {"name": "user-logic/lenient-select",
         "circuit": circuit(json!({"type": "select", "predicate": {"@eq": ["$.missing", 1]}, "lenient": true})),
         "steps": [{"delta": {"input_x": [{"doc": {"id": "a"}, "weight": 1}]},
                    "expected_outputs": {"output_x": []}}]},
        {"name": "user-logic/raw-project-null-drops",
         "circuit": circuit(json!({"type": "project", "projection": {"@cond": [{"@exists": "$.keep"}, {"a.b": "$.id"}, null]}})),
         "steps": [{"delta": {"input_x": [{"doc": {"id": "a", "keep": true}, "weight": 1},
                                          {"doc": {"id": "b"}, "weight": 1}]},
                    "expected_outputs": {"output_x": [{"doc": {"a": {"b": "a"}}, "weight": 1}]}}]},
        {"name": "user-logic/unwind-group",
         "circuit": {"name": "ug", "nodes": {
             "input_x": {"type": "input"},
             "u": {"type": "unwind", "field": "$.tags"},
             "g": {"type": "group_by", "keyExpr": "$.tags", "valueExpr": "$.id", "distinct": true},
             "output_x": {"type": "output"}},
           "edges": [{"from": "input_x", "to": "u", "port": 0},
                     {"from": "u", "to": "g", "port": 0},
                     {"from": "g", "to": "output_x", "port": 0}]},
         "steps": [{"delta": {"input_x": [{"doc": {"id": "a", "tags": ["x", "y"]}, "weight": 1},
                                          {"doc": {"id": "b", "tags": ["z"]}, "weight": 1}]},
                    "expected_outputs": {"output_x": [
                        {"doc": {"key": "x", "values": ["a"], "documents": [{"id": "a", "tags": "x"}]}, "weight": 1},
                        {"doc": {"key": "y", "values": ["a"], "documents": [{"id": "a", "tags": "y"}]}, "weight": 1},
                        {"doc": {"key": "z", "values": ["b"], "documents": [{"id": "b", "tags": "z"}]}, "weight": 1}]}}]}
    ]);
    let report = run_vectors(&cases.to_string()).unwrap();
    assert_eq!(report.kind, VectorKind::Transforms);
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| !matches!(r.outcome, deltaloop_pipeline::conformance::Outcome::Pass))
        .map(|r| format!("{}: {:?}", r.name, r.outcome))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(report.passed(), 5);
}

#[test]
fn a_malformed_user_logic_node_should_name_the_field() {
    let builder = Expressions::default();
    for (op, field) in [
        (json!({"type": "select"}), "\"predicate\""),
        (
            json!({"type": "select", "predicate": {"@nope": 1}}),
            "\"predicate\"",
        ),
        (
            json!({"type": "select", "predicate": true, "lenient": "yes"}),
            "\"lenient\"",
        ),
        (
            json!({"type": "project", "projection": [1], "fragments": true}),
            "\"projection\"[0]",
        ),
        (json!({"type": "unwind", "field": 3}), "\"field\""),
        (json!({"type": "unwind", "field": "$["}), "\"field\""),
        (
            json!({"type": "group_by", "valueExpr": "$.a"}),
            "\"keyExpr\"",
        ),
        (
            json!({"type": "group_by", "keyExpr": "$.a", "distinct": 1}),
            "\"distinct\"",
        ),
        (
            json!({"type": "equi_join", "leftNs": "a", "rightNs": "b", "leftKey": "$.k"}),
            "\"rightKey\"",
        ),
        (
            json!({"type": "equi_join_incremental", "rightNs": "b", "leftKey": "$.k", "rightKey": "$.k"}),
            "\"leftNs\"",
        ),
    ] {
        let err = load(&circuit(op.clone()), &builder)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("$.nodes[\"op\"]") && err.contains(field),
            "{op}: {err}"
        );
    }
}

/// Found by the `pipeline` fuzz target: `"@select"` (a null predicate, which drops every
/// row) saved as `"predicate": null`, which the loader refused.
#[test]
fn a_select_with_a_null_predicate_should_reload() {
    let options = CompileOptions::new("t")
        .input(Binding::new("a"))
        .output(Binding::new("out"));
    for stage in [json!("@select"), json!({"@project": {"x": null}})] {
        let p = compile(&json!([stage]), &options).unwrap();
        let again = reload(&p);
        let rows = vec![vec![("a", zset! { doc(r#"{"x": 1}"#) => 1 })]];
        assert_eq!(outputs(&p, &rows), outputs(&again, &rows), "{stage}");
    }
    let err = load(
        &circuit(json!({"type": "group_by", "keyExpr": null})),
        &Expressions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"keyExpr\""), "{err}");
}
