//! Where the differential-dataflow backend's workers run: threads of this process, and the
//! workers of other processes.
//!
//! A [`Pool`] starts the worker threads with `timely::execute` and talks to them over
//! channels: each step it spreads the fed rows over its workers by hash, sends every
//! worker its share (an empty one too: every worker must advance its inputs for the step to
//! end), and gathers what they report. The dataflow itself gathers the outputs at worker 0
//! (see `Dataflow::build`), so with several processes the driving process (process 0)
//! reads them all. A serving process ([`serve`]) builds the same dataflow, closes its
//! inputs, and runs its workers until the driving process closes its own.

use std::hash::{BuildHasher as _, BuildHasherDefault, DefaultHasher};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use timely::communication::initialize::WorkerGuards;
use timely::{CommunicationConfig, Config, WorkerConfig};

use super::{Dataflow, DataflowData, Failed};
use crate::data::Weight;
use crate::error::{Error, Result};
use crate::zset::ZSet;

/// Where a [`DataflowExecutor`](super::DataflowExecutor)'s workers run.
///
/// ```
/// use deltaloop_engine::Workers;
///
/// // four worker threads in this process
/// assert_eq!(Workers::threads(4).total(), 4);
/// // two processes of two threads each; this is the second one
/// let hosts = vec!["10.0.0.1:2101".to_string(), "10.0.0.2:2101".to_string()];
/// assert_eq!(Workers::cluster(2, 1, hosts).total(), 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workers {
    /// Worker threads in each process (at least 1).
    pub threads: usize,
    /// This process's index into `hosts`: process 0 drives, the others serve.
    pub process: usize,
    /// `host:port` of every process, in process order (each listens on its own); empty
    /// for one process.
    pub hosts: Vec<String>,
}

impl Default for Workers {
    /// One worker, in the caller's thread.
    fn default() -> Self {
        Workers::threads(1)
    }
}

impl Workers {
    /// `threads` workers in this process (one runs in the caller's thread; more run on
    /// threads of their own).
    #[must_use]
    pub fn threads(threads: usize) -> Self {
        Workers {
            threads,
            process: 0,
            hosts: Vec::new(),
        }
    }

    /// `threads` workers in each of the processes at `hosts`, this one being `process`.
    #[must_use]
    pub fn cluster(threads: usize, process: usize, hosts: Vec<String>) -> Self {
        Workers {
            threads,
            process,
            hosts,
        }
    }

    /// The number of processes.
    #[must_use]
    pub fn processes(&self) -> usize {
        self.hosts.len().max(1)
    }

    /// The number of workers over all processes.
    #[must_use]
    pub fn total(&self) -> usize {
        self.threads * self.processes()
    }

    /// Whether one worker runs in the caller's thread (no threads, no network).
    pub(super) fn is_local(&self) -> bool {
        self.threads == 1 && self.processes() == 1
    }

    /// Checks the configuration for `circuit`'s executor.
    pub(super) fn check(&self, circuit: &str) -> Result<()> {
        let reason = if self.threads == 0 {
            Some("at least one worker thread per process is needed".to_string())
        } else if self.process >= self.processes() {
            Some(format!(
                "process index {} is out of range: {} process(es) are listed",
                self.process,
                self.processes()
            ))
        } else {
            None
        };
        reason.map_or(Ok(()), |reason| {
            Err(Error::Workers {
                circuit: circuit.to_string(),
                reason,
            })
        })
    }

    /// timely's configuration for these workers.
    fn config(&self) -> Config {
        let communication = if self.processes() == 1 {
            CommunicationConfig::Process(self.threads)
        } else {
            CommunicationConfig::Cluster {
                threads: self.threads,
                process: self.process,
                addresses: self.hosts.clone(),
                report: false,
                zerocopy: false,
            }
        };
        Config {
            communication,
            worker: WorkerConfig::default(),
        }
    }

    /// The index, among this process's workers, of the worker with global index `index`.
    fn local(&self, index: usize) -> Option<usize> {
        index
            .checked_sub(self.process * self.threads)
            .filter(|&i| i < self.threads)
    }
}

/// What a worker thread is told: one step's share of the fed rows, times `sign`.
struct Command<T: DataflowData> {
    fed: Vec<ZSet<T>>,
    sign: Weight,
}

/// What a worker thread reports.
enum Report<T: DataflowData> {
    /// The dataflow was built (or why not).
    Built(Result<()>),
    /// A step ran: what this worker's outputs emitted, and its first failure.
    Stepped(Vec<ZSet<T>>, Option<Failed>),
}

/// This process's worker threads, driven over channels.
pub(super) struct Pool<T: DataflowData> {
    /// One command channel per local worker, by local index.
    commands: Vec<Sender<Command<T>>>,
    reports: Receiver<Report<T>>,
    /// The worker threads (joined on drop).
    guards: Option<WorkerGuards<()>>,
}

impl<T: DataflowData> Pool<T> {
    /// Starts `workers`' threads of this process, each building the dataflow of `circuit`
    /// (scheduled as `order`), and waits until all have built it.
    pub(super) fn start(
        circuit: &crate::Circuit<T>,
        order: Vec<String>,
        workers: &Workers,
    ) -> Result<Self> {
        let failed = |reason: String| Error::Workers {
            circuit: circuit.name().to_string(),
            reason,
        };
        let (report, reports) = channel();
        let (commands, receivers): (Vec<_>, Vec<_>) = (0..workers.threads)
            .map(|_| {
                let (tx, rx) = channel::<Command<T>>();
                (tx, Some(rx))
            })
            .unzip();
        let receivers = Mutex::new(receivers);
        let shared = Arc::new(circuit.clone());
        let placement = workers.clone();
        let guards = timely::execute(workers.config(), move |worker| {
            let Some(commands) = placement.local(worker.index()).and_then(|i| {
                receivers
                    .lock()
                    .ok()
                    .and_then(|mut r| r.get_mut(i).and_then(Option::take))
            }) else {
                return;
            };
            let report: Sender<Report<T>> = report.clone();
            let mut dataflow = match Dataflow::build(worker, &shared, &order) {
                Ok(dataflow) => dataflow,
                Err(e) => {
                    let _ = report.send(Report::Built(Err(e)));
                    return;
                }
            };
            if report.send(Report::Built(Ok(()))).is_err() {
                return;
            }
            while let Ok(Command { fed, sign }) = commands.recv() {
                dataflow.feed(fed.iter().map(ZSet::iter), sign);
                let (emitted, failure) = dataflow.run(worker);
                if report.send(Report::Stepped(emitted, failure)).is_err() {
                    break;
                }
            }
        })
        .map_err(failed)?;
        let pool = Pool {
            commands,
            reports,
            guards: Some(guards),
        };
        for _ in 0..workers.threads {
            match pool.reports.recv() {
                Ok(Report::Built(Ok(()))) => {}
                Ok(Report::Built(Err(e))) => return Err(e),
                Ok(Report::Stepped(..)) | Err(_) => {
                    return Err(failed("a worker thread ended before building".to_string()));
                }
            }
        }
        Ok(pool)
    }

    /// The number of worker threads in this process.
    pub(super) fn threads(&self) -> usize {
        self.commands.len()
    }

    /// Runs one step of `fed` (times `sign`) on every worker and returns what the outputs
    /// emitted and the first failure.
    pub(super) fn run(
        &mut self,
        circuit: &str,
        fed: &[ZSet<T>],
        sign: Weight,
    ) -> Result<(Vec<ZSet<T>>, Option<Failed>)> {
        let ended = || Error::Workers {
            circuit: circuit.to_string(),
            reason: "a worker thread ended early".to_string(),
        };
        for (commands, share) in self.commands.iter().zip(spread(fed, self.commands.len())) {
            commands
                .send(Command { fed: share, sign })
                .map_err(|_| ended())?;
        }
        let mut emitted: Option<Vec<ZSet<T>>> = None;
        let mut first: Option<Failed> = None;
        for _ in 0..self.commands.len() {
            let Ok(Report::Stepped(part, failure)) = self.reports.recv() else {
                return Err(ended());
            };
            match &mut emitted {
                None => emitted = Some(part),
                Some(sum) => {
                    for (s, p) in sum.iter_mut().zip(part) {
                        s.absorb(p);
                    }
                }
            }
            first = first.or(failure);
        }
        Ok((emitted.unwrap_or_default(), first))
    }
}

impl<T: DataflowData> Drop for Pool<T> {
    /// Closes every worker's commands (so each closes its inputs and finishes), then joins
    /// the threads.
    fn drop(&mut self) {
        self.commands.clear();
        if let Some(guards) = self.guards.take() {
            drop(guards.join());
        }
    }
}

/// `fed` spread over `n` workers: each row goes to the worker its hash picks, so a row and
/// its retraction meet at the same worker.
fn spread<T: DataflowData>(fed: &[ZSet<T>], n: usize) -> Vec<Vec<ZSet<T>>> {
    let mut shares: Vec<Vec<ZSet<T>>> = (0..n)
        .map(|_| fed.iter().map(|_| ZSet::new()).collect())
        .collect();
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    for (input, delta) in fed.iter().enumerate() {
        for (row, w) in delta.iter() {
            let at = usize::try_from(hasher.hash_one(row) % n as u64).unwrap_or(0);
            if let Some(share) = shares.get_mut(at).and_then(|s| s.get_mut(input)) {
                share.insert_ref(row, w);
            }
        }
    }
    shares
}

/// Lends this process's workers to the dataflow of `circuit` (scheduled as `order`) driven
/// by process 0, until every input is closed.
pub(super) fn serve<T: DataflowData>(
    circuit: &crate::Circuit<T>,
    order: Vec<String>,
    workers: &Workers,
) -> Result<()> {
    let failed = |reason: String| Error::Workers {
        circuit: circuit.name().to_string(),
        reason,
    };
    let (report, reports) = channel::<Result<()>>();
    let shared = Arc::new(circuit.clone());
    let guards = timely::execute(workers.config(), move |worker| {
        // The dataflow is dropped at once: this worker's inputs close, and the dataflow
        // runs on (`timely::execute` steps it) until the driving process closes its own.
        let built = Dataflow::build(worker, &shared, &order).map(drop);
        let _ = report.send(built);
    })
    .map_err(failed)?;
    for _ in 0..workers.threads {
        reports
            .recv()
            .map_err(|_| failed("a worker thread ended before building".to_string()))??;
    }
    for joined in guards.join() {
        joined.map_err(failed)?;
    }
    Ok(())
}
