//! Pipeline benches: the `deltaloop bench` workloads through the real pipeline compiler.
//!
//! The documents, events and pipelines are those of `deltaloop bench`: this file includes
//! the CLI's generator (`cli/src/bench/workload.rs`) by path, so the two cannot drift (the
//! CLI crate is a binary, and the generator is harness code, not library API). Each
//! pipeline is compiled with `deltaloop_pipeline::compile_value`, incrementalized with the
//! `Incrementalizer` and run by a `Runner`, exactly as a user's pipeline is.
//!
//! One measured iteration is one single-event step: the event (a pod's old document at −1,
//! its new one at +1) is generated in criterion's untimed setup; the step builds the input
//! Z-set and runs `Runner::step`. The initial load is timed once per size and printed to
//! stderr (`load …`).
//!
//! Groups (`Throughput::Elements(1)`):
//! * `pipeline_endpoints_single_event/pods=N,services=N/100` for N = 10k, 100k;
//! * `pipeline_service_health_single_event/pods=N,apps=N/100` for N = 10k, 100k;
//! * `pipeline_configmap_deployment_single_event/pods=N,configmaps=N/100` for N = 10k, 100k
//!   (N Deployments, each with a ConfigDeployment).
//!
//! Run: `cargo bench -p benches --bench pipeline_endpoints` (a filter such as `pods=10000`
//! runs a subset). `deltaloop bench` measures the same workloads with latency percentiles,
//! batches and a from-scratch check; see `doc/performance.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(dead_code, unreachable_pub)]
#[path = "../cli/src/bench/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use deltaloop_engine::{Chain, Incrementalizer, ZSet};
use deltaloop_pipeline::{Binding, CompileOptions, Runner, compile_value};
use workload::{Generator, Params, Shape};

const SIZES: [usize; 2] = [10_000, 100_000];

/// Compiles and incrementalizes the workload's pipeline, and loads the generator's
/// documents in one step.
fn loaded(shape: Shape, pods: usize) -> (Generator, Runner) {
    let generator = Generator::new(
        shape,
        Params {
            services: pods / 100,
            pods,
            seed: 1,
        },
    );
    let mut options = CompileOptions::new(shape.name()).output(Binding::new("output"));
    for input in shape.inputs() {
        options = options.input(Binding::new(*input));
    }
    let snapshot = compile_value(&shape.pipeline().unwrap(), &options).unwrap();
    let chain = Chain::new(vec![Incrementalizer.into()]).unwrap();
    let mut runner = snapshot.transform(&chain).unwrap().runner().unwrap();
    let start = Instant::now();
    let deltas: Vec<_> = generator
        .documents()
        .into_iter()
        .map(|(kind, docs)| {
            (
                kind,
                docs.iter().map(|d| (d.clone(), 1)).collect::<ZSet<_>>(),
            )
        })
        .collect();
    runner.step(deltas).unwrap();
    eprintln!("load {} pods={pods}: {:?}", shape.name(), start.elapsed());
    (generator, runner)
}

fn single_event(c: &mut Criterion, shape: Shape, group_name: &str, per: &str) {
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    for pods in SIZES {
        let id = BenchmarkId::from_parameter(format!("pods={pods},{per}={}", pods / 100));
        // Built lazily, inside the closure, so filtered-out sizes cost nothing.
        let mut state: Option<(Generator, Runner)> = None;
        group.bench_function(id, |b| {
            let (generator, runner) = state.get_or_insert_with(|| loaded(shape, pods));
            b.iter_batched(
                || generator.next_event(),
                |e| {
                    let mut z = ZSet::with_capacity(2);
                    z.insert(e.old, -1);
                    z.insert(e.new, 1);
                    runner.step([(e.kind, z)]).unwrap()
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn endpoints(c: &mut Criterion) {
    single_event(
        c,
        Shape::Endpoints,
        "pipeline_endpoints_single_event",
        "services",
    );
}

fn service_health(c: &mut Criterion) {
    single_event(
        c,
        Shape::ServiceHealth,
        "pipeline_service_health_single_event",
        "apps",
    );
}

fn configmap_deployment(c: &mut Criterion) {
    single_event(
        c,
        Shape::ConfigmapDeployment,
        "pipeline_configmap_deployment_single_event",
        "configmaps",
    );
}

criterion_group!(benches, endpoints, service_health, configmap_deployment);
criterion_main!(benches);
