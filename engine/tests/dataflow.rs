//! The differential-dataflow backend against the engine: the same snapshot circuit run by
//! [`DataflowExecutor`] and, incrementalized, by the [`Executor`] gives the same output
//! delta at every step, for every snapshot operator alone and random compositions, on random
//! deltas with negative weights; and a failing step is undone on both.

use deltaloop_engine::testing::Step;
use deltaloop_engine::{
    Circuit, DataflowExecutor, Error, Executor, Incrementalizer, MapFn, Operator, Transform, ZSet,
    zset,
};
use proptest::prelude::*;

use crate::common::*;

/// The snapshot operators (no delays: those are state the dataflow backend refuses).
fn op_for(choice: u8) -> Operator<Row> {
    match choice % 14 {
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
        10 => Operator::Noop,
        11 => Operator::LinearCombination(vec![2, -1]),
        c => Operator::GroupBy(group_spec(c.wrapping_mul(7))),
    }
}

/// Runs `snapshot` on the dataflow backend and its incremental form on the engine, step by
/// step, and compares every output's delta.
fn check_same_deltas(snapshot: &Circuit<Row>, steps: &[Step<Row>]) -> Result<(), String> {
    let incremental = Incrementalizer.apply(snapshot).map_err(|e| e.to_string())?;
    let mut engine = Executor::new(incremental).map_err(|e| e.to_string())?;
    let mut dataflow = DataflowExecutor::new(snapshot).map_err(|e| e.to_string())?;
    for (t, step) in steps.iter().enumerate() {
        for (name, delta) in step {
            engine
                .feed(name, delta.clone())
                .map_err(|e| e.to_string())?;
            dataflow
                .feed(name, delta.clone())
                .map_err(|e| e.to_string())?;
        }
        engine.step().map_err(|e| format!("engine step {t}: {e}"))?;
        dataflow
            .step()
            .map_err(|e| format!("dataflow step {t}: {e}"))?;
        for output in snapshot.outputs() {
            let expected = engine.output(&output).map_err(|e| e.to_string())?;
            let got = dataflow.output(&output).map_err(|e| e.to_string())?;
            if *expected != got {
                return Err(format!(
                    "step {t}, {output}: engine {expected:?}, dataflow {got:?}"
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_operator_alone_should_emit_the_engines_deltas(choice in 0u8..14, agg in 0u8..5, steps in steps()) {
        let op = if choice >= 12 { Operator::GroupBy(group_spec(agg)) } else { op_for(choice) };
        let kind = op.kind();
        check_same_deltas(&single(op), &steps).map_err(|e| TestCaseError::fail(format!("{kind}: {e}")))?;
    }

    #[test]
    fn random_compositions_should_emit_the_engines_deltas(
        recipe in proptest::collection::vec((0u8..14, any::<u8>(), any::<u8>()), 1..7),
        steps in steps(),
    ) {
        let c = random_circuit(&recipe, op_for);
        check_same_deltas(&c, &steps).map_err(TestCaseError::fail)?;
    }
}

/// A circuit whose map fails on value 13.
fn failing() -> Circuit<Row> {
    let mut c: Circuit<Row> = Circuit::new("failing");
    let a = c.input("a").unwrap();
    let m = c
        .add(
            Operator::Map(MapFn::new("no 13", |r: &Row| {
                if r.1 == 13 {
                    Err("13 is refused".into())
                } else {
                    Ok(Some((r.0, r.1 + 1)))
                }
            })),
            &[&a],
        )
        .unwrap();
    let d = c.add(Operator::Distinct, &[&m]).unwrap();
    c.output("y", &d).unwrap();
    c
}

#[test]
fn a_failing_step_should_be_undone_and_name_its_node() {
    let mut dataflow = DataflowExecutor::new(&failing()).unwrap();
    dataflow.feed("a", zset! { (1, 1) => 1 }).unwrap();
    dataflow.step().unwrap();
    assert_eq!(dataflow.output("y").unwrap(), zset! { (1, 2) => 1 });

    // (2, 5) is fine but (3, 13) fails: neither may stay.
    dataflow
        .feed("a", zset! { (2, 5) => 1, (3, 13) => 1 })
        .unwrap();
    let err = dataflow.step().unwrap_err();
    let Error::Operator { node, kind, .. } = &err else {
        panic!("expected an operator error, got {err}");
    };
    assert_eq!(
        (kind.to_string(), node.starts_with("project")),
        ("project".to_string(), true)
    );
    assert!(err.to_string().contains("13 is refused"), "{err}");
    assert_eq!(dataflow.output("y").unwrap(), ZSet::new());

    // The next step sees the state before the failed one: (2, 5) was not kept.
    dataflow.feed("a", zset! { (2, 5) => 1 }).unwrap();
    dataflow.step().unwrap();
    assert_eq!(dataflow.output("y").unwrap(), zset! { (2, 6) => 1 });
    dataflow.feed("a", zset! { (1, 1) => -1 }).unwrap();
    dataflow.step().unwrap();
    assert_eq!(dataflow.output("y").unwrap(), zset! { (1, 2) => -1 });
}

#[test]
fn incremental_circuits_should_be_refused_with_the_node() {
    let incremental = Incrementalizer.apply(&failing()).unwrap();
    let c = single(Operator::EquiJoin(join_spec()));
    let inc_join = Incrementalizer.apply(&c).unwrap();
    for circuit in [incremental, inc_join] {
        let err = DataflowExecutor::new(&circuit).unwrap_err().to_string();
        assert!(err.contains("snapshot circuit"), "{err}");
    }
}

#[test]
fn unknown_inputs_and_outputs_should_be_errors() {
    let mut dataflow = DataflowExecutor::new(&failing()).unwrap();
    assert!(matches!(
        dataflow.feed("nope", ZSet::new()),
        Err(Error::UnknownInput { .. })
    ));
    assert!(matches!(
        dataflow.output("nope"),
        Err(Error::UnknownOutput { .. })
    ));
}
