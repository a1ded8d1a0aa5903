//! Closed-loop transforms: the Reconciler and the Smith predictor.
//!
//! A controller computes a *desired* state `D` from what it observes and writes it to a
//! plant (the Kubernetes API, say). The plant's *observed* state `Y` of the written objects
//! comes back through an input. Per (observed input, output) pair, the Reconciler makes the
//! output emit the gap
//!
//! ```text
//!   U[t] = U[t−1] + D[t] − Y[t]        (snapshot form)
//!   U    = ∫(δD − δY)                  (after incrementalization)
//! ```
//!
//! so an object deleted or edited by someone else reappears in `U` and is written again, and a
//! loop whose plant agrees with the desired state emits nothing.
//!
//! The Smith predictor replaces the observation by a prediction for plants with a dead time
//! of up to `k` steps: `U = ∫(δD − δS)`, `δS = distinct^Δ(δY + z⁻¹U − z⁻ᵏU)`. Every command is
//! shielded for `k − 1` steps, so a plant that echoes within `k` steps sees each command once.

use std::collections::BTreeSet;

use crate::circuit::Circuit;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::operator::Operator;
use crate::transform::Transform;
use crate::transform::distincter::fold_producers;

/// Closes the loop through the plant. See the [module docs](self).
///
/// ```
/// use deltaloop_engine::{zset, Chain, Circuit, Executor, Incrementalizer, Reconciler, Transform};
/// // Desired state: whatever arrives on "want". Observed state: "obj" (the plant's view).
/// let mut c: Circuit<&str> = Circuit::new("loop");
/// let want = c.input("want")?;
/// c.input("obj")?;
/// c.output("obj", &want)?;
/// let chain = Chain::new(vec![Reconciler::auto().into(), Incrementalizer.into()])?;
/// let mut exec = Executor::new(chain.apply(&c)?)?;
/// exec.feed("want", zset! { "a" => 1 })?;
/// exec.step()?;
/// assert_eq!(exec.output("obj")?, &zset! { "a" => 1 }); // the gap: write "a"
/// exec.step()?;                                         // no echo yet: the gap persists
/// assert_eq!(exec.output("obj")?, &zset! { "a" => 1 });
/// exec.feed("obj", zset! { "a" => 1 })?;                // the plant's echo
/// exec.step()?;
/// assert!(exec.output("obj")?.is_empty());              // no gap: quiescent
/// exec.feed("obj", zset! { "a" => -1 })?;               // someone deletes it
/// exec.step()?;
/// assert_eq!(exec.output("obj")?, &zset! { "a" => 1 });  // written again
/// # Ok::<(), deltaloop_engine::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciler {
    pairs: Vec<(String, String)>,
}

impl Reconciler {
    /// Pairs every input `input_X` with the output `output_X` of the same stem.
    #[must_use]
    pub fn auto() -> Self {
        Self::default()
    }

    /// Explicit (observed input id, output id) pairs; an empty list means [`auto`](Self::auto).
    #[must_use]
    pub fn with_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The pairs given (empty for automatic pairing).
    #[must_use]
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// The Smith predictor with window `k ≥ 2`. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmithPredictor {
    k: usize,
    pairs: Vec<(String, String)>,
}

impl SmithPredictor {
    /// A predictor with window `k` (checked when applied: `k ≥ 2`) and explicit pairs; an
    /// empty list pairs inputs and outputs by stem.
    #[must_use]
    pub fn new(k: usize, pairs: Vec<(String, String)>) -> Self {
        Self { k, pairs }
    }

    /// The window.
    #[must_use]
    pub fn window(&self) -> usize {
        self.k
    }

    /// The pairs given (empty for automatic pairing).
    #[must_use]
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Resolves and checks the (input, output) pairs of a closed-loop transform.
fn resolve_pairs<T: Data>(
    transform: &'static str,
    c: &Circuit<T>,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let pairs: Vec<(String, String)> = if given.is_empty() {
        let outputs: BTreeSet<String> = c.outputs().into_iter().collect();
        c.inputs()
            .into_iter()
            .filter_map(|input| {
                let stem = input.strip_prefix("input_")?;
                let output = format!("output_{stem}");
                outputs.contains(&output).then_some((input, output))
            })
            .collect()
    } else {
        given.to_vec()
    };
    let mut seen = BTreeSet::new();
    for (input, output) in &pairs {
        if !matches!(c.node(input), Some(Operator::Input)) {
            return Err(Error::transform(
                transform,
                format!(
                    "pair ({input:?}, {output:?}): {input:?} is not an input node of circuit {:?} (inputs: {:?})",
                    c.name(),
                    c.inputs()
                ),
            ));
        }
        if !matches!(c.node(output), Some(Operator::Output)) {
            return Err(Error::transform(
                transform,
                format!(
                    "pair ({input:?}, {output:?}): {output:?} is not an output node of circuit {:?} (outputs: {:?})",
                    c.name(),
                    c.outputs()
                ),
            ));
        }
        for id in [input, output] {
            if !seen.insert(id.clone()) {
                return Err(Error::transform(
                    transform,
                    format!("{id:?} is used in two pairs"),
                ));
            }
        }
        for prefix in ["_rec", "_smith"] {
            if c.contains(&format!("{prefix}_{output}_acc")) {
                return Err(Error::transform(
                    transform,
                    format!(
                        "output {output:?} is already closed by a Reconciler or SmithPredictor; they do not stack"
                    ),
                ));
            }
        }
    }
    Ok(pairs)
}

/// Wires `out ← acc = sub + z⁻¹(acc)`, `sub = P − feedback` with node prefix `p`, and
/// returns the id of the delay holding `U[t−1]`.
fn close_loop<T: Data>(
    transform: &'static str,
    c: &mut Circuit<T>,
    p: &str,
    output: &str,
) -> Result<String> {
    let producer = fold_producers(c, output, &format!("{p}_sum"))?
        .ok_or_else(|| Error::transform(transform, format!("output {output:?} has no producer")))?;
    let sub = c.add_node(format!("{p}_sub"), Operator::minus())?;
    let acc = c.add_node(format!("{p}_acc"), Operator::plus())?;
    let delay = c.add_node(format!("{p}_delay"), Operator::Delay)?;
    c.connect(&producer, &sub, 0)?;
    c.connect(&sub, &acc, 0)?;
    c.connect(&delay, &acc, 1)?;
    c.connect(&acc, &delay, 0)?;
    c.connect(&acc, output, 0)?;
    Ok(delay)
}

impl Transform for Reconciler {
    fn name(&self) -> &'static str {
        "Reconciler"
    }

    fn apply<T: Data>(&self, circuit: &Circuit<T>) -> Result<Circuit<T>> {
        let pairs = resolve_pairs(self.name(), circuit, &self.pairs)?;
        let mut c = circuit.clone();
        for (input, output) in &pairs {
            let p = format!("_rec_{output}");
            close_loop(self.name(), &mut c, &p, output)?;
            c.connect(input, &format!("{p}_sub"), 1)?;
        }
        c.validate()?;
        Ok(c)
    }
}

impl Transform for SmithPredictor {
    fn name(&self) -> &'static str {
        "SmithPredictor"
    }

    fn apply<T: Data>(&self, circuit: &Circuit<T>) -> Result<Circuit<T>> {
        if self.k < 2 {
            return Err(Error::transform(
                self.name(),
                format!(
                    "window k = {} is too small: k must be at least 2 (k = 1 is the plain Reconciler)",
                    self.k
                ),
            ));
        }
        let pairs = resolve_pairs(self.name(), circuit, &self.pairs)?;
        let mut c = circuit.clone();
        for (input, output) in &pairs {
            let p = format!("_smith_{output}");
            let delay = close_loop(self.name(), &mut c, &p, output)?;
            // z⁻²U … z⁻ᵏU
            let mut last = delay;
            for i in 2..=self.k {
                let cell = c.add_node(format!("{p}_w{i}"), Operator::Delay)?;
                c.connect(&last, &cell, 0)?;
                last = cell;
            }
            let win = c.add_node(
                format!("{p}_win"),
                Operator::LinearCombination(vec![1, 1, -1]),
            )?;
            c.connect(input, &win, 0)?;
            c.connect(&format!("{p}_delay"), &win, 1)?;
            c.connect(&last, &win, 2)?;
            let dist = c.add_node(format!("{p}_dist"), Operator::Distinct)?;
            c.connect(&win, &dist, 0)?;
            c.connect(&dist, &format!("{p}_sub"), 1)?;
        }
        c.validate()?;
        Ok(c)
    }
}
