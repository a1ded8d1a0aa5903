//! The controller runtime: sources → a compiled pipeline → targets, on tokio.
//!
//! Per controller ([`start_controller`], or [`start_operator`] for a whole manifest):
//!
//! - every source runs in its own task and sends deltas, tagged with its topic (the kind),
//!   to the controller's queue;
//! - the controller task takes one delta, then drains the queue without blocking (up to 128
//!   entries), sums the deltas per input, and runs **one** step of the circuit ([`Core`]);
//! - each target's output goes to its [`Target`]; failures are reported to the controller's
//!   [`Reporter`] and never stop the loop, nor other controllers;
//! - **the loop is closed by default**: for each non-Setter target, the runtime also watches
//!   the target kind, and the pipeline gets that observed state as an extra input paired with
//!   the target's output by a Reconciler (then Distincter and Incrementalizer). The output is
//!   then the *gap* between desired and observed state, so an object deleted or edited by
//!   someone else is written again, and a quiescent loop issues no writes.
//!
//! The observed input is not the raw object: for every key the controller wants, the
//! observed object is [projected](crate::target::project) onto the shape of the desired one
//! (fields added by the server or other writers are ignored); objects of keys the controller
//! never wanted are not fed at all (a controller does not delete what it does not own).
//! `options.disableReconciler` opens the loop (outputs are then plain deltas);
//! `disableIncrementalizer` (snapshot mode) feeds the circuit the integrals of its inputs
//! and writes the difference between consecutive outputs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deltaloop_engine::{
    Chain, ChainStep, Distincter, Executor, Incrementalizer, InputHandle, OutputHandle, Reconciler,
    Transform, ZSet,
};
use deltaloop_pipeline::{Binding, Clock, CompileOptions, Value, canonical_json, compile};
use kube::Client;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::delta::TrackerOptions;
use crate::event::ObjectKey;
use crate::manifest::{ControllerPlan, OperatorPlan, SourceKind};
use crate::report::{ErrorReport, Reporter};
use crate::source::{OneShot, Periodic, WatchSource, resolve};
use crate::target::{Target, TargetMode, project};

/// Entries drained into one step at most.
pub const MAX_BATCH: usize = 128;

/// A controller could not be built or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The pipeline did not compile.
    #[error("{at}.pipeline: {source}")]
    Compile {
        /// The controller's manifest location.
        at: String,
        /// The compiler's error.
        #[source]
        source: Box<deltaloop_pipeline::PipelineError>,
    },
    /// The circuit could not be transformed or instantiated.
    #[error("{at}: {source}")]
    Engine {
        /// The controller's manifest location.
        at: String,
        /// The engine's error.
        #[source]
        source: Box<deltaloop_engine::Error>,
    },
    /// A source or target resource could not be resolved.
    #[error("{at}: {source}")]
    Resolve {
        /// The manifest location.
        at: String,
        /// Why.
        #[source]
        source: crate::source::SourceError,
    },
}

/// Which input of a [`Core`] a delta is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// The `i`-th source.
    Source(usize),
    /// The observed state of the `j`-th target (from its watch).
    Observed(usize),
}

/// What a step asks of the `j`-th target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Classify and write this delta (or gap).
    Apply(ZSet<Value>),
    /// Make the kind hold exactly this state (Setter).
    Set(ZSet<Value>),
}

/// The observed-state adapter of one looped target (see the module documentation).
#[derive(Debug, Default)]
struct Observed {
    /// The latest observed object per key.
    raw: HashMap<ObjectKey, Value>,
    /// Per tracked key: the desired shape, and whether it is still wanted.
    mask: HashMap<ObjectKey, (Value, bool)>,
    /// What the observed input currently holds per key (the integral of what was fed).
    fed: HashMap<ObjectKey, Value>,
    /// Fed at the next step.
    pending: ZSet<Value>,
}

fn winner(candidates: impl Iterator<Item = Value>) -> Option<Value> {
    candidates.max_by_key(canonical_json)
}

impl Observed {
    fn recompute(&mut self, key: &ObjectKey) {
        let new = match (self.mask.get(key), self.raw.get(key)) {
            (Some((m, _)), Some(o)) => Some(project(o, m)),
            _ => None,
        };
        let old = self.fed.get(key);
        if old != new.as_ref() {
            if let Some(old) = old {
                self.pending.insert(old.clone(), -1);
            }
            match new {
                Some(n) => {
                    self.pending.insert(n.clone(), 1);
                    self.fed.insert(key.clone(), n);
                }
                None => {
                    self.fed.remove(key);
                }
            }
        }
        if !self.raw.contains_key(key) && self.mask.get(key).is_some_and(|(_, wanted)| !wanted) {
            self.mask.remove(key);
        }
    }

    /// A delta of the target kind's watch.
    fn on_watch(&mut self, delta: &ZSet<Value>) {
        let mut touched = Vec::new();
        for (doc, w) in delta.iter().filter(|(_, w)| *w < 0) {
            let _ = w;
            if let Some(k) = ObjectKey::of(doc) {
                if self.raw.get(&k) == Some(doc) {
                    self.raw.remove(&k);
                }
                touched.push(k);
            }
        }
        for (doc, _) in delta.iter().filter(|(_, w)| *w > 0) {
            if let Some(k) = ObjectKey::of(doc) {
                self.raw.insert(k.clone(), doc.clone());
                touched.push(k);
            }
        }
        for k in touched {
            self.recompute(&k);
        }
    }

    /// A step's gap: update what is desired per key (desired = gap + fed).
    fn on_gap(&mut self, gap: &ZSet<Value>) {
        let mut per_key: BTreeMap<ObjectKey, ZSet<Value>> = BTreeMap::new();
        for (doc, w) in gap.iter() {
            if let Some(k) = ObjectKey::of(doc) {
                per_key.entry(k).or_default().insert(doc.clone(), w);
            }
        }
        for (k, mut z) in per_key {
            if let Some(f) = self.fed.get(&k) {
                z.insert(f.clone(), 1);
            }
            let desired = winner(z.iter().filter(|(_, w)| *w > 0).map(|(d, _)| d.clone()));
            let newly = !self.mask.contains_key(&k);
            match desired {
                Some(d) => {
                    self.mask.insert(k.clone(), (d, true));
                }
                None => {
                    if let Some(m) = self.mask.get_mut(&k) {
                        m.1 = false;
                    }
                }
            }
            // A key starts being tracked: its observed object (if any) enters the loop.
            // Otherwise the fed projection is kept until the object itself changes.
            if newly {
                self.recompute(&k);
            }
        }
    }
}

#[derive(Debug)]
struct Slot {
    output: OutputHandle,
    mode: TargetMode,
    observed: Option<(InputHandle, Observed)>,
    /// Open loop Setter: the integral of the outputs. Snapshot mode: the last output.
    state: ZSet<Value>,
}

/// The synchronous heart of a controller: the transformed circuit, its inputs (sources
/// and observed targets) and the per-target loop state. No I/O; [`start_controller`] drives
/// it.
#[derive(Debug)]
pub struct Core {
    exec: Executor<Value>,
    clock: Clock,
    sources: Vec<InputHandle>,
    targets: Vec<Slot>,
    snapshot: bool,
    integrals: Vec<ZSet<Value>>,
}

impl Core {
    /// Compiles and transforms `plan`'s pipeline.
    ///
    /// # Errors
    /// [`RuntimeError::Compile`] / [`RuntimeError::Engine`].
    pub fn new(plan: &ControllerPlan) -> Result<Core, RuntimeError> {
        let at = plan.at.clone();
        let engine = |source| RuntimeError::Engine {
            at: at.clone(),
            source: Box::new(source),
        };
        let mut options = CompileOptions::new(plan.circuit.clone());
        for s in &plan.sources {
            options = options.input(Binding::new(s.gvk.kind.clone()));
        }
        for t in &plan.targets {
            options = options.output(Binding::new(t.gvk.kind.clone()));
        }
        let compiled =
            compile(&plan.pipeline, &options).map_err(|source| RuntimeError::Compile {
                at: at.clone(),
                source: Box::new(source),
            })?;
        let mut circuit = compiled.circuit().clone();
        let looped = !plan.options.disable_reconciler && !plan.options.disable_incrementalizer;
        let mut pairs = Vec::new();
        for (t, port) in plan.targets.iter().zip(compiled.outputs()) {
            if looped && t.mode != TargetMode::Setter {
                let id = circuit
                    .input(&format!("{}-observed", t.gvk.kind))
                    .map_err(engine)?;
                pairs.push((id, port.node.clone()));
            }
        }
        let mut steps: Vec<ChainStep> = Vec::new();
        if !pairs.is_empty() {
            steps.push(Reconciler::with_pairs(pairs.clone()).into());
        }
        if !plan.options.disable_distincter {
            steps.push(Distincter.into());
        }
        if !plan.options.disable_incrementalizer {
            steps.push(Incrementalizer.into());
        }
        if !steps.is_empty() {
            circuit = Chain::new(steps)
                .and_then(|c| c.apply(&circuit))
                .map_err(engine)?;
        }
        let mut exec = Executor::new(circuit).map_err(engine)?;
        exec.track_snapshots(false);
        let sources = compiled
            .inputs()
            .iter()
            .map(|b| exec.input_handle(&b.node))
            .collect::<Result<Vec<_>, _>>()
            .map_err(engine)?;
        let mut targets = Vec::new();
        for (t, port) in plan.targets.iter().zip(compiled.outputs()) {
            let observed = match pairs.iter().find(|(_, out)| *out == port.node) {
                Some((input, _)) => Some((
                    exec.input_handle(input).map_err(engine)?,
                    Observed::default(),
                )),
                None => None,
            };
            targets.push(Slot {
                output: exec.output_handle(&port.node).map_err(engine)?,
                mode: t.mode,
                observed,
                state: ZSet::new(),
            });
        }
        Ok(Core {
            integrals: vec![ZSet::new(); sources.len()],
            exec,
            clock: compiled.clock().clone(),
            sources,
            targets,
            snapshot: plan.options.disable_incrementalizer,
        })
    }

    /// Whether target `j` is closed in a loop (its observed state is an input).
    #[must_use]
    pub fn is_looped(&self, j: usize) -> bool {
        self.targets.get(j).is_some_and(|s| s.observed.is_some())
    }

    /// Whether observed-state deltas wait for a step.
    #[must_use]
    pub fn has_pending(&self) -> bool {
        self.targets.iter().any(|s| {
            s.observed
                .as_ref()
                .is_some_and(|(_, o)| !o.pending.is_empty())
        })
    }

    /// Runs one step over `batch` (deltas summed per input; observed deltas go through the
    /// projection first). Returns, per target index, what to write (targets with nothing
    /// to do are absent).
    ///
    /// # Errors
    /// The engine's step error (the step is rolled back; the runtime reports it).
    pub fn step(
        &mut self,
        batch: impl IntoIterator<Item = (Input, ZSet<Value>)>,
    ) -> Result<Vec<(usize, Output)>, deltaloop_engine::Error> {
        let mut per_source: Vec<ZSet<Value>> = vec![ZSet::new(); self.sources.len()];
        for (input, delta) in batch {
            match input {
                Input::Source(i) => {
                    if let Some(z) = per_source.get_mut(i) {
                        z.add_assign(&delta);
                    }
                }
                Input::Observed(j) => {
                    if let Some((_, o)) = self.targets.get_mut(j).and_then(|s| s.observed.as_mut())
                    {
                        o.on_watch(&delta);
                    }
                }
            }
        }
        for (i, delta) in per_source.into_iter().enumerate() {
            let Some(h) = self.sources.get(i).copied() else {
                continue;
            };
            if self.snapshot {
                if let Some(int) = self.integrals.get_mut(i) {
                    int.add_assign(&delta);
                    self.exec.feed_handle(h, int.clone());
                }
            } else if !delta.is_empty() {
                self.exec.feed_handle(h, delta);
            }
        }
        for slot in &mut self.targets {
            if let Some((h, o)) = &mut slot.observed
                && !o.pending.is_empty()
            {
                self.exec.feed_handle(*h, std::mem::take(&mut o.pending));
            }
        }
        self.clock.tick();
        self.exec.step()?;
        let mut out = Vec::new();
        for (j, slot) in self.targets.iter_mut().enumerate() {
            let z = self.exec.output_of(slot.output).clone();
            if self.snapshot {
                let delta = z.minus(&slot.state);
                slot.state = z;
                if slot.mode == TargetMode::Setter {
                    if !delta.is_empty() {
                        out.push((j, Output::Set(slot.state.clone())));
                    }
                } else if !delta.is_empty() {
                    out.push((j, Output::Apply(delta)));
                }
                continue;
            }
            if let Some((_, o)) = &mut slot.observed
                && !z.is_empty()
            {
                o.on_gap(&z);
            }
            if z.is_empty() {
                continue;
            }
            if slot.mode == TargetMode::Setter {
                slot.state.add_assign(&z);
                out.push((j, Output::Set(slot.state.clone())));
            } else {
                out.push((j, Output::Apply(z)));
            }
        }
        Ok(out)
    }
}

/// Counters of a running controller.
#[derive(Debug, Default)]
pub struct ControllerStats {
    /// Steps run.
    pub steps: AtomicU64,
    /// Objects created.
    pub created: AtomicU64,
    /// Objects replaced, patched or applied.
    pub updated: AtomicU64,
    /// Objects deleted.
    pub deleted: AtomicU64,
    /// Upserts skipped (content already there).
    pub skipped: AtomicU64,
    /// Failures reported (step errors and writes out of retries).
    pub failed: AtomicU64,
}

impl ControllerStats {
    /// Writes issued so far (created + updated + deleted).
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
            + self.updated.load(Ordering::Relaxed)
            + self.deleted.load(Ordering::Relaxed)
    }

    /// Steps run so far.
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }
}

/// A running controller: stop it with [`stop`](ControllerHandle::stop) (dropping it
/// stops it too).
#[derive(Debug)]
pub struct ControllerHandle {
    /// The controller's name.
    pub name: String,
    stats: Arc<ControllerStats>,
    tasks: Vec<JoinHandle<()>>,
}

impl ControllerHandle {
    /// The controller's counters.
    #[must_use]
    pub fn stats(&self) -> Arc<ControllerStats> {
        Arc::clone(&self.stats)
    }

    /// Stops the controller and its sources.
    pub fn stop(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for ControllerHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn forward(
    tasks: &mut Vec<JoinHandle<()>>,
    queue: &mpsc::Sender<(Input, ZSet<Value>)>,
    input: Input,
) -> mpsc::Sender<ZSet<Value>> {
    let (tx, mut rx) = mpsc::channel::<ZSet<Value>>(16);
    let queue = queue.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(z) = rx.recv().await {
            if queue.send((input, z)).await.is_err() {
                return;
            }
        }
    }));
    tx
}

/// Starts one controller: resolves its resources, compiles its pipeline, spawns its
/// sources, its target watches and its step loop.
///
/// # Errors
/// [`RuntimeError`] when the pipeline does not compile or a resource cannot be resolved.
pub async fn start_controller(
    client: Client,
    plan: &ControllerPlan,
    reporter: Reporter,
) -> Result<ControllerHandle, RuntimeError> {
    let mut core = Core::new(plan)?;
    let mut tasks = Vec::new();
    let (queue, mut rx) = mpsc::channel::<(Input, ZSet<Value>)>(MAX_BATCH);
    let mut targets = Vec::new();
    for (j, t) in plan.targets.iter().enumerate() {
        let at = format!("{}.targets[{j}]", plan.at);
        let resolved = resolve(&client, &t.gvk)
            .await
            .map_err(|source| RuntimeError::Resolve { at, source })?;
        if core.is_looped(j) {
            let tx = forward(&mut tasks, &queue, Input::Observed(j));
            let watch = WatchSource::new(
                client.clone(),
                &resolved,
                None,
                None,
                TrackerOptions::default(),
            );
            let rep = reporter.child(&format!("observe/{}", t.gvk.kind));
            tasks.push(tokio::spawn(watch.run(tx, rep)));
        }
        let rep = reporter.child(&format!("target/{}", t.gvk.kind));
        targets.push(Target::new(client.clone(), resolved, t.mode, rep));
    }
    for (i, s) in plan.sources.iter().enumerate() {
        let at = format!("{}.sources[{i}]", plan.at);
        let tx = forward(&mut tasks, &queue, Input::Source(i));
        match &s.kind {
            SourceKind::Watcher {
                namespace,
                label_selector,
                predicate,
            } => {
                let resolved = resolve(&client, &s.gvk)
                    .await
                    .map_err(|source| RuntimeError::Resolve { at, source })?;
                let watch = WatchSource::new(
                    client.clone(),
                    &resolved,
                    namespace.as_deref(),
                    label_selector.as_deref(),
                    TrackerOptions {
                        predicate: predicate.clone(),
                        ..TrackerOptions::default()
                    },
                );
                let rep = reporter.child(&format!("source/{}", s.gvk.kind));
                tasks.push(tokio::spawn(watch.run(tx, rep)));
            }
            SourceKind::OneShot => tasks.push(tokio::spawn(OneShot::new(&s.gvk.kind).run(tx))),
            SourceKind::Periodic { period } => {
                tasks.push(tokio::spawn(Periodic::new(&s.gvk.kind, *period).run(tx)));
            }
        }
    }
    drop(queue);
    let stats = Arc::new(ControllerStats::default());
    let shared = Arc::clone(&stats);
    tasks.push(tokio::spawn(async move {
        loop {
            let mut batch = Vec::new();
            if !core.has_pending() {
                match rx.recv().await {
                    Some(x) => batch.push(x),
                    None => return,
                }
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(x) => batch.push(x),
                    Err(_) => break,
                }
            }
            let outputs = match core.step(batch) {
                Ok(o) => o,
                Err(e) => {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    reporter.report(format!("step: {e}"));
                    continue;
                }
            };
            shared.steps.fetch_add(1, Ordering::Relaxed);
            for (j, out) in outputs {
                let Some(t) = targets.get_mut(j) else {
                    continue;
                };
                let before = t.stats().clone();
                match &out {
                    Output::Apply(z) => t.apply(z).await,
                    Output::Set(z) => t.set(z).await,
                }
                let after = t.stats();
                shared
                    .created
                    .fetch_add(after.created - before.created, Ordering::Relaxed);
                shared
                    .updated
                    .fetch_add(after.updated - before.updated, Ordering::Relaxed);
                shared
                    .deleted
                    .fetch_add(after.deleted - before.deleted, Ordering::Relaxed);
                shared
                    .skipped
                    .fetch_add(after.skipped - before.skipped, Ordering::Relaxed);
                shared
                    .failed
                    .fetch_add(after.failed - before.failed, Ordering::Relaxed);
            }
        }
    }));
    Ok(ControllerHandle {
        name: plan.name.clone(),
        stats,
        tasks,
    })
}

/// Starts every controller of an Operator; errors of each go to `errors` (origin
/// `<operator>/<controller>/…`). A controller that fails to start does not stop the others:
/// its error is returned alongside the running ones.
pub async fn start_operator(
    client: Client,
    plan: &OperatorPlan,
    errors: Option<mpsc::Sender<ErrorReport>>,
) -> (Vec<ControllerHandle>, Vec<RuntimeError>) {
    let mut running = Vec::new();
    let mut failed = Vec::new();
    for c in &plan.controllers {
        let reporter = Reporter::new(format!("{}/{}", plan.name, c.name), errors.clone());
        match start_controller(client.clone(), c, reporter).await {
            Ok(h) => running.push(h),
            Err(e) => failed.push(e),
        }
    }
    (running, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_operator;
    use deltaloop_engine::zset;

    const OP: &str = r#"
apiVersion: dcontroller.io/v1alpha1
kind: Operator
metadata: {name: t}
spec:
  controllers:
    - name: copy
      sources: [{apiGroup: "", kind: ConfigMap}]
      pipeline:
        - "@project":
            metadata: {name: "$.metadata.name", namespace: "$.metadata.namespace"}
            data: "$.data"
      targets: [{kind: Copy}]
"#;

    fn v(s: &str) -> Value {
        Value::from_json_str(s).unwrap()
    }

    fn apply_of(out: &[(usize, Output)]) -> ZSet<Value> {
        match out.first() {
            Some((0, Output::Apply(z))) => z.clone(),
            None => ZSet::new(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn closed_loop_restores_and_quiesces() {
        let plan = parse_operator(OP).unwrap();
        let mut core = Core::new(&plan.controllers[0]).unwrap();
        assert!(core.is_looped(0));
        let cm = v(
            r#"{"metadata":{"name":"a","namespace":"n","resourceVersion":"1"},"data":{"k":"1"}}"#,
        );
        let want = v(r#"{"metadata":{"name":"a","namespace":"n"},"data":{"k":"1"}}"#);
        // source → desired written
        let out = core
            .step([(Input::Source(0), zset! { cm.clone() => 1 })])
            .unwrap();
        assert_eq!(apply_of(&out), zset! { want.clone() => 1 });
        // the echo (with server fields) closes the gap: nothing to write
        let echo = v(
            r#"{"apiVersion":"x/v1alpha1","kind":"Copy","metadata":{"name":"a","namespace":"n","uid":"u","resourceVersion":"5"},"data":{"k":"1"}}"#,
        );
        let out = core
            .step([(Input::Observed(0), zset! { echo.clone() => 1 })])
            .unwrap();
        assert!(out.is_empty(), "{out:?}");
        assert!(!core.has_pending());
        // someone edits it: the desired content comes back
        let edited = v(
            r#"{"apiVersion":"x/v1alpha1","kind":"Copy","metadata":{"name":"a","namespace":"n","uid":"u","resourceVersion":"6"},"data":{"k":"evil"}}"#,
        );
        let out = core
            .step([(
                Input::Observed(0),
                zset! { echo.clone() => -1, edited.clone() => 1 },
            )])
            .unwrap();
        let z = apply_of(&out);
        assert_eq!(z.weight(&want), 1);
        let restored = v(
            r#"{"apiVersion":"x/v1alpha1","kind":"Copy","metadata":{"name":"a","namespace":"n","uid":"u","resourceVersion":"7"},"data":{"k":"1"}}"#,
        );
        let out = core
            .step([(
                Input::Observed(0),
                zset! { edited => -1, restored.clone() => 1 },
            )])
            .unwrap();
        assert!(out.is_empty(), "{out:?}");
        // someone deletes it: re-created
        let out = core
            .step([(Input::Observed(0), zset! { restored => -1 })])
            .unwrap();
        assert_eq!(apply_of(&out), zset! { want.clone() => 1 });
        let out = core
            .step([(Input::Observed(0), zset! { echo.clone() => 1 })])
            .unwrap();
        assert!(out.is_empty());
        // the source goes away: delete, and once the deletion is observed, quiet
        let out = core.step([(Input::Source(0), zset! { cm => -1 })]).unwrap();
        assert_eq!(apply_of(&out), zset! { want => -1 });
        let out = core
            .step([(Input::Observed(0), zset! { echo => -1 })])
            .unwrap();
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn unowned_objects_of_the_target_kind_are_left_alone() {
        let plan = parse_operator(OP).unwrap();
        let mut core = Core::new(&plan.controllers[0]).unwrap();
        let other = v(r#"{"metadata":{"name":"theirs","namespace":"n"},"data":{}}"#);
        let out = core
            .step([(Input::Observed(0), zset! { other => 1 })])
            .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn open_loop_emits_deltas_and_batches_sum() {
        let text = OP.replace(
            "      targets: [{kind: Copy}]",
            "      targets: [{kind: Copy}]\n      options: {disableReconciler: true}",
        );
        let plan = parse_operator(&text).unwrap();
        let mut core = Core::new(&plan.controllers[0]).unwrap();
        assert!(!core.is_looped(0));
        let a = v(r#"{"metadata":{"name":"a","namespace":"n"},"data":{"k":"1"}}"#);
        let b = v(r#"{"metadata":{"name":"a","namespace":"n"},"data":{"k":"2"}}"#);
        // two queued deltas for one input step together: only the net change comes out
        let out = core
            .step([
                (Input::Source(0), zset! { a.clone() => 1 }),
                (Input::Source(0), zset! { a.clone() => -1, b.clone() => 1 }),
            ])
            .unwrap();
        assert_eq!(apply_of(&out), zset! { b.clone() => 1 });
        let out = core
            .step([(Input::Source(0), zset! { b.clone() => -1 })])
            .unwrap();
        assert_eq!(apply_of(&out), zset! { b => -1 });
    }

    #[test]
    fn snapshot_mode_writes_differences() {
        let text = OP.replace("      targets: [{kind: Copy}]", "      targets: [{kind: Copy}]\n      options: {disableReconciler: true, disableIncrementalizer: true}");
        let plan = parse_operator(&text).unwrap();
        let mut core = Core::new(&plan.controllers[0]).unwrap();
        let a = v(r#"{"metadata":{"name":"a","namespace":"n"},"data":{"k":"1"}}"#);
        let out = core
            .step([(Input::Source(0), zset! { a.clone() => 1 })])
            .unwrap();
        assert_eq!(apply_of(&out), zset! { a.clone() => 1 });
        let out = core.step(Vec::new()).unwrap();
        assert!(out.is_empty());
        let out = core
            .step([(Input::Source(0), zset! { a.clone() => -1 })])
            .unwrap();
        assert_eq!(apply_of(&out), zset! { a => -1 });
    }

    #[test]
    fn compile_errors_name_the_controller() {
        let text = OP.replace("\"@project\":", "\"@bogus\":");
        let plan = parse_operator(&text).unwrap();
        let e = Core::new(&plan.controllers[0]).unwrap_err();
        assert!(
            e.to_string().starts_with("spec.controllers[0].pipeline: "),
            "{e}"
        );
    }
}
