//! The delta log of `deltaloop eval --steps`: JSONL events grouped into steps, and the live
//! objects that turn upserts and deletes into Z-set deltas.
//!
//! One event per line: `{"step": N, "kind": K, "op": "upsert"|"delete", "object": {…}}`.
//! Consecutive lines with the same `step` form one step. Objects are identified by
//! kind + `metadata.namespace` + `metadata.name`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{anyhow, bail};
use deltaloop_engine::ZSet;
use deltaloop_pipeline::Value;

use crate::files::{json_error, read};

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

/// Reads a delta log and groups it into steps.
pub(crate) fn load(path: &Path) -> anyhow::Result<Vec<Step>> {
    let text = read(path, "steps file")?;
    let mut steps: Vec<Step> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(line).map_err(|e| json_error(path, n, &e))?;
        let at = || format!("{}:{n}", path.display());
        let field = |k: &str| {
            json.get(k)
                .ok_or_else(|| anyhow!("{}: event has no {k:?}", at()))
        };
        let number = field("step")?
            .as_i64()
            .ok_or_else(|| anyhow!("{}: \"step\" must be an integer", at()))?;
        let kind = field("kind")?
            .as_str()
            .ok_or_else(|| anyhow!("{}: \"kind\" must be a string", at()))?
            .to_owned();
        let op = match field("op")?.as_str() {
            Some("upsert") => Op::Upsert,
            Some("delete") => Op::Delete,
            _ => bail!("{}: \"op\" must be \"upsert\" or \"delete\"", at()),
        };
        let object = Value::from(field("object")?);
        if object.as_map().is_none() {
            bail!("{}: \"object\" must be an object", at());
        }
        let event = Event {
            line: n,
            kind,
            op,
            object,
        };
        match steps.last_mut() {
            Some(last) if last.number == number => last.events.push(event),
            _ => steps.push(Step {
                number,
                events: vec![event],
            }),
        }
    }
    Ok(steps)
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
