//! Conditional operators: `@cond`, `@switch`, `@definedOr`.

use super::coerce::{as_bool, as_list};
use super::{EvalContext, Node, Op, arg};
use crate::error::EvalError;
use crate::value::Value;

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    match op {
        Op::Cond => {
            let c = arg(args, 0).eval(ctx)?;
            let c = as_bool(&c).map_err(|m| EvalError::op("@cond", m))?;
            arg(args, if c { 1 } else { 2 }).eval(ctx)
        }
        Op::Switch => {
            for (i, pair) in args.iter().enumerate() {
                // The whole pair is evaluated, so errors in a value surface even when its
                // case is false.
                let v = pair.eval(ctx)?;
                let items = as_list(&v).ok().filter(|l| l.len() == 2).ok_or_else(|| {
                    EvalError::op(
                        "@switch",
                        format!("argument {i}: expected a [case, value] pair"),
                    )
                })?;
                let (case, value) = match items {
                    [c, v] => (c, v),
                    _ => continue,
                };
                if as_bool(case).map_err(|m| EvalError::op("@switch", m))? {
                    return Ok(value.clone());
                }
            }
            Ok(Value::Null)
        }
        _ => {
            for a in args {
                if let Ok(v) = a.eval(ctx)
                    && !v.is_null()
                {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        }
    }
}
