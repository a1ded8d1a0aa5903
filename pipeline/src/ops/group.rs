//! `@groupBy`: one `{key, values, documents}` row per group.
//!
//! The key expression is evaluated with the row as both document (`$`) and subject (`$$`);
//! rows whose keys have the same canonical JSON form one group. Any key error, a missing
//! field included, aborts the step. The value expression (`None`: the whole row) gives each
//! member's value. A member of weight w > 0 contributes w copies of its value to `values`
//! and of its row to `documents`; members of weight ≤ 0 contribute nothing, and a group
//! without positive members emits no row. With `distinct`, each list keeps only the first
//! occurrence of every element. Lists are in the order of the source rows' hashes
//! (deterministic from run to run, but otherwise unspecified: compare them as multisets).
//!
//! Two things keep a touched group's work small (see [`group_by_with`]): long lists are
//! built from the group's previous list, sharing its unchanged chunks
//! ([`List::collected`]), and a `@project` that follows the stage can be applied here, so
//! that the row kept for the group's retraction is the projected one.

use std::sync::Arc;

use deltaloop_engine::{Collect, Collected, GroupFn, GroupSpec, MemberIdentity, Operator};
use serde_json::{Value as Json, json};

use super::project::{Step, projector, value_at};
use super::{Projection, Stage, label};
use crate::clock::Clock;
use crate::expr::Expr;
use crate::value::{Entries, List, Object, Value, intern};

/// `group_by` with key expression `key`, optional value expression `value` and the
/// `distinct` option; the output row is `{key, values, documents}`. `node` names the stage
/// in errors.
#[must_use]
pub fn group_by(
    node: &str,
    key: Expr,
    value: Option<Expr>,
    distinct: bool,
    clock: &Clock,
) -> Operator<Value> {
    group_by_with(node, key, value, distinct, true, None, clock)
}

/// As [`group_by`], but with `documents: false` the output row is only `{key, values}`,
/// and with `then: Some((project_node, projection))` every output row is that row
/// projected, as by the `@project` stage `project_node` after the group-by.
///
/// The compiler uses `documents: false` when it has proved that no later stage can observe
/// `documents` (see `compile/stages.rs`): building the list costs O(group) per touched
/// group and step. It fuses a `@project` that follows a `@groupBy` (unless the projection
/// reads the clock) because a group's output row is kept: its retraction then needs no new
/// projection (and no comparison with a copy), which a separate stage would recompute.
#[must_use]
pub fn group_by_with(
    node: &str,
    key: Expr,
    value: Option<Expr>,
    distinct: bool,
    documents: bool,
    then: Option<(&str, Projection)>,
    clock: &Clock,
) -> Operator<Value> {
    let stage = Stage::new(
        node,
        "@groupBy",
        clock,
        key.is_time_variant() || value.as_ref().is_some_and(Expr::is_time_variant),
    );
    let mut wire = json!({
        "type": "group_by",
        "keyExpr": key.to_json(),
        "valueExpr": value.as_ref().map_or(Json::Null, Expr::to_json),
        "distinct": distinct,
    });
    if let Some((project_node, projection)) = &then {
        wire["then"] = json!({
            "node": project_node,
            "projection": projection.source().to_serde_json(),
        });
    }
    let group = GroupFn::new(label(&wire), move |doc: &Value| {
        let k = stage
            .eval(&key, doc, true)
            .map_err(|e| stage.error(doc, e))?;
        let v = match &value {
            None => doc.clone(),
            Some(expr) => stage
                .eval(expr, doc, true)
                .map_err(|e| stage.error(doc, e))?,
        };
        Ok((k, v))
    });
    // The output keys, interned once: `documents` < `key` < `values`, the map order.
    let [k_documents, k_key, k_values] = ["documents", "key", "values"].map(intern);
    // Where the previous output holds the lists: under their keys, or (projected) where the
    // projection put them, if that is known.
    let (values_at, documents_at) = match &then {
        None => (
            Some(vec![Step::Key(Arc::clone(&k_values))]),
            Some(vec![Step::Key(Arc::clone(&k_documents))]),
        ),
        Some((_, p)) => (p.position_of("values"), p.position_of("documents")),
    };
    let finish = then.map(|(project_node, projection)| projector(project_node, projection, clock));
    // The lists are the previous lists edited where the members changed (`List::edited`),
    // or else built sharing what did not change with them (`List::collected`).
    let aggregate = Collect::incremental(distinct, move |key: &Value, c: &Collected<'_, Value>| {
        let before = |at: &Option<Vec<Step>>| match c
            .previous()
            .zip(at.as_deref())
            .and_then(|(p, at)| value_at(p, at))
        {
            Some(Value::List(l)) => Some(&**l),
            _ => None,
        };
        let values = group_list(c, before(&values_at), false);
        let mut entries = Entries::with_capacity(3);
        if documents {
            let docs = group_list(c, before(&documents_at), true);
            entries.push((Arc::clone(&k_documents), docs));
        }
        entries.push((Arc::clone(&k_key), key.clone()));
        entries.push((Arc::clone(&k_values), values));
        let row = Value::Map(Arc::new(Object::from_interned_entries(entries)));
        match &finish {
            None => Ok(row),
            Some(project) => project(&row),
        }
    });
    Operator::GroupBy(GroupSpec {
        group,
        aggregate: Arc::new(aggregate),
        identity: MemberIdentity::Row,
    })
}

/// A group's new `values` list (or with `rows`, its `documents` list): `old`, the list in
/// the group's previous output, edited where the members changed, when the step's edits
/// are known; else gathered from the whole group, sharing unchanged chunks with `old`.
fn group_list(c: &Collected<'_, Value>, old: Option<&List>, rows: bool) -> Value {
    let edited = old.zip(c.edits()).and_then(|(old, edits)| {
        let item = |(row, value)| if rows { row } else { value };
        List::edited(old, edits.iter().map(|e| (e.at, e.inserted.map(item))))
    });
    let list = edited.unwrap_or_else(|| {
        let items = if rows { c.rows() } else { c.values() };
        List::collected(&items, old)
    });
    Value::List(Arc::new(list))
}
