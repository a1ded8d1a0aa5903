//! Sources (producers): where deltas come from.
//!
//! Every source turns observations into [`Event`](crate::Event)s and, through a
//! [`DeltaTracker`](crate::DeltaTracker), into Z-set deltas sent on a [`DeltaSender`]:
//!
//! - [`WatchSource`]: a Kubernetes watch (`kube::runtime::watcher` over
//!   `Api<DynamicObject>`), re-listing and resuming with backoff;
//! - [`OneShot`] and [`Periodic`]: virtual trigger documents;
//! - [`FileSource`] and the [`file`] parsers: documents and delta logs from files or stdin.
//!
//! [`Gvk`] names a Kubernetes resource and [`resolve`] finds its [`ApiResource`].

pub mod file;
pub mod kube;
pub mod virtual_;

use ::kube::Client;
use ::kube::api::{ApiResource, GroupVersionKind};
use ::kube::discovery::{self, Scope};
use deltaloop_engine::ZSet;
use deltaloop_pipeline::Value;

pub use file::FileSource;
pub use kube::{WatchSource, WatchStats};
pub use virtual_::{OneShot, Periodic};

/// Where a source sends its deltas.
pub type DeltaSender = tokio::sync::mpsc::Sender<ZSet<Value>>;

/// A source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The resource could not be resolved through discovery.
    #[error("cannot resolve {gvk}: {message}")]
    Resolve {
        /// The resource asked for.
        gvk: String,
        /// Why.
        message: String,
    },
    /// A file could not be read or parsed.
    #[error("{0}")]
    File(#[from] file::FileError),
}

/// A Kubernetes resource by group, version and kind; `plural` skips discovery.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Gvk {
    /// The API group (`""` for the core group).
    pub group: String,
    /// The version; `None` resolves the preferred version through discovery.
    pub version: Option<String>,
    /// The kind.
    pub kind: String,
    /// The plural resource name, when known (then no discovery is needed).
    pub plural: Option<String>,
}

impl Gvk {
    /// A resource with a known version.
    #[must_use]
    pub fn new(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk {
            group: group.to_owned(),
            version: Some(version.to_owned()),
            kind: kind.to_owned(),
            plural: None,
        }
    }

    /// The same resource with an explicit plural.
    #[must_use]
    pub fn with_plural(mut self, plural: &str) -> Gvk {
        self.plural = Some(plural.to_owned());
        self
    }

    /// Whether this is a deltaloop view kind (group ending in `view.dcontroller.io`).
    #[must_use]
    pub fn is_view(&self) -> bool {
        self.group.ends_with("view.dcontroller.io")
    }
}

impl std::fmt::Display for Gvk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        match &self.version {
            Some(v) => write!(f, "{g}/{v}/{}", self.kind),
            None => write!(f, "{g}/{}", self.kind),
        }
    }
}

/// A resolved resource: what the API needs, and what discovery said about it.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The resource (group, version, kind, plural).
    pub resource: ApiResource,
    /// Whether it is namespaced (`true` when unknown).
    pub namespaced: bool,
    /// Whether it has a `status` subresource (`None` when unknown: no discovery was run).
    pub status_subresource: Option<bool>,
    /// Whether it is a view kind.
    pub view: bool,
}

/// Resolves `gvk`: directly when version and plural are given, otherwise through discovery
/// (`pinned_kind` with a version, the group's preferred version without).
///
/// # Errors
/// [`SourceError::Resolve`] when discovery fails or does not know the kind.
pub async fn resolve(client: &Client, gvk: &Gvk) -> Result<Resolved, SourceError> {
    let err = |message: String| SourceError::Resolve {
        gvk: gvk.to_string(),
        message,
    };
    let view = gvk.is_view();
    if let (Some(version), Some(plural)) = (&gvk.version, &gvk.plural) {
        let g = GroupVersionKind::gvk(&gvk.group, version, &gvk.kind);
        return Ok(Resolved {
            resource: ApiResource::from_gvk_with_plural(&g, plural),
            namespaced: true,
            status_subresource: None,
            view,
        });
    }
    let (resource, caps) = match &gvk.version {
        Some(version) => {
            let g = GroupVersionKind::gvk(&gvk.group, version, &gvk.kind);
            discovery::pinned_kind(client, &g)
                .await
                .map_err(|e| err(e.to_string()))?
        }
        None => discovery::group(client, &gvk.group)
            .await
            .map_err(|e| err(e.to_string()))?
            .recommended_kind(&gvk.kind)
            .ok_or_else(|| err("the group has no such kind".into()))?,
    };
    let status = caps.subresources.iter().any(|(r, _)| r.plural == "status");
    Ok(Resolved {
        resource,
        namespaced: caps.scope == Scope::Namespaced,
        status_subresource: Some(status),
        view,
    })
}

/// Converts a JSON value into a document.
pub(crate) fn to_value<T: serde::Serialize>(obj: &T) -> Option<Value> {
    serde_json::to_value(obj).ok().map(|j| Value::from(&j))
}
