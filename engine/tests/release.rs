//! An executor drops an intermediate delta as soon as no node reads it any more: its rows
//! are freed within the step, while outputs stay readable after it.

use std::sync::{Arc, Mutex, Weak};

use deltaloop_engine::{Circuit, Executor, MapFn, zset};

/// The rows a map created, held weakly: alive exactly while some delta or state holds them.
type Made = Arc<Mutex<Vec<Weak<String>>>>;

/// A map that appends `suffix` to each row, recording the rows it creates in `made`.
fn recording_map(suffix: &'static str, made: &Made) -> MapFn<Arc<String>> {
    let made = Arc::clone(made);
    MapFn::new(suffix, move |r: &Arc<String>| {
        let row = Arc::new(format!("{r}{suffix}"));
        made.lock().unwrap().push(Arc::downgrade(&row));
        Ok(Some(row))
    })
}

fn alive(made: &Made) -> usize {
    made.lock()
        .unwrap()
        .iter()
        .filter(|w| w.upgrade().is_some())
        .count()
}

/// input → map(!) → distinct → map(?) → output, with a tap on the first map's delta when
/// `tapped`. `distinct` is not row-wise, so the maps do not fuse and the first map's delta
/// is a value of its own, read only by `distinct`.
fn circuit(tapped: bool, first: &Made, second: &Made) -> Executor<Arc<String>> {
    let mut c: Circuit<Arc<String>> = Circuit::new("release");
    let x = c.input("x").unwrap();
    let a = c.map(&x, recording_map("!", first)).unwrap();
    let d = c.distinct(&a).unwrap();
    let b = c.map(&d, recording_map("?", second)).unwrap();
    c.output("y", &b).unwrap();
    if tapped {
        c.output("tap", &a).unwrap();
    }
    let mut exec = Executor::new(c).unwrap();
    exec.track_snapshots(false);
    exec
}

#[test]
fn intermediate_rows_should_be_freed_within_the_step() {
    let (first, second) = (Made::default(), Made::default());
    let mut exec = circuit(false, &first, &second);
    let rows = zset! { Arc::new("a".to_string()) => 1, Arc::new("b".to_string()) => 1 };
    exec.feed("x", rows).unwrap();
    exec.step().unwrap();
    assert_eq!(alive(&first), 0, "the first map's rows outlived the step");
    assert_eq!(alive(&second), 2, "the output's rows must stay readable");
    let out = exec.output("y").unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out.weight(&Arc::new("a!?".to_string())), 1);
}

#[test]
fn outputs_should_keep_their_rows_until_the_next_step() {
    let (first, second) = (Made::default(), Made::default());
    let mut exec = circuit(true, &first, &second);
    exec.feed("x", zset! { Arc::new("a".to_string()) => 1 })
        .unwrap();
    exec.step().unwrap();
    assert_eq!(alive(&first), 1, "a tapped delta is an output");
    assert_eq!(
        exec.output("tap")
            .unwrap()
            .weight(&Arc::new("a!".to_string())),
        1
    );
    exec.step().unwrap();
    assert_eq!(alive(&first), 0, "an empty step replaces the outputs");
}
