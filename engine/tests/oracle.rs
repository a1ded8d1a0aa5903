//! `∫ ∘ Q^Δ = Q ∘ ∫`, step by step, on random delta sequences: for every operator alone and
//! for random compositions of them (with delays mixed in).
//!
//! ∫ and D are left out of the snapshot circuits: by the reference's convention (pinned by the
//! conformance vectors) they mark where a hand-written circuit crosses between the delta and
//! the snapshot domain, and the Incrementalizer replaces them by the identity. Their own
//! behaviour is tested in `transforms_vectors` and in the unit tests.

use std::sync::Arc;

use deltaloop_engine::testing::{Step, check_against, check_incremental};
use deltaloop_engine::{
    Aggregate, Circuit, Collect, GroupFn, GroupSpec, Incrementalizer, MapFn, MemberIdentity,
    Operator, Transform,
};
use proptest::prelude::*;

use crate::common::*;

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
        let c = random_circuit(&recipe, op_for);
        check_incremental(&c, &steps).map_err(TestCaseError::fail)?;
    }
}

/// Aggregates that read only the group's member values (`aggregate`'s four scalar ones, and
/// a `Collect` over the values that ignores their order, which is the members' and depends
/// on what identifies them), so they cannot tell rows from values.
fn value_aggregate(which: u8) -> Arc<dyn Aggregate<Row>> {
    if which % 5 < 4 {
        return aggregate(which);
    }
    Arc::new(Collect::new(false, |k: &Row, values, _rows| {
        let h = values
            .iter()
            .fold(17u32, |h, v| h.wrapping_add(v.1 * v.1 + 3));
        Ok((k.0, h % 1000))
    }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A group-by whose members are told apart by their values is the group-by of the rows
    /// mapped to (key, value) first: rows with equal values add their weights (cancelling
    /// ones contribute nothing) before the group sees them. Checked for the incremental form
    /// against the mapped snapshot, on random deltas with negative weights.
    #[test]
    fn value_identity_should_equal_mapping_rows_first(which in 0u8..5, steps in steps()) {
        // Key r.0 % 3, value (0, r.1): the mapped row (r.0 % 3, r.1) is (key, value).
        let key_value = |r: &Row| Ok(((r.0 % 3, 0), (0, r.1)));
        let by_value = single(Operator::GroupBy(GroupSpec {
            group: GroupFn::new("k%3", key_value),
            aggregate: value_aggregate(which),
            identity: MemberIdentity::Value,
        }));
        let mut mapped: Circuit<Row> = Circuit::new("mapped");
        let a = mapped.input("a").unwrap();
        mapped.input("b").unwrap();
        let m = mapped
            .add(Operator::Map(MapFn::new("key and value", |r: &Row| Ok(Some((r.0 % 3, r.1))))), &[&a])
            .unwrap();
        let g = mapped
            .add(
                Operator::GroupBy(GroupSpec::new(
                    GroupFn::new("k", |r: &Row| Ok(((r.0, 0), (0, r.1)))),
                    value_aggregate(which),
                )),
                &[&m],
            )
            .unwrap();
        mapped.output("y", &g).unwrap();
        let incremental = Incrementalizer.apply(&by_value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_against(&mapped, &incremental, &steps).map_err(TestCaseError::fail)?;
        // And the by-value group-by is its own snapshot's incremental form, as any is.
        check_incremental(&by_value, &steps).map_err(TestCaseError::fail)?;
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
