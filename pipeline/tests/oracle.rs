//! The pipeline-level oracle: for fixed pipeline shapes and random documents and delta
//! sequences, the *incrementalized* compiled pipeline (integrated over the steps) and the
//! snapshot pipeline (run on the integrated inputs) must both equal the naive
//! [`reference`](crate::reference) evaluation of the integrated inputs, step by step.
//!
//! Documents come from small domains (`{metadata: {name, namespace}, spec: {app, n, tags?},
//! status?: {phase}}`) so that joins and groups collide. Deltas insert documents (weight 1
//! or 2) and retract live ones, so integrated weights stay positive, as for real sources.

use deltaloop_engine::{Chain, Incrementalizer, ZSet};
use deltaloop_pipeline::{Binding, CompileOptions, CompiledPipeline, Value, compile};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value as Json, json};

use crate::reference::{Bag, add, bag_of, evaluate, normalize};

/// A random document from small domains.
fn doc() -> impl Strategy<Value = Json> {
    (
        prop::sample::select(vec!["a", "b", "c", "d"]),
        prop::sample::select(vec!["x", "y"]),
        prop::sample::select(vec!["web", "db", "cache"]),
        prop_oneof![
            (0i64..4).prop_map(Json::from),
            Just(json!(2.0)),
            Just(json!(1.5))
        ],
        prop::option::of(prop::sample::select(vec!["Running", "Pending"])),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec!["t1", "t2", "t3"]),
            0..3,
        )),
    )
        .prop_map(|(name, ns, app, n, phase, tags)| {
            let mut d = json!({"metadata": {"name": name, "namespace": ns},
                               "spec": {"app": app, "n": n}});
            if let Some(phase) = phase {
                d["status"] = json!({ "phase": phase });
            }
            if let Some(tags) = tags {
                d["spec"]["tags"] = json!(tags);
            }
            d
        })
}

/// One change: insert `doc` at weight 1 or 2 into input `input`, or (when `retract`)
/// retract a live row of that input, chosen by `which`.
type Change = (usize, Json, i64, bool, Index);

fn steps(inputs: usize) -> impl Strategy<Value = Vec<Vec<Change>>> {
    let change = (
        0..inputs,
        doc(),
        1i64..=2,
        prop::bool::weighted(0.3),
        any::<Index>(),
    );
    prop::collection::vec(prop::collection::vec(change, 0..5), 1..7)
}

/// The per-step deltas of `changes`, keeping every integrated weight positive.
fn deltas(names: &[&str], changes: &[Vec<Change>]) -> Vec<Vec<ZSet<Value>>> {
    let mut live: Vec<Bag> = vec![Bag::new(); names.len()];
    changes
        .iter()
        .map(|step| {
            let mut out = vec![ZSet::new(); names.len()];
            for (input, d, w, retract, which) in step {
                let bag = &mut live[*input];
                let (row, w) = if *retract && !bag.is_empty() {
                    let (row, have) = bag.iter().nth(which.index(bag.len())).unwrap();
                    (row.clone(), -(*have).min(*w))
                } else {
                    (Value::from(d), *w)
                };
                add(bag, row.clone(), w);
                out[*input].insert(row, w);
            }
            out
        })
        .collect()
}

fn compiled(pipeline: &Json, names: &[&str]) -> CompiledPipeline {
    let mut options = CompileOptions::new("oracle").output(Binding::new("out"));
    for n in names {
        options = options.input(Binding::new(*n));
    }
    compile(pipeline, &options).unwrap()
}

const NOW: &str = "2024-01-01T00:00:00Z";

/// Runs the oracle for one pipeline and one random delta sequence.
fn check(pipeline: &Json, names: &[&str], changes: &[Vec<Change>]) -> Result<(), TestCaseError> {
    let snapshot = compiled(pipeline, names);
    let incremental = snapshot
        .transform(&Chain::new(vec![Incrementalizer.into()]).unwrap())
        .unwrap();
    let mut inc = incremental.runner().unwrap();
    let mut totals: Vec<Bag> = vec![Bag::new(); names.len()];
    for (t, step) in deltas(names, changes).into_iter().enumerate() {
        for (total, delta) in totals.iter_mut().zip(&step) {
            for (row, w) in delta.iter() {
                add(total, row.clone(), w);
            }
        }
        let named: Vec<(&str, Bag)> = names.iter().copied().zip(totals.iter().cloned()).collect();
        let expected = evaluate(pipeline, &named);

        let inc_result = inc.step_at(NOW, names.iter().copied().zip(step));
        let mut snap = snapshot.runner().unwrap();
        let snap_result = snap.step_at(
            NOW,
            names.iter().copied().zip(totals.iter().map(|b| {
                b.iter()
                    .map(|(v, w)| (v.clone(), *w))
                    .collect::<ZSet<Value>>()
            })),
        );
        match expected {
            Ok(expected) => {
                let expected = normalize(&expected);
                let snap_out = snap_result
                    .map_err(|e| TestCaseError::fail(format!("step {t}: snapshot failed: {e}")))?;
                prop_assert_eq!(
                    &normalize(&bag_of(&snap_out["out"])),
                    &expected,
                    "snapshot at step {}",
                    t
                );
                inc_result.map_err(|e| {
                    TestCaseError::fail(format!("step {t}: incremental failed: {e}"))
                })?;
                prop_assert_eq!(
                    &normalize(&bag_of(inc.snapshot("out").unwrap())),
                    &expected,
                    "incremental integral at step {}",
                    t
                );
            }
            Err(e) => {
                // The reference fails the step: so must the implementation (the incremental
                // runner is then rolled back and no longer comparable).
                prop_assert!(
                    snap_result.is_err(),
                    "step {}: reference failed ({}) but the snapshot ran",
                    t,
                    e
                );
                return Ok(());
            }
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn select_project(changes in steps(1)) {
        let p = json!([
            {"@select": {"@eq": ["$.status.phase", "Running"]}},
            {"@project": {"name": "$.metadata.name", "$.spec.app": "$.spec.app", "n": "$.spec.n"}}
        ]);
        check(&p, &["pods"], &changes)?;
    }

    #[test]
    fn project_merge_then_distinct(changes in steps(1)) {
        let p = json!([
            {"@project": [{"$.": "$.spec"}, {"tags": null, "ns": "$.metadata.namespace"}]},
            "@distinct"
        ]);
        check(&p, &["pods"], &changes)?;
    }

    #[test]
    fn project_then_group_by_run_as_one_stage(changes in steps(1)) {
        // Key and value read every projected field whole, so the `@project` runs inside the
        // `@groupBy` (which tells members apart by value; `n` is 2 or 2.0 now and then, equal
        // rows): the same groups and lists, as multisets, as the reference's two stages.
        let p = json!([
            {"@project": {"app": "$.spec.app", "ns": "$.metadata.namespace", "n": "$.spec.n",
                          "name": "$.metadata.name"}},
            {"@groupBy": [{"app": "$.app", "ns": "$.ns"}, {"n": "$.n", "who": ["$.name", 1]}]},
            {"@project": {"metadata": "$.key", "items": "$.values"}}
        ]);
        check(&p, &["pods"], &changes)?;
    }

    #[test]
    fn project_then_group_by_run_as_one_stage_fail_as_the_projection(changes in steps(1)) {
        // `status` is missing on some documents: the projection fails those steps, as its
        // own stage would; with `distinct`, phases repeat.
        let p = json!([
            {"@project": {"app": "$.spec.app", "phase": "$.status.phase"}},
            {"@groupBy": ["$.app", "$.phase", {"distinct": true}]}
        ]);
        check(&p, &["pods"], &changes)?;
    }

    #[test]
    fn unwind_group_by(changes in steps(1)) {
        let p = json!([
            {"@unwind": "$.spec.tags"},
            {"@groupBy": ["$.spec.tags", "$.metadata.name"]}
        ]);
        check(&p, &["pods"], &changes)?;
    }

    #[test]
    fn group_by_distinct_then_project(changes in steps(1)) {
        let p = json!([
            {"@select": {"@gte": ["$.spec.n", 1]}},
            {"@groupBy": ["$.metadata.namespace", "$.spec.app", {"distinct": true}]},
            {"@project": {"ns": "$.key", "apps": "$.values", "count": {"@len": "$.documents"}}}
        ]);
        check(&p, &["pods"], &changes)?;
    }

    #[test]
    fn eq_join_project(changes in steps(2)) {
        let p = json!([
            {"@join": {"@and": [
                {"@eq": ["$.pods.spec.app", "$.svcs.spec.app"]},
                {"@eq": ["$.pods.metadata.namespace", "$.svcs.metadata.namespace"]}
            ]}},
            {"@project": {"pod": "$.pods.metadata.name", "svc": "$.svcs.metadata.name",
                          "n": "$.pods.spec.n"}}
        ]);
        check(&p, &["pods", "svcs"], &changes)?;
    }

    #[test]
    fn eq_join_on_numbers_group_by(changes in steps(2)) {
        let p = json!([
            {"@join": {"@eq": ["$.pods.spec.n", "$.svcs.spec.n"]}},
            {"@groupBy": ["$.svcs.metadata.name", "$.pods.metadata.name"]}
        ]);
        check(&p, &["pods", "svcs"], &changes)?;
    }

    #[test]
    fn cartesian_join_select_distinct(changes in steps(2)) {
        let p = json!([
            {"@join": {"@lt": ["$.pods.spec.n", "$.svcs.spec.n"]}},
            {"@select": {"@eq": ["$.pods.status.phase", "Running"]}},
            {"@project": {"pod": "$.pods.metadata.name", "svc": "$.svcs.metadata.name"}},
            "@distinct"
        ]);
        check(&p, &["pods", "svcs"], &changes)?;
    }

    #[test]
    fn soft_join(changes in steps(2)) {
        let p = json!([
            {"@join": [{"@eq": ["$.pods.spec.app", "$.svcs.spec.app"]}, {"soft": ["svcs"]}]},
            {"@project": {"pod": "$.pods.metadata.name",
                          "svc": {"@definedOr": ["$.svcs.metadata.name", null]}}}
        ]);
        check(&p, &["pods", "svcs"], &changes)?;
    }

    #[test]
    fn three_way_join_group_by(changes in steps(3)) {
        let p = json!([
            {"@join": {"@and": [
                {"@eq": ["$.a.spec.app", "$.b.spec.app"]},
                {"@eq": ["$.b.metadata.name", "$.c.metadata.name"]}
            ]}},
            {"@groupBy": ["$.a.spec.app", "$.c.spec.n", {"distinct": true}]}
        ]);
        check(&p, &["a", "b", "c"], &changes)?;
    }
}
