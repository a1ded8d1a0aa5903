//! `deltaloop bench replay`: a recorded event log through any pipeline.
//!
//! The log is read and turned into per-step Z-set deltas as `deltaloop eval --steps` does
//! ([`crate::steps`]); building a step's deltas from the live objects is not timed, the
//! runner's step is. Step 0 of the log (and the `--input` documents) is the initial load.
//! A step's event count is its number of lines, where a delete immediately followed by an
//! upsert of the same object (a delete + re-create) counts once. Steps of exactly one event
//! give the `single_*` figures, steps of 100 and 1000 events the `batch100_*` and
//! `batch1000_*` ones; every step after the load counts in the `step_*` figures.
//!
//! With `--engine dd` the same log is replayed a second time, from a fresh start, through
//! the snapshot circuit on the differential-dataflow backend: its figures are reported as
//! `dd_*`, deltaloop's speedups over it as `speedup_vs_dd_*`.

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow};
use deltaloop_engine::ZSet;
use deltaloop_pipeline::Value;

use super::ReplayArgs;
use super::driver::{
    Compiled, Measured, Phase, Progress, SPEEDUPS, Speedup, check, compile, engine_name,
    peak_rss_mib, put_speedups, put_workers, reset_peak_rss,
};
use super::report::Report;
use crate::bind::output_name;
use crate::files::{infer_inputs, load_documents, load_pipeline, push_new};
use crate::steps::{self, Live};

/// The identity of an event's object: kind, namespace, name.
fn object_key(e: &steps::Event) -> (&str, Option<&str>, Option<&str>) {
    let meta = e.object.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str);
    let ns = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    (e.kind.as_str(), ns, name)
}

/// The number of events of a step: its lines, where a delete immediately followed by an
/// upsert of the same object (a delete + re-create) counts once.
fn count_events(events: &[steps::Event]) -> usize {
    let mut n = events.len();
    for pair in events.windows(2) {
        if let [a, b] = pair
            && a.op == steps::Op::Delete
            && b.op == steps::Op::Upsert
            && object_key(a) == object_key(b)
        {
            n -= 1;
        }
    }
    n
}

/// A replay's inputs: the compiled pipeline and the parsed log.
struct Replay<'a> {
    args: &'a ReplayArgs,
    compiled: Compiled,
    log: Vec<steps::Step>,
}

/// Runs the replay and returns its report: deltaloop's figures and, with `--engine dd`,
/// the differential-dataflow baseline's on the same steps (`dd_*`, and deltaloop's
/// speedups `speedup_vs_dd_*`).
pub(crate) fn run(args: &ReplayArgs) -> anyhow::Result<Report> {
    let mut progress = Progress::new();
    let (compiled, log) = compiled(args)?;
    let replay = Replay {
        args,
        compiled,
        log,
    };
    let workers = args.common.dd_workers()?;
    let dataflow = workers.is_some();

    let mut r = Report::default();
    r.put("pipeline", args.pipeline.display().to_string());
    r.put("events_file", args.events.display().to_string());
    r.put("engine", engine_name(dataflow));
    if let Some(workers) = &workers {
        put_workers(&mut r, workers);
    }
    replay.measure(&mut r, "", Measured::new(&replay.compiled)?, &mut progress)?;
    if let Some(workers) = &workers {
        let reset = reset_peak_rss();
        replay.measure(
            &mut r,
            "dd_",
            Measured::dataflow(&replay.compiled, workers)?,
            &mut progress,
        )?;
        if !reset {
            r.put_f("dd_peak_rss_mib", None);
        }
        put_speedups(&mut r, SPEEDUPS);
        put_speedups(&mut r, STEP_SPEEDUPS);
    }
    progress.done();
    Ok(r)
}

/// The replay's pipeline compiled for its inputs (the pipeline file's, `--input` kinds and
/// every kind of the log), and the parsed log.
pub(crate) fn compiled(args: &ReplayArgs) -> anyhow::Result<(Compiled, Vec<steps::Step>)> {
    let file = load_pipeline(&args.pipeline)?;
    let log = steps::load(&args.events)?;
    let mut names = file.inputs.clone();
    for input in &args.inputs {
        push_new(&mut names, &input.kind);
    }
    if names.is_empty() {
        let guessed = infer_inputs(&file.pipeline);
        if guessed != ["input"] {
            names = guessed;
        }
    }
    for step in &log {
        for e in &step.events {
            push_new(&mut names, &e.kind);
        }
    }
    let output = output_name(&file, args.output.as_deref());
    let compiled = compile(&file.pipeline, &file.name(), &names, &output)?;
    Ok((compiled, log))
}

/// The figures of a replay compared with the dd baseline besides [`SPEEDUPS`]: all steps.
const STEP_SPEEDUPS: &[Speedup] = &[
    ("step_p50", "step_p50_us", true),
    ("events_per_s", "events_per_s", false),
];

impl Replay<'_> {
    /// Replays the log through `runner`: the initial load, every step, the peak RSS and
    /// the final check, reported with keys prefixed by `prefix`.
    fn measure(
        &self,
        r: &mut Report,
        prefix: &str,
        mut runner: Measured,
        progress: &mut Progress,
    ) -> anyhow::Result<()> {
        let args = self.args;
        let key = |k: &str| format!("{prefix}{k}");
        let mut live = Live::default();

        // The initial load: the --input documents and step 0 of the log.
        let mut initial: BTreeMap<String, ZSet<Value>> = BTreeMap::new();
        let mut load_rows = 0usize;
        for input in &args.inputs {
            if let Some(path) = &input.file {
                let z = initial.entry(input.kind.clone()).or_default();
                for d in load_documents(path)? {
                    live.insert(&input.kind, &d);
                    z.insert(d, 1);
                    load_rows += 1;
                }
            }
        }
        let mut rest = self.log.as_slice();
        if let Some((first, tail)) = self.log.split_first()
            && first.number == 0
        {
            for (kind, z) in live.apply(&args.events, &first.events)? {
                initial.entry(kind).or_default().add_assign(&z);
            }
            load_rows += first.events.len();
            rest = tail;
        }
        if load_rows > 0 {
            progress.show(&key("load"), 0, load_rows);
            let (kinds, zs): (Vec<String>, Vec<ZSet<Value>>) =
                initial.iter().map(|(k, z)| (k.clone(), z.clone())).unzip();
            let t = runner
                .step(kinds.iter().map(String::as_str).zip(zs))
                .context("initial load")?
                // Free the load's intermediate Z-sets now (see the driver's docs).
                + runner.step(std::iter::empty()).context("initial load")?;
            r.put(&key("load_rows"), load_rows);
            r.put_f(&key("load_ms"), Some(t.as_secs_f64() * 1e3));
            #[allow(clippy::cast_precision_loss)]
            r.put_f(
                &key("load_rows_per_s"),
                Some(load_rows as f64 / t.as_secs_f64().max(1e-9)),
            );
        }
        // The sum of every input delta: the live documents, for the final check.
        let mut total = initial;

        let (mut all, mut single, mut b100, mut b1000) = (
            Phase::default(),
            Phase::default(),
            Phase::default(),
            Phase::default(),
        );
        for (i, step) in rest.iter().enumerate() {
            if i % 256 == 0 {
                progress.show(&key("steps"), i, rest.len());
            }
            let n = count_events(&step.events);
            let deltas = live.apply(&args.events, &step.events)?;
            for (k, z) in &deltas {
                total.entry(k.clone()).or_default().add_assign(z);
            }
            let (kinds, zs): (Vec<String>, Vec<ZSet<Value>>) = deltas.into_iter().unzip();
            let t = runner
                .step(kinds.iter().map(String::as_str).zip(zs))
                .with_context(|| format!("step {} of {}", step.number, args.events.display()))?;
            all.record(t, n);
            match n {
                1 => single.record(t, n),
                100 => b100.record(t, n),
                1000 => b1000.record(t, n),
                _ => {}
            }
        }
        r.put(&key("steps"), all.steps());
        r.put(&key("events"), all.events());
        r.put_f(&key("step_p50_us"), all.quantile_us(0.5));
        r.put_f(&key("step_p99_us"), all.quantile_us(0.99));
        r.put_f(&key("step_max_us"), all.quantile_us(1.0));
        r.put_f(&key("events_per_s"), all.events_per_s());
        single.report(r, &key("single"), true);
        b100.report(r, &key("batch100"), false);
        b1000.report(r, &key("batch1000"), false);
        r.put_f(&key("peak_rss_mib"), peak_rss_mib());

        progress.show(&key("checking"), 0, 1);
        let compiled = &self.compiled;
        check(r, prefix, &runner, compiled, |scratch| {
            let mut out = scratch
                .step(total.iter().map(|(k, z)| (k.as_str(), z.clone())))
                .map_err(|e| anyhow!(e))?;
            Ok(out.remove(&compiled.output).unwrap_or_default())
        })
    }
}
