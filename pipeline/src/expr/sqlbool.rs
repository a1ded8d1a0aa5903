//! `@sqlbool`: SQL truthiness (null is false, everything else through AsBool).

use super::coerce::as_bool;
use super::{EvalContext, Node, eval_arg};
use crate::error::EvalError;
use crate::value::Value;

pub(super) fn eval(args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let v = eval_arg(args, 0, ctx)?;
    as_bool(&v)
        .map(Value::Bool)
        .map_err(|m| EvalError::op("@sqlbool", m))
}
