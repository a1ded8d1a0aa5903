//! Arithmetic operators: `@add`, `@mul`, `@sub`, `@div`, `@mod`, `@neg`.
//!
//! Integer arithmetic wraps on overflow, as Go's does.

use super::coerce::{as_float, as_int};
use super::{EvalContext, Node, Op, eval_arg};
use crate::error::EvalError;
use crate::value::Value;

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let name = op.name();
    let err = |m: String| EvalError::op(name, m);
    match op {
        Op::Add | Op::Mul => fold(op, args, ctx),
        Op::Sub | Op::Div => {
            let a = eval_arg(args, 0, ctx)?;
            let b = eval_arg(args, 1, ctx)?;
            match numeric_pair(&a, &b).map_err(err)? {
                Pair::Ints(x, y) if op == Op::Sub => Ok(Value::Int(x.wrapping_sub(y))),
                Pair::Ints(_, 0) => Err(EvalError::op(name, "division by zero")),
                Pair::Ints(x, y) => Ok(Value::Int(x.wrapping_div(y))),
                Pair::Floats(x, y) if op == Op::Sub => Ok(Value::Float(x - y)),
                Pair::Floats(_, 0.0) => Err(EvalError::op(name, "division by zero")),
                Pair::Floats(x, y) => Ok(Value::Float(x / y)),
            }
        }
        Op::Mod => {
            let a = eval_arg(args, 0, ctx)?;
            let b = eval_arg(args, 1, ctx)?;
            let x = as_int(&a).map_err(|m| err(format!("left operand: {m}")))?;
            let y = as_int(&b).map_err(|m| err(format!("right operand: {m}")))?;
            if y == 0 {
                return Err(EvalError::op(name, "division by zero"));
            }
            Ok(Value::Int(x.wrapping_rem(y)))
        }
        _ => {
            let v = eval_arg(args, 0, ctx)?;
            match v {
                Value::Int(i) => Ok(Value::Int(i.wrapping_neg())),
                other => as_float(&other).map(|f| Value::Float(-f)).map_err(err),
            }
        }
    }
}

/// Two numeric operands: both ints, or (any float among them) both as floats.
pub(super) enum Pair {
    /// Two ints.
    Ints(i64, i64),
    /// Two numbers, at least one a float, both as floats.
    Floats(f64, f64),
}

/// Both operands must be numbers: two ints stay ints, anything else becomes floats.
pub(super) fn numeric_pair(a: &Value, b: &Value) -> Result<Pair, String> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(Pair::Ints(*x, *y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Ok(Pair::Floats(
            a.as_f64().unwrap_or(0.0),
            b.as_f64().unwrap_or(0.0),
        )),
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

/// `@add` / `@mul`: empty gives 0, one argument is returned as is, otherwise a left fold
/// that switches to floats as soon as a float shows up.
fn fold(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let name = op.name();
    let err = |m: String| EvalError::op(name, m);
    let Some((first, rest)) = args.split_first() else {
        return Ok(Value::Int(0));
    };
    let mut acc = first.eval(ctx)?;
    if rest.is_empty() {
        return Ok(acc);
    }
    let mut is_float = matches!(acc, Value::Float(_));
    for a in rest {
        let next = a.eval(ctx)?;
        is_float |= matches!(next, Value::Float(_));
        acc = if is_float {
            let (x, y) = (as_float(&acc).map_err(err)?, as_float(&next).map_err(err)?);
            Value::Float(if op == Op::Add { x + y } else { x * y })
        } else {
            let (x, y) = (as_int(&acc).map_err(err)?, as_int(&next).map_err(err)?);
            Value::Int(if op == Op::Add {
                x.wrapping_add(y)
            } else {
                x.wrapping_mul(y)
            })
        };
    }
    Ok(acc)
}
