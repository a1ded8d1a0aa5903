//! The embedded API server driven by the kube client: CRUD, patches, selectors, errors, watches.

#![allow(clippy::panic)]

use std::time::Duration;

use deltaloop_connectors::apiserver::{ApiServer, ResourceKind, Store};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::runtime::watcher;
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn view_kind() -> ResourceKind {
    ResourceKind::view("test", "HealthView").with_short_names(&["hv"])
}

fn store() -> Store {
    let s = Store::with_native_kinds();
    s.register(view_kind());
    s
}

fn view(name: &str, x: i64) -> DynamicObject {
    let ar = view_kind().api_resource();
    let mut o = DynamicObject::new(name, &ar);
    o.data = json!({"spec": {"x": x}});
    o
}

fn api_err(e: kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

async fn with_timeout<F: std::future::Future>(f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(10), f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out"),
    }
}

#[tokio::test]
async fn native_crud_over_loopback_tcp() -> TestResult {
    let server = ApiServer::new(store())
        .serve("127.0.0.1:0".parse()?)
        .await?;
    let client = server.client().await?;
    let v = client.apiserver_version().await?;
    assert_eq!(v.minor, "32");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("cm1".into());
    cm.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    cm.data = Some([("a".to_string(), "1".to_string())].into());
    let created = cms.create(&PostParams::default(), &cm).await?;
    let rv1 = created
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    assert!(!rv1.is_empty());
    assert!(created.metadata.uid.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    // duplicate create: 409 AlreadyExists
    assert_eq!(
        cms.create(&PostParams::default(), &cm)
            .await
            .err()
            .and_then(api_err),
        Some(409)
    );
    // replace with the current resourceVersion, then a stale one: 409 Conflict
    let mut upd = created.clone();
    upd.data = Some([("a".to_string(), "2".to_string())].into());
    let replaced = cms.replace("cm1", &PostParams::default(), &upd).await?;
    assert_ne!(
        replaced.metadata.resource_version.as_deref(),
        Some(rv1.as_str())
    );
    assert_eq!(replaced.metadata.generation, Some(2));
    let err = cms.replace("cm1", &PostParams::default(), &upd).await.err();
    match err {
        Some(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
            assert!(s.message.contains("the object has been modified"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // merge, strategic (native kind: accepted), json patch, apply
    cms.patch(
        "cm1",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"b": "x"}})),
    )
    .await?;
    cms.patch(
        "cm1",
        &PatchParams::default(),
        &Patch::Strategic(json!({"data": {"c": "y"}})),
    )
    .await?;
    let jp: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/data/a", "value": "3"}]))?;
    cms.patch("cm1", &PatchParams::default(), &Patch::Json::<()>(jp))
        .await?;
    let applied = cms
        .patch(
            "cm1",
            &PatchParams::apply("tester").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": "cm1"}, "data": {"d": "z"}})),
        )
        .await?;
    let data = applied.data.unwrap_or_default();
    assert_eq!(data.get("a").map(String::as_str), Some("3"));
    assert_eq!(data.get("b").map(String::as_str), Some("x"));
    assert_eq!(data.get("c").map(String::as_str), Some("y"));
    assert_eq!(data.get("d").map(String::as_str), Some("z"));
    // apply creates when absent
    let created2 = cms
        .patch(
            "cm2",
            &PatchParams::apply("tester"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": "cm2", "labels": {"app": "db"}}})),
        )
        .await?;
    assert_eq!(created2.metadata.name.as_deref(), Some("cm2"));
    // selectors
    let web = cms.list(&ListParams::default().labels("app=web")).await?;
    assert_eq!(web.items.len(), 1);
    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=cm2"))
        .await?;
    assert_eq!(by_name.items.len(), 1);
    let not_web = cms.list(&ListParams::default().labels("app!=web")).await?;
    assert_eq!(not_web.items.len(), 1);
    assert_eq!(
        cms.list(&ListParams::default().fields("data.a=1"))
            .await
            .err()
            .and_then(api_err),
        Some(400)
    );
    // get of a missing object: 404 with a kubectl-style message
    match cms.get("nope").await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
            assert_eq!(s.message, "configmaps \"nope\" not found");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    // delete and deletecollection
    let gone = cms.delete("cm1", &DeleteParams::default()).await?;
    assert!(gone.is_right());
    cms.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    assert!(cms.list(&ListParams::default()).await?.items.is_empty());
    Ok(())
}

#[tokio::test]
async fn view_kind_in_process_router() -> TestResult {
    let server = ApiServer::new(store());
    let client = server.client();
    let ar = view_kind().api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let created = api.create(&PostParams::default(), &view("v1", 1)).await?;
    let uid = created.metadata.uid.clone().unwrap_or_default();
    assert_eq!(
        uid,
        deltaloop_connectors::apiserver::kinds::view_uid(
            "test.view.dcontroller.io",
            "v1alpha1",
            "HealthView",
            "default",
            "v1"
        )
    );
    // strategic merge on a view: 415
    let err = api
        .patch(
            "v1",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"x": 2}})),
        )
        .await
        .err()
        .and_then(api_err);
    assert_eq!(err, Some(415));
    let patched = api
        .patch(
            "v1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"x": 2}})),
        )
        .await?;
    assert_eq!(patched.data["spec"]["x"], 2);
    assert_eq!(patched.metadata.generation, Some(2));
    // a no-op patch changes nothing
    let same = api
        .patch(
            "v1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"x": 2}})),
        )
        .await?;
    assert_eq!(
        same.metadata.resource_version,
        patched.metadata.resource_version
    );
    // a label change does not bump the generation
    let labeled = api
        .patch(
            "v1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}})),
        )
        .await?;
    assert_eq!(labeled.metadata.generation, Some(2));
    // kube-rs discovery finds the view kind
    let discovery = kube::Discovery::new(client.clone()).run().await?;
    let gvk =
        kube::core::GroupVersionKind::gvk("test.view.dcontroller.io", "v1alpha1", "HealthView");
    let (found, caps) = discovery
        .resolve_gvk(&gvk)
        .ok_or("view kind not discovered")?;
    assert_eq!(found.plural, "healthviews");
    assert!(caps.supports_operation("watch"));
    // the finalizer flow: JSON-patch test of a missing member equals null
    let add = json!([{"op": "test", "path": "/metadata/finalizers", "value": null},
                     {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/hold"]}]);
    api.patch(
        "v1",
        &PatchParams::default(),
        &Patch::Json::<()>(serde_json::from_value(add)?),
    )
    .await?;
    let pending = api.delete("v1", &DeleteParams::default()).await?;
    let obj = pending
        .left()
        .ok_or("expected the object back while finalizers remain")?;
    assert!(obj.metadata.deletion_timestamp.is_some());
    assert!(api.get("v1").await.is_ok());
    let remove = json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "example.com/hold"},
                        {"op": "remove", "path": "/metadata/finalizers/0"}]);
    api.patch(
        "v1",
        &PatchParams::default(),
        &Patch::Json::<()>(serde_json::from_value(remove)?),
    )
    .await?;
    assert_eq!(api.get("v1").await.err().and_then(api_err), Some(404));
    Ok(())
}

#[tokio::test]
async fn raw_watch_resume_and_expired() -> TestResult {
    let store = store();
    let client = ApiServer::new(store.clone()).client();
    let ar = view_kind().api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let a = api.create(&PostParams::default(), &view("a", 1)).await?;
    let rv_a = a.metadata.resource_version.clone().unwrap_or_default();
    api.create(&PostParams::default(), &view("b", 1)).await?;
    api.delete("a", &DeleteParams::default()).await?;
    // resume after "a" was created: ADDED b, DELETED a
    let mut w = api
        .watch(&WatchParams::default().timeout(2), &rv_a)
        .await?
        .boxed();
    let mut seen = Vec::new();
    while let Some(ev) = with_timeout(w.next()).await {
        match ev? {
            WatchEvent::Added(o) => {
                seen.push(format!("ADDED {}", o.metadata.name.unwrap_or_default()))
            }
            WatchEvent::Deleted(o) => {
                seen.push(format!("DELETED {}", o.metadata.name.unwrap_or_default()))
            }
            WatchEvent::Modified(o) => {
                seen.push(format!("MODIFIED {}", o.metadata.name.unwrap_or_default()))
            }
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(seen, vec!["ADDED b", "DELETED a"]);
    // after compaction the old resourceVersion is an in-stream 410
    store.compact();
    let mut w = api
        .watch(&WatchParams::default().timeout(2), &rv_a)
        .await?
        .boxed();
    match with_timeout(w.next()).await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected an in-stream 410, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn watcher_init_live_and_relist_after_410() -> TestResult {
    let store = store();
    let server = ApiServer::new(store.clone())
        .serve("127.0.0.1:0".parse()?)
        .await?;
    let client = server.client().await?;
    let ar = view_kind().api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    api.create(&PostParams::default(), &view("pre", 1)).await?;
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    let mut next = async || -> Result<watcher::Event<DynamicObject>, Box<dyn std::error::Error>> {
        loop {
            match with_timeout(events.next()).await {
                Some(Ok(e)) => return Ok(e),
                Some(Err(e)) => eprintln!("watcher error (retried): {e}"),
                None => return Err("watcher ended".into()),
            }
        }
    };
    let name = |o: &DynamicObject| o.metadata.name.clone().unwrap_or_default();
    assert!(matches!(next().await?, watcher::Event::Init));
    match next().await? {
        watcher::Event::InitApply(o) => assert_eq!(name(&o), "pre"),
        e => panic!("expected InitApply, got {e:?}"),
    }
    assert!(matches!(next().await?, watcher::Event::InitDone));
    api.create(&PostParams::default(), &view("live", 1)).await?;
    match next().await? {
        watcher::Event::Apply(o) => assert_eq!(name(&o), "live"),
        e => panic!("expected Apply, got {e:?}"),
    }
    // a server-side disconnect: the watcher re-watches from its resourceVersion (no re-list)
    store.disconnect_watches();
    api.delete("pre", &DeleteParams::default()).await?;
    match next().await? {
        watcher::Event::Delete(o) => assert_eq!(name(&o), "pre"),
        e => panic!("expected Delete, got {e:?}"),
    }
    // compaction + disconnect: the re-watch gets an in-stream 410 and the watcher re-lists
    store.compact();
    store.disconnect_watches();
    tokio::time::sleep(Duration::from_millis(50)).await;
    api.create(&PostParams::default(), &view("after", 1))
        .await?;
    store.compact();
    let mut saw_init = false;
    let mut names = Vec::new();
    for _ in 0..10 {
        match next().await? {
            watcher::Event::Init => saw_init = true,
            watcher::Event::InitApply(o) => names.push(name(&o)),
            watcher::Event::InitDone if saw_init => break,
            _ => {}
        }
    }
    assert!(saw_init, "the watcher re-listed");
    names.sort();
    assert_eq!(names, vec!["after", "live"]);
    Ok(())
}
