//! `@select` stages right after a `@join` move before it when their predicate reads one
//! participant and can fail only with field-not-found: the circuit changes, the results
//! (and which steps fail) do not, in snapshot and incremental mode.

use deltaloop_engine::ZSet;
use deltaloop_pipeline::{CompiledPipeline, compile};
use serde_json::{Value as Json, json};

use crate::aggregation_equijoin::{Lcg, options, outcome, random_steps};

fn ids(p: &CompiledPipeline) -> Vec<String> {
    let mut ids: Vec<String> = p
        .circuit()
        .nodes()
        .filter(|(id, _)| id.starts_with("b0_op"))
        .map(|(id, _)| id.to_owned())
        .collect();
    ids.sort();
    ids
}

fn compiled(stages: Json) -> CompiledPipeline {
    compile(&stages, &options(&["a", "b"])).unwrap()
}

const JOIN: &str = r#"{"@join": {"@eq": ["$.a.id", "$.b.id"]}}"#;

fn join() -> Json {
    serde_json::from_str(JOIN).unwrap()
}

#[test]
fn total_select_on_one_input_should_move_before_the_join() {
    let p = compiled(json!([join(), {"@select": {"@eq": ["$.a.k", 1]}}]));
    assert_eq!(ids(&p), ["b0_op_1_pushed"]);
    // It filters input `a`'s own documents, before the equi-join site that wraps them.
    let wire = deltaloop_pipeline::ops::wire_json(p.circuit().node("b0_op_1_pushed").unwrap());
    assert_eq!(wire.unwrap()["predicate"], json!({"@eq": ["$.k", 1]}));
    // Before a Cartesian site, the participant is wrapped and the predicate kept as is.
    let p = compiled(json!([
        {"@join": {"@gt": ["$.a.id", "$.b.id"]}},
        {"@select": {"@eq": ["$.a.k", 1]}}
    ]));
    let wire = deltaloop_pipeline::ops::wire_json(p.circuit().node("b0_op_1_pushed").unwrap());
    assert_eq!(wire.unwrap()["predicate"], json!({"@eq": ["$.a.k", 1]}));
    assert!(p.circuit().contains("b0_ns_0_a"));
}

#[test]
fn total_prefix_of_an_and_should_move_and_the_rest_stay() {
    let p = compiled(json!([join(), {"@select": {"@and": [
        {"@eq": ["$.b.k", 1]},
        {"@not": {"@exists": "$.a.k"}},
        {"@gt": ["$.a.k", 0]},
        {"@eq": ["$.a.k", 2]}
    ]}}]));
    assert_eq!(ids(&p), ["b0_op_1", "b0_op_1_pushed_0", "b0_op_1_pushed_1"]);
    let rest = deltaloop_pipeline::ops::wire_json(p.circuit().node("b0_op_1").unwrap());
    assert_eq!(
        rest.unwrap()["predicate"],
        json!({"@and": [{"@gt": ["$.a.k", 0]}, {"@eq": ["$.a.k", 2]}]})
    );
}

#[test]
fn selects_that_could_fail_or_read_both_inputs_should_stay_after_the_join() {
    for select in [
        json!({"@gt": ["$.a.k", 0]}),
        json!({"@eq": ["$.a.k", "$.b.k"]}),
        json!({"@and": [{"@add": ["$.a.id", 1]}, {"@eq": ["$.a.k", 1]}]}),
        json!({"@and": ["$.a.float", {"@eq": ["$.a.k", 1]}]}),
        json!({"@eq": ["$..k", 1]}),
        json!({"@eq": ["$", 1]}),
        json!(true),
    ] {
        let p = compiled(json!([join(), {"@select": select.clone()}]));
        assert_eq!(ids(&p), ["b0_op_1"], "{select}");
    }
    // Not right after the join, or with a soft participant: nothing moves.
    let p =
        compiled(json!([join(), {"@project": {"$.": "$."}}, {"@select": {"@eq": ["$.a.k", 1]}}]));
    assert_eq!(ids(&p), ["b0_op_1", "b0_op_2"]);
    let p = compiled(json!([
        {"@join": [{"@eq": ["$.a.id", "$.b.id"]}, {"soft": ["b"]}]},
        {"@select": {"@eq": ["$.a.k", 1]}}
    ]));
    assert_eq!(ids(&p), ["b0_op_1"]);
}

#[test]
fn consecutive_selects_should_move_until_one_stays() {
    let p = compiled(json!([
        join(),
        {"@select": {"@eq": ["$.a.k", 1]}},
        {"@select": {"@and": [{"@eq": ["$.b.k", 2]}, {"@gt": ["$.b.k", 1]}]}},
        {"@select": {"@eq": ["$.a.k", 1]}}
    ]));
    assert_eq!(
        ids(&p),
        ["b0_op_1_pushed", "b0_op_2", "b0_op_2_pushed_0", "b0_op_3"]
    );
}

/// The pipeline `[@join, …selects]` gives the same outcome as the same pipeline with an
/// identity `@project` after the join, where nothing can move; `moves`, when given, says
/// whether something must have moved. Returns the number of output rows seen.
fn same_as_unmoved(selects: &[Json], moves: Option<bool>) -> usize {
    let mut moved = vec![join()];
    moved.extend(selects.iter().cloned());
    let mut kept = vec![join(), json!({"@project": {"$.": "$."}})];
    kept.extend(selects.iter().cloned());
    let (moved, kept) = (compiled(Json::Array(moved)), compiled(Json::Array(kept)));
    if let Some(moves) = moves {
        assert_eq!(
            ids(&moved).iter().any(|id| id.contains("pushed")),
            moves,
            "{selects:?}: {:?}",
            ids(&moved)
        );
    }
    let mut rows = 0;
    for seed in 1..=16 {
        let steps = random_steps(seed, &["a", "b"], 8);
        let got = outcome(&moved, &steps);
        assert_eq!(got, outcome(&kept, &steps), "{selects:?}, seed {seed}");
        rows += got.0.iter().flatten().map(ZSet::len).sum::<usize>();
    }
    rows
}

/// [`same_as_unmoved`], and the random inputs produce rows.
fn assert_same_as_unmoved(selects: &[Json], moves: bool) {
    let rows = same_as_unmoved(selects, Some(moves));
    assert!(
        rows > 0,
        "{selects:?}: the random inputs should produce rows"
    );
}

#[test]
fn moved_selects_should_give_the_results_of_unmoved_ones() {
    for selects in [
        vec![json!({"@select": {"@eq": ["$.a.k", 1]}})],
        vec![json!({"@select": "$.a.float"})],
        vec![json!({"@select": {"@or": [{"@eq": ["$.b.k", "1"]}, {"@neq": ["$.b.k", null]}]}})],
        vec![json!({"@select": {"@not": {"@exists": "$.a.k"}}})],
        vec![json!({"@select": {"@and": [{"@eq": ["$.a.k", 2]}, {"@gte": ["$.b.id", "$.a.id"]}]}})],
        vec![
            json!({"@select": {"@eq": ["$.b.k", 1]}}),
            json!({"@select": {"@and": [{"@neq": ["$.a.k", null]}, {"@eq": ["$.b.k", "$.a.k"]}]}}),
        ],
    ] {
        assert_same_as_unmoved(&selects, true);
    }
}

#[test]
fn failures_should_stay_where_they_were() {
    // `@gt` fails on the strings, nulls and maps among the random keys: only on joined rows
    // that get that far, both when nothing moves and when a total conjunct before it moves.
    let mut failing = 0;
    for (selects, moves) in [
        (
            vec![json!({"@select": {"@and": [{"@eq": ["$.b.k", 1]}, {"@gt": ["$.a.k", 0]}]}})],
            true,
        ),
        (
            vec![json!({"@select": {"@and": [{"@gt": ["$.a.k", 0]}, {"@eq": ["$.b.k", 1]}]}})],
            false,
        ),
        (
            vec![
                json!({"@select": {"@eq": ["$.b.k", 2]}}),
                json!({"@select": {"@gt": ["$.a.k", 0]}}),
            ],
            true,
        ),
    ] {
        assert_same_as_unmoved(&selects, moves);
        let mut p = vec![join()];
        p.extend(selects);
        let p = compiled(Json::Array(p));
        failing += (1..=16)
            .filter(|seed| {
                outcome(&p, &random_steps(*seed, &["a", "b"], 8))
                    .0
                    .iter()
                    .any(Option::is_none)
            })
            .count();
    }
    assert!(failing > 0, "some random steps should fail");
}

/// A random predicate over the two inputs' fields: total operators, operators that fail on
/// some of the random keys (`@gt` on strings, nulls and maps; `@add`), non-boolean operands
/// under `@and`/`@or`/`@not`, paths into one input or both, missing fields.
fn random_predicate(rng: &mut Lcg, depth: u32) -> Json {
    const PATHS: [&str; 9] = [
        "$.a.k",
        "$.a.id",
        "$.b.k",
        "$.b.id",
        "$.a.float",
        "$.a.missing",
        "$.b",
        "$[\"a\"][\"k\"]",
        "$.b[\"id\"]",
    ];
    let path = |rng: &mut Lcg| json!(PATHS[usize::try_from(rng.next(9)).unwrap()]);
    let constant = |rng: &mut Lcg| {
        [json!(1), json!("1"), Json::Null, json!(2.0)][usize::try_from(rng.next(4)).unwrap()]
            .clone()
    };
    let pick = if depth == 0 {
        rng.next(7)
    } else {
        rng.next(10)
    };
    match pick {
        0 => json!({"@eq": [path(rng), constant(rng)]}),
        1 => json!({"@neq": [path(rng), path(rng)]}),
        2 => json!({"@exists": path(rng)}),
        3 => json!({"@gt": [path(rng), constant(rng)]}),
        4 => json!({"@eq": [{"@add": [path(rng), 1]}, 2]}),
        5 => path(rng),
        6 => json!(rng.next(2) == 0),
        7 | 8 => {
            let op = if pick == 7 { "@and" } else { "@or" };
            let n = 1 + rng.next(3);
            let args: Vec<Json> = (0..n).map(|_| random_predicate(rng, depth - 1)).collect();
            json!({ op: args })
        }
        _ => json!({"@not": random_predicate(rng, depth - 1)}),
    }
}

#[test]
fn random_selects_should_give_the_results_of_unmoved_ones() {
    let mut rng = Lcg(7);
    let (mut moved, mut with_rows) = (0, 0);
    for _ in 0..80 {
        let n = 1 + rng.next(2);
        let selects: Vec<Json> = (0..n)
            .map(|_| json!({"@select": random_predicate(&mut rng, 2)}))
            .collect();
        let mut p = vec![join()];
        p.extend(selects.iter().cloned());
        if ids(&compiled(Json::Array(p)))
            .iter()
            .any(|id| id.contains("pushed"))
        {
            moved += 1;
        }
        if same_as_unmoved(&selects, None) > 0 {
            with_rows += 1;
        }
    }
    assert!(
        moved > 10,
        "the random predicates should often move ({moved} of 80)"
    );
    assert!(
        with_rows > 10,
        "the random predicates should often keep rows ({with_rows} of 80)"
    );
}
