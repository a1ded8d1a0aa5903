//! Kubeconfig generation: a cluster (server URL, CA or none), a user (a bearer token or none) and
//! a context with a default namespace; rendered as YAML for kubectl, or turned into a
//! `kube::Client`. [`generate`] issues a token for a user and profile (viewer, editor, admin)
//! limited to namespaces, and embeds it.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Error;
use super::auth::{Profile, TokenAuthority};
use super::tls::ServerCertificate;

/// A single-cluster, single-user kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kubeconfig {
    /// The server URL, e.g. `https://127.0.0.1:6443`.
    pub server: String,
    /// The CA certificate (PEM) to trust, for HTTPS.
    pub ca_pem: Option<String>,
    /// Skip server certificate verification (tests only).
    pub insecure_skip_tls_verify: bool,
    /// The bearer token, if any.
    pub token: Option<String>,
    /// The user (and cluster/context) name.
    pub user: String,
    /// The context's default namespace.
    pub namespace: String,
}

fn q(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::Value::String(s.to_string()).to_string()
}

impl Kubeconfig {
    /// A kubeconfig for a server URL with no credentials (development mode), namespace
    /// `default`.
    pub fn new(server: &str) -> Self {
        Kubeconfig {
            server: server.to_string(),
            ca_pem: None,
            insecure_skip_tls_verify: false,
            token: None,
            user: "deltaloop".to_string(),
            namespace: "default".to_string(),
        }
    }

    /// The kubeconfig as YAML.
    pub fn to_yaml(&self) -> String {
        let mut cluster = format!("    server: {}\n", q(&self.server));
        if let Some(ca) = &self.ca_pem {
            cluster.push_str(&format!(
                "    certificate-authority-data: {}\n",
                STANDARD.encode(ca.as_bytes())
            ));
        }
        if self.insecure_skip_tls_verify {
            cluster.push_str("    insecure-skip-tls-verify: true\n");
        }
        let user = match &self.token {
            Some(t) => format!("    token: {}\n", q(t)),
            None => "    {}\n".to_string(),
        };
        let user = if self.token.is_some() {
            format!("  user:\n{user}")
        } else {
            "  user: {}\n".to_string()
        };
        let ctx = q(&format!("{}@deltaloop", self.user));
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: deltaloop\n  cluster:\n{cluster}\
             users:\n- name: {u}\n{user}contexts:\n- name: {ctx}\n  context:\n    \
             cluster: deltaloop\n    user: {u}\n    namespace: {ns}\ncurrent-context: {ctx}\n",
            u = q(&self.user),
            ns = q(&self.namespace),
        )
    }

    /// Writes the YAML to a file.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        std::fs::write(path, self.to_yaml())?;
        Ok(())
    }

    /// A `kube::Client` configured from this kubeconfig.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        let kc = kube::config::Kubeconfig::from_yaml(&self.to_yaml())
            .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| Error::Kubeconfig(e.to_string()))
    }
}

/// Generates a kubeconfig for `user` with a profile, limited to `namespaces` (empty: all),
/// whose token (signed by `authority`) expires after `ttl`; it trusts the certificate's CA and
/// its context namespace is the first listed namespace (or `default`).
pub fn generate(
    server: &str,
    certificate: Option<&ServerCertificate>,
    authority: &TokenAuthority,
    user: &str,
    profile: Profile,
    namespaces: &[String],
    ttl: Duration,
) -> Result<Kubeconfig, Error> {
    let token = authority.issue_for(user, profile, namespaces, ttl)?;
    Ok(Kubeconfig {
        server: server.to_string(),
        ca_pem: certificate.map(|c| c.ca_pem.clone()),
        insecure_skip_tls_verify: false,
        token: Some(token),
        user: user.to_string(),
        namespace: namespaces
            .iter()
            .find(|n| n.as_str() != "*")
            .cloned()
            .unwrap_or_else(|| "default".to_string()),
    })
}
