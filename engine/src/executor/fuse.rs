//! Fusion of row-wise operator chains.
//!
//! A run of `map`/`filter`/`flat_map` nodes where each node feeds only the next one (say
//! `select → select → project`, as a pipeline's consecutive stages compile) is evaluated in
//! one pass: every input row goes through the whole chain and only the chain's last node
//! builds a Z-set. The intermediate Z-sets, and the hashing and consolidation of their rows,
//! are skipped.
//!
//! The result is the same as running the nodes one at a time, because each of them is
//! linear: `f(Σ wᵢ·rᵢ) = Σ wᵢ·f(rᵢ)`. One thing can differ: a fused pass evaluates a later
//! node on *every* row an earlier node produced, including rows that consolidation would
//! have cancelled in between (`+a`, `−b` with `f(a) = f(b)`), so it may meet an error that
//! the node-by-node run never sees. The executor therefore treats a fused failure only as a
//! hint and reruns the chain node by node, which gives the exact result, and the error (if
//! any) with the node that raised it. A fused success implies a node-by-node success with
//! the same output: the node-by-node run evaluates each node on a subset of the rows the
//! fused pass did.

use crate::data::{Data, Weight};
use crate::error::UserError;
use crate::operator::Operator;
use crate::zset::ZSet;

/// Whether `op` maps each row independently to zero or more rows (and can be fused).
pub(super) fn is_row_wise<T: Data>(op: &Operator<T>) -> bool {
    matches!(
        op,
        Operator::Map(_) | Operator::Filter(_) | Operator::FlatMap(_)
    )
}

/// A chain of two or more row-wise nodes that runs in one pass.
#[derive(Debug)]
pub(super) struct Chain<T: Data> {
    /// The chain's positions in order (the first node reads the chain's input).
    pub(super) nodes: Box<[usize]>,
    /// Their operators, in the same order (cloned once: the closures are shared).
    pub(super) ops: Box<[Operator<T>]>,
}

/// Which nodes run fused, computed once per executor.
#[derive(Debug)]
pub(super) struct Fusion<T: Data> {
    /// `absorbed[pos]`: the node runs inside the chain of a later node, not on its own.
    absorbed: Vec<bool>,
    /// `chains[pos]`: the chain that node `pos` ends, if it ends one of two or more nodes.
    chains: Vec<Option<Chain<T>>>,
}

impl<T: Data> Fusion<T> {
    /// Finds the chains among `ops` (in schedule order) where node `pos` reads the nodes
    /// `inputs[pos]`.
    pub(super) fn plan(ops: &[&Operator<T>], inputs: &[&[usize]]) -> Fusion<T> {
        let n = ops.len();
        let mut consumers = vec![0usize; n];
        for srcs in inputs {
            for &src in *srcs {
                if let Some(c) = consumers.get_mut(src) {
                    *c += 1;
                }
            }
        }
        let mut absorbed = vec![false; n];
        // `open[pos]`: the chain node `pos` ends so far (it may still be extended).
        let mut open: Vec<Option<Vec<usize>>> = vec![None; n];
        for pos in 0..n {
            if !is_row_wise(ops[pos]) {
                continue;
            }
            let mut chain = match inputs[pos] {
                [src]
                    if ops.get(*src).is_some_and(|op| is_row_wise(*op)) && consumers[*src] == 1 =>
                {
                    absorbed[*src] = true;
                    open[*src].take().unwrap_or_else(|| vec![*src])
                }
                _ => Vec::new(),
            };
            chain.push(pos);
            open[pos] = Some(chain);
        }
        let chains = open
            .into_iter()
            .map(|chain| {
                let nodes = chain.filter(|c| c.len() > 1)?;
                let ops = nodes.iter().map(|p| ops[*p].clone()).collect();
                Some(Chain {
                    nodes: nodes.into_boxed_slice(),
                    ops,
                })
            })
            .collect();
        Fusion { absorbed, chains }
    }

    /// Whether node `pos` runs inside a later node's chain.
    pub(super) fn is_absorbed(&self, pos: usize) -> bool {
        self.absorbed.get(pos).copied().unwrap_or(false)
    }

    /// The chain ending at node `pos`, if it has two or more nodes.
    pub(super) fn chain(&self, pos: usize) -> Option<&Chain<T>> {
        self.chains.get(pos).and_then(Option::as_ref)
    }

    /// Where node `pos` runs when fused: the end of the chain that absorbs it, else `pos`
    /// (never before `pos`).
    pub(super) fn runs_at(&self, pos: usize) -> usize {
        self.chains
            .iter()
            .enumerate()
            .skip(pos)
            .find(|(_, chain)| chain.as_ref().is_some_and(|c| c.nodes.contains(&pos)))
            .map_or(pos, |(end, _)| end)
    }
}

/// Runs `row` (weight `w`) through `ops` and adds what comes out to `out`.
fn push_through<T: Data>(
    ops: &[Operator<T>],
    row: &T,
    w: Weight,
    out: &mut ZSet<T>,
) -> Result<(), UserError> {
    let Some((first, rest)) = ops.split_first() else {
        out.insert_ref(row, w);
        return Ok(());
    };
    match first {
        Operator::Map(f) => {
            if let Some(mapped) = (f.func())(row)? {
                if rest.is_empty() {
                    out.insert(mapped, w);
                } else {
                    push_through(rest, &mapped, w, out)?;
                }
            }
        }
        Operator::Filter(f) if (f.func())(row)? => push_through(rest, row, w, out)?,
        Operator::FlatMap(f) => {
            let mut buf = Vec::new();
            (f.func())(row, &mut buf)?;
            for r in &buf {
                push_through(rest, r, w, out)?;
            }
        }
        // Not row-wise: never part of a chain (see `Fusion::plan`).
        _ => {}
    }
    Ok(())
}

/// Runs the whole chain `ops` over `input` in one pass.
pub(super) fn run_chain<T: Data>(
    ops: &[Operator<T>],
    input: &ZSet<T>,
) -> Result<ZSet<T>, UserError> {
    let mut out = ZSet::with_capacity(input.len());
    for (row, w) in input.iter() {
        push_through(ops, row, w, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::{FilterFn, MapFn};

    fn map() -> Operator<i64> {
        Operator::Map(MapFn::new("m", |x: &i64| Ok(Some(x + 1))))
    }

    fn filter() -> Operator<i64> {
        Operator::Filter(FilterFn::new("f", |x: &i64| Ok(*x > 0)))
    }

    #[test]
    fn plan_should_chain_single_consumer_row_wise_runs() {
        // 0 input → 1 map → 2 filter → 3 map → 4 output; 3 also feeds 5 (a second output).
        let ops = [
            Operator::Input,
            map(),
            filter(),
            map(),
            Operator::Output,
            Operator::Output,
        ];
        let refs: Vec<&Operator<i64>> = ops.iter().collect();
        let inputs: [&[usize]; 6] = [&[], &[0], &[1], &[2], &[3], &[3]];
        let plan = Fusion::plan(&refs, &inputs);
        assert_eq!(plan.chain(3).map(|c| &*c.nodes), Some(&[1, 2, 3][..]));
        assert!(plan.is_absorbed(1) && plan.is_absorbed(2));
        assert!(!plan.is_absorbed(3) && plan.chain(2).is_none());
    }

    #[test]
    fn plan_should_break_chains_at_shared_nodes() {
        // 1 map feeds both 2 and 3: it must stay materialized.
        let ops = [Operator::Input, map(), filter(), filter()];
        let refs: Vec<&Operator<i64>> = ops.iter().collect();
        let inputs: [&[usize]; 4] = [&[], &[0], &[1], &[1]];
        let plan = Fusion::plan(&refs, &inputs);
        assert!(!plan.is_absorbed(1));
        assert!(plan.chain(2).is_none() && plan.chain(3).is_none());
    }
}
