//! The embedded API server driven by the real kubectl 1.32 (kubernetes.md §6). Skipped, with a
//! printed reason, when the binary is absent.

#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deltaloop_connectors::apiserver::{
    ApiServer, ApiServerConfig, Kubeconfig, ResourceKind, RunningServer, Store,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";
pub(crate) const G: &str = "test.view.dcontroller.io";
const R: &str = "healthviews.test.view.dcontroller.io";

/// The kubectl binary: `$DELTALOOP_KUBECTL`, else the pinned 1.32; `None` (with a printed
/// reason) when absent.
pub(crate) fn kubectl_binary() -> Option<PathBuf> {
    let p = std::env::var_os("DELTALOOP_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(KUBECTL));
    if p.is_file() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: kubectl acceptance test: {} not found (set DELTALOOP_KUBECTL)",
            p.display()
        );
        None
    }
}

/// A fresh temporary directory, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> std::io::Result<Self> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "deltaloop-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// kubectl with its own kubeconfig and a fresh cache directory.
pub(crate) struct Kubectl {
    bin: PathBuf,
    dir: TempDir,
}

/// One kubectl run.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Out {
    pub(crate) fn ok(self) -> Result<String, String> {
        if self.code == 0 {
            Ok(self.stdout)
        } else {
            Err(format!(
                "exit {}: {}{}",
                self.code, self.stdout, self.stderr
            ))
        }
    }
}

impl Kubectl {
    pub(crate) fn new(
        bin: PathBuf,
        kubeconfig: &Kubeconfig,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let dir = TempDir::new("kubectl")?;
        kubeconfig.write(&dir.path().join("kubeconfig"))?;
        Ok(Kubectl { bin, dir })
    }

    pub(crate) fn file(&self, name: &str, content: &str) -> Result<String, std::io::Error> {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content)?;
        Ok(p.display().to_string())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .arg("--request-timeout=10s")
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Result<Out, Box<dyn std::error::Error>> {
        let out = tokio::time::timeout(Duration::from_secs(30), self.command(args).output())
            .await
            .map_err(|_| format!("kubectl {args:?} timed out"))??;
        Ok(Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs and requires exit 0; returns stdout.
    pub(crate) async fn ok(&self, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self
            .run(args)
            .await?
            .ok()
            .map_err(|e| format!("kubectl {args:?}: {e}"))?)
    }
}

fn view_kind() -> ResourceKind {
    ResourceKind::view("test", "HealthView").with_short_names(&["hv"])
}

async fn start(store: Store) -> Result<RunningServer, Box<dyn std::error::Error>> {
    let config = ApiServerConfig {
        bookmark_interval: Duration::from_millis(500),
        ..ApiServerConfig::default()
    };
    Ok(ApiServer::with_config(store, config)
        .serve("127.0.0.1:0".parse()?)
        .await?)
}

fn view_yaml(name: &str, x: i64, labels: &str) -> String {
    format!(
        "apiVersion: {G}/v1alpha1\nkind: HealthView\nmetadata:\n  name: {name}\n  labels: \
         {{{labels}}}\nspec:\n  x: {x}\nstatus:\n  conditions:\n  - type: Ready\n    status: \
         \"True\"\n"
    )
}

/// Waits for a line containing `needle` on a child's stdout.
async fn expect_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    needle: &str,
    seen: &mut Vec<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .map_err(|_| format!("no line with {needle:?} within 10s; saw {seen:?}"))??
            .ok_or_else(|| format!("stream ended before {needle:?}; saw {seen:?}"))?;
        seen.push(line.clone());
        if line.contains(needle) {
            return Ok(());
        }
    }
}

#[tokio::test]
async fn kubectl_discovery_reads_and_writes_on_a_view() -> TestResult {
    let Some(bin) = kubectl_binary() else {
        return Ok(());
    };
    let store = Store::with_native_kinds();
    store.register(view_kind());
    let server = start(store.clone()).await?;
    let k = Kubectl::new(bin, &server.kubeconfig())?;

    // version and discovery
    let v: serde_json::Value = serde_json::from_str(&k.ok(&["version", "-o", "json"]).await?)?;
    let git = v["serverVersion"]["gitVersion"].as_str().unwrap_or("");
    assert!(git.starts_with("v1.32."), "{git}");
    assert!(
        k.ok(&["api-versions"])
            .await?
            .contains(&format!("{G}/v1alpha1"))
    );
    let res = k
        .ok(&["api-resources", &format!("--api-group={G}"), "-o", "wide"])
        .await?;
    assert!(
        res.contains("healthviews") && res.contains("HealthView") && res.contains("watch"),
        "{res}"
    );
    let raw = k
        .ok(&["get", "--raw", &format!("/apis/{G}/v1alpha1")])
        .await?;
    assert!(raw.contains("\"kind\":\"APIResourceList\""), "{raw}");
    let oa: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "--raw", "/openapi/v3"]).await?)?;
    assert!(
        oa["paths"].get(format!("apis/{G}/v1alpha1")).is_some(),
        "{oa}"
    );

    // apply: created, configured, serverside-applied
    let f1 = k.file("view.yaml", &view_yaml("hv1", 1, "app: web"))?;
    assert!(k.ok(&["apply", "-f", &f1]).await?.contains("created"));
    let f1b = k.file("view-changed.yaml", &view_yaml("hv1", 2, "app: web"))?;
    assert!(k.ok(&["apply", "-f", &f1b]).await?.contains("configured"));
    assert!(
        k.ok(&["apply", "--server-side", "-f", &f1b])
            .await?
            .contains("serverside-applied")
    );
    assert!(
        k.ok(&["apply", "--validate=false", "-f", &f1b])
            .await?
            .contains("unchanged")
    );
    let f2 = k.file("view2.yaml", &view_yaml("hv2", 1, "app: db"))?;
    assert!(k.ok(&["create", "-f", &f2]).await?.contains("created"));

    // reads
    let table = k.ok(&["get", R]).await?;
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("CONDITIONS") && table.contains("AGE"),
        "{table}"
    );
    assert!(
        table.contains("hv1") && table.contains("hv2") && table.contains("Ready:True"),
        "{table}"
    );
    let all = k.ok(&["get", "hv", "-A"]).await?;
    assert!(all.starts_with("NAMESPACE"), "{all}");
    let wide = k.ok(&["get", R, "-o", "wide"]).await?;
    assert!(
        wide.contains("LABELS") && wide.contains("app=web"),
        "{wide}"
    );
    let yaml = k.ok(&["get", R, "-o", "yaml"]).await?;
    assert!(
        yaml.contains(&format!("apiVersion: {G}/v1alpha1")) && yaml.contains("kind: HealthView")
    );
    let one: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", R, "hv1", "-o", "json"]).await?)?;
    assert_eq!(one["spec"]["x"], 2);
    assert!(
        !one["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    let ready = k
        .ok(&[
            "get",
            R,
            "hv1",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .await?;
    assert_eq!(ready, "True");
    let names = k.ok(&["get", R, "-o", "name"]).await?;
    assert_eq!(names, format!("healthview.{G}/hv1\nhealthview.{G}/hv2\n"));
    let web = k.ok(&["get", R, "-l", "app=web", "-o", "name"]).await?;
    assert_eq!(web, format!("healthview.{G}/hv1\n"));
    let by_name = k
        .ok(&[
            "get",
            R,
            "--field-selector",
            "metadata.name=hv2",
            "-o",
            "name",
        ])
        .await?;
    assert_eq!(by_name, format!("healthview.{G}/hv2\n"));
    let chunked = k.ok(&["get", R, "--chunk-size=1", "-o", "name"]).await?;
    assert_eq!(chunked, names);
    let missing = k.run(&["get", R, "does-not-exist"]).await?;
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        format!("Error from server (NotFound): {R} \"does-not-exist\" not found")
    );

    // replace, stale replace, patches, label, annotate
    let v2 = k.ok(&["get", R, "hv2", "-o", "yaml"]).await?;
    let stale = k.file("v2-stale.yaml", &v2.replace("x: 1", "x: 5"))?;
    let fresh = k.file("v2.yaml", &v2.replace("x: 1", "x: 7"))?;
    assert!(k.ok(&["replace", "-f", &fresh]).await?.contains("replaced"));
    let conflict = k.run(&["replace", "-f", &stale]).await?;
    assert_eq!(conflict.code, 1);
    assert!(
        conflict.stderr.contains("the object has been modified"),
        "{}",
        conflict.stderr
    );
    assert!(
        k.ok(&[
            "patch",
            R,
            "hv2",
            "--type=merge",
            "-p",
            r#"{"spec":{"x":2}}"#
        ])
        .await?
        .contains("patched")
    );
    assert!(
        k.ok(&[
            "patch",
            R,
            "hv2",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/x","value":3}]"#
        ])
        .await?
        .contains("patched")
    );
    let smp = k
        .run(&["patch", R, "hv2", "-p", r#"{"spec":{"x":4}}"#])
        .await?;
    assert_eq!(smp.code, 1);
    assert!(
        smp.stderr
            .contains("application/strategic-merge-patch+json is not supported"),
        "{}",
        smp.stderr
    );
    assert!(
        k.ok(&["label", R, "hv2", "tier=web"])
            .await?
            .contains("labeled")
    );
    assert!(
        k.ok(&["annotate", R, "hv2", "note=x"])
            .await?
            .contains("annotated")
    );
    let x = k
        .ok(&[
            "get",
            R,
            "hv2",
            "-o",
            "jsonpath={.spec.x} {.metadata.labels.tier}",
        ])
        .await?;
    assert_eq!(x, "3 web");

    // raw protocol: bookmarks carry apiVersion/kind; the stream ends after timeoutSeconds
    let raw = k
        .ok(&[
            "get",
            "--raw",
            &format!("/apis/{G}/v1alpha1/namespaces/default/healthviews?watch=1&allowWatchBookmarks=true&timeoutSeconds=2"),
        ])
        .await?;
    let lines: Vec<serde_json::Value> = raw
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert!(
        lines.iter().filter(|l| l["type"] == "ADDED").count() == 2,
        "{raw}"
    );
    let bookmark = lines
        .iter()
        .find(|l| l["type"] == "BOOKMARK")
        .ok_or("no bookmark")?;
    assert_eq!(bookmark["object"]["kind"], "HealthView");
    assert_eq!(bookmark["object"]["apiVersion"], format!("{G}/v1alpha1"));

    // forced compaction: a watch from an old resourceVersion is one in-stream 410 line
    store.compact();
    let expired = k
        .ok(&[
            "get",
            "--raw",
            &format!("/apis/{G}/v1alpha1/namespaces/default/healthviews?watch=1&resourceVersion=1&timeoutSeconds=2"),
        ])
        .await?;
    let lines: Vec<&str> = expired.lines().collect();
    assert_eq!(lines.len(), 1, "{expired}");
    let e: serde_json::Value = serde_json::from_str(lines[0])?;
    assert_eq!(
        (e["type"].as_str(), e["object"]["code"].as_i64()),
        (Some("ERROR"), Some(410))
    );

    // the finalizer flow
    let fin = k.file(
        "fin.yaml",
        &format!("apiVersion: {G}/v1alpha1\nkind: HealthView\nmetadata:\n  name: fin\n  finalizers: [example.com/hold]\n"),
    )?;
    k.ok(&["apply", "-f", &fin]).await?;
    k.ok(&["delete", R, "fin", "--wait=false"]).await?;
    let ts = k
        .ok(&[
            "get",
            R,
            "fin",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ])
        .await?;
    assert!(!ts.is_empty());
    k.ok(&[
        "patch",
        R,
        "fin",
        "--type=json",
        "-p",
        r#"[{"op":"test","path":"/metadata/finalizers/0","value":"example.com/hold"},{"op":"remove","path":"/metadata/finalizers/0"}]"#,
    ])
    .await?;
    k.ok(&["wait", "--for=delete", &format!("{R}/fin"), "--timeout=10s"])
        .await?;

    // deletes: by name (waits until gone), by label, --all
    assert!(k.ok(&["delete", R, "hv2"]).await?.contains("deleted"));
    k.ok(&["apply", "-f", &f2]).await?;
    k.ok(&["delete", R, "-l", "app=db"]).await?;
    k.ok(&["delete", R, "--all"]).await?;
    let none = k.run(&["get", R]).await?;
    assert!(none.stderr.contains("No resources found"), "{none:?}");
    Ok(())
}

#[tokio::test]
async fn kubectl_get_watch_and_wait() -> TestResult {
    let Some(bin) = kubectl_binary() else {
        return Ok(());
    };
    let store = Store::with_native_kinds();
    store.register(view_kind());
    let server = start(store.clone()).await?;
    let k = Kubectl::new(bin, &server.kubeconfig())?;
    let f = k.file("w.yaml", &view_yaml("w1", 1, "app: web"))?;
    k.ok(&["apply", "-f", &f]).await?;
    let mut child = k
        .command(&["get", R, "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    expect_line(&mut lines, "ADDED", &mut seen).await?;
    k.ok(&["label", R, "w1", "x=y"]).await?;
    expect_line(&mut lines, "MODIFIED", &mut seen).await?;
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        &format!("{R}/w1"),
        "--timeout=15s",
    ])
    .await?;
    k.ok(&[
        "wait",
        "--for=jsonpath={.spec.x}=1",
        &format!("{R}/w1"),
        "--timeout=15s",
    ])
    .await?;
    k.ok(&["delete", R, "w1"]).await?;
    expect_line(&mut lines, "DELETED", &mut seen).await?;
    assert_eq!(
        seen.iter().filter(|l| l.starts_with("EVENT")).count(),
        1,
        "{seen:?}"
    );
    // the stream stays open
    assert!(child.try_wait()?.is_none(), "kubectl get -w ended early");
    child.kill().await?;

    // the same on a native kind (ConfigMap): create, strategic apply, label, patch, delete, watch
    let mut child = k
        .command(&["get", "configmaps", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let mut seen = Vec::new();
    assert!(
        k.ok(&["create", "configmap", "cm1", "--from-literal=a=1"])
            .await?
            .contains("created")
    );
    expect_line(&mut lines, "ADDED", &mut seen).await?;
    let cm = k.file(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\ndata:\n  a: \"1\"\n  b: \"2\"\n",
    )?;
    k.ok(&["apply", "-f", &cm]).await?;
    expect_line(&mut lines, "MODIFIED", &mut seen).await?;
    k.ok(&["label", "cm", "cm1", "x=y"]).await?;
    k.ok(&["patch", "cm", "cm1", "-p", r#"{"data":{"c":"3"}}"#])
        .await?;
    k.ok(&[
        "patch",
        "cm",
        "cm1",
        "--type=merge",
        "-p",
        r#"{"data":{"a":null}}"#,
    ])
    .await?;
    let data = k
        .ok(&["get", "cm", "cm1", "-o", "jsonpath={.data}"])
        .await?;
    let data: serde_json::Value = serde_json::from_str(&data)?;
    assert_eq!(data, serde_json::json!({"b": "2", "c": "3"}));
    let t = k.ok(&["get", "configmaps"]).await?;
    assert!(
        t.starts_with("NAME") && t.contains("DATA") && t.contains("cm1"),
        "{t}"
    );
    k.ok(&["delete", "cm", "cm1"]).await?;
    expect_line(&mut lines, "DELETED", &mut seen).await?;
    child.kill().await?;
    let ns = k.ok(&["get", "namespaces", "-o", "name"]).await?;
    assert!(ns.contains("namespace/default"), "{ns}");
    Ok(())
}

#[tokio::test]
async fn kubectl_typed_create_commands_send_protobuf() -> TestResult {
    let Some(bin) = kubectl_binary() else {
        return Ok(());
    };
    let server = start(Store::with_native_kinds()).await?;
    let k = Kubectl::new(bin, &server.kubeconfig())?;
    k.ok(&["create", "namespace", "team"]).await?;
    k.ok(&[
        "create",
        "secret",
        "generic",
        "s1",
        "--from-literal=k=v",
        "-n",
        "team",
    ])
    .await?;
    k.ok(&["create", "service", "clusterip", "svc1", "--tcp=80:8080"])
        .await?;
    k.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ])
    .await?;
    k.ok(&["run", "p1", "--image=busybox", "--labels=app=web"])
        .await?;
    let s = k
        .ok(&[
            "get",
            "secret",
            "s1",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.k}",
        ])
        .await?;
    assert_eq!(s, "dg==");
    let svc = k
        .ok(&[
            "get",
            "svc",
            "svc1",
            "-o",
            "jsonpath={.spec.ports[0].port}:{.spec.ports[0].targetPort}",
        ])
        .await?;
    assert_eq!(svc, "80:8080");
    let d = k
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}",
        ])
        .await?;
    assert_eq!(d, "2 nginx");
    // strategic merge by key: set image patches one container of the list
    k.ok(&["set", "image", "deployment/web", "nginx=nginx:2"])
        .await?;
    let d = k
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[*].image}",
        ])
        .await?;
    assert_eq!(d, "nginx:2");
    let p = k
        .ok(&["get", "pods", "-l", "app=web", "-o", "name"])
        .await?;
    assert_eq!(p, "pod/p1\n");
    let ns = k.ok(&["get", "ns"]).await?;
    assert!(ns.contains("team") && ns.contains("STATUS"), "{ns}");
    Ok(())
}
