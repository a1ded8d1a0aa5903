//! The rewriter: algebraic simplifications applied to a fixed point.
//!
//! * `D ∘ ∫ = id` and `∫ ∘ D = id` (for streams that start at zero): a differentiator fed
//!   by an integrator, or the reverse, is bypassed.
//! * `distinct ∘ distinct = distinct`.
//!
//! The Incrementalizer runs it before and after the per-operator mapping, so the `∫ → op → D`
//! wrappers of consecutive operators cancel.

use crate::circuit::Circuit;
use crate::data::Data;
use crate::error::Result;
use crate::operator::Operator;

/// A rewrite rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `D` fed by `∫`: both cancel.
    EliminateDI,
    /// `∫` fed by `D`: both cancel.
    EliminateID,
    /// `distinct` fed by `distinct`: the outer one goes.
    ConsolidateDistinct,
}

impl Rule {
    /// The default rules, in the order they are tried.
    pub const DEFAULT: [Rule; 3] = [
        Rule::EliminateDI,
        Rule::EliminateID,
        Rule::ConsolidateDistinct,
    ];

    /// The (outer, inner) operator pair this rule cancels.
    fn matches<T: Data>(self, outer: &Operator<T>, inner: &Operator<T>) -> bool {
        match self {
            Rule::EliminateDI => {
                matches!(outer, Operator::Differentiate) && matches!(inner, Operator::Integrate)
            }
            Rule::EliminateID => {
                matches!(outer, Operator::Integrate) && matches!(inner, Operator::Differentiate)
            }
            Rule::ConsolidateDistinct => {
                matches!(outer, Operator::Distinct) && matches!(inner, Operator::Distinct)
            }
        }
    }

    /// Whether the inner node is removed too (when nothing else reads it).
    fn removes_inner(self) -> bool {
        !matches!(self, Rule::ConsolidateDistinct)
    }
}

/// Finds one place where `rule` applies: (outer node, inner node).
fn find<T: Data>(c: &Circuit<T>, rule: Rule) -> Option<(String, String)> {
    c.nodes().find_map(|(id, op)| {
        let edges = c.in_edges(id);
        let [edge] = edges.as_slice() else {
            return None;
        };
        let inner = c.node(&edge.from)?;
        rule.matches(op, inner)
            .then(|| (id.to_string(), edge.from.clone()))
    })
}

/// Applies `rules` to `circuit` until none applies.
///
/// ```
/// use deltaloop_engine::{Circuit, transform::{rewrite, Rule}};
/// let mut c: Circuit<i64> = Circuit::new("c");
/// let x = c.input("x")?;
/// let i = c.integrate(&x)?;
/// let d = c.differentiate(&i)?;
/// c.output("y", &d)?;
/// rewrite(&mut c, &Rule::DEFAULT)?;
/// assert_eq!(c.nodes().count(), 2); // input_x → output_y
/// # Ok::<(), deltaloop_engine::Error>(())
/// ```
///
/// # Errors
/// Only on an inconsistent graph (a node with several inputs where one is expected).
pub fn rewrite<T: Data>(circuit: &mut Circuit<T>, rules: &[Rule]) -> Result<()> {
    loop {
        let mut changed = false;
        for rule in rules {
            while let Some((outer, inner)) = find(circuit, *rule) {
                if rule.removes_inner() {
                    // outer's consumers read inner's source directly.
                    let source = circuit
                        .in_edges(&inner)
                        .first()
                        .map(|e| e.from.clone())
                        .ok_or_else(|| circuit.unknown(&inner))?;
                    circuit.redirect_outputs(&outer, &source);
                    circuit.remove_node(&outer)?;
                    if circuit.out_edges(&inner).is_empty() {
                        circuit.remove_node(&inner)?;
                    }
                } else {
                    circuit.bypass(&outer)?;
                }
                changed = true;
            }
        }
        if !changed {
            return Ok(());
        }
    }
}
