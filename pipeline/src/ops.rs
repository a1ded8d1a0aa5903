//! Engine operators over [`Value`] documents, built from `@`-expressions.
//!
//! Each constructor returns a [`deltaloop_engine::Operator<Value>`] whose closures evaluate
//! compiled [`Expr`]s with the semantics of the aggregation language (spec §a.4, §b.2,
//! §b.3). The aggregation compiler places them in circuits; a circuit loader can call them
//! directly.
//!
//! | constructor | operator | semantics |
//! |---|---|---|
//! | [`select`] | `select` | keep a row iff the predicate is `true`; field-not-found is `false` |
//! | [`select_strict`] | `select` | as [`select`], but field-not-found aborts the step |
//! | [`project`] | `project` | the `@project` stage: sequential fragments, `"$."` merge, path keys |
//! | [`project_expr`] | `project` | the raw wire `project`: a map result's keys are paths, `null` drops |
//! | [`unwind`] | `unwind` | one row per element of the list at a path |
//! | [`group_by`] | `group_by` | one `{key, values, documents}` row per group |
//! | [`equi_join`] | `equi_join` | hash join on per-participant key expressions, rows merged (and wrapped, for [`JoinInput`]s of own documents); with a [`JoinCheck`], only pairs that satisfy a predicate |
//! | [`cartesian`] | `cartesian` | every pair, rows merged |
//! | [`wrap`], [`strip`], [`pad`] | `project` | the join helpers: `{N: d}`, keep namespaces, `S: null` |
//!
//! **Labels.** The label of each operator's primary closure (the `Map`/`Filter`/`FlatMap`
//! function, the `Cartesian`/`EquiJoin` combiner, the `GroupBy` grouping function) is the
//! operator's wire JSON, e.g. `{"type":"select","predicate":{"@eq":["$.a",1]}}`;
//! [`wire_json`] reads it back. Two fields beyond the reference's format keep the
//! aggregation semantics on a round trip through [`crate::wire`]: a [`select`] (where
//! field-not-found is `false`) is labelled `"lenient": true`, and a [`project`] (or join
//! helper) whose projection is in the `@project` fragment form (an object, or a list of
//! objects, where `"$."` merges; [`Projection::compile`] accepts it again) is labelled
//! `"fragments": true`. Without them a `select` is [`select_strict`] and a `project` is
//! [`project_expr`], as in the reference.
//!
//! **Errors.** An evaluation failure becomes an [`OpError`] naming the stage (the node id
//! given to the constructor and the operator kind) and the document (its
//! `metadata.namespace/metadata.name`, else a prefix of its canonical JSON). The engine
//! aborts and rolls back the step.
//!
//! **Time.** Expressions that read the clock (`@now`) see the [`Clock`] given to the
//! constructor, which the runner freezes once per step.
//!
//! ```
//! use deltaloop_engine::{zset, Circuit, Executor};
//! use deltaloop_pipeline::{ops, Clock, Expr, Value};
//!
//! let clock = Clock::new();
//! let mut c: Circuit<Value> = Circuit::new("demo");
//! let pods = c.input("pods")?;
//! let ready = c.add_node("ready", ops::select("ready", Expr::compile_json(r#"{"@eq": ["$.ready", true]}"#)?, &clock))?;
//! c.connect(&pods, &ready, 0)?;
//! c.output("ready", &ready)?;
//!
//! let (a, b) = (Value::from_json_str(r#"{"ready": true}"#)?, Value::from_json_str("{}")?);
//! let mut exec = Executor::new(c)?;
//! exec.feed("pods", zset! { a.clone() => 1, b => 1 })?;
//! exec.step()?;
//! assert_eq!(exec.output("ready")?, &zset! { a => 1 });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod group;
mod join;
mod project;

use std::sync::Arc;

use deltaloop_engine::{CombineFn, FilterFn, FlatMapFn, MapFn, Operator, UserError};
use serde_json::{Value as Json, json};

pub use group::{PreProjection, group_by, group_by_projected, group_by_with};
pub use join::{JoinCheck, JoinInput, equi_join, join_key};
pub use project::{ProjectKey, Projection, ProjectionError, project, project_expr};

use crate::clock::Clock;
use crate::error::EvalError;
use crate::expr::{EvalContext, Expr};
use crate::path::{Path, PathError};
use crate::value::{Object, Str, Value, canonical_json, intern, key_hash};

/// An operator failed on a document: which stage, which document, and why.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{stage}: document {document}: {kind}")]
pub struct OpError {
    /// The stage: the node id given to the constructor and the operator kind, e.g.
    /// `b0_op_1 (@project)`.
    pub stage: Str,
    /// The document's identity: `namespace/name` from its metadata when present, else a
    /// prefix of its canonical JSON.
    pub document: String,
    /// What went wrong.
    pub kind: OpErrorKind,
}

/// What went wrong in an operator.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpErrorKind {
    /// An expression failed to evaluate.
    #[error("{0}")]
    Eval(#[from] EvalError),
    /// A value had the wrong type (a non-list to unwind, a non-map to merge).
    #[error("{what}: expected {expected}, found {found}")]
    Type {
        /// The expression or path that produced the value.
        what: String,
        /// The expected type.
        expected: &'static str,
        /// The value found (type and a prefix of its JSON).
        found: String,
    },
    /// A path could not be applied.
    #[error("{0}")]
    Path(#[from] PathError),
}

/// The identity of a document for error messages: `metadata.namespace/metadata.name` (or
/// just the name) when present, else its canonical JSON, cut to 80 characters.
#[must_use]
pub fn document_identity(doc: &Value) -> String {
    let meta = doc.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str);
    let ns = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    match (ns, name) {
        (Some(ns), Some(name)) => format!("{ns}/{name}"),
        (None, Some(name)) => name.to_owned(),
        _ => short_json(doc),
    }
}

/// The canonical JSON of `v`, cut to 80 characters.
pub(crate) fn short_json(v: &Value) -> String {
    let s = canonical_json(v);
    if s.chars().count() <= 80 {
        s
    } else {
        let mut cut: String = s.chars().take(77).collect();
        cut.push_str("...");
        cut
    }
}

/// Describes a value for a type error: its type and a prefix of its JSON.
pub(crate) fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        _ => format!("{} {}", v.type_name(), short_json(v)),
    }
}

/// The context shared by the closures of one operator: its stage name and the clock.
#[derive(Clone, Debug)]
pub(crate) struct Stage {
    name: Str,
    /// The clock, kept only when some expression of the operator reads it.
    clock: Option<Clock>,
}

impl Stage {
    /// A stage named `node (kind)`; `time_variant` says whether any of its expressions
    /// reads the clock (so the others never touch it).
    pub(crate) fn new(node: &str, kind: &str, clock: &Clock, time_variant: bool) -> Stage {
        Stage {
            name: format!("{node} ({kind})").into(),
            clock: time_variant.then(|| clock.clone()),
        }
    }

    /// Evaluates `expr` on `doc` (as the document, and as the subject too when
    /// `as_subject`), freezing `@now` to the clock when the expression reads it.
    pub(crate) fn eval(
        &self,
        expr: &Expr,
        doc: &Value,
        as_subject: bool,
    ) -> Result<Value, EvalError> {
        if let Some(read) = expr.read_document(doc) {
            return read;
        }
        let mut ctx = EvalContext::new().with_document(doc);
        if as_subject {
            ctx = ctx.with_subject(doc);
        }
        if let Some(now) = self.clock.as_ref().and_then(Clock::now) {
            return expr.eval(&ctx.with_now(&now));
        }
        expr.eval(&ctx)
    }

    /// The error of this stage on `doc`.
    pub(crate) fn error(&self, doc: &Value, kind: impl Into<OpErrorKind>) -> UserError {
        Box::new(OpError {
            stage: Arc::clone(&self.name),
            document: document_identity(doc),
            kind: kind.into(),
        })
    }
}

/// The label of an operator: its wire JSON as a string.
pub(crate) fn label(wire: &Json) -> String {
    wire.to_string()
}

/// The label of an operator's primary closure (the one that carries its wire JSON), or
/// `None` for operators without user logic.
pub(crate) fn primary_label(op: &Operator<Value>) -> Option<&str> {
    Some(match op {
        Operator::Map(f) => f.label(),
        Operator::Filter(f) => f.label(),
        Operator::FlatMap(f) => f.label(),
        Operator::Cartesian(f) => f.label(),
        Operator::EquiJoin(j) | Operator::EquiJoinIncremental(j) => j.combine.label(),
        Operator::GroupBy(g) | Operator::GroupByIncremental(g) => g.group.label(),
        _ => return None,
    })
}

/// The wire JSON of an operator built by this module (read back from its primary closure's
/// label), or `None` for operators without user logic or with foreign labels.
#[must_use]
pub fn wire_json(op: &Operator<Value>) -> Option<Json> {
    let label = primary_label(op)?;
    let Ok(Json::Object(mut wire)) = serde_json::from_str::<Json>(label) else {
        return None;
    };
    // The incremental forms share the snapshot form's closures; fix the type.
    wire.insert("type".into(), Json::String(op.kind().to_owned()));
    Some(Json::Object(wire))
}

/// `select` with the `@select` stage semantics: a row is kept iff `predicate` evaluates to
/// boolean `true`; field-not-found (anywhere in the predicate) counts as `false`; any other
/// evaluation error aborts the step. `node` names the stage in errors.
#[must_use]
pub fn select(node: &str, predicate: Expr, clock: &Clock) -> Operator<Value> {
    select_with(node, predicate, clock, true)
}

/// `select` where field-not-found is an error too (the raw wire `select` of the reference).
#[must_use]
pub fn select_strict(node: &str, predicate: Expr, clock: &Clock) -> Operator<Value> {
    select_with(node, predicate, clock, false)
}

fn select_with(
    node: &str,
    predicate: Expr,
    clock: &Clock,
    missing_is_false: bool,
) -> Operator<Value> {
    let stage = Stage::new(node, "@select", clock, predicate.is_time_variant());
    // `lenient` is not in the reference's format: without it a reloaded `select` is strict.
    let wire = if missing_is_false {
        json!({"type": "select", "predicate": predicate.to_json(), "lenient": true})
    } else {
        json!({"type": "select", "predicate": predicate.to_json()})
    };
    Operator::Filter(FilterFn::new(label(&wire), move |doc: &Value| {
        holds(&stage, &predicate, doc, missing_is_false)
    }))
}

/// Whether `predicate` evaluates to boolean `true` on `doc`; field-not-found counts as
/// `false` when `missing_is_false`, any other evaluation error is the stage's error.
pub(crate) fn holds(
    stage: &Stage,
    predicate: &Expr,
    doc: &Value,
    missing_is_false: bool,
) -> Result<bool, UserError> {
    match stage.eval(predicate, doc, false) {
        Ok(v) => Ok(matches!(v, Value::Bool(true))),
        Err(e) if missing_is_false && e.is_field_not_found() => Ok(false),
        Err(e) => Err(stage.error(doc, e)),
    }
}

/// `unwind`: for a list at `field`, one copy of the row per element, with the field
/// replaced by the element. A missing or `null` field skips the row, an empty list gives no
/// rows, a non-list aborts the step. Identical outputs merge (their weights add).
#[must_use]
pub fn unwind(node: &str, field: Path) -> Operator<Value> {
    let stage = Stage::new(node, "@unwind", &Clock::new(), false);
    let wire = json!({"type": "unwind", "field": field.as_str()});
    Operator::FlatMap(FlatMapFn::new(
        label(&wire),
        move |doc: &Value, out: &mut Vec<Value>| {
            let items = match field.get(doc) {
                Ok(Value::List(items)) => items,
                Ok(Value::Null) | Err(PathError::FieldNotFound { .. }) => return Ok(()),
                Ok(other) => {
                    return Err(stage.error(
                        doc,
                        OpErrorKind::Type {
                            what: field.to_string(),
                            expected: "a list",
                            found: found(&other),
                        },
                    ));
                }
                Err(e) => return Err(stage.error(doc, e)),
            };
            out.reserve(items.len());
            for item in items.iter() {
                let mut copy = doc.clone();
                field
                    .set(&mut copy, item.clone())
                    .map_err(|e| stage.error(doc, e))?;
                out.push(copy);
            }
            Ok(())
        },
    ))
}

/// Shallow-merges two product rows: the right row's top-level keys win.
pub(crate) fn merge(l: &Value, r: &Value) -> Result<Value, OpErrorKind> {
    match (l, r) {
        (Value::Map(a), Value::Map(b)) => Ok(Value::Map(Object::merged(a, b))),
        (Value::Map(_), other) | (other, _) => Err(OpErrorKind::Type {
            what: "join row".into(),
            expected: "a map",
            found: found(other),
        }),
    }
}

/// `cartesian`: every (left, right) pair, shallow-merged, with weight wₗ·wᵣ.
#[must_use]
pub fn cartesian(node: &str) -> Operator<Value> {
    let stage = Stage::new(node, "@join", &Clock::new(), false);
    let wire = json!({"type": "cartesian"});
    Operator::Cartesian(CombineFn::new(label(&wire), move |l: &Value, r: &Value| {
        merge(l, r).map_err(|e| stage.error(l, e))
    }))
}

/// A `project` with a Rust closure and a fragment-form projection as its label.
fn helper(
    projection: Json,
    f: impl Fn(&Value) -> Value + Send + Sync + 'static,
) -> Operator<Value> {
    let wire = json!({"type": "project", "projection": projection, "fragments": true});
    Operator::Map(MapFn::new(label(&wire), move |doc: &Value| {
        Ok(Some(f(doc)))
    }))
}

/// A bracket path to top-level key `name`: `$["name"]`.
fn key_path(name: &str) -> String {
    format!("$[{}]", Json::String(name.to_owned()))
}

/// The join helper that wraps each document `d` of input `name` as the product row
/// `{name: d}`.
#[must_use]
pub fn wrap(name: &str) -> Operator<Value> {
    // Interned once here, so that no row pays for interning it and lookups of `name` (the
    // join's key functions) find it by pointer.
    let key = intern(name);
    let hash = key_hash(&key);
    let projection = json!({"$.": {"@dict": {name: "$."}}});
    helper(projection, move |doc| {
        Value::Map(Object::single(&key, hash, doc.clone()))
    })
}

/// The join helper that keeps only the namespaces `keep` of a product row.
#[must_use]
pub fn strip(keep: &[String]) -> Operator<Value> {
    let keep: Vec<Str> = keep.iter().map(|k| intern(k)).collect();
    let dict: serde_json::Map<String, Json> = keep
        .iter()
        .map(|k| (k.to_string(), Json::String(key_path(k))))
        .collect();
    let projection = json!({"$.": {"@dict": dict}});
    helper(projection, move |doc| {
        let entries = keep
            .iter()
            .filter_map(|k| doc.get(k).map(|v| (Arc::clone(k), v.clone())));
        Value::Map(Object::from_interned(entries))
    })
}

/// The join helper that sets namespace `name` of a product row to `null` (the padding of an
/// unmatched left row in a soft join).
#[must_use]
pub fn pad(name: &str) -> Operator<Value> {
    let key = intern(name);
    let projection = json!([{"$.": "$."}, {"$.": {"@dict": {name: null}}}]);
    helper(projection, move |doc| {
        let mut obj = doc.as_map().cloned().unwrap_or_default();
        obj.insert_interned(Arc::clone(&key), Value::Null);
        Value::Map(obj)
    })
}
