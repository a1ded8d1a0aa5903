//! `deltaloop apiserver`, and what `deltaloop run` shares with it: starting the embedded
//! Kubernetes API server in development mode (loopback HTTP, no authentication) or production
//! mode (`--tls`: HTTPS and bearer tokens, keys in a certificate directory), writing its
//! kubeconfig, logging, and waiting for Ctrl-C or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use deltaloop_connectors::apiserver::tls::ServerCertificate;
use deltaloop_connectors::apiserver::{
    ApiServer, ApiServerConfig, Kubeconfig, Profile, RunningServer, Store, kubeconfig,
};

/// The default address of the embedded server.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:6443";

/// How long the admin kubeconfig written in production mode stays valid.
pub(crate) const ADMIN_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// The files of a certificate directory.
pub(crate) const CA_FILE: &str = "ca.crt";
/// The server certificate (chain), PEM.
pub(crate) const CERT_FILE: &str = "tls.crt";
/// The server key (PKCS#8 ECDSA P-256, PEM); it also signs the bearer tokens.
pub(crate) const KEY_FILE: &str = "tls.key";

/// Options of the embedded server, shared by `apiserver` and `run`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Address to serve on (port 0: any free port). Without --tls it must be a loopback
    /// address: development mode has no authentication.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub(crate) listen: SocketAddr,
    /// Where to write a kubeconfig for the server (with --tls: an admin kubeconfig with a
    /// token valid for 24 h).
    #[arg(long, value_name = "FILE", default_value = "deltaloop.kubeconfig")]
    pub(crate) kubeconfig_out: PathBuf,
    /// Production mode: HTTPS and bearer tokens (needs --cert-dir).
    #[arg(long, requires = "cert_dir")]
    pub(crate) tls: bool,
    /// Certificate directory for --tls: ca.crt, tls.crt and tls.key are loaded from it, or
    /// generated into it (a self-signed CA and a server certificate for localhost,
    /// 127.0.0.1, ::1 and the --listen address) when absent. `deltaloop kubeconfig` signs
    /// tokens with the same tls.key.
    #[arg(long, value_name = "DIR", requires = "tls")]
    pub(crate) cert_dir: Option<PathBuf>,
}

/// Arguments of `deltaloop apiserver`.
#[derive(Debug, Args)]
pub(crate) struct ApiserverArgs {
    /// Server options.
    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// Logs to stderr; `RUST_LOG` overrides the default (`warn`, `info` for deltaloop).
pub(crate) fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,deltaloop=info,deltaloop_connectors=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// A multi-threaded tokio runtime for a command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Resolves when the process gets Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn read_pem(dir: &Path, file: &str) -> anyhow::Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// Loads the certificate of a certificate directory (`ca.crt` is optional: without it
/// `tls.crt` is trusted as its own CA).
pub(crate) fn load_certificate(dir: &Path) -> anyhow::Result<ServerCertificate> {
    let cert = read_pem(dir, CERT_FILE)?;
    let key = read_pem(dir, KEY_FILE)?;
    let ca = if dir.join(CA_FILE).exists() {
        read_pem(dir, CA_FILE)?
    } else {
        cert.clone()
    };
    Ok(ServerCertificate::from_pem(&cert, &key, &ca))
}

/// Writes `text` to `path` atomically (a temporary file renamed into place), readable only
/// by the owner when `private`.
pub(crate) fn write_file(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// The subject alternative names of a generated certificate.
fn sans_for(listen: SocketAddr) -> Vec<String> {
    let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let ip = listen.ip().to_string();
    if !listen.ip().is_unspecified() && !sans.contains(&ip) {
        sans.push(ip);
    }
    sans
}

/// Loads the certificate directory, or generates a CA and a server certificate into it.
pub(crate) fn load_or_create_certificate(
    dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<ServerCertificate> {
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    match (cert.exists(), key.exists()) {
        (true, true) => {
            tracing::info!("using the certificate and key in {}", dir.display());
            return load_certificate(dir);
        }
        (false, false) => {}
        _ => bail!(
            "{} has only one of {CERT_FILE} and {KEY_FILE}: both are needed (or neither, to generate them)",
            dir.display()
        ),
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let generated = ServerCertificate::self_signed(&sans_for(listen))
        .context("cannot generate a certificate")?;
    write_file(&dir.join(CA_FILE), &generated.ca_pem, false)?;
    write_file(&cert, &generated.cert_pem, false)?;
    write_file(&key, &generated.key_pem, true)?;
    tracing::info!(
        "generated a CA and a server certificate for {} in {}",
        sans_for(listen).join(", "),
        dir.display()
    );
    Ok(generated)
}

/// The URL clients use for a server bound to `addr` (an unspecified address becomes
/// loopback).
pub(crate) fn server_url(addr: SocketAddr, tls: bool) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

/// A started embedded server and the kubeconfig that reaches it.
#[derive(Debug)]
pub(crate) struct Started {
    /// The server (dropping it stops it).
    pub(crate) server: RunningServer,
    /// Its kubeconfig (admin credentials in production mode).
    pub(crate) kubeconfig: Kubeconfig,
}

/// Starts the embedded server over `store` as `args` say.
pub(crate) async fn start_server(args: &ServerArgs, store: Store) -> anyhow::Result<Started> {
    let config = match (&args.tls, &args.cert_dir) {
        (true, Some(dir)) => {
            let cert = load_or_create_certificate(dir, args.listen)?;
            let auth = cert.token_authority().with_context(|| {
                format!(
                    "{}: the key must be an ECDSA P-256 key in PKCS#8 PEM",
                    dir.join(KEY_FILE).display()
                )
            })?;
            ApiServerConfig {
                tls: Some(cert),
                auth: Some(Arc::new(auth)),
                ..ApiServerConfig::default()
            }
        }
        (true, None) => bail!("--tls needs --cert-dir DIR"),
        (false, _) => {
            if !args.listen.ip().is_loopback() {
                bail!(
                    "--listen {}: development mode has no authentication, so it serves only on a \
                     loopback address (127.0.0.1, ::1); use --tls --cert-dir DIR for other addresses",
                    args.listen
                );
            }
            ApiServerConfig::default()
        }
    };
    let server = ApiServer::with_config(store, config)
        .serve(args.listen)
        .await
        .with_context(|| format!("cannot serve on {}", args.listen))?;
    let url = server_url(server.local_addr(), args.tls);
    let kubeconfig = match (server.certificate(), server.token_authority()) {
        (Some(cert), Some(authority)) => kubeconfig::generate(
            &url,
            Some(cert),
            authority,
            "admin",
            Profile::Admin,
            &[],
            ADMIN_TOKEN_TTL,
        )
        .context("cannot issue the admin token")?,
        _ => Kubeconfig::new(&url),
    };
    tracing::info!("embedded API server listening on {url}");
    Ok(Started { server, kubeconfig })
}

/// Writes the server's kubeconfig and prints the `export KUBECONFIG=…` hint on stderr.
pub(crate) fn write_kubeconfig(kubeconfig: &Kubeconfig, path: &Path) -> anyhow::Result<()> {
    write_file(path, &kubeconfig.to_yaml(), kubeconfig.token.is_some())?;
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    eprintln!(
        "deltaloop: API server at {}; kubeconfig written to {}\n  export KUBECONFIG={}",
        kubeconfig.server,
        path.display(),
        shown.display()
    );
    Ok(())
}

/// `deltaloop apiserver`: the embedded server with the native kinds (a fake cluster), until
/// Ctrl-C or SIGTERM.
pub(crate) fn run(args: &ApiserverArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let started = start_server(&args.server, Store::with_native_kinds()).await?;
        write_kubeconfig(&started.kubeconfig, &args.server.kubeconfig_out)?;
        shutdown_signal().await;
        tracing::info!("shutting down");
        started.server.shutdown();
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_use_loopback_for_unspecified_addresses() {
        let addr: SocketAddr = "0.0.0.0:6443".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(server_url(addr, true), "https://127.0.0.1:6443");
        let addr: SocketAddr = "[::]:80".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(server_url(addr, false), "http://[::1]:80");
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(sans_for(addr), ["localhost", "127.0.0.1", "::1"]);
    }
}
