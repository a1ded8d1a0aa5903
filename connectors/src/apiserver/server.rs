//! Serving: the [`ApiServer`] binds a TCP listener and serves the router over HTTP/1.1 and
//! HTTP/2 (plain, or TLS with ALPN), one task per connection; [`RunningServer`] is the handle
//! (address, URL, kubeconfigs, clients, shutdown on drop).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::Error;
use super::auth::{Profile, TokenAuthority};
use super::kubeconfig::{self, Kubeconfig};
use super::routes::{HandlerConfig, router};
use super::store::Store;
use super::tls::ServerCertificate;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ApiServerConfig {
    /// TLS certificate; `None` serves plain HTTP (development mode).
    pub tls: Option<ServerCertificate>,
    /// Token authority; `None` serves without authentication (development mode).
    pub auth: Option<Arc<TokenAuthority>>,
    /// How often watches with `allowWatchBookmarks=true` get a bookmark.
    pub bookmark_interval: Duration,
    /// How long a watch without `timeoutSeconds` lasts (kubectl `get -w` exits when it ends).
    pub default_watch_timeout: Duration,
}

impl Default for ApiServerConfig {
    fn default() -> Self {
        ApiServerConfig {
            tls: None,
            auth: None,
            bookmark_interval: Duration::from_secs(60),
            default_watch_timeout: Duration::from_secs(3600),
        }
    }
}

impl ApiServerConfig {
    /// Production mode: TLS with a fresh self-signed certificate for `sans` and bearer tokens
    /// signed with the certificate's key.
    pub fn production(sans: &[String]) -> Result<Self, Error> {
        let cert = ServerCertificate::self_signed(sans)?;
        let auth = Arc::new(cert.token_authority()?);
        Ok(ApiServerConfig {
            tls: Some(cert),
            auth: Some(auth),
            ..ApiServerConfig::default()
        })
    }
}

/// The embedded API server over a [`Store`].
#[derive(Debug, Clone)]
pub struct ApiServer {
    store: Store,
    config: ApiServerConfig,
}

impl ApiServer {
    /// A development-mode server (HTTP, no authentication).
    pub fn new(store: Store) -> Self {
        ApiServer {
            store,
            config: ApiServerConfig::default(),
        }
    }

    /// A server with explicit settings.
    pub fn with_config(store: Store, config: ApiServerConfig) -> Self {
        ApiServer { store, config }
    }

    /// The store served.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The axum router (a `tower::Service`).
    pub fn router(&self) -> Router {
        router(
            self.store.clone(),
            HandlerConfig {
                auth: self.config.auth.clone(),
                bookmark_interval: self.config.bookmark_interval,
                default_watch_timeout: self.config.default_watch_timeout,
                ..HandlerConfig::default()
            },
        )
    }

    /// A `kube::Client` talking to the router in process (no TCP; unauthenticated, so only
    /// for development-mode servers).
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.router(), "default")
    }

    /// Binds `addr` (use port 0 for any free port) and serves in background tasks until the
    /// returned handle is dropped or shut down.
    pub async fn serve(self, addr: SocketAddr) -> Result<RunningServer, Error> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let acceptor = match &self.config.tls {
            Some(c) => Some(TlsAcceptor::from(c.server_config()?)),
            None => None,
        };
        let app = self.router();
        let task = tokio::spawn(accept_loop(listener, app, acceptor));
        Ok(RunningServer {
            addr: local_addr,
            config: self.config,
            store: self.store,
            task,
        })
    }
}

async fn accept_loop(listener: TcpListener, app: Router, acceptor: Option<TlsAcceptor>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("apiserver accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let result = match acceptor {
                Some(acc) => match acc.accept(tcp).await {
                    Ok(tls) => {
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(tls), service)
                            .await
                    }
                    Err(e) => {
                        tracing::debug!("apiserver tls handshake: {e}");
                        return;
                    }
                },
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!("apiserver connection: {e}");
            }
        });
    }
}

/// A running server; dropping it stops accepting and closes its connections.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    config: ApiServerConfig,
    store: Store,
    task: JoinHandle<()>,
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL (`http://…` or `https://…`).
    pub fn url(&self) -> String {
        let scheme = if self.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The store served.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The server certificate, in production mode.
    pub fn certificate(&self) -> Option<&ServerCertificate> {
        self.config.tls.as_ref()
    }

    /// The token authority, in production mode.
    pub fn token_authority(&self) -> Option<&Arc<TokenAuthority>> {
        self.config.auth.as_ref()
    }

    /// A kubeconfig without credentials (trusting the CA in TLS mode).
    pub fn kubeconfig(&self) -> Kubeconfig {
        let mut kc = Kubeconfig::new(&self.url());
        kc.ca_pem = self.config.tls.as_ref().map(|c| c.ca_pem.clone());
        kc
    }

    /// A kubeconfig for a user and profile limited to `namespaces` (empty: all), valid for a
    /// day. Fails in development mode (no token authority).
    pub fn kubeconfig_for(
        &self,
        user: &str,
        profile: Profile,
        namespaces: &[String],
    ) -> Result<Kubeconfig, Error> {
        let authority = self
            .config
            .auth
            .as_ref()
            .ok_or_else(|| Error::Token("the server runs without authentication".into()))?;
        kubeconfig::generate(
            &self.url(),
            self.config.tls.as_ref(),
            authority,
            user,
            profile,
            namespaces,
            Duration::from_secs(24 * 3600),
        )
    }

    /// A `kube::Client` over loopback with the credential-less kubeconfig.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        self.kubeconfig().client().await
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(self) {
        drop(self);
    }
}
