//! A compiled pipeline and its step runner.
//!
//! A [`CompiledPipeline`] is the snapshot circuit the compiler built, the bindings between
//! topics and its boundary nodes, and the [`Clock`] its operators read for `@now`.
//! [`CompiledPipeline::transform`] applies a transform [`Chain`] (Incrementalizer,
//! Reconciler, …) and keeps the bindings; [`CompiledPipeline::runner`] instantiates an
//! executor. A [`Runner`] step freezes the clock, feeds one Z-set per input topic (an
//! absent topic gets ∅), runs the circuit and returns each output topic's Z-set.

use std::collections::BTreeMap;

use deltaloop_engine::{Chain, Circuit, Executor, InputHandle, OutputHandle, Transform, ZSet};

use crate::clock::Clock;
use crate::value::{Str, Value};

/// A boundary node and the topic and logical name bound to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortBinding {
    /// The topic.
    pub topic: String,
    /// The logical name used inside the pipeline.
    pub logical: String,
    /// The node id (`input_<topic>` / `output_<topic>`).
    pub node: String,
}

/// A compiled pipeline: circuit, bindings and clock.
#[derive(Clone, Debug)]
pub struct CompiledPipeline {
    circuit: Circuit<Value>,
    inputs: Vec<PortBinding>,
    outputs: Vec<PortBinding>,
    clock: Clock,
}

/// A step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A delta was given for a topic that is not an input of the pipeline.
    #[error("no input topic {topic:?} (inputs: {known:?})")]
    UnknownTopic {
        /// The topic given.
        topic: String,
        /// The input topics.
        known: Vec<String>,
    },
    /// The engine failed the step (an operator error; the step was rolled back).
    #[error(transparent)]
    Engine(#[from] deltaloop_engine::Error),
}

impl CompiledPipeline {
    pub(crate) fn new(
        circuit: Circuit<Value>,
        inputs: Vec<PortBinding>,
        outputs: Vec<PortBinding>,
        clock: Clock,
    ) -> CompiledPipeline {
        CompiledPipeline {
            circuit,
            inputs,
            outputs,
            clock,
        }
    }

    /// The circuit.
    #[must_use]
    pub fn circuit(&self) -> &Circuit<Value> {
        &self.circuit
    }

    /// The input bindings, in source order.
    #[must_use]
    pub fn inputs(&self) -> &[PortBinding] {
        &self.inputs
    }

    /// The output bindings, in configured order.
    #[must_use]
    pub fn outputs(&self) -> &[PortBinding] {
        &self.outputs
    }

    /// The clock the operators read for `@now`.
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The pipeline with `chain` applied to its circuit (bindings and clock kept).
    ///
    /// # Errors
    /// The engine's transform error; `self` is unchanged.
    pub fn transform(&self, chain: &Chain) -> Result<CompiledPipeline, deltaloop_engine::Error> {
        Ok(CompiledPipeline {
            circuit: chain.apply(&self.circuit)?,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            clock: self.clock.clone(),
        })
    }

    /// The same bindings and clock over another circuit: for instance one reloaded from
    /// its [wire JSON](crate::wire) with an [`Expressions`](crate::wire::Expressions)
    /// builder on this pipeline's [`clock`](Self::clock). The circuit must keep the
    /// boundary node ids, or [`runner`](Self::runner) fails.
    #[must_use]
    pub fn with_circuit(&self, circuit: Circuit<Value>) -> CompiledPipeline {
        CompiledPipeline {
            circuit,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            clock: self.clock.clone(),
        }
    }

    /// An executor for the circuit, behind a topic-level runner.
    ///
    /// # Errors
    /// A validation error of the circuit.
    pub fn runner(&self) -> Result<Runner, deltaloop_engine::Error> {
        let executor = Executor::new(self.circuit.clone())?;
        let inputs = self
            .inputs
            .iter()
            .map(|b| Ok((b.topic.clone(), executor.input_handle(&b.node)?)))
            .collect::<Result<_, deltaloop_engine::Error>>()?;
        let outputs = self
            .outputs
            .iter()
            .map(|b| Ok((b.topic.clone(), executor.output_handle(&b.node)?)))
            .collect::<Result<_, deltaloop_engine::Error>>()?;
        Ok(Runner {
            executor,
            inputs,
            outputs,
            clock: self.clock.clone(),
        })
    }
}

/// Runs a compiled pipeline step by step, by topic.
///
/// Runners made from the same [`CompiledPipeline`] share its clock: step them from one
/// thread at a time.
#[derive(Debug)]
pub struct Runner {
    executor: Executor<Value>,
    inputs: Vec<(String, InputHandle)>,
    outputs: Vec<(String, OutputHandle)>,
    clock: Clock,
}

impl Runner {
    /// Runs one step at the current wall-clock time. See [`step_at`](Self::step_at).
    ///
    /// # Errors
    /// As [`step_at`](Self::step_at).
    pub fn step<'a>(
        &mut self,
        deltas: impl IntoIterator<Item = (&'a str, ZSet<Value>)>,
    ) -> Result<BTreeMap<String, ZSet<Value>>, RunError> {
        self.advance(deltas)?;
        Ok(self.outputs())
    }

    /// Runs one step with `@now` frozen to `now`: feeds each `(topic, delta)` (topics not
    /// given get ∅) and returns every output topic's Z-set for the step.
    ///
    /// # Errors
    /// [`RunError::UnknownTopic`] (nothing is run), or the engine's step error (the step is
    /// rolled back).
    pub fn step_at<'a>(
        &mut self,
        now: &str,
        deltas: impl IntoIterator<Item = (&'a str, ZSet<Value>)>,
    ) -> Result<BTreeMap<String, ZSet<Value>>, RunError> {
        self.run(Some(Str::from(now)), deltas)?;
        Ok(self.outputs())
    }

    /// Runs one step at the current wall-clock time like [`step`](Self::step), but leaves
    /// the outputs in place instead of copying them out: read them with
    /// [`output`](Self::output). This is what a loop that consumes every step's deltas
    /// calls.
    ///
    /// # Errors
    /// As [`step_at`](Self::step_at).
    pub fn advance<'a>(
        &mut self,
        deltas: impl IntoIterator<Item = (&'a str, ZSet<Value>)>,
    ) -> Result<(), RunError> {
        self.clock.tick();
        self.run(None, deltas)
    }

    /// The delta output `topic` emitted in the last step, or `None` for an unknown topic.
    #[must_use]
    pub fn output(&self, topic: &str) -> Option<&ZSet<Value>> {
        self.outputs
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, h)| self.executor.output_of(*h))
    }

    /// Every output topic's delta of the last step, copied.
    fn outputs(&self) -> BTreeMap<String, ZSet<Value>> {
        self.outputs
            .iter()
            .map(|(t, h)| (t.clone(), self.executor.output_of(*h).clone()))
            .collect()
    }

    /// Feeds `deltas` and runs one step, with `@now` frozen to `now` when given (else as
    /// the caller froze it: [`advance`](Self::advance) ticks the clock).
    fn run<'a>(
        &mut self,
        now: Option<Str>,
        deltas: impl IntoIterator<Item = (&'a str, ZSet<Value>)>,
    ) -> Result<(), RunError> {
        let mut fed = Vec::new();
        for (topic, delta) in deltas {
            let Some((_, h)) = self.inputs.iter().find(|(t, _)| t == topic) else {
                return Err(RunError::UnknownTopic {
                    topic: topic.to_owned(),
                    known: self.inputs.iter().map(|(t, _)| t.clone()).collect(),
                });
            };
            fed.push((*h, delta));
        }
        for (h, delta) in fed {
            self.executor.feed_handle(h, delta);
        }
        if let Some(now) = now {
            self.clock.set(now);
        }
        self.executor.step()?;
        Ok(())
    }

    /// The integral of everything output `topic` emitted so far; `None` for an unknown
    /// topic or while snapshots are switched off (see [`track_snapshots`](Self::track_snapshots)).
    #[must_use]
    pub fn snapshot(&self, topic: &str) -> Option<&ZSet<Value>> {
        if !self.executor.tracks_snapshots() {
            return None;
        }
        self.outputs
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, h)| self.executor.snapshot_of(*h))
    }

    /// Switches the integration of outputs into snapshots on or off (see
    /// [`Executor::track_snapshots`]). A loop that consumes every step's deltas (a
    /// controller) switches it off and saves a hash-table update per output row and a
    /// second copy of the output.
    pub fn track_snapshots(&mut self, on: bool) {
        self.executor.track_snapshots(on);
    }

    /// The underlying executor.
    #[must_use]
    pub fn executor(&self) -> &Executor<Value> {
        &self.executor
    }
}
