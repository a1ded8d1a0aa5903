//! Discovery: `/version` (v1.32.x, so the gcloud kubectl dispatcher picks kubectl 1.32), legacy
//! `/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>` documents, and the minimal OpenAPI v3
//! index and per-group-version documents kubectl needs for `apply`/`create`/`replace -f`
//! (a PATCH operation per kind with the `fieldValidation` parameter; strategic merge is not
//! listed, so kubectl uses merge patches for views and its compiled-in types for native kinds).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use super::kinds::ResourceKind;
use super::store::Store;

/// The Kubernetes version the server reports.
pub const GIT_VERSION: &str = "v1.32.0";

/// The `/version` document.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "deltaloop",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// The `/api` document (`APIVersions`; always lists `v1`, which kube-rs discovery needs).
pub fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    })
}

fn resource_entries(kind: &ResourceKind) -> Vec<Value> {
    let mut main = json!({
        "name": kind.plural,
        "singularName": kind.singular,
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": kind.verbs(),
    });
    if !kind.short_names.is_empty() {
        main["shortNames"] = json!(kind.short_names);
    }
    if kind.view {
        main["categories"] = json!(["views"]);
    }
    let mut out = vec![main];
    if kind.status_subresource {
        out.push(json!({
            "name": format!("{}/status", kind.plural),
            "singularName": "",
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": ["get", "patch", "update"],
        }));
    }
    out
}

/// The `APIResourceList` of a group version (`""` is the core group). `/api/v1` always exists.
pub fn resource_list(store: &Store, group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<ResourceKind> = store
        .kinds()
        .into_iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() && !(group.is_empty() && version == "v1") {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = kinds.iter().flat_map(resource_entries).collect();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

// group -> versions (in registration order of version names, sorted).
fn groups(store: &Store) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in store.kinds() {
        if k.group.is_empty() {
            continue;
        }
        let vs = out.entry(k.group.clone()).or_default();
        if !vs.contains(&k.version) {
            vs.push(k.version.clone());
        }
    }
    out
}

fn group_doc(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    let preferred = vs.first().cloned().unwrap_or(Value::Null);
    json!({"name": name, "versions": vs, "preferredVersion": preferred})
}

/// The `/apis` document (`APIGroupList`).
pub fn group_list(store: &Store) -> Value {
    let groups: Vec<Value> = groups(store)
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// The `/apis/<g>` document (`APIGroup`).
pub fn group(store: &Store, name: &str) -> Option<Value> {
    let groups = groups(store);
    let vs = groups.get(name)?;
    let mut doc = group_doc(name, vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn gv_hash(store: &Store, group: &str, version: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for k in store.kinds() {
        if k.group == group && k.version == version {
            k.kind.hash(&mut h);
            k.plural.hash(&mut h);
            k.namespaced.hash(&mut h);
            k.status_subresource.hash(&mut h);
        }
    }
    format!("{:016X}", h.finish())
}

/// The `/openapi/v3` index: one entry per served group version, with a hash that changes when
/// its kinds change.
pub fn openapi_index(store: &Store) -> Value {
    let mut gvs: Vec<(String, String)> = store
        .kinds()
        .into_iter()
        .map(|k| (k.group, k.version))
        .collect();
    gvs.sort();
    gvs.dedup();
    let mut paths = serde_json::Map::new();
    for (g, v) in gvs {
        let p = gv_path(&g, &v);
        let url = format!("/openapi/v3/{p}?hash={}", gv_hash(store, &g, &v));
        paths.insert(p, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

fn schema_name(kind: &ResourceKind) -> String {
    let g = if kind.group.is_empty() {
        "core"
    } else {
        kind.group.as_str()
    };
    format!("{g}.{}.{}", kind.version, kind.kind)
}

fn operation(kind: &ResourceKind, action: &str, method: &str, with_body: bool) -> Value {
    let gvk = json!({"group": kind.group, "version": kind.version, "kind": kind.kind});
    let schema_ref = json!({"$ref": format!("#/components/schemas/{}", schema_name(kind))});
    let mut params = vec![
        json!({"name": "pretty", "in": "query", "schema": {"type": "string"}}),
        json!({"name": "dryRun", "in": "query", "schema": {"type": "string"}}),
    ];
    if with_body {
        params.push(json!({"name": "fieldManager", "in": "query", "schema": {"type": "string"}}));
        params
            .push(json!({"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}));
    }
    if action == "patch" {
        params.push(json!({"name": "force", "in": "query", "schema": {"type": "boolean"}}));
    }
    let mut op = json!({
        "operationId": format!("{method}{}", kind.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {
            "application/json": {"schema": schema_ref.clone()}}}},
    });
    if with_body {
        let content = if action == "patch" {
            json!({
                "application/json-patch+json": {"schema": {"type": "object"}},
                "application/merge-patch+json": {"schema": {"type": "object"}},
                "application/apply-patch+yaml": {"schema": {"type": "object"}},
            })
        } else {
            json!({"application/json": {"schema": schema_ref}})
        };
        op["requestBody"] = json!({"required": true, "content": content});
    }
    op
}

/// The OpenAPI v3 document of a group version, or `None` when nothing is served there.
pub fn openapi_doc(store: &Store, group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<ResourceKind> = store
        .kinds()
        .into_iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let prefix = format!("/{}", gv_path(group, version));
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for k in &kinds {
        let base = if k.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", k.plural)
        } else {
            format!("{prefix}/{}", k.plural)
        };
        paths.insert(
            base.clone(),
            json!({
                "get": operation(k, "list", "list", false),
                "post": operation(k, "post", "create", true),
                "delete": operation(k, "deletecollection", "deletecollection", false),
            }),
        );
        paths.insert(
            format!("{base}/{{name}}"),
            json!({
                "get": operation(k, "get", "read", false),
                "put": operation(k, "put", "replace", true),
                "patch": operation(k, "patch", "patch", true),
                "delete": operation(k, "delete", "delete", false),
            }),
        );
        let gvk = json!([{"group": k.group, "version": k.version, "kind": k.kind}]);
        schemas.insert(
            schema_name(k),
            json!({
                "type": "object",
                "description": format!("{} ({}), served by deltaloop.", k.kind, k.api_version()),
                "properties": {
                    "apiVersion": {"type": "string", "description": "APIVersion of the object."},
                    "kind": {"type": "string", "description": "Kind of the object."},
                    "metadata": {"type": "object", "description": "Standard object metadata.",
                                 "x-kubernetes-preserve-unknown-fields": true},
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                },
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": gvk,
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "deltaloop", "version": version},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
