//! The in-process Store API: watch semantics (selector transitions, resume), the invariant
//! `list@rv1 + events in (rv1, rv2] == list@rv2`, and the status subresource and streaming
//! lists through the kube client.

#![allow(clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use deltaloop_connectors::apiserver::selectors::ListFilter;
use deltaloop_connectors::apiserver::store::{DeleteOptions, WriteOptions};
use deltaloop_connectors::apiserver::{
    ApiServer, GroupVersionResource, ResourceKind, Store, WatchEvent,
};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn gvr() -> GroupVersionResource {
    GroupVersionResource::new("test.view.dcontroller.io", "v1alpha1", "healthviews")
}

fn store() -> Store {
    let s = Store::default();
    s.register(ResourceKind::view("test", "HealthView"));
    s
}

fn obj(name: &str, app: &str, x: u64) -> Value {
    json!({"metadata": {"name": name, "labels": {"app": app}}, "spec": {"x": x}})
}

async fn next(w: &mut deltaloop_connectors::apiserver::WatchStream) -> Option<WatchEvent> {
    tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .ok()
        .flatten()
}

fn name(o: &Value) -> String {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn selector_watch_sees_objects_enter_and_leave() -> TestResult {
    let s = store();
    let wo = WriteOptions::default();
    s.create(&gvr(), Some("default"), obj("a", "web", 1), &wo)?;
    let filter = ListFilter::namespace(Some("default")).with_labels("app=web")?;
    let mut w = s.watch(&gvr(), &filter, None, false)?;
    assert!(matches!(next(&mut w).await, Some(WatchEvent::Added(o)) if name(&o) == "a"));
    // b is created outside the selection, then moves in: ADDED
    s.create(&gvr(), Some("default"), obj("b", "db", 1), &wo)?;
    s.update(&gvr(), Some("default"), "b", obj("b", "web", 1), &wo)?;
    assert!(matches!(next(&mut w).await, Some(WatchEvent::Added(o)) if name(&o) == "b"));
    // a moves out: DELETED; other namespaces are invisible
    s.update(&gvr(), Some("default"), "a", obj("a", "db", 1), &wo)?;
    assert!(matches!(next(&mut w).await, Some(WatchEvent::Deleted(o)) if name(&o) == "a"));
    s.create(&gvr(), Some("other"), obj("c", "web", 1), &wo)?;
    s.delete(&gvr(), Some("default"), "b", &DeleteOptions::default())?;
    assert!(matches!(next(&mut w).await, Some(WatchEvent::Deleted(o)) if name(&o) == "b"));
    // a bookmark carries the store's latest resourceVersion
    w.queue_bookmark();
    match next(&mut w).await {
        Some(WatchEvent::Bookmark {
            resource_version, ..
        }) => assert_eq!(resource_version, s.resource_version()),
        e => panic!("expected a bookmark, got {e:?}"),
    }
    // a server-side disconnect ends the stream
    s.disconnect_watches();
    assert_eq!(next(&mut w).await, None);
    Ok(())
}

// Applies watch events to a name -> object map.
fn apply(state: &mut BTreeMap<String, Arc<Value>>, ev: WatchEvent) {
    match ev {
        WatchEvent::Added(o) | WatchEvent::Modified(o) => {
            state.insert(name(&o), o);
        }
        WatchEvent::Deleted(o) => {
            state.remove(&name(&o));
        }
        WatchEvent::Bookmark { .. } => {}
        WatchEvent::Error(e) => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn list_plus_events_equals_later_list() -> TestResult {
    // A deterministic pseudo-random sequence of writes (xorshift), checked at several cut points.
    let s = store();
    let wo = WriteOptions::default();
    let all = ListFilter::namespace(Some("default"));
    let web = ListFilter::namespace(Some("default")).with_labels("app=web")?;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    // (resourceVersion "0" would mean "any state": synthetic ADDEDs instead of a replay)
    s.create(&gvr(), Some("default"), obj("seed", "web", 0), &wo)?;
    for round in 0..8 {
        let filter = if round % 2 == 0 { &all } else { &web };
        let before = s.list(&gvr(), filter)?;
        let mut state: BTreeMap<String, Arc<Value>> =
            before.items.iter().map(|o| (name(o), o.clone())).collect();
        let rv1 = before.resource_version.to_string();
        for _ in 0..40 {
            let n = format!("o{}", rnd(6));
            let app = if rnd(2) == 0 { "web" } else { "db" };
            let x = rnd(3);
            let _ = match rnd(4) {
                0 => s
                    .create(&gvr(), Some("default"), obj(&n, app, x), &wo)
                    .map(|_| ()),
                1 => s
                    .update(&gvr(), Some("default"), &n, obj(&n, app, x), &wo)
                    .map(|_| ()),
                2 => s
                    .delete(&gvr(), Some("default"), &n, &DeleteOptions::default())
                    .map(|_| ()),
                _ => s
                    .upsert(json!({"apiVersion": "test.view.dcontroller.io/v1alpha1",
                    "kind": "HealthView", "metadata": {"name": n, "namespace": "default",
                    "labels": {"app": app}}, "spec": {"x": x}}))
                    .map(|_| ()),
            };
        }
        let after = s.list(&gvr(), filter)?;
        let mut w = s.watch(&gvr(), filter, Some(&rv1), false)?;
        w.queue_bookmark();
        let mut last_rv = 0u64;
        loop {
            let ev = next(&mut w).await.ok_or("the watch ended early")?;
            if let WatchEvent::Bookmark {
                resource_version, ..
            } = ev
            {
                assert_eq!(resource_version, after.resource_version);
                break;
            }
            if let WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) = &ev {
                let rv: u64 = o
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("0")
                    .parse()?;
                assert!(
                    rv > last_rv,
                    "resourceVersions increase: {rv} after {last_rv}"
                );
                last_rv = rv;
            }
            apply(&mut state, ev);
        }
        let expected: BTreeMap<String, Arc<Value>> =
            after.items.iter().map(|o| (name(o), o.clone())).collect();
        assert_eq!(state, expected, "round {round}");
    }
    Ok(())
}

#[tokio::test]
async fn status_subresource_and_streaming_lists() -> TestResult {
    let store = Store::with_native_kinds();
    store.register(ResourceKind::view("test", "HealthView"));
    let client = ApiServer::new(store).client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    // a status write changes only the status; a main write keeps the stored status
    let st = pods
        .patch_status(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running"}, "spec": {"nodeName": "x"}})),
        )
        .await?;
    assert_eq!(st.status.and_then(|s| s.phase).as_deref(), Some("Running"));
    assert_eq!(st.spec.and_then(|s| s.node_name), None);
    let main = pods
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"phase": "Failed"}, "metadata": {"labels": {"a": "b"}}}),
            ),
        )
        .await?;
    assert_eq!(
        main.status.and_then(|s| s.phase).as_deref(),
        Some("Running")
    );
    assert_eq!(
        pods.get_status("p").await?.metadata.labels.map(|l| l.len()),
        Some(1)
    );
    // views have no status subresource: 404
    let ar = ResourceKind::view("test", "HealthView").api_resource();
    let views: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let mut v = DynamicObject::new("v", &ar);
    v.data = json!({"status": {"ok": true}});
    let created = views.create(&PostParams::default(), &v).await?;
    assert_eq!(created.data["status"]["ok"], true);
    match views.get_status("v").await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 404),
        other => panic!("expected 404, got {other:?}"),
    }
    // kube-rs streaming lists (sendInitialEvents + the initial-events-end bookmark)
    let mut w = watcher(views, watcher::Config::default().streaming_lists()).boxed();
    let mut got = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(5), w.next()).await {
        match ev? {
            watcher::Event::Init => got.push("Init".to_string()),
            watcher::Event::InitApply(o) => got.push(o.metadata.name.unwrap_or_default()),
            watcher::Event::InitDone => {
                got.push("InitDone".to_string());
                break;
            }
            e => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(got, vec!["Init", "v", "InitDone"]);
    Ok(())
}
