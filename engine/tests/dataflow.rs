//! The differential-dataflow backend against the engine: the same snapshot circuit run by
//! [`DataflowExecutor`] and, incrementalized, by the [`Executor`] gives the same output
//! delta at every step, for every snapshot operator alone and random compositions, on random
//! deltas with negative weights, on one worker, on several threads and across two processes
//! over real sockets; and a failing step is undone on both.

use deltaloop_engine::testing::Step;
use deltaloop_engine::{
    Circuit, DataflowExecutor, Error, Executor, Incrementalizer, MapFn, Operator, Transform,
    Workers, ZSet, zset,
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

/// Runs `snapshot` on the dataflow backend (on `workers`) and its incremental form on the
/// engine, step by step, and compares every output's delta.
fn check_same_deltas(
    snapshot: &Circuit<Row>,
    steps: &[Step<Row>],
    workers: &Workers,
) -> Result<(), String> {
    let incremental = Incrementalizer.apply(snapshot).map_err(|e| e.to_string())?;
    let mut engine = Executor::new(incremental).map_err(|e| e.to_string())?;
    let mut dataflow =
        DataflowExecutor::with_workers(snapshot, workers).map_err(|e| e.to_string())?;
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
        check_same_deltas(&single(op), &steps, &Workers::default()).map_err(|e| TestCaseError::fail(format!("{kind}: {e}")))?;
    }

    #[test]
    fn random_compositions_should_emit_the_engines_deltas(
        recipe in proptest::collection::vec((0u8..14, any::<u8>(), any::<u8>()), 1..7),
        steps in steps(),
    ) {
        let c = random_circuit(&recipe, op_for);
        check_same_deltas(&c, &steps, &Workers::default()).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    // Each case starts and joins worker threads.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_compositions_on_worker_threads_should_emit_the_engines_deltas(
        recipe in proptest::collection::vec((0u8..14, any::<u8>(), any::<u8>()), 1..7),
        steps in steps(),
        threads in 2usize..4,
    ) {
        let c = random_circuit(&recipe, op_for);
        check_same_deltas(&c, &steps, &Workers::threads(threads)).map_err(TestCaseError::fail)?;
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
    for threads in [1, 2, 3] {
        failing_step_is_undone(&Workers::threads(threads));
    }
}

/// A failing step on `workers` names its node and is undone.
fn failing_step_is_undone(workers: &Workers) {
    let mut dataflow = DataflowExecutor::with_workers(&failing(), workers).unwrap();
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

#[test]
fn bad_worker_configurations_should_be_refused_with_the_reason() {
    let c = failing();
    let two = vec!["127.0.0.1:1".to_string(), "127.0.0.1:2".to_string()];
    let cases = [
        (Workers::threads(0), "at least one worker thread"),
        (
            Workers::cluster(1, 2, two.clone()),
            "process index 2 is out of range",
        ),
        (Workers::cluster(1, 1, two), "process 1 cannot drive"),
    ];
    for (workers, expected) in cases {
        let err = DataflowExecutor::with_workers(&c, &workers).unwrap_err();
        assert!(matches!(err, Error::Workers { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{workers:?}: {err}");
    }
    let err = DataflowExecutor::serve(&c, &Workers::threads(2)).unwrap_err();
    assert!(
        err.to_string().contains("only a process other than 0"),
        "{err}"
    );
}

/// Two free local ports (bound and released: another program could take them in between,
/// which would fail the test loudly rather than wrongly).
fn free_hosts(n: usize) -> Vec<String> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect()
}

#[test]
fn two_processes_should_emit_the_engines_deltas_over_sockets() {
    // A join and a group-by, so rows are exchanged by key between the processes.
    let mut c: Circuit<Row> = Circuit::new("cluster");
    let a = c.input("a").unwrap();
    let b = c.input("b").unwrap();
    let j = c.add(Operator::EquiJoin(join_spec()), &[&a, &b]).unwrap();
    let g = c.add(Operator::GroupBy(group_spec(4)), &[&j]).unwrap();
    c.output("y", &g).unwrap();
    c.output("z", &j).unwrap();

    // Deterministic steps: rows over the test domain, some retracted later.
    let mut seed = 7u32;
    let mut next = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed >> 8
    };
    let steps: Vec<Step<Row>> = (0..12)
        .map(|_| {
            let mut step = Step::new();
            for input in ["input_a", "input_b"] {
                let mut delta = ZSet::new();
                for _ in 0..next() % 6 {
                    let row = ((next() % 4) as u8, next() % 8);
                    delta.insert(row, if next() % 3 == 0 { -1 } else { 1 });
                }
                step.insert(input.to_string(), delta);
            }
            step
        })
        .collect();

    let hosts = free_hosts(2);
    let server = {
        let (c, workers) = (c.clone(), Workers::cluster(2, 1, hosts.clone()));
        std::thread::spawn(move || DataflowExecutor::serve(&c, &workers))
    };
    let driven = check_same_deltas(&c, &steps, &Workers::cluster(2, 0, hosts));
    assert_eq!(driven, Ok(()));
    // The driving executor is dropped: the serving process's workers finish.
    let served = server.join().unwrap();
    assert!(served.is_ok(), "{served:?}");
}
