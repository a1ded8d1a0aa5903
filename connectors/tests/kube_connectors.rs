//! Sources and targets through the embedded API server with the real kube client over
//! loopback TCP: watch deltas, forced disconnects and 410 re-lists, every target mode.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use deltaloop_connectors::apiserver::{ApiServer, RunningServer, Store};
use deltaloop_connectors::source::{Gvk, WatchSource, resolve};
use deltaloop_connectors::{Backoff, Reporter, Target, TargetMode, TrackerOptions};
use deltaloop_engine::{ZSet, zset};
use deltaloop_pipeline::Value;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::json;
use tokio::sync::mpsc;

pub(crate) async fn server() -> (RunningServer, kube::Client) {
    let server = ApiServer::new(Store::with_native_kinds())
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = server.client().await.unwrap();
    (server, client)
}

fn cm(name: &str, v: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"}, "data": {"v": v}
    }))
    .unwrap()
}

/// name → data.v of an integral of ConfigMap deltas; panics on a weight other than 1.
fn state(integral: &ZSet<Value>) -> BTreeMap<String, String> {
    integral
        .iter()
        .map(|(d, w)| {
            assert_eq!(w, 1, "weight {w} for {d}: a duplicate or phantom delta");
            let name = d
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap();
            let v = d
                .get("data")
                .and_then(|m| m.get("v"))
                .and_then(Value::as_str)
                .unwrap_or("");
            (name.to_owned(), v.to_owned())
        })
        .collect()
}

struct Collector {
    rx: mpsc::Receiver<ZSet<Value>>,
    integral: ZSet<Value>,
    deltas: usize,
}

impl Collector {
    /// Receives deltas until the state equals `want` (or fails after 5 s).
    async fn until(&mut self, want: &[(&str, &str)]) {
        let want: BTreeMap<String, String> = want
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while state(&self.integral) != want {
            let d = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out: have {:?}, want {want:?}", state(&self.integral))
                })
                .unwrap();
            self.integral.add_assign(&d);
            self.deltas += 1;
        }
    }

    /// Asserts that no delta arrives for `ms`.
    async fn quiet(&mut self, ms: u64) {
        if let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(ms), self.rx.recv()).await {
            panic!("unexpected delta {d:?}");
        }
    }
}

#[tokio::test]
async fn watch_source_deltas_survive_disconnects_and_410() {
    let (server, client) = server().await;
    let resolved = resolve(&client, &Gvk::new("", "v1", "ConfigMap"))
        .await
        .unwrap();
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &resolved.resource);
    api.create(&PostParams::default(), &cm("pre", "0"))
        .await
        .unwrap();

    let source = WatchSource::new(
        client.clone(),
        &resolved,
        Some("default"),
        None,
        TrackerOptions::default(),
    )
    .with_backoff(Backoff::new(
        Duration::from_millis(10),
        Duration::from_millis(100),
    ));
    let stats = source.stats();
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(source.run(tx, Reporter::log_only("test")));
    let mut c = Collector {
        rx,
        integral: ZSet::new(),
        deltas: 0,
    };

    // initial list, then create / update / delete
    c.until(&[("pre", "0")]).await;
    api.create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap();
    c.until(&[("pre", "0"), ("a", "1")]).await;
    api.replace("a", &PostParams::default(), &{
        let mut o = api.get("a").await.unwrap();
        o.data["data"]["v"] = json!("2");
        o
    })
    .await
    .unwrap();
    c.until(&[("pre", "0"), ("a", "2")]).await;
    api.delete("pre", &DeleteParams::default()).await.unwrap();
    c.until(&[("a", "2")]).await;
    c.quiet(100).await;

    // server-side disconnect: the watch resumes, nothing is re-emitted, later events flow
    let lists = stats.lists();
    server.store().disconnect_watches();
    c.quiet(200).await;
    api.create(&PostParams::default(), &cm("b", "1"))
        .await
        .unwrap();
    c.until(&[("a", "2"), ("b", "1")]).await;

    // 410: a write elsewhere moves the server past the watch's resourceVersion, the history
    // is compacted, the watch is cut → it resumes from a compacted version, gets an in-stream
    // 410, re-lists; the world it watches did not change, so the re-list emits nothing
    let other: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "other", &resolved.resource);
    other
        .create(&PostParams::default(), &{
            let mut o = cm("elsewhere", "1");
            o.metadata.namespace = Some("other".into());
            o
        })
        .await
        .unwrap();
    server.store().compact();
    server.store().disconnect_watches();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while stats.lists() == lists {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no re-list after 410"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.quiet(200).await;
    // …and the watch is live again: the exact changes keep coming
    api.delete("a", &DeleteParams::default()).await.unwrap();
    api.create(&PostParams::default(), &cm("c", "3"))
        .await
        .unwrap();
    c.until(&[("b", "1"), ("c", "3")]).await;
    assert_eq!(state(&c.integral).len(), 2);
    task.abort();
}

fn v(j: serde_json::Value) -> Value {
    Value::from(&j)
}

async fn target(client: &kube::Client, gvk: Gvk, mode: TargetMode) -> Target {
    let resolved = resolve(client, &gvk).await.unwrap();
    Target::new(client.clone(), resolved, mode, Reporter::log_only("test"))
}

#[tokio::test]
async fn updater_creates_replaces_deletes_and_writes_status() {
    let (_server, client) = server().await;
    let mut t = target(
        &client,
        Gvk::new("", "v1", "ConfigMap"),
        TargetMode::Updater,
    )
    .await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &t.resolved().resource);
    let a1 = v(json!({"metadata": {"name": "a", "namespace": "default"}, "data": {"v": "1"}}));
    let a2 = v(json!({"metadata": {"name": "a", "namespace": "default"}, "data": {"v": "2"}}));
    t.apply(&zset! { a1.clone() => 1 }).await;
    assert_eq!(api.get("a").await.unwrap().data["data"]["v"], "1");
    t.apply(&zset! { a1.clone() => 1 }).await; // same content: no write
    assert_eq!(t.stats().skipped, 1);
    t.apply(&zset! { a1 => -1, a2.clone() => 1 }).await;
    assert_eq!(api.get("a").await.unwrap().data["data"]["v"], "2");
    t.apply(&zset! { a2 => -1 }).await;
    assert!(api.get_opt("a").await.unwrap().is_none());
    assert_eq!(
        (
            t.stats().created,
            t.stats().updated,
            t.stats().deleted,
            t.stats().failed
        ),
        (1, 1, 1, 0)
    );

    // status through the status subresource (Pod has one)
    let mut p = target(&client, Gvk::new("", "v1", "Pod"), TargetMode::Updater).await;
    let pods: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &p.resolved().resource);
    let pod = v(json!({"metadata": {"name": "p", "namespace": "default"},
                       "spec": {"containers": [{"name": "c", "image": "x"}]},
                       "status": {"phase": "Running", "podIP": "10.0.0.1"}}));
    p.apply(&zset! { pod => 1 }).await;
    assert_eq!(p.stats().failed, 0);
    assert_eq!(
        pods.get("p").await.unwrap().data["status"]["phase"],
        "Running"
    );
}

#[tokio::test]
async fn patcher_merges_and_removes_only_its_fields() {
    let (_server, client) = server().await;
    let mut t = target(
        &client,
        Gvk::new("", "v1", "ConfigMap"),
        TargetMode::Patcher,
    )
    .await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &t.resolved().resource);
    let mut theirs = cm("a", "theirs");
    theirs.data["data"]["keep"] = json!("x");
    api.create(&PostParams::default(), &theirs).await.unwrap();
    let owned = v(
        json!({"metadata": {"name": "a", "namespace": "default", "annotations": {"mine": "1"}},
                         "data": {"v": "ours"}}),
    );
    t.apply(&zset! { owned.clone() => 1 }).await;
    let got = api.get("a").await.unwrap();
    assert_eq!(got.data["data"], json!({"v": "ours", "keep": "x"}));
    assert_eq!(got.metadata.annotations.unwrap()["mine"], "1");
    t.apply(&zset! { owned => -1 }).await;
    let got = api.get("a").await.unwrap();
    assert_eq!(got.data["data"], json!({"keep": "x"}));
    assert!(
        !got.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("mine")
    );
    // NotFound → created
    let fresh = v(json!({"metadata": {"name": "new", "namespace": "default"}, "data": {"v": "1"}}));
    t.apply(&zset! { fresh => 1 }).await;
    assert_eq!(api.get("new").await.unwrap().data["data"]["v"], "1");
    assert_eq!(t.stats().failed, 0);
}

#[tokio::test]
async fn setter_and_server_side_apply() {
    let (_server, client) = server().await;
    let mut s = target(&client, Gvk::new("", "v1", "ConfigMap"), TargetMode::Setter).await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &s.resolved().resource);
    api.create(&PostParams::default(), &cm("stray", "0"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("a", "old"))
        .await
        .unwrap();
    let a = v(json!({"metadata": {"name": "a", "namespace": "default"}, "data": {"v": "1"}}));
    let b = v(json!({"metadata": {"name": "b", "namespace": "default"}, "data": {"v": "2"}}));
    s.set(&zset! { a => 1, b => 1 }).await;
    let mut names: Vec<String> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| {
            format!(
                "{}={}",
                o.metadata.name.unwrap_or_default(),
                o.data["data"]["v"].as_str().unwrap_or("")
            )
        })
        .collect();
    names.sort();
    assert_eq!(names, vec!["a=1", "b=2"]);
    // a non-positive entry is an error, reported, and nothing is written
    let bad = v(json!({"metadata": {"name": "z", "namespace": "default"}}));
    s.set(&zset! { bad => -1 }).await;
    assert_eq!(s.stats().failed, 1);

    let mut ssa = target(&client, Gvk::new("", "v1", "ConfigMap"), TargetMode::Apply).await;
    let c = v(json!({"metadata": {"name": "c", "namespace": "default"}, "data": {"v": "applied"}}));
    ssa.apply(&zset! { c.clone() => 1 }).await;
    assert_eq!(api.get("c").await.unwrap().data["data"]["v"], "applied");
    ssa.apply(&zset! { c => -1 }).await;
    assert!(api.get_opt("c").await.unwrap().is_none());
    assert_eq!(ssa.stats().failed, 0);
}
