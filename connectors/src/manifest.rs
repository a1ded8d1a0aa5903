//! The Operator manifest (spec §g), parsed in two stages.
//!
//! Stage one mirrors the YAML with serde structs (`apiVersion: dcontroller.io/v1alpha1`,
//! `kind: Operator`, `metadata.name`, `spec.controllers[…]` of `{name, sources, pipeline,
//! targets, options?, transforms?}`); each piece is decoded on its own so that an error names
//! its YAML location (`spec.controllers[0].sources[1]: unknown field …`). Stage two
//! validates into an [`OperatorPlan`]: resources resolved to a group (an omitted `apiGroup`
//! is a view in `<operator>.view.dcontroller.io`, version `v1alpha1`; `apiGroup: ""` is the
//! core group), predicates and periods parsed, the transform options checked.

use std::time::Duration;

use deltaloop_pipeline::Value;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::predicate::Predicate;
use crate::source::Gvk;
use crate::source::virtual_::parse_period;
use crate::target::TargetMode;

/// The manifest is invalid: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ManifestError {
    /// The YAML location (`spec.controllers[0].targets[0].type`).
    pub at: String,
    /// What was wrong.
    pub message: String,
}

fn merr(at: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError {
        at: at.into(),
        message: message.into(),
    }
}

// ---- stage one: the YAML shapes ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawResource {
    #[serde(default)]
    api_group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    kind: String,
    #[serde(default)]
    plural: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSource {
    #[serde(default)]
    api_group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    kind: String,
    #[serde(default)]
    plural: Option<String>,
    #[serde(default, rename = "type")]
    ty: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    label_selector: Option<Json>,
    #[serde(default)]
    predicate: Option<Json>,
    #[serde(default)]
    parameters: Option<Json>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawOptions {
    #[serde(default)]
    disable_incrementalizer: bool,
    #[serde(default)]
    disable_reconciler: bool,
    #[serde(default)]
    disable_distincter: bool,
}

// ---- stage two: the validated plan ----

/// How a source produces.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    /// A Kubernetes watch (the default).
    Watcher {
        /// The namespace scope (`None`: all).
        namespace: Option<String>,
        /// The label selector (`a=b,c=d` from `matchLabels`).
        label_selector: Option<String>,
        /// The predicate filtering modifications.
        predicate: Option<Predicate>,
    },
    /// One trigger at start.
    OneShot,
    /// A trigger every period, retracting the previous one.
    Periodic {
        /// The period.
        period: Duration,
    },
}

/// One validated source.
#[derive(Clone, Debug, PartialEq)]
pub struct SourcePlan {
    /// The resource (and the topic/logical name: its kind).
    pub gvk: Gvk,
    /// How it produces.
    pub kind: SourceKind,
}

/// One validated target.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetPlan {
    /// The resource written (the output topic is its kind).
    pub gvk: Gvk,
    /// The write mode.
    pub mode: TargetMode,
}

/// The transform options of a controller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ControllerOptions {
    /// Run the snapshot circuit (recompute per step).
    pub disable_incrementalizer: bool,
    /// Do not close the loop over the targets.
    pub disable_reconciler: bool,
    /// Do not give outputs set semantics.
    pub disable_distincter: bool,
}

/// One validated controller.
#[derive(Clone, Debug)]
pub struct ControllerPlan {
    /// The controller's name.
    pub name: String,
    /// The circuit name `dcontroller.<operator>.<controller>`.
    pub circuit: String,
    /// The sources, in order (the join order).
    pub sources: Vec<SourcePlan>,
    /// The aggregation pipeline (JSON).
    pub pipeline: Json,
    /// The targets.
    pub targets: Vec<TargetPlan>,
    /// The transform options.
    pub options: ControllerOptions,
    /// Where the controller is in the manifest (`spec.controllers[0]`), for messages.
    pub at: String,
}

/// A validated Operator.
#[derive(Clone, Debug)]
pub struct OperatorPlan {
    /// `metadata.name`.
    pub name: String,
    /// The controllers.
    pub controllers: Vec<ControllerPlan>,
}

fn field<'a>(obj: &'a Json, key: &str, at: &str) -> Result<&'a Json, ManifestError> {
    obj.get(key)
        .ok_or_else(|| merr(at, format!("missing field {key:?}")))
}

fn decode<T: for<'de> Deserialize<'de>>(json: &Json, at: &str) -> Result<T, ManifestError> {
    serde_json::from_value(json.clone()).map_err(|e| merr(at, e.to_string()))
}

fn gvk_of(
    op: &str,
    group: Option<String>,
    version: Option<String>,
    kind: String,
    plural: Option<String>,
) -> Gvk {
    match group {
        Some(group) => Gvk {
            group,
            version,
            kind,
            plural,
        },
        None => Gvk {
            group: format!("{op}.view.dcontroller.io"),
            version: Some(version.unwrap_or_else(|| "v1alpha1".into())),
            kind,
            plural,
        },
    }
}

fn label_selector(json: &Json, at: &str) -> Result<String, ManifestError> {
    let labels = match json {
        Json::Object(m) if m.contains_key("matchLabels") => &m["matchLabels"],
        other => other,
    };
    let Json::Object(m) = labels else {
        return Err(merr(at, "expected {matchLabels: {key: value}}"));
    };
    m.iter()
        .map(|(k, v)| match v {
            Json::String(v) => Ok(format!("{k}={v}")),
            _ => Err(merr(
                format!("{at}.matchLabels.{k}"),
                "label values must be strings",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| parts.join(","))
}

/// Parses an Operator manifest from YAML (or JSON) text.
///
/// # Errors
/// [`ManifestError`] naming the YAML location of the first problem.
pub fn parse_operator(text: &str) -> Result<OperatorPlan, ManifestError> {
    let value =
        deltaloop_pipeline::from_yaml(text).map_err(|e| merr("<manifest>", e.to_string()))?;
    operator_from_json(&Value::to_serde_json(&value))
}

/// Validates an Operator given as JSON.
///
/// # Errors
/// [`ManifestError`] naming the location of the first problem.
pub fn operator_from_json(doc: &Json) -> Result<OperatorPlan, ManifestError> {
    match doc.get("apiVersion").and_then(Json::as_str) {
        Some("dcontroller.io/v1alpha1") => {}
        other => {
            return Err(merr(
                "apiVersion",
                format!("expected dcontroller.io/v1alpha1, got {other:?}"),
            ));
        }
    }
    match doc.get("kind").and_then(Json::as_str) {
        Some("Operator") => {}
        other => return Err(merr("kind", format!("expected Operator, got {other:?}"))),
    }
    let name = field(doc, "metadata", "")
        .and_then(|m| field(m, "name", "metadata"))?
        .as_str()
        .ok_or_else(|| merr("metadata.name", "expected a string"))?
        .to_owned();
    let controllers = field(doc, "spec", "")
        .and_then(|s| field(s, "controllers", "spec"))?
        .as_array()
        .ok_or_else(|| merr("spec.controllers", "expected a list"))?;
    if controllers.is_empty() || controllers.len() > 255 {
        return Err(merr("spec.controllers", "expected 1 to 255 controllers"));
    }
    let mut plans = Vec::new();
    for (i, c) in controllers.iter().enumerate() {
        let plan = controller(&name, c, &format!("spec.controllers[{i}]"))?;
        if plans.iter().any(|p: &ControllerPlan| p.name == plan.name) {
            return Err(merr(
                format!("spec.controllers[{i}].name"),
                format!("duplicate controller {:?}", plan.name),
            ));
        }
        plans.push(plan);
    }
    Ok(OperatorPlan {
        name,
        controllers: plans,
    })
}

fn controller(op: &str, c: &Json, at: &str) -> Result<ControllerPlan, ManifestError> {
    let Json::Object(map) = c else {
        return Err(merr(at, "expected a controller object"));
    };
    for k in map.keys() {
        if !matches!(
            k.as_str(),
            "name" | "type" | "sources" | "pipeline" | "sql" | "circuit" | "targets" | "options"
        ) {
            return Err(merr(format!("{at}.{k}"), "unknown field"));
        }
    }
    let name = field(c, "name", at)?
        .as_str()
        .ok_or_else(|| merr(format!("{at}.name"), "expected a string"))?
        .to_owned();
    let set: Vec<&str> = ["pipeline", "sql", "circuit"]
        .into_iter()
        .filter(|k| map.contains_key(*k))
        .collect();
    match set.as_slice() {
        ["pipeline"] => {}
        [] => return Err(merr(at, "one of pipeline, sql or circuit is required")),
        [one] => return Err(merr(format!("{at}.{one}"), "only pipeline is supported")),
        _ => {
            return Err(merr(
                at,
                "exactly one of pipeline, sql or circuit may be set",
            ));
        }
    }
    let list = |key: &str| -> Result<&Vec<Json>, ManifestError> {
        field(c, key, at)?
            .as_array()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| merr(format!("{at}.{key}"), "expected a non-empty list"))
    };
    let mut sources = Vec::new();
    for (j, s) in list("sources")?.iter().enumerate() {
        let sat = format!("{at}.sources[{j}]");
        let raw: RawSource = decode(s, &sat)?;
        let gvk = gvk_of(op, raw.api_group, raw.version, raw.kind, raw.plural);
        let kind = match raw.ty.as_deref().unwrap_or("Watcher") {
            "Watcher" => SourceKind::Watcher {
                namespace: raw.namespace.filter(|n| !n.is_empty()),
                label_selector: raw
                    .label_selector
                    .as_ref()
                    .map(|l| label_selector(l, &format!("{sat}.labelSelector")))
                    .transpose()?
                    .filter(|s| !s.is_empty()),
                predicate: raw
                    .predicate
                    .as_ref()
                    .map(|p| {
                        Predicate::from_json(p)
                            .map_err(|e| merr(format!("{sat}.predicate{}", e.at), e.message))
                    })
                    .transpose()?,
            },
            "OneShot" => SourceKind::OneShot,
            "Periodic" => {
                let period = raw
                    .parameters
                    .as_ref()
                    .and_then(|p| p.get("period"))
                    .and_then(Json::as_str)
                    .ok_or_else(|| {
                        merr(
                            format!("{sat}.parameters.period"),
                            "Periodic needs a period \"<n>(ms|s|m|h)\"",
                        )
                    })?;
                SourceKind::Periodic {
                    period: parse_period(period)
                        .map_err(|m| merr(format!("{sat}.parameters.period"), m))?,
                }
            }
            "Lister" => {
                return Err(merr(
                    format!("{sat}.type"),
                    "Lister is not supported (use Watcher: it emits deltas)",
                ));
            }
            other => {
                return Err(merr(
                    format!("{sat}.type"),
                    format!("unknown source type {other:?} (Watcher, OneShot or Periodic)"),
                ));
            }
        };
        if sources.iter().any(|p: &SourcePlan| p.gvk.kind == gvk.kind) {
            return Err(merr(
                format!("{sat}.kind"),
                format!("two sources of kind {:?}: the kind is the topic", gvk.kind),
            ));
        }
        sources.push(SourcePlan { gvk, kind });
    }
    let mut targets = Vec::new();
    for (j, t) in list("targets")?.iter().enumerate() {
        let tat = format!("{at}.targets[{j}]");
        let mut t = t.clone();
        let ty = t.as_object_mut().and_then(|m| m.remove("type"));
        let raw: RawResource = decode(&t, &tat)?;
        let mode = match ty.as_ref().map(|t| t.as_str()) {
            None => TargetMode::Updater,
            Some(Some("Updater")) => TargetMode::Updater,
            Some(Some("Patcher")) => TargetMode::Patcher,
            Some(Some("Setter")) => TargetMode::Setter,
            Some(Some("Apply" | "ServerSideApply")) => TargetMode::Apply,
            Some(other) => {
                let what = match (other, ty.as_ref()) {
                    (Some(name), _) => format!("{name:?}"),
                    (None, Some(value)) => format!("{value} (not a string)"),
                    (None, None) => String::new(),
                };
                return Err(merr(
                    format!("{tat}.type"),
                    format!("unknown target type {what} (Updater, Patcher, Setter or Apply)"),
                ));
            }
        };
        targets.push(TargetPlan {
            gvk: gvk_of(op, raw.api_group, raw.version, raw.kind, raw.plural),
            mode,
        });
    }
    let options: RawOptions = match c.get("options") {
        Some(o) => decode(o, &format!("{at}.options"))?,
        None => RawOptions::default(),
    };
    if options.disable_incrementalizer && !options.disable_reconciler {
        return Err(merr(
            format!("{at}.options"),
            "disableIncrementalizer requires disableReconciler (the loop needs the incremental circuit)",
        ));
    }
    Ok(ControllerPlan {
        circuit: format!("dcontroller.{op}.{name}"),
        name,
        sources,
        pipeline: map.get("pipeline").cloned().unwrap_or(Json::Null),
        targets,
        options: ControllerOptions {
            disable_incrementalizer: options.disable_incrementalizer,
            disable_reconciler: options.disable_reconciler,
            disable_distincter: options.disable_distincter,
        },
        at: at.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: &str = r#"
apiVersion: dcontroller.io/v1alpha1
kind: Operator
metadata: {name: ep}
spec:
  controllers:
    - name: endpoints
      sources:
        - {apiGroup: "", kind: Pod, namespace: default, labelSelector: {matchLabels: {app: web}}, predicate: {Or: [GenerationChanged, LabelChanged]}}
        - {apiGroup: "", kind: Service}
        - {kind: Tick, type: Periodic, parameters: {period: 30s}}
      pipeline:
        - "@project": {metadata: "$.Pod.metadata"}
      targets:
        - {apiGroup: "", kind: Endpoints}
        - {kind: EndpointView, type: Patcher}
"#;

    #[test]
    fn parses_a_valid_operator() {
        let op = parse_operator(OP).unwrap();
        assert_eq!(op.name, "ep");
        let c = &op.controllers[0];
        assert_eq!(c.circuit, "dcontroller.ep.endpoints");
        assert_eq!(c.sources[0].gvk.group, "");
        assert_eq!(
            c.sources[0].kind,
            SourceKind::Watcher {
                namespace: Some("default".into()),
                label_selector: Some("app=web".into()),
                predicate: Some(Predicate::Or(vec![
                    Predicate::GenerationChanged,
                    Predicate::LabelChanged
                ])),
            }
        );
        assert_eq!(
            c.sources[2].kind,
            SourceKind::Periodic {
                period: Duration::from_secs(30)
            }
        );
        assert_eq!(c.sources[2].gvk.group, "ep.view.dcontroller.io");
        assert_eq!(c.targets[1].mode, TargetMode::Patcher);
        assert_eq!(c.targets[1].gvk.version.as_deref(), Some("v1alpha1"));
    }

    #[test]
    fn errors_name_the_yaml_location() {
        let bad = OP.replace("type: Patcher", "type: Pusher");
        assert_eq!(
            parse_operator(&bad).unwrap_err().at,
            "spec.controllers[0].targets[1].type"
        );
        let bad = OP.replace("namespace: default", "namespace: default, colour: red");
        let e = parse_operator(&bad).unwrap_err();
        assert_eq!(e.at, "spec.controllers[0].sources[0]");
        assert!(e.message.contains("colour"), "{e}");
        let bad = OP.replace("LabelChanged]", "Bogus]");
        assert_eq!(
            parse_operator(&bad).unwrap_err().at,
            "spec.controllers[0].sources[0].predicate.Or[1]"
        );
        let bad = OP.replace("period: 30s", "period: soon");
        assert_eq!(
            parse_operator(&bad).unwrap_err().at,
            "spec.controllers[0].sources[2].parameters.period"
        );
        let bad = OP.replace(
            "      pipeline:",
            "      options: {disableIncrementalizer: true}\n      pipeline:",
        );
        assert_eq!(
            parse_operator(&bad).unwrap_err().at,
            "spec.controllers[0].options"
        );
        let bad = OP.replace("kind: Operator", "kind: Operater");
        assert_eq!(parse_operator(&bad).unwrap_err().at, "kind");
    }
}
