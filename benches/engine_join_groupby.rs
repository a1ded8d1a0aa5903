//! Engine-only bench: the Endpoints circuit (pods ⋈ services → filter running → map
//! (service, ip) → group_by service collecting IPs), incrementalized, loaded with a whole
//! snapshot in one step, then driven by single-row deltas one step at a time.
//!
//! Each measured iteration is one step: a random pod's phase flips or its IP changes, fed as
//! −1 old row / +1 new row and run through [`deltaloop_engine::Executor::step`]. The initial
//! load is timed once per size with a wall clock and printed to stderr (`load …`), not by
//! criterion.
//!
//! Groups (all `Throughput::Elements(1)`, one element = one step):
//!
//! * `join_groupby_single_step/pods=N,services=1000` for N = 10k, 100k, 1M: the issue's
//!   shape (100k × 1k), state grows 10× per row while the service count is fixed, so each
//!   group (and the collected list rebuilt per step) also grows 10×.
//! * `join_groupby_single_step/pods=N,services=N/100` for N = 10k, 1M: the same state
//!   sizes with 100 pods per service, isolating state size from group size.
//!
//! These run the executor as a controller does: consuming output deltas only, with output
//! snapshot integration switched off ([`deltaloop_engine::Executor::track_snapshots`]).
//! The same two constant-group sizes also run with it on, as
//! `…/pods=N,services=N/100,snapshots`.
//!
//! Run: `cargo bench -p benches --bench engine_join_groupby` (add a filter such as
//! `services=1000` to run a subset). See `doc/performance.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::{EndpointsBench, SEED, Workload};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// (pods, services, track snapshots), measured in this order.
const SIZES: [(u32, u32, bool); 7] = [
    (10_000, 1_000, false),
    (100_000, 1_000, false),
    (1_000_000, 1_000, false),
    (10_000, 100, false),
    (1_000_000, 10_000, false),
    (10_000, 100, true),
    (1_000_000, 10_000, true),
];

fn join_groupby_single_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("join_groupby_single_step");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    for (pods, services, snapshots) in SIZES {
        let suffix = if snapshots { ",snapshots" } else { "" };
        let id = BenchmarkId::from_parameter(format!("pods={pods},services={services}{suffix}"));
        // Build lazily, inside the bench closure, so filtered-out sizes cost nothing.
        let mut bench: Option<EndpointsBench> = None;
        group.bench_function(id, |b| {
            let bench = bench.get_or_insert_with(|| {
                let workload = Workload::generate(pods, services, SEED);
                let start = Instant::now();
                let mut loaded = EndpointsBench::load(workload, SEED).expect("initial load");
                eprintln!(
                    "load pods={pods},services={services}: {:.3} s ({} endpoints rows)",
                    start.elapsed().as_secs_f64(),
                    loaded.snapshot().len()
                );
                loaded.track_snapshots(snapshots);
                loaded
            });
            b.iter(|| {
                bench.step_one().expect("step");
                black_box(bench.last_output().len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, join_groupby_single_step);
criterion_main!(benches);
