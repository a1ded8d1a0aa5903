//! Kubernetes `Status` error objects (`kind: Status`, `status: Failure`, reason and code).

use serde_json::{Value, json};

/// A Kubernetes API error: rendered as a `Status` object with the HTTP code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiStatus {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human-readable message, printed by kubectl after `Error from server (<Reason>): `.
    pub message: String,
    /// `details` (name, group, kind, causes), when known.
    pub details: Option<Box<Value>>,
}

fn details(gr: &str, name: &str) -> Value {
    let (kind, group) = gr.split_once('.').unwrap_or((gr, ""));
    json!({"name": name, "group": group, "kind": kind})
}

impl ApiStatus {
    /// A status with a code, reason and message.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiStatus {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// Attaches details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 404 for an object: `<resource>.<group> "<name>" not found`.
    pub fn not_found(qualified_resource: &str, name: &str) -> Self {
        ApiStatus::new(
            404,
            "NotFound",
            format!("{qualified_resource} \"{name}\" not found"),
        )
        .with_details(details(qualified_resource, name))
    }

    /// 404 for an unknown path or resource type.
    pub fn no_resource() -> Self {
        ApiStatus::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 409 on create of an existing object.
    pub fn already_exists(qualified_resource: &str, name: &str) -> Self {
        ApiStatus::new(
            409,
            "AlreadyExists",
            format!("{qualified_resource} \"{name}\" already exists"),
        )
        .with_details(details(qualified_resource, name))
    }

    /// 409 on a stale resourceVersion.
    pub fn conflict(qualified_resource: &str, name: &str) -> Self {
        ApiStatus::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {qualified_resource} \"{name}\": the object has \
                 been modified; please apply your changes to the latest version and try again"
            ),
        )
        .with_details(details(qualified_resource, name))
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiStatus::new(400, "BadRequest", message)
    }

    /// 422.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiStatus::new(422, "Invalid", message)
    }

    /// 410 `Expired`, the in-stream watch error for a compacted resourceVersion.
    pub fn expired(message: impl Into<String>) -> Self {
        ApiStatus::new(410, "Expired", message)
    }

    /// 405.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiStatus::new(405, "MethodNotAllowed", message)
    }

    /// 415, e.g. strategic-merge patches on views.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        ApiStatus::new(415, "UnsupportedMediaType", message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        ApiStatus::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 for a user, verb and resource.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiStatus::new(403, "Forbidden", message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiStatus::new(500, "InternalError", message)
    }

    /// The `Status` object.
    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(d), Some(m)) = (&self.details, v.as_object_mut()) {
            m.insert("details".into(), (**d).clone());
        }
        v
    }
}

/// A `Status` of success, as returned by immediate deletes.
pub fn success(name: &str, group: &str, resource: &str, uid: Option<&str>) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": group, "kind": resource, "uid": uid},
    })
}
