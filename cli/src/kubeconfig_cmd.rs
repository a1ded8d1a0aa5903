//! `deltaloop kubeconfig`: a kubeconfig with a signed bearer token for a user and a profile
//! (viewer, editor, admin), optionally limited to namespaces, for a production-mode
//! (`--tls`) embedded server whose keys are in a certificate directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use deltaloop_connectors::apiserver::{Profile, kubeconfig};

use crate::apiserver_cmd::{KEY_FILE, load_certificate, write_file};

/// An access profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProfileArg {
    /// get, list, watch.
    Viewer,
    /// viewer plus create, update, patch, delete, deletecollection.
    Editor,
    /// everything.
    Admin,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Viewer => Profile::Viewer,
            ProfileArg::Editor => Profile::Editor,
            ProfileArg::Admin => Profile::Admin,
        }
    }
}

/// Arguments of `deltaloop kubeconfig`.
#[derive(Debug, Args)]
pub(crate) struct KubeconfigArgs {
    /// The user name (the token's `username`, as in Forbidden messages).
    #[arg(long, value_name = "NAME")]
    pub(crate) user: String,
    /// What the user may do.
    #[arg(long, value_enum)]
    pub(crate) profile: ProfileArg,
    /// Limit the user to this namespace (repeatable; none: all namespaces). The first is the
    /// context's default namespace.
    #[arg(short, long = "namespace", value_name = "NS")]
    pub(crate) namespaces: Vec<String>,
    /// The server's URL, e.g. https://127.0.0.1:6443.
    #[arg(long, value_name = "URL")]
    pub(crate) server: String,
    /// The server's certificate directory (`deltaloop apiserver|run --tls --cert-dir DIR`):
    /// tls.key signs the token, ca.crt is embedded as the trusted CA.
    #[arg(long, value_name = "DIR")]
    pub(crate) cert_dir: PathBuf,
    /// How long the token is valid: <n>s, <n>m, <n>h or <n>d.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_expiry)]
    pub(crate) expiry: Duration,
    /// Write the kubeconfig here (mode 0600) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// Parses `<n>s`, `<n>m`, `<n>h` or `<n>d` (n ≥ 1).
pub(crate) fn parse_expiry(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("expected <n>s|m|h|d, got {s:?}"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("expected <n>s|m|h|d, got {s:?}")),
    };
    if n == 0 {
        return Err("the expiry must be positive".into());
    }
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// `deltaloop kubeconfig`.
pub(crate) fn run(args: &KubeconfigArgs) -> anyhow::Result<ExitCode> {
    if !args.server.starts_with("https://") {
        bail!(
            "--server {}: tokens are only checked by a production-mode server; give its https:// URL",
            args.server
        );
    }
    if args.namespaces.iter().any(String::is_empty) {
        bail!("--namespace: a namespace name cannot be empty");
    }
    let cert = load_certificate(&args.cert_dir)
        .context("start `deltaloop apiserver --tls --cert-dir DIR` (or `run --tls`) first")?;
    let authority = cert.token_authority().with_context(|| {
        format!(
            "{}: the key must be an ECDSA P-256 key in PKCS#8 PEM",
            args.cert_dir.join(KEY_FILE).display()
        )
    })?;
    let kc = kubeconfig::generate(
        &args.server,
        Some(&cert),
        &authority,
        &args.user,
        args.profile.into(),
        &args.namespaces,
        args.expiry,
    )
    .context("cannot issue the token")?;
    match &args.output {
        Some(path) => write_file(path, &kc.to_yaml(), true)?,
        None => print!("{}", kc.to_yaml()),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries() {
        assert_eq!(parse_expiry("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_expiry("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_expiry("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_expiry("0h").is_err());
        assert!(parse_expiry("1w").is_err());
        assert!(parse_expiry("h").is_err());
    }
}
