//! Shared workload generators for deltaloop's criterion benches.
//!
//! The engine benches run the canonical *Endpoints* shape directly on the engine, without
//! the pipeline crate's document type:
//!
//! ```text
//! pods ──┐
//!        ├─ equi_join (pod.service = service.id) ─ filter running ─ map (service, ip)
//! services┘                                                         │
//!                                   output endpoints ◄─ group_by service, collect ips
//! ```
//!
//! Rows are a compact [`Row`] enum whose large variants share their contents behind an
//! [`Arc`], so cloning a row is O(1), as the engine expects of its row types. The collected
//! [`Endpoints`] row caches its hash so hashing it is O(1) too (its list of IPs is still
//! O(group size) to build, which is inherent in a `collect` aggregate).
//!
//! Data generation is deterministic: every bench derives its rows from [`SEED`] with the
//! tiny [`SplitMix64`] generator, so two runs measure exactly the same work.

use std::cmp::Ordering;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use deltaloop_engine::{
    Circuit, Collect, CombineFn, Executor, FilterFn, GroupFn, GroupSpec, Incrementalizer,
    InputHandle, JoinSpec, KeyFn, MapFn, OutputHandle, RowHasher, Transform, UserError, ZSet,
    row_hash,
};

/// The seed every generated workload derives from.
pub const SEED: u64 = 0x5EED_DE17_A100_0001;

/// The fraction of generated pods that are running, in percent.
pub const RUNNING_PERCENT: u64 = 90;

/// SplitMix64: a tiny, fast, deterministic pseudo-random generator (Steele et al., 2014).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A pod: the left side of the join.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pod {
    /// Unique pod number.
    pub id: u32,
    /// The id of the service the pod belongs to (the join key).
    pub service: u32,
    /// Whether the pod's phase is `Running`.
    pub running: bool,
    /// The pod's IPv4 address.
    pub ip: u32,
}

/// A service: the right side of the join.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Service {
    /// Unique service number (the join key).
    pub id: u32,
    /// The service's port, carried along so the row is not just its key.
    pub port: u16,
}

/// A pod joined with its service: the join's output row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodAt {
    /// The pod.
    pub pod: Arc<Pod>,
    /// Its service.
    pub service: Arc<Service>,
}

/// One service's collected endpoints: the group-by's output row.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// The service id.
    pub service: u32,
    /// The IPs of the service's running pods, in the order `Collect` lists them (by the hash
    /// of the source row, `Row::Endpoint { service, ip }`).
    pub ips: Vec<u32>,
    /// The cached hash of `(service, ips)`.
    hash: u64,
}

impl Endpoints {
    /// Builds the row, computing its hash once.
    #[must_use]
    pub fn new(service: u32, ips: Vec<u32>) -> Self {
        let hash = RowHasher::default().hash_one((service, &ips));
        Self { service, ips, hash }
    }
}

impl PartialEq for Endpoints {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.service == other.service && self.ips == other.ips
    }
}

impl Eq for Endpoints {}

impl Hash for Endpoints {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialOrd for Endpoints {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Endpoints {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.service, &self.ips).cmp(&(other.service, &other.ips))
    }
}

/// The bench's row type: every value that flows through the Endpoints circuit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Row {
    /// A join or group key: a service id.
    Key(u32),
    /// A group member value: an IP.
    Ip(u32),
    /// An input pod.
    Pod(Arc<Pod>),
    /// An input service.
    Service(Arc<Service>),
    /// A joined (pod, service) pair.
    PodAt(Arc<PodAt>),
    /// A running pod's endpoint, `(service, ip)`.
    Endpoint {
        /// The service id.
        service: u32,
        /// The pod's IP.
        ip: u32,
    },
    /// A service's collected endpoints.
    Endpoints(Arc<Endpoints>),
}

fn wrong_row(what: &str, row: &Row) -> UserError {
    format!("{what}: unexpected row {row:?}").into()
}

/// The snapshot form of the Endpoints circuit: inputs `pods` and `services`, output
/// `endpoints`.
///
/// # Errors
/// None in practice: the circuit is fixed and valid.
pub fn endpoints_circuit() -> deltaloop_engine::Result<Circuit<Row>> {
    let mut c: Circuit<Row> = Circuit::new("endpoints");
    let pods = c.input("pods")?;
    let services = c.input("services")?;
    let joined = c.equi_join(
        &pods,
        &services,
        JoinSpec {
            left_key: KeyFn::new("pod.service", |r: &Row| match r {
                Row::Pod(p) => Ok(Some(Row::Key(p.service))),
                other => Err(wrong_row("pod.service", other)),
            }),
            right_key: KeyFn::new("service.id", |r: &Row| match r {
                Row::Service(s) => Ok(Some(Row::Key(s.id))),
                other => Err(wrong_row("service.id", other)),
            }),
            combine: CombineFn::new("(pod, service)", |l: &Row, r: &Row| match (l, r) {
                (Row::Pod(p), Row::Service(s)) => Ok(Row::PodAt(Arc::new(PodAt {
                    pod: Arc::clone(p),
                    service: Arc::clone(s),
                }))),
                _ => Err(wrong_row("(pod, service)", l)),
            }),
            residual: None,
        },
    )?;
    let running = c.filter(
        &joined,
        FilterFn::new("pod.running", |r: &Row| match r {
            Row::PodAt(j) => Ok(j.pod.running),
            other => Err(wrong_row("pod.running", other)),
        }),
    )?;
    let endpoint = c.map(
        &running,
        MapFn::new("(service.id, pod.ip)", |r: &Row| match r {
            Row::PodAt(j) => Ok(Some(Row::Endpoint {
                service: j.service.id,
                ip: j.pod.ip,
            })),
            other => Err(wrong_row("(service.id, pod.ip)", other)),
        }),
    )?;
    let grouped = c.group_by(
        &endpoint,
        GroupSpec::new(
            GroupFn::new("service → ip", |r: &Row| match r {
                Row::Endpoint { service, ip } => Ok((Row::Key(*service), Row::Ip(*ip))),
                other => Err(wrong_row("service → ip", other)),
            }),
            Arc::new(Collect::new(false, |key: &Row, values, _rows| {
                let Row::Key(service) = key else {
                    return Err(wrong_row("collect key", key));
                };
                let mut ips = Vec::with_capacity(values.len());
                for v in values {
                    match v {
                        Row::Ip(ip) => ips.push(*ip),
                        other => return Err(wrong_row("collect value", other)),
                    }
                }
                Ok(Row::Endpoints(Arc::new(Endpoints::new(*service, ips))))
            })),
        ),
    )?;
    c.output("endpoints", &grouped)?;
    Ok(c)
}

/// A generated snapshot: the initial pods and services.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Every pod, indexed by its id.
    pub pods: Vec<Arc<Pod>>,
    /// Every service, indexed by its id.
    pub services: Vec<Arc<Service>>,
}

/// The first IP handed to generated pods (10.0.0.0); IP changes draw from 11.0.0.0 upwards.
const FIRST_IP: u32 = 0x0A00_0000;
const FIRST_CHANGED_IP: u32 = 0x0B00_0000;

impl Workload {
    /// `pods` pods spread uniformly at random over `services` services, [`RUNNING_PERCENT`]
    /// of them running, each with a distinct IP; deterministic in `seed`.
    #[must_use]
    pub fn generate(pods: u32, services: u32, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let services_v = (0..services)
            .map(|id| {
                Arc::new(Service {
                    id,
                    port: 8000 + u16::try_from(id % 1000).unwrap_or(0),
                })
            })
            .collect();
        let pods_v = (0..pods)
            .map(|id| {
                let service = u32::try_from(rng.below(u64::from(services))).unwrap_or(0);
                let running = rng.below(100) < RUNNING_PERCENT;
                Arc::new(Pod {
                    id,
                    service,
                    running,
                    ip: FIRST_IP + id,
                })
            })
            .collect();
        Self {
            pods: pods_v,
            services: services_v,
        }
    }
}

/// An incremental Endpoints executor loaded with a workload, ready for single-row deltas.
#[derive(Debug)]
pub struct EndpointsBench {
    exec: Executor<Row>,
    pods_in: InputHandle,
    endpoints_out: OutputHandle,
    /// The current version of every pod.
    pods: Vec<Arc<Pod>>,
    rng: SplitMix64,
    next_ip: u32,
}

impl EndpointsBench {
    /// Builds the incremental circuit and loads the whole workload in one step.
    ///
    /// # Errors
    /// Any engine error (none expected).
    pub fn load(workload: Workload, seed: u64) -> deltaloop_engine::Result<Self> {
        let mut exec = Executor::new(Incrementalizer.apply(&endpoints_circuit()?)?)?;
        let pods_in = exec.input_handle("pods")?;
        let services_in = exec.input_handle("services")?;
        let endpoints_out = exec.output_handle("endpoints")?;
        let mut pods = ZSet::with_capacity(workload.pods.len());
        for p in &workload.pods {
            pods.insert(Row::Pod(Arc::clone(p)), 1);
        }
        let mut services = ZSet::with_capacity(workload.services.len());
        for s in &workload.services {
            services.insert(Row::Service(Arc::clone(s)), 1);
        }
        exec.feed_handle(pods_in, pods);
        exec.feed_handle(services_in, services);
        exec.step()?;
        Ok(Self {
            exec,
            pods_in,
            endpoints_out,
            pods: workload.pods,
            rng: SplitMix64::new(seed ^ 0x00DE_17A5),
            next_ip: FIRST_CHANGED_IP,
        })
    }

    /// Applies one single-row change to a random pod — a phase flip or a new IP, half the
    /// time each — as a retraction of the old row and an insertion of the new one, fed and
    /// run as one step.
    ///
    /// # Errors
    /// Any engine error (none expected).
    pub fn step_one(&mut self) -> deltaloop_engine::Result<()> {
        let len = u64::try_from(self.pods.len()).unwrap_or(u64::MAX);
        let i = usize::try_from(self.rng.below(len)).unwrap_or(0);
        let old = &self.pods[i];
        let mut new = Pod::clone(old);
        if self.rng.next_u64() & 1 == 0 {
            new.running = !new.running;
        } else {
            new.ip = self.next_ip;
            self.next_ip = self.next_ip.wrapping_add(1);
        }
        let new = Arc::new(new);
        self.exec
            .feed_row(self.pods_in, Row::Pod(Arc::clone(old)), -1);
        self.exec
            .feed_row(self.pods_in, Row::Pod(Arc::clone(&new)), 1);
        self.pods[i] = new;
        self.exec.step()
    }

    /// The endpoints delta of the last step.
    #[must_use]
    pub fn last_output(&self) -> &ZSet<Row> {
        self.exec.output_of(self.endpoints_out)
    }

    /// The current endpoints snapshot (∅ once [`track_snapshots`](Self::track_snapshots)
    /// switched tracking off).
    #[must_use]
    pub fn snapshot(&self) -> &ZSet<Row> {
        self.exec.snapshot_of(self.endpoints_out)
    }

    /// Switches the executor's output snapshot integration on or off (on after
    /// [`load`](Self::load)); see [`Executor::track_snapshots`]. A controller that only
    /// forwards deltas runs with it off.
    pub fn track_snapshots(&mut self, on: bool) {
        self.exec.track_snapshots(on);
    }

    /// The endpoints computed from scratch from the current pods (the oracle).
    #[must_use]
    pub fn expected(&self, services: u32) -> ZSet<Row> {
        let mut by_service: Vec<Vec<u32>> = vec![Vec::new(); services as usize];
        for p in &self.pods {
            if p.running {
                by_service[p.service as usize].push(p.ip);
            }
        }
        let mut out = ZSet::new();
        for (service, mut ips) in (0u32..).zip(by_service) {
            if !ips.is_empty() {
                // `Collect` lists a group's members in the order of their source rows'
                // `row_hash` (then of the rows): the same deterministic order here.
                ips.sort_unstable_by_key(|ip| (row_hash(&Row::Endpoint { service, ip: *ip }), *ip));
                out.insert(Row::Endpoints(Arc::new(Endpoints::new(service, ips))), 1);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn incremental_endpoints_should_match_recomputation() {
        let services = 20;
        let mut bench =
            EndpointsBench::load(Workload::generate(2_000, services, SEED), SEED).unwrap();
        assert_eq!(bench.snapshot(), &bench.expected(services));
        for _ in 0..500 {
            bench.step_one().unwrap();
            assert!(bench.last_output().len() <= 2);
        }
        assert_eq!(bench.snapshot(), &bench.expected(services));
    }

    #[test]
    fn rows_should_be_two_words() {
        assert_eq!(std::mem::size_of::<Row>(), 16);
    }

    #[test]
    fn generation_should_be_deterministic() {
        let a = Workload::generate(1_000, 10, SEED);
        let b = Workload::generate(1_000, 10, SEED);
        assert_eq!(a.pods, b.pods);
    }
}
