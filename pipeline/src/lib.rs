//! # deltaloop-pipeline
//!
//! The pipeline language of deltaloop: the document type, JSONPath, the `@`-expression
//! language and the aggregation compiler onto `deltaloop-engine` circuits.
#![doc(test(attr(deny(warnings))))]

pub mod conformance;
mod error;
mod expr;
mod path;
mod value;

pub use error::{CompileError, CompileErrorKind, EvalError};
pub use expr::{CallbackFn, EvalContext, Expr, Registry, RegistryError};
pub use path::{Path, PathError, Root};
pub use value::{
    JsonError, Object, Str, Value, YamlError, canonical_json, from_yaml, to_yaml,
    write_canonical_json,
};
