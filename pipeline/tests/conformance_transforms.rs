//! Runs every case of `conformance/transforms.json` through the wire loader and the
//! transform chain parser, as `deltaloop conformance` does.

use deltaloop_pipeline::conformance::{VectorKind, run_vectors};

#[test]
fn every_transforms_vector_should_pass() {
    let report = run_vectors(include_str!("conformance/transforms.json")).unwrap();
    assert_eq!(report.kind, VectorKind::Transforms);
    let failures: Vec<String> = report
        .failures()
        .map(|r| format!("{}: {:?}", r.name, r.outcome))
        .collect();
    assert!(failures.is_empty(), "failed:\n{}", failures.join("\n"));
    assert_eq!(report.passed(), report.results.len());
    assert!(report.results.len() >= 19);
}

#[test]
fn a_circuit_should_survive_a_wire_round_trip() {
    use deltaloop_pipeline::wire::{NoUserLogic, load, save};
    let text = include_str!("conformance/transforms.json");
    let cases: serde_json::Value = serde_json::from_str(text).unwrap();
    for case in cases.as_array().unwrap() {
        let circuit = load(&case["circuit"], &NoUserLogic).unwrap();
        let again = load(&save(&circuit), &NoUserLogic).unwrap();
        assert_eq!(save(&circuit), save(&again), "{}", case["name"]);
        assert_eq!(circuit.edges().len(), again.edges().len());
    }
}

#[test]
fn a_malformed_circuit_should_name_the_json_path() {
    use deltaloop_pipeline::wire::{NoUserLogic, load};
    let bad = serde_json::json!({"name": "x", "nodes": {"a": {"type": "frobnicate"}}, "edges": []});
    let err = load(&bad, &NoUserLogic).unwrap_err().to_string();
    assert!(
        err.contains("$.nodes[\"a\"].type") && err.contains("frobnicate"),
        "{err}"
    );
    let bad = serde_json::json!({"name": "x", "nodes": {"a": {"type": "input"}}, "edges": [{"from": "a", "to": "b"}]});
    let err = load(&bad, &NoUserLogic).unwrap_err().to_string();
    assert!(err.contains("$.edges[0]") && err.contains("\"b\""), "{err}");
}
