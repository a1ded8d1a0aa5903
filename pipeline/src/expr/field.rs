//! Field operators: `@getField` (and the `"$.x"` / `"$$.x"` shorthands), `@setField`,
//! `@exists`, `@copy`.

use super::coerce::as_string;
use super::{EvalContext, Node, PathArg};
use crate::error::EvalError;
use crate::path::{Path, PathError, Root};
use crate::value::Value;

/// Resolves a path argument to a compiled path (computed paths are parsed now).
fn resolve<'p>(
    op: &'static str,
    p: &'p PathArg,
    ctx: &EvalContext<'_>,
) -> Result<std::borrow::Cow<'p, Path>, EvalError> {
    match p {
        PathArg::Const(path) => Ok(std::borrow::Cow::Borrowed(path)),
        PathArg::Computed(node) => {
            let text = as_string(&node.eval(ctx)?);
            Path::parse(&text)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| EvalError::op(op, e.to_string()))
        }
    }
}

/// The value a path's root designates.
fn root_value<'a>(op: &'static str, path: &Path, ctx: &EvalContext<'a>) -> Result<&'a Value, EvalError> {
    match path.root() {
        Root::Document => ctx
            .document()
            .ok_or_else(|| EvalError::op(op, "no document in context")),
        Root::Subject => match ctx.subject() {
            None => Err(EvalError::op(op, "no subject in context")),
            Some(s @ Value::Map(_)) => Ok(s),
            Some(other) => Err(EvalError::op(
                op,
                format!("subject is not a document or map: {}", other.type_name()),
            )),
        },
    }
}

fn read(op: &'static str, p: &PathArg, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let path = resolve(op, p, ctx)?;
    let root = root_value(op, &path, ctx)?;
    path.get(root).map_err(|e| match e {
        PathError::FieldNotFound { path } => EvalError::FieldNotFound { path },
        other => EvalError::op(op, other.to_string()),
    })
}

pub(super) fn get_field(p: &PathArg, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    read("@getField", p, ctx)
}

pub(super) fn exists(p: &PathArg, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    match read("@exists", p, ctx) {
        Ok(_) => Ok(Value::Bool(true)),
        Err(EvalError::FieldNotFound { .. }) => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

/// Writes into a copy of the document (returning the document) or of the subject
/// (returning the subject). The input is never mutated: untouched subtrees stay shared.
pub(super) fn set_field(p: &PathArg, value: &Node, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    const OP: &str = "@setField";
    let path = resolve(OP, p, ctx)?;
    let v = value.eval(ctx)?;
    let mut target = root_value(OP, &path, ctx)?.clone();
    path.set(&mut target, v)
        .map_err(|e| EvalError::op(OP, e.to_string()))?;
    Ok(target)
}

pub(super) fn copy(ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    ctx.document()
        .cloned()
        .ok_or_else(|| EvalError::op("@copy", "no document in context"))
}
