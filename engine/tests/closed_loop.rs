//! A Reconciler'd (or Smith-predicted) circuit driving a simulated plant.
//!
//! The plant holds a set of objects. Each step it applies the circuit's output as commands
//! (a positive row creates the object, a negative one deletes it) and echoes the *changes* of
//! its state back into the observed input after a dead time of `d` steps, as a watch would.
//! An adversary deletes and edits objects behind the controller's back.

use std::collections::{BTreeMap, BTreeSet};

use deltaloop_engine::{
    Chain, ChainStep, Circuit, Distincter, Executor, Incrementalizer, Reconciler, SmithPredictor,
    Transform, ZSet, zset,
};

use crate::common::Row;

/// What the adversary does at a step.
#[derive(Clone, Copy)]
enum Attack {
    Delete(Row),
    Edit(Row, Row),
}

struct Run {
    outputs: Vec<ZSet<Row>>,
    plant: BTreeSet<Row>,
}

fn controller(closer: ChainStep) -> Executor<Row> {
    let mut c: Circuit<Row> = Circuit::new("ctrl");
    let want = c.input("want").unwrap();
    c.input("obj").unwrap();
    c.output("obj", &want).unwrap();
    let chain = Chain::new(vec![closer, Distincter.into(), Incrementalizer.into()]).unwrap();
    Executor::new(chain.apply(&c).unwrap()).unwrap()
}

fn simulate(
    mut exec: Executor<Row>,
    dead_time: usize,
    desired: &[(usize, ZSet<Row>)],
    attacks: &[(usize, Attack)],
    steps: usize,
) -> Run {
    let mut plant: BTreeSet<Row> = BTreeSet::new();
    let mut echoes: BTreeMap<usize, ZSet<Row>> = BTreeMap::new();
    let mut outputs = Vec::new();
    for t in 0..steps {
        for (at, delta) in desired {
            if *at == t {
                exec.feed("want", delta.clone()).unwrap();
            }
        }
        if let Some(echo) = echoes.remove(&t) {
            exec.feed("obj", echo).unwrap();
        }
        exec.step().unwrap();
        let u = exec.output("obj").unwrap().clone();
        let mut change = ZSet::new();
        for (row, w) in u.iter() {
            if w > 0 && plant.insert(*row) {
                change.insert(*row, 1);
            } else if w < 0 && plant.remove(row) {
                change.insert(*row, -1);
            }
        }
        for (at, attack) in attacks {
            if *at == t {
                match *attack {
                    Attack::Delete(x) => {
                        if plant.remove(&x) {
                            change.insert(x, -1);
                        }
                    }
                    Attack::Edit(x, y) => {
                        if plant.remove(&x) {
                            change.insert(x, -1);
                        }
                        if plant.insert(y) {
                            change.insert(y, 1);
                        }
                    }
                }
            }
        }
        echoes.entry(t + dead_time).or_default().add_assign(&change);
        outputs.push(u);
    }
    Run { outputs, plant }
}

fn desired() -> Vec<(usize, ZSet<Row>)> {
    vec![
        (0, zset! { (1, 10) => 1, (2, 20) => 1, (3, 30) => 2 }),
        (5, zset! { (2, 20) => -1, (4, 40) => 1 }),
    ]
}

fn expected_plant() -> BTreeSet<Row> {
    [(1, 10), (3, 30), (4, 40)].into_iter().collect()
}

fn attacks() -> Vec<(usize, Attack)> {
    vec![
        (12, Attack::Delete((1, 10))),
        (14, Attack::Edit((3, 30), (3, 31))),
        (15, Attack::Delete((4, 40))),
    ]
}

#[test]
fn reconciler_should_converge_and_undo_adversarial_edits_then_go_quiet() {
    for dead_time in 1..=3 {
        let run = simulate(
            controller(Reconciler::auto().into()),
            dead_time,
            &desired(),
            &attacks(),
            40,
        );
        assert_eq!(run.plant, expected_plant(), "dead time {dead_time}");
        assert!(
            run.outputs[30..].iter().all(ZSet::is_empty),
            "dead time {dead_time}: not quiescent: {:?}",
            &run.outputs[30..]
        );
        // The adversary's damage was repaired by commands after the attacks.
        assert!(run.outputs[12..30].iter().any(|u| u.weight(&(1, 10)) > 0));
        assert!(run.outputs[14..30].iter().any(|u| u.weight(&(3, 31)) < 0));
    }
}

#[test]
fn smith_predictor_with_window_at_least_dead_time_should_emit_each_command_once() {
    for dead_time in 1..=3 {
        for k in dead_time.max(2)..=dead_time + 1 {
            let smith = SmithPredictor::new(k, vec![("input_obj".into(), "output_obj".into())]);
            let run = simulate(controller(smith.into()), dead_time, &desired(), &[], 30);
            assert_eq!(run.plant, expected_plant(), "d={dead_time} k={k}");
            let mut emitted: BTreeMap<(Row, bool), usize> = BTreeMap::new();
            for u in &run.outputs {
                for (row, w) in u.iter() {
                    *emitted.entry((*row, w > 0)).or_default() += 1;
                }
            }
            assert!(
                emitted.values().all(|n| *n == 1),
                "d={dead_time} k={k}: commands repeated: {emitted:?}"
            );
            assert!(run.outputs[20..].iter().all(ZSet::is_empty));
        }
    }
}

#[test]
fn smith_predictor_should_also_undo_adversarial_edits() {
    let smith = SmithPredictor::new(2, Vec::new());
    let run = simulate(controller(smith.into()), 2, &desired(), &attacks(), 40);
    assert_eq!(run.plant, expected_plant());
    assert!(run.outputs[30..].iter().all(ZSet::is_empty));
}
