//! Boolean operators: `@and`, `@or` (short-circuit), `@not`.

use super::coerce::as_bool;
use super::{EvalContext, Node, Op, eval_arg};
use crate::error::EvalError;
use crate::value::Value;

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let name = op.name();
    match op {
        Op::And | Op::Or => {
            // @and stops at the first false, @or at the first true.
            let stop_at = op == Op::Or;
            for a in args {
                let b = as_bool(&a.eval(ctx)?).map_err(|m| EvalError::op(name, m))?;
                if b == stop_at {
                    return Ok(Value::Bool(stop_at));
                }
            }
            Ok(Value::Bool(!stop_at))
        }
        _ => {
            let v = eval_arg(args, 0, ctx)?;
            as_bool(&v)
                .map(|b| Value::Bool(!b))
                .map_err(|m| EvalError::op(name, m))
        }
    }
}
