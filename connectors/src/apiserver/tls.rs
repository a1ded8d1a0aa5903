//! TLS for production mode: a self-signed CA and a server certificate with subject alternative
//! names (generated with rcgen, ECDSA P-256), or PEM files, and the rustls server configuration
//! (ALPN h2 and http/1.1: kubectl negotiates HTTP/2, kube-rs uses HTTP/1.1).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls;

use super::Error;
use super::auth::TokenAuthority;

/// A server certificate, its key and the CA that signed it.
#[derive(Clone)]
pub struct ServerCertificate {
    /// The CA certificate (PEM), for kubeconfigs' `certificate-authority-data`.
    pub ca_pem: String,
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// The server key (PKCS#8 PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for ServerCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCertificate")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

fn cert_err(e: impl std::fmt::Display) -> Error {
    Error::Certificate(e.to_string())
}

impl ServerCertificate {
    /// Generates a CA and a server certificate for the given SANs (DNS names or IP addresses,
    /// e.g. `["localhost", "127.0.0.1"]`).
    pub fn self_signed(sans: &[String]) -> Result<Self, Error> {
        let ca_key = KeyPair::generate().map_err(cert_err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "deltaloop-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_err)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().map_err(cert_err)?;
        let mut params = CertificateParams::new(sans.to_vec()).map_err(cert_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "deltaloop-apiserver");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
        Ok(ServerCertificate {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A certificate from PEM text (the chain in `cert_pem`, a PKCS#8 key in `key_pem`).
    pub fn from_pem(cert_pem: &str, key_pem: &str, ca_pem: &str) -> Self {
        ServerCertificate {
            ca_pem: ca_pem.to_string(),
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
        }
    }

    /// The rustls server configuration (ring provider, ALPN h2 and http/1.1).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| Error::Tls(format!("reading the certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| Error::Tls(format!("reading the key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| Error::Tls(e.to_string()))?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }

    /// A token authority signing with the server key (which must be ECDSA P-256).
    pub fn token_authority(&self) -> Result<TokenAuthority, Error> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| Error::Token(format!("reading the key: {e}")))?;
        TokenAuthority::from_pkcs8_der(der.secret_pkcs8_der())
    }
}
