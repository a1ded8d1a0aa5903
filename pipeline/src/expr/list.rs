//! List operators: `@map`, `@filter`, `@sortBy`, `@sum`, `@len`, `@min`, `@max`,
//! `@lexmin`, `@lexmax`, `@in`, `@range`, `@enumerate`.

use super::coerce::{as_bool, as_float, as_int, as_list};
use super::{EvalContext, Node, Op, Scratch, arg, eval_arg};
use crate::error::EvalError;
use crate::value::{Object, Value, canonical_json};

/// The largest list `@range` builds.
const MAX_RANGE: i64 = 10_000_000;

pub(super) fn eval(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let name = op.name();
    let err = |m: String| EvalError::op(name, m);
    match op {
        Op::Map | Op::Filter => {
            let list = eval_arg(args, 1, ctx)?;
            let items =
                as_list(&list).map_err(|m| err(format!("second argument must be a list: {m}")))?;
            let f = arg(args, 0);
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let scratch = Scratch::default();
                let v = f.eval(&ctx.rebind(item, &scratch))?;
                if op == Op::Map {
                    out.push(v);
                } else if as_bool(&v)
                    .map_err(|m| err(format!("predicate must return bool: {m}")))?
                {
                    out.push(item.clone());
                }
            }
            Ok(Value::list(out))
        }
        Op::SortBy => sort_by(arg(args, 0), &eval_arg(args, 1, ctx)?, ctx),
        Op::Sum => {
            let values = eval_all(args, ctx)?;
            if values.iter().any(|v| matches!(v, Value::Float(_))) {
                let mut sum = 0.0;
                for v in &values {
                    sum += as_float(v).map_err(err)?;
                }
                Ok(Value::Float(sum))
            } else {
                let mut sum = 0i64;
                for v in &values {
                    sum = sum.wrapping_add(as_int(v).map_err(err)?);
                }
                Ok(Value::Int(sum))
            }
        }
        Op::Len => match eval_arg(args, 0, ctx)? {
            Value::String(s) => Ok(len_value(s.len())),
            Value::List(l) => Ok(len_value(l.len())),
            Value::Map(m) => Ok(len_value(m.len())),
            Value::Null => Ok(Value::Int(0)),
            other => Err(err(format!("cannot get length of {}", other.type_name()))),
        },
        Op::Min | Op::Max => {
            let values = eval_all(args, ctx)?;
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_number()) {
                return Err(err(format!(
                    "argument {i}: expected numeric, got {}",
                    v.type_name()
                )));
            }
            let Some(first) = values.first() else {
                return Err(err("empty list".to_owned()));
            };
            if values.iter().all(|v| matches!(v, Value::Int(_))) {
                let ints = values.iter().filter_map(Value::as_i64);
                let r = if op == Op::Min {
                    ints.min()
                } else {
                    ints.max()
                };
                Ok(Value::Int(r.unwrap_or(0)))
            } else {
                let mut best = first.as_f64().unwrap_or(0.0);
                for v in values.iter().filter_map(Value::as_f64) {
                    if (op == Op::Min && v < best) || (op == Op::Max && v > best) {
                        best = v;
                    }
                }
                Ok(Value::Float(best))
            }
        }
        Op::LexMin | Op::LexMax => {
            let mut values = eval_all(args, ctx)?;
            if values.len() == 1
                && let Some(Ok(items)) = values.first().map(as_list)
            {
                values = items.to_vec();
            }
            let mut best: Option<(String, Value)> = None;
            for v in values {
                let key = canonical_json(&v);
                let better = match &best {
                    None => true,
                    Some((k, _)) => {
                        if op == Op::LexMin {
                            key < *k
                        } else {
                            key > *k
                        }
                    }
                };
                if better {
                    best = Some((key, v));
                }
            }
            Ok(best.map_or(Value::Null, |(_, v)| v))
        }
        Op::In => {
            let x = eval_arg(args, 0, ctx)?;
            let list = eval_arg(args, 1, ctx)?;
            let items =
                as_list(&list).map_err(|m| err(format!("second argument must be a list: {m}")))?;
            Ok(Value::Bool(items.iter().any(|e| x.deep_eq(e))))
        }
        Op::Range => {
            let n = as_int(&eval_arg(args, 0, ctx)?).map_err(err)?;
            if n < 0 {
                return Err(err("argument must be non-negative".to_owned()));
            }
            if n > MAX_RANGE {
                return Err(err(format!("argument {n} exceeds the limit {MAX_RANGE}")));
            }
            Ok(Value::list((1..=n).map(Value::Int).collect()))
        }
        _ => {
            let list = eval_arg(args, 0, ctx)?;
            let items = as_list(&list).map_err(|m| err(format!("argument must be a list: {m}")))?;
            Ok(Value::list(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Value::map([("index", len_value(i)), ("value", v.clone())]))
                    .collect(),
            ))
        }
    }
}

fn len_value(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn eval_all(args: &[Node], ctx: &EvalContext<'_>) -> Result<Vec<Value>, EvalError> {
    args.iter().map(|a| a.eval(ctx)).collect()
}

/// A stable merge sort driven by the comparator expression; the subject of each call is
/// `{a: x, b: y}` and the result must be an integral -1, 0 or 1.
fn sort_by(cmp: &Node, list: &Value, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    let items = as_list(list)
        .map_err(|m| EvalError::op("@sortBy", format!("second argument must be a list: {m}")))?;
    let mut less = |x: &Value, y: &Value| -> Result<bool, EvalError> {
        let subject = Value::Map(Object::from_entries([("a", x.clone()), ("b", y.clone())]));
        let scratch = Scratch::default();
        let r = cmp.eval(&ctx.rebind(&subject, &scratch))?;
        comparator_result(&r).map(|c| c < 0)
    };
    let sorted = merge_sort(items.to_vec(), &mut less)?;
    Ok(Value::list(sorted))
}

fn comparator_result(v: &Value) -> Result<i64, EvalError> {
    let c = match v {
        Value::Int(i) => *i,
        Value::Float(f) if f.fract() == 0.0 => {
            #[allow(clippy::cast_possible_truncation)]
            let i = *f as i64;
            i
        }
        Value::Float(f) => {
            return Err(EvalError::op(
                "@sortBy",
                format!("comparator must return integer value, got {f}"),
            ));
        }
        other => {
            return Err(EvalError::op(
                "@sortBy",
                format!(
                    "comparator must return -1, 0, or 1, got {}",
                    other.type_name()
                ),
            ));
        }
    };
    if (-1..=1).contains(&c) {
        Ok(c)
    } else {
        Err(EvalError::op(
            "@sortBy",
            format!("comparator must return -1, 0, or 1, got {c}"),
        ))
    }
}

/// Stable top-down merge sort with a fallible `less`; never panics on inconsistent
/// comparators (the standard library's sort may).
fn merge_sort<E>(
    mut v: Vec<Value>,
    less: &mut impl FnMut(&Value, &Value) -> Result<bool, E>,
) -> Result<Vec<Value>, E> {
    if v.len() <= 1 {
        return Ok(v);
    }
    let right = v.split_off(v.len() / 2);
    let left = merge_sort(v, less)?;
    let right = merge_sort(right, less)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => {
                // Take from the right only when strictly less: stability.
                let take_right = less(b, a)?;
                let next = if take_right { r.next() } else { l.next() };
                out.extend(next);
            }
            (Some(_), None) => out.extend(l.by_ref()),
            (None, Some(_)) => out.extend(r.by_ref()),
            (None, None) => break,
        }
    }
    Ok(out)
}
