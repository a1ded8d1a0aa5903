//! `@groupBy` over large groups, whose lists are built in shared chunks from the previous
//! version (`List::collected`): the incremental integral equals the snapshot output on
//! random steps, and the lists of the incremental run really are chunked.

use deltaloop_engine::ZSet;
use deltaloop_pipeline::{Value, compile};
use serde_json::json;

use crate::aggregation_equijoin::{Lcg, options, outcome};

/// Random steps over one input: insertions of members of six groups (ids unique, some with
/// weight 2) and retractions of live ones, `per_step` changes a step.
fn steps(seed: u64, steps: usize, per_step: usize) -> Vec<Vec<(String, ZSet<Value>)>> {
    let mut rng = Lcg(seed);
    let mut live: Vec<(Value, i64)> = Vec::new();
    let mut id = 0;
    (0..steps)
        .map(|t| {
            let mut z = ZSet::new();
            // The first step loads 200 members a group; later ones insert and retract.
            let n = if t == 0 { 1200 } else { per_step };
            for _ in 0..n {
                if t > 0 && !live.is_empty() && rng.next(2) == 0 {
                    let i = usize::try_from(rng.next(live.len() as u64)).unwrap();
                    let (doc, w) = live.swap_remove(i);
                    z.insert(doc, -w);
                } else {
                    id += 1;
                    let doc = Value::from(&json!({
                        "id": id,
                        "group": rng.next(6),
                        "ip": format!("10.0.{}.{}", rng.next(4), rng.next(250)),
                    }));
                    let w = if rng.next(8) == 0 { 2 } else { 1 };
                    z.insert(doc.clone(), w);
                    live.push((doc, w));
                }
            }
            vec![("input".to_owned(), z)]
        })
        .collect()
}

/// Runs `pipeline` both ways and checks every step; returns how many output lists of the
/// incremental run were chunked.
fn check(pipeline: serde_json::Value, seed: u64, per_step: usize) -> usize {
    let p = compile(&pipeline, &options(&["input"])).unwrap();
    let (snaps, incs) = outcome(&p, &steps(seed, 30, per_step));
    let mut chunked = 0;
    for (t, (snap, inc)) in snaps.iter().zip(&incs).enumerate() {
        let snap = snap
            .as_ref()
            .unwrap_or_else(|| panic!("snapshot step {t} failed"));
        assert_eq!(
            inc.as_ref(),
            Some(snap),
            "incremental integral differs at step {t}"
        );
        for (row, _) in inc.iter().flat_map(ZSet::iter) {
            if let Some(Value::List(l)) = row.get("values") {
                chunked += usize::from(l.is_chunked());
            }
        }
    }
    chunked
}

#[test]
fn large_groups_should_give_the_snapshot_output_incrementally() {
    for (seed, per_step) in [(1, 1), (2, 3), (3, 20), (4, 200)] {
        let chunked = check(json!([{"@groupBy": ["$.group", "$.ip"]}]), seed, per_step);
        assert!(chunked > 0, "no chunked list with seed {seed}");
    }
}

#[test]
fn large_groups_with_documents_and_distinct_should_give_the_snapshot_output() {
    // `documents` kept (the whole rows), and distinct values (IPs repeat now and then).
    let kept = json!([
        {"@groupBy": ["$.group", "$.ip"]},
        {"@project": {"key": "$.key", "values": "$.values", "n": {"@len": "$.documents"}}}
    ]);
    assert!(check(kept, 5, 4) > 0);
    let distinct = json!([{"@groupBy": ["$.group", "$.ip", {"distinct": true}]}]);
    assert!(check(distinct, 6, 4) > 0);
}

#[test]
fn a_project_fused_into_the_group_by_should_change_nothing_but_the_circuit() {
    let projections = [
        // The Endpoints shape: the list lands nested, where the group-by finds the previous
        // one to share chunks with.
        json!({"metadata": {"name": "$.key"}, "subsets": [{"addresses": "$.values"}]}),
        // Fails (division by zero) on the steps where group 5 has an odd number of members.
        json!({"n": {"@cond": [
            {"@and": [{"@eq": ["$.key", 5]}, {"@eq": [{"@mod": [{"@len": "$.values"}, 2]}, 1]}]},
            {"@div": [1, 0]},
            {"@len": "$.values"}
        ]}}),
        // Reads `documents`, so the group-by keeps them.
        json!({"key": "$.key", "docs": {"@len": "$.documents"}, "values": "$.values"}),
    ];
    for (i, projection) in projections.into_iter().enumerate() {
        let group = json!({"@groupBy": ["$.group", "$.ip"]});
        let fused = compile(
            &json!([group, {"@project": projection}]),
            &options(&["input"]),
        )
        .unwrap();
        assert!(
            !fused
                .circuit()
                .nodes()
                .any(|(_, op)| op.kind() == "project"),
            "the @project should run inside the @groupBy"
        );
        // A `@select` of `true` in between keeps the `@project` a stage of its own.
        let separate = compile(
            &json!([group, {"@select": true}, {"@project": projection}]),
            &options(&["input"]),
        )
        .unwrap();
        assert!(
            separate
                .circuit()
                .nodes()
                .any(|(_, op)| op.kind() == "project")
        );
        for seed in [7, 8] {
            let steps = steps(seed, 30, 5);
            let (fused, separate) = (outcome(&fused, &steps), outcome(&separate, &steps));
            assert_eq!(fused, separate, "projection {i}, seed {seed}");
            if i == 1 {
                assert!(fused.0.iter().any(Option::is_none), "no step failed");
                assert!(fused.0.iter().any(Option::is_some), "every step failed");
            }
        }
    }
}

#[test]
fn a_project_before_the_group_by_should_run_inside_it_only_when_exact() {
    let kinds = |pipeline: serde_json::Value| -> Vec<&'static str> {
        let p = compile(&pipeline, &options(&["input"])).unwrap();
        p.circuit().nodes().map(|(_, op)| op.kind()).collect()
    };
    let project = json!({"@project": {"g": "$.group", "ip": "$.ip", "id": "$.id"}});
    // Key and value arrange every projected field, and the `@project` after the group-by
    // reads only `key` and `values`: one group-by node, in which both `@project`s run.
    let both = kinds(json!([
        project,
        {"@groupBy": ["$.g", {"ip": "$.ip", "id": ["$.id"]}]},
        {"@project": {"metadata": "$.key", "addresses": "$.values"}}
    ]));
    assert_eq!(
        both.iter().filter(|k| **k == "group_by").count(),
        1,
        "{both:?}"
    );
    assert!(!both.contains(&"project"), "{both:?}");
    // The group-by's rows are the output, `documents` included: it needs the projected rows.
    let last = kinds(json!([project, {"@groupBy": ["$.g", {"ip": "$.ip", "id": "$.id"}]}]));
    assert!(last.contains(&"project"), "{last:?}");
    // Each of these keeps the `@project` a stage of its own.
    for group_by in [
        // `id` is not read: its errors must still fail the step.
        json!({"@groupBy": ["$.g", "$.ip"]}),
        // The value is the whole projected row.
        json!({"@groupBy": ["$.g", null]}),
        // A computed key.
        json!({"@groupBy": [{"@concat": ["$.g", "$.ip"]}, "$.id"]}),
        // A path below a projected field.
        json!({"@groupBy": ["$.g", ["$.ip.x", "$.ip", "$.id"]]}),
    ] {
        let separate = kinds(json!([project, group_by.clone(), {"@project": {"v": "$.values"}}]));
        assert!(separate.contains(&"project"), "{group_by}: {separate:?}");
    }
    // `documents` read later: the group-by needs the projected rows.
    let documents = kinds(json!([
        project,
        {"@groupBy": ["$.g", {"ip": "$.ip", "id": "$.id"}]},
        {"@project": {"n": {"@len": "$.documents"}}}
    ]));
    assert!(documents.contains(&"project"), "{documents:?}");
    // A `$.`-merge or a nested key in the projection.
    for projection in [
        json!({"$.": "$.x", "g": "$.group"}),
        json!({"a.g": "$.group", "ip": "$.ip"}),
    ] {
        let separate = kinds(json!([
            {"@project": projection},
            {"@groupBy": ["$.g", "$.ip"]},
            {"@project": {"v": "$.values"}}
        ]));
        assert!(separate.contains(&"project"), "{separate:?}");
    }
}
