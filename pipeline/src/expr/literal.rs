//! Literal operators: `@nil`, `@bool`, `@int`, `@float`, `@string`, `@list`, `@dict`,
//! `@literal` (the last three are node kinds of their own).

use std::sync::Arc;

use super::coerce::{as_bool, as_float, as_int, as_string};
use super::{EvalContext, Node, Op, eval_arg};
use crate::error::EvalError;
use crate::value::{Entries, Object, Str, Value};

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let name = op.name();
    let v = eval_arg(args, 0, ctx)?;
    match op {
        Op::Bool => as_bool(&v).map(Value::Bool),
        Op::Int => as_int(&v).map(Value::Int),
        Op::Float => as_float(&v).map(Value::Float),
        Op::String => Ok(Value::String(as_string(&v))),
        _ => Ok(Value::Null),
    }
    .map_err(|m| EvalError::op(name, m))
}

pub(super) fn eval_list(items: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let mut out = Vec::with_capacity(items.len());
    for n in items {
        out.push(n.eval(ctx)?);
    }
    Ok(Value::list(out))
}

pub(super) fn eval_dict(
    entries: &[(Str, Node)],
    ctx: &EvalContext<'_>,
) -> Result<Value, EvalError> {
    // The keys were interned (and sorted) when the expression was compiled.
    let mut out = Entries::with_capacity(entries.len());
    for (k, n) in entries {
        out.push((Arc::clone(k), n.eval(ctx)?));
    }
    Ok(Value::Map(Object::from_interned_entries(out)))
}
