//! End to end: an Endpoints-style controller (Pods ⋈ Services → grouped addresses) running
//! on the controller runtime against the embedded API server, driven by the real kubectl.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use deltaloop_connectors::parse_operator;
use deltaloop_connectors::runtime::start_operator;
use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use crate::kube_connectors::server;

const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";

const OPERATOR: &str = r#"
apiVersion: dcontroller.io/v1alpha1
kind: Operator
metadata: {name: endpoints}
spec:
  controllers:
    - name: endpoints
      sources:
        - {apiGroup: "", kind: Pod}
        - {apiGroup: "", kind: Service}
      pipeline:
        - "@join":
            "@and":
              - "@eq": ["$.Pod.metadata.labels.app", "$.Service.spec.selector.app"]
              - "@eq": ["$.Pod.metadata.namespace", "$.Service.metadata.namespace"]
        - "@select": {"@eq": ["$.Pod.status.phase", "Running"]}
        - "@project":
            service: "$.Service.metadata.name"
            namespace: "$.Service.metadata.namespace"
            ip: "$.Pod.status.podIP"
            node: "$.Pod.spec.nodeName"
        - "@groupBy":
            - {name: "$.service", namespace: "$.namespace"}
            - {ip: "$.ip", nodeName: "$.node"}
        - "@project":
            apiVersion: v1
            kind: Endpoints
            metadata: "$.key"
            subsets:
              - addresses: "$.values"
      targets:
        - {apiGroup: "", kind: Endpoints}
"#;

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut cmd = tokio::process::Command::new(KUBECTL);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(text.as_bytes()).await.unwrap();
            drop(pipe);
        }
        let out = child.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Polls `check` every 5 ms until it holds (fails after 5 s with `what`).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The sorted addresses `ip@node` of Endpoints `name`, `None` when absent.
async fn addresses(api: &Api<DynamicObject>, name: &str) -> Option<Vec<String>> {
    let ep = api.get_opt(name).await.ok()??;
    let mut out: Vec<String> = ep.data["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["addresses"].as_array().cloned().unwrap_or_default())
        .map(|a| {
            format!(
                "{}@{}",
                a["ip"].as_str().unwrap_or(""),
                a["nodeName"].as_str().unwrap_or("")
            )
        })
        .collect();
    out.sort();
    Some(out)
}

fn pod_yaml(name: &str, app: &str, node: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default, labels: {{app: {app}}}}}\n\
         spec: {{nodeName: {node}, containers: [{{name: c, image: nginx}}]}}\n"
    )
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n\
                       spec: {selector: {app: web}, ports: [{port: 80}]}\n";

fn status_patch(phase: &str, ip: &str) -> String {
    json!({"status": {"phase": phase, "podIP": ip}}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_controller_driven_by_kubectl() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("SKIPPED endpoints_controller_driven_by_kubectl: {KUBECTL} is absent");
        return;
    }
    let (server, client) = server().await;
    let dir = std::env::temp_dir().join(format!("deltaloop-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.kubeconfig().write(&kubeconfig).unwrap();
    let k = Kubectl {
        kubeconfig,
        cache: dir.join("cache"),
    };

    let plan = parse_operator(OPERATOR).unwrap();
    let (errors_tx, mut errors_rx) = tokio::sync::mpsc::channel(64);
    let (running, failed) = start_operator(client.clone(), &plan, Some(errors_tx)).await;
    assert!(failed.is_empty(), "{failed:?}");
    let stats = running[0].stats();

    let eps: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("", "v1", "Endpoints"),
            "endpoints",
        ),
    );

    // creation: a Service and a Running Pod → Endpoints with the pod's address
    k.run(&["apply", "-f", "-"], Some(SERVICE)).await;
    k.run(&["apply", "-f", "-"], Some(&pod_yaml("web-1", "web", "n1")))
        .await;
    k.run(&["apply", "-f", "-"], Some(&pod_yaml("web-2", "web", "n2")))
        .await;
    k.run(
        &[
            "patch",
            "pod",
            "web-1",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status_patch("Running", "10.0.0.1"),
        ],
        None,
    )
    .await;
    k.run(
        &[
            "patch",
            "pod",
            "web-2",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status_patch("Running", "10.0.0.2"),
        ],
        None,
    )
    .await;
    let both = Some(vec!["10.0.0.1@n1".to_owned(), "10.0.0.2@n2".to_owned()]);
    eventually("endpoints with both pods", || async {
        addresses(&eps, "web").await == both
    })
    .await;
    let got = k
        .run(&["get", "endpoints", "web", "-o", "json"], None)
        .await;
    assert!(
        got.contains("10.0.0.1") && got.contains("10.0.0.2"),
        "{got}"
    );

    // a pod phase flip removes and restores its address
    k.run(
        &[
            "patch",
            "pod",
            "web-2",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status_patch("Pending", "10.0.0.2"),
        ],
        None,
    )
    .await;
    eventually("web-2 gone", || async {
        addresses(&eps, "web").await == Some(vec!["10.0.0.1@n1".to_owned()])
    })
    .await;
    k.run(
        &[
            "patch",
            "pod",
            "web-2",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status_patch("Running", "10.0.0.2"),
        ],
        None,
    )
    .await;
    eventually("web-2 back", || async {
        addresses(&eps, "web").await == both
    })
    .await;

    // adversarial delete: restored
    k.run(&["delete", "endpoints", "web"], None).await;
    eventually("endpoints restored after kubectl delete", || async {
        addresses(&eps, "web").await == both
    })
    .await;

    // adversarial edit (kubectl patch and kubectl replace): undone
    k.run(
        &[
            "patch",
            "endpoints",
            "web",
            "--type=merge",
            "-p",
            r#"{"subsets":[{"addresses":[{"ip":"6.6.6.6"}]}]}"#,
        ],
        None,
    )
    .await;
    eventually("endpoints restored after kubectl patch", || async {
        addresses(&eps, "web").await == both
    })
    .await;
    let mut edited: serde_json::Value = serde_json::from_str(
        &k.run(&["get", "endpoints", "web", "-o", "json"], None)
            .await,
    )
    .unwrap();
    edited["subsets"][0]["addresses"][0]["ip"] = json!("7.7.7.7");
    k.run(&["replace", "-f", "-"], Some(&edited.to_string()))
        .await;
    eventually("endpoints restored after kubectl replace", || async {
        addresses(&eps, "web").await == both
    })
    .await;

    // quiescence: no writes while nothing changes
    tokio::time::sleep(Duration::from_millis(200)).await;
    let writes = stats.writes();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stats.writes(), writes, "a quiescent loop wrote");

    // service deletion removes the Endpoints
    k.run(&["delete", "service", "web"], None).await;
    eventually("endpoints deleted with the service", || async {
        addresses(&eps, "web").await.is_none()
    })
    .await;
    let listed = k.run(&["get", "endpoints"], None).await;
    assert!(!listed.contains("web"), "{listed}");

    // latency: Pod turns Running (status write acknowledged) → its address in the Endpoints
    k.run(&["apply", "-f", "-"], Some(SERVICE)).await;
    let pods: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("", "v1", "Pod"),
            "pods",
        ),
    );
    let ep_events = watcher(eps.clone(), watcher::Config::default()).applied_objects();
    futures::pin_mut!(ep_events);
    let mut samples = Vec::new();
    for i in 0..50 {
        let name = format!("lat-{i}");
        let ip = format!("10.1.0.{i}");
        let pod: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x"}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        let start = Instant::now();
        pods.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running", "podIP": ip}})),
        )
        .await
        .unwrap();
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(5), ep_events.next())
                .await
                .expect("no Endpoints write within 5 s")
                .expect("watch ended")
                .expect("watch error");
            if ev.metadata.name.as_deref() == Some("web")
                && ev.data.to_string().contains(&format!("\"{ip}\""))
            {
                break;
            }
        }
        samples.push(start.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let p99 = samples[(samples.len() * 99).div_ceil(100) - 1];
    println!(
        "END-TO-END LATENCY Pod Running → Endpoints write ({} samples, loopback, debug build): median {:.2} ms, p99 {:.2} ms",
        samples.len(),
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    assert_eq!(addresses(&eps, "web").await.map(|a| a.len()), Some(52));

    let mut reported = Vec::new();
    while let Ok(r) = errors_rx.try_recv() {
        reported.push(r);
    }
    assert!(reported.is_empty(), "errors reported: {reported:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
