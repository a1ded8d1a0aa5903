//! The circuit wire format: circuits as JSON, to save, inspect, test and exchange them.
//!
//! A circuit is `{"name": N, "nodes": {id: {"type": T, …}}, "edges": [{"from", "to",
//! "port"}]}`, the format of the reference implementation (see the spec §a.3). Operator types:
//! `input`, `output`, `delay`, `integrate`, `differentiate`, `delta0`, `H_func`, `noop`,
//! `negate`, `plus`, `minus`, `sum`, `subtract`, `linear_combination` (`coeffs`), `distinct`,
//! and the operators with user logic — `select` (`predicate`), `project` (`projection`),
//! `unwind` (`field`), `cartesian`, `group_by` / `group_by_incremental` (`keyExpr`,
//! `valueExpr`, `distinct`), `equi_join` / `equi_join_incremental` (`leftNs`, `rightNs`,
//! `leftKey`, `rightKey`, and our optional `predicate`/`keyConjuncts` and
//! `wrapLeft`/`wrapRight`, see [`ops::equi_join`]) — whose closures are built from their
//! expressions by an [`OperatorBuilder`]: [`Expressions`] builds all of them with the
//! [`crate::ops`] constructors, [`NoUserLogic`] none.
//!
//! Writing a circuit back ([`save`]) uses each closure's label, which the pipeline's operator
//! constructors set to the operator's wire JSON ([`crate::ops::wire_json`]), so
//! `load(save(c))` rebuilds the same operators.
//!
//! **Round trips keep our semantics.** The reference loses two wrappers when it writes a
//! compiled pipeline (spec §a.3, §h.6): the `@select` rule "field-not-found is `false`" and
//! the `@project` stage's fragment semantics (`"$."` merges, path keys, a list of
//! fragments). We keep both, with two fields the reference does not write:
//!
//! - `select` with `"lenient": true` is the `@select` stage ([`crate::ops::select`]);
//!   without it (the reference's JSON) a `select` is strict: field-not-found aborts the step
//!   ([`crate::ops::select_strict`]).
//! - `project` with `"fragments": true` is the `@project` stage ([`crate::ops::project`],
//!   also used by the join helpers); without it (the reference's JSON) `projection` is one
//!   expression whose map result's keys are paths and whose `null` drops the row
//!   ([`crate::ops::project_expr`]).
//!
//! A reference implementation reading our JSON ignores the extra fields, and then behaves as
//! it would on its own JSON.
//!
//! ```
//! use deltaloop_pipeline::{compile, wire, Binding, CompileOptions};
//!
//! let options = CompileOptions::new("names").input(Binding::new("pods")).output(Binding::new("names"));
//! let compiled = compile(&serde_json::json!([{"@select": {"@eq": ["$.spec.app", "web"]}}]), &options)?;
//! let json = wire::save(compiled.circuit());
//! assert_eq!(json["nodes"]["b0_op_0"],
//!            serde_json::json!({"type": "select", "predicate": {"@eq": ["$.spec.app", "web"]}, "lenient": true}));
//! // Rebuild it, with expressions reading the pipeline's clock.
//! let loaded = wire::load(&json, &wire::Expressions::new(compiled.clock().clone()))?;
//! assert_eq!(wire::save(&loaded), json);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use deltaloop_engine::{Circuit, Operator};
use serde_json::{Map, Value as Json, json};

use crate::clock::Clock;
use crate::expr::{Expr, Registry};
use crate::ops::{self, Projection};
use crate::path::Path;
use crate::value::Value;

/// Why a circuit's JSON could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not JSON, or not the circuit shape; `at` is the JSON path of the problem.
    #[error("at {at}: {message}")]
    Shape {
        /// Where in the circuit JSON.
        at: String,
        /// What was expected.
        message: String,
    },
    /// The engine refused the graph (a duplicate or unknown node).
    #[error("at {at}: {source}")]
    Engine {
        /// Where in the circuit JSON.
        at: String,
        /// The engine's error.
        #[source]
        source: Box<deltaloop_engine::Error>,
    },
}

fn shape(at: impl Into<String>, message: impl Into<String>) -> WireError {
    WireError::Shape {
        at: at.into(),
        message: message.into(),
    }
}

/// Builds the operators whose closures come from expressions (`select`, `project`, …).
pub trait OperatorBuilder {
    /// The operator for node `node` with JSON `spec` of type `kind`, or `None` if `kind` is
    /// not one this builder knows.
    ///
    /// # Errors
    /// A message saying what is wrong with the spec, naming the field (a bad expression, a
    /// missing field).
    fn build(
        &self,
        node: &str,
        kind: &str,
        spec: &Map<String, Json>,
    ) -> Option<Result<Operator<Value>, String>>;
}

/// The builder that knows no user-logic operators: circuits of plain Z-set algebra only.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoUserLogic;

impl OperatorBuilder for NoUserLogic {
    fn build(
        &self,
        _node: &str,
        _kind: &str,
        _spec: &Map<String, Json>,
    ) -> Option<Result<Operator<Value>, String>> {
        None
    }
}

/// The builder of every user-logic operator of the wire format, from its expressions, with
/// the aggregation semantics of [`crate::ops`] (see the module docs for `lenient` and
/// `fragments`).
///
/// Expressions compile against its [`Registry`] (host callbacks) and read its [`Clock`] for
/// `@now`: give it the clock of the runner that will step the circuit (for instance
/// [`CompiledPipeline::clock`](crate::CompiledPipeline::clock), together with
/// [`CompiledPipeline::with_circuit`](crate::CompiledPipeline::with_circuit)).
#[derive(Clone, Debug, Default)]
pub struct Expressions {
    registry: Registry,
    clock: Clock,
}

impl Expressions {
    /// A builder with the built-in operators, whose expressions read `clock`.
    #[must_use]
    pub fn new(clock: Clock) -> Expressions {
        Expressions {
            registry: Registry::new(),
            clock,
        }
    }

    /// The builder with expressions compiled against `registry`.
    #[must_use]
    pub fn with_registry(mut self, registry: Registry) -> Expressions {
        self.registry = registry;
        self
    }

    /// The clock the built operators read.
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The required expression `field` (`null` is the literal expression `null`).
    fn expr(&self, spec: &Map<String, Json>, field: &str) -> Result<Expr, String> {
        match spec.get(field) {
            None => Err(format!("{field:?}: expected an expression")),
            Some(source) => Expr::compile_value_with(&Value::from(source), &self.registry)
                .map_err(|e| format!("{field:?}: {e}")),
        }
    }

    /// A `@project` fused into a group-by node, as `field` (`"then"` or `"before"`) writes
    /// it: `{node, projection}`.
    fn fused_projection<'s>(
        &self,
        fused: &'s Json,
        field: &str,
    ) -> Result<(&'s str, Projection), String> {
        let fused = fused
            .as_object()
            .ok_or_else(|| format!("{field:?}: expected an object {{node, projection}}"))?;
        let project_node = string(fused, "node").map_err(|e| format!("{field:?}: {e}"))?;
        let source = fused
            .get("projection")
            .ok_or_else(|| format!("{field:?}: \"projection\": expected a projection"))?;
        let projection = Projection::compile(&Value::from(source), &self.registry)
            .map_err(|e| format!("{field:?}: \"projection\"{e}"))?;
        Ok((project_node, projection))
    }

    fn build_user(
        &self,
        node: &str,
        kind: &str,
        spec: &Map<String, Json>,
    ) -> Result<Operator<Value>, String> {
        let clock = &self.clock;
        Ok(match kind {
            "select" => {
                let predicate = self.expr(spec, "predicate")?;
                if flag(spec, "lenient")? {
                    ops::select(node, predicate, clock)
                } else {
                    ops::select_strict(node, predicate, clock)
                }
            }
            "project" => {
                if flag(spec, "fragments")? {
                    let source = spec
                        .get("projection")
                        .ok_or("\"projection\": expected a projection")?;
                    let projection = Projection::compile(&Value::from(source), &self.registry)
                        .map_err(|e| format!("\"projection\"{e}"))?;
                    ops::project(node, projection, clock)
                } else {
                    ops::project_expr(node, self.expr(spec, "projection")?, clock)
                }
            }
            "unwind" => {
                let field = string(spec, "field")?;
                let path = Path::parse(field).map_err(|e| format!("\"field\": {e}"))?;
                ops::unwind(node, path)
            }
            "cartesian" => ops::cartesian(node),
            "group_by" | "group_by_incremental" => {
                // As in the `@groupBy` stage, the key expression must not be `null`.
                if spec.get("keyExpr").is_none_or(Json::is_null) {
                    return Err("\"keyExpr\": expected an expression, not null".into());
                }
                let key = self.expr(spec, "keyExpr")?;
                let value = match spec.get("valueExpr") {
                    None | Some(Json::Null) => None,
                    Some(_) => Some(self.expr(spec, "valueExpr")?),
                };
                let then = match spec.get("then") {
                    None | Some(Json::Null) => None,
                    Some(then) => Some(self.fused_projection(then, "then")?),
                };
                let op = match spec.get("before") {
                    None | Some(Json::Null) => ops::group_by_with(
                        node,
                        key,
                        value,
                        flag(spec, "distinct")?,
                        true,
                        then,
                        clock,
                    ),
                    Some(before) => {
                        let (project_node, projection) = self.fused_projection(before, "before")?;
                        let pre = ops::PreProjection::new(&projection, &key, value.as_ref())
                            .ok_or(
                                "\"before\": the key and value expressions must only arrange \
                                 every field of the flat projection into literals",
                            )?;
                        ops::group_by_projected(
                            project_node,
                            pre,
                            flag(spec, "distinct")?,
                            then,
                            clock,
                        )
                    }
                };
                match (kind, op) {
                    ("group_by_incremental", Operator::GroupBy(g)) => {
                        Operator::GroupByIncremental(g)
                    }
                    (_, op) => op,
                }
            }
            "equi_join" | "equi_join_incremental" => {
                let left = ops::JoinInput {
                    ns: string(spec, "leftNs")?.to_owned(),
                    key: self.expr(spec, "leftKey")?,
                    wrap: flag(spec, "wrapLeft")?,
                };
                let right = ops::JoinInput {
                    ns: string(spec, "rightNs")?.to_owned(),
                    key: self.expr(spec, "rightKey")?,
                    wrap: flag(spec, "wrapRight")?,
                };
                let check = match spec.get("predicate") {
                    None | Some(Json::Null) => None,
                    Some(_) => {
                        let key_conjuncts = match spec.get("keyConjuncts") {
                            None | Some(Json::Null) => None,
                            Some(n) => Some(
                                n.as_u64()
                                    .and_then(|n| usize::try_from(n).ok())
                                    .filter(|n| *n > 0)
                                    .ok_or("keyConjuncts: expected a positive integer")?,
                            ),
                        };
                        Some(ops::JoinCheck {
                            predicate: self.expr(spec, "predicate")?,
                            key_conjuncts,
                        })
                    }
                };
                let op = ops::equi_join(node, left, right, check, clock);
                match (kind, op) {
                    ("equi_join_incremental", Operator::EquiJoin(j)) => {
                        Operator::EquiJoinIncremental(j)
                    }
                    (_, op) => op,
                }
            }
            other => return Err(format!("unknown operator type {other:?}")),
        })
    }
}

/// The user-logic operator kinds [`Expressions`] builds.
const USER_KINDS: [&str; 8] = [
    "select",
    "project",
    "unwind",
    "cartesian",
    "group_by",
    "group_by_incremental",
    "equi_join",
    "equi_join_incremental",
];

impl OperatorBuilder for Expressions {
    fn build(
        &self,
        node: &str,
        kind: &str,
        spec: &Map<String, Json>,
    ) -> Option<Result<Operator<Value>, String>> {
        USER_KINDS
            .contains(&kind)
            .then(|| self.build_user(node, kind, spec))
    }
}

/// An optional boolean field (absent or `null`: `false`).
fn flag(spec: &Map<String, Json>, field: &str) -> Result<bool, String> {
    match spec.get(field) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("{field:?}: expected a boolean, found {other}")),
    }
}

/// A required string field.
fn string<'a>(spec: &'a Map<String, Json>, field: &str) -> Result<&'a str, String> {
    spec.get(field)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("{field:?}: expected a string"))
}

/// The operators without user logic, from their wire JSON.
fn plain_operator(kind: &str, spec: &Map<String, Json>) -> Option<Result<Operator<Value>, String>> {
    Some(Ok(match kind {
        "input" => Operator::Input,
        "output" => Operator::Output,
        "delay" | "delay_absorb" => Operator::Delay,
        "integrate" => Operator::Integrate,
        "differentiate" => Operator::Differentiate,
        "delta0" => Operator::Delta0,
        "H_func" => Operator::DistinctH,
        "noop" => Operator::Noop,
        "negate" => Operator::Negate,
        "distinct" => Operator::Distinct,
        "plus" | "sum" => Operator::plus(),
        "minus" | "subtract" => Operator::minus(),
        "linear_combination" => {
            let Some(coeffs) = spec.get("coeffs").and_then(Json::as_array) else {
                return Some(Err(
                    "linear_combination needs a \"coeffs\" list of integers".into(),
                ));
            };
            let mut out = Vec::with_capacity(coeffs.len());
            for c in coeffs {
                match c.as_i64() {
                    Some(c) => out.push(c),
                    None => return Some(Err(format!("coefficient {c} is not an integer"))),
                }
            }
            Operator::LinearCombination(out)
        }
        _ => return None,
    }))
}

/// Loads a circuit from its wire JSON, building user-logic operators with `builder`.
///
/// ```
/// use deltaloop_pipeline::wire::{load, save, NoUserLogic};
/// let text = r#"{"name": "fb", "nodes": {"in": {"type": "input"}, "p": {"type": "plus"},
///   "z": {"type": "delay"}, "out": {"type": "output"}},
///   "edges": [{"from": "in", "to": "p", "port": 0}, {"from": "z", "to": "p", "port": 1},
///             {"from": "p", "to": "z", "port": 0}, {"from": "p", "to": "out", "port": 0}]}"#;
/// let circuit = load(&serde_json::from_str(text)?, &NoUserLogic)?;
/// circuit.validate()?;
/// assert_eq!(save(&circuit)["nodes"]["p"]["type"], "linear_combination");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`WireError`] naming the JSON path of the first problem.
pub fn load(json: &Json, builder: &dyn OperatorBuilder) -> Result<Circuit<Value>, WireError> {
    let obj = json
        .as_object()
        .ok_or_else(|| shape("$", "expected a circuit object {name, nodes, edges}"))?;
    let name = obj.get("name").and_then(Json::as_str).unwrap_or("circuit");
    let mut circuit = Circuit::new(name);
    let nodes = obj
        .get("nodes")
        .and_then(Json::as_object)
        .ok_or_else(|| shape("$.nodes", "expected an object of node id → operator"))?;
    for (id, spec) in nodes {
        let at = format!("$.nodes[{id:?}]");
        let spec = spec
            .as_object()
            .ok_or_else(|| shape(&at, "expected an operator object {\"type\": …}"))?;
        let kind = spec
            .get("type")
            .and_then(Json::as_str)
            .ok_or_else(|| shape(&at, "expected a string \"type\""))?;
        let op = plain_operator(kind, spec)
            .or_else(|| builder.build(id, kind, spec))
            .ok_or_else(|| {
                shape(
                    format!("{at}.type"),
                    format!("unknown operator type {kind:?}"),
                )
            })?
            .map_err(|m| shape(&at, m))?;
        circuit
            .add_node(id.clone(), op)
            .map_err(|source| WireError::Engine {
                at: at.clone(),
                source: Box::new(source),
            })?;
    }
    let edges = obj
        .get("edges")
        .and_then(Json::as_array)
        .ok_or_else(|| shape("$.edges", "expected a list of {from, to, port}"))?;
    for (i, e) in edges.iter().enumerate() {
        let at = format!("$.edges[{i}]");
        let field = |k: &str| {
            e.get(k)
                .and_then(Json::as_str)
                .ok_or_else(|| shape(&at, format!("expected a string {k:?}")))
        };
        let (from, to) = (field("from")?, field("to")?);
        let port = match e.get("port") {
            None => 0,
            Some(p) => p
                .as_u64()
                .and_then(|p| usize::try_from(p).ok())
                .ok_or_else(|| shape(format!("{at}.port"), "expected a non-negative integer"))?,
        };
        circuit
            .connect(from, to, port)
            .map_err(|source| WireError::Engine {
                at: at.clone(),
                source: Box::new(source),
            })?;
    }
    Ok(circuit)
}

/// The wire JSON of one operator: [`ops::wire_json`] for the operators built by
/// [`crate::ops`]; a closure with a foreign label is written as `{"type", "label"}`.
#[must_use]
pub fn operator_json(op: &Operator<Value>) -> Json {
    if let Some(wire) = ops::wire_json(op) {
        return wire;
    }
    if let Operator::LinearCombination(c) = op {
        return json!({"type": "linear_combination", "coeffs": c});
    }
    let Some(label) = ops::primary_label(op) else {
        return json!({"type": op.kind()});
    };
    json!({"type": op.kind(), "label": label})
}

/// The wire JSON of a circuit.
#[must_use]
pub fn save(circuit: &Circuit<Value>) -> Json {
    let nodes: Map<String, Json> = circuit
        .nodes()
        .map(|(id, op)| (id.to_string(), operator_json(op)))
        .collect();
    let edges: Vec<Json> = circuit
        .edges()
        .iter()
        .map(|e| json!({"from": e.from, "to": e.to, "port": e.port}))
        .collect();
    json!({"name": circuit.name(), "nodes": nodes, "edges": edges})
}
