//! Validation and transform failures are errors that name what failed, never panics.

use deltaloop_engine::{
    Chain, Circuit, Distincter, Error, Executor, FilterFn, Operator, Reconciler, SmithPredictor,
    Transform, zset,
};

use crate::common::Row;

#[test]
fn cycle_without_delay_should_be_rejected_naming_the_nodes() {
    let mut c: Circuit<Row> = Circuit::new("loop");
    let x = c.input("x").unwrap();
    let p = c.add_node("p", Operator::plus()).unwrap();
    let n = c.add_node("n", Operator::Noop).unwrap();
    c.connect(&x, &p, 0).unwrap();
    c.connect(&n, &p, 1).unwrap();
    c.connect(&p, &n, 0).unwrap();
    let err = c.validate().unwrap_err();
    assert!(
        matches!(&err, Error::Cycle { nodes, .. } if nodes == &["n", "p"]),
        "{err}"
    );
    assert!(err.to_string().contains("use delay nodes"));
    // Through a delay, the same loop is fine.
    c.replace_node("n", Operator::Delay).unwrap();
    c.validate().unwrap();
}

#[test]
fn dangling_and_duplicate_ports_should_be_rejected() {
    let mut c: Circuit<Row> = Circuit::new("ports");
    let x = c.input("x").unwrap();
    let p = c.add_node("p", Operator::plus()).unwrap();
    c.connect(&x, &p, 0).unwrap();
    let err = c.validate().unwrap_err();
    assert!(
        matches!(&err, Error::DanglingPort { node, port: 1, .. } if node == "p"),
        "{err}"
    );
    c.connect(&x, &p, 1).unwrap();
    c.validate().unwrap();
    c.connect(&x, &p, 1).unwrap();
    assert!(matches!(
        c.validate(),
        Err(Error::DuplicatePort { port: 1, .. })
    ));
    c.disconnect(&deltaloop_engine::Edge {
        from: x.clone(),
        to: p.clone(),
        port: 1,
    });
    c.connect(&x, &p, 1).unwrap();
    c.connect(&x, &p, 5).unwrap();
    assert!(matches!(
        c.validate(),
        Err(Error::PortOutOfRange { port: 5, .. })
    ));
    assert!(matches!(
        c.connect("x", "nowhere", 0),
        Err(Error::UnknownNode { .. })
    ));
}

fn looped() -> Circuit<Row> {
    let mut c = Circuit::new("c");
    let d = c.input("d").unwrap();
    c.input("u").unwrap();
    c.output("u", &d).unwrap();
    c
}

#[test]
fn stacking_closed_loop_transforms_should_be_rejected() {
    let once = Reconciler::auto().apply(&looped()).unwrap();
    let err = Reconciler::auto().apply(&once).unwrap_err();
    assert!(err.to_string().contains("do not stack"), "{err}");
    let err = SmithPredictor::new(2, Vec::new()).apply(&once).unwrap_err();
    assert!(matches!(
        err,
        Error::Transform {
            transform: "SmithPredictor",
            ..
        }
    ));
}

#[test]
fn unknown_or_reused_pairs_should_be_rejected() {
    let bad = Reconciler::with_pairs(vec![("input_nope".into(), "output_u".into())]);
    let err = bad.apply(&looped()).unwrap_err();
    assert!(err.to_string().contains("input_nope"), "{err}");
    let twice = Reconciler::with_pairs(vec![
        ("input_u".into(), "output_u".into()),
        ("input_d".into(), "output_u".into()),
    ]);
    assert!(
        twice
            .apply(&looped())
            .unwrap_err()
            .to_string()
            .contains("two pairs")
    );
    assert!(SmithPredictor::new(1, Vec::new()).apply(&looped()).is_err());
}

#[test]
fn a_failed_chain_should_leave_the_circuit_unchanged() {
    let c = looped();
    let before = c.nodes().count();
    let chain = Chain::new(vec![
        Distincter.into(),
        Reconciler::with_pairs(vec![("input_x".into(), "output_u".into())]).into(),
    ])
    .unwrap();
    assert!(chain.apply(&c).is_err());
    assert_eq!(c.nodes().count(), before);
    assert!(Chain::new(Vec::new()).is_err());
}

#[test]
fn a_failing_step_should_roll_back_state_and_name_the_node() {
    // join state would be updated before the failing select runs: the rollback undoes it.
    use deltaloop_engine::{Incrementalizer, transform::Transform as _};
    let mut c: Circuit<Row> = Circuit::new("c");
    let a = c.input("a").unwrap();
    let b = c.input("b").unwrap();
    let j = c.equi_join(&a, &b, crate::common::join_spec()).unwrap();
    let f = c
        .filter(
            &j,
            FilterFn::new("fails on 13", |r: &Row| {
                if r.1 == 13 {
                    Err("value 13 is unlucky".into())
                } else {
                    Ok(true)
                }
            }),
        )
        .unwrap();
    c.output("y", &f).unwrap();
    let mut exec = Executor::new(Incrementalizer.apply(&c).unwrap()).unwrap();
    exec.feed("a", zset! { (0, 0) => 1 }).unwrap();
    exec.step().unwrap();
    // (0,0) ⋈ (0,13) combines to (0, 13): the filter fails.
    exec.feed("b", zset! { (0, 13) => 1 }).unwrap();
    let err = exec.step().unwrap_err();
    assert!(
        err.to_string().contains("unlucky") && err.to_string().contains("select"),
        "{err}"
    );
    // The failed step left no trace: feeding another right row joins only with (0,0).
    exec.feed("b", zset! { (0, 1) => 1 }).unwrap();
    exec.step().unwrap();
    assert_eq!(exec.output("y").unwrap(), &zset! { (0, 1) => 1 });
    assert_eq!(exec.snapshot("y").unwrap(), &zset! { (0, 1) => 1 });
}

/// Counts rows by `r.0 % 3`; the count 3 fails, in the aggregate or in a later select.
fn failing_count(in_aggregate: bool) -> Executor<Row> {
    use deltaloop_engine::{Count, GroupFn, GroupSpec, Incrementalizer};
    use std::sync::Arc;
    let mut c: Circuit<Row> = Circuit::new("c");
    let a = c.input("a").unwrap();
    let count = Count::new(move |k: &Row, n| {
        if in_aggregate && n == 3 {
            Err("a count of 3 is unlucky".into())
        } else {
            Ok((k.0, u32::try_from(n).unwrap_or(u32::MAX)))
        }
    });
    let spec = GroupSpec::new(
        GroupFn::new("k%3", |r: &Row| Ok(((r.0 % 3, 0), *r))),
        Arc::new(count),
    );
    let g = c.group_by(&a, spec).unwrap();
    let f = c
        .filter(
            &g,
            FilterFn::new("fails on 3", |r: &Row| {
                if r.1 == 3 {
                    Err("a count of 3 is unlucky".into())
                } else {
                    Ok(true)
                }
            }),
        )
        .unwrap();
    c.output("y", &f).unwrap();
    Executor::new(Incrementalizer.apply(&c).unwrap()).unwrap()
}

#[test]
fn a_failing_step_should_roll_back_group_state() {
    for in_aggregate in [true, false] {
        let mut exec = failing_count(in_aggregate);
        exec.feed("a", zset! { (0, 1) => 1, (3, 2) => 1, (1, 1) => 1 })
            .unwrap();
        exec.step().unwrap();
        assert_eq!(
            exec.output("y").unwrap(),
            &zset! { (0, 2) => 1, (1, 1) => 1 }
        );
        // Group 0 would reach 3 members (and group 1 two): the whole step fails.
        exec.feed("a", zset! { (6, 5) => 1, (4, 1) => 1 }).unwrap();
        let err = exec.step().unwrap_err();
        assert!(err.to_string().contains("unlucky"), "{err}");
        // No trace of it: removing a member of group 0 leaves one, and group 1 is unchanged.
        exec.feed("a", zset! { (0, 1) => -1, (2, 9) => 1 }).unwrap();
        exec.step().unwrap();
        assert_eq!(
            exec.output("y").unwrap(),
            &zset! { (0, 2) => -1, (0, 1) => 1, (2, 1) => 1 },
            "in_aggregate: {in_aggregate}"
        );
        assert_eq!(
            exec.snapshot("y").unwrap(),
            &zset! { (0, 1) => 1, (1, 1) => 1, (2, 1) => 1 }
        );
    }
}

#[test]
fn snapshots_switched_off_should_leave_deltas_and_restart_from_empty() {
    let mut c: Circuit<Row> = Circuit::new("c");
    let x = c.input("x").unwrap();
    c.output("y", &x).unwrap();
    let mut exec = Executor::new(c).unwrap();
    assert!(exec.tracks_snapshots());
    exec.feed("x", zset! { (0, 1) => 1 }).unwrap();
    exec.step().unwrap();
    exec.track_snapshots(false);
    assert!(!exec.tracks_snapshots());
    exec.feed("x", zset! { (0, 2) => 1 }).unwrap();
    exec.step().unwrap();
    assert_eq!(exec.output("y").unwrap(), &zset! { (0, 2) => 1 });
    let err = exec.snapshot("y").unwrap_err();
    assert!(err.to_string().contains("track_snapshots"), "{err}");
    let h = exec.output_handle("y").unwrap();
    assert!(exec.snapshot_of(h).is_empty());
    // Back on: the snapshot integrates from here; after a reset it is complete again.
    exec.track_snapshots(true);
    exec.feed("x", zset! { (0, 3) => 1 }).unwrap();
    exec.step().unwrap();
    assert_eq!(exec.snapshot("y").unwrap(), &zset! { (0, 3) => 1 });
    exec.reset();
    exec.feed("x", zset! { (0, 4) => 1 }).unwrap();
    let out = exec.run_step([]).unwrap();
    assert_eq!(out["output_y"], zset! { (0, 4) => 1 });
    assert_eq!(exec.snapshot("y").unwrap(), &zset! { (0, 4) => 1 });
}
