//! The Kubernetes watch source.
//!
//! [`WatchSource`] runs `kube::runtime::watcher` over `Api<DynamicObject>` for one resolved
//! resource, scoped by namespace and label selector, and turns its events into deltas through
//! a [`DeltaTracker`]:
//!
//! - the watcher's `Init`/`InitApply`/`InitDone` become a resync, so the first listing is
//!   the initial `+obj` delta and any later re-list (after a `410 Gone`, or when resuming
//!   fails) emits **exactly the difference** from what the pipeline holds;
//! - a closed watch stream is resumed from the last resourceVersion (the watcher does that);
//! - errors (list or watch failures, in-stream errors) are reported and retried after an
//!   exponential [`Backoff`], reset by the next successful event;
//! - every object gets the resource's `apiVersion`/`kind` (list items may lack them), so a
//!   re-listed object equals its watched self.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{Stream, StreamExt};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::watcher;

use crate::backoff::Backoff;
use crate::delta::{DeltaTracker, TrackerOptions};
use crate::event::Event;
use crate::report::Reporter;
use crate::source::{DeltaSender, Resolved, to_value};
use deltaloop_pipeline::Value;

/// Counters of a running [`WatchSource`], shared with whoever holds a clone.
#[derive(Debug, Default)]
pub struct WatchStats {
    /// Listings started (the first one included).
    pub lists: AtomicU64,
    /// Errors seen (each one retried after a backoff).
    pub errors: AtomicU64,
    /// Non-empty deltas sent.
    pub deltas: AtomicU64,
}

impl WatchStats {
    /// Listings started so far.
    #[must_use]
    pub fn lists(&self) -> u64 {
        self.lists.load(Ordering::Relaxed)
    }

    /// Errors seen so far.
    #[must_use]
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

/// A watch on one Kubernetes resource (see the module documentation).
#[derive(Debug)]
pub struct WatchSource {
    api: Api<DynamicObject>,
    resource: ApiResource,
    config: watcher::Config,
    tracker: DeltaTracker,
    backoff: Backoff,
    stats: Arc<WatchStats>,
}

impl WatchSource {
    /// A watch on `resolved`, in `namespace` (all namespaces when `None`), filtered by the
    /// `label_selector` (`a=b,c!=d` syntax) if given. View kinds get `metadata.uid` stripped.
    #[must_use]
    pub fn new(
        client: Client,
        resolved: &Resolved,
        namespace: Option<&str>,
        label_selector: Option<&str>,
        mut options: TrackerOptions,
    ) -> WatchSource {
        let resource = resolved.resource.clone();
        let api = match namespace {
            Some(ns) => Api::namespaced_with(client, ns, &resource),
            None => Api::all_with(client, &resource),
        };
        let mut config = watcher::Config::default();
        if let Some(sel) = label_selector.filter(|s| !s.is_empty()) {
            config = config.labels(sel);
        }
        options.strip_uid |= resolved.view;
        WatchSource {
            api,
            resource,
            config,
            tracker: DeltaTracker::new(options),
            backoff: Backoff::default(),
            stats: Arc::default(),
        }
    }

    /// Replaces the retry backoff (default: 1 s doubling to 30 s).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> WatchSource {
        self.backoff = backoff;
        self
    }

    /// Replaces the watcher configuration (selectors, timeouts, page size).
    #[must_use]
    pub fn with_config(mut self, config: watcher::Config) -> WatchSource {
        self.config = config;
        self
    }

    /// The counters of this source.
    #[must_use]
    pub fn stats(&self) -> Arc<WatchStats> {
        Arc::clone(&self.stats)
    }

    /// The watch as a stream of source events (errors are the watcher's, retryable).
    pub fn events(&self) -> impl Stream<Item = Result<Event, watcher::Error>> + Send + 'static {
        let resource = self.resource.clone();
        let stats = Arc::clone(&self.stats);
        watcher(self.api.clone(), self.config.clone()).map(move |ev| {
            let conv = |o: DynamicObject| doc_of(o, &resource);
            Ok(match ev? {
                watcher::Event::Init => {
                    stats.lists.fetch_add(1, Ordering::Relaxed);
                    Event::ResyncStart
                }
                watcher::Event::InitApply(o) => Event::ResyncItem(conv(o)),
                watcher::Event::InitDone => Event::ResyncDone,
                watcher::Event::Apply(o) => Event::Upsert(conv(o)),
                watcher::Event::Delete(o) => Event::Delete(conv(o)),
            })
        })
    }

    /// Runs until `out` is closed: deltas go to `out`, errors to `reporter`.
    pub async fn run(mut self, out: DeltaSender, reporter: Reporter) {
        let events = self.events();
        futures::pin_mut!(events);
        loop {
            let next = tokio::select! {
                () = out.closed() => return,
                next = events.next() => next,
            };
            match next {
                None => return,
                Some(Ok(ev)) => {
                    self.backoff.reset();
                    match self.tracker.apply(ev) {
                        Ok(delta) if delta.is_empty() => {}
                        Ok(delta) => {
                            self.stats.deltas.fetch_add(1, Ordering::Relaxed);
                            if out.send(delta).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => reporter.report(e),
                    }
                }
                Some(Err(e)) => {
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    let delay = self.backoff.next_delay();
                    reporter.report(format!(
                        "watch {}: {e}; retrying in {delay:?}",
                        self.resource.plural
                    ));
                    tokio::select! {
                        () = out.closed() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

/// The document of a watched object, with the resource's apiVersion and kind.
fn doc_of(mut o: DynamicObject, resource: &ApiResource) -> Value {
    o.types = Some(kube::api::TypeMeta {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
    });
    to_value(&o).unwrap_or_default()
}
