//! Host callbacks: operators implemented by a Rust function registered at runtime.

use std::sync::Arc;

use super::{EvalContext, Node};
use crate::error::EvalError;
use crate::value::{Str, Value};

/// A host function backing a callback operator. It receives the evaluated arguments and
/// returns the result, or an error message. It should be a pure function of its
/// arguments: a stateful or random callback breaks incremental evaluation, as `@now`
/// in a group key would.
pub type CallbackFn = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

pub(super) fn eval(
    name: &Str,
    func: &CallbackFn,
    args: &[Node],
    ctx: &EvalContext<'_>,
) -> Result<Value, EvalError> {
    let values = args
        .iter()
        .map(|a| a.eval(ctx))
        .collect::<Result<Vec<_>, _>>()?;
    func(&values).map_err(|message| EvalError::Callback {
        name: name.clone(),
        message,
    })
}
