//! Targets (consumers): output deltas become Kubernetes writes.
//!
//! [`classify`] implements the classification of spec §e.2: entries are grouped by object key
//! (`namespace/name`; entries without a string name are skipped); per key, positive and
//! negative candidates → **Updated** with the positive one, only positive → **Added** (or
//! Updated if the key was seen before), only negative → **Deleted**. Several positive
//! candidates: the one with the largest canonical JSON wins (deterministic), and a message
//! is logged.
//!
//! A [`Target`] writes the actions in one of the [`TargetMode`]s:
//!
//! - [`Updater`](TargetMode::Updater): get, then create, or replace the whole content with
//!   the current `resourceVersion`; a write whose content already matches is skipped. If the
//!   document has a `status` and the kind has a status subresource (discovery says so, or,
//!   without discovery, it is not a view), the status is written through `/status`.
//!   Delete: delete, NotFound ignored.
//! - [`Patcher`](TargetMode::Patcher): a JSON merge patch (RFC 7386) of the content
//!   (status separately, as above); NotFound falls back to an Updater upsert (create). Delete:
//!   a merge patch that nulls exactly the leaves of the emitted document (a list is a leaf:
//!   merge patches replace lists whole), keeping apiVersion, kind, name and namespace.
//! - [`Setter`](TargetMode::Setter): state of the world ([`Target::set`]): list the kind,
//!   upsert every desired object whose content differs, delete every object not desired.
//! - [`Apply`](TargetMode::Apply): server-side apply with field manager `deltaloop`,
//!   forced; delete deletes.
//!
//! Written content never carries server-owned metadata (`resourceVersion`, `uid`,
//! `creationTimestamp`, `generation`, `managedFields`, `selfLink`). A 409 Conflict is retried
//! at once with a fresh read (up to [`RetryPolicy::conflicts`] times); other failures are
//! retried with exponential backoff up to [`RetryPolicy::attempts`] and then reported to the
//! [`Reporter`] — never silently dropped.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use deltaloop_engine::ZSet;
use deltaloop_pipeline::{Value, canonical_json};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};

use crate::backoff::Backoff;
use crate::delta::strip_meta;
use crate::event::ObjectKey;
use crate::report::Reporter;
use crate::source::Resolved;

/// The field manager of server-side apply and of every write.
pub const FIELD_MANAGER: &str = "deltaloop";

/// Server-populated metadata never written and ignored when comparing.
const SERVER_FIELDS: &[&str] = &[
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
];

/// How a [`Target`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TargetMode {
    /// Full replace (the default).
    #[default]
    Updater,
    /// JSON merge patch.
    Patcher,
    /// State of the world.
    Setter,
    /// Server-side apply.
    Apply,
}

/// What classification decided for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write `object` (`added`: the key was not seen before).
    Upsert {
        /// The key.
        key: ObjectKey,
        /// The desired object.
        object: Value,
        /// Only positive candidates and the key was not seen before.
        added: bool,
    },
    /// Remove `object` (the last emitted document).
    Delete {
        /// The key.
        key: ObjectKey,
        /// The retracted document.
        object: Value,
    },
}

impl Action {
    /// The key acted on.
    #[must_use]
    pub fn key(&self) -> &ObjectKey {
        match self {
            Action::Upsert { key, .. } | Action::Delete { key, .. } => key,
        }
    }
}

/// Classifies one output delta (see the module documentation); `seen` is the consumer's
/// memory of keys it has upserted (updated in place).
pub fn classify(delta: &ZSet<Value>, seen: &mut HashSet<ObjectKey>) -> Vec<Action> {
    let mut groups: BTreeMap<ObjectKey, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for (doc, w) in delta.iter() {
        let Some(key) = ObjectKey::of(doc) else {
            tracing::debug!("output entry without metadata.name skipped");
            continue;
        };
        let g = groups.entry(key).or_default();
        if w > 0 {
            g.0.push(doc.clone());
        } else if w < 0 {
            g.1.push(doc.clone());
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, (mut pos, mut neg)) in groups {
        if pos.len() > 1 {
            tracing::info!(%key, candidates = pos.len(), "several desired objects for one key: the largest wins");
        }
        pos.sort_by_cached_key(canonical_json);
        neg.sort_by_cached_key(canonical_json);
        match (pos.pop(), neg.pop()) {
            (Some(object), Some(_)) => {
                seen.insert(key.clone());
                out.push(Action::Upsert {
                    key,
                    object,
                    added: false,
                });
            }
            (Some(object), None) => {
                let added = seen.insert(key.clone());
                out.push(Action::Upsert { key, object, added });
            }
            (None, Some(object)) => {
                seen.remove(&key);
                out.push(Action::Delete { key, object });
            }
            (None, None) => {}
        }
    }
    out
}

/// `observed` cut down to the shape of `desired`: for maps, only the keys `desired` has
/// (recursively); lists of equal length element-wise; anything else is `observed` itself.
/// An object that contains everything the pipeline wrote projects to exactly `desired`,
/// whatever the server or other writers added.
#[must_use]
pub fn project(observed: &Value, desired: &Value) -> Value {
    match (observed, desired) {
        (Value::Map(o), Value::Map(d)) => Value::map(d.iter().filter_map(|(k, dv)| {
            match o.get(k) {
                Some(ov) => Some((k.clone(), project(ov, dv))),
                // an empty desired container matches an absent one
                None if is_empty_container(dv) => Some((k.clone(), dv.clone())),
                None => None,
            }
        })),
        (Value::List(o), Value::List(d)) if o.len() == d.len() => {
            Value::list(o.iter().zip(d.iter()).map(|(a, b)| project(a, b)).collect())
        }
        _ => observed.clone(),
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.is_empty(),
        Value::List(l) => l.is_empty(),
        _ => false,
    }
}

/// `doc` without server-owned metadata (what is written and compared).
#[must_use]
pub fn writable(doc: &Value) -> Value {
    let mut d = doc.clone();
    strip_meta(&mut d, SERVER_FIELDS);
    d
}

/// The merge patch that removes exactly the fields of `emitted`: every leaf nulled, except
/// `apiVersion`, `kind`, `metadata.name` and `metadata.namespace`.
#[must_use]
pub fn removal_patch(emitted: &Value) -> Value {
    fn nulls(v: &Value) -> Value {
        match v {
            Value::Map(m) => Value::map(m.iter().map(|(k, v)| (k.clone(), nulls(v)))),
            _ => Value::Null,
        }
    }
    let Value::Map(m) = emitted else {
        return Value::Null;
    };
    Value::map(m.iter().map(|(k, v)| match (&**k, v) {
        ("apiVersion" | "kind", _) => (k.clone(), v.clone()),
        ("metadata", Value::Map(meta)) => (
            k.clone(),
            Value::map(meta.iter().filter_map(|(mk, mv)| match &**mk {
                "name" | "namespace" => Some((mk.clone(), mv.clone())),
                _ if SERVER_FIELDS.contains(&&**mk) => None,
                _ => Some((mk.clone(), nulls(mv))),
            })),
        ),
        ("metadata", _) => (k.clone(), v.clone()),
        _ => (k.clone(), nulls(v)),
    }))
}

/// Retry limits of a [`Target`].
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Immediate re-reads after a 409 Conflict.
    pub conflicts: u32,
    /// Attempts for other failures (including the first).
    pub attempts: u32,
    /// The backoff between attempts.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            conflicts: 8,
            attempts: 5,
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(2)),
        }
    }
}

/// A write failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The API server refused or failed the request.
    #[error("{verb} {kind} {key}: {source}")]
    Api {
        /// The operation.
        verb: &'static str,
        /// The kind.
        kind: String,
        /// The object.
        key: ObjectKey,
        /// The client error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The document is not a Kubernetes object.
    #[error("{kind} {key}: not an object: {message}")]
    Shape {
        /// The kind.
        kind: String,
        /// The object.
        key: ObjectKey,
        /// Why.
        message: String,
    },
    /// A Setter entry had a non-positive weight or no name.
    #[error("setter {kind}: {message}")]
    Setter {
        /// The kind.
        kind: String,
        /// Why.
        message: String,
    },
}

/// Counters of a [`Target`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Objects created.
    pub created: u64,
    /// Objects replaced or patched (status writes not counted).
    pub updated: u64,
    /// Objects deleted (or fields removed by a Patcher).
    pub deleted: u64,
    /// Upserts skipped because the object already had the content.
    pub skipped: u64,
    /// Failures reported after the retries ran out.
    pub failed: u64,
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn is_permanent(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if matches!(s.code, 400 | 403 | 405 | 415 | 422))
}

/// Writes output deltas of one kind (see the module documentation).
pub struct Target {
    client: Client,
    resolved: Resolved,
    mode: TargetMode,
    retry: RetryPolicy,
    seen: HashSet<ObjectKey>,
    reporter: Reporter,
    stats: WriteStats,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("resource", &self.resolved.resource)
            .field("mode", &self.mode)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

type Res<T> = Result<T, TargetError>;

impl Target {
    /// A target writing `resolved` in `mode`, reporting failures to `reporter`.
    #[must_use]
    pub fn new(client: Client, resolved: Resolved, mode: TargetMode, reporter: Reporter) -> Target {
        Target {
            client,
            resolved,
            mode,
            retry: RetryPolicy::default(),
            seen: HashSet::new(),
            reporter,
            stats: WriteStats::default(),
        }
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Target {
        self.retry = retry;
        self
    }

    /// The mode.
    #[must_use]
    pub fn mode(&self) -> TargetMode {
        self.mode
    }

    /// The resolved resource.
    #[must_use]
    pub fn resolved(&self) -> &Resolved {
        &self.resolved
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> &WriteStats {
        &self.stats
    }

    fn kind(&self) -> String {
        self.resolved.resource.kind.clone()
    }

    fn api(&self, key: &ObjectKey) -> Api<DynamicObject> {
        match &key.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &self.resolved.resource),
            None => Api::all_with(self.client.clone(), &self.resolved.resource),
        }
    }

    fn has_status_subresource(&self) -> bool {
        self.resolved
            .status_subresource
            .unwrap_or(!self.resolved.view)
    }

    /// The object to write: server fields stripped, the target's apiVersion and kind set.
    fn prepare(&self, key: &ObjectKey, doc: &Value) -> Res<DynamicObject> {
        let mut d = writable(doc);
        if let Value::Map(m) = &mut d {
            m.insert(
                "apiVersion",
                Value::from(self.resolved.resource.api_version.as_str()),
            );
            m.insert("kind", Value::from(self.resolved.resource.kind.as_str()));
        }
        serde_json::from_value(d.to_serde_json()).map_err(|e| TargetError::Shape {
            kind: self.kind(),
            key: key.clone(),
            message: e.to_string(),
        })
    }

    fn api_err(&self, verb: &'static str, key: &ObjectKey, e: kube::Error) -> TargetError {
        TargetError::Api {
            verb,
            kind: self.kind(),
            key: key.clone(),
            source: Box::new(e),
        }
    }

    /// Classifies `delta` and writes every action (for Setter mode use [`set`](Self::set)).
    /// Failures are reported, counted, and do not stop the other actions.
    pub async fn apply(&mut self, delta: &ZSet<Value>) {
        for action in classify(delta, &mut self.seen) {
            let key = action.key().clone();
            let result = match &action {
                Action::Upsert { object, .. } => self.retrying(&key, object, false).await,
                Action::Delete { object, .. } => self.retrying(&key, object, true).await,
            };
            if let Err(e) = result {
                self.stats.failed += 1;
                self.reporter.report(e);
            }
        }
    }

    /// State of the world: makes the kind hold exactly `desired` (every entry must have a
    /// positive weight and a name): upserts what differs, deletes everything else.
    pub async fn set(&mut self, desired: &ZSet<Value>) {
        let mut want: BTreeMap<ObjectKey, Value> = BTreeMap::new();
        for (doc, w) in desired.iter() {
            match ObjectKey::of(doc) {
                Some(k) if w > 0 => {
                    want.insert(k, doc.clone());
                }
                _ => {
                    self.stats.failed += 1;
                    self.reporter.report(TargetError::Setter {
                        kind: self.kind(),
                        message: format!(
                            "entry of weight {w} without a positive weight and a name: {}",
                            doc.to_json_string()
                        ),
                    });
                    return;
                }
            }
        }
        let all: Api<DynamicObject> = Api::all_with(self.client.clone(), &self.resolved.resource);
        let existing = match all.list(&ListParams::default()).await {
            Ok(l) => l.items,
            Err(e) => {
                self.stats.failed += 1;
                self.reporter
                    .report(format!("setter {}: list: {e}", self.kind()));
                return;
            }
        };
        for obj in existing {
            let Some(cur) = crate::source::to_value(&obj) else {
                continue;
            };
            let Some(key) = ObjectKey::of(&cur) else {
                continue;
            };
            if !want.contains_key(&key)
                && let Err(e) = self.retrying(&key, &cur, true).await
            {
                self.stats.failed += 1;
                self.reporter.report(e);
            }
        }
        for (key, doc) in want {
            if let Err(e) = self.retrying(&key, &doc, false).await {
                self.stats.failed += 1;
                self.reporter.report(e);
            }
        }
    }

    async fn retrying(&mut self, key: &ObjectKey, doc: &Value, delete: bool) -> Res<()> {
        let mut backoff = self.retry.backoff.clone();
        let mut conflicts = 0;
        let mut attempt = 1;
        loop {
            let r = if delete {
                self.delete_once(key, doc).await
            } else {
                self.upsert_once(key, doc).await
            };
            let e = match r {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let TargetError::Api { source, .. } = &e else {
                return Err(e);
            };
            if is_conflict(source) && conflicts < self.retry.conflicts {
                conflicts += 1;
                tracing::debug!(%key, "conflict: retrying with a fresh read");
                continue;
            }
            if is_permanent(source) || attempt >= self.retry.attempts {
                return Err(e);
            }
            attempt += 1;
            let delay = backoff.next_delay();
            tracing::debug!(%key, ?delay, "write failed, retrying: {e}");
            tokio::time::sleep(delay).await;
        }
    }

    async fn delete_once(&mut self, key: &ObjectKey, doc: &Value) -> Res<()> {
        let api = self.api(key);
        if self.mode == TargetMode::Patcher {
            let patch = removal_patch(doc).to_serde_json();
            return match api
                .patch(&key.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.stats.deleted += 1;
                    Ok(())
                }
                Err(e) if is_not_found(&e) => Ok(()),
                Err(e) => Err(self.api_err("patch", key, e)),
            };
        }
        match api.delete(&key.name, &DeleteParams::default()).await {
            Ok(_) => {
                self.stats.deleted += 1;
                Ok(())
            }
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.api_err("delete", key, e)),
        }
    }

    async fn upsert_once(&mut self, key: &ObjectKey, doc: &Value) -> Res<()> {
        match self.mode {
            TargetMode::Updater | TargetMode::Setter => self.update(key, doc).await,
            TargetMode::Patcher => self.patch(key, doc).await,
            TargetMode::Apply => {
                let obj = self.prepare(key, doc)?;
                let pp = PatchParams::apply(FIELD_MANAGER).force();
                let api = self.api(key);
                api.patch(&key.name, &pp, &Patch::Apply(&obj))
                    .await
                    .map_err(|e| self.api_err("apply", key, e))?;
                if self.has_status_subresource() && doc.get("status").is_some() {
                    api.patch_status(&key.name, &pp, &Patch::Apply(&obj))
                        .await
                        .map_err(|e| self.api_err("apply status", key, e))?;
                }
                self.stats.updated += 1;
                Ok(())
            }
        }
    }

    /// Whether `current` already has exactly the content of `desired` (server fields and,
    /// when `desired` has none, status ignored).
    fn same_content(&self, current: &Value, desired: &Value) -> bool {
        let mut cur = writable(current);
        let des = writable(desired);
        if let Value::Map(m) = &mut cur {
            m.remove("apiVersion");
            m.remove("kind");
            if des.get("status").is_none() {
                m.remove("status");
            }
        }
        let mut des = des;
        if let Value::Map(m) = &mut des {
            m.remove("apiVersion");
            m.remove("kind");
        }
        cur == des
    }

    async fn update(&mut self, key: &ObjectKey, doc: &Value) -> Res<()> {
        let api = self.api(key);
        let current = api
            .get_opt(&key.name)
            .await
            .map_err(|e| self.api_err("get", key, e))?;
        let mut obj = self.prepare(key, doc)?;
        let written = match current {
            None => {
                let created = api
                    .create(
                        &PostParams {
                            dry_run: false,
                            field_manager: Some(FIELD_MANAGER.into()),
                        },
                        &obj,
                    )
                    .await
                    .map_err(|e| self.api_err("create", key, e))?;
                self.stats.created += 1;
                created
            }
            Some(cur) => {
                if crate::source::to_value(&cur).is_some_and(|c| self.same_content(&c, doc)) {
                    self.stats.skipped += 1;
                    return Ok(());
                }
                obj.metadata.resource_version = cur.metadata.resource_version.clone();
                let replaced = api
                    .replace(
                        &key.name,
                        &PostParams {
                            dry_run: false,
                            field_manager: Some(FIELD_MANAGER.into()),
                        },
                        &obj,
                    )
                    .await
                    .map_err(|e| self.api_err("replace", key, e))?;
                self.stats.updated += 1;
                replaced
            }
        };
        if self.has_status_subresource() && doc.get("status").is_some() {
            let mut st = obj;
            st.metadata.resource_version = written.metadata.resource_version;
            api.replace_status(&key.name, &PostParams::default(), &st)
                .await
                .map_err(|e| self.api_err("replace status", key, e))?;
        }
        Ok(())
    }

    async fn patch(&mut self, key: &ObjectKey, doc: &Value) -> Res<()> {
        let api = self.api(key);
        let obj = self.prepare(key, doc)?;
        let mut body = serde_json::to_value(&obj).map_err(|e| TargetError::Shape {
            kind: self.kind(),
            key: key.clone(),
            message: e.to_string(),
        })?;
        let status = if self.has_status_subresource() {
            body.as_object_mut().and_then(|m| m.remove("status"))
        } else {
            None
        };
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        match api.patch(&key.name, &pp, &Patch::Merge(&body)).await {
            Ok(_) => self.stats.updated += 1,
            Err(e) if is_not_found(&e) => return self.update(key, doc).await,
            Err(e) => return Err(self.api_err("patch", key, e)),
        }
        if let Some(status) = status {
            let patch = serde_json::json!({ "status": status });
            api.patch_status(&key.name, &pp, &Patch::Merge(&patch))
                .await
                .map_err(|e| self.api_err("patch status", key, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltaloop_engine::zset;

    fn v(s: &str) -> Value {
        Value::from_json_str(s).unwrap()
    }

    #[test]
    fn classification_follows_the_rules() {
        let mut seen = HashSet::new();
        let a1 = v(r#"{"metadata":{"name":"a","namespace":"n"},"x":1}"#);
        let a2 = v(r#"{"metadata":{"name":"a","namespace":"n"},"x":2}"#);
        let b = v(r#"{"metadata":{"name":"b"},"x":1}"#);
        let nameless = v(r#"{"x":1}"#);
        let acts = classify(
            &zset! { a1.clone() => 1, b.clone() => 1, nameless => 1 },
            &mut seen,
        );
        assert_eq!(
            acts,
            vec![
                Action::Upsert {
                    key: ObjectKey::new(None, "b"),
                    object: b.clone(),
                    added: true
                },
                Action::Upsert {
                    key: ObjectKey::new(Some("n"), "a"),
                    object: a1.clone(),
                    added: true
                },
            ]
        );
        // −old +new → Updated with the new one
        let acts = classify(&zset! { a1.clone() => -1, a2.clone() => 1 }, &mut seen);
        assert_eq!(
            acts,
            vec![Action::Upsert {
                key: ObjectKey::new(Some("n"), "a"),
                object: a2.clone(),
                added: false
            }]
        );
        // only positive, seen before → Updated
        let acts = classify(&zset! { a1.clone() => 1 }, &mut seen);
        assert!(matches!(&acts[0], Action::Upsert { added: false, .. }));
        // only negative → Deleted
        let acts = classify(&zset! { b.clone() => -1 }, &mut seen);
        assert_eq!(
            acts,
            vec![Action::Delete {
                key: ObjectKey::new(None, "b"),
                object: b
            }]
        );
        // two positive candidates: deterministic winner (largest canonical JSON)
        let acts = classify(&zset! { a1.clone() => 1, a2.clone() => 1 }, &mut seen);
        assert_eq!(
            acts,
            vec![Action::Upsert {
                key: ObjectKey::new(Some("n"), "a"),
                object: a2,
                added: false
            }]
        );
    }

    #[test]
    fn projection_ignores_what_others_added() {
        let desired =
            v(r#"{"metadata":{"name":"a","labels":{}},"subsets":[{"addresses":[{"ip":"1"}]}]}"#);
        let observed = v(
            r#"{"metadata":{"name":"a","uid":"u","resourceVersion":"7"},"subsets":[{"addresses":[{"ip":"1","nodeName":null}]}],"extra":1}"#,
        );
        assert_eq!(project(&observed, &desired), desired);
        let edited = v(r#"{"metadata":{"name":"a"},"subsets":[{"addresses":[{"ip":"9"}]}]}"#);
        assert_ne!(project(&edited, &desired), desired);
        let shorter = v(r#"{"metadata":{"name":"a"},"subsets":[]}"#);
        assert_ne!(project(&shorter, &desired), desired);
    }

    #[test]
    fn removal_patch_nulls_owned_leaves_only() {
        let emitted = v(
            r#"{"apiVersion":"v1","kind":"Deployment","metadata":{"name":"d","namespace":"n","resourceVersion":"3","annotations":{"a":"1"}},"spec":{"template":{"x":1},"list":[1,2]}}"#,
        );
        assert_eq!(
            removal_patch(&emitted),
            v(
                r#"{"apiVersion":"v1","kind":"Deployment","metadata":{"name":"d","namespace":"n","annotations":{"a":null}},"spec":{"template":{"x":null},"list":null}}"#
            )
        );
    }

    #[test]
    fn writable_strips_server_fields() {
        let d = v(
            r#"{"metadata":{"name":"a","uid":"u","resourceVersion":"1","creationTimestamp":"t","labels":{"x":"y"}}}"#,
        );
        assert_eq!(
            writable(&d),
            v(r#"{"metadata":{"name":"a","labels":{"x":"y"}}}"#)
        );
    }
}
