//! String operators: `@regexp`, `@upper`, `@lower`, `@trim`, `@substring`, `@replace`,
//! `@split`, `@join`, `@startswith`, `@endswith`, `@contains`.
//!
//! Arguments pass through AsString unless stated; indexes are in bytes, as in Go.

use super::coerce::{as_int, as_list, as_string};
use super::{EvalContext, Node, Op, eval_arg};
use crate::error::EvalError;
use crate::value::{Text, Value};

fn str_arg(args: &[Node], i: usize, ctx: &EvalContext<'_>) -> Result<Text, EvalError> {
    Ok(as_string(&eval_arg(args, i, ctx)?))
}

/// Go's `unicode.ToUpper`/`ToLower` map rune by rune (simple case mapping): keep a
/// character whose full mapping would expand to several.
fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut it: Box<dyn Iterator<Item = char>> = if upper {
                Box::new(c.to_uppercase())
            } else {
                Box::new(c.to_lowercase())
            };
            match (it.next(), it.next()) {
                (Some(m), None) => m,
                _ => c,
            }
        })
        .collect()
}

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let name = op.name();
    let err = |m: String| EvalError::op(name, m);
    match op {
        Op::Upper | Op::Lower => Ok(Value::from(map_case(
            &str_arg(args, 0, ctx)?,
            op == Op::Upper,
        ))),
        Op::Trim => Ok(Value::from(str_arg(args, 0, ctx)?.trim())),
        Op::Substring => {
            let s = str_arg(args, 0, ctx)?;
            let start = as_int(&eval_arg(args, 1, ctx)?)
                .map_err(|m| err(format!("start must be integer: {m}")))?;
            let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
            let start = match start {
                st if st > 0 => st - 1,
                st if st < 0 => len + st,
                _ => 0,
            }
            .clamp(0, len);
            let end = if args.len() == 3 {
                let l = as_int(&eval_arg(args, 2, ctx)?)
                    .map_err(|m| err(format!("length must be integer: {m}")))?;
                start.saturating_add(l.max(0)).min(len)
            } else {
                len
            };
            let (a, b) = (
                usize::try_from(start).unwrap_or(0),
                usize::try_from(end).unwrap_or(0),
            );
            let bytes = s.as_bytes().get(a..b).unwrap_or(&[]);
            Ok(Value::from(String::from_utf8_lossy(bytes).into_owned()))
        }
        Op::Replace => {
            let s = str_arg(args, 0, ctx)?;
            let old = str_arg(args, 1, ctx)?;
            let new = str_arg(args, 2, ctx)?;
            let count = if args.len() == 4 {
                as_int(&eval_arg(args, 3, ctx)?)
                    .map_err(|m| err(format!("count must be integer: {m}")))?
            } else {
                -1
            };
            Ok(Value::from(match usize::try_from(count) {
                Ok(n) => s.replacen(&*old, &new, n),
                Err(_) => s.replace(&*old, &new),
            }))
        }
        Op::Split => {
            let s = str_arg(args, 0, ctx)?;
            let sep = str_arg(args, 1, ctx)?;
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::from(c.to_string())).collect()
            } else {
                s.split(&*sep).map(Value::from).collect()
            };
            Ok(Value::list(parts))
        }
        Op::Join => {
            let list = eval_arg(args, 0, ctx)?;
            let items =
                as_list(&list).map_err(|m| err(format!("first argument must be list: {m}")))?;
            let sep = str_arg(args, 1, ctx)?;
            let parts: Vec<Text> = items.iter().map(as_string).collect();
            Ok(Value::from(parts.join(&*sep)))
        }
        _ => {
            let s = str_arg(args, 0, ctx)?;
            let t = str_arg(args, 1, ctx)?;
            Ok(Value::Bool(match op {
                Op::StartsWith => s.starts_with(&*t),
                Op::EndsWith => s.ends_with(&*t),
                _ => s.contains(&*t),
            }))
        }
    }
}

/// `@regexp [pattern, s]`: an unanchored match; a constant pattern was compiled once.
pub(super) fn regexp(
    pattern: &Node,
    subject: &Node,
    compiled: Option<&Result<regex::Regex, String>>,
    ctx: &EvalContext<'_>,
) -> Result<Value, EvalError> {
    let dynamic_pattern = match compiled {
        None => Some(as_string(&pattern.eval(ctx)?)),
        Some(_) => None,
    };
    let s = as_string(&subject.eval(ctx)?);
    let dynamic;
    let re = match (compiled, dynamic_pattern) {
        (Some(Ok(re)), _) => re,
        (Some(Err(m)), _) => return Err(EvalError::op("@regexp", m.clone())),
        (None, p) => {
            dynamic = regex::Regex::new(p.as_deref().unwrap_or(""))
                .map_err(|e| EvalError::op("@regexp", format!("invalid pattern: {e}")))?;
            &dynamic
        }
    };
    Ok(Value::Bool(re.is_match(&s)))
}
