//! Comparison operators: `@eq`, `@neq` (deep equality), `@gt`, `@gte`, `@lt`, `@lte`.

use std::cmp::Ordering;

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
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            // NaN compares as neither less nor greater, like Go's two `<` tests.
            Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal))
        }
        (Value::Int(_) | Value::Float(_), other) => Err(format!(
            "second operand is not numeric: {}",
            other.type_name()
        )),
        (other, _) => Err(format!(
            "first operand is not numeric: {}",
            other.type_name()
        )),
    }
}
