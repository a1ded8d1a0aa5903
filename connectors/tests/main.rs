//! Integration tests of deltaloop-connectors (one binary; each concept is a module).
mod apiserver_kube;
mod kube_connectors;
mod apiserver_kubectl;
mod apiserver_auth;
mod endpoints_e2e;
