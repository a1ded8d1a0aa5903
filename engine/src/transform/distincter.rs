//! The Distincter: set semantics on every output.
//!
//! The observed state a controller is compared against is a set: an object exists or not.
//! A desired row of weight 2 would leave a permanent residual in the Reconciler's gap, so the
//! loop would never quiesce. The Distincter puts a `distinct` before every output (folding
//! several producers first), so outputs carry membership only. Incrementally, its deltas are
//! membership transitions: input weights +2, −1, −1 give +1, ∅, −1.
//!
//! On an output already closed by a [`Reconciler`](super::Reconciler) or
//! [`SmithPredictor`](super::SmithPredictor), the distinct goes on the *desired state*, where
//! it enters the loop (`U = ∫(δ distinct(D) − δY)`), not after the loop's accumulator: a
//! distinct after the accumulator would clamp the gap itself, so an object deleted by someone
//! else would never be written again. (The reference places it after the accumulator; deltaloop
//! deliberately differs, since closing the loop is the point of the Reconciler.)

use crate::circuit::Circuit;
use crate::data::Data;
use crate::error::Result;
use crate::operator::Operator;
use crate::transform::Transform;

/// Puts a `distinct` before every output. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Distincter;

/// Detaches the producers of `node` and returns one node emitting their sum: the single
/// producer itself, or a new linear combination `sum_id` of all of them (ports by edge order).
pub(super) fn fold_producers<T: Data>(
    c: &mut Circuit<T>,
    node: &str,
    sum_id: &str,
) -> Result<Option<String>> {
    let edges: Vec<_> = c.in_edges(node).into_iter().cloned().collect();
    for e in &edges {
        c.disconnect(e);
    }
    match edges.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.from.clone())),
        many => {
            c.add_node(sum_id, Operator::LinearCombination(vec![1; many.len()]))?;
            for (port, e) in many.iter().enumerate() {
                c.connect(&e.from, sum_id, port)?;
            }
            Ok(Some(sum_id.to_string()))
        }
    }
}

impl Transform for Distincter {
    fn name(&self) -> &'static str {
        "Distincter"
    }

    fn apply<T: Data>(&self, circuit: &Circuit<T>) -> Result<Circuit<T>> {
        let mut c = circuit.clone();
        for out in c.outputs() {
            if let Some(sub) = ["_rec", "_smith"]
                .iter()
                .map(|p| format!("{p}_{out}_sub"))
                .find(|sub| c.contains(sub))
            {
                let desired = c
                    .in_edges(&sub)
                    .into_iter()
                    .find(|e| e.port == 0)
                    .cloned()
                    .ok_or_else(|| c.unknown(&sub))?;
                c.disconnect(&desired);
                let dst = c.add_node(format!("_dst_{out}"), Operator::Distinct)?;
                c.connect(&desired.from, &dst, 0)?;
                c.connect(&dst, &sub, 0)?;
                continue;
            }
            let Some(source) = fold_producers(&mut c, &out, &format!("_sum_{out}"))? else {
                continue;
            };
            let dst = c.add_node(format!("_dst_{out}"), Operator::Distinct)?;
            c.connect(&source, &dst, 0)?;
            c.connect(&dst, &out, 0)?;
        }
        c.validate()?;
        Ok(c)
    }
}
