//! The delta log of `deltaloop eval --steps`: JSONL events grouped into steps, and the live
//! objects that turn upserts and deletes into Z-set deltas.
//!
//! One event per line: `{"step": N, "kind": K, "op": "upsert"|"delete", "object": {…}}`.
//! Consecutive lines with the same `step` form one step. Objects are identified by
//! kind + `metadata.namespace` + `metadata.name`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{anyhow, bail};
use deltaloop_connectors::Event as ConnectorEvent;
use deltaloop_connectors::source::file::parse_delta_log;
use deltaloop_engine::ZSet;
use deltaloop_pipeline::Value;

use crate::files::read;

/// What an event does to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Insert the object, retracting the live version if there is one.
    Upsert,
    /// Retract the live version.
    Delete,
}

/// One line of the log.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// The line number, for messages.
    pub(crate) line: usize,
    /// The input it belongs to.
    pub(crate) kind: String,
    /// Upsert or delete.
    pub(crate) op: Op,
    /// The object (for a delete, enough of it to identify it).
    pub(crate) object: Value,
}

/// The events of one step.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    /// The step number of the log.
    pub(crate) number: i64,
    /// The events, in log order.
    pub(crate) events: Vec<Event>,
}

/// Reads a delta log and groups it into steps (parsed by the connectors' delta-log reader,
/// the same one `FileSource` replays).
pub(crate) fn load(path: &Path) -> anyhow::Result<Vec<Step>> {
    let text = read(path, "steps file")?;
    let log = parse_delta_log(&text, &path.display().to_string())?;
    Ok(log
        .into_iter()
        .map(|step| Step {
            number: step.number,
            events: step
                .events
                .into_iter()
                .filter_map(|e| {
                    // The log reader yields only upserts and deletes.
                    let (op, object) = match e.event {
                        ConnectorEvent::Upsert(object) => (Op::Upsert, object),
                        ConnectorEvent::Delete(object) => (Op::Delete, object),
                        _ => return None,
                    };
                    Some(Event {
                        line: e.line,
                        kind: e.kind,
                        op,
                        object,
                    })
                })
                .collect(),
        })
        .collect())
}

/// The identity of an object: kind, namespace, name.
type Key = (String, Option<String>, String);

/// The key of `object`, or `None` when it has no `metadata.name`.
fn key_of(kind: &str, object: &Value) -> Option<Key> {
    let meta = object.get("metadata")?;
    let name = meta.get("name")?.as_str()?;
    let namespace = meta
        .get("namespace")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((kind.to_owned(), namespace, name.to_owned()))
}

fn describe(key: &Key) -> String {
    match &key.1 {
        Some(ns) => format!("{} {ns}/{}", key.0, key.2),
        None => format!("{} {}", key.0, key.2),
    }
}

/// The live objects, turning events into deltas.
#[derive(Debug, Default)]
pub(crate) struct Live {
    objects: HashMap<Key, Value>,
}

impl Live {
    /// Tracks an object inserted outside the log (the `--input` files); objects without a
    /// name are not tracked.
    pub(crate) fn insert(&mut self, kind: &str, object: &Value) {
        if let Some(key) = key_of(kind, object) {
            self.objects.insert(key, object.clone());
        }
    }

    /// The per-kind deltas of one step's events; `log` names the file for messages.
    pub(crate) fn apply(
        &mut self,
        log: &Path,
        events: &[Event],
    ) -> anyhow::Result<BTreeMap<String, ZSet<Value>>> {
        let mut deltas: BTreeMap<String, ZSet<Value>> = BTreeMap::new();
        for e in events {
            let key = key_of(&e.kind, &e.object).ok_or_else(|| {
                anyhow!(
                    "{}:{}: the object has no metadata.name",
                    log.display(),
                    e.line
                )
            })?;
            let delta = deltas.entry(e.kind.clone()).or_default();
            match e.op {
                Op::Upsert => {
                    if let Some(old) = self.objects.insert(key, e.object.clone()) {
                        delta.insert(old, -1);
                    }
                    delta.insert(e.object.clone(), 1);
                }
                Op::Delete => match self.objects.remove(&key) {
                    Some(old) => delta.insert(old, -1),
                    None => bail!(
                        "{}:{}: delete of {}, which is not live",
                        log.display(),
                        e.line,
                        describe(&key)
                    ),
                },
            }
        }
        Ok(deltas)
    }
}
