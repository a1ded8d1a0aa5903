//! The Incrementalizer: `Q^Δ = D ∘ Q ∘ ∫`, operator by operator.
//!
//! ```text
//!   snapshot:   x ──► Q ──► y            incremental:  δx ──► Q^Δ ──► δy
//!   Q^Δ = D ∘ Q ∘ ∫ :  δx ──► ∫ ──► Q ──► D ──► δy
//! ```
//!
//! Wrapping every operator in ∫ and D would keep the whole state in every node. Instead each
//! operator gets its own incremental form, chosen by its [`Linearity`](crate::Linearity):
//!
//! | operator | incremental form |
//! |---|---|
//! | input, output | unchanged |
//! | ∫, D | removed (∫^Δ = D^Δ = id) |
//! | z⁻¹, delta0, linear operators | the same operator, id `x^Δ` |
//! | cartesian (bilinear) | `Δa×B[t−1] + A[t−1]×Δb + Δa×Δb`, with `A[t−1] = ∫(z⁻¹(Δa))` |
//! | equi_join | `equi_join_incremental` (both sides indexed) |
//! | group_by | `group_by_incremental` (groups kept) |
//! | distinct | `H(∫(z⁻¹(δ)), δ)`: only membership changes |
//!
//! The rewriter runs before and after, cancelling ∫/D pairs and merging distincts. The
//! correctness contract, checked by the property tests, is `∫ ∘ Q^Δ = Q ∘ ∫`.

use std::collections::BTreeMap;

use crate::circuit::Circuit;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::operator::Operator;
use crate::transform::Transform;
use crate::transform::rewrite::{Rule, rewrite};

/// Rewrites a snapshot circuit into its incremental form. See the [module docs](self).
///
/// ```
/// use deltaloop_engine::{zset, Circuit, Executor, Incrementalizer, Transform};
/// let mut c: Circuit<&str> = Circuit::new("set");
/// let x = c.input("x")?;
/// let d = c.distinct(&x)?;
/// c.output("y", &d)?;
/// let mut exec = Executor::new(Incrementalizer.apply(&c)?)?;
/// exec.feed("x", zset! { "a" => 2 })?;
/// exec.step()?;
/// assert_eq!(exec.output("y")?, &zset! { "a" => 1 });
/// exec.feed("x", zset! { "a" => -1 })?; // still present: no change
/// exec.step()?;
/// assert!(exec.output("y")?.is_empty());
/// # Ok::<(), deltaloop_engine::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Incrementalizer;

/// Where the incremental version of a node's ports and output live.
#[derive(Debug, Default)]
struct Mapping {
    /// (node, port) → the (node, port)s of the new circuit that receive that input.
    entries: BTreeMap<(String, usize), Vec<(String, usize)>>,
    /// node → the node of the new circuit that emits its incremental output.
    exits: BTreeMap<String, String>,
    /// ∫ and D nodes, which disappear: their output is their input.
    bypassed: BTreeMap<String, ()>,
}

fn delta_id(id: &str) -> String {
    format!("{id}^Δ")
}

impl Mapping {
    fn simple<T: Data>(
        &mut self,
        out: &mut Circuit<T>,
        id: &str,
        new_id: String,
        op: Operator<T>,
    ) -> Result<()> {
        let ports = op.arity().unwrap_or(0);
        out.add_node(new_id.clone(), op)?;
        for port in 0..ports {
            self.entries
                .insert((id.to_string(), port), vec![(new_id.clone(), port)]);
        }
        self.exits.insert(id.to_string(), new_id);
        Ok(())
    }

    fn bilinear<T: Data>(
        &mut self,
        out: &mut Circuit<T>,
        id: &str,
        op: &Operator<T>,
    ) -> Result<()> {
        let p = delta_id(id);
        let n = |s: &str| format!("{p}_{s}");
        for side in ["left", "right"] {
            out.add_node(n(&format!("delay_{side}")), Operator::Delay)?;
            out.add_node(n(&format!("int_{side}")), Operator::Integrate)?;
            out.connect(&n(&format!("delay_{side}")), &n(&format!("int_{side}")), 0)?;
        }
        for t in ["t1", "t2", "t3"] {
            out.add_node(n(t), op.clone())?;
        }
        out.add_node(n("sum12"), Operator::plus())?;
        out.add_node(n("sum"), Operator::plus())?;
        // t1 = Δa × B[t−1], t2 = A[t−1] × Δb, t3 = Δa × Δb.
        out.connect(&n("int_right"), &n("t1"), 1)?;
        out.connect(&n("int_left"), &n("t2"), 0)?;
        out.connect(&n("t1"), &n("sum12"), 0)?;
        out.connect(&n("t2"), &n("sum12"), 1)?;
        out.connect(&n("sum12"), &n("sum"), 0)?;
        out.connect(&n("t3"), &n("sum"), 1)?;
        self.entries.insert(
            (id.to_string(), 0),
            vec![(n("delay_left"), 0), (n("t1"), 0), (n("t3"), 0)],
        );
        self.entries.insert(
            (id.to_string(), 1),
            vec![(n("delay_right"), 0), (n("t2"), 1), (n("t3"), 1)],
        );
        self.exits.insert(id.to_string(), n("sum"));
        Ok(())
    }

    fn distinct<T: Data>(&mut self, out: &mut Circuit<T>, id: &str) -> Result<()> {
        let p = delta_id(id);
        let n = |s: &str| format!("{p}_{s}");
        out.add_node(n("noop"), Operator::Noop)?;
        out.add_node(n("delay"), Operator::Delay)?;
        out.add_node(n("int"), Operator::Integrate)?;
        out.add_node(n("H_func"), Operator::DistinctH)?;
        out.connect(&n("noop"), &n("delay"), 0)?;
        out.connect(&n("delay"), &n("int"), 0)?;
        out.connect(&n("int"), &n("H_func"), 0)?;
        out.connect(&n("noop"), &n("H_func"), 1)?;
        self.entries
            .insert((id.to_string(), 0), vec![(n("noop"), 0)]);
        self.exits.insert(id.to_string(), n("H_func"));
        Ok(())
    }

    /// The node emitting the incremental output of `id`, looking through bypassed ∫/D.
    fn exit<T: Data>(&self, c: &Circuit<T>, id: &str) -> Result<String> {
        let mut current = id.to_string();
        for _ in 0..=c.nodes().count() {
            if self.bypassed.contains_key(&current) {
                current = c
                    .in_edges(&current)
                    .first()
                    .map(|e| e.from.clone())
                    .ok_or_else(|| c.unknown(&current))?;
            } else {
                return self
                    .exits
                    .get(&current)
                    .cloned()
                    .ok_or_else(|| c.unknown(&current));
            }
        }
        Err(Error::transform(
            "Incrementalizer",
            format!("node {id:?} is on a loop of integrators and differentiators"),
        ))
    }
}

impl Transform for Incrementalizer {
    fn name(&self) -> &'static str {
        "Incrementalizer"
    }

    fn apply<T: Data>(&self, circuit: &Circuit<T>) -> Result<Circuit<T>> {
        circuit.validate()?;
        let mut c = circuit.clone();
        rewrite(&mut c, &Rule::DEFAULT)?;
        let mut out = Circuit::new(delta_id(c.name()));
        let mut map = Mapping::default();
        for (id, op) in c.nodes() {
            match op {
                Operator::Input | Operator::Output => {
                    map.simple(&mut out, id, id.to_string(), op.clone())?;
                }
                Operator::Integrate | Operator::Differentiate => {
                    map.bypassed.insert(id.to_string(), ());
                }
                Operator::Cartesian(_) => map.bilinear(&mut out, id, op)?,
                Operator::EquiJoin(spec) => map.simple(
                    &mut out,
                    id,
                    delta_id(id),
                    Operator::EquiJoinIncremental(spec.clone()),
                )?,
                Operator::GroupBy(spec) => map.simple(
                    &mut out,
                    id,
                    delta_id(id),
                    Operator::GroupByIncremental(spec.clone()),
                )?,
                Operator::Distinct => map.distinct(&mut out, id)?,
                // Linear operators, delays, delta0 and the stateful primitives keep their
                // operator: they already work on deltas.
                _ => map.simple(&mut out, id, delta_id(id), op.clone())?,
            }
        }
        for e in c.edges() {
            if map.bypassed.contains_key(&e.to) {
                continue;
            }
            let source = map.exit(&c, &e.from)?;
            let targets = map
                .entries
                .get(&(e.to.clone(), e.port))
                .cloned()
                .unwrap_or_else(|| vec![(e.to.clone(), e.port)]);
            for (node, port) in targets {
                out.connect(&source, &node, port)?;
            }
        }
        rewrite(&mut out, &Rule::DEFAULT)?;
        out.validate()?;
        Ok(out)
    }
}
