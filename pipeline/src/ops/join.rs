//! `equi_join`: the hash join of two product streams on per-namespace keys.
//!
//! Each side's key is its key expression evaluated on the row's *namespace sub-document*
//! (`row[ns]`), so `$.spec.x` means that input's own field. A row whose namespace or key
//! does not resolve (field-not-found) never matches; other errors abort the step. Matching
//! rows are shallow-merged with weight wₗ·wᵣ.
//!
//! Keys are compared by row identity (canonical JSON), after a top-level number (or a
//! number element of a top-level list: a composite key) is widened to a float, so that
//! whenever `@eq` holds between two keys (it compares top-level numbers by value) they also
//! match here. The converse need not hold (`{"a": 1}` and `{"a": 1.0}` match but are not
//! `@eq`), which is why automatically detected joins still check their predicate: inside
//! the join ([`equi_join_checked`], skipped for plain keys) or in a select after it.

use deltaloop_engine::{CombineFn, JoinSpec, KeyFn, Matched, Operator, ResidualFn};
use serde_json::json;

use super::{Stage, holds, label, merge};
use crate::clock::Clock;
use crate::expr::Expr;
use crate::value::{Str, Value, intern};

/// The join key of a value: a top-level number widened to a float (so `1` and `1.0`, and
/// integers beyond 2⁵³ that `@eq` equates with a float, share a key), and likewise each
/// number that is an element of a top-level list (the composite keys of several `@eq`s);
/// anything else as is.
#[must_use]
pub fn join_key(v: Value) -> Value {
    match v {
        Value::Int(_) | Value::Float(_) => widen(v),
        Value::List(items) if items.iter().any(Value::is_number) => {
            Value::list(items.iter().cloned().map(widen).collect())
        }
        other => other,
    }
}

fn widen(v: Value) -> Value {
    match v {
        Value::Int(_) | Value::Float(_) => v.as_f64().map_or(v, Value::Float),
        other => other,
    }
}

fn key_fn(stage: Stage, ns: &str, key: Expr) -> KeyFn<Value> {
    let label = json!({"ns": ns, "key": key.to_json()}).to_string();
    // Interned, so that the lookup finds the row's entry by pointer.
    let ns: Str = intern(ns);
    KeyFn::new(label, move |row: &Value| {
        let Some(sub) = row.get(&ns) else {
            return Ok(None);
        };
        match stage.eval(&key, sub, false) {
            Ok(k) => Ok(Some(join_key(k))),
            Err(e) if e.is_field_not_found() => Ok(None),
            Err(e) => Err(stage.error(row, e)),
        }
    })
}

/// `equi_join`: left rows keyed by `left_key` on namespace `left_ns`, right rows by
/// `right_key` on `right_ns`; matching pairs are merged. `node` names the stage in errors.
#[must_use]
pub fn equi_join(
    node: &str,
    left_ns: &str,
    left_key: Expr,
    right_ns: &str,
    right_key: Expr,
    clock: &Clock,
) -> Operator<Value> {
    build(node, left_ns, left_key, right_ns, right_key, None, clock)
}

/// The predicate an [`equi_join_checked`] keeps pairs by.
#[derive(Clone, Debug)]
pub struct JoinCheck {
    /// The `@join` predicate, evaluated on the merged row with the `@select` semantics
    /// (boolean `true` keeps the pair, field-not-found drops it).
    pub predicate: Expr,
    /// `Some(n)` when the predicate is exactly the conjunction of the `n` `@eq`s the key is
    /// made of (a plain key for `n = 1`, a list of `n` for more). The predicate then holds
    /// for every pair whose key is *plain* (strings, booleans and numbers that are exact in
    /// a float), because equal plain keys are `@eq`; only pairs with other keys (maps,
    /// lists, `null`, NaN, integers beyond 2⁵³) evaluate it.
    pub key_conjuncts: Option<usize>,
}

/// [`equi_join`] that keeps only the pairs satisfying `check.predicate`, evaluated inside
/// the join (see [`JoinCheck`]): the `@join` of two inputs, without a select after it.
#[must_use]
pub fn equi_join_checked(
    node: &str,
    left_ns: &str,
    left_key: Expr,
    right_ns: &str,
    right_key: Expr,
    check: JoinCheck,
    clock: &Clock,
) -> Operator<Value> {
    build(
        node,
        left_ns,
        left_key,
        right_ns,
        right_key,
        Some(check),
        clock,
    )
}

fn build(
    node: &str,
    left_ns: &str,
    left_key: Expr,
    right_ns: &str,
    right_key: Expr,
    check: Option<JoinCheck>,
    clock: &Clock,
) -> Operator<Value> {
    let stage = Stage::new(
        node,
        "@join",
        clock,
        left_key.is_time_variant()
            || right_key.is_time_variant()
            || check
                .as_ref()
                .is_some_and(|c| c.predicate.is_time_variant()),
    );
    let mut wire = json!({
        "type": "equi_join",
        "leftNs": left_ns,
        "rightNs": right_ns,
        "leftKey": left_key.to_json(),
        "rightKey": right_key.to_json(),
    });
    // `predicate` and `keyConjuncts` are not in the reference's format: they keep a checked
    // join's semantics on a round trip through `crate::wire`.
    if let (Some(c), Some(obj)) = (&check, wire.as_object_mut()) {
        obj.insert("predicate".into(), c.predicate.to_json());
        if let Some(n) = c.key_conjuncts {
            obj.insert("keyConjuncts".into(), n.into());
        }
    }
    let combine_stage = stage.clone();
    let residual = check.map(|check| {
        let stage = stage.clone();
        ResidualFn::new(
            label(&json!({"predicate": check.predicate.to_json()})),
            move |m: Matched<'_, Value>| {
                if check.key_conjuncts.is_some_and(|n| key_is_plain(m.key, n)) {
                    return Ok(true);
                }
                holds(&stage, &check.predicate, m.row, true)
            },
        )
    });
    Operator::EquiJoin(JoinSpec {
        left_key: key_fn(stage.clone(), left_ns, left_key),
        right_key: key_fn(stage, right_ns, right_key),
        combine: CombineFn::new(label(&wire), move |l: &Value, r: &Value| {
            merge(l, r).map_err(|e| combine_stage.error(l, e))
        }),
        residual,
    })
}

/// Whether a join key made of `n` `@eq` conjuncts (a plain value for one, a list of `n`
/// for more) consists of plain values only, for which equal keys imply `@eq`.
fn key_is_plain(key: &Value, n: usize) -> bool {
    match (n, key) {
        (1, k) => is_plain(k),
        (_, Value::List(items)) => items.len() == n && items.iter().all(is_plain),
        _ => false,
    }
}

/// A value whose row identity agrees with `@eq`: a string, a boolean, or a number that a
/// float holds exactly (join keys widen numbers to floats, see [`join_key`]).
fn is_plain(v: &Value) -> bool {
    /// 2⁵³: beyond it, distinct integers can widen to the same float.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match v {
        Value::String(_) | Value::Bool(_) => true,
        Value::Float(f) => f.abs() < EXACT,
        #[allow(clippy::cast_precision_loss)]
        Value::Int(i) => (*i as f64).abs() < EXACT,
        Value::Null | Value::List(_) | Value::Map(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_keys_should_skip_the_predicate() {
        let s = Value::string;
        assert!(key_is_plain(&s("a"), 1));
        assert!(key_is_plain(
            &Value::list(vec![s("a"), Value::Float(3.0)]),
            2
        ));
        assert!(!key_is_plain(&Value::list(vec![s("a"), s("b")]), 1));
        assert!(!key_is_plain(&Value::list(vec![s("a")]), 2));
        assert!(!key_is_plain(&Value::Float(f64::NAN), 1));
        assert!(!key_is_plain(&Value::Float(9_007_199_254_740_993.0), 1));
        assert!(!key_is_plain(&Value::Null, 1));
        assert!(!key_is_plain(&Value::map([("a", Value::Int(1))]), 1));
    }
}
