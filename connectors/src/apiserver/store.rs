//! The in-memory object store: objects per (group, version, resource), a global monotonically
//! increasing resourceVersion, metadata stamping (uid, creationTimestamp, generation), optimistic
//! concurrency, finalizers, and watches fed by a broadcast with a bounded event history that
//! allows resuming from an old resourceVersion (and answers `410 Expired` when it is too old).
//!
//! Every write happens under one lock; events are published under the same lock, so a watch that
//! replays history and subscribes while holding it never misses or duplicates an event.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, watch};

use super::kinds::{GroupVersionResource, ResourceKind, native_kinds, view_uid};
use super::patch::{PatchType, json_patch, merge_patch, strategic_merge};
use super::selectors::ListFilter;
use super::status::ApiStatus;
use super::time::now_rfc3339;

/// Store tuning.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// How many events the history keeps for watches resuming from an old resourceVersion.
    /// Older resourceVersions get an in-stream `410 Expired`.
    pub history_limit: usize,
    /// Capacity of the live event broadcast; a watch that falls this far behind gets a `410`.
    pub broadcast_capacity: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            history_limit: 10_000,
            broadcast_capacity: 16_384,
        }
    }
}

/// Options of a write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and return the would-be object without storing it.
    pub dry_run: bool,
    /// `fieldManager`: recorded in `metadata.managedFields`; required for apply patches.
    pub field_manager: Option<String>,
    /// Write the `/status` subresource (only the status changes).
    pub status: bool,
}

/// Options of a delete (the `DeleteOptions` body).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
}

/// A list result: the matching objects and the resourceVersion of the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectList {
    /// Matching objects, ordered by namespace and name.
    pub items: Vec<Arc<Value>>,
    /// The store's resourceVersion when the list was taken.
    pub resource_version: u64,
}

/// The outcome of a delete.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    /// The object is gone; the last state, stamped with the deletion resourceVersion.
    Gone(Arc<Value>),
    /// The object has finalizers: `deletionTimestamp` is set and it lives on until they are
    /// removed.
    Pending(Arc<Value>),
}

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A new object.
    Added,
    /// A changed object.
    Modified,
    /// A removed object.
    Deleted,
}

#[derive(Debug)]
struct StoredEvent {
    rv: u64,
    gvr: GroupVersionResource,
    kind: EventType,
    object: Arc<Value>,
    old: Option<Arc<Value>>,
}

/// One event of a watch stream.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// An object started to match (or was created).
    Added(Arc<Value>),
    /// A matching object changed.
    Modified(Arc<Value>),
    /// An object stopped matching (or was deleted); its last state.
    Deleted(Arc<Value>),
    /// A bookmark: the stream is current up to this resourceVersion.
    Bookmark {
        /// The resourceVersion.
        resource_version: u64,
        /// Marks the end of `sendInitialEvents` (annotation `k8s.io/initial-events-end`).
        initial_events_end: bool,
    },
    /// An error; the stream ends after it (`410 Expired` for a too-old resourceVersion).
    Error(ApiStatus),
}

impl WatchEvent {
    /// The wire form `{"type": …, "object": …}` for a kind.
    pub fn to_json(&self, kind: &ResourceKind) -> Value {
        match self {
            WatchEvent::Added(o) => json!({"type": "ADDED", "object": &**o}),
            WatchEvent::Modified(o) => json!({"type": "MODIFIED", "object": &**o}),
            WatchEvent::Deleted(o) => json!({"type": "DELETED", "object": &**o}),
            WatchEvent::Bookmark {
                resource_version,
                initial_events_end,
            } => {
                let mut meta = json!({"resourceVersion": resource_version.to_string()});
                if *initial_events_end {
                    meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
                }
                json!({"type": "BOOKMARK", "object": {
                    "apiVersion": kind.api_version(), "kind": kind.kind, "metadata": meta}})
            }
            WatchEvent::Error(s) => json!({"type": "ERROR", "object": s.to_value()}),
        }
    }

    /// The wire type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark { .. } => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        }
    }
}

type ObjectKey = (String, String);

#[derive(Debug, Default)]
struct State {
    kinds: BTreeMap<GroupVersionResource, ResourceKind>,
    kinds_epoch: u64,
    objects: HashMap<GroupVersionResource, BTreeMap<ObjectKey, Arc<Value>>>,
    rv: u64,
    history: VecDeque<Arc<StoredEvent>>,
    // Watches from a resourceVersion below this get 410: older events were dropped.
    compacted: u64,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<StoredEvent>>,
    disconnect: watch::Sender<u64>,
    config: StoreConfig,
}

/// The shared, cloneable in-memory object store (a handle: clones share the state).
#[derive(Debug, Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(StoreConfig::default())
    }
}

fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).and_then(|m| m.get(field)).and_then(Value::as_str)
}

fn meta_mut(obj: &mut Value) -> Result<&mut Map<String, Value>, ApiStatus> {
    let o = obj
        .as_object_mut()
        .ok_or_else(|| ApiStatus::bad_request("the object must be a JSON object"))?;
    let m = o
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    m.as_object_mut()
        .ok_or_else(|| ApiStatus::bad_request("metadata must be an object"))
}

fn set_type_meta(obj: &mut Value, kind: &ResourceKind) {
    if let Some(o) = obj.as_object_mut() {
        o.insert("apiVersion".into(), Value::String(kind.api_version()));
        o.insert("kind".into(), Value::String(kind.kind.clone()));
    }
}

// Everything but metadata and status (and type meta): a change bumps the generation.
fn spec_part(obj: &Value) -> Map<String, Value> {
    let mut m = obj.as_object().cloned().unwrap_or_default();
    for k in ["metadata", "status", "apiVersion", "kind"] {
        m.remove(k);
    }
    m
}

fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn record_manager(obj: &mut Value, manager: &str, operation: &str, api_version: &str) {
    let Ok(m) = meta_mut(obj) else { return };
    let entry = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": {},
    });
    let list = m
        .entry("managedFields")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Some(a) = list.as_array_mut() {
        a.retain(|e| {
            e.get("manager").and_then(Value::as_str) != Some(manager)
                || e.get("operation").and_then(Value::as_str) != Some(operation)
        });
        a.push(entry);
    }
}

impl Store {
    /// An empty store with no kinds.
    pub fn new(config: StoreConfig) -> Self {
        let (events, _) = broadcast::channel(config.broadcast_capacity.max(16));
        let (disconnect, _) = watch::channel(0);
        Store {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                events,
                disconnect,
                config,
            }),
        }
    }

    /// A store hosting the native kinds ([`native_kinds`]) and the namespaces `default` and
    /// `kube-system`: a fake cluster for local runs and tests.
    pub fn with_native_kinds() -> Self {
        let store = Store::default();
        for k in native_kinds() {
            store.register(k);
        }
        let ns = GroupVersionResource::new("", "v1", "namespaces");
        for name in ["default", "kube-system"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
                             "status": {"phase": "Active"}});
            let _ = store.create(&ns, None, obj, &WriteOptions::default());
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state itself stays consistent
        // because every mutation completes before the guard is dropped.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers (or re-registers) a kind; it appears in discovery at once.
    pub fn register(&self, kind: ResourceKind) {
        let mut st = self.lock();
        let gvr = kind.gvr();
        st.objects.entry(gvr.clone()).or_default();
        st.kinds.insert(gvr, kind);
        st.kinds_epoch += 1;
    }

    /// Unregisters a kind and drops its objects (no events are sent).
    pub fn unregister(&self, gvr: &GroupVersionResource) -> Option<ResourceKind> {
        let mut st = self.lock();
        st.objects.remove(gvr);
        st.kinds_epoch += 1;
        st.kinds.remove(gvr)
    }

    /// All registered kinds, ordered by group, version and resource.
    pub fn kinds(&self) -> Vec<ResourceKind> {
        self.lock().kinds.values().cloned().collect()
    }

    /// A counter that changes whenever the set of kinds changes (for discovery/OpenAPI hashes).
    pub fn kinds_epoch(&self) -> u64 {
        self.lock().kinds_epoch
    }

    /// The kind served at a (group, version, resource).
    pub fn kind(&self, gvr: &GroupVersionResource) -> Option<ResourceKind> {
        self.lock().kinds.get(gvr).cloned()
    }

    /// The kind with an `apiVersion` (`group/version` or `v1`) and `kind`.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<ResourceKind> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.lock()
            .kinds
            .values()
            .find(|k| k.group == group && k.version == version && k.kind == kind)
            .cloned()
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Drops the whole event history: watches resuming from any older resourceVersion get an
    /// in-stream `410 Expired` (a test hook for forced re-lists).
    pub fn compact(&self) {
        let mut st = self.lock();
        st.history.clear();
        st.compacted = st.rv;
    }

    /// Ends every open watch stream (a test hook for server-side disconnects). Clients re-watch
    /// from their last resourceVersion.
    pub fn disconnect_watches(&self) {
        self.shared.disconnect.send_modify(|n| *n += 1);
    }

    fn kind_of(st: &State, gvr: &GroupVersionResource) -> Result<ResourceKind, ApiStatus> {
        st.kinds
            .get(gvr)
            .cloned()
            .ok_or_else(ApiStatus::no_resource)
    }

    fn commit(
        &self,
        st: &mut State,
        kind: &ResourceKind,
        event: EventType,
        mut obj: Value,
        old: Option<Arc<Value>>,
    ) -> Arc<Value> {
        st.rv += 1;
        let rv = st.rv;
        if let Ok(m) = meta_mut(&mut obj) {
            m.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let obj = Arc::new(obj);
        let gvr = kind.gvr();
        let key = (
            meta_str(&obj, "namespace").unwrap_or("").to_string(),
            meta_str(&obj, "name").unwrap_or("").to_string(),
        );
        let objects = st.objects.entry(gvr.clone()).or_default();
        match event {
            EventType::Deleted => {
                objects.remove(&key);
            }
            _ => {
                objects.insert(key, obj.clone());
            }
        }
        let ev = Arc::new(StoredEvent {
            rv,
            gvr,
            kind: event,
            object: obj.clone(),
            old,
        });
        st.history.push_back(ev.clone());
        while st.history.len() > self.shared.config.history_limit {
            if let Some(e) = st.history.pop_front() {
                st.compacted = e.rv;
            }
        }
        // No receivers is fine.
        let _ = self.shared.events.send(ev);
        obj
    }

    fn key(kind: &ResourceKind, namespace: Option<&str>, name: &str) -> ObjectKey {
        let ns = if kind.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        (ns.to_string(), name.to_string())
    }

    /// Creates an object. For namespaced kinds the namespace is `namespace`, else the body's,
    /// else `default`; a body namespace that differs from `namespace` is a 400. Stamps uid
    /// (deterministic for views), creationTimestamp, generation 1 and a resourceVersion; a
    /// `generateName` without a name gets a random suffix. 409 AlreadyExists on duplicates.
    pub fn create(
        &self,
        gvr: &GroupVersionResource,
        namespace: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Arc<Value>, ApiStatus> {
        let mut st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        self.create_locked(&mut st, &kind, namespace, obj, opts, "Update")
    }

    fn create_locked(
        &self,
        st: &mut State,
        kind: &ResourceKind,
        namespace: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
        operation: &str,
    ) -> Result<Arc<Value>, ApiStatus> {
        let qualified = kind.gvr().qualified();
        let m = meta_mut(&mut obj)?;
        let body_ns = m
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let ns = if kind.namespaced {
            match (namespace, body_ns) {
                (Some(u), Some(b)) if u != b => {
                    return Err(ApiStatus::bad_request(format!(
                        "the namespace of the provided object ({b}) does not match the namespace \
                         sent on the request ({u})"
                    )));
                }
                (Some(u), _) => u.to_string(),
                (None, Some(b)) => b,
                (None, None) => "default".to_string(),
            }
        } else {
            String::new()
        };
        let mut name = m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            match m.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => {
                    name = format!("{prefix}{}", random_suffix());
                }
                _ => {
                    return Err(ApiStatus::invalid(format!(
                        "{qualified} \"\" is invalid: metadata.name: Required value: name or \
                         generateName is required"
                    )));
                }
            }
        }
        m.insert("name".into(), Value::String(name.clone()));
        if kind.namespaced {
            m.insert("namespace".into(), Value::String(ns.clone()));
        } else {
            m.remove("namespace");
        }
        let uid = if kind.view {
            view_uid(&kind.group, &kind.version, &kind.kind, &ns, &name)
        } else {
            uuid::Uuid::new_v4().hyphenated().to_string()
        };
        m.insert("uid".into(), Value::String(uid));
        m.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
        m.insert("generation".into(), json!(1));
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.remove(k);
        }
        set_type_meta(&mut obj, kind);
        if kind.group.is_empty()
            && kind.kind == "Namespace"
            && let Some(o) = obj.as_object_mut()
        {
            o.entry("status")
                .or_insert_with(|| json!({"phase": "Active"}));
        }
        if let Some(mgr) = &opts.field_manager {
            record_manager(&mut obj, mgr, operation, &kind.api_version());
        }
        let key = (ns, name.clone());
        if st
            .objects
            .get(&kind.gvr())
            .is_some_and(|o| o.contains_key(&key))
        {
            return Err(ApiStatus::already_exists(&qualified, &name));
        }
        if opts.dry_run {
            return Ok(Arc::new(obj));
        }
        Ok(self.commit(st, kind, EventType::Added, obj, None))
    }

    /// Gets an object (404 NotFound when absent).
    pub fn get(
        &self,
        gvr: &GroupVersionResource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Arc<Value>, ApiStatus> {
        let st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        let key = Self::key(&kind, namespace, name);
        st.objects
            .get(gvr)
            .and_then(|o| o.get(&key))
            .cloned()
            .ok_or_else(|| ApiStatus::not_found(&gvr.qualified(), name))
    }

    /// Lists the objects matching a filter, with the snapshot's resourceVersion.
    pub fn list(
        &self,
        gvr: &GroupVersionResource,
        filter: &ListFilter,
    ) -> Result<ObjectList, ApiStatus> {
        let st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        let items = Self::matching(&st, &kind, filter);
        Ok(ObjectList {
            items,
            resource_version: st.rv,
        })
    }

    fn matching(st: &State, kind: &ResourceKind, filter: &ListFilter) -> Vec<Arc<Value>> {
        let mut filter = filter.clone();
        if !kind.namespaced {
            filter.namespace = None;
        }
        let Some(objects) = st.objects.get(&kind.gvr()) else {
            return Vec::new();
        };
        match &filter.namespace {
            Some(ns) => objects
                .range((ns.clone(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v)
                .filter(|o| filter.matches(o))
                .cloned()
                .collect(),
            None => objects
                .values()
                .filter(|o| filter.matches(o))
                .cloned()
                .collect(),
        }
    }

    // Shared by update, update-status and patch: the stored object becomes `new` (or its status
    // for status writes), with immutable metadata kept, generation bumped on spec changes,
    // no-op writes suppressed and finalizer-pending deletions completed.
    fn write_existing(
        &self,
        st: &mut State,
        kind: &ResourceKind,
        old: Arc<Value>,
        new: Value,
        operation: &str,
        opts: &WriteOptions,
    ) -> Result<Arc<Value>, ApiStatus> {
        let qualified = kind.gvr().qualified();
        let name = meta_str(&old, "name").unwrap_or("").to_string();
        if let Some(rv) = meta_str(&new, "resourceVersion").filter(|s| !s.is_empty())
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(ApiStatus::conflict(&qualified, &name));
        }
        if !new.is_object() {
            return Err(ApiStatus::bad_request("the object must be a JSON object"));
        }
        let mut result = if opts.status {
            let mut r = (*old).clone();
            if let Some(o) = r.as_object_mut() {
                match new.get("status") {
                    Some(s) => o.insert("status".into(), s.clone()),
                    None => o.remove("status"),
                };
            }
            r
        } else {
            let mut r = new;
            if kind.status_subresource
                && let Some(o) = r.as_object_mut()
            {
                match old.get("status") {
                    Some(s) => o.insert("status".into(), s.clone()),
                    None => o.remove("status"),
                };
            }
            r
        };
        let old_meta = meta(&old).cloned().unwrap_or_default();
        {
            let m = meta_mut(&mut result)?;
            if let Some(n) = m.get("name").and_then(Value::as_str)
                && !n.is_empty()
                && n != name
            {
                return Err(ApiStatus::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            for k in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "generation",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "resourceVersion",
            ] {
                match old_meta.get(k) {
                    Some(v) => m.insert(k.to_string(), v.clone()),
                    None => m.remove(k),
                };
            }
            if !m.contains_key("managedFields")
                && let Some(mf) = old_meta.get("managedFields")
            {
                m.insert("managedFields".into(), mf.clone());
            }
        }
        set_type_meta(&mut result, kind);
        let deleting = old_meta.contains_key("deletionTimestamp");
        let new_finalizers = finalizers(&result);
        if deleting {
            let old_finalizers = finalizers(&old);
            if new_finalizers.iter().any(|f| !old_finalizers.contains(f)) {
                return Err(ApiStatus::invalid(format!(
                    "{qualified} \"{name}\" is invalid: metadata.finalizers: Forbidden: no new \
                     finalizers can be added if the object is being deleted"
                )));
            }
        }
        if spec_part(&result) != spec_part(&old) {
            let g = old_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if let Ok(m) = meta_mut(&mut result) {
                m.insert("generation".into(), json!(g + 1));
            }
        }
        if result == *old {
            return Ok(old);
        }
        if let Some(mgr) = &opts.field_manager {
            record_manager(&mut result, mgr, operation, &kind.api_version());
        }
        if opts.dry_run {
            return Ok(Arc::new(result));
        }
        if deleting && new_finalizers.is_empty() {
            return Ok(self.commit(st, kind, EventType::Deleted, result, Some(old)));
        }
        Ok(self.commit(st, kind, EventType::Modified, result, Some(old)))
    }

    fn existing(
        st: &State,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Arc<Value>> {
        st.objects
            .get(&kind.gvr())
            .and_then(|o| o.get(&Self::key(kind, namespace, name)))
            .cloned()
    }

    /// Replaces an object (PUT). A non-empty `metadata.resourceVersion` must equal the stored
    /// one (else 409 Conflict). With `opts.status` only the status is replaced; otherwise, for
    /// kinds with a status subresource, the stored status is kept. An identical write changes
    /// nothing and sends no event.
    pub fn update(
        &self,
        gvr: &GroupVersionResource,
        namespace: Option<&str>,
        name: &str,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Arc<Value>, ApiStatus> {
        let mut st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        let old = Self::existing(&st, &kind, namespace, name)
            .ok_or_else(|| ApiStatus::not_found(&gvr.qualified(), name))?;
        self.write_existing(&mut st, &kind, old, obj, "Update", opts)
    }

    /// Patches an object. Merge (RFC 7386), JSON (RFC 6902; `test` of a missing member equals
    /// null), strategic merge (native kinds only: a merge patch whose object lists merge by key, see
    /// [`strategic_merge`]; 415 otherwise) and
    /// apply (simplified server-side apply: merged into the live object, the field manager is
    /// recorded, no ownership conflicts; the object is created when absent; a field manager is
    /// required). Returns the object and whether it was created.
    pub fn patch(
        &self,
        gvr: &GroupVersionResource,
        namespace: Option<&str>,
        name: &str,
        patch_type: PatchType,
        patch: &Value,
        opts: &WriteOptions,
    ) -> Result<(Arc<Value>, bool), ApiStatus> {
        let mut st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        if patch_type == PatchType::StrategicMerge && !kind.strategic_merge {
            return Err(ApiStatus::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types \
                 include: {}",
                super::patch::ACCEPTED_PATCH_TYPES
            )));
        }
        if patch_type == PatchType::Apply && opts.field_manager.is_none() {
            return Err(ApiStatus::invalid(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is \
                 required for apply patch",
            ));
        }
        let Some(old) = Self::existing(&st, &kind, namespace, name) else {
            if patch_type == PatchType::Apply && !opts.status {
                let mut obj = patch.clone();
                meta_mut(&mut obj)?.insert("name".into(), Value::String(name.to_string()));
                return self
                    .create_locked(&mut st, &kind, namespace, obj, opts, "Apply")
                    .map(|c| (c, true));
            }
            return Err(ApiStatus::not_found(&gvr.qualified(), name));
        };
        let patched = match patch_type {
            PatchType::Merge => {
                let mut t = (*old).clone();
                merge_patch(&mut t, patch);
                t
            }
            PatchType::StrategicMerge => {
                let mut t = (*old).clone();
                strategic_merge(&mut t, patch);
                t
            }
            PatchType::Apply => {
                let mut t = (*old).clone();
                let mut p = patch.clone();
                // An apply body's resourceVersion, if any, is a precondition like in PUT.
                if let Some(m) = p.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("managedFields");
                }
                merge_patch(&mut t, &p);
                t
            }
            PatchType::Json => json_patch(&old, patch)?,
        };
        let operation = if patch_type == PatchType::Apply {
            "Apply"
        } else {
            "Update"
        };
        self.write_existing(&mut st, &kind, old, patched, operation, opts)
            .map(|o| (o, false))
    }

    /// Deletes an object. With finalizers it only gets a `deletionTimestamp` (and a generation
    /// bump) and lives on until the last finalizer is removed.
    pub fn delete(
        &self,
        gvr: &GroupVersionResource,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiStatus> {
        let mut st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        let old = Self::existing(&st, &kind, namespace, name)
            .ok_or_else(|| ApiStatus::not_found(&gvr.qualified(), name))?;
        self.delete_locked(&mut st, &kind, old, opts)
    }

    fn delete_locked(
        &self,
        st: &mut State,
        kind: &ResourceKind,
        old: Arc<Value>,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiStatus> {
        let qualified = kind.gvr().qualified();
        let name = meta_str(&old, "name").unwrap_or("").to_string();
        if let Some(rv) = &opts.resource_version
            && Some(rv.as_str()) != meta_str(&old, "resourceVersion")
        {
            return Err(ApiStatus::conflict(&qualified, &name));
        }
        if let Some(uid) = &opts.uid
            && Some(uid.as_str()) != meta_str(&old, "uid")
        {
            return Err(ApiStatus::conflict(&qualified, &name));
        }
        if !finalizers(&old).is_empty() {
            if meta(&old).is_some_and(|m| m.contains_key("deletionTimestamp")) {
                return Ok(Deleted::Pending(old));
            }
            let mut obj = (*old).clone();
            let g = meta(&old)
                .and_then(|m| m.get("generation"))
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let m = meta_mut(&mut obj)?;
            m.insert("deletionTimestamp".into(), Value::String(now_rfc3339()));
            m.insert("deletionGracePeriodSeconds".into(), json!(0));
            m.insert("generation".into(), json!(g + 1));
            if opts.dry_run {
                return Ok(Deleted::Pending(Arc::new(obj)));
            }
            return Ok(Deleted::Pending(self.commit(
                st,
                kind,
                EventType::Modified,
                obj,
                Some(old),
            )));
        }
        if opts.dry_run {
            return Ok(Deleted::Gone(old));
        }
        let last = (*old).clone();
        Ok(Deleted::Gone(self.commit(
            st,
            kind,
            EventType::Deleted,
            last,
            Some(old),
        )))
    }

    /// Deletes every object matching a filter; returns what each delete did.
    pub fn delete_collection(
        &self,
        gvr: &GroupVersionResource,
        filter: &ListFilter,
        opts: &DeleteOptions,
    ) -> Result<Vec<Deleted>, ApiStatus> {
        let mut st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        let victims = Self::matching(&st, &kind, filter);
        let mut out = Vec::with_capacity(victims.len());
        let opts = DeleteOptions {
            dry_run: opts.dry_run,
            ..DeleteOptions::default()
        };
        for v in victims {
            out.push(self.delete_locked(&mut st, &kind, v, &opts)?);
        }
        Ok(out)
    }

    /// Creates or replaces an object addressed by its own `apiVersion`, `kind`, namespace and
    /// name (unconditionally: its resourceVersion is ignored). A convenience for tests and
    /// for pipelines writing views in process.
    pub fn upsert(&self, obj: Value) -> Result<Arc<Value>, ApiStatus> {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind_name = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let kind = self.find_kind(api_version, kind_name).ok_or_else(|| {
            ApiStatus::bad_request(format!(
                "no kind {kind_name:?} is registered for apiVersion {api_version:?}"
            ))
        })?;
        let name = meta_str(&obj, "name").unwrap_or("").to_string();
        let ns = meta_str(&obj, "namespace").map(str::to_string);
        let mut st = self.lock();
        let opts = WriteOptions::default();
        match Self::existing(&st, &kind, ns.as_deref(), &name) {
            Some(old) if !name.is_empty() => {
                let mut obj = obj;
                if let Ok(m) = meta_mut(&mut obj) {
                    m.remove("resourceVersion");
                }
                self.write_existing(&mut st, &kind, old, obj, "Update", &opts)
            }
            _ => self.create_locked(&mut st, &kind, ns.as_deref(), obj, &opts, "Update"),
        }
    }

    /// Starts a watch. `resource_version`: `None`, `""` or `"0"` start with synthetic ADDED
    /// events for every matching object; `N` replays the events after `N` (or yields one
    /// in-stream `410 Expired` error when the history no longer reaches back to `N`). With
    /// `send_initial_events` the initial ADDEDs are followed by a bookmark annotated
    /// `k8s.io/initial-events-end`.
    pub fn watch(
        &self,
        gvr: &GroupVersionResource,
        filter: &ListFilter,
        resource_version: Option<&str>,
        send_initial_events: bool,
    ) -> Result<WatchStream, ApiStatus> {
        let st = self.lock();
        let kind = Self::kind_of(&st, gvr)?;
        let mut filter = filter.clone();
        if !kind.namespaced {
            filter.namespace = None;
        }
        let rx = self.shared.events.subscribe();
        let disconnect = self.shared.disconnect.subscribe();
        let mut stream = WatchStream {
            store: self.clone(),
            kind: kind.clone(),
            filter,
            pending: VecDeque::new(),
            rx,
            disconnect,
            finished: false,
            last_rv: st.rv,
        };
        let from =
            match resource_version.filter(|s| !s.is_empty() && *s != "0") {
                None => None,
                Some(s) => Some(s.parse::<u64>().map_err(|_| {
                    ApiStatus::bad_request(format!("invalid resource version {s:?}"))
                })?),
            };
        match from {
            Some(n) if !send_initial_events => {
                if n < st.compacted {
                    stream
                        .pending
                        .push_back(WatchEvent::Error(ApiStatus::expired(format!(
                            "too old resource version: {n} ({})",
                            st.compacted
                        ))));
                } else {
                    stream.last_rv = n.max(st.rv);
                    for ev in st.history.iter().filter(|e| e.rv > n) {
                        if let Some(we) = stream.translate(ev) {
                            stream.pending.push_back(we);
                        }
                    }
                }
            }
            _ => {
                for o in Self::matching(&st, &kind, &stream.filter) {
                    stream.pending.push_back(WatchEvent::Added(o));
                }
                if send_initial_events {
                    stream.pending.push_back(WatchEvent::Bookmark {
                        resource_version: st.rv,
                        initial_events_end: true,
                    });
                }
            }
        }
        Ok(stream)
    }
}

/// A live watch: initial or replayed events first, then live events. Ends on a server-side
/// disconnect ([`Store::disconnect_watches`]) and after an error event.
#[derive(Debug)]
pub struct WatchStream {
    store: Store,
    kind: ResourceKind,
    filter: ListFilter,
    pending: VecDeque<WatchEvent>,
    rx: broadcast::Receiver<Arc<StoredEvent>>,
    disconnect: watch::Receiver<u64>,
    finished: bool,
    last_rv: u64,
}

impl WatchStream {
    /// The watched kind.
    pub fn kind(&self) -> &ResourceKind {
        &self.kind
    }

    fn translate(&self, ev: &StoredEvent) -> Option<WatchEvent> {
        if ev.gvr != self.kind.gvr() {
            return None;
        }
        let now = self.filter.matches(&ev.object);
        let before = ev.old.as_ref().is_some_and(|o| self.filter.matches(o));
        match ev.kind {
            EventType::Added => now.then(|| WatchEvent::Added(ev.object.clone())),
            EventType::Deleted => (now || before).then(|| WatchEvent::Deleted(ev.object.clone())),
            EventType::Modified => match (before, now) {
                (true, true) => Some(WatchEvent::Modified(ev.object.clone())),
                (false, true) => Some(WatchEvent::Added(ev.object.clone())),
                (true, false) => Some(WatchEvent::Deleted(ev.object.clone())),
                (false, false) => None,
            },
        }
    }

    /// The next event, or `None` when the stream has ended. Cancel-safe.
    pub async fn next(&mut self) -> Option<WatchEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if matches!(e, WatchEvent::Error(_)) {
                    self.finished = true;
                    self.pending.clear();
                }
                return Some(e);
            }
            if self.finished {
                return None;
            }
            tokio::select! {
                r = self.rx.recv() => match r {
                    Ok(ev) => {
                        self.last_rv = self.last_rv.max(ev.rv);
                        if let Some(we) = self.translate(&ev) {
                            return Some(we);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.pending.push_back(WatchEvent::Error(ApiStatus::expired(
                            "the watch fell too far behind; re-list",
                        )));
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        self.finished = true;
                    }
                },
                changed = self.disconnect.changed() => {
                    let _ = changed;
                    self.finished = true;
                    return None;
                }
            }
        }
    }

    /// Takes the events queued so far (initial, replayed or drained by a bookmark) without
    /// waiting for live ones.
    pub fn drain_pending(&mut self) -> Vec<WatchEvent> {
        let mut out: Vec<WatchEvent> = Vec::new();
        while let Some(e) = self.pending.pop_front() {
            let stop = matches!(e, WatchEvent::Error(_));
            out.push(e);
            if stop {
                self.finished = true;
                self.pending.clear();
            }
        }
        out
    }

    /// Queues a bookmark at the store's current resourceVersion, after every event published
    /// up to now (so its resourceVersion never skips an undelivered event).
    pub fn queue_bookmark(&mut self) {
        if self.finished {
            return;
        }
        let st = self.store.lock();
        loop {
            match self.rx.try_recv() {
                Ok(ev) => {
                    if let Some(we) = self.translate(&ev) {
                        self.pending.push_back(we);
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    self.pending.push_back(WatchEvent::Error(ApiStatus::expired(
                        "the watch fell too far behind; re-list",
                    )));
                    return;
                }
                Err(_) => break,
            }
        }
        self.last_rv = self.last_rv.max(st.rv);
        self.pending.push_back(WatchEvent::Bookmark {
            resource_version: self.last_rv,
            initial_events_end: false,
        });
    }
}
