//! The aggregation compiler: MongoDB-style pipelines onto engine circuits (spec §b.1–b.3).
//!
//! [`compile`] turns a pipeline (one stage, a list of stages, or a program of branches)
//! into a [`CompiledPipeline`]: a snapshot [`Circuit<Value>`](deltaloop_engine::Circuit)
//! plus its bindings and its step [`Clock`](crate::Clock).
//!
//! - **Shapes** (`program.rs`): `{"@op": args}` or `"@op"` is one stage; a list of stages is
//!   a pipeline; a list of lists is a program of branches, each declaring `@inputs` and
//!   `@output`. Branch outputs are internal streams (several producers add up); consumers
//!   compile after their producers, and the branch graph must be acyclic.
//! - **Stages** (`stages.rs`): `@select`, `@project`, `@unwind`, `@groupBy`, `@distinct`,
//!   `@join`; the directives `@inputs`/`@output`. `@gather`, `@aggregate` and `@mux` are
//!   rejected, as is any other `@x`.
//! - **Joins** (`join.rs`): participants are wrapped as `{N: doc}` and joined left-deep;
//!   soft inputs are left-joined (unmatched rows padded with `N: null`). A join site whose
//!   predicate has an `@eq` between a field of the joined-so-far inputs and a field of the
//!   new input becomes a hash [`equi_join`](crate::ops::equi_join) instead of a Cartesian
//!   product, with the full predicate still applied (inside the join when it joins two
//!   inputs, see [`JoinCheck`](crate::ops::JoinCheck), else by a select after the last
//!   site): same results, without the quadratic product. The inputs a hash join adds go
//!   into it unwrapped: it puts their documents under their names itself
//!   ([`JoinInput`](crate::ops::JoinInput)).
//!
//! Node ids follow the reference: `input_<topic>`, `output_<topic>`, `b<i>_op_<stage>`,
//! `b<i>_ns_<j>_<name>` (for inputs that are wrapped), `b<i>_join_cart_<n>` (or
//! `b<i>_join_eq_<n>`), `b<i>_join_select`, `b<i>_lj<n>_*`, `lc_<scope>_<name>`.
//!
//! Errors ([`PipelineError`]) name the place: the stage (`pipeline[2] @join` or
//! `branch 1 stage 0 @project`) and the position inside its argument (`[1].soft[0]`).
//!
//! ```
//! use deltaloop_engine::zset;
//! use deltaloop_pipeline::{compile, Binding, CompileOptions, Value};
//!
//! let options = CompileOptions::new("names")
//!     .input(Binding::new("pods"))
//!     .output(Binding::new("names"));
//! let pipeline = serde_json::json!([
//!     {"@select": {"@eq": ["$.metadata.namespace", "default"]}},
//!     {"@project": {"name": "$.metadata.name"}}
//! ]);
//! let compiled = compile(&pipeline, &options)?;
//! let mut runner = compiled.runner()?;
//! let pod = Value::from_json_str(r#"{"metadata": {"name": "web", "namespace": "default"}}"#)?;
//! let out = runner.step([("pods", zset! { pod => 1 })])?;
//! assert_eq!(out["names"], zset! { Value::from_json_str(r#"{"name": "web"}"#)? => 1 });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod join;
mod program;
mod stages;

use std::collections::HashMap;

use deltaloop_engine::{Circuit, Operator, sanitize};

use crate::clock::Clock;
use crate::compiled::{CompiledPipeline, PortBinding};
use crate::error::CompileError;
use crate::expr::Registry;
use crate::value::Value;
use program::Feed;

/// A stream binding: the topic (`name`, which gives the node id) and the logical name the
/// pipeline uses for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The topic: input and output node ids are `input_<topic>` / `output_<topic>`.
    pub name: String,
    /// The name used in `@inputs`, `@output` and expressions (`$.<logical>` in joins).
    pub logical: String,
}

impl Binding {
    /// The identity binding: topic and logical name are both `name`.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Binding {
        let name = name.into();
        Binding {
            logical: name.clone(),
            name,
        }
    }

    /// A binding of topic `name` under logical name `logical`.
    #[must_use]
    pub fn with_logical(name: impl Into<String>, logical: impl Into<String>) -> Binding {
        Binding {
            name: name.into(),
            logical: logical.into(),
        }
    }
}

/// What [`compile`] needs besides the pipeline.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// The circuit's name.
    pub name: String,
    /// The sources, in order (a plain pipeline's inputs, and its join order).
    pub inputs: Vec<Binding>,
    /// The configured outputs; empty means one output `output`.
    pub outputs: Vec<Binding>,
    /// The operator registry for expressions (host callbacks).
    pub registry: Registry,
}

impl CompileOptions {
    /// Options for a circuit named `name`, with no bindings and the built-in operators.
    #[must_use]
    pub fn new(name: impl Into<String>) -> CompileOptions {
        CompileOptions {
            name: name.into(),
            ..CompileOptions::default()
        }
    }

    /// Adds a source binding.
    #[must_use]
    pub fn input(mut self, binding: Binding) -> CompileOptions {
        self.inputs.push(binding);
        self
    }

    /// Adds a configured output.
    #[must_use]
    pub fn output(mut self, binding: Binding) -> CompileOptions {
        self.outputs.push(binding);
        self
    }

    /// Sets the expression registry.
    #[must_use]
    pub fn registry(mut self, registry: Registry) -> CompileOptions {
        self.registry = registry;
        self
    }
}

/// A pipeline failed to compile: where, and what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}{kind}", if at.is_empty() { String::new() } else { format!("{at}: ") })]
pub struct PipelineError {
    /// The location: the stage (`pipeline[2] @join`, `branch 1 stage 0 @project`) and the
    /// position inside its argument (`[1].soft[0]`); empty for whole-program errors.
    pub at: String,
    /// What went wrong.
    pub kind: PipelineErrorKind,
}

/// What went wrong compiling a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineErrorKind {
    /// A value has the wrong shape.
    #[error("expected {expected}, found {found}")]
    Shape {
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// An expression inside a stage does not compile.
    #[error("invalid expression {0}")]
    Expression(Box<CompileError>),
    /// An unknown `@x` stage.
    #[error("unsupported pipeline operation {0}")]
    UnsupportedStage(String),
    /// A stage of the reference's older language, deliberately not supported.
    #[error("{0} is not supported; use @groupBy and @project instead")]
    RejectedStage(String),
    /// A misused `@inputs` / `@output` directive, or a branch without them.
    #[error("{0}")]
    Directive(String),
    /// An invalid `@join` (participants, options, position).
    #[error("{0}")]
    Join(String),
    /// An input name that is neither a stream nor a source.
    #[error(
        "input {name:?} is unbound: no branch produces it and no source has that logical name (sources: {sources:?})"
    )]
    UnboundInput {
        /// The name.
        name: String,
        /// The sources' logical names.
        sources: Vec<String>,
    },
    /// A configured output without a producer.
    #[error(
        "configured output {0:?} is unbound: no branch has that @output and no source has that logical name"
    )]
    UnboundOutput(String),
    /// The branches feed each other in a cycle.
    #[error("the branches form a cycle through streams {0:?}")]
    Cycle(Vec<String>),
    /// Invalid bindings (a topic bound twice).
    #[error("{0}")]
    Binding(String),
    /// The engine refused the circuit.
    #[error("{0}")]
    Engine(Box<deltaloop_engine::Error>),
}

impl From<CompileError> for PipelineErrorKind {
    fn from(e: CompileError) -> Self {
        PipelineErrorKind::Expression(Box::new(e))
    }
}

impl From<deltaloop_engine::Error> for PipelineErrorKind {
    fn from(e: deltaloop_engine::Error) -> Self {
        PipelineErrorKind::Engine(Box::new(e))
    }
}

impl PipelineError {
    pub(crate) fn new(at: impl Into<String>, kind: impl Into<PipelineErrorKind>) -> PipelineError {
        PipelineError {
            at: at.into(),
            kind: kind.into(),
        }
    }

    pub(crate) fn shape(
        at: impl Into<String>,
        expected: impl Into<String>,
        found: &Value,
    ) -> PipelineError {
        PipelineError::new(
            at,
            PipelineErrorKind::Shape {
                expected: expected.into(),
                found: crate::ops::found(found),
            },
        )
    }
}

/// Compiles a pipeline given as JSON: one stage (`{"@op": args}` or `"@op"`), a list of
/// stages, or a program of branches (lists with `@inputs` and `@output`).
///
/// Stages: `@select`, `@project`, `@unwind`, `@groupBy`, `@distinct`, `@join` (with `soft`,
/// `inputs` and `index` options). A `@join` predicate with an `@eq` between fields of two
/// inputs (alone or as a top-level `@and` conjunct) compiles to a hash equi-join that still
/// applies the full predicate, so results equal the Cartesian form's. Node ids follow the
/// reference: `input_<topic>`, `output_<topic>`, `b<i>_op_<stage>`, `b<i>_ns_<j>_<name>`,
/// `b<i>_join_cart_<n>` / `b<i>_join_eq_<n>`, `b<i>_join_select`, `b<i>_lj<n>_*`,
/// `lc_stream_<name>`.
///
/// # Errors
/// [`PipelineError`] naming the stage and the position inside it.
pub fn compile(
    pipeline: &serde_json::Value,
    options: &CompileOptions,
) -> Result<CompiledPipeline, PipelineError> {
    compile_value(&Value::from(pipeline), options)
}

/// Compiles a pipeline given as a [`Value`] (decoded from YAML, say).
///
/// # Errors
/// As [`compile`].
pub fn compile_value(
    pipeline: &Value,
    options: &CompileOptions,
) -> Result<CompiledPipeline, PipelineError> {
    let default_output = [Binding::new("output")];
    let outputs: &[Binding] = if options.outputs.is_empty() {
        &default_output
    } else {
        &options.outputs
    };
    let clock = Clock::new();
    let mut circuit: Circuit<Value> = Circuit::new(options.name.clone());
    let engine = |e: deltaloop_engine::Error| PipelineError::new("", e);

    // Sources.
    let mut inputs = Vec::with_capacity(options.inputs.len());
    for b in &options.inputs {
        let node = circuit.input(&b.name).map_err(|_| {
            PipelineError::new(
                "",
                PipelineErrorKind::Binding(format!("input topic {:?} is bound twice", b.name)),
            )
        })?;
        inputs.push(PortBinding {
            topic: b.name.clone(),
            logical: b.logical.clone(),
            node,
        });
    }
    let sources: Vec<String> = inputs.iter().map(|b| b.logical.clone()).collect();
    let first_output = outputs.first().map_or("output", |b| b.logical.as_str());
    let program = program::parse(pipeline, &sources, first_output)?;
    let plan = program::plan(&program, &sources)?;

    let mut ctx = stages::Ctx {
        circuit: &mut circuit,
        clock: &clock,
        registry: &options.registry,
    };
    let mut produced: HashMap<String, Vec<String>> = HashMap::new();
    let mut producer_count: HashMap<&str, usize> = HashMap::new();
    for b in &program.branches {
        *producer_count.entry(b.output.as_str()).or_default() += 1;
    }
    let mut unions: HashMap<String, String> = HashMap::new();
    for &bi in &plan.order {
        let branch = &program.branches[bi];
        let mut feeds = Vec::with_capacity(branch.inputs.len());
        for (name, feed) in branch.inputs.iter().zip(&plan.feeds[bi]) {
            let node = match feed {
                Feed::Source(i) => inputs[*i].node.clone(),
                Feed::Stream => {
                    stream_node(ctx.circuit, &mut unions, &produced, name).map_err(engine)?
                }
            };
            feeds.push((name.clone(), node));
        }
        let out = stages::compile_branch(&mut ctx, branch, &feeds, program.plain)?;
        produced.entry(branch.output.clone()).or_default().push(out);
    }

    // Configured outputs.
    let mut bound = Vec::with_capacity(outputs.len());
    for b in outputs {
        let from = if produced.contains_key(&b.logical) {
            stream_node(&mut circuit, &mut unions, &produced, &b.logical).map_err(engine)?
        } else if let Some(src) = inputs.iter().find(|s| s.logical == b.logical) {
            src.node.clone()
        } else {
            return Err(PipelineError::new(
                "",
                PipelineErrorKind::UnboundOutput(b.logical.clone()),
            ));
        };
        let node = circuit.output(&b.name, &from).map_err(|_| {
            PipelineError::new(
                "",
                PipelineErrorKind::Binding(format!("output topic {:?} is bound twice", b.name)),
            )
        })?;
        bound.push(PortBinding {
            topic: b.name.clone(),
            logical: b.logical.clone(),
            node,
        });
    }
    circuit.validate().map_err(engine)?;
    Ok(CompiledPipeline::new(circuit, inputs, bound, clock))
}

/// The node carrying stream `name`: its single producer, or the union of its producers
/// (`lc_stream_<name>`, a linear combination of ones), created once.
fn stream_node(
    circuit: &mut Circuit<Value>,
    unions: &mut HashMap<String, String>,
    produced: &HashMap<String, Vec<String>>,
    name: &str,
) -> Result<String, deltaloop_engine::Error> {
    let producers = produced.get(name).map_or(&[][..], Vec::as_slice);
    if let [one] = producers {
        return Ok(one.clone());
    }
    if let Some(id) = unions.get(name) {
        return Ok(id.clone());
    }
    let id = circuit.add_node(
        format!("lc_stream_{}", sanitize(name)),
        Operator::LinearCombination(vec![1; producers.len()]),
    )?;
    for (port, p) in producers.iter().enumerate() {
        circuit.connect(p, &id, port)?;
    }
    unions.insert(name.to_owned(), id.clone());
    Ok(id)
}
