//! The circuit wire format: circuits as JSON, to save, inspect, test and exchange them.
//!
//! A circuit is `{"name": N, "nodes": {id: {"type": T, …}}, "edges": [{"from", "to",
//! "port"}]}`, the format of the reference implementation (see the spec §a.3). Operator types:
//! `input`, `output`, `delay`, `integrate`, `differentiate`, `delta0`, `H_func`, `noop`,
//! `negate`, `plus`, `minus`, `sum`, `subtract`, `linear_combination` (`coeffs`), `distinct`,
//! and the operators with user logic — `select` (`predicate`), `project` (`projection`),
//! `unwind` (`field`), `cartesian`, `group_by` / `group_by_incremental` (`keyExpr`,
//! `valueExpr`, `distinct`), `equi_join` / `equi_join_incremental` (`leftNs`, `rightNs`,
//! `leftKey`, `rightKey`) — whose closures are built from their expressions by an
//! [`OperatorBuilder`].
//!
//! Writing a circuit back uses each closure's label, which the pipeline's operator
//! constructors set to the operator's wire JSON.

use deltaloop_engine::{Circuit, Operator};
use serde_json::{Map, Value as Json, json};

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
    /// The operator for node JSON `spec` of type `kind`, or `None` if `kind` is not one this
    /// builder knows.
    ///
    /// # Errors
    /// A message saying what is wrong with the spec (a bad expression, a missing field).
    fn build(
        &self,
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
        _kind: &str,
        _spec: &Map<String, Json>,
    ) -> Option<Result<Operator<Value>, String>> {
        None
    }
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
            .or_else(|| builder.build(kind, spec))
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

/// The wire JSON of one operator.
#[must_use]
pub fn operator_json(op: &Operator<Value>) -> Json {
    let labelled = |label: &str| -> Json {
        match serde_json::from_str::<Json>(label) {
            Ok(Json::Object(mut m)) => {
                m.insert("type".into(), json!(op.kind()));
                Json::Object(m)
            }
            _ => json!({"type": op.kind(), "label": label}),
        }
    };
    match op {
        Operator::LinearCombination(c) => json!({"type": "linear_combination", "coeffs": c}),
        Operator::Map(f) => labelled(f.label()),
        Operator::Filter(f) => labelled(f.label()),
        Operator::FlatMap(f) => labelled(f.label()),
        Operator::Cartesian(f) => labelled(f.label()),
        Operator::EquiJoin(j) | Operator::EquiJoinIncremental(j) => labelled(j.combine.label()),
        Operator::GroupBy(g) | Operator::GroupByIncremental(g) => labelled(g.group.label()),
        _ => json!({"type": op.kind()}),
    }
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
