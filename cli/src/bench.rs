//! `deltaloop bench`: the benchmark harness.
//!
//! - `bench endpoints` / `bench service-health` / `bench configmap-deployment`: generate a
//!   workload ([`workload`]), compile its pipeline with the real compiler and the
//!   Incrementalizer, and measure the initial load, single-event steps, batched steps, peak
//!   RSS, the snapshot (recompute from scratch) baseline, and check the integrated output
//!   against a from-scratch evaluation.
//! - `bench scaling`: single-event steps at several sizes, and the ratio to the smallest.
//! - `bench replay`: a recorded event log through any pipeline.
//!
//! The measuring is in [`driver`], the printing in [`report`].

mod driver;
mod replay;
mod report;
pub(crate) mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};

use deltaloop_engine::Workers;

use crate::args::InputArg;
use workload::{Params, Shape};

/// Arguments of `deltaloop bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The workload or mode.
    #[command(subcommand)]
    pub(crate) command: BenchCommand,
}

/// The workloads and modes of `bench`.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Pods ⋈ Services → Endpoints (examples/pipelines/endpoints.yaml), the canonical
    /// controller: load, single-event steps, batches of 100 and 1000, snapshot baseline.
    Endpoints(WorkloadArgs),
    /// Monitored pods → readiness per app (cli/src/bench/service-health.yaml): a second
    /// shape (no join, a JSONPath filter in a projection).
    ServiceHealth(WorkloadArgs),
    /// ConfigMap ⋈ ConfigDeployment ⋈ Deployment → Deployment patches
    /// (examples/pipelines/configmap-deployment.yaml): a third shape (a three-input join,
    /// fan-out: a ConfigMap change re-patches every Deployment linked to it). `--services`
    /// counts ConfigMaps, `--pods` Deployments (each with its ConfigDeployment).
    ConfigmapDeployment(WorkloadArgs),
    /// Single-event steps at several sizes (default 10k, 100k, 1M pods with 100 pods per
    /// service) and each size's per-event cost relative to the first.
    Scaling(ScalingArgs),
    /// Replays a recorded event log (the JSONL format of `deltaloop eval --steps`) through
    /// a pipeline and reports load, per-step latency and throughput.
    Replay(ReplayArgs),
}

/// The engine that runs the pipeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Engine {
    /// deltaloop's own engine (the compiled pipeline, incrementalized).
    #[default]
    Deltaloop,
    /// deltaloop's engine, then the same run on the differential-dataflow backend as a
    /// baseline (`dd_*` figures and `speedup_vs_dd_*` ratios), in every mode.
    Dd,
}

/// Options shared by every mode.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// Print one JSON object instead of the readable report.
    #[arg(long)]
    pub(crate) json: bool,
    /// The engine.
    #[arg(long, value_enum, default_value_t = Engine::Deltaloop)]
    pub(crate) engine: Engine,
    /// Worker threads per process of the dd baseline (`--engine dd`).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) dd_workers: usize,
    /// Every process of a multi-process dd baseline, `host:port` in process order
    /// (comma-separated; each process listens on its own).
    #[arg(long, value_name = "HOST:PORT,...", value_delimiter = ',')]
    pub(crate) dd_hosts: Vec<String>,
    /// This process's index into `--dd-hosts`. Process 0 runs the benchmark; every other
    /// process runs the same command line with its own index and lends its workers to
    /// process 0's dd baseline.
    #[arg(long, value_name = "I", default_value_t = 0)]
    pub(crate) dd_process: usize,
}

impl CommonArgs {
    /// Where the dd baseline's workers run, with `--engine dd` (`None` without).
    ///
    /// # Errors
    /// A `--dd-*` option without `--engine dd`.
    pub(crate) fn dd_workers(&self) -> anyhow::Result<Option<Workers>> {
        let workers = Workers::cluster(self.dd_workers, self.dd_process, self.dd_hosts.clone());
        if self.engine == Engine::Dd {
            return Ok(Some(workers));
        }
        if workers != Workers::default() {
            bail!(
                "--dd-workers, --dd-hosts and --dd-process configure the dd baseline: add --engine dd"
            );
        }
        Ok(None)
    }

    /// Whether this process serves another's dd baseline (`--dd-process` other than 0).
    fn serves(&self) -> bool {
        self.engine == Engine::Dd && self.dd_process != 0
    }
}

/// Arguments of a generated workload.
#[derive(Debug, Args)]
pub(crate) struct WorkloadArgs {
    /// Services (endpoints), apps (service-health) or ConfigMaps (configmap-deployment).
    #[arg(long, default_value_t = 1000)]
    pub(crate) services: usize,
    /// Pods, or Deployments (configmap-deployment).
    #[arg(long, default_value_t = 100_000)]
    pub(crate) pods: usize,
    /// The seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Single-event steps.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) events: usize,
    /// Events of each batched phase (run in steps of 100 and of 1000; 0 skips them).
    #[arg(long, default_value_t = 100_000)]
    pub(crate) batch_events: usize,
    /// Events of the snapshot baseline (each recomputed from scratch; 0 skips it).
    #[arg(long, default_value_t = 20)]
    pub(crate) snapshot_events: usize,
    /// Also write the workload (initial documents as step 0, then every step's events) as
    /// a JSONL event log for `deltaloop bench replay` / `deltaloop eval --steps`.
    #[arg(long, value_name = "FILE")]
    pub(crate) write_events: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

/// Arguments of `bench scaling`.
#[derive(Debug, Args)]
pub(crate) struct ScalingArgs {
    /// The pod counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub(crate) sizes: Vec<usize>,
    /// Pods per service (services = pods / this), unless `--services` fixes them.
    #[arg(long, default_value_t = 100)]
    pub(crate) pods_per_service: usize,
    /// A fixed number of services at every size.
    #[arg(long)]
    pub(crate) services: Option<usize>,
    /// Single-event steps per size.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) events: usize,
    /// The seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// The workload.
    #[arg(long, value_enum, default_value_t = WorkloadName::Endpoints)]
    pub(crate) workload: WorkloadName,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

/// A generated workload, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum WorkloadName {
    /// Pods ⋈ Services → Endpoints.
    Endpoints,
    /// Monitored pods → readiness per app.
    ServiceHealth,
    /// ConfigMap ⋈ ConfigDeployment ⋈ Deployment → Deployment patches.
    ConfigmapDeployment,
}

/// Arguments of `bench replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The pipeline file (as for `deltaloop eval`).
    #[arg(value_name = "PIPELINE_OR_MANIFEST")]
    pub(crate) pipeline: PathBuf,
    /// The event log: JSONL `{"step": N, "kind": K, "op": "upsert"|"delete", "object": …}`.
    /// Step 0, when present, is the initial load.
    #[arg(long, value_name = "FILE.jsonl")]
    pub(crate) events: PathBuf,
    /// Documents loaded before the log, with step 0 (repeatable).
    #[arg(short, long = "input", value_name = "KIND=FILE", value_parser = crate::args::parse_input_file)]
    pub(crate) inputs: Vec<InputArg>,
    /// The output to measure [default: as for `eval`].
    #[arg(short, long, value_name = "NAME")]
    pub(crate) output: Option<String>,
    #[command(flatten)]
    pub(crate) common: CommonArgs,
}

/// Runs `deltaloop bench`.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some((common, r)) = serve(args)? {
        report::print(&r, common.json, report::serve_text)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &args.command {
        BenchCommand::Endpoints(a) => workload_run(Shape::Endpoints, a),
        BenchCommand::ServiceHealth(a) => workload_run(Shape::ServiceHealth, a),
        BenchCommand::ConfigmapDeployment(a) => workload_run(Shape::ConfigmapDeployment, a),
        BenchCommand::Scaling(a) => scaling_run(a),
        BenchCommand::Replay(a) => {
            let r = replay::run(a)?;
            report::print(&r, a.common.json, report::replay_text)?;
            Ok(exit_code(&r))
        }
    }
}

/// With `--engine dd --dd-process I` (I ≠ 0): lends this process's workers to every dd
/// baseline process 0 runs for the same command line (one per size for `scaling`), and
/// returns the common options and a report of what was served.
fn serve(args: &BenchArgs) -> anyhow::Result<Option<(&CommonArgs, report::Report)>> {
    let common = args.command.common();
    if !common.serves() {
        return Ok(None);
    }
    let Some(workers) = common.dd_workers()? else {
        return Ok(None);
    };
    let (compiled, runs) = match &args.command {
        BenchCommand::Endpoints(_) => (driver::shape_compiled(Shape::Endpoints)?, 1),
        BenchCommand::ServiceHealth(_) => (driver::shape_compiled(Shape::ServiceHealth)?, 1),
        BenchCommand::ConfigmapDeployment(_) => {
            (driver::shape_compiled(Shape::ConfigmapDeployment)?, 1)
        }
        BenchCommand::Scaling(a) => (
            driver::shape_compiled(scaling_shape(a.workload))?,
            a.sizes.len(),
        ),
        BenchCommand::Replay(a) => (replay::compiled(a)?.0, 1),
    };
    Ok(Some((common, driver::serve(&compiled, &workers, runs)?)))
}

impl BenchCommand {
    /// The options every mode shares.
    fn common(&self) -> &CommonArgs {
        match self {
            BenchCommand::Endpoints(a)
            | BenchCommand::ServiceHealth(a)
            | BenchCommand::ConfigmapDeployment(a) => &a.common,
            BenchCommand::Scaling(a) => &a.common,
            BenchCommand::Replay(a) => &a.common,
        }
    }
}

fn exit_code(r: &report::Report) -> ExitCode {
    let failed = |key: &str| r.get(key) == Some(&serde_json::Value::Bool(false));
    if failed("checksum_ok") || failed("dd_checksum_ok") {
        eprintln!("deltaloop: the integrated output differs from the from-scratch evaluation");
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn workload_run(shape: Shape, a: &WorkloadArgs) -> anyhow::Result<ExitCode> {
    let plan = driver::Plan {
        params: Params {
            services: a.services,
            pods: a.pods,
            seed: a.seed,
        },
        events: a.events,
        batch_events: a.batch_events,
        snapshot_events: a.snapshot_events,
        write_events: a.write_events.clone(),
        dataflow: a.common.dd_workers()?,
    };
    let r = driver::run(shape, &plan)?;
    report::print(&r, a.common.json, report::workload_text)?;
    Ok(exit_code(&r))
}

/// The generated workload named `name`.
fn scaling_shape(name: WorkloadName) -> Shape {
    match name {
        WorkloadName::Endpoints => Shape::Endpoints,
        WorkloadName::ServiceHealth => Shape::ServiceHealth,
        WorkloadName::ConfigmapDeployment => Shape::ConfigmapDeployment,
    }
}

fn scaling_run(a: &ScalingArgs) -> anyhow::Result<ExitCode> {
    let shape = scaling_shape(a.workload);
    if a.sizes.is_empty() {
        bail!("--sizes: give at least one pod count");
    }
    let r = driver::scaling(shape, a)?;
    report::print(&r, a.common.json, report::scaling_text)?;
    Ok(exit_code(&r))
}
