//! The differential-dataflow backend: a snapshot circuit run on timely workers.
//!
//! [`DataflowExecutor`] translates a circuit's *snapshot* operators into
//! [differential-dataflow](https://docs.rs/differential-dataflow) collections, which
//! maintain every operator's output incrementally by themselves (arrangements for joins and
//! group-bys, consolidation everywhere). It is a second engine for the same circuits: the
//! same deltas in give the same output deltas as the [`Executor`](crate::Executor) running
//! the incrementalized circuit, so either can be measured against the other.
//!
//! | operator | dataflow |
//! |---|---|
//! | `Map`, `Filter`, `FlatMap` | `flat_map`, `filter` |
//! | `Negate`, `LinearCombination` | `negate`, weights scaled, `concatenate` |
//! | `EquiJoin` | both sides keyed, `join_core` (combine, then the residual check) |
//! | `Cartesian` | both sides keyed by `()`, `join_core` |
//! | `Distinct` | `threshold_total` (positive rows at weight 1) |
//! | `GroupBy` | members keyed by group, `reduce` (the spec's [`Aggregate`] over a [`Group`]) |
//!
//! Circuits with state operators of their own (`Integrate`, `Delay`, the incremental join
//! and group-by, …) are refused: hand this executor the snapshot circuit, not the
//! incrementalized one. A step feeds the inputs at the next timestamp and runs the
//! workers until every sink has seen it.
//!
//! [`Workers`] says where the workers run. One worker (the default) runs in the caller's
//! thread. Several run on threads of their own (module `workers`): each step's rows are spread
//! over them by hash, differential dataflow exchanges them by key, and the outputs are
//! gathered at worker 0. Across processes, the driving process (process 0) feeds and
//! reads, and every other process lends its workers with [`DataflowExecutor::serve`].
//!
//! When user logic fails, the step is undone as the [`Executor`](crate::Executor) undoes
//! it: its inputs are fed again negated (user logic is deterministic, so the same rows fail
//! the same way and every collection returns to where it was) and the error is returned.

mod workers;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use differential_dataflow::AsCollection as _;
use differential_dataflow::input::{Input as _, InputSession};
use differential_dataflow::operators::ThresholdTotal as _;
use differential_dataflow::{ExchangeData, VecCollection};
use timely::WorkerConfig;
use timely::communication::Allocator;
use timely::communication::allocator::Thread;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Exchange as _;
use timely::worker::Worker;

use crate::data::{Data, Weight};
use crate::error::{Error, Result, UserError};
use crate::operator::{Group, GroupSpec, JoinSpec, Matched, MemberIdentity, Operator, Prior};
use crate::zset::ZSet;
use workers::Pool;
pub use workers::Workers;

/// A row type the dataflow backend can carry: circuit data that timely can exchange.
pub trait DataflowData: Data + ExchangeData {}

impl<T: Data + ExchangeData> DataflowData for T {}

/// Where a node's user logic failed: node id, operator kind and the error.
type Failed = (String, &'static str, UserError);

/// The first user-logic failure of a step at one worker.
type Failure = Rc<RefCell<Option<Failed>>>;

/// A collection of rows of `T` at `u64` timestamps with engine weights.
type Rows<'s, T> = VecCollection<'s, u64, T, Weight>;

/// A circuit's snapshot operators run by differential dataflow on timely workers.
pub struct DataflowExecutor<T: DataflowData> {
    name: String,
    /// The input node ids, in the order the dataflow's sessions were made.
    inputs: Vec<String>,
    /// The output node ids, in the order the dataflow's sinks were made.
    outputs: Vec<String>,
    /// What each output emitted in the last step.
    emitted: Vec<ZSet<T>>,
    /// What the inputs were fed for the next step.
    pending: Vec<ZSet<T>>,
    /// The workers running the dataflow.
    run: Run<T>,
}

/// The workers of a [`DataflowExecutor`].
enum Run<T: DataflowData> {
    /// One worker in the caller's thread.
    Local(Box<(Worker, Dataflow<T>)>),
    /// Worker threads (and, across processes, the workers of other processes).
    Pool(Pool<T>),
}

impl<T: DataflowData> std::fmt::Debug for DataflowExecutor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let workers = match &self.run {
            Run::Local(_) => 1,
            Run::Pool(pool) => pool.threads(),
        };
        f.debug_struct("DataflowExecutor")
            .field("circuit", &self.name)
            .field("local_workers", &workers)
            .finish_non_exhaustive()
    }
}

impl<T: DataflowData> DataflowExecutor<T> {
    /// Builds the dataflow of the snapshot circuit `circuit` on one worker in the caller's
    /// thread.
    ///
    /// # Errors
    /// Any validation error of [`crate::Circuit::validate`], and [`Error::Transform`] when
    /// the circuit holds an operator that keeps state of its own (an incrementalized or
    /// closed-loop circuit): those need the [`Executor`](crate::Executor).
    pub fn new(circuit: &crate::Circuit<T>) -> Result<Self> {
        Self::with_workers(circuit, &Workers::default())
    }

    /// Builds the dataflow of the snapshot circuit `circuit` on `workers`. This process
    /// drives: it must be process 0 when `workers` spans several processes, each of the
    /// others running [`DataflowExecutor::serve`] on the same circuit.
    ///
    /// # Errors
    /// As [`DataflowExecutor::new`], and [`Error::Workers`] when `workers` is not a valid
    /// configuration, names another process than 0, or the workers could not be started
    /// (an address in use, a worker that could not build the dataflow).
    pub fn with_workers(circuit: &crate::Circuit<T>, workers: &Workers) -> Result<Self> {
        let order = snapshot_order(circuit)?;
        workers.check(circuit.name())?;
        if workers.process != 0 {
            return Err(Error::Workers {
                circuit: circuit.name().to_string(),
                reason: format!(
                    "process {} cannot drive the dataflow: process 0 feeds and reads it, \
                     the others serve it (DataflowExecutor::serve)",
                    workers.process
                ),
            });
        }
        let of = |kind: fn(&Operator<T>) -> bool| -> Vec<String> {
            order
                .iter()
                .filter(|id| circuit.node(id).is_some_and(kind))
                .cloned()
                .collect()
        };
        let inputs = of(|op| matches!(op, Operator::Input));
        let outputs = of(|op| matches!(op, Operator::Output));
        let run = if workers.is_local() {
            let mut worker = Worker::new(
                WorkerConfig::default(),
                Allocator::Thread(Thread::default()),
                Some(std::time::Instant::now()),
            );
            let dataflow = Dataflow::build(&mut worker, circuit, &order)?;
            Run::Local(Box::new((worker, dataflow)))
        } else {
            Run::Pool(Pool::start(circuit, order, workers)?)
        };
        Ok(DataflowExecutor {
            name: circuit.name().to_string(),
            emitted: outputs.iter().map(|_| ZSet::new()).collect(),
            pending: inputs.iter().map(|_| ZSet::new()).collect(),
            inputs,
            outputs,
            run,
        })
    }

    /// Lends this process's workers to a dataflow of `circuit` driven by process 0 of
    /// `workers`, and returns once the driving process has dropped its executor (its inputs
    /// closed and every worker done).
    ///
    /// Every process must build the same circuit. User-logic failures at this process's
    /// workers are not reported to the driving process: a failing row is left out there.
    ///
    /// # Errors
    /// As [`DataflowExecutor::with_workers`], and [`Error::Workers`] when `workers` is
    /// process 0 or spans one process only (there is nobody to serve).
    pub fn serve(circuit: &crate::Circuit<T>, workers: &Workers) -> Result<()> {
        let order = snapshot_order(circuit)?;
        workers.check(circuit.name())?;
        if workers.process == 0 || workers.hosts.len() < 2 {
            return Err(Error::Workers {
                circuit: circuit.name().to_string(),
                reason: "only a process other than 0 of several serves (a cluster of at \
                         least two hosts, this process's index at least 1)"
                    .to_string(),
            });
        }
        workers::serve(circuit, order, workers)
    }

    /// Adds `delta` to what input `name` (a node id, `input_pods`, or a stream name,
    /// `pods`) emits in the next step.
    ///
    /// # Errors
    /// [`Error::UnknownInput`].
    pub fn feed(&mut self, name: &str, delta: ZSet<T>) -> Result<()> {
        let Some(at) = find_port(&self.inputs, name, crate::circuit::input_id) else {
            return Err(Error::UnknownInput {
                circuit: self.name.clone(),
                name: name.to_string(),
                known: self.inputs.clone(),
            });
        };
        if let Some(p) = self.pending.get_mut(at) {
            p.absorb(delta);
        }
        Ok(())
    }

    /// Runs one step: every input's fed delta enters at the next timestamp, and the workers
    /// run until the whole dataflow has processed it.
    ///
    /// # Errors
    /// [`Error::Operator`] when user logic fails at a node; the step is then undone.
    /// [`Error::Workers`] when a worker thread ended early (the executor is then unusable).
    pub fn step(&mut self) -> Result<()> {
        let fed: Vec<ZSet<T>> = self.pending.iter_mut().map(std::mem::take).collect();
        for e in &mut self.emitted {
            *e = ZSet::new();
        }
        let (emitted, failure) = self.run(&fed, 1)?;
        let Some((node, kind, source)) = failure else {
            self.emitted = emitted;
            return Ok(());
        };
        // Undo: the same inputs negated. The same rows fail again; those errors are the
        // undo's own and are dropped.
        self.run(&fed, -1)?;
        Err(Error::Operator {
            circuit: self.name.clone(),
            node,
            kind,
            source,
        })
    }

    /// Feeds `fed` (times `sign`) at the next timestamp, runs the workers past it, and
    /// returns what the outputs emitted and the first failure.
    fn run(&mut self, fed: &[ZSet<T>], sign: Weight) -> Result<(Vec<ZSet<T>>, Option<Failed>)> {
        match &mut self.run {
            Run::Local(local) => {
                let (worker, dataflow) = &mut **local;
                dataflow.feed(fed.iter().map(|d| d.iter()), sign);
                Ok(dataflow.run(worker))
            }
            Run::Pool(pool) => pool.run(&self.name, fed, sign),
        }
    }

    /// The delta output `name` (a node id or a stream name) emitted in the last step.
    ///
    /// # Errors
    /// [`Error::UnknownOutput`].
    pub fn output(&self, name: &str) -> Result<ZSet<T>> {
        find_port(&self.outputs, name, crate::circuit::output_id)
            .and_then(|at| self.emitted.get(at))
            .cloned()
            .ok_or_else(|| Error::UnknownOutput {
                circuit: self.name.clone(),
                name: name.to_string(),
                known: self.outputs.clone(),
            })
    }
}

/// The schedule of `circuit`, checked to hold snapshot operators only.
fn snapshot_order<T: DataflowData>(circuit: &crate::Circuit<T>) -> Result<Vec<String>> {
    let order = circuit.schedule()?;
    if let Some((id, op)) = circuit.nodes().find(|(_, op)| !is_snapshot(op)) {
        return Err(Error::transform(
            "DataflowExecutor",
            format!(
                "node {id:?} is a {} operator, which keeps state of its own: run the \
                 snapshot circuit (before any transform) on the dataflow backend",
                op.kind()
            ),
        ));
    }
    Ok(order)
}

/// One worker's part of a circuit's dataflow: its input sessions, output sinks and
/// progress.
struct Dataflow<T: DataflowData> {
    /// One session per input node, in schedule order.
    inputs: Vec<InputSession<u64, T, Weight>>,
    /// What each output node emitted at this worker in the current step.
    outputs: Vec<Rc<RefCell<ZSet<T>>>>,
    probe: ProbeHandle<u64>,
    failure: Failure,
    /// The timestamp of the last step.
    time: u64,
}

impl<T: DataflowData> Dataflow<T> {
    /// Builds the dataflow of `circuit` (scheduled as `order`) on `worker`. With several
    /// workers every output is gathered at worker 0.
    fn build(worker: &mut Worker, circuit: &crate::Circuit<T>, order: &[String]) -> Result<Self> {
        let failure: Failure = Rc::new(RefCell::new(None));
        let probe = ProbeHandle::new();
        let gather = worker.peers() > 1;
        let built = worker.dataflow::<u64, _, _>(|scope| {
            let mut inputs = Vec::new();
            let mut outputs = Vec::new();
            let mut streams: HashMap<&str, Rows<'_, T>> = HashMap::new();
            for id in order {
                let op = circuit.node(id).ok_or_else(|| unknown(circuit, id))?;
                let mut ports = Vec::new();
                for edge in circuit.in_edges(id) {
                    let from = streams
                        .get(edge.from.as_str())
                        .ok_or_else(|| unknown(circuit, &edge.from))?;
                    ports.push(from.clone());
                }
                let node = Node {
                    id,
                    kind: op.kind(),
                    failure: &failure,
                };
                let stream = match op {
                    Operator::Input => {
                        let (session, rows) = scope.new_collection::<T, Weight>();
                        inputs.push(session);
                        rows
                    }
                    Operator::Output => {
                        let sink = Rc::new(RefCell::new(ZSet::new()));
                        let into = Rc::clone(&sink);
                        outputs.push(sink);
                        let mut rows = concatenate(scope, ports);
                        if gather {
                            rows = rows.inner.exchange(|_| 0).as_collection();
                        }
                        rows.inspect_batch(move |_, updates| {
                            let mut delta = into.borrow_mut();
                            for (row, _, w) in updates {
                                delta.insert_ref(row, *w);
                            }
                        })
                    }
                    other => node.translate(circuit, other, ports)?,
                };
                streams.insert(id.as_str(), stream);
            }
            // Every stream that feeds nothing is probed, so a step ends when all of the
            // circuit (side branches included) has processed it.
            for id in order {
                if circuit.out_edges(id).is_empty()
                    && let Some(stream) = streams.remove(id.as_str())
                {
                    stream.probe_with(&probe);
                }
            }
            Ok::<_, Error>((inputs, outputs))
        });
        let (inputs, outputs) = built?;
        Ok(Dataflow {
            inputs,
            outputs,
            probe,
            failure,
            time: 0,
        })
    }

    /// Feeds each input its rows (times `sign`) at the next timestamp.
    fn feed<'a>(
        &mut self,
        fed: impl IntoIterator<Item = impl Iterator<Item = (&'a T, Weight)>>,
        sign: Weight,
    ) {
        for (session, rows) in self.inputs.iter_mut().zip(fed) {
            for (row, w) in rows {
                session.update(row.clone(), w * sign);
            }
        }
    }

    /// Advances every input past the fed timestamp, runs `worker` until the whole dataflow
    /// has processed it, and returns what this worker's outputs emitted and its first
    /// failure.
    fn run(&mut self, worker: &mut Worker) -> (Vec<ZSet<T>>, Option<Failed>) {
        self.time += 1;
        for session in &mut self.inputs {
            session.advance_to(self.time);
            session.flush();
        }
        let probe = &self.probe;
        let time = self.time;
        worker.step_while(|| probe.less_than(&time));
        let emitted = self.outputs.iter().map(|sink| sink.take()).collect();
        (emitted, self.failure.borrow_mut().take())
    }
}

/// The position of port `name` (a node id, or a stream name whose node id is
/// `canonical(name)`) among `ports`.
fn find_port(ports: &[String], name: &str, canonical: fn(&str) -> String) -> Option<usize> {
    let id = canonical(name);
    ports.iter().position(|p| p == name || *p == id)
}

/// Whether `op` is a snapshot operator (one this backend translates).
fn is_snapshot<T: Data>(op: &Operator<T>) -> bool {
    matches!(
        op,
        Operator::Input
            | Operator::Output
            | Operator::Noop
            | Operator::Negate
            | Operator::LinearCombination(_)
            | Operator::Map(_)
            | Operator::Filter(_)
            | Operator::FlatMap(_)
            | Operator::Cartesian(_)
            | Operator::EquiJoin(_)
            | Operator::Distinct
            | Operator::GroupBy(_)
    )
}

fn unknown<T: Data>(circuit: &crate::Circuit<T>, id: &str) -> Error {
    Error::UnknownNode {
        circuit: circuit.name().to_string(),
        node: id.to_string(),
    }
}

/// The sum of `ports` (an empty collection when there are none).
fn concatenate<'s, T: DataflowData>(
    scope: timely::dataflow::Scope<'s, u64>,
    ports: Vec<Rows<'s, T>>,
) -> Rows<'s, T> {
    differential_dataflow::collection::concatenate(scope, ports)
}

/// `result`'s value, or `fallback` once its error is recorded by `fail`.
fn or_record<V>(result: Result<V, UserError>, fail: &impl Fn(UserError), fallback: V) -> V {
    result.unwrap_or_else(|e| {
        fail(e);
        fallback
    })
}

/// A node being translated: where its user logic reports failures.
struct Node<'a> {
    id: &'a str,
    kind: &'static str,
    failure: &'a Failure,
}

impl Node<'_> {
    /// A recorder of this node's user-logic failures: keeps the step's first.
    fn sink(&self) -> impl Fn(UserError) + 'static {
        let failure = Rc::clone(self.failure);
        let (id, kind) = (self.id.to_string(), self.kind);
        move |e| {
            let mut f = failure.borrow_mut();
            if f.is_none() {
                *f = Some((id.clone(), kind, e));
            }
        }
    }

    /// The collection computed by snapshot operator `op` from `ports`.
    fn translate<'s, T: DataflowData>(
        &self,
        circuit: &crate::Circuit<T>,
        op: &Operator<T>,
        mut ports: Vec<Rows<'s, T>>,
    ) -> Result<Rows<'s, T>> {
        let mut port = |i: usize| {
            ports
                .get_mut(i)
                .map(|p| p.clone())
                .ok_or_else(|| Error::DanglingPort {
                    circuit: circuit.name().to_string(),
                    node: self.id.to_string(),
                    kind: self.kind,
                    port: i,
                })
        };
        let fail = self.sink();
        Ok(match op {
            Operator::Noop => port(0)?,
            Operator::Negate => port(0)?.negate(),
            Operator::LinearCombination(coeffs) => {
                let mut scaled = Vec::with_capacity(coeffs.len());
                for (i, c) in coeffs.iter().copied().enumerate() {
                    let p = port(i)?;
                    scaled.push(match c {
                        1 => p,
                        -1 => p.negate(),
                        c => p.explode(move |row| Some((row, c))),
                    });
                }
                concatenate(port(0)?.scope(), scaled)
            }
            Operator::Map(f) => {
                let f = f.clone();
                port(0)?.flat_map(move |row| or_record((f.func())(&row), &fail, None))
            }
            Operator::Filter(f) => {
                let f = f.clone();
                port(0)?.filter(move |row| or_record((f.func())(row), &fail, false))
            }
            Operator::FlatMap(f) => {
                let f = f.clone();
                port(0)?.flat_map(move |row| {
                    let mut out = Vec::new();
                    if let Err(e) = (f.func())(&row, &mut out) {
                        fail(e);
                        out.clear();
                    }
                    out
                })
            }
            Operator::Cartesian(f) => {
                let f = f.clone();
                let right = port(1)?.map(|row| ((), row)).arrange_by_key();
                port(0)?
                    .map(|row| ((), row))
                    .join_core(right, move |(), l, r| {
                        or_record((f.func())(l, r).map(Some), &fail, None)
                    })
            }
            Operator::EquiJoin(spec) => self.equi_join(spec, port(0)?, port(1)?),
            Operator::Distinct => port(0)?.threshold_total(|_, w: &Weight| Weight::from(*w > 0)),
            Operator::GroupBy(spec) => self.group_by(spec, port(0)?),
            // Inputs and outputs are built by the caller; the rest are refused up front
            // (`is_snapshot`).
            _ => port(0)?,
        })
    }

    /// Keys each row of `rows` by `key` (rows without a key never match).
    fn keyed<'s, T: DataflowData>(
        &self,
        rows: Rows<'s, T>,
        key: &crate::operator::KeyFn<T>,
    ) -> VecCollection<'s, u64, (T, T), Weight> {
        let key = key.clone();
        let fail = self.sink();
        rows.flat_map(move |row| or_record((key.func())(&row), &fail, None).map(|k| (k, row)))
    }

    /// `EquiJoin`: rows of `left` and `right` with equal keys, combined, where the residual
    /// condition holds.
    fn equi_join<'s, T: DataflowData>(
        &self,
        spec: &JoinSpec<T>,
        left: Rows<'s, T>,
        right: Rows<'s, T>,
    ) -> Rows<'s, T> {
        let right = self.keyed(right, &spec.right_key).arrange_by_key();
        let (combine, residual) = (spec.combine.clone(), spec.residual.clone());
        let fail = self.sink();
        self.keyed(left, &spec.left_key)
            .join_core(right, move |key, l, r| {
                let row = or_record((combine.func())(l, r).map(Some), &fail, None)?;
                let keep = residual
                    .as_ref()
                    .map_or(Ok(true), |keep| (keep.func())(Matched { key, row: &row }));
                or_record(keep, &fail, false).then_some(row)
            })
    }

    /// `GroupBy`: the members of each group gathered into a [`Group`] and aggregated from
    /// scratch, for every group with members of positive total weight.
    fn group_by<'s, T: DataflowData>(&self, spec: &GroupSpec<T>, rows: Rows<'s, T>) -> Rows<'s, T> {
        let group = spec.group.clone();
        let identity = spec.identity;
        let fail = self.sink();
        let members = rows.flat_map(move |row| {
            let (key, value) = or_record((group.func())(&row).map(Some), &fail, None)?;
            let member = match identity {
                MemberIdentity::Row => row,
                MemberIdentity::Value => value.clone(),
            };
            Some((key, (member, value)))
        });
        let aggregate = std::sync::Arc::clone(&spec.aggregate);
        let fail = self.sink();
        members
            .reduce(move |key, members: &[(&(T, T), Weight)], out| {
                let mut g = Group::default();
                for ((row, value), w) in members {
                    g.update(row, value, *w);
                }
                if g.count() <= 0 {
                    return;
                }
                if let Some(row) =
                    or_record(aggregate.aggregate(key, &g, Prior::none()), &fail, None)
                {
                    out.push((row, 1));
                }
            })
            .map(|(_, row)| row)
    }
}
