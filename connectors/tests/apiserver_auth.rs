//! Production mode: TLS, bearer tokens and authorization (401 without a valid token, 403 for
//! denied requests, never data), with the kube client and with kubectl.

#![allow(clippy::panic)]

use deltaloop_connectors::apiserver::{
    ApiServer, ApiServerConfig, Profile, ResourceKind, RunningServer, Store,
};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::json;

use crate::apiserver_kubectl::{Kubectl, kubectl_binary};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn view_kind() -> ResourceKind {
    ResourceKind::view("test", "HealthView")
}

async fn start() -> Result<RunningServer, Box<dyn std::error::Error>> {
    let store = Store::with_native_kinds();
    store.register(view_kind());
    let config = ApiServerConfig::production(&["localhost".into(), "127.0.0.1".into()])?;
    Ok(ApiServer::with_config(store, config)
        .serve("127.0.0.1:0".parse()?)
        .await?)
}

fn view(name: &str) -> DynamicObject {
    let mut o = DynamicObject::new(name, &view_kind().api_resource());
    o.data = json!({"spec": {"x": 1}});
    o
}

fn code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> Option<u16> {
    match r {
        Err(kube::Error::Api(s)) => Some(s.code),
        Err(e) => panic!("expected an API error, got {e:?}"),
        Ok(v) => panic!("expected an API error, got {v:?}"),
    }
}

#[tokio::test]
async fn tokens_gate_every_request() -> TestResult {
    let server = start().await?;
    assert!(server.url().starts_with("https://"));
    let ar = view_kind().api_resource();
    let admin = server
        .kubeconfig_for("root", Profile::Admin, &[])?
        .client()
        .await?;
    for (ns, name) in [("default", "a"), ("team", "b")] {
        Api::<DynamicObject>::namespaced_with(admin.clone(), ns, &ar)
            .create(&PostParams::default(), &view(name))
            .await?;
    }
    // viewer: reads everywhere, cannot write
    let viewer = server
        .kubeconfig_for("val", Profile::Viewer, &[])?
        .client()
        .await?;
    let v_all: Api<DynamicObject> = Api::all_with(viewer.clone(), &ar);
    assert_eq!(v_all.list(&ListParams::default()).await?.items.len(), 2);
    let v_default: Api<DynamicObject> = Api::namespaced_with(viewer, "default", &ar);
    assert_eq!(
        code(v_default.create(&PostParams::default(), &view("c")).await),
        Some(403)
    );
    assert_eq!(
        code(v_default.delete("a", &Default::default()).await),
        Some(403)
    );
    // editor limited to "team": its namespace only, nothing cluster-wide
    let team = server.kubeconfig_for("tia", Profile::Editor, &["team".into()])?;
    assert_eq!(team.namespace, "team");
    let team = team.client().await?;
    let t_team: Api<DynamicObject> = Api::namespaced_with(team.clone(), "team", &ar);
    assert_eq!(t_team.list(&ListParams::default()).await?.items.len(), 1);
    t_team.create(&PostParams::default(), &view("c")).await?;
    let t_all: Api<DynamicObject> = Api::all_with(team.clone(), &ar);
    assert_eq!(code(t_all.list(&ListParams::default()).await), Some(403));
    let t_default: Api<DynamicObject> = Api::namespaced_with(team, "default", &ar);
    assert_eq!(code(t_default.get("a").await), Some(403));
    // no token, or a token from another authority: 401 even for discovery
    let anonymous = server.kubeconfig().client().await?;
    let a_default: Api<DynamicObject> = Api::namespaced_with(anonymous.clone(), "default", &ar);
    assert_eq!(code(a_default.get("a").await), Some(401));
    assert!(kube::Discovery::new(anonymous.clone()).run().await.is_err());
    // /version stays public (the gcloud kubectl dispatcher probes it)
    assert_eq!(anonymous.apiserver_version().await?.minor, "32");
    let other = ApiServerConfig::production(&["127.0.0.1".into()])?;
    let foreign = other.auth.as_ref().ok_or("no authority")?.issue_for(
        "mallory",
        Profile::Admin,
        &[],
        std::time::Duration::from_secs(60),
    )?;
    let mut kc = server.kubeconfig();
    kc.token = Some(foreign);
    let forged: Api<DynamicObject> = Api::namespaced_with(kc.client().await?, "default", &ar);
    assert_eq!(code(forged.list(&ListParams::default()).await), Some(401));
    Ok(())
}

#[tokio::test]
async fn kubectl_over_tls_with_generated_kubeconfigs() -> TestResult {
    let Some(bin) = kubectl_binary() else {
        return Ok(());
    };
    let server = start().await?;
    let r = "healthviews.test.view.dcontroller.io";
    let admin = Kubectl::new(
        bin.clone(),
        &server.kubeconfig_for("root", Profile::Admin, &[])?,
    )?;
    let f = admin.file(
        "v.yaml",
        "apiVersion: test.view.dcontroller.io/v1alpha1\nkind: HealthView\nmetadata:\n  name: \
         v1\nspec:\n  x: 1\n",
    )?;
    assert!(admin.ok(&["apply", "-f", &f]).await?.contains("created"));
    assert!(admin.ok(&["get", r]).await?.contains("v1"));

    let viewer = Kubectl::new(
        bin.clone(),
        &server.kubeconfig_for("val", Profile::Viewer, &[])?,
    )?;
    assert!(viewer.ok(&["get", r, "-A"]).await?.contains("v1"));
    let denied = viewer.run(&["label", r, "v1", "x=y"]).await?;
    assert_eq!(denied.code, 1);
    assert!(denied.stderr.contains("Forbidden"), "{}", denied.stderr);
    assert!(
        denied.stderr.contains("User \"val\" cannot patch"),
        "{}",
        denied.stderr
    );

    let team = Kubectl::new(
        bin.clone(),
        &server.kubeconfig_for("tia", Profile::Editor, &["team".into()])?,
    )?;
    let all = team.run(&["get", r, "-A"]).await?;
    assert_eq!(all.code, 1);
    assert!(all.stderr.contains("Forbidden"), "{}", all.stderr);
    let other_ns = team.run(&["get", r, "-n", "default"]).await?;
    assert_eq!(other_ns.code, 1);
    assert!(!other_ns.stdout.contains("v1"));
    team.ok(&["apply", "-f", &f]).await?;
    assert!(team.ok(&["get", r]).await?.contains("v1"));

    // a forged token: 401 Unauthorized; no credentials at all: kubectl fails too (it would
    // prompt for a password on a terminal)
    let mut forged = server.kubeconfig();
    forged.token = Some("not-a-token".into());
    let forged = Kubectl::new(bin.clone(), &forged)?;
    let unauth = forged.run(&["get", r]).await?;
    assert_eq!(unauth.code, 1);
    assert!(
        unauth
            .stderr
            .contains("You must be logged in to the server"),
        "{}",
        unauth.stderr
    );
    let anonymous = Kubectl::new(bin, &server.kubeconfig())?;
    let unauth = anonymous.run(&["get", r, "-o", "name"]).await?;
    assert_eq!(unauth.code, 1);
    assert!(!unauth.stdout.contains("healthview"), "{}", unauth.stdout);
    Ok(())
}
