//! Integration tests of deltaloop-connectors (one binary; each concept is a module).
mod apiserver_auth;
mod apiserver_kube;
mod apiserver_kubectl;
mod apiserver_store;
mod endpoints_e2e;
mod kube_connectors;
