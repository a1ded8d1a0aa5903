//! `deltaloop run`: Operator manifests → controllers on the connectors runtime.
//!
//! - Embedded (the default): a fake cluster on the embedded API server, hosting the native
//!   kinds plus every kind the operators use (views in `<op>.view.dcontroller.io/v1alpha1`,
//!   other kinds as namespaced kinds), with a kubeconfig written for kubectl. The controllers
//!   talk to the store in process.
//! - Against a cluster (`--kubeconfig`, or `KUBECONFIG`): native kinds go to the cluster; view
//!   kinds go to the embedded server (spec §e.3, "composite client"), which is served so that
//!   kubectl can read the views.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use axum::body::Bytes;
use axum::http::{Request, Response};
use clap::Args;
use deltaloop_connectors::apiserver::kinds::{VIEW_GROUP_SUFFIX, pluralize};
use deltaloop_connectors::apiserver::{ApiServer, ResourceKind, Store};
use deltaloop_connectors::manifest::{OperatorPlan, SourceKind, operator_from_json};
use deltaloop_connectors::runtime::{ControllerHandle, Core, start_operator};
use deltaloop_connectors::source::Gvk;
use deltaloop_pipeline::Value;
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use tower::ServiceExt as _;

use crate::apiserver_cmd::{
    ServerArgs, Started, init_logging, runtime, shutdown_signal, start_server, write_kubeconfig,
};
use crate::files;

/// Arguments of `deltaloop run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Operator manifests (`apiVersion: dcontroller.io/v1alpha1`, `kind: Operator`); a file
    /// may hold several, as a YAML stream.
    #[arg(required = true, value_name = "MANIFEST.yaml")]
    pub(crate) manifests: Vec<PathBuf>,
    /// Run against the cluster of this kubeconfig (views are still served by the embedded
    /// server).
    #[arg(long, value_name = "FILE", conflicts_with = "embedded")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Run on the embedded API server even when KUBECONFIG is set [default without
    /// --kubeconfig and KUBECONFIG].
    #[arg(long)]
    pub(crate) embedded: bool,
    /// Embedded server options.
    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// One parsed operator and the file it came from.
#[derive(Debug)]
struct Loaded {
    path: PathBuf,
    plan: OperatorPlan,
}

/// Parses every manifest and compiles every controller's pipeline, so that all
/// configuration errors surface (naming file and YAML location) before anything starts.
fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Loaded>> {
    let mut loaded: Vec<Loaded> = Vec::new();
    for path in paths {
        let docs = files::load_documents(path)?;
        if docs.is_empty() {
            bail!("{}: no Operator manifest in the file", path.display());
        }
        let several = docs.len() > 1;
        for (i, doc) in docs.iter().enumerate() {
            let doc_at = if several {
                format!("document {}: ", i + 1)
            } else {
                String::new()
            };
            let plan = operator_from_json(&Value::to_serde_json(doc))
                .map_err(|e| anyhow!("{}: {doc_at}{e}", path.display()))?;
            for c in &plan.controllers {
                Core::new(c).map_err(|e| anyhow!("{}: {doc_at}{e}", path.display()))?;
            }
            if let Some(other) = loaded.iter().find(|l| l.plan.name == plan.name) {
                bail!(
                    "{}: {doc_at}metadata.name: operator {:?} is also defined in {}",
                    path.display(),
                    plan.name,
                    other.path.display()
                );
            }
            loaded.push(Loaded {
                path: path.clone(),
                plan,
            });
        }
    }
    Ok(loaded)
}

/// The resources an operator reads and writes on an API server (watch sources and targets;
/// OneShot and Periodic sources are virtual).
fn resources(plan: &OperatorPlan) -> impl Iterator<Item = &Gvk> {
    plan.controllers.iter().flat_map(|c| {
        c.sources
            .iter()
            .filter(|s| matches!(s.kind, SourceKind::Watcher { .. }))
            .map(|s| &s.gvk)
            .chain(c.targets.iter().map(|t| &t.gvk))
    })
}

/// The served kind of a view resource.
fn view_kind(gvk: &Gvk) -> ResourceKind {
    let operator = gvk
        .group
        .strip_suffix(VIEW_GROUP_SUFFIX)
        .and_then(|g| g.strip_suffix('.'))
        .unwrap_or(&gvk.group);
    let mut kind = ResourceKind::view(operator, &gvk.kind);
    kind.group.clone_from(&gvk.group);
    if let Some(v) = &gvk.version {
        kind.version.clone_from(v);
    }
    if let Some(p) = &gvk.plural {
        kind = kind.with_plural(p);
    }
    kind
}

/// Registers the kinds the operators use: views always, other kinds (not already served)
/// only when `natives` (the embedded fake cluster). Returns how many views there are.
fn register_kinds(store: &Store, loaded: &[Loaded], natives: bool) -> usize {
    let mut views = 0;
    for l in loaded {
        for gvk in resources(&l.plan) {
            let known = store.kinds().into_iter().any(|k| {
                k.group == gvk.group
                    && k.kind == gvk.kind
                    && gvk.version.as_ref().is_none_or(|v| *v == k.version)
            });
            if gvk.is_view() {
                if !known {
                    let kind = view_kind(gvk);
                    tracing::info!(
                        "serving view {}.{} ({}/{})",
                        kind.plural,
                        kind.group,
                        kind.api_version(),
                        kind.kind
                    );
                    store.register(kind);
                    views += 1;
                }
            } else if natives && !known {
                let version = gvk.version.as_deref().unwrap_or("v1");
                let plural = gvk
                    .plural
                    .clone()
                    .unwrap_or_else(|| pluralize(&gvk.kind.to_ascii_lowercase()));
                let kind = ResourceKind::native(&gvk.group, version, &gvk.kind, &plural, true);
                tracing::info!(
                    "serving {} ({}/{}) as a namespaced kind",
                    plural,
                    kind.api_version(),
                    gvk.kind
                );
                store.register(kind);
            }
        }
    }
    views
}

// ---- the composite client: views to the embedded server, the rest to the cluster ----

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxBody = UnsyncBoxBody<Bytes, BoxError>;

/// Whether a request path is for a view group (`/apis/<op>.view.dcontroller.io/…`).
fn is_view_path(path: &str) -> bool {
    path.strip_prefix("/apis/")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|group| group.ends_with(&format!(".{VIEW_GROUP_SUFFIX}")))
}

/// A tower service sending view requests to the embedded server's router (in process) and
/// everything else to the cluster.
#[derive(Clone)]
struct Composite {
    cluster: kube::Client,
    views: axum::Router,
}

impl tower::Service<Request<kube::client::Body>> for Composite {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<BoxBody>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<kube::client::Body>) -> Self::Future {
        if is_view_path(req.uri().path()) {
            let views = self.views.clone();
            Box::pin(async move {
                let resp = views.oneshot(req).await?;
                Ok(resp.map(|b| b.map_err(BoxError::from).boxed_unsync()))
            })
        } else {
            let cluster = self.cluster.clone();
            Box::pin(async move {
                let resp = cluster.send(req).await?;
                Ok(resp.map(|b| b.map_err(BoxError::from).boxed_unsync()))
            })
        }
    }
}

// ---- choosing where to run ----

/// Where the controllers run.
#[derive(Debug, PartialEq, Eq)]
enum Cluster {
    /// On the embedded server.
    Embedded,
    /// Against a cluster: this kubeconfig, or `None` for `KUBECONFIG`.
    External(Option<PathBuf>),
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `--embedded`, else `--kubeconfig`, else `KUBECONFIG` (unless it is the kubeconfig this
/// command writes, as after following its `export KUBECONFIG=…` hint), else embedded.
fn choose(args: &RunArgs, env: Option<&str>) -> Cluster {
    if args.embedded {
        return Cluster::Embedded;
    }
    if let Some(k) = &args.kubeconfig {
        return Cluster::External(Some(k.clone()));
    }
    match env.filter(|e| !e.is_empty()) {
        Some(e) if !same_file(Path::new(e), &args.server.kubeconfig_out) => Cluster::External(None),
        _ => Cluster::Embedded,
    }
}

/// A client for the cluster, checked to answer `/version`.
async fn cluster_client(file: Option<&Path>) -> anyhow::Result<kube::Client> {
    let what = match file {
        Some(f) => f.display().to_string(),
        None => format!(
            "KUBECONFIG={}",
            std::env::var("KUBECONFIG").unwrap_or_default()
        ),
    };
    let options = kube::config::KubeConfigOptions::default();
    let config = match file {
        Some(f) => {
            let kc = kube::config::Kubeconfig::read_from(f)
                .with_context(|| format!("cannot read the kubeconfig {}", f.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &options).await
        }
        None => kube::Config::from_kubeconfig(&options).await,
    }
    .with_context(|| format!("cannot use the kubeconfig {what}"))?;
    let client = kube::Client::try_from(config)
        .with_context(|| format!("cannot build a client from {what}"))?;
    let hint = "(pass --embedded to run on the embedded API server instead)";
    match tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(v)) => {
            tracing::info!("running against the cluster of {what} ({})", v.git_version);
            Ok(client)
        }
        Ok(Err(e)) => Err(anyhow!("cannot reach the cluster of {what}: {e} {hint}")),
        Err(_) => Err(anyhow!(
            "the cluster of {what} did not answer within 10 s {hint}"
        )),
    }
}

// ---- the command ----

/// `deltaloop run`.
pub(crate) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = load(&args.manifests)?;
    init_logging();
    let cluster = choose(args, std::env::var("KUBECONFIG").ok().as_deref());
    runtime()?.block_on(run_async(args, loaded, cluster))
}

async fn run_async(
    args: &RunArgs,
    loaded: Vec<Loaded>,
    cluster: Cluster,
) -> anyhow::Result<ExitCode> {
    let (client, started): (kube::Client, Option<Started>) = match &cluster {
        Cluster::Embedded => {
            let store = Store::with_native_kinds();
            register_kinds(&store, &loaded, true);
            let started = start_server(&args.server, store.clone()).await?;
            // The controllers use the store in process (no TCP, no token).
            (ApiServer::new(store).client(), Some(started))
        }
        Cluster::External(file) => {
            let cluster = cluster_client(file.as_deref()).await?;
            let store = Store::default();
            if register_kinds(&store, &loaded, false) == 0 {
                (cluster, None)
            } else {
                let started = start_server(&args.server, store.clone()).await?;
                let ns = cluster.default_namespace().to_owned();
                let composite = Composite {
                    cluster,
                    views: ApiServer::new(store).router(),
                };
                (kube::Client::new(composite, ns), Some(started))
            }
        }
    };

    let mut handles: Vec<(String, ControllerHandle)> = Vec::new();
    let mut failures = Vec::new();
    for l in &loaded {
        let (running, failed) = start_operator(client.clone(), &l.plan, None).await;
        handles.extend(running.into_iter().map(|h| (l.plan.name.clone(), h)));
        failures.extend(
            failed
                .into_iter()
                .map(|e| format!("{}: {e}", l.path.display())),
        );
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("deltaloop: {f}");
        }
        eprintln!(
            "deltaloop: {} controller(s) could not start; stopping",
            failures.len()
        );
        return Ok(ExitCode::FAILURE);
    }

    if let Some(s) = &started {
        write_kubeconfig(&s.kubeconfig, &args.server.kubeconfig_out)?;
    }
    let names: BTreeMap<&str, usize> = handles.iter().fold(BTreeMap::new(), |mut m, (op, _)| {
        *m.entry(op.as_str()).or_default() += 1;
        m
    });
    let summary: Vec<String> = names
        .iter()
        .map(|(op, n)| format!("{op} ({n} controller{})", if *n == 1 { "" } else { "s" }))
        .collect();
    eprintln!("deltaloop: running {}; Ctrl-C to stop", summary.join(", "));

    shutdown_signal().await;
    tracing::info!("shutting down");
    for (op, h) in handles {
        let stats = h.stats();
        eprintln!(
            "deltaloop: {op}/{}: {} steps, {} writes, {} failures",
            h.name,
            stats.steps(),
            stats.writes(),
            stats.failed.load(std::sync::atomic::Ordering::Relaxed)
        );
        h.stop();
    }
    if let Some(s) = started {
        s.server.shutdown();
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_paths_are_routed_to_the_embedded_server() {
        assert!(is_view_path(
            "/apis/ep.view.dcontroller.io/v1alpha1/namespaces/default/endpointsviews"
        ));
        assert!(is_view_path("/apis/ep.view.dcontroller.io/v1alpha1"));
        assert!(!is_view_path("/apis/apps/v1/deployments"));
        assert!(!is_view_path("/api/v1/pods"));
        assert!(!is_view_path("/apis"));
    }

    #[test]
    fn view_kinds_keep_the_manifest_group() {
        let k = view_kind(&Gvk::new(
            "ep.view.dcontroller.io",
            "v1alpha1",
            "EndpointsView",
        ));
        assert_eq!(k.group, "ep.view.dcontroller.io");
        assert_eq!(k.plural, "endpointsviews");
        assert!(k.view);
    }
}
