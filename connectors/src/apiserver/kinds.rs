//! Resource kinds: registration of views and native kinds, names, scopes and deterministic view
//! UIDs.

use sha2::{Digest, Sha256};

/// The suffix of every view group: `<operator>.view.dcontroller.io`.
pub const VIEW_GROUP_SUFFIX: &str = "view.dcontroller.io";
/// The version every view kind is served at.
pub const VIEW_VERSION: &str = "v1alpha1";

/// A (group, version, resource) triple: how a kind is addressed in URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupVersionResource {
    /// API group; `""` is the core group.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Plural resource name, e.g. `pods`.
    pub resource: String,
}

impl GroupVersionResource {
    /// Builds a triple.
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        GroupVersionResource {
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
        }
    }

    /// `resource.group` (or just `resource` for the core group), as kubectl prints it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

/// A kind the server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKind {
    /// API group; `""` is the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind, e.g. `HealthView`.
    pub kind: String,
    /// Plural resource name, e.g. `healthviews`.
    pub plural: String,
    /// Singular resource name, e.g. `healthview`.
    pub singular: String,
    /// Short names for kubectl, e.g. `["hv"]`.
    pub short_names: Vec<String>,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Whether `.status` is a subresource: main-resource writes keep the stored status and
    /// `/status` writes change only the status.
    pub status_subresource: bool,
    /// Whether this is a view kind (deterministic UIDs, no strategic-merge patch).
    pub view: bool,
    /// Whether strategic-merge patches are accepted (treated as merge patches). Native kinds.
    pub strategic_merge: bool,
}

/// A naive English plural of a lower-case kind name (`-s`, `-es`, `-ies`; `endpoints` stays).
pub fn pluralize(singular: &str) -> String {
    let s = singular.to_ascii_lowercase();
    if s.ends_with("endpoints") {
        return s;
    }
    if s.ends_with('s')
        || s.ends_with('x')
        || s.ends_with('z')
        || s.ends_with("ch")
        || s.ends_with("sh")
    {
        return format!("{s}es");
    }
    if let Some(stem) = s.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    format!("{s}s")
}

/// The group of an operator's views: `<operator>.view.dcontroller.io`.
pub fn view_group(operator: &str) -> String {
    format!("{operator}.{VIEW_GROUP_SUFFIX}")
}

/// Whether a group is a view group.
pub fn is_view_group(group: &str) -> bool {
    group == VIEW_GROUP_SUFFIX || group.ends_with(&format!(".{VIEW_GROUP_SUFFIX}"))
}

/// The deterministic UID of a view object: `sha256(group/version/kind/namespace/name)` formatted
/// as a UUID.
pub fn view_uid(group: &str, version: &str, kind: &str, namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{group}/{version}/{kind}/{namespace}/{name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(b).hyphenated().to_string()
}

impl ResourceKind {
    /// A namespaced view kind `kind` of `operator`, in group `<operator>.view.dcontroller.io`,
    /// version `v1alpha1`, plural and singular derived from the kind.
    pub fn view(operator: &str, kind: &str) -> Self {
        let singular = kind.to_ascii_lowercase();
        ResourceKind {
            group: view_group(operator),
            version: VIEW_VERSION.to_string(),
            kind: kind.to_string(),
            plural: pluralize(&singular),
            singular,
            short_names: Vec::new(),
            namespaced: true,
            status_subresource: false,
            view: true,
            strategic_merge: false,
        }
    }

    /// A native (non-view) kind; strategic-merge patches are accepted as merge patches.
    pub fn native(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        ResourceKind {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            singular: kind.to_ascii_lowercase(),
            short_names: Vec::new(),
            namespaced,
            status_subresource: false,
            view: false,
            strategic_merge: true,
        }
    }

    /// Sets the short names.
    pub fn with_short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the plural resource name.
    pub fn with_plural(mut self, plural: &str) -> Self {
        self.plural = plural.to_string();
        self
    }

    /// Serves (or stops serving) the `/status` subresource.
    pub fn with_status_subresource(mut self, on: bool) -> Self {
        self.status_subresource = on;
        self
    }

    /// Makes the kind cluster-scoped (`false`) or namespaced (`true`).
    pub fn with_namespaced(mut self, namespaced: bool) -> Self {
        self.namespaced = namespaced;
        self
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The (group, version, resource) this kind is served at.
    pub fn gvr(&self) -> GroupVersionResource {
        GroupVersionResource::new(&self.group, &self.version, &self.plural)
    }

    /// A `kube` `ApiResource` for this kind, for `Api<DynamicObject>`.
    pub fn api_resource(&self) -> kube::core::ApiResource {
        kube::core::ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    /// The verbs served for this kind.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// The native kinds a standalone (fake-cluster) server hosts: Pod, Service, ConfigMap, Secret,
/// Namespace, Endpoints (core/v1), Deployment (apps/v1) and EndpointSlice (discovery.k8s.io/v1).
pub fn native_kinds() -> Vec<ResourceKind> {
    vec![
        ResourceKind::native("", "v1", "Pod", "pods", true)
            .with_short_names(&["po"])
            .with_status_subresource(true),
        ResourceKind::native("", "v1", "Service", "services", true)
            .with_short_names(&["svc"])
            .with_status_subresource(true),
        ResourceKind::native("", "v1", "ConfigMap", "configmaps", true).with_short_names(&["cm"]),
        ResourceKind::native("", "v1", "Secret", "secrets", true),
        ResourceKind::native("", "v1", "Endpoints", "endpoints", true).with_short_names(&["ep"]),
        ResourceKind::native("", "v1", "Namespace", "namespaces", false)
            .with_short_names(&["ns"])
            .with_status_subresource(true),
        ResourceKind::native("apps", "v1", "Deployment", "deployments", true)
            .with_short_names(&["deploy"])
            .with_status_subresource(true),
        ResourceKind::native(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_uids() {
        assert_eq!(pluralize("HealthView"), "healthviews");
        assert_eq!(pluralize("Policy"), "policies");
        assert_eq!(pluralize("Gateway"), "gateways");
        assert_eq!(pluralize("Ingress"), "ingresses");
        assert_eq!(pluralize("Endpoints"), "endpoints");
        let a = view_uid("g", "v1alpha1", "K", "ns", "a");
        assert_eq!(a, view_uid("g", "v1alpha1", "K", "ns", "a"));
        assert_ne!(a, view_uid("g", "v1alpha1", "K", "ns", "b"));
        assert_eq!(a.len(), 36);
        assert!(is_view_group("op.view.dcontroller.io"));
        assert!(!is_view_group("apps"));
    }
}
