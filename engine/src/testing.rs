//! Test support: proptest strategies for Z-sets and delta sequences, and the oracle that
//! checks the DBSP correctness property `∫ ∘ Q^Δ = Q ∘ ∫` on a circuit.
//!
//! Enabled by the `testing` feature, so other crates' tests (the pipeline's oracle tests)
//! reuse the same harness.

use std::collections::BTreeMap;
use std::fmt::Debug;

use proptest::prelude::*;

use crate::circuit::Circuit;
use crate::data::{Data, Weight};
use crate::executor::Executor;
use crate::transform::{Incrementalizer, Transform};
use crate::zset::ZSet;

/// One step of input deltas, keyed by input id.
pub type Step<T> = BTreeMap<String, ZSet<T>>;

/// A Z-set of up to `max_rows` rows drawn from `rows`, with weights in −2..=2.
pub fn zset_strategy<T: Data>(
    rows: impl Strategy<Value = T>,
    max_rows: usize,
) -> impl Strategy<Value = ZSet<T>> {
    proptest::collection::vec((rows, -2 as Weight..=2), 0..=max_rows)
        .prop_map(|pairs| pairs.into_iter().collect())
}

/// A sequence of `1..=max_steps` steps, each giving every input in `inputs` a random delta.
pub fn steps_strategy<T: Data, S>(
    inputs: Vec<String>,
    rows: S,
    max_rows: usize,
    max_steps: usize,
) -> impl Strategy<Value = Vec<Step<T>>>
where
    S: Strategy<Value = T> + Clone,
{
    let step = inputs
        .into_iter()
        .map(|name| (Just(name), zset_strategy(rows.clone(), max_rows)))
        .collect::<Vec<_>>()
        .prop_map(|pairs| pairs.into_iter().collect::<Step<T>>());
    proptest::collection::vec(step, 1..=max_steps)
}

/// Why the oracle failed: the step, the output, and both sides.
#[derive(Debug)]
pub struct Mismatch {
    /// The step (0-based).
    pub step: usize,
    /// The output id.
    pub output: String,
    /// The snapshot circuit's output on the integrated inputs.
    pub expected: String,
    /// The integral of the incremental circuit's outputs.
    pub got: String,
}

/// Runs `circuit` on the integrated inputs and its incremental form on the deltas, and checks
/// after every step that the integral of each incremental output equals the snapshot output.
///
/// # Errors
/// A description of the first mismatch or engine error.
pub fn check_incremental<T: Data>(circuit: &Circuit<T>, steps: &[Step<T>]) -> Result<(), String> {
    let incremental = Incrementalizer.apply(circuit).map_err(|e| e.to_string())?;
    check_against(circuit, &incremental, steps)
}

/// Like [`check_incremental`] with an already transformed incremental circuit.
///
/// # Errors
/// A description of the first mismatch or engine error.
pub fn check_against<T: Data>(
    snapshot: &Circuit<T>,
    incremental: &Circuit<T>,
    steps: &[Step<T>],
) -> Result<(), String> {
    let mut snap = Executor::new(snapshot.clone()).map_err(|e| e.to_string())?;
    let mut inc = Executor::new(incremental.clone()).map_err(|e| e.to_string())?;
    let mut integrated: BTreeMap<String, ZSet<T>> = snapshot
        .inputs()
        .into_iter()
        .map(|i| (i, ZSet::new()))
        .collect();
    for (t, step) in steps.iter().enumerate() {
        for (name, delta) in step {
            integrated
                .entry(name.clone())
                .or_default()
                .add_assign(delta);
            inc.feed(name, delta.clone()).map_err(|e| e.to_string())?;
        }
        for (name, value) in &integrated {
            snap.feed(name, value.clone()).map_err(|e| e.to_string())?;
        }
        snap.step().map_err(|e| format!("snapshot step {t}: {e}"))?;
        inc.step()
            .map_err(|e| format!("incremental step {t}: {e}"))?;
        for output in snapshot.outputs() {
            let expected = snap.output(&output).map_err(|e| e.to_string())?;
            let got = inc.snapshot(&output).map_err(|e| e.to_string())?;
            if expected != got {
                return Err(format!(
                    "{:?}",
                    Mismatch {
                        step: t,
                        output,
                        expected: format!("{expected:?}"),
                        got: format!("{got:?}"),
                    }
                ));
            }
        }
    }
    Ok(())
}

/// Asserts [`check_incremental`], panicking with the mismatch (for use inside tests).
///
/// # Panics
/// When the property does not hold.
#[allow(clippy::panic)]
pub fn assert_incremental<T: Data + Debug>(circuit: &Circuit<T>, steps: &[Step<T>]) {
    if let Err(e) = check_incremental(circuit, steps) {
        panic!("incremental circuit differs from snapshot: {e}");
    }
}
