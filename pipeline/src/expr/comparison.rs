//! Comparison operators: `@eq`, `@neq` (deep equality), `@gt`, `@gte`, `@lt`, `@lte`.

use std::cmp::Ordering;

use super::arithmetic::{Pair, numeric_pair};
use super::{EvalContext, Node, Op, eval_arg};
use crate::error::EvalError;
use crate::value::Value;

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let a = eval_arg(args, 0, ctx)?;
    let b = eval_arg(args, 1, ctx)?;
    let name = op.name();
    let ord = match op {
        Op::Eq => return Ok(Value::Bool(a.deep_eq(&b))),
        Op::Neq => return Ok(Value::Bool(!a.deep_eq(&b))),
        _ => compare(&a, &b).map_err(|m| EvalError::op(name, m))?,
    };
    Ok(Value::Bool(match op {
        Op::Gt => ord == Ordering::Greater,
        Op::Gte => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        _ => ord != Ordering::Greater,
    }))
}

/// Strings compare bytewise (both sides must be strings); otherwise both sides must be
/// numbers, compared as ints when both are ints, else as floats.
fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.as_bytes().cmp(y.as_bytes())),
        (Value::String(_), other) => {
            Err(format!("cannot compare string with {}", other.type_name()))
        }
        _ => Ok(match numeric_pair(a, b)? {
            Pair::Ints(x, y) => x.cmp(&y),
            // NaN compares as neither less nor greater, like Go's two `<` tests.
            Pair::Floats(x, y) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        }),
    }
}
