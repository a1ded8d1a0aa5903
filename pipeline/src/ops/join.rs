//! `equi_join`: the hash join of two product streams on per-namespace keys.
//!
//! Each side's key is its key expression evaluated on the row's *namespace sub-document*
//! (`row[ns]`), so `$.spec.x` means that input's own field. A row whose namespace or key
//! does not resolve (field-not-found) never matches; other errors abort the step. Matching
//! rows are shallow-merged with weight wₗ·wᵣ.
//!
//! Keys are compared by row identity (canonical JSON), after a top-level number (or a
//! number element of a top-level list: a composite key) is widened to a float, so that whenever `@eq` holds between two keys (it compares top-level numbers
//! by value) they also match here. The converse need not hold (`{"a": 1}` and
//! `{"a": 1.0}` match but are not `@eq`), which is why a predicate select follows
//! automatically detected joins.

use deltaloop_engine::{CombineFn, JoinSpec, KeyFn, Operator};
use serde_json::json;

use super::{Stage, label, merge};
use crate::clock::Clock;
use crate::expr::Expr;
use crate::value::{Str, Value};

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
    let ns: Str = ns.into();
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
    let stage = Stage::new(
        node,
        "@join",
        clock,
        left_key.is_time_variant() || right_key.is_time_variant(),
    );
    let wire = json!({
        "type": "equi_join",
        "leftNs": left_ns,
        "rightNs": right_ns,
        "leftKey": left_key.to_json(),
        "rightKey": right_key.to_json(),
    });
    let combine_stage = stage.clone();
    Operator::EquiJoin(JoinSpec {
        left_key: key_fn(stage.clone(), left_ns, left_key),
        right_key: key_fn(stage, right_ns, right_key),
        combine: CombineFn::new(label(&wire), move |l: &Value, r: &Value| {
            merge(l, r).map_err(|e| combine_stage.error(l, e))
        }),
    })
}
