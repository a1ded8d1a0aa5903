//! Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) for `kubectl get`: server
//! rendered cells with Age, kind-specific columns for native kinds, and Conditions and Labels for
//! views. kubectl itself adds the NAMESPACE column for `-A` from the row's object metadata.

use serde_json::{Value, json};

use super::kinds::ResourceKind;
use super::time::{human_duration, now_unix, parse_rfc3339};

/// The `Content-Type` of a Table response.
pub const TABLE_CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

/// What each row carries in `object` (the `includeObject` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// A `PartialObjectMetadata` (the default; kubectl reads the namespace from it).
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the query parameter (default Metadata).
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

fn col(name: &str, ty: &str, format: &str, description: &str, priority: i32) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description,
           "priority": priority})
}

fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn map_summary(obj: &Value, ptr: &str) -> String {
    let s = obj
        .pointer(ptr)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    or_none(s)
}

fn conditions(obj: &Value) -> String {
    let s = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| format!("{}:{}", str_at(c, "/type"), str_at(c, "/status")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    or_none(s)
}

/// The column definitions of a kind: Name, kind-specific columns, Age (and wide columns).
pub fn columns(kind: &ResourceKind) -> Vec<Value> {
    let name = col(
        "Name",
        "string",
        "name",
        "Name must be unique within a namespace.",
        0,
    );
    let age = col(
        "Age",
        "date",
        "",
        "CreationTimestamp is a timestamp representing the server time when this object was \
         created.",
        0,
    );
    let mut cols = vec![name];
    if kind.view {
        cols.push(col(
            "Conditions",
            "string",
            "",
            "Type:Status of each status condition.",
            0,
        ));
    } else {
        match (kind.group.as_str(), kind.kind.as_str()) {
            ("", "Pod") | ("", "Namespace") => {
                cols.push(col("Status", "string", "", "The phase.", 0));
            }
            ("", "Service") => {
                cols.push(col("Type", "string", "", "The service type.", 0));
                cols.push(col("Cluster-IP", "string", "", "The cluster IP.", 0));
            }
            ("apps", "Deployment") => {
                cols.push(col("Ready", "string", "", "Ready/desired replicas.", 0));
            }
            ("", "ConfigMap") | ("", "Secret") => {
                cols.push(col("Data", "integer", "", "Number of data entries.", 0));
            }
            _ => {}
        }
    }
    cols.push(age);
    cols.push(col("Labels", "string", "", "The labels.", 1));
    if kind.view {
        cols.push(col("Annotations", "string", "", "The annotations.", 1));
    }
    cols
}

fn cells(kind: &ResourceKind, obj: &Value, now: i64) -> Vec<Value> {
    let age = parse_rfc3339(str_at(obj, "/metadata/creationTimestamp"))
        .map(|t| human_duration(now - t))
        .unwrap_or_else(|| "<unknown>".into());
    let mut cells = vec![json!(str_at(obj, "/metadata/name"))];
    if kind.view {
        cells.push(json!(conditions(obj)));
    } else {
        match (kind.group.as_str(), kind.kind.as_str()) {
            ("", "Pod") | ("", "Namespace") => {
                cells.push(json!(or_none(str_at(obj, "/status/phase").to_string())));
            }
            ("", "Service") => {
                let ty = str_at(obj, "/spec/type");
                cells.push(json!(if ty.is_empty() { "ClusterIP" } else { ty }));
                cells.push(json!(or_none(str_at(obj, "/spec/clusterIP").to_string())));
            }
            ("apps", "Deployment") => {
                let ready = obj
                    .pointer("/status/readyReplicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let want = obj
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                cells.push(json!(format!("{ready}/{want}")));
            }
            ("", "ConfigMap") | ("", "Secret") => {
                let n = |p: &str| {
                    obj.pointer(p)
                        .and_then(Value::as_object)
                        .map_or(0, |m| m.len())
                };
                cells.push(json!(n("/data") + n("/binaryData") + n("/stringData")));
            }
            _ => {}
        }
    }
    cells.push(json!(age));
    cells.push(json!(map_summary(obj, "/metadata/labels")));
    if kind.view {
        cells.push(json!(map_summary(obj, "/metadata/annotations")));
    }
    cells
}

/// The metadata-only form of an object (`PartialObjectMetadata`).
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// One row.
pub fn row(kind: &ResourceKind, obj: &Value, include: IncludeObject, now: i64) -> Value {
    let mut r = json!({"cells": cells(kind, obj, now)});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => r["object"] = partial_metadata(obj),
        IncludeObject::Object => r["object"] = obj.clone(),
    }
    r
}

/// A Table of objects; `headers: false` omits the column definitions (watch events after the
/// first).
pub fn table<'a>(
    kind: &ResourceKind,
    objects: impl IntoIterator<Item = &'a Value>,
    resource_version: Option<u64>,
    include: IncludeObject,
    headers: bool,
) -> Value {
    let now = now_unix();
    let rows: Vec<Value> = objects
        .into_iter()
        .map(|o| row(kind, o, include, now))
        .collect();
    let mut meta = json!({});
    if let Some(rv) = resource_version {
        meta["resourceVersion"] = json!(rv.to_string());
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": if headers { Value::Array(columns(kind)) } else { Value::Null },
        "rows": rows,
    })
}
