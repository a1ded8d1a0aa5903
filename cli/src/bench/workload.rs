//! Workload generators of `deltaloop bench`: Kubernetes-shaped documents and watch events.
//!
//! This file is shared: the CLI compiles it as `bench::workload`, and the criterion benches
//! in `benches/` include the same source with `#[path]`, so both measure exactly the same
//! documents, events and pipelines. It depends only on `deltaloop-pipeline` and `std`.
//!
//! Everything is deterministic in the seed (SplitMix64), so two runs with the same
//! parameters generate the same documents and the same event stream.
//!
//! - [`Shape::Endpoints`]: Services (`svc-<i>` in namespace `ns-<i mod 10>`, selector
//!   `app: app-<i / 10>`) and Pods spread uniformly over the services (namespace and `app`
//!   label of their service, 90 % `Running`, a unique `podIP`, a node). The pipeline is
//!   `examples/pipelines/endpoints.yaml`: `@join` on app label and namespace, `@select`
//!   Running, `@project`, `@groupBy` service, `@project` into an `Endpoints` document.
//!   Events: 40 % phase flips (Running ↔ Pending), 30 % IP changes, 30 % delete + re-add
//!   (new uid, new IP, new node).
//! - [`Shape::ServiceHealth`]: Pods only, 80 % labelled `monitoring: enabled`, with a
//!   `Ready` condition; the pipeline (`service-health.yaml` beside this file) selects the
//!   monitored pods, projects `{app, namespace, name, ready}` (a JSONPath filter over the
//!   conditions), groups by app and namespace, and projects a `ServiceHealth` document.
//!   Events: 50 % readiness flips, 20 % monitoring-label toggles, 30 % delete + re-add.
//! - [`Shape::ConfigmapDeployment`]: ConfigMaps (`cm-<i>` in namespace `ns-<i mod 10>`),
//!   Deployments (`deploy-<j>`) and one ConfigDeployment per Deployment naming it and a
//!   ConfigMap of its namespace (`configmap` count = `services`, deployments = `pods`). The
//!   pipeline is `examples/pipelines/configmap-deployment.yaml`: a three-input join and a
//!   `@project` into a Deployment patch carrying the ConfigMap's resourceVersion. Events:
//!   50 % ConfigMap data changes (every Deployment linked to it gets a new patch), 30 %
//!   Deployment replica changes (the patch does not change), 20 % ConfigDeployments
//!   re-pointed to another ConfigMap of the namespace.
//!
//! Every event retracts the object's current document and inserts its new one.

use deltaloop_pipeline::Value;

/// The endpoints pipeline (the example users run with `deltaloop eval`).
const ENDPOINTS_PIPELINE: &str = include_str!("../../../examples/pipelines/endpoints.yaml");
/// The service-health pipeline.
const SERVICE_HEALTH_PIPELINE: &str = include_str!("service-health.yaml");
/// The configmap-deployment pipeline (an example users run with `deltaloop eval`).
const CONFIGMAP_DEPLOYMENT_PIPELINE: &str =
    include_str!("../../../examples/pipelines/configmap-deployment.yaml");

/// Namespaces the services are spread over.
const NAMESPACES: usize = 10;
/// Nodes the pods are spread over.
const NODES: u64 = 200;

/// SplitMix64: a tiny, fast, deterministic pseudo-random generator.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 pseudo-random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An index in `0..n`.
    pub(crate) fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }
}

/// Which workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Pods ⋈ Services → Endpoints.
    Endpoints,
    /// Monitored pods → readiness per app.
    ServiceHealth,
    /// ConfigMap ⋈ ConfigDeployment ⋈ Deployment → Deployment patches.
    ConfigmapDeployment,
}

impl Shape {
    /// The workload's name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Endpoints => "endpoints",
            Shape::ServiceHealth => "service-health",
            Shape::ConfigmapDeployment => "configmap-deployment",
        }
    }

    /// The pipeline's source text (YAML).
    pub(crate) fn pipeline_text(self) -> &'static str {
        match self {
            Shape::Endpoints => ENDPOINTS_PIPELINE,
            Shape::ServiceHealth => SERVICE_HEALTH_PIPELINE,
            Shape::ConfigmapDeployment => CONFIGMAP_DEPLOYMENT_PIPELINE,
        }
    }

    /// The pipeline as a document.
    pub(crate) fn pipeline(self) -> Result<Value, String> {
        deltaloop_pipeline::from_yaml(self.pipeline_text())
            .map_err(|e| format!("the {} pipeline: {e}", self.name()))
    }

    /// What `services` and `pods` count in this workload, for reports.
    pub(crate) fn population(self, p: Params) -> String {
        match self {
            Shape::Endpoints => format!("{} services, {} pods", p.services, p.pods),
            Shape::ServiceHealth => format!("{} apps, {} pods", p.services, p.pods),
            Shape::ConfigmapDeployment => format!(
                "{} ConfigMaps, {} Deployments with a ConfigDeployment each",
                p.services, p.pods
            ),
        }
    }

    /// The pipeline's inputs, in join order.
    pub(crate) fn inputs(self) -> &'static [&'static str] {
        match self {
            Shape::Endpoints => &["Pod", "Service"],
            Shape::ServiceHealth => &["Pod"],
            Shape::ConfigmapDeployment => &["ConfigMap", "ConfigDeployment", "Deployment"],
        }
    }
}

/// The generator's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    /// Services (endpoints), apps (service-health) or ConfigMaps (configmap-deployment).
    pub(crate) services: usize,
    /// Pods, or Deployments (configmap-deployment, one ConfigDeployment each).
    pub(crate) pods: usize,
    /// The seed.
    pub(crate) seed: u64,
}

/// What an event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// A field of the object changed (phase, IP, readiness, label, data, replicas, target).
    Update,
    /// The pod was deleted and re-created under the same name.
    DeleteReadd,
}

/// One watch event: the pod's old document is retracted and its new one inserted.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// The input it belongs to.
    pub(crate) kind: &'static str,
    /// Update or delete + re-add.
    pub(crate) what: EventKind,
    /// The document before.
    pub(crate) old: Value,
    /// The document after.
    pub(crate) new: Value,
}

/// The mutable fields of one pod.
#[derive(Clone, Debug)]
struct PodState {
    /// The service (or app) it belongs to.
    service: usize,
    /// The pod's generation (bumped by delete + re-add: part of its uid).
    generation: u64,
    /// `Running` (else `Pending`).
    running: bool,
    /// The `Ready` condition (service-health).
    ready: bool,
    /// The `monitoring: enabled` label (service-health).
    monitored: bool,
    /// The IPv4 address.
    ip: u32,
    /// The node number.
    node: u64,
}

/// The objects of the configmap-deployment workload and their mutable fields.
#[derive(Debug, Default)]
struct ConfigObjects {
    configmaps: Vec<Value>,
    /// The data revision of each ConfigMap.
    revisions: Vec<u64>,
    deployments: Vec<Value>,
    /// One ConfigDeployment per Deployment, at the same index.
    links: Vec<Value>,
    /// The ConfigMap each ConfigDeployment names.
    targets: Vec<usize>,
}

/// The generator: the current documents, and the event stream.
#[derive(Debug)]
pub(crate) struct Generator {
    shape: Shape,
    params: Params,
    rng: SplitMix64,
    states: Vec<PodState>,
    pods: Vec<Value>,
    services: Vec<Value>,
    config: ConfigObjects,
    next_ip: u32,
    resource_version: u64,
}

fn s(text: &str) -> Value {
    Value::string(text)
}

fn ip_text(ip: u32) -> String {
    let [a, b, c, d] = ip.to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

impl Generator {
    /// Generates the initial documents.
    pub(crate) fn new(shape: Shape, params: Params) -> Generator {
        let params = Params {
            services: params.services.max(1),
            ..params
        };
        let mut g = Generator {
            shape,
            params,
            rng: SplitMix64::new(params.seed),
            states: Vec::with_capacity(params.pods),
            pods: Vec::with_capacity(params.pods),
            services: Vec::new(),
            config: ConfigObjects::default(),
            next_ip: u32::from_be_bytes([10, 0, 0, 1]),
            resource_version: 1000,
        };
        if shape == Shape::ConfigmapDeployment {
            g.config_objects();
            return g;
        }
        if shape == Shape::Endpoints {
            g.services = (0..params.services).map(|i| g.service_doc(i)).collect();
        }
        for i in 0..params.pods {
            let state = PodState {
                service: g.rng.index(params.services),
                generation: 0,
                running: g.rng.below(100) < 90,
                ready: g.rng.below(100) < 90,
                monitored: g.rng.below(100) < 80,
                ip: g.fresh_ip(),
                node: g.rng.below(NODES),
            };
            let doc = g.pod_doc(i, &state);
            g.states.push(state);
            g.pods.push(doc);
        }
        g
    }

    /// The parameters.
    pub(crate) fn params(&self) -> Params {
        self.params
    }

    /// The current documents of every input (services first, so an event log written from
    /// them creates services before the pods that select them).
    pub(crate) fn documents(&self) -> Vec<(&'static str, &[Value])> {
        match self.shape {
            Shape::Endpoints => vec![
                ("Service", self.services.as_slice()),
                ("Pod", self.pods.as_slice()),
            ],
            Shape::ServiceHealth => vec![("Pod", self.pods.as_slice())],
            Shape::ConfigmapDeployment => vec![
                ("ConfigMap", self.config.configmaps.as_slice()),
                ("ConfigDeployment", self.config.links.as_slice()),
                ("Deployment", self.config.deployments.as_slice()),
            ],
        }
    }

    /// The number of documents of every input.
    pub(crate) fn rows(&self) -> usize {
        let c = &self.config;
        self.pods.len()
            + self.services.len()
            + c.configmaps.len()
            + c.deployments.len()
            + c.links.len()
    }

    fn fresh_ip(&mut self) -> u32 {
        let ip = self.next_ip;
        self.next_ip = self.next_ip.wrapping_add(1);
        ip
    }

    fn next_resource_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    fn namespace(&self, service: usize) -> String {
        format!("ns-{}", service % NAMESPACES)
    }

    fn app(&self, service: usize) -> String {
        match self.shape {
            Shape::Endpoints => format!("app-{}", service / NAMESPACES),
            Shape::ServiceHealth | Shape::ConfigmapDeployment => format!("app-{service}"),
        }
    }

    fn service_doc(&self, i: usize) -> Value {
        Value::map([
            ("apiVersion", s("v1")),
            ("kind", s("Service")),
            (
                "metadata",
                Value::map([
                    ("name", Value::string(format!("svc-{i}"))),
                    ("namespace", Value::string(self.namespace(i))),
                    ("uid", Value::string(format!("svc-uid-{i}"))),
                ]),
            ),
            (
                "spec",
                Value::map([
                    (
                        "selector",
                        Value::map([("app", Value::string(self.app(i)))]),
                    ),
                    (
                        "ports",
                        Value::list(vec![Value::map([
                            ("port", Value::Int(80)),
                            ("targetPort", Value::Int(8080)),
                            ("protocol", s("TCP")),
                        ])]),
                    ),
                ]),
            ),
        ])
    }

    fn pod_doc(&mut self, i: usize, st: &PodState) -> Value {
        let app = self.app(st.service);
        let mut labels = vec![("app", Value::string(app.as_str()))];
        if self.shape == Shape::ServiceHealth && st.monitored {
            labels.push(("monitoring", s("enabled")));
        }
        let metadata = Value::map([
            ("name", Value::string(format!("pod-{i}"))),
            ("namespace", Value::string(self.namespace(st.service))),
            (
                "uid",
                Value::string(format!("pod-uid-{i}-{}", st.generation)),
            ),
            (
                "resourceVersion",
                Value::string(self.next_resource_version()),
            ),
            ("labels", Value::map(labels)),
        ]);
        let spec = Value::map([
            ("nodeName", Value::string(format!("node-{}", st.node))),
            (
                "containers",
                Value::list(vec![Value::map([
                    ("name", Value::string(app.as_str())),
                    (
                        "image",
                        Value::string(format!("registry.example/{app}:1.0")),
                    ),
                ])]),
            ),
        ]);
        let phase = if st.running { "Running" } else { "Pending" };
        let mut status = vec![("phase", s(phase))];
        if st.running {
            status.push(("podIP", Value::string(ip_text(st.ip))));
        }
        if self.shape == Shape::ServiceHealth {
            status.push((
                "conditions",
                Value::list(vec![Value::map([
                    ("type", s("Ready")),
                    ("status", s(if st.ready { "True" } else { "False" })),
                ])]),
            ));
        }
        Value::map([
            ("apiVersion", s("v1")),
            ("kind", s("Pod")),
            ("metadata", metadata),
            ("spec", spec),
            ("status", Value::map(status)),
        ])
    }

    /// Generates the configmap-deployment objects: `services` ConfigMaps, `pods`
    /// Deployments, and a ConfigDeployment per Deployment naming the ConfigMap
    /// `j mod services` (which fixes the Deployment's namespace).
    fn config_objects(&mut self) {
        let (maps, deployments) = (self.params.services, self.params.pods);
        for i in 0..maps {
            let doc = self.configmap_doc(i, 0);
            self.config.configmaps.push(doc);
            self.config.revisions.push(0);
        }
        for j in 0..deployments {
            let target = j % maps;
            let replicas = 1 + self.rng.below(5);
            let doc = self.deployment_doc(j, target, replicas);
            self.config.deployments.push(doc);
            let link = self.link_doc(j, target);
            self.config.links.push(link);
            self.config.targets.push(target);
        }
    }

    /// `{name, namespace, resourceVersion}`: the namespace of ConfigMap `namespace_of`, a
    /// fresh resourceVersion.
    fn metadata(&mut self, name: String, namespace_of: usize) -> Value {
        Value::map([
            ("name", Value::string(name)),
            ("namespace", Value::string(self.namespace(namespace_of))),
            (
                "resourceVersion",
                Value::string(self.next_resource_version()),
            ),
        ])
    }

    fn configmap_doc(&mut self, i: usize, revision: u64) -> Value {
        Value::map([
            ("apiVersion", s("v1")),
            ("kind", s("ConfigMap")),
            ("metadata", self.metadata(format!("cm-{i}"), i)),
            (
                "data",
                Value::map([
                    (
                        "config.yaml",
                        Value::string(format!("revision: {revision}")),
                    ),
                    ("LOG_LEVEL", s("info")),
                ]),
            ),
        ])
    }

    fn deployment_doc(&mut self, j: usize, target: usize, replicas: u64) -> Value {
        let app = format!("app-{j}");
        Value::map([
            ("apiVersion", s("apps/v1")),
            ("kind", s("Deployment")),
            ("metadata", self.metadata(format!("deploy-{j}"), target)),
            (
                "spec",
                Value::map([
                    ("replicas", Value::Int(i64::try_from(replicas).unwrap_or(1))),
                    (
                        "selector",
                        Value::map([(
                            "matchLabels",
                            Value::map([("app", Value::string(app.as_str()))]),
                        )]),
                    ),
                    (
                        "template",
                        Value::map([(
                            "spec",
                            Value::map([(
                                "containers",
                                Value::list(vec![Value::map([
                                    ("name", Value::string(app.as_str())),
                                    (
                                        "image",
                                        Value::string(format!("registry.example/{app}:1.0")),
                                    ),
                                ])]),
                            )]),
                        )]),
                    ),
                ]),
            ),
        ])
    }

    fn link_doc(&mut self, j: usize, target: usize) -> Value {
        Value::map([
            ("apiVersion", s("dcontroller.io/v1alpha1")),
            ("kind", s("ConfigDeployment")),
            (
                "metadata",
                self.metadata(format!("deploy-{j}-config"), target),
            ),
            (
                "spec",
                Value::map([
                    ("configMap", Value::string(format!("cm-{target}"))),
                    ("deployment", Value::string(format!("deploy-{j}"))),
                ]),
            ),
        ])
    }

    /// The next configmap-deployment event (see the module docs).
    fn next_config_event(&mut self) -> Event {
        let (maps, deployments) = (self.config.configmaps.len(), self.config.deployments.len());
        let roll = self.rng.below(100);
        let (kind, docs, i, new) = if roll < 50 || deployments == 0 {
            let i = self.rng.index(maps);
            let revision = self.config.revisions.get(i).map_or(1, |r| r + 1);
            let new = self.configmap_doc(i, revision);
            if let Some(r) = self.config.revisions.get_mut(i) {
                *r = revision;
            }
            ("ConfigMap", &mut self.config.configmaps, i, new)
        } else if roll < 80 {
            let j = self.rng.index(deployments);
            let replicas = 1 + self.rng.below(5);
            let target = self.config.targets.get(j).copied().unwrap_or(0);
            let new = self.deployment_doc(j, target, replicas);
            ("Deployment", &mut self.config.deployments, j, new)
        } else {
            // Another ConfigMap of the same namespace (namespaces are `index mod 10`).
            let j = self.rng.index(deployments);
            let old = self.config.targets.get(j).copied().unwrap_or(0);
            let pick = self.rng.index(maps);
            let mut target = pick - pick % NAMESPACES + old % NAMESPACES;
            if target >= maps {
                target = old % NAMESPACES;
            }
            let new = self.link_doc(j, target);
            if let Some(t) = self.config.targets.get_mut(j) {
                *t = target;
            }
            ("ConfigDeployment", &mut self.config.links, j, new)
        };
        let old = docs
            .get_mut(i)
            .map(|d| std::mem::replace(d, new.clone()))
            .unwrap_or_default();
        Event {
            kind,
            what: EventKind::Update,
            old,
            new,
        }
    }

    /// The next event: picks a pod uniformly, changes it, and returns its old and new
    /// documents (the generator's state moves on to the new one). In the
    /// configmap-deployment workload: a ConfigMap, Deployment or ConfigDeployment instead.
    pub(crate) fn next_event(&mut self) -> Event {
        if self.shape == Shape::ConfigmapDeployment {
            return self.next_config_event();
        }
        let i = self.rng.index(self.states.len().max(1));
        let Some(mut st) = self.states.get(i).cloned() else {
            // No pods: an event on a pod that never existed would be meaningless.
            return Event {
                kind: "Pod",
                what: EventKind::Update,
                old: Value::Null,
                new: Value::Null,
            };
        };
        let roll = self.rng.below(100);
        let what = match (self.shape, roll) {
            (Shape::Endpoints, 0..40) => {
                st.running = !st.running;
                EventKind::Update
            }
            (Shape::Endpoints, 40..70) => {
                st.ip = self.fresh_ip();
                EventKind::Update
            }
            (Shape::ServiceHealth, 0..50) => {
                st.ready = !st.ready;
                EventKind::Update
            }
            (Shape::ServiceHealth, 50..70) => {
                st.monitored = !st.monitored;
                EventKind::Update
            }
            _ => {
                st.generation += 1;
                st.running = self.rng.below(100) < 90;
                st.ready = self.rng.below(100) < 90;
                st.ip = self.fresh_ip();
                st.node = self.rng.below(NODES);
                EventKind::DeleteReadd
            }
        };
        let new = self.pod_doc(i, &st);
        let old = std::mem::replace(&mut self.pods[i], new.clone());
        self.states[i] = st;
        Event {
            kind: "Pod",
            what,
            old,
            new,
        }
    }
}
