//! Measuring a pipeline: compile, load, timed steps, latency statistics, peak RSS, the
//! snapshot baseline and the from-scratch check.
//!
//! What a timed step contains: building the step's input Z-sets from the event's old and
//! new documents (already generated), [`Runner::step`] (the executor step, with its
//! snapshot integration, and the returned output deltas), and dropping the result. Not
//! timed: generating the documents, writing the event log, the progress indicator. The
//! load is one step with every document followed by an empty step, which frees the load's
//! intermediate Z-sets (the executor frees a step's temporaries when the next one starts).

use std::fs::File;
use std::io::{BufWriter, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use deltaloop_engine::{Chain, DataflowExecutor, Incrementalizer, Workers, ZSet};
use deltaloop_pipeline::{
    Binding, Clock, CompileOptions, CompiledPipeline, Runner, Value, compile_value,
};
use serde_json::json;

use super::ScalingArgs;
use super::report::Report;
use super::workload::{Event, EventKind, Generator, Params, Shape};

/// A pipeline compiled twice: incrementalized, and as the snapshot circuit.
pub(crate) struct Compiled {
    /// The incremental pipeline (what a controller runs).
    pub(crate) incremental: CompiledPipeline,
    /// The snapshot pipeline (recompute from scratch).
    pub(crate) snapshot: CompiledPipeline,
    /// The output topic measured.
    pub(crate) output: String,
}

/// Compiles `pipeline` with identity bindings, exactly as `deltaloop eval` does.
pub(crate) fn compile(
    pipeline: &Value,
    name: &str,
    inputs: &[String],
    output: &str,
) -> anyhow::Result<Compiled> {
    let mut options = CompileOptions::new(name).output(Binding::new(output));
    for input in inputs {
        options = options.input(Binding::new(input.as_str()));
    }
    let snapshot =
        compile_value(pipeline, &options).with_context(|| format!("cannot compile {name}"))?;
    let chain = Chain::new(vec![Incrementalizer.into()])?;
    let incremental = snapshot
        .transform(&chain)
        .with_context(|| format!("cannot incrementalize {name}"))?;
    Ok(Compiled {
        incremental,
        snapshot,
        output: output.to_owned(),
    })
}

/// Step latencies and event counts of one phase.
#[derive(Debug, Default)]
pub(crate) struct Phase {
    nanos: Vec<u64>,
    events: usize,
    total: Duration,
}

impl Phase {
    /// Records one step.
    pub(crate) fn record(&mut self, elapsed: Duration, events: usize) {
        self.nanos
            .push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        self.events += events;
        self.total += elapsed;
    }

    /// The number of events.
    pub(crate) fn events(&self) -> usize {
        self.events
    }

    /// The number of steps.
    pub(crate) fn steps(&self) -> usize {
        self.nanos.len()
    }

    /// The `q`-quantile (0..=1) of the step latency, in µs (nearest rank).
    pub(crate) fn quantile_us(&self, q: f64) -> Option<f64> {
        if self.nanos.is_empty() {
            return None;
        }
        let mut sorted = self.nanos.clone();
        sorted.sort_unstable();
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        #[allow(clippy::cast_precision_loss)]
        sorted.get(rank - 1).map(|n| *n as f64 / 1000.0)
    }

    /// The mean step latency, in µs.
    pub(crate) fn mean_us(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        (!self.nanos.is_empty()).then(|| self.total.as_secs_f64() * 1e6 / self.nanos.len() as f64)
    }

    /// Events per second over the phase's step time.
    pub(crate) fn events_per_s(&self) -> Option<f64> {
        let secs = self.total.as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        (self.events > 0 && secs > 0.0).then(|| self.events as f64 / secs)
    }

    /// Adds the phase's figures to `r` under `prefix` (`single`, `batch100`, …).
    pub(crate) fn report(&self, r: &mut Report, prefix: &str, latencies: bool) {
        if self.steps() == 0 {
            return;
        }
        r.put(&format!("{prefix}_steps"), self.steps());
        r.put(&format!("{prefix}_events"), self.events);
        if latencies {
            r.put_f(&format!("{prefix}_p50_us"), self.quantile_us(0.5));
            r.put_f(&format!("{prefix}_p99_us"), self.quantile_us(0.99));
            r.put_f(&format!("{prefix}_max_us"), self.quantile_us(1.0));
            r.put_f(&format!("{prefix}_mean_us"), self.mean_us());
        } else {
            r.put_f(&format!("{prefix}_step_p50_us"), self.quantile_us(0.5));
        }
        r.put_f(&format!("{prefix}_events_per_s"), self.events_per_s());
    }
}

/// The peak resident set size (VmHWM) in MiB, when the platform reports it.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5); false when unsupported.
pub(crate) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// An order-independent checksum of a Z-set: a sum over its (row, weight) pairs.
pub(crate) fn checksum(z: &ZSet<Value>) -> u64 {
    z.iter().fold(0u64, |acc, (row, w)| {
        let mut x = row.hash64() ^ w.cast_unsigned().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        acc.wrapping_add(x ^ (x >> 31))
    })
}

/// A progress line on stderr, shown only when stderr is a terminal.
pub(crate) struct Progress {
    on: bool,
    last: Instant,
}

impl Progress {
    /// A progress indicator (silent unless stderr is a terminal).
    pub(crate) fn new() -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
            last: Instant::now(),
        }
    }

    /// Shows `phase i/n`, at most ten times a second.
    pub(crate) fn show(&mut self, phase: &str, i: usize, n: usize) {
        if self.on && (i == 0 || self.last.elapsed() >= Duration::from_millis(100)) {
            self.last = Instant::now();
            eprint!("\r\x1b[2K{phase} {i}/{n}");
        }
    }

    /// Clears the line.
    pub(crate) fn done(&mut self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

/// The event log being written (`--write-events`).
struct Log {
    out: BufWriter<File>,
    path: PathBuf,
    step: i64,
}

impl Log {
    fn create(path: &PathBuf) -> anyhow::Result<Log> {
        let file = File::create(path)
            .with_context(|| format!("cannot create event log {}", path.display()))?;
        Ok(Log {
            out: BufWriter::new(file),
            path: path.clone(),
            step: 0,
        })
    }

    fn line(&mut self, kind: &str, op: &str, doc: &Value) -> anyhow::Result<()> {
        let line =
            json!({"step": self.step, "kind": kind, "op": op, "object": doc.to_serde_json()});
        writeln!(self.out, "{line}")
            .with_context(|| format!("cannot write event log {}", self.path.display()))
    }

    fn events(&mut self, events: &[Event]) -> anyhow::Result<()> {
        self.step += 1;
        for e in events {
            if e.what == EventKind::DeleteReadd {
                self.line(e.kind, "delete", &e.old)?;
            }
            self.line(e.kind, "upsert", &e.new)?;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .flush()
            .with_context(|| format!("cannot write event log {}", self.path.display()))
    }
}

/// What to run on a generated workload.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The generator's parameters.
    pub(crate) params: Params,
    /// Single-event steps.
    pub(crate) events: usize,
    /// Events of each batched phase (steps of 100 and of 1000).
    pub(crate) batch_events: usize,
    /// Events of the snapshot baseline.
    pub(crate) snapshot_events: usize,
    /// Where to write the event log.
    pub(crate) write_events: Option<PathBuf>,
    /// Also run the differential-dataflow baseline (`--engine dd`), on these workers.
    pub(crate) dataflow: Option<Workers>,
}

/// The input deltas of a batch of events.
fn deltas(events: Vec<Event>) -> Vec<(&'static str, ZSet<Value>)> {
    let mut out: Vec<(&'static str, ZSet<Value>)> = Vec::with_capacity(1);
    for e in events {
        let i = match out.iter().position(|(k, _)| *k == e.kind) {
            Some(i) => i,
            None => {
                out.push((e.kind, ZSet::with_capacity(2)));
                out.len() - 1
            }
        };
        if let Some((_, z)) = out.get_mut(i) {
            z.insert(e.old, -1);
            z.insert(e.new, 1);
        }
    }
    out
}

/// The runner under measurement, run as a controller runs it, and the bench's own integral
/// of its output for the final check.
///
/// A controller consumes each step's output deltas and keeps no snapshot of its output (the
/// runtime switches snapshots off), so the runner's snapshots are off here too: each step is
/// timed from feeding its input deltas to the end of the engine's step. Folding the output
/// delta into the integral that the final check compares happens after the clock stops.
pub(crate) struct Measured {
    backend: Backend,
    output: String,
    integral: ZSet<Value>,
}

/// What runs the pipeline.
enum Backend {
    /// deltaloop's engine on the incrementalized circuit.
    Engine(Runner),
    /// The differential-dataflow backend on the snapshot circuit.
    Dataflow(DataflowRun),
}

/// The snapshot circuit on the differential-dataflow backend, fed by topic.
struct DataflowRun {
    executor: DataflowExecutor<Value>,
    /// `(topic, input node id)`.
    inputs: Vec<(String, String)>,
    /// The measured output's node id.
    output: String,
    clock: Clock,
}

impl DataflowRun {
    /// Feeds `deltas` by topic and runs one step, as [`Runner::advance`] does.
    fn advance<'a>(
        &mut self,
        deltas: impl IntoIterator<Item = (&'a str, ZSet<Value>)>,
    ) -> anyhow::Result<()> {
        self.clock.tick();
        for (topic, delta) in deltas {
            let node = self
                .inputs
                .iter()
                .find(|(t, _)| t == topic)
                .map(|(_, node)| node.as_str())
                .ok_or_else(|| anyhow!("no input topic {topic:?}"))?;
            self.executor.feed(node, delta)?;
        }
        self.executor.step()?;
        Ok(())
    }
}

impl Measured {
    /// A fresh incremental runner of `compiled`, snapshots off.
    pub(crate) fn new(compiled: &Compiled) -> anyhow::Result<Measured> {
        let mut runner = compiled.incremental.runner()?;
        runner.track_snapshots(false);
        Ok(Measured {
            backend: Backend::Engine(runner),
            output: compiled.output.clone(),
            integral: ZSet::new(),
        })
    }

    /// The snapshot circuit of `compiled` on the differential-dataflow backend's
    /// `workers`.
    pub(crate) fn dataflow(compiled: &Compiled, workers: &Workers) -> anyhow::Result<Measured> {
        let snapshot = &compiled.snapshot;
        let executor = quiet_connect(workers, || {
            DataflowExecutor::with_workers(snapshot.circuit(), workers)
        })?;
        let output = snapshot
            .outputs()
            .iter()
            .find(|b| b.topic == compiled.output)
            .map(|b| b.node.clone())
            .ok_or_else(|| anyhow!("no output topic {:?}", compiled.output))?;
        let inputs = snapshot
            .inputs()
            .iter()
            .map(|b| (b.topic.clone(), b.node.clone()))
            .collect();
        Ok(Measured {
            backend: Backend::Dataflow(DataflowRun {
                executor,
                inputs,
                output,
                clock: snapshot.clock().clone(),
            }),
            output: compiled.output.clone(),
            integral: ZSet::new(),
        })
    }

    /// Runs one step on `deltas` and returns its latency.
    pub(crate) fn step<'a>(
        &mut self,
        deltas: impl IntoIterator<Item = (&'a str, ZSet<Value>)>,
    ) -> anyhow::Result<Duration> {
        let start = Instant::now();
        match &mut self.backend {
            Backend::Engine(runner) => runner.advance(deltas)?,
            Backend::Dataflow(run) => run.advance(deltas)?,
        }
        let elapsed = start.elapsed();
        match &self.backend {
            Backend::Engine(runner) => {
                if let Some(delta) = runner.output(&self.output) {
                    self.integral.add_assign(delta);
                }
            }
            Backend::Dataflow(run) => {
                self.integral.absorb(run.executor.output(&run.output)?);
            }
        }
        Ok(elapsed)
    }

    /// Everything the output emitted so far.
    pub(crate) fn integral(&self) -> &ZSet<Value> {
        &self.integral
    }
}

/// Runs one step on `events` and returns its latency (the Z-set building included).
fn timed_step(runner: &mut Measured, events: Vec<Event>) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let d = deltas(events);
    let built = start.elapsed();
    Ok(built + runner.step(d)?)
}

/// Every current document at weight 1, per kind.
fn all_documents(g: &Generator) -> Vec<(&'static str, ZSet<Value>)> {
    g.documents()
        .into_iter()
        .map(|(kind, docs)| {
            let mut z = ZSet::with_capacity(docs.len());
            for d in docs {
                z.insert(d.clone(), 1);
            }
            (kind, z)
        })
        .collect()
}

/// Feeds all current documents in one step (the initial load); returns its latency.
fn load(runner: &mut Measured, g: &Generator) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let deltas = all_documents(g);
    let built = start.elapsed();
    // The executor frees intermediate deltas within the step, but the output's delta (and
    // what only it holds) at the start of the next: run an empty step so that the load
    // pays for its own temporaries, not the first event.
    Ok(built + runner.step(deltas)? + runner.step(std::iter::empty())?)
}

/// Evaluates the snapshot pipeline from scratch on the current documents; returns the
/// output and the latency.
fn from_scratch(
    runner: &mut Runner,
    g: &Generator,
    output: &str,
) -> anyhow::Result<(ZSet<Value>, Duration)> {
    let start = Instant::now();
    let deltas = all_documents(g);
    let mut out = runner.step(deltas)?;
    let elapsed = start.elapsed();
    Ok((out.remove(output).unwrap_or_default(), elapsed))
}

/// The report's `engine`: `deltaloop`, or `deltaloop+dd` with the dd baseline.
pub(crate) fn engine_name(dataflow: bool) -> &'static str {
    if dataflow {
        "deltaloop+dd"
    } else {
        "deltaloop"
    }
}

/// Reports where the dd baseline ran: `dd_workers` (threads per process) and
/// `dd_processes`.
pub(crate) fn put_workers(r: &mut Report, workers: &Workers) {
    r.put("dd_workers", workers.threads);
    r.put("dd_processes", workers.processes());
}

/// Lends this process's workers (`workers`, a process other than 0) to `runs` dd
/// baselines of `compiled` run one after the other by process 0, and reports what it
/// served.
pub(crate) fn serve(compiled: &Compiled, workers: &Workers, runs: usize) -> anyhow::Result<Report> {
    let mut r = Report::default();
    r.put("role", "serve");
    r.put("dd_process", workers.process);
    put_workers(&mut r, workers);
    for _ in 0..runs {
        quiet_connect(workers, || {
            DataflowExecutor::serve(compiled.snapshot.circuit(), workers)
        })?;
    }
    r.put("dataflows_served", runs);
    Ok(r)
}

/// Runs `f` (which starts `workers`) with standard output redirected to standard error
/// when the workers span several processes: timely prints its connection progress to
/// standard output, where the report goes.
fn quiet_connect<V>(
    workers: &Workers,
    f: impl FnOnce() -> deltaloop_engine::Result<V>,
) -> anyhow::Result<V> {
    let redirect = if workers.processes() > 1 {
        Some(gag::Redirect::stdout(std::io::stderr()).context("cannot redirect standard output")?)
    } else {
        None
    };
    let out = f();
    drop(redirect);
    Ok(out?)
}

fn params_report(r: &mut Report, shape: Shape, plan: &Plan, g: &Generator) {
    r.put("workload", shape.name());
    r.put("engine", engine_name(plan.dataflow.is_some()));
    if let Some(workers) = &plan.dataflow {
        put_workers(r, workers);
    }
    r.put("services", g.params().services);
    r.put("pods", g.params().pods);
    r.put("population", shape.population(g.params()));
    r.put("seed", plan.params.seed);
    r.put("events", plan.events);
    r.put("batch_events", plan.batch_events);
    r.put("snapshot_events", plan.snapshot_events);
}

/// The timed phases of one runner: the initial load, single-event steps and the batched
/// steps of 100 and 1000 events, reported with keys prefixed by `prefix`. Returns the
/// single-event phase.
fn phases(
    r: &mut Report,
    prefix: &str,
    runner: &mut Measured,
    g: &mut Generator,
    plan: &Plan,
    progress: &mut Progress,
    mut log: Option<&mut Log>,
) -> anyhow::Result<Phase> {
    progress.show(&format!("{prefix}load"), 0, g.rows());
    let load_time = load(runner, g).context("initial load")?;
    r.put_f(
        &format!("{prefix}load_ms"),
        Some(load_time.as_secs_f64() * 1e3),
    );
    #[allow(clippy::cast_precision_loss)]
    r.put_f(
        &format!("{prefix}load_rows_per_s"),
        Some(g.rows() as f64 / load_time.as_secs_f64().max(1e-9)),
    );

    let mut single = Phase::default();
    for i in 0..plan.events {
        if i % 256 == 0 {
            progress.show(&format!("{prefix}single-event steps"), i, plan.events);
        }
        let e = vec![g.next_event()];
        if let Some(log) = log.as_deref_mut() {
            log.events(&e)?;
        }
        single.record(timed_step(runner, e)?, 1);
    }
    single.report(r, &format!("{prefix}single"), true);

    for size in [100usize, 1000] {
        let mut phase = Phase::default();
        let steps = plan.batch_events / size;
        for i in 0..steps {
            progress.show(&format!("{prefix}steps of {size}"), i, steps);
            let events: Vec<Event> = (0..size).map(|_| g.next_event()).collect();
            if let Some(log) = log.as_deref_mut() {
                log.events(&events)?;
            }
            phase.record(timed_step(runner, events)?, size);
        }
        phase.report(r, &format!("{prefix}batch{size}"), false);
    }
    r.put_f(&format!("{prefix}peak_rss_mib"), peak_rss_mib());
    Ok(single)
}

/// The pipeline of the generated workload `shape`, compiled.
pub(crate) fn shape_compiled(shape: Shape) -> anyhow::Result<Compiled> {
    let pipeline = shape.pipeline().map_err(|e| anyhow!(e))?;
    let inputs: Vec<String> = shape.inputs().iter().map(|s| (*s).to_owned()).collect();
    compile(&pipeline, shape.name(), &inputs, "output")
}

/// Runs a generated workload: every phase of `plan`.
pub(crate) fn run(shape: Shape, plan: &Plan) -> anyhow::Result<Report> {
    let mut progress = Progress::new();
    let mut r = Report::default();
    progress.show("generating", 0, plan.params.pods);
    let start = Instant::now();
    let mut g = Generator::new(shape, plan.params);
    let gen_time = start.elapsed();
    params_report(&mut r, shape, plan, &g);
    r.put_f("generate_ms", Some(gen_time.as_secs_f64() * 1e3));

    let compiled = shape_compiled(shape)?;
    let mut runner = Measured::new(&compiled)?;
    let mut log = plan.write_events.as_ref().map(Log::create).transpose()?;

    if let Some(log) = &mut log {
        for (kind, docs) in g.documents() {
            for d in docs {
                log.line(kind, "upsert", d)?;
            }
        }
    }
    let single = phases(
        &mut r,
        "",
        &mut runner,
        &mut g,
        plan,
        &mut progress,
        log.as_mut(),
    )?;

    let mut scratch = compiled.snapshot.runner()?;
    let mut snap = Phase::default();
    for i in 0..plan.snapshot_events {
        progress.show("snapshot baseline", i, plan.snapshot_events);
        let e = vec![g.next_event()];
        if let Some(log) = &mut log {
            log.events(&e)?;
        }
        // The incremental runner follows the same events (untimed), for the final check.
        timed_step(&mut runner, e)?;
        let (_, elapsed) = from_scratch(&mut scratch, &g, &compiled.output)?;
        snap.record(elapsed, 1);
    }
    if snap.steps() > 0 {
        r.put("snapshot_steps", snap.steps());
        let snapshot_ms = snap.quantile_us(0.5).map(|us| us / 1e3);
        r.put_f("snapshot_event_ms", snapshot_ms);
        r.put_f(
            "snapshot_vs_single_p50",
            snapshot_ms
                .zip(single.quantile_us(0.5))
                .map(|(s, i)| s * 1e3 / i),
        );
        r.put_f(
            "snapshot_vs_single_mean",
            snapshot_ms.zip(single.mean_us()).map(|(s, i)| s * 1e3 / i),
        );
        r.put_f("peak_rss_with_snapshot_mib", peak_rss_mib());
    }
    if let Some(log) = log {
        log.finish()?;
    }

    progress.show("checking", 0, 1);
    check(&mut r, "", &runner, &compiled, |scratch| {
        from_scratch(scratch, &g, &compiled.output).map(|(z, _)| z)
    })?;
    drop(runner);
    if let Some(workers) = &plan.dataflow {
        dataflow_baseline(&mut r, shape, plan, workers, &compiled, &mut progress)?;
    }
    progress.done();
    Ok(r)
}

/// The differential-dataflow baseline (`--engine dd`): the snapshot circuit on
/// [`DataflowExecutor`], given the same documents and events (a fresh generator with the
/// same seed) and timed the same way. Its figures are reported as `dd_*`, and deltaloop's
/// speedup over it as `speedup_vs_dd_*` (its time over deltaloop's; for throughputs,
/// deltaloop's over its). The peak RSS is reset first where the platform allows, so
/// `dd_peak_rss_mib` is its own.
fn dataflow_baseline(
    r: &mut Report,
    shape: Shape,
    plan: &Plan,
    workers: &Workers,
    compiled: &Compiled,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let mut g = Generator::new(shape, plan.params);
    let reset = reset_peak_rss();
    let mut runner = Measured::dataflow(compiled, workers)?;
    phases(r, "dd_", &mut runner, &mut g, plan, progress, None)?;
    if !reset {
        r.put_f("dd_peak_rss_mib", None);
    }
    progress.show("checking dd", 0, 1);
    check(r, "dd_", &runner, compiled, |scratch| {
        from_scratch(scratch, &g, &compiled.output).map(|(z, _)| z)
    })?;
    put_speedups(r, SPEEDUPS);
    Ok(())
}

/// A figure compared with the dd baseline: `(speedup name, deltaloop's key, is it a
/// time)`. The baseline's key is `dd_` + deltaloop's, the ratio's `speedup_vs_dd_` + name.
pub(crate) type Speedup = (&'static str, &'static str, bool);

/// The figures every mode compares with the dd baseline.
pub(crate) const SPEEDUPS: &[Speedup] = &[
    ("load", "load_ms", true),
    ("single_p50", "single_p50_us", true),
    ("single_p99", "single_p99_us", true),
    ("batch100", "batch100_events_per_s", false),
    ("batch1000", "batch1000_events_per_s", false),
];

/// Reports deltaloop's speedup over the dd baseline for each of `figures`: the
/// baseline's time over deltaloop's, or for a throughput deltaloop's over the baseline's
/// (`null` when either is missing).
pub(crate) fn put_speedups(r: &mut Report, figures: &[Speedup]) {
    for &(name, ours, time) in figures {
        let ratio = r
            .f64(ours)
            .zip(r.f64(&format!("dd_{ours}")))
            .map(|(o, t)| if time { t / o } else { o / t });
        r.put_f(&format!("speedup_vs_dd_{name}"), ratio);
    }
}

/// Compares the incremental runner's integrated output with a from-scratch evaluation and
/// reports `output_rows`, `checksum` and `checksum_ok`.
pub(crate) fn check(
    r: &mut Report,
    prefix: &str,
    runner: &Measured,
    compiled: &Compiled,
    scratch: impl FnOnce(&mut Runner) -> anyhow::Result<ZSet<Value>>,
) -> anyhow::Result<()> {
    let integrated = runner.integral();
    let mut fresh = compiled.snapshot.runner()?;
    let expected = scratch(&mut fresh)?;
    r.put(&format!("{prefix}output_rows"), integrated.len());
    r.put(
        &format!("{prefix}checksum"),
        format!("{:016x}", checksum(integrated)),
    );
    r.put(&format!("{prefix}checksum_ok"), *integrated == expected);
    Ok(())
}

/// `bench scaling`: load and single-event steps at every size, and with `--engine dd` the
/// differential-dataflow baseline's at every size too (`dd_*` keys in each size's row).
pub(crate) fn scaling(shape: Shape, a: &ScalingArgs) -> anyhow::Result<Report> {
    let workers = a.common.dd_workers()?;
    let dataflow = workers.is_some();
    let mut r = Report::default();
    r.put("workload", shape.name());
    r.put("engine", engine_name(dataflow));
    if let Some(workers) = &workers {
        put_workers(&mut r, workers);
    }
    r.put("events", a.events);
    r.put("seed", a.seed);
    match a.services {
        Some(n) => r.put("services", n),
        None => r.put("pods_per_service", a.pods_per_service),
    }
    let mut rows = Vec::new();
    let mut all_ok = true;
    // The first size's (p50, mean), deltaloop's and the baseline's.
    let mut first: Option<(f64, f64)> = None;
    let mut dd_first: Option<(f64, f64)> = None;
    for &pods in &a.sizes {
        let services = a
            .services
            .unwrap_or_else(|| (pods / a.pods_per_service.max(1)).max(1));
        let plan = Plan {
            params: Params {
                services,
                pods,
                seed: a.seed,
            },
            events: a.events,
            batch_events: 0,
            snapshot_events: 0,
            write_events: None,
            dataflow: workers.clone(),
        };
        let reset = reset_peak_rss();
        let one = run(shape, &plan)?;
        let ok = |key: &str| one.get(key) == Some(&serde_json::Value::Bool(true));
        let mut row = json!({ "pods": pods, "services": services });
        all_ok &= ok("checksum_ok");
        scaling_row(&mut row, &one, "", &mut first, reset);
        if dataflow {
            all_ok &= ok("dd_checksum_ok");
            scaling_row(&mut row, &one, "dd_", &mut dd_first, reset);
            // The size's run computed it with the other speedups.
            let speedup = "speedup_vs_dd_single_p50";
            row[speedup] = one.get(speedup).cloned().unwrap_or_default();
        }
        rows.push(row);
    }
    r.put("sizes", serde_json::Value::Array(rows));
    r.put("checksum_ok", all_ok);
    Ok(r)
}

/// Copies one engine's figures of a size's run `one` (keys prefixed by `prefix`) into the
/// size's `row`, with the per-event cost relative to the first size (`first`, set by the
/// first call). The peak RSS is left out when it could not be reset between sizes.
fn scaling_row(
    row: &mut serde_json::Value,
    one: &Report,
    prefix: &str,
    first: &mut Option<(f64, f64)>,
    rss_reset: bool,
) {
    let key = |k: &str| format!("{prefix}{k}");
    let p50 = one.f64(&key("single_p50_us"));
    let mean = one.f64(&key("single_mean_us"));
    if first.is_none() {
        *first = p50.zip(mean);
    }
    for k in [
        "load_ms",
        "single_p50_us",
        "single_p99_us",
        "single_max_us",
        "single_mean_us",
        "single_events_per_s",
        "checksum_ok",
    ] {
        row[key(k)] = one.get(&key(k)).cloned().unwrap_or_default();
    }
    row[key("p50_vs_first")] = json!(first.zip(p50).map(|((f, _), p)| p / f));
    row[key("mean_vs_first")] = json!(first.zip(mean).map(|((_, f), m)| m / f));
    row[key("peak_rss_mib")] = if rss_reset {
        one.get(&key("peak_rss_mib")).cloned().unwrap_or_default()
    } else {
        serde_json::Value::Null
    };
}
