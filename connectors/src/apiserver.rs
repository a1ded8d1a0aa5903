//! The embedded Kubernetes-compatible API server.
//!
//! An in-memory object store ([`Store`]) holds objects of dynamically registered kinds
//! ([`ResourceKind`]): views (group `<operator>.view.dcontroller.io`, version `v1alpha1`) and, for
//! local runs without a cluster, native kinds such as Pod, Service, ConfigMap or Deployment. The
//! HTTP front end ([`ApiServer`]) speaks the Kubernetes API well enough for the `kube` client and
//! a real `kubectl`: discovery, OpenAPI v3, get/list/watch/create/update/patch/delete/
//! deletecollection, the status subresource, label and field selectors, watch streams with
//! bookmarks and in-stream 410s, `Status` error objects and Table output.
//!
//! Development mode is loopback HTTP without authentication. Production mode adds TLS
//! ([`tls::ServerCertificate`]) and bearer tokens ([`auth::TokenAuthority`]) carrying a
//! namespace list and RBAC `PolicyRule`s; [`kubeconfig::Kubeconfig`] writes a kubeconfig for a
//! user and a profile.
//!
//! ```no_run
//! # async fn demo() -> Result<(), deltaloop_connectors::apiserver::Error> {
//! use deltaloop_connectors::apiserver::{ApiServer, ResourceKind, Store};
//! let store = Store::with_native_kinds();
//! store.register(ResourceKind::view("health", "HealthView"));
//! let server = ApiServer::new(store.clone()).serve("127.0.0.1:0".parse()?).await?;
//! println!("kubectl --server {}", server.url());
//! let client = server.client().await?; // a kube::Client over loopback HTTP
//! # drop(client); Ok(()) }
//! ```

pub mod auth;
pub mod discovery;
pub mod kinds;
pub mod kubeconfig;
pub mod patch;
pub mod protobuf;
pub mod routes;
pub mod selectors;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod time;
pub mod tls;

pub use auth::{Claims, PolicyRule, Profile, TokenAuthority};
pub use kinds::{GroupVersionResource, ResourceKind};
pub use kubeconfig::Kubeconfig;
pub use server::{ApiServer, ApiServerConfig, RunningServer};
pub use status::ApiStatus;
pub use store::{Store, StoreConfig, WatchEvent, WatchStream};

/// Errors of the embedded API server outside of request handling (request errors are
/// [`ApiStatus`] objects).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API error (not found, conflict, invalid, …).
    #[error(transparent)]
    Status(#[from] Box<ApiStatus>),
    /// Binding or serving failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// An address did not parse.
    #[error("address: {0}")]
    Addr(#[from] std::net::AddrParseError),
    /// Generating or loading a certificate failed.
    #[error("certificate: {0}")]
    Certificate(String),
    /// Setting up TLS failed.
    #[error("tls: {0}")]
    Tls(String),
    /// Issuing or verifying a token failed.
    #[error("token: {0}")]
    Token(String),
    /// Building a kubeconfig or a client from it failed.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// JSON (de)serialization failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<ApiStatus> for Error {
    fn from(s: ApiStatus) -> Self {
        Error::Status(Box::new(s))
    }
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
