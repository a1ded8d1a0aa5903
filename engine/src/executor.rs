//! The single-threaded step executor.
//!
//! An [`Executor`] instantiates a validated [`Circuit`]: it computes the schedule once
//! (a topological order, ties broken by node id), creates the state of stateful nodes, and
//! then runs one *step* per call to [`Executor::step`]:
//!
//! 1. every input node emits the delta fed to it since the last step (∅ if none);
//! 2. every delay emits the value it absorbed in the previous step;
//! 3. the nodes run in schedule order, each reading its inputs by port;
//! 4. every delay absorbs its input's value, and (unless switched off with
//!    [`Executor::track_snapshots`]) outputs are folded into their snapshots.
//!
//! Values flow between nodes as shared `Arc<ZSet>`s, so identity-like nodes cost nothing and
//! ∫ updates its accumulator in place. A value is dropped once the last node that reads it
//! has run; only outputs' values (and delays' inputs) last until the next step. The work of
//! a step is proportional to the deltas that flow: empty inputs short-circuit, and the
//! stateful join and group-by touch only the keys in the delta.
//!
//! If user logic fails at some node, the step is aborted and every stateful node that
//! already ran this step is rolled back, so the executor is left exactly as before the step
//! and the error names the failing node.

mod fuse;
mod state;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use hashbrown::HashMap;

use crate::circuit::{Circuit, input_id, output_id};
use crate::data::Data;
use crate::error::{Error, Result, UserError};
use crate::operator::Operator;
use crate::zset::ZSet;
use fuse::{Chain, Fusion};
use state::{GroupState, JoinState, NodeState};

/// A node as the executor runs it.
#[derive(Debug)]
struct ExecNode<T: Data> {
    id: String,
    op: Operator<T>,
    /// The positions (in schedule order) of the nodes feeding each port; for an output,
    /// every in-edge.
    inputs: Vec<usize>,
    state: NodeState<T>,
}

/// A cheap, copyable reference to an input node of an [`Executor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputHandle(usize);

/// A cheap, copyable reference to an output node of an [`Executor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputHandle(usize);

/// A per-node observer: called with the node id, its operator and the value it emitted.
pub type Observer<T> = Box<dyn FnMut(&str, &Operator<T>, &ZSet<T>) + Send>;

/// Runs a circuit step by step. See the [module docs](self).
pub struct Executor<T: Data> {
    circuit: Circuit<T>,
    nodes: Vec<ExecNode<T>>,
    by_id: HashMap<String, usize>,
    values: Vec<Arc<ZSet<T>>>,
    /// The positions of the output nodes, in schedule order.
    outputs: Vec<usize>,
    /// The integral of each output (parallel to `outputs`), while snapshots are tracked.
    snapshots: Option<Vec<ZSet<T>>>,
    delays: Vec<usize>,
    empty: Arc<ZSet<T>>,
    steps: u64,
    observer: Option<Observer<T>>,
    /// The chains of row-wise nodes that run in one pass (while no observer is installed).
    fusion: Arc<Fusion<T>>,
    /// `release[pos]`: the nodes whose values no node reads after node `pos` has run, so
    /// they are dropped there (see [`release_plan`]).
    release: Vec<Vec<usize>>,
}

impl<T: Data> fmt::Debug for Executor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("circuit", &self.circuit.name())
            .field("nodes", &self.nodes.len())
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

fn initial_state<T: Data>(op: &Operator<T>) -> NodeState<T> {
    match op {
        Operator::Input => NodeState::Input(ZSet::new()),
        Operator::Delay => NodeState::Delay(Arc::new(ZSet::new())),
        Operator::Integrate => NodeState::Integrate(Arc::new(ZSet::new()), None),
        Operator::Differentiate => NodeState::Differentiate(Arc::new(ZSet::new()), None),
        Operator::Delta0 => NodeState::Delta0(false, false),
        Operator::EquiJoinIncremental(spec) => {
            NodeState::Join(Box::new(JoinState::new(spec.clone())))
        }
        Operator::GroupByIncremental(spec) => {
            NodeState::Group(Box::new(GroupState::new(spec.clone())))
        }
        _ => NodeState::None,
    }
}

impl<T: Data> Executor<T> {
    /// Validates `circuit` and prepares it to run.
    ///
    /// # Errors
    /// Any validation error of [`Circuit::validate`].
    pub fn new(circuit: Circuit<T>) -> Result<Self> {
        let order = circuit.schedule()?;
        let by_id: HashMap<String, usize> = order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let mut nodes = Vec::with_capacity(order.len());
        let mut delays = Vec::new();
        for (pos, id) in order.iter().enumerate() {
            let op = circuit
                .node(id)
                .cloned()
                .ok_or_else(|| circuit.unknown(id))?;
            let inputs = circuit
                .in_edges(id)
                .iter()
                .map(|e| {
                    by_id
                        .get(&e.from)
                        .copied()
                        .ok_or_else(|| circuit.unknown(&e.from))
                })
                .collect::<Result<Vec<usize>>>()?;
            if matches!(op, Operator::Delay) {
                delays.push(pos);
            }
            let state = initial_state(&op);
            nodes.push(ExecNode {
                id: id.clone(),
                op,
                inputs,
                state,
            });
        }
        let empty = Arc::new(ZSet::new());
        let outputs: Vec<usize> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.op, Operator::Output))
            .map(|(i, _)| i)
            .collect();
        let snapshots = Some(outputs.iter().map(|_| ZSet::new()).collect());
        let fusion = {
            let ops: Vec<&Operator<T>> = nodes.iter().map(|n| &n.op).collect();
            let inputs: Vec<&[usize]> = nodes.iter().map(|n| n.inputs.as_slice()).collect();
            Arc::new(Fusion::plan(&ops, &inputs))
        };
        let release = release_plan(&nodes, &outputs, &delays, &fusion);
        Ok(Self {
            values: vec![Arc::clone(&empty); nodes.len()],
            circuit,
            nodes,
            by_id,
            outputs,
            snapshots,
            delays,
            empty,
            steps: 0,
            observer: None,
            fusion,
            release,
        })
    }

    /// The circuit being run.
    #[must_use]
    pub fn circuit(&self) -> &Circuit<T> {
        &self.circuit
    }

    /// The number of completed steps.
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The node ids in execution order.
    pub fn schedule(&self) -> impl Iterator<Item = &str> + '_ {
        self.nodes.iter().map(|n| n.id.as_str())
    }

    /// Installs (or, with `None`, removes) a per-node observer called after every node runs.
    pub fn set_observer(&mut self, observer: Option<Observer<T>>) {
        self.observer = observer;
    }

    fn position(
        &self,
        name: &str,
        want: fn(&Operator<T>) -> bool,
        canonical: fn(&str) -> String,
    ) -> Option<usize> {
        [name.to_string(), canonical(name)]
            .iter()
            .filter_map(|id| self.by_id.get(id).copied())
            .find(|pos| want(&self.nodes[*pos].op))
    }

    /// The handle of input `name`: a node id (`input_pods`) or a stream name (`pods`).
    ///
    /// # Errors
    /// [`Error::UnknownInput`].
    pub fn input_handle(&self, name: &str) -> Result<InputHandle> {
        self.position(name, |op| matches!(op, Operator::Input), input_id)
            .map(InputHandle)
            .ok_or_else(|| Error::UnknownInput {
                circuit: self.circuit.name().to_string(),
                name: name.to_string(),
                known: self.circuit.inputs(),
            })
    }

    /// The handle of output `name`: a node id (`output_view`) or a stream name (`view`).
    ///
    /// # Errors
    /// [`Error::UnknownOutput`].
    pub fn output_handle(&self, name: &str) -> Result<OutputHandle> {
        self.position(name, |op| matches!(op, Operator::Output), output_id)
            .map(OutputHandle)
            .ok_or_else(|| Error::UnknownOutput {
                circuit: self.circuit.name().to_string(),
                name: name.to_string(),
                known: self.circuit.outputs(),
            })
    }

    /// Adds `delta` to what input `name` emits in the next step.
    ///
    /// # Errors
    /// [`Error::UnknownInput`].
    pub fn feed(&mut self, name: &str, delta: ZSet<T>) -> Result<()> {
        let h = self.input_handle(name)?;
        self.feed_handle(h, delta);
        Ok(())
    }

    /// Adds `delta` to what the input of `handle` emits in the next step.
    pub fn feed_handle(&mut self, handle: InputHandle, delta: ZSet<T>) {
        if let Some(ExecNode {
            state: NodeState::Input(pending),
            ..
        }) = self.nodes.get_mut(handle.0)
        {
            pending.absorb(delta);
        }
    }

    /// Adds one row with `weight` to what the input of `handle` emits in the next step.
    pub fn feed_row(&mut self, handle: InputHandle, row: T, weight: crate::Weight) {
        if let Some(ExecNode {
            state: NodeState::Input(pending),
            ..
        }) = self.nodes.get_mut(handle.0)
        {
            pending.insert(row, weight);
        }
    }

    /// The delta output `name` emitted in the last step.
    ///
    /// # Errors
    /// [`Error::UnknownOutput`].
    pub fn output(&self, name: &str) -> Result<&ZSet<T>> {
        Ok(self.output_of(self.output_handle(name)?))
    }

    /// The delta the output of `handle` emitted in the last step.
    #[must_use]
    pub fn output_of(&self, handle: OutputHandle) -> &ZSet<T> {
        self.values.get(handle.0).map_or(&self.empty, |v| v)
    }

    /// The integral of everything output `name` emitted so far (for an incremental circuit:
    /// the current snapshot of the result).
    ///
    /// # Errors
    /// [`Error::UnknownOutput`], or [`Error::SnapshotsNotTracked`] when snapshot tracking is
    /// switched off (see [`track_snapshots`](Self::track_snapshots)).
    pub fn snapshot(&self, name: &str) -> Result<&ZSet<T>> {
        let handle = self.output_handle(name)?;
        if self.snapshots.is_none() {
            return Err(Error::SnapshotsNotTracked {
                circuit: self.circuit.name().to_string(),
                name: name.to_string(),
            });
        }
        Ok(self.snapshot_of(handle))
    }

    /// The integral of everything the output of `handle` emitted so far; ∅ when snapshot
    /// tracking is switched off (see [`track_snapshots`](Self::track_snapshots)).
    #[must_use]
    pub fn snapshot_of(&self, handle: OutputHandle) -> &ZSet<T> {
        self.outputs
            .iter()
            .position(|pos| *pos == handle.0)
            .and_then(|i| self.snapshots.as_ref()?.get(i))
            .unwrap_or(&self.empty)
    }

    /// Switches the integration of outputs into snapshots on or off (it is on after
    /// [`new`](Self::new)).
    ///
    /// Every step folds each output's delta into its snapshot, which costs a hash-table
    /// update per output row. A runtime that consumes only the deltas (a controller
    /// applying changes downstream) switches it off to save that work and the memory of a
    /// second copy of every output. Switching off discards the snapshots; switching back on
    /// starts them from ∅, so they are then the integrals of what the outputs emitted since
    /// (switch on before the first step, or after [`reset`](Self::reset), for the full
    /// snapshot).
    ///
    /// ```
    /// use deltaloop_engine::{zset, Circuit, Executor};
    /// let mut c: Circuit<i32> = Circuit::new("id");
    /// let x = c.input("x")?;
    /// c.output("y", &x)?;
    /// let mut exec = Executor::new(c)?;
    /// exec.track_snapshots(false);
    /// exec.feed("x", zset! { 1 => 1 })?;
    /// exec.step()?;
    /// assert_eq!(exec.output("y")?, &zset! { 1 => 1 }); // deltas are unaffected
    /// assert!(exec.snapshot("y").is_err());
    /// # Ok::<(), deltaloop_engine::Error>(())
    /// ```
    pub fn track_snapshots(&mut self, on: bool) {
        match (on, &self.snapshots) {
            (true, None) => {
                self.snapshots = Some(self.outputs.iter().map(|_| ZSet::new()).collect())
            }
            (false, Some(_)) => self.snapshots = None,
            _ => {}
        }
    }

    /// Whether outputs are integrated into snapshots (see
    /// [`track_snapshots`](Self::track_snapshots)).
    #[must_use]
    pub fn tracks_snapshots(&self) -> bool {
        self.snapshots.is_some()
    }

    /// Runs one step with the given inputs (missing inputs get ∅) and returns every output's
    /// delta, keyed by output id. A convenience for tests and one-shot runs.
    ///
    /// # Errors
    /// [`Error::UnknownInput`], or any error of [`step`](Self::step).
    pub fn run_step<'a>(
        &mut self,
        inputs: impl IntoIterator<Item = (&'a str, ZSet<T>)>,
    ) -> Result<BTreeMap<String, ZSet<T>>> {
        for (name, delta) in inputs {
            self.feed(name, delta)?;
        }
        self.step()?;
        Ok(self
            .outputs
            .iter()
            .map(|pos| (self.nodes[*pos].id.clone(), (*self.values[*pos]).clone()))
            .collect())
    }

    /// Runs one step. See the [module docs](self).
    ///
    /// # Errors
    /// [`Error::Operator`] when user logic fails at a node; the step is then rolled back.
    pub fn step(&mut self) -> Result<()> {
        for v in &mut self.values {
            *v = Arc::clone(&self.empty);
        }
        // Fused chains skip their inner nodes, whose values an observer would want to see.
        let fused = self.observer.is_none();
        let fusion = Arc::clone(&self.fusion);
        for pos in 0..self.nodes.len() {
            if fused && fusion.is_absorbed(pos) {
                continue;
            }
            let result = match fusion.chain(pos) {
                Some(chain) if fused => self.eval_chain(chain),
                _ => self.eval(pos).map_err(|e| (pos, e)),
            };
            match result {
                Ok(value) => {
                    if let Some(obs) = &mut self.observer {
                        let node = &self.nodes[pos];
                        obs(&node.id, &node.op, &value);
                    }
                    self.values[pos] = value;
                    for &done in &self.release[pos] {
                        self.values[done] = Arc::clone(&self.empty);
                    }
                }
                Err((failed, source)) => {
                    for earlier in (0..failed).rev() {
                        self.nodes[earlier].state.rollback();
                    }
                    for v in &mut self.values {
                        *v = Arc::clone(&self.empty);
                    }
                    let node = &self.nodes[failed];
                    return Err(Error::Operator {
                        circuit: self.circuit.name().to_string(),
                        node: node.id.clone(),
                        kind: node.op.kind(),
                        source,
                    });
                }
            }
        }
        for &pos in &self.delays {
            let src = self.nodes[pos].inputs.first().copied();
            if let (Some(src), NodeState::Delay(stored)) = (src, &mut self.nodes[pos].state) {
                *stored = Arc::clone(&self.values[src]);
            }
        }
        if let Some(snapshots) = &mut self.snapshots {
            for (pos, snapshot) in self.outputs.iter().zip(snapshots) {
                snapshot.add_assign(&self.values[*pos]);
            }
        }
        self.steps += 1;
        Ok(())
    }

    /// Forgets all state, as if the executor had just been created.
    pub fn reset(&mut self) {
        for node in &mut self.nodes {
            node.state = initial_state(&node.op);
        }
        for v in &mut self.values {
            *v = Arc::clone(&self.empty);
        }
        for s in self.snapshots.iter_mut().flatten() {
            s.clear();
        }
        self.steps = 0;
    }

    /// Computes the value of the last node of `chain` (row-wise nodes, see [`fuse`]) in one
    /// pass. If that fails, the chain runs again node by node, which decides exactly whether
    /// the step fails and at which node.
    fn eval_chain(
        &mut self,
        chain: &Chain<T>,
    ) -> std::result::Result<Arc<ZSet<T>>, (usize, UserError)> {
        let (Some(&head), Some((&tail, inner))) = (chain.nodes.first(), chain.nodes.split_last())
        else {
            return Ok(Arc::clone(&self.empty));
        };
        let input = self.nodes[head]
            .inputs
            .first()
            .map_or(&self.empty, |src| &self.values[*src]);
        if input.is_empty() {
            return Ok(Arc::clone(&self.empty));
        }
        if let Ok(out) = fuse::run_chain(&chain.ops, input) {
            return Ok(Arc::new(out));
        }
        for &pos in inner {
            self.values[pos] = self.eval(pos).map_err(|e| (pos, e))?;
        }
        self.eval(tail).map_err(|e| (tail, e))
    }

    /// Computes node `pos`'s value from the values of its inputs.
    fn eval(&mut self, pos: usize) -> std::result::Result<Arc<ZSet<T>>, UserError> {
        let values = &self.values;
        let empty = &self.empty;
        let node = &mut self.nodes[pos];
        let input = |port: usize| -> &Arc<ZSet<T>> {
            node.inputs.get(port).map_or(empty, |src| &values[*src])
        };
        let a = input(0);
        Ok(match (&node.op, &mut node.state) {
            (Operator::Input, NodeState::Input(pending)) => Arc::new(std::mem::take(pending)),
            (Operator::Delay, NodeState::Delay(stored)) => Arc::clone(stored),
            (Operator::Output, _) => match node.inputs.as_slice() {
                [] => Arc::clone(empty),
                [one] => Arc::clone(&values[*one]),
                many => {
                    let mut sum = ZSet::new();
                    for src in many {
                        sum.add_assign(&values[*src]);
                    }
                    Arc::new(sum)
                }
            },
            (Operator::Noop, _) => Arc::clone(a),
            (_, _) if a.is_empty() && node.op.arity() == Some(1) && !node.op.is_stateful() => {
                Arc::clone(empty)
            }
            (Operator::Integrate, NodeState::Integrate(acc, undo)) => {
                if !a.is_empty() {
                    Arc::make_mut(acc).add_assign(a);
                    *undo = Some(Arc::clone(a));
                } else {
                    *undo = None;
                }
                Arc::clone(acc)
            }
            (Operator::Differentiate, NodeState::Differentiate(prev, undo)) => {
                let out = if Arc::ptr_eq(a, prev) {
                    ZSet::new()
                } else {
                    a.minus(prev)
                };
                *undo = Some(std::mem::replace(prev, Arc::clone(a)));
                Arc::new(out)
            }
            (Operator::Delta0, NodeState::Delta0(fired, now)) => {
                *now = !*fired;
                *fired = true;
                if *now {
                    Arc::clone(a)
                } else {
                    Arc::clone(empty)
                }
            }
            (Operator::Negate, _) => Arc::new(a.negate()),
            (Operator::LinearCombination(coeffs), _) => {
                let mut sum = ZSet::new();
                for (port, c) in coeffs.iter().enumerate() {
                    sum.add_assign_scaled(input(port), *c);
                }
                Arc::new(sum)
            }
            (Operator::DistinctH, _) => Arc::new(distinct_h(a, input(1))),
            (Operator::Distinct, _) => Arc::new(a.distinct()),
            (Operator::Map(f), _) => {
                let f = f.func();
                let mut out = ZSet::with_capacity(a.len());
                for (row, w) in a.iter() {
                    if let Some(mapped) = f(row)? {
                        out.insert(mapped, w);
                    }
                }
                Arc::new(out)
            }
            (Operator::Filter(f), _) => {
                let f = f.func();
                let mut out = ZSet::with_capacity(a.len());
                for (row, w) in a.iter() {
                    if f(row)? {
                        out.insert_ref(row, w);
                    }
                }
                Arc::new(out)
            }
            (Operator::FlatMap(f), _) => {
                let f = f.func();
                let mut out = ZSet::with_capacity(a.len());
                let mut buf = Vec::new();
                for (row, w) in a.iter() {
                    buf.clear();
                    f(row, &mut buf)?;
                    for r in buf.drain(..) {
                        out.insert(r, w);
                    }
                }
                Arc::new(out)
            }
            (Operator::Cartesian(f), _) => {
                let b = input(1);
                let f = f.func();
                let mut out = ZSet::with_capacity(a.len() * b.len());
                for (l, wl) in a.iter() {
                    for (r, wr) in b.iter() {
                        out.insert(f(l, r)?, wl * wr);
                    }
                }
                Arc::new(out)
            }
            (Operator::EquiJoin(spec), _) => {
                let mut join = JoinState::new(spec.clone());
                Arc::new(join.step(a, input(1))?)
            }
            (Operator::GroupBy(spec), _) => {
                let mut group = GroupState::new(spec.clone());
                Arc::new(group.step(a)?)
            }
            (Operator::EquiJoinIncremental(_), NodeState::Join(join)) => {
                Arc::new(join.step(a, input(1))?)
            }
            (Operator::GroupByIncremental(_), NodeState::Group(group)) => Arc::new(group.step(a)?),
            // Unreachable: states are created from the operators they belong to.
            _ => Arc::clone(empty),
        })
    }
}

/// For each position, the nodes whose values are dead once it has run: a node's value is
/// read by its consumers (fused or not, a consumer reads it no later than where its chain
/// runs), by nothing after the step unless it is an output (read by
/// [`Executor::output`]) or a delay's source (absorbed at the end of the step).
///
/// Dropping intermediate deltas there, instead of when the next step begins, frees their
/// rows while they are still in the cache and lets the allocator hand the same memory to
/// the nodes that run next, which matters for large steps (an initial load, a batch).
fn release_plan<T: Data>(
    nodes: &[ExecNode<T>],
    outputs: &[usize],
    delays: &[usize],
    fusion: &Fusion<T>,
) -> Vec<Vec<usize>> {
    let mut last_read: Vec<Option<usize>> = (0..nodes.len()).map(Some).collect();
    for (pos, node) in nodes.iter().enumerate() {
        let at = fusion.runs_at(pos);
        for &src in &node.inputs {
            if let Some(Some(last)) = last_read.get_mut(src) {
                *last = (*last).max(at);
            }
        }
    }
    let pinned = outputs.iter().copied().chain(
        delays
            .iter()
            .filter_map(|d| nodes.get(*d)?.inputs.first().copied()),
    );
    for pos in pinned {
        if let Some(last) = last_read.get_mut(pos) {
            *last = None;
        }
    }
    let mut release = vec![Vec::new(); nodes.len()];
    for (pos, last) in last_read.into_iter().enumerate() {
        if let Some(list) = last.and_then(|at| release.get_mut(at)) {
            list.push(pos);
        }
    }
    release
}

/// The `H` function of incremental distinct: for each row of `delta`, +1 if its weight in
/// `prev` was ≤ 0 and becomes > 0, −1 if it was > 0 and becomes ≤ 0.
fn distinct_h<T: Data>(prev: &ZSet<T>, delta: &ZSet<T>) -> ZSet<T> {
    let mut out = ZSet::with_capacity(delta.len());
    for (row, w) in delta.iter() {
        let old = prev.weight(row);
        let new = old + w;
        if old <= 0 && new > 0 {
            out.insert_ref(row, 1);
        } else if old > 0 && new <= 0 {
            out.insert_ref(row, -1);
        }
    }
    out
}
