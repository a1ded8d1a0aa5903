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

/// The value a path's root designates (as written so far in this evaluation).
fn root_value(op: &'static str, path: &Path, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    match path.root() {
        Root::Document => ctx
            .current_document()
            .ok_or_else(|| EvalError::op(op, "no document in context")),
        Root::Subject => match ctx.current_subject() {
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
    // The same checks as `root_value`, on a borrowed root (no clone of the document).
    ctx.with_current(path.root(), |root| {
        let root = match (path.root(), root) {
            (Root::Document, None) => return Err(EvalError::op(op, "no document in context")),
            (Root::Subject, None) => return Err(EvalError::op(op, "no subject in context")),
            (Root::Subject, Some(other)) if !matches!(other, Value::Map(_)) => {
                return Err(EvalError::op(
                    op,
                    format!("subject is not a document or map: {}", other.type_name()),
                ));
            }
            (_, Some(root)) => root,
        };
        read_path(op, &path, root)
    })
}

/// Reads `path` of `root` for operator `op`: a path that selects nothing is
/// [`EvalError::FieldNotFound`].
pub(super) fn read_path(op: &'static str, path: &Path, root: &Value) -> Result<Value, EvalError> {
    path.get(root).map_err(|e| path_error(op, e))
}

/// [`read_path`] without a clone, for paths that select at most one node (see
/// [`Path::get_ref`]); `None` for other paths.
pub(super) fn read_path_ref<'v>(
    op: &'static str,
    path: &Path,
    root: &'v Value,
) -> Option<Result<&'v Value, EvalError>> {
    Some(path.get_ref(root)?.map_err(|e| path_error(op, e)))
}

/// The evaluation error of a failed read for operator `op`: a path that selects nothing is
/// [`EvalError::FieldNotFound`], anything else an error of `op`.
fn path_error(op: &'static str, e: PathError) -> EvalError {
    match e {
        PathError::FieldNotFound { path } => EvalError::FieldNotFound { path },
        other => EvalError::op(op, other.to_string()),
    }
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

/// Writes into this evaluation's copy of the document (returning the document) or of the
/// subject (returning the subject). The borrowed input is never mutated: untouched
/// subtrees stay shared, and later reads in the same evaluation see the write.
pub(super) fn set_field(
    p: &PathArg,
    value: &Node,
    ctx: &EvalContext<'_>,
) -> Result<Value, EvalError> {
    const OP: &str = "@setField";
    let path = resolve(OP, p, ctx)?;
    let v = value.eval(ctx)?;
    let scratch = ctx.scratch(path.root());
    // Take the scratch version out so that copy-on-write finds it unshared.
    let taken = scratch.and_then(|c| c.try_borrow_mut().ok().and_then(|mut s| s.take()));
    let mut target = match taken {
        Some(t) => t,
        None => root_value(OP, &path, ctx)?,
    };
    let result = path.set(&mut target, v);
    if let Some(cell) = scratch
        && let Ok(mut slot) = cell.try_borrow_mut()
    {
        *slot = Some(target.clone());
    }
    result.map_err(|e| EvalError::op(OP, e.to_string()))?;
    Ok(target)
}

pub(super) fn copy(ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    ctx.current_document()
        .ok_or_else(|| EvalError::op("@copy", "no document in context"))
}
