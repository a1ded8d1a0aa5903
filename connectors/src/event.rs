//! Source-agnostic watch events and object keys.
//!
//! Every source (a Kubernetes watch, a file, a virtual trigger) speaks [`Event`], the shape
//! of `kube::runtime::watcher`'s events: single upserts and deletes, and a *resync* — a
//! fresh full listing framed by [`Event::ResyncStart`] … [`Event::ResyncDone`] after which
//! every object not re-listed is gone. A [`DeltaTracker`](crate::DeltaTracker) turns them
//! into Z-set deltas.

use std::fmt;

use deltaloop_pipeline::Value;

/// One observation of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The object was added or modified (its latest state).
    Upsert(Value),
    /// The object was deleted (its last state, or enough of it to name it).
    Delete(Value),
    /// A full re-list begins: the objects that follow are the complete current state.
    ResyncStart,
    /// One object of the re-list.
    ResyncItem(Value),
    /// The re-list is complete: objects known before but not re-listed are gone.
    ResyncDone,
}

/// The identity of an object within one kind: `metadata.namespace` and `metadata.name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The namespace; `None` for cluster-scoped objects (or documents without one).
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// A key from its parts.
    #[must_use]
    pub fn new(namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// The key of `object`: its string `metadata.name` and optional string
    /// `metadata.namespace` (an empty namespace counts as none). `None` without a name.
    #[must_use]
    pub fn of(object: &Value) -> Option<ObjectKey> {
        let meta = object.get("metadata")?;
        let name = meta.get("name")?.as_str()?;
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty());
        Some(ObjectKey::new(namespace, name))
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_of_reads_name_and_namespace() {
        let v = Value::from_json_str(r#"{"metadata":{"name":"a","namespace":"ns"}}"#).unwrap();
        let k = ObjectKey::of(&v).unwrap();
        assert_eq!(k.to_string(), "ns/a");
        let v = Value::from_json_str(r#"{"metadata":{"name":"a","namespace":""}}"#).unwrap();
        assert_eq!(ObjectKey::of(&v).unwrap().to_string(), "a");
        let v = Value::from_json_str(r#"{"metadata":{"name":3}}"#).unwrap();
        assert!(ObjectKey::of(&v).is_none());
    }
}
