//! Events to Z-set deltas: the per-source memory of what the pipeline has been told.
//!
//! A [`DeltaTracker`] remembers, per [`ObjectKey`], the last object it *emitted* (so that a
//! retraction is always exactly what was inserted) and the last object it *saw* (for the
//! predicates). It turns [`Event`]s into deltas (spec §e.1):
//!
//! - an addition emits `+new`; a modification `−old +new`; a deletion `−old`;
//! - `metadata.managedFields` and `metadata.generation` are stripped from emitted documents
//!   (and `metadata.uid` for view kinds, [`TrackerOptions::strip_uid`]);
//! - a modification whose stripped document equals the emitted one is suppressed, as is one a
//!   [`Predicate`] rejects (the pipeline keeps the old document);
//! - a delete of an unknown object is ignored (after a re-list it can legitimately race);
//! - a resync (`ResyncStart`, items, `ResyncDone`) emits, in one delta at `ResyncDone`,
//!   exactly the difference between what was emitted before and the fresh listing: changed
//!   objects are replaced, unchanged ones produce nothing, and objects that were not
//!   re-listed are retracted. No lost, duplicated or phantom deltas.

use std::collections::{HashMap, HashSet};

use deltaloop_engine::ZSet;
use deltaloop_pipeline::Value;

use crate::event::{Event, ObjectKey};
use crate::predicate::Predicate;

/// How a [`DeltaTracker`] normalizes and filters.
#[derive(Clone, Debug)]
pub struct TrackerOptions {
    /// Strip `metadata.uid` (view kinds).
    pub strip_uid: bool,
    /// Strip `metadata.generation` (the reference does; default `true`).
    pub strip_generation: bool,
    /// Filter modifications (see [`Predicate`]).
    pub predicate: Option<Predicate>,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        TrackerOptions {
            strip_uid: false,
            strip_generation: true,
            predicate: None,
        }
    }
}

/// An event could not be turned into a delta.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// The object has no string `metadata.name`.
    #[error("object without a string metadata.name: {object}")]
    NoName {
        /// The object's JSON (truncated).
        object: String,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    /// The last object seen (unstripped), for predicates.
    seen: Value,
    /// The document last emitted at +1.
    emitted: Value,
}

#[derive(Debug, Default)]
struct Resync {
    seen: HashSet<ObjectKey>,
    delta: ZSet<Value>,
}

/// Turns a source's events into Z-set deltas (see the module documentation).
#[derive(Debug, Default)]
pub struct DeltaTracker {
    options: TrackerOptions,
    objects: HashMap<ObjectKey, Entry>,
    resync: Option<Resync>,
}

/// Removes `metadata.<field>` from `doc` (no-op when absent).
pub(crate) fn strip_meta(doc: &mut Value, fields: &[&str]) {
    if let Value::Map(obj) = doc
        && obj
            .get("metadata")
            .is_some_and(|m| fields.iter().any(|f| m.get(f).is_some()))
    {
        obj.modify("metadata", |m| {
            if let Value::Map(meta) = m {
                for f in fields {
                    meta.remove(f);
                }
            }
        });
    }
}

fn no_name(object: &Value) -> DeltaError {
    let mut text = object.to_json_string();
    if text.len() > 200 {
        let mut cut = 200;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    DeltaError::NoName { object: text }
}

impl DeltaTracker {
    /// An empty tracker.
    #[must_use]
    pub fn new(options: TrackerOptions) -> DeltaTracker {
        DeltaTracker {
            options,
            objects: HashMap::new(),
            resync: None,
        }
    }

    /// The document as it is emitted: managedFields (and generation, uid as configured)
    /// stripped.
    #[must_use]
    pub fn normalize(&self, object: &Value) -> Value {
        let mut doc = object.clone();
        let mut fields = vec!["managedFields"];
        if self.options.strip_generation {
            fields.push("generation");
        }
        if self.options.strip_uid {
            fields.push("uid");
        }
        strip_meta(&mut doc, &fields);
        doc
    }

    /// How many objects the pipeline currently holds from this source.
    #[must_use]
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the source currently contributes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The emitted document of `key`, if the pipeline holds one.
    #[must_use]
    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key).map(|e| &e.emitted)
    }

    /// Everything currently emitted, at weight 1 (the integral of all deltas so far).
    #[must_use]
    pub fn snapshot(&self) -> ZSet<Value> {
        let mut z = ZSet::new();
        for e in self.objects.values() {
            z.insert(e.emitted.clone(), 1);
        }
        z
    }

    /// Whether a resync is in progress (deltas are being held until `ResyncDone`).
    #[must_use]
    pub fn in_resync(&self) -> bool {
        self.resync.is_some()
    }

    /// Applies one event; returns the delta to publish (empty when nothing changed, and
    /// while a resync is in progress).
    ///
    /// # Errors
    /// [`DeltaError::NoName`] for an object without a name (nothing changes).
    pub fn apply(&mut self, event: Event) -> Result<ZSet<Value>, DeltaError> {
        let mut delta = ZSet::new();
        match event {
            Event::Upsert(obj) => self.upsert(obj, &mut delta)?,
            Event::Delete(obj) => {
                let key = ObjectKey::of(&obj).ok_or_else(|| no_name(&obj))?;
                if let Some(old) = self.objects.remove(&key) {
                    delta.insert(old.emitted, -1);
                } else {
                    tracing::debug!(%key, "delete of an object the source does not hold: ignored");
                }
            }
            Event::ResyncStart => {
                // A restarted re-list keeps what the aborted one already applied.
                let held = self.resync.take().map(|r| r.delta).unwrap_or_default();
                self.resync = Some(Resync {
                    seen: HashSet::new(),
                    delta: held,
                });
                return Ok(ZSet::new());
            }
            Event::ResyncItem(obj) => {
                let key = ObjectKey::of(&obj).ok_or_else(|| no_name(&obj))?;
                self.upsert(obj, &mut delta)?;
                if let Some(r) = &mut self.resync {
                    r.seen.insert(key);
                }
            }
            Event::ResyncDone => {
                let Some(mut r) = self.resync.take() else {
                    return Ok(ZSet::new());
                };
                let gone: Vec<ObjectKey> = self
                    .objects
                    .keys()
                    .filter(|k| !r.seen.contains(*k))
                    .cloned()
                    .collect();
                for k in gone {
                    if let Some(old) = self.objects.remove(&k) {
                        r.delta.insert(old.emitted, -1);
                    }
                }
                return Ok(r.delta);
            }
        }
        if let Some(r) = &mut self.resync {
            r.delta.add_assign(&delta);
            return Ok(ZSet::new());
        }
        Ok(delta)
    }

    fn upsert(&mut self, obj: Value, delta: &mut ZSet<Value>) -> Result<(), DeltaError> {
        let key = ObjectKey::of(&obj).ok_or_else(|| no_name(&obj))?;
        let doc = self.normalize(&obj);
        match self.objects.get_mut(&key) {
            None => {
                delta.insert(doc.clone(), 1);
                self.objects.insert(
                    key,
                    Entry {
                        seen: obj,
                        emitted: doc,
                    },
                );
            }
            Some(entry) => {
                let passes = self
                    .options
                    .predicate
                    .as_ref()
                    .is_none_or(|p| p.allows(&entry.seen, &obj));
                entry.seen = obj;
                if passes && entry.emitted != doc {
                    delta.insert(std::mem::replace(&mut entry.emitted, doc.clone()), -1);
                    delta.insert(doc, 1);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltaloop_engine::zset;
    use futures::StreamExt;
    use serde_json::json;

    fn pod(name: &str, rv: &str, phase: &str) -> Value {
        Value::from(&json!({
            "metadata": {"name": name, "namespace": "default", "resourceVersion": rv,
                         "generation": 1, "managedFields": [{"manager": "kubectl"}]},
            "status": {"phase": phase}
        }))
    }

    fn doc(name: &str, rv: &str, phase: &str) -> Value {
        Value::from(&json!({
            "metadata": {"name": name, "namespace": "default", "resourceVersion": rv},
            "status": {"phase": phase}
        }))
    }

    /// Runs a synthetic event stream through a tracker, collecting the non-empty deltas.
    async fn run(t: &mut DeltaTracker, events: Vec<Event>) -> Vec<ZSet<Value>> {
        futures::stream::iter(events)
            .map(|e| t.apply(e).unwrap())
            .filter(|d| futures::future::ready(!d.is_empty()))
            .collect()
            .await
    }

    #[tokio::test]
    async fn add_modify_delete_give_plus_minus_deltas() {
        let mut t = DeltaTracker::default();
        let out = run(
            &mut t,
            vec![
                Event::Upsert(pod("a", "1", "Pending")),
                Event::Upsert(pod("a", "2", "Running")),
                Event::Delete(pod("a", "3", "Running")),
            ],
        )
        .await;
        assert_eq!(
            out,
            vec![
                zset! { doc("a", "1", "Pending") => 1 },
                zset! { doc("a", "1", "Pending") => -1, doc("a", "2", "Running") => 1 },
                zset! { doc("a", "2", "Running") => -1 },
            ]
        );
        assert!(t.is_empty());
    }

    #[tokio::test]
    async fn unchanged_updates_and_unknown_deletes_are_suppressed() {
        let mut t = DeltaTracker::default();
        let mut changed_only_managed = pod("a", "1", "Pending");
        if let Value::Map(o) = &mut changed_only_managed {
            o.modify("metadata", |m| {
                if let Value::Map(m) = m {
                    m.insert("managedFields", Value::from(&json!([{"manager": "other"}])));
                }
            });
        }
        let out = run(
            &mut t,
            vec![
                Event::Upsert(pod("a", "1", "Pending")),
                Event::Upsert(pod("a", "1", "Pending")),
                Event::Upsert(changed_only_managed),
                Event::Delete(pod("zz", "9", "Pending")),
            ],
        )
        .await;
        assert_eq!(out, vec![zset! { doc("a", "1", "Pending") => 1 }]);
    }

    #[tokio::test]
    async fn predicate_filters_modifications_and_retracts_what_was_emitted() {
        let mut t = DeltaTracker::new(TrackerOptions {
            predicate: Some(Predicate::GenerationChanged),
            ..TrackerOptions::default()
        });
        let mut spec_change = pod("a", "3", "Running");
        if let Value::Map(o) = &mut spec_change {
            o.modify("metadata", |m| {
                if let Value::Map(m) = m {
                    m.insert("generation", Value::Int(2));
                }
            });
        }
        let out = run(
            &mut t,
            vec![
                Event::Upsert(pod("a", "1", "Pending")),
                Event::Upsert(pod("a", "2", "Running")), // status only: filtered
                Event::Upsert(spec_change),
            ],
        )
        .await;
        assert_eq!(
            out,
            vec![
                zset! { doc("a", "1", "Pending") => 1 },
                zset! { doc("a", "1", "Pending") => -1, doc("a", "3", "Running") => 1 },
            ]
        );
    }

    #[tokio::test]
    async fn resync_emits_exactly_the_difference() {
        let mut t = DeltaTracker::default();
        run(
            &mut t,
            vec![
                Event::Upsert(pod("keep", "1", "Running")),
                Event::Upsert(pod("change", "2", "Pending")),
                Event::Upsert(pod("gone", "3", "Running")),
            ],
        )
        .await;
        // The watch broke; meanwhile "change" changed, "gone" was deleted, "new" appeared.
        let out = run(
            &mut t,
            vec![
                Event::ResyncStart,
                Event::ResyncItem(pod("keep", "1", "Running")),
                Event::ResyncItem(pod("change", "7", "Running")),
                Event::ResyncItem(pod("new", "8", "Pending")),
                Event::ResyncDone,
            ],
        )
        .await;
        assert_eq!(
            out,
            vec![zset! {
                doc("change", "2", "Pending") => -1,
                doc("change", "7", "Running") => 1,
                doc("gone", "3", "Running") => -1,
                doc("new", "8", "Pending") => 1,
            }]
        );
        assert_eq!(t.len(), 3);
        // An identical re-list emits nothing at all.
        let again = run(
            &mut t,
            vec![
                Event::ResyncStart,
                Event::ResyncItem(pod("keep", "1", "Running")),
                Event::ResyncItem(pod("change", "7", "Running")),
                Event::ResyncItem(pod("new", "8", "Pending")),
                Event::ResyncDone,
            ],
        )
        .await;
        assert!(again.is_empty());
    }

    #[tokio::test]
    async fn restarted_resync_keeps_partial_changes_and_integral_matches_state() {
        let mut t = DeltaTracker::default();
        let mut integral: ZSet<Value> = ZSet::new();
        let events = vec![
            Event::Upsert(pod("a", "1", "Pending")),
            Event::Upsert(pod("b", "2", "Pending")),
            Event::ResyncStart,
            Event::ResyncItem(pod("a", "5", "Running")),
            // the list failed midway and restarted
            Event::ResyncStart,
            Event::ResyncItem(pod("a", "5", "Running")),
            Event::ResyncItem(pod("c", "6", "Running")),
            Event::ResyncDone,
        ];
        for d in run(&mut t, events).await {
            integral.add_assign(&d);
        }
        assert_eq!(
            integral,
            zset! { doc("a", "5", "Running") => 1, doc("c", "6", "Running") => 1 }
        );
        assert_eq!(integral, t.snapshot());
    }

    #[test]
    fn nameless_objects_are_errors_and_uid_is_stripped_for_views() {
        let mut t = DeltaTracker::default();
        assert!(matches!(
            t.apply(Event::Upsert(Value::from(&json!({"a": 1})))),
            Err(DeltaError::NoName { .. })
        ));
        let mut v = DeltaTracker::new(TrackerOptions {
            strip_uid: true,
            ..TrackerOptions::default()
        });
        let d = v
            .apply(Event::Upsert(Value::from(
                &json!({"metadata": {"name": "x", "uid": "u"}}),
            )))
            .unwrap();
        assert_eq!(
            d,
            zset! { Value::from(&json!({"metadata": {"name": "x"}})) => 1 }
        );
    }
}
