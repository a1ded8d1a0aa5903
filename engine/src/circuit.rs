//! Circuits: inspectable graphs of operators over Z-set streams.
//!
//! A [`Circuit`] is a named directed multigraph. A node is an id plus an [`Operator`]; an
//! [`Edge`] feeds the output of one node into an input *port* of another. `input` and
//! `output` nodes are the boundary. Feedback is allowed only through `delay` (z⁻¹) nodes:
//! an edge *into* a delay is read at the end of the step, so a loop through a delay is still
//! executable in one topological pass.
//!
//! Circuits are plain values: transforms clone and rewrite them, [`Circuit::validate`]
//! checks them, and an [`Executor`](crate::Executor) runs them.
//!
//! ```
//! use deltaloop_engine::{zset, Circuit, Executor, FilterFn};
//!
//! let mut c = Circuit::new("evens");
//! let numbers = c.input("numbers")?;
//! let evens = c.filter(&numbers, FilterFn::new("even", |n: &i64| Ok(n % 2 == 0)))?;
//! c.output("evens", &evens)?;
//!
//! let mut exec = Executor::new(c)?;
//! exec.feed("input_numbers", zset! { 1 => 1, 2 => 1, 4 => -1 })?;
//! exec.step()?;
//! assert_eq!(exec.output("output_evens")?, &zset! { 2 => 1, 4 => -1 });
//! # Ok::<(), deltaloop_engine::Error>(())
//! ```

mod render;
mod validate;

use std::collections::BTreeMap;

pub use render::{to_dot, to_mermaid};

use crate::data::{Data, Weight};
use crate::error::{Error, Result};
use crate::operator::{CombineFn, FilterFn, FlatMapFn, GroupSpec, JoinSpec, MapFn, Operator};

/// An edge: the output of `from` feeds input port `port` of `to`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    /// The source node id.
    pub from: String,
    /// The target node id.
    pub to: String,
    /// The input port on the target.
    pub port: usize,
}

/// A circuit: named nodes (id → operator) and the edges between them.
#[derive(Clone, Debug)]
pub struct Circuit<T: Data> {
    name: String,
    nodes: BTreeMap<String, Operator<T>>,
    edges: Vec<Edge>,
}

/// Replaces every run of characters outside `[A-Za-z0-9_]` with `_` and trims `_` at both
/// ends: the canonical form of names inside node ids.
///
/// ```
/// assert_eq!(deltaloop_engine::sanitize("apps/v1 Deployment"), "apps_v1_Deployment");
/// ```
#[must_use]
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out.trim_matches('_').to_string()
}

/// The canonical id of the input node for stream `name`: `input_<sanitize(name)>`.
#[must_use]
pub fn input_id(name: &str) -> String {
    format!("input_{}", sanitize(name))
}

/// The canonical id of the output node for stream `name`: `output_<sanitize(name)>`.
#[must_use]
pub fn output_id(name: &str) -> String {
    format!("output_{}", sanitize(name))
}

impl<T: Data> Circuit<T> {
    /// An empty circuit named `name`.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            nodes: BTreeMap::new(),
            edges: Vec::new(),
        }
    }

    /// The circuit's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the circuit.
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// The nodes, ordered by id.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Operator<T>)> + '_ {
        self.nodes.iter().map(|(id, op)| (id.as_str(), op))
    }

    /// The edges, in insertion order.
    #[must_use]
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The operator of node `id`.
    #[must_use]
    pub fn node(&self, id: &str) -> Option<&Operator<T>> {
        self.nodes.get(id)
    }

    /// Whether node `id` exists.
    #[must_use]
    pub fn contains(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    /// The ids of the input nodes, sorted.
    #[must_use]
    pub fn inputs(&self) -> Vec<String> {
        self.ids_of(|op| matches!(op, Operator::Input))
    }

    /// The ids of the output nodes, sorted.
    #[must_use]
    pub fn outputs(&self) -> Vec<String> {
        self.ids_of(|op| matches!(op, Operator::Output))
    }

    fn ids_of(&self, pred: impl Fn(&Operator<T>) -> bool) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, op)| pred(op))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The edges into node `id`, sorted by port.
    #[must_use]
    pub fn in_edges(&self, id: &str) -> Vec<&Edge> {
        let mut v: Vec<&Edge> = self.edges.iter().filter(|e| e.to == id).collect();
        v.sort_by_key(|e| e.port);
        v
    }

    /// The edges out of node `id`, in insertion order.
    #[must_use]
    pub fn out_edges(&self, id: &str) -> Vec<&Edge> {
        self.edges.iter().filter(|e| e.from == id).collect()
    }

    /// Adds node `id`; fails if the id is taken.
    ///
    /// # Errors
    /// [`Error::DuplicateNode`].
    pub fn add_node(&mut self, id: impl Into<String>, op: Operator<T>) -> Result<String> {
        let id = id.into();
        if self.nodes.contains_key(&id) {
            return Err(Error::DuplicateNode {
                circuit: self.name.clone(),
                node: id,
            });
        }
        self.nodes.insert(id.clone(), op);
        Ok(id)
    }

    /// Replaces the operator of an existing node.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    pub fn replace_node(&mut self, id: &str, op: Operator<T>) -> Result<()> {
        match self.nodes.get_mut(id) {
            Some(slot) => {
                *slot = op;
                Ok(())
            }
            None => Err(self.unknown(id)),
        }
    }

    /// Removes node `id` and every edge touching it.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    pub fn remove_node(&mut self, id: &str) -> Result<Operator<T>> {
        let op = self.nodes.remove(id).ok_or_else(|| self.unknown(id))?;
        self.edges.retain(|e| e.from != id && e.to != id);
        Ok(op)
    }

    /// Adds the edge `from → to[port]`. Both nodes must exist; ports are checked by
    /// [`validate`](Self::validate).
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    pub fn connect(&mut self, from: &str, to: &str, port: usize) -> Result<()> {
        for id in [from, to] {
            if !self.nodes.contains_key(id) {
                return Err(self.unknown(id));
            }
        }
        self.edges.push(Edge {
            from: from.to_string(),
            to: to.to_string(),
            port,
        });
        Ok(())
    }

    /// Removes every edge equal to `edge`.
    pub fn disconnect(&mut self, edge: &Edge) {
        self.edges.retain(|e| e != edge);
    }

    pub(crate) fn unknown(&self, id: &str) -> Error {
        Error::UnknownNode {
            circuit: self.name.clone(),
            node: id.to_string(),
        }
    }

    /// A fresh id `<kind>_<n>` not yet used in this circuit.
    #[must_use]
    pub fn fresh_id(&self, kind: &str) -> String {
        let mut n = self.nodes.len();
        loop {
            let id = format!("{kind}_{n}");
            if !self.nodes.contains_key(&id) {
                return id;
            }
            n += 1;
        }
    }

    /// Adds `op` under a fresh id, fed by `inputs` on ports 0, 1, …, and returns the id.
    ///
    /// # Errors
    /// [`Error::UnknownNode`] when an input does not exist.
    #[track_caller]
    pub fn add(&mut self, op: Operator<T>, inputs: &[&str]) -> Result<String> {
        for input in inputs {
            if !self.nodes.contains_key(*input) {
                return Err(self.unknown(input));
            }
        }
        let id = self.fresh_id(op.kind());
        self.nodes.insert(id.clone(), op);
        for (port, input) in inputs.iter().enumerate() {
            self.connect(input, &id, port)?;
        }
        Ok(id)
    }

    /// Adds the input node for stream `name` (id `input_<name>`) and returns its id.
    ///
    /// # Errors
    /// [`Error::DuplicateNode`].
    pub fn input(&mut self, name: &str) -> Result<String> {
        self.add_node(input_id(name), Operator::Input)
    }

    /// Adds the output node for stream `name` (id `output_<name>`), fed by `from`.
    ///
    /// # Errors
    /// [`Error::DuplicateNode`], [`Error::UnknownNode`].
    pub fn output(&mut self, name: &str, from: &str) -> Result<String> {
        let id = self.add_node(output_id(name), Operator::Output)?;
        self.connect(from, &id, 0)?;
        Ok(id)
    }

    /// `project`: maps every row of `from`.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn map(&mut self, from: &str, f: MapFn<T>) -> Result<String> {
        self.add(Operator::Map(f), &[from])
    }

    /// `select`: keeps the rows of `from` that satisfy `f`.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn filter(&mut self, from: &str, f: FilterFn<T>) -> Result<String> {
        self.add(Operator::Filter(f), &[from])
    }

    /// `unwind`: expands every row of `from`.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn flat_map(&mut self, from: &str, f: FlatMapFn<T>) -> Result<String> {
        self.add(Operator::FlatMap(f), &[from])
    }

    /// The sum of two streams.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn plus(&mut self, a: &str, b: &str) -> Result<String> {
        self.add(Operator::plus(), &[a, b])
    }

    /// Σ cᵢ·inᵢ.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn linear_combination(&mut self, inputs: &[(&str, Weight)]) -> Result<String> {
        let coeffs = inputs.iter().map(|(_, c)| *c).collect();
        let ids: Vec<&str> = inputs.iter().map(|(id, _)| *id).collect();
        self.add(Operator::LinearCombination(coeffs), &ids)
    }

    /// The negation of a stream.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn negate(&mut self, from: &str) -> Result<String> {
        self.add(Operator::Negate, &[from])
    }

    /// The Cartesian product of two streams.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn cartesian(&mut self, left: &str, right: &str, combine: CombineFn<T>) -> Result<String> {
        self.add(Operator::Cartesian(combine), &[left, right])
    }

    /// The equi-join of two streams.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn equi_join(&mut self, left: &str, right: &str, spec: JoinSpec<T>) -> Result<String> {
        self.add(Operator::EquiJoin(spec), &[left, right])
    }

    /// `distinct` of a stream.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn distinct(&mut self, from: &str) -> Result<String> {
        self.add(Operator::Distinct, &[from])
    }

    /// Group-by with aggregation.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn group_by(&mut self, from: &str, spec: GroupSpec<T>) -> Result<String> {
        self.add(Operator::GroupBy(spec), &[from])
    }

    /// ∫ of a stream.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn integrate(&mut self, from: &str) -> Result<String> {
        self.add(Operator::Integrate, &[from])
    }

    /// D of a stream.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn differentiate(&mut self, from: &str) -> Result<String> {
        self.add(Operator::Differentiate, &[from])
    }

    /// z⁻¹ of a stream. To close a feedback loop, create the delay first with
    /// [`add_node`](Self::add_node) and [`connect`](Self::connect) its input later.
    ///
    /// # Errors
    /// [`Error::UnknownNode`].
    #[track_caller]
    pub fn delay(&mut self, from: &str) -> Result<String> {
        self.add(Operator::Delay, &[from])
    }

    /// Checks that the circuit can run: every edge's port exists on its target, every port
    /// is fed exactly once, and every cycle passes through a delay.
    ///
    /// # Errors
    /// [`Error::PortOutOfRange`], [`Error::DuplicatePort`], [`Error::DanglingPort`],
    /// [`Error::UnknownNode`], [`Error::Cycle`].
    pub fn validate(&self) -> Result<()> {
        validate::validate(self).map(|_| ())
    }

    /// The execution order: a topological order of the nodes (edges into delays excluded),
    /// ties broken by node id.
    ///
    /// # Errors
    /// As [`validate`](Self::validate).
    pub fn schedule(&self) -> Result<Vec<String>> {
        validate::validate(self)
    }

    /// Moves every out-edge of `old` to leave from `new` instead.
    pub(crate) fn redirect_outputs(&mut self, old: &str, new: &str) {
        for e in &mut self.edges {
            if e.from == old {
                e.from = new.to_string();
            }
        }
    }

    /// Removes node `id` and connects its single input's source to all its consumers.
    pub(crate) fn bypass(&mut self, id: &str) -> Result<()> {
        let source = match self.in_edges(id).as_slice() {
            [e] => e.from.clone(),
            _ => return Err(self.unknown(id)),
        };
        self.redirect_outputs(id, &source);
        self.remove_node(id)?;
        Ok(())
    }
}
