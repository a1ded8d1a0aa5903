//! Fused row-wise chains give exactly what running the nodes one by one gives.
//!
//! An executor with an observer installed runs every node on its own; without one it runs
//! chains of `map`/`filter`/`flat_map` in one pass. Both run the same random chains on the
//! same random deltas; outputs, errors and the failing node must agree at every step.

use deltaloop_engine::{Circuit, Error, Executor, MapFn, Operator, ZSet};
use proptest::prelude::*;

use crate::common::*;

/// A map that fails on rows with value 6 (an error a fused pass may meet on a row that
/// node-by-node consolidation would have cancelled).
fn failing_map() -> Operator<Row> {
    Operator::Map(MapFn::new("fail-on-6", |r: &Row| {
        if r.1 == 6 {
            Err("value 6 is not allowed".into())
        } else {
            Ok(Some(*r))
        }
    }))
}

/// Collapses every row onto value `r.1 % 7` (so `+a`, `−b` can cancel after it).
fn collapse() -> Operator<Row> {
    Operator::Map(MapFn::new("v%7", |r: &Row| Ok(Some((r.0, r.1 % 7)))))
}

fn op_for(choice: u8) -> Operator<Row> {
    match choice % 5 {
        0 => map_op(),
        1 => filter_op(),
        2 => flat_map_op(),
        3 => failing_map(),
        _ => collapse(),
    }
}

fn chain_circuit(recipe: &[u8]) -> Circuit<Row> {
    let mut c: Circuit<Row> = Circuit::new("chain");
    let mut last = c.input("a").unwrap();
    for (i, choice) in recipe.iter().enumerate() {
        let next = c.add(op_for(*choice), &[&last]).unwrap();
        // Every third node also feeds an output of its own, which must break the chain.
        if i % 3 == 2 {
            c.output(&format!("tap{i}"), &next).unwrap();
        }
        last = next;
    }
    c.output("y", &last).unwrap();
    c
}

/// One step's outputs (sorted, per output id), or the id of the node that failed.
type StepResult = Result<Vec<(String, Vec<(Row, i64)>)>, String>;

/// Each step's outputs, or the failing node.
fn run(exec: &mut Executor<Row>, steps: &[Vec<(Row, i64)>]) -> Vec<StepResult> {
    let outputs: Vec<String> = exec.circuit().outputs();
    steps
        .iter()
        .map(|delta| {
            exec.feed("a", delta.iter().cloned().collect::<ZSet<Row>>())
                .unwrap();
            match exec.step() {
                Ok(()) => Ok(outputs
                    .iter()
                    .map(|o| (o.clone(), exec.output(o).unwrap().to_sorted_vec()))
                    .collect()),
                Err(Error::Operator { node, .. }) => Err(node),
                Err(e) => Err(e.to_string()),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fused_chains_should_match_node_by_node(
        recipe in proptest::collection::vec(0u8..5, 1..7),
        steps in proptest::collection::vec(
            proptest::collection::vec(((0u8..3, 0u32..14), -2i64..=2), 0..8), 1..6),
    ) {
        let c = chain_circuit(&recipe);
        let mut fused = Executor::new(c.clone()).unwrap();
        let mut plain = Executor::new(c).unwrap();
        plain.set_observer(Some(Box::new(|_, _, _| {})));
        prop_assert_eq!(run(&mut fused, &steps), run(&mut plain, &steps));
    }
}

#[test]
fn a_row_cancelled_between_nodes_should_not_fail_the_fused_chain() {
    // +(0,13) and −(0,6) both become (0,6) after `collapse`, which cancels before
    // `failing_map` in a node-by-node run: no error, and an empty output.
    let mut c: Circuit<Row> = Circuit::new("cancel");
    let a = c.input("a").unwrap();
    let x = c.add(collapse(), &[&a]).unwrap();
    let y = c.add(failing_map(), &[&x]).unwrap();
    c.output("y", &y).unwrap();
    let mut exec = Executor::new(c).unwrap();
    exec.feed("a", [((0, 13), 1), ((0, 6), -1)].into_iter().collect())
        .unwrap();
    exec.step().unwrap();
    assert!(exec.output("y").unwrap().is_empty());
    // A row that does reach it fails the step, naming that node.
    exec.feed("a", [((0, 13), 1)].into_iter().collect())
        .unwrap();
    match exec.step() {
        Err(Error::Operator { node, .. }) => assert_eq!(node, y),
        other => panic!("expected an operator error, got {other:?}"),
    }
}
