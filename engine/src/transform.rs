//! Circuit transforms: rewrites of a whole circuit into another.
//!
//! Every transform takes a circuit by reference and returns a new one: the input is never
//! mutated, so a failed transform leaves the caller's circuit as it was.
//!
//! * [`Incrementalizer`] turns a snapshot circuit `Q` into its incremental form
//!   `Q^Δ = D ∘ Q ∘ ∫`, operator by operator.
//! * [`Reconciler`] closes the loop: per (observed input, output) pair, it makes the output
//!   emit the gap between the desired state and the observed state, `U = ∫(δD − δY)`.
//! * [`SmithPredictor`] is the Reconciler with a prediction of the plant's echo, for plants
//!   with a dead time of up to `k` steps.
//! * [`Distincter`] gives every output set semantics.
//!
//! A [`Chain`] applies several of them as one step, in the canonical order
//! Reconciler | SmithPredictor → Distincter → Incrementalizer, whatever order they are given.

mod closed_loop;
mod distincter;
mod incrementalize;
mod rewrite;

pub use closed_loop::{Reconciler, SmithPredictor};
pub use distincter::Distincter;
pub use incrementalize::Incrementalizer;
pub use rewrite::{Rule, rewrite};

use crate::circuit::Circuit;
use crate::data::Data;
use crate::error::{Error, Result};

/// A rewrite of a whole circuit.
pub trait Transform {
    /// The transform's name, as chains and errors print it.
    fn name(&self) -> &'static str;

    /// The transformed copy of `circuit`; `circuit` itself is never changed.
    ///
    /// # Errors
    /// [`Error::Transform`] when the transform does not apply, or a validation error.
    fn apply<T: Data>(&self, circuit: &Circuit<T>) -> Result<Circuit<T>>;
}

/// One transform of a [`Chain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainStep {
    /// See [`Incrementalizer`].
    Incrementalizer(Incrementalizer),
    /// See [`Reconciler`].
    Reconciler(Reconciler),
    /// See [`SmithPredictor`].
    SmithPredictor(SmithPredictor),
    /// See [`Distincter`].
    Distincter(Distincter),
}

impl ChainStep {
    /// The canonical rank: closed-loop transforms first, then Distincter, then
    /// Incrementalizer.
    #[must_use]
    pub fn rank(&self) -> u8 {
        match self {
            ChainStep::Reconciler(_) | ChainStep::SmithPredictor(_) => 20,
            ChainStep::Distincter(_) => 30,
            ChainStep::Incrementalizer(_) => 40,
        }
    }
}

impl Transform for ChainStep {
    fn name(&self) -> &'static str {
        match self {
            ChainStep::Incrementalizer(t) => t.name(),
            ChainStep::Reconciler(t) => t.name(),
            ChainStep::SmithPredictor(t) => t.name(),
            ChainStep::Distincter(t) => t.name(),
        }
    }

    fn apply<T: Data>(&self, circuit: &Circuit<T>) -> Result<Circuit<T>> {
        match self {
            ChainStep::Incrementalizer(t) => t.apply(circuit),
            ChainStep::Reconciler(t) => t.apply(circuit),
            ChainStep::SmithPredictor(t) => t.apply(circuit),
            ChainStep::Distincter(t) => t.apply(circuit),
        }
    }
}

impl From<Incrementalizer> for ChainStep {
    fn from(t: Incrementalizer) -> Self {
        ChainStep::Incrementalizer(t)
    }
}

impl From<Reconciler> for ChainStep {
    fn from(t: Reconciler) -> Self {
        ChainStep::Reconciler(t)
    }
}

impl From<SmithPredictor> for ChainStep {
    fn from(t: SmithPredictor) -> Self {
        ChainStep::SmithPredictor(t)
    }
}

impl From<Distincter> for ChainStep {
    fn from(t: Distincter) -> Self {
        ChainStep::Distincter(t)
    }
}

/// Several transforms applied as one: all of them, in canonical order, or none.
///
/// ```
/// use deltaloop_engine::{Chain, Circuit, Distincter, Incrementalizer, Reconciler, Transform};
///
/// let mut c: Circuit<i64> = Circuit::new("c");
/// let x = c.input("x")?;
/// c.output("x", &x)?;
/// // Given out of order; applied as Reconciler → Distincter → Incrementalizer.
/// let chain = Chain::new(vec![
///     Incrementalizer.into(),
///     Distincter.into(),
///     Reconciler::auto().into(),
/// ])?;
/// let names: Vec<&str> = chain.steps().iter().map(|s| s.name()).collect();
/// assert_eq!(names, ["Reconciler", "Distincter", "Incrementalizer"]);
/// let inc = chain.apply(&c)?;
/// assert!(inc.contains("_rec_output_x_acc^Δ"));
///
/// // A duplicate is refused.
/// assert!(Chain::new(vec![Distincter.into(), Distincter.into()]).is_err());
/// # Ok::<(), deltaloop_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    steps: Vec<ChainStep>,
}

impl Chain {
    /// A chain of `steps`, sorted stably into canonical order.
    ///
    /// # Errors
    /// [`Error::Transform`] for an empty list or a transform named twice.
    pub fn new(mut steps: Vec<ChainStep>) -> Result<Self> {
        if steps.is_empty() {
            return Err(Error::transform("Chain", "no transforms given"));
        }
        for (i, s) in steps.iter().enumerate() {
            if steps[..i].iter().any(|t| t.name() == s.name()) {
                return Err(Error::transform(
                    "Chain",
                    format!("{} is given twice", s.name()),
                ));
            }
        }
        steps.sort_by_key(ChainStep::rank);
        Ok(Self { steps })
    }

    /// The steps in the order they apply.
    #[must_use]
    pub fn steps(&self) -> &[ChainStep] {
        &self.steps
    }
}

impl Transform for Chain {
    fn name(&self) -> &'static str {
        "Chain"
    }

    fn apply<T: Data>(&self, circuit: &Circuit<T>) -> Result<Circuit<T>> {
        let mut current = circuit.clone();
        for step in &self.steps {
            current = step.apply(&current)?;
        }
        Ok(current)
    }
}
