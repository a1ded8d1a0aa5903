//! # deltaloop-pipeline
//!
//! The pipeline language of deltaloop: the document type, JSONPath, the `@`-expression
//! language, and the aggregation compiler onto `deltaloop-engine` circuits.
//!
//! ## Map of the crate
//!
//! - [`Value`] is the document model and the hot data of the whole system: the rows of
//!   the engine's Z-sets. Clones are `Arc` clones; maps ([`Object`]) keep sorted keys and a
//!   cached hash. `Eq`/`Hash`/`Ord` are *row identity*: numbers are normalized, so
//!   `Int(3) == Float(3.0)`, exactly as two documents with the same canonical JSON
//!   ([`canonical_json`]) are the same element. JSON decoding is lossless (an integral
//!   number is an int); YAML goes through [`from_yaml`] / [`to_yaml`].
//! - [`Path`] is a compiled JSONPath (`$.a.b`, `$["a.b"]`, `$.a[*].b`, filters, `$$` for
//!   the subject): parse once, then [`Path::get`], [`Path::set`], [`Path::remove`].
//! - [`Expr`] is a compiled `@`-expression: [`Expr::compile`] parses the JSON surface
//!   syntax once (against a [`Registry`] of operators, extensible with host callbacks),
//!   [`Expr::eval`] evaluates it in an [`EvalContext`] (document `$`, subject `$$`, frozen
//!   `now`), and [`Expr::to_json`] gives the surface form back. Errors are
//!   [`CompileError`] (with the location inside the expression) and [`EvalError`], whose
//!   [`EvalError::FieldNotFound`] is the distinguishable "path selected nothing".
//! - [`ops`] builds engine operators over [`Value`] from expressions (`select`, `project`,
//!   `unwind`, `group_by`, `equi_join`, `cartesian` and the join helpers); each closure's
//!   label is the operator's wire JSON.
//! - [`compile`] compiles an aggregation pipeline (stages, or a program of branches) into a
//!   [`CompiledPipeline`]: the snapshot circuit, its topic bindings and its step [`Clock`].
//!   `@join`s with an `@eq` between inputs become hash equi-joins automatically.
//!   [`CompiledPipeline::transform`] applies a transform chain; a [`Runner`] steps it by
//!   topic. Errors are [`PipelineError`] (naming the stage and the position inside it).
//! - [`wire`] loads and saves circuits in the reference's JSON format; its
//!   [`wire::Expressions`] builder rebuilds the user-logic operators from their expressions,
//!   so a compiled pipeline survives `load(save(c))` with its semantics.
//! - [`conformance`] runs the shared conformance vectors (used by the tests and the CLI).
//!
//! Start reading at [`Value`], then `expr.rs` and its per-family operator modules.
//!
//! ## Example
//!
//! ```
//! use deltaloop_pipeline::{EvalContext, Expr, Value};
//!
//! let pod = Value::from_json_str(
//!     r#"{"metadata": {"name": "web-1", "labels": {"app.kubernetes.io/name": "web"}},
//!         "status": {"conditions": [{"type": "Ready", "status": "True"}]}}"#,
//! )?;
//! let expr = Expr::compile_json(
//!     r#"{"@dict": {
//!         "name": {"@upper": "$.metadata.name"},
//!         "app": "$.metadata.labels[\"app.kubernetes.io/name\"]",
//!         "ready": {"@eq": ["$.status.conditions[?(@.type=='Ready')].status", "True"]}
//!     }}"#,
//! )?;
//! let out = expr.eval(&EvalContext::new().with_document(&pod))?;
//! assert_eq!(out, Value::from_json_str(r#"{"name": "WEB-1", "app": "web", "ready": true}"#)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod clock;
mod compile;
mod compiled;
pub mod conformance;
mod error;
mod expr;
pub mod ops;
mod path;
mod transforms;
mod value;
pub mod wire;

pub use clock::Clock;
pub use compile::{
    Binding, CompileOptions, PipelineError, PipelineErrorKind, compile, compile_value,
};
pub use compiled::{CompiledPipeline, PortBinding, RunError, Runner};
pub use error::{CompileError, CompileErrorKind, EvalError};
pub use expr::{CallbackFn, EvalContext, Expr, Registry, RegistryError, format_rfc3339};
pub use path::{Path, PathError, Root};
pub use transforms::{TransformSpecError, parse_transforms};
pub use value::{
    JsonError, List, Object, Str, Text, Value, YamlError, canonical_json, from_yaml, to_yaml,
    write_canonical_json,
};
