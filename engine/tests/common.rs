use std::sync::Arc;

use deltaloop_engine::testing::{Step, steps_strategy};
use proptest::prelude::*;

use deltaloop_engine::{
    Aggregate, Circuit, Collect, CombineFn, Count, FilterFn, FlatMapFn, GroupFn, GroupSpec,
    JoinSpec, KeyFn, MapFn, Max, Min, Operator, Sum,
};

/// Test rows: (key, value) over small domains, so joins and groups collide often.
pub(crate) type Row = (u8, u32);

pub(crate) fn map_op() -> Operator<Row> {
    Operator::Map(MapFn::new("v%7", |r: &Row| {
        Ok(if r.1 % 5 == 4 {
            None
        } else {
            Some((r.0, r.1 % 7))
        })
    }))
}

pub(crate) fn filter_op() -> Operator<Row> {
    Operator::Filter(FilterFn::new("even", |r: &Row| Ok(r.1.is_multiple_of(2))))
}

pub(crate) fn flat_map_op() -> Operator<Row> {
    Operator::FlatMap(FlatMapFn::new("spread", |r: &Row, out: &mut Vec<Row>| {
        for i in 0..(r.1 % 3) {
            out.push((r.0, (r.1 + i) % 11));
        }
        Ok(())
    }))
}

pub(crate) fn combine() -> CombineFn<Row> {
    CombineFn::new("mix", |l: &Row, r: &Row| Ok((l.0, (l.1 * 7 + r.1) % 50)))
}

pub(crate) fn join_spec() -> JoinSpec<Row> {
    JoinSpec {
        left_key: KeyFn::new("k", |r: &Row| Ok((r.1 % 4 != 3).then_some((r.0 % 3, 0)))),
        right_key: KeyFn::new("k", |r: &Row| Ok(Some((r.0 % 3, 0)))),
        combine: combine(),
        residual: None,
    }
}

pub(crate) fn aggregate(which: u8) -> Arc<dyn Aggregate<Row>> {
    match which % 5 {
        0 => Arc::new(Count::new(|k: &Row, n| Ok((k.0, n as u32)))),
        1 => Arc::new(Sum::new(
            |v: &Row| Ok(i64::from(v.1)),
            |k: &Row, s| Ok((k.0, s as u32)),
        )),
        2 => Arc::new(Min::new(|k: &Row, v: &Row| Ok((k.0, v.1)))),
        3 => Arc::new(Max::new(|k: &Row, v: &Row| Ok((k.0, v.1)))),
        _ => Arc::new(Collect::new(
            which.is_multiple_of(2),
            |k: &Row, values, rows| {
                let h = values.iter().zip(rows.iter()).fold(17u32, |h, (v, r)| {
                    h.wrapping_mul(31).wrapping_add(v.1 + u32::from(r.0))
                });
                Ok((k.0, h % 1000))
            },
        )),
    }
}

pub(crate) fn group_spec(which: u8) -> GroupSpec<Row> {
    GroupSpec::new(
        GroupFn::new("k%3", |r: &Row| Ok(((r.0 % 3, 0), (0, r.1)))),
        aggregate(which),
    )
}

/// A circuit with inputs `a` (and `b` for binary operators) feeding `op` into output `y`.
pub(crate) fn single(op: Operator<Row>) -> Circuit<Row> {
    let mut c = Circuit::new("single");
    let a = c.input("a").unwrap();
    let b = c.input("b").unwrap();
    let inputs: Vec<&str> = match op.arity() {
        Some(2) => vec![&a, &b],
        _ => vec![&a],
    };
    let n = c.add(op, &inputs).unwrap();
    c.output("y", &n).unwrap();
    c
}

/// A random circuit over inputs `a` and `b`: each `(choice, x, y)` of `recipe` adds the
/// operator `op_for(choice)` fed by earlier nodes `x` and `y` (modulo their number); the last
/// three nodes are outputs `y0`, `y1`, `y2`.
pub(crate) fn random_circuit(
    recipe: &[(u8, u8, u8)],
    op_for: impl Fn(u8) -> Operator<Row>,
) -> Circuit<Row> {
    let mut c: Circuit<Row> = Circuit::new("random");
    let mut nodes = vec![c.input("a").unwrap(), c.input("b").unwrap()];
    for &(choice, x, y) in recipe {
        let op = op_for(choice);
        let a = nodes[usize::from(x) % nodes.len()].clone();
        let b = nodes[usize::from(y) % nodes.len()].clone();
        let inputs: Vec<&str> = match op.arity() {
            Some(2) => vec![&a, &b],
            _ => vec![&a],
        };
        nodes.push(c.add(op, &inputs).unwrap());
    }
    for (i, n) in nodes.iter().rev().take(3).enumerate() {
        c.output(&format!("y{i}"), n).unwrap();
    }
    c
}

/// Rows over small domains (so joins and groups collide often).
pub(crate) fn rows() -> impl Strategy<Value = Row> + Clone {
    (0u8..4, 0u32..8)
}

/// Up to 6 steps of deltas of up to 5 rows each for inputs `a` and `b`.
pub(crate) fn steps() -> impl Strategy<Value = Vec<Step<Row>>> {
    steps_strategy(vec!["input_a".into(), "input_b".into()], rows(), 5, 6)
}
