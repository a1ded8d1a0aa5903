//! `∫ ∘ Q^Δ = Q ∘ ∫`, step by step, on random delta sequences: for every operator alone and
//! for random compositions of them (with delays mixed in).
//!
//! ∫ and D are left out of the snapshot circuits: by the reference's convention (pinned by the
//! conformance vectors) they mark where a hand-written circuit crosses between the delta and
//! the snapshot domain, and the Incrementalizer replaces them by the identity. Their own
//! behaviour is tested in `transforms_vectors` and in the unit tests.

use deltaloop_engine::testing::{Step, check_incremental, steps_strategy};
use deltaloop_engine::{Circuit, Operator};
use proptest::prelude::*;

use crate::common::*;

fn rows() -> impl Strategy<Value = Row> + Clone {
    (0u8..4, 0u32..8)
}

fn steps() -> impl Strategy<Value = Vec<Step<Row>>> {
    steps_strategy(vec!["input_a".into(), "input_b".into()], rows(), 5, 6)
}

fn op_for(choice: u8) -> Operator<Row> {
    match choice % 16 {
        0 => map_op(),
        1 => filter_op(),
        2 => flat_map_op(),
        3 => Operator::Negate,
        4 => Operator::plus(),
        5 => Operator::minus(),
        6 => Operator::Cartesian(combine()),
        7 => Operator::EquiJoin(join_spec()),
        8 => Operator::Distinct,
        9 => Operator::LinearCombination(vec![3]),
        10 => Operator::Cartesian(combine()),
        11 => Operator::Delay,
        12 => Operator::Noop,
        13 => Operator::LinearCombination(vec![2, -1]),
        c => Operator::GroupBy(group_spec(c.wrapping_mul(7))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_operator_alone_should_match_its_snapshot(choice in 0u8..16, agg in 0u8..5, steps in steps()) {
        let op = if choice >= 14 { Operator::GroupBy(group_spec(agg)) } else { op_for(choice) };
        let kind = op.kind();
        check_incremental(&single(op), &steps).map_err(|e| TestCaseError::fail(format!("{kind}: {e}")))?;
    }

    #[test]
    fn random_compositions_should_match_their_snapshot(
        recipe in proptest::collection::vec((0u8..16, any::<u8>(), any::<u8>()), 1..7),
        steps in steps(),
    ) {
        let mut c: Circuit<Row> = Circuit::new("random");
        let mut nodes = vec![c.input("a").unwrap(), c.input("b").unwrap()];
        for (choice, x, y) in recipe {
            let op = op_for(choice);
            let a = nodes[usize::from(x) % nodes.len()].clone();
            let b = nodes[usize::from(y) % nodes.len()].clone();
            let inputs: Vec<&str> = match op.arity() { Some(2) => vec![&a, &b], _ => vec![&a] };
            nodes.push(c.add(op, &inputs).unwrap());
        }
        for (i, n) in nodes.iter().rev().take(3).enumerate() {
            c.output(&format!("y{i}"), n).unwrap();
        }
        check_incremental(&c, &steps).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn group_by_with_negative_members_should_match_snapshot() {
    // A group whose only member is retracted before it is inserted.
    let c = single(Operator::GroupBy(group_spec(4)));
    let step = |a: Vec<(Row, i64)>| -> Step<Row> {
        [("input_a".to_string(), a.into_iter().collect())]
            .into_iter()
            .collect()
    };
    let steps = vec![
        step(vec![((1, 2), -1)]),
        step(vec![((1, 2), 2), ((4, 3), 1)]),
        step(vec![((1, 2), -1)]),
    ];
    check_incremental(&c, &steps).unwrap();
}
