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
//!
//! A flat `@project` *before* the stage can run inside it too ([`group_by_projected`]),
//! when the key and value expressions only arrange the projected fields into literal maps
//! and lists and read every one of them: the projected row is then never built. Its fields
//! are evaluated as the `@project` would evaluate them (same order, same errors) and filled
//! into the key and value ([`Template`]), and the members are told apart by their values
//! ([`MemberIdentity::Value`]): key and value together hold every projected field, so equal
//! values in a group are exactly equal projected rows.

use std::sync::Arc;

use deltaloop_engine::{
    Collect, Collected, GroupFn, GroupSpec, MemberIdentity, Operator, UserError,
};
use serde_json::{Value as Json, json};
use smallvec::SmallVec;

use super::project::{Step, projector, value_at};
use super::{Projection, Stage, label};
use crate::clock::Clock;
use crate::expr::{Expr, Template};
use crate::value::{Entries, List, Object, Str, Value, intern};

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
    add_then(&mut wire, then.as_ref());
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
    grouped(group, MemberIdentity::Row, distinct, documents, then, clock)
}

/// A [`group_by`] whose input rows first go through the flat `@project` of node
/// `project_node`, run inside it (see the module docs); without `documents`, so only where no
/// later stage can read them. `then` as for [`group_by_with`]. The key and value cannot fail
/// (they only arrange projected fields), so errors are the projection's, naming its node.
#[must_use]
pub fn group_by_projected(
    project_node: &str,
    before: PreProjection,
    distinct: bool,
    then: Option<(&str, Projection)>,
    clock: &Clock,
) -> Operator<Value> {
    let PreProjection {
        projection,
        key,
        value,
        fields,
        key_template,
        value_template,
    } = before;
    let mut wire = json!({
        "type": "group_by",
        "keyExpr": key.to_json(),
        "valueExpr": value.to_json(),
        "distinct": distinct,
        "before": {
            "node": project_node,
            "projection": projection.source().to_serde_json(),
        },
    });
    add_then(&mut wire, then.as_ref());
    let project = Stage::new(project_node, "@project", clock, false);
    let group = GroupFn::new(label(&wire), move |doc: &Value| {
        // On the stack for projections of up to 8 fields (the row's only allocation is then
        // the key's and the value's).
        let mut values: SmallVec<[Value; 8]> = SmallVec::with_capacity(fields.len());
        for e in &fields {
            values.push(
                project
                    .eval(e, doc, false)
                    .map_err(|err| project.error(doc, err))?,
            );
        }
        Ok((key_template.fill(&values), value_template.fill(&values)))
    });
    grouped(group, MemberIdentity::Value, distinct, false, then, clock)
}

/// A flat `@project` that a following `@groupBy` can run inside it ([`group_by_projected`]):
/// the projection, the group-by's key and value expressions, and their templates over the
/// projected fields.
#[derive(Clone, Debug)]
pub struct PreProjection {
    projection: Projection,
    key: Expr,
    value: Expr,
    /// The projection's setters' expressions, in its order (which is its keys' order).
    fields: Vec<Expr>,
    key_template: Template,
    value_template: Template,
}

impl PreProjection {
    /// The fusion of `projection` into a group-by with key `key` and value `value`, when it
    /// is exact: the projection is one fragment of top-level keys that does not read the
    /// clock, there is a value expression, key and value are made of literals and reads of
    /// whole projected fields (`"$.field"`) only, and together they read every projected
    /// field. `None` otherwise.
    #[must_use]
    pub fn new(projection: &Projection, key: &Expr, value: Option<&Expr>) -> Option<PreProjection> {
        let value = value?;
        if projection.is_time_variant() {
            return None;
        }
        let setters = projection.flat_setters()?;
        let names: Vec<Str> = setters.iter().map(|(k, _)| Arc::clone(k)).collect();
        let key_template = Template::of(key, &names)?;
        let value_template = Template::of(value, &names)?;
        let mut used = vec![false; names.len()];
        key_template.mark_fields(&mut used);
        value_template.mark_fields(&mut used);
        if !used.iter().all(|u| *u) {
            return None;
        }
        Some(PreProjection {
            projection: projection.clone(),
            key: key.clone(),
            value: value.clone(),
            fields: setters.into_iter().map(|(_, e)| e.clone()).collect(),
            key_template,
            value_template,
        })
    }
}

/// Records a fused following `@project` in the wire JSON.
fn add_then(wire: &mut Json, then: Option<&(&str, Projection)>) {
    if let Some((project_node, projection)) = then {
        wire["then"] = json!({
            "node": project_node,
            "projection": projection.source().to_serde_json(),
        });
    }
}

/// The group-by operator of `group` with members told apart by `identity`: one
/// `{key, values, documents}` row per group, without `documents` unless `documents`,
/// projected by `then` when given.
fn grouped(
    group: GroupFn<Value>,
    identity: MemberIdentity,
    distinct: bool,
    documents: bool,
    then: Option<(&str, Projection)>,
    clock: &Clock,
) -> Operator<Value> {
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
    // A flat projection whose setters only arrange the row's fields is filled in from them
    // (the row itself is never built); any other is applied to the row.
    let row_fields: Vec<Str> = if documents {
        vec![
            Arc::clone(&k_documents),
            Arc::clone(&k_key),
            Arc::clone(&k_values),
        ]
    } else {
        vec![Arc::clone(&k_key), Arc::clone(&k_values)]
    };
    let finish =
        then.map(
            |(project_node, projection)| match row_template(&projection, &row_fields) {
                Some(output) => Finish::Fill(output),
                None => Finish::Project(Box::new(projector(project_node, projection, clock))),
            },
        );
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
        // The row's fields, in `row_fields`' order.
        let mut fields: SmallVec<[Value; 3]> = SmallVec::new();
        if documents {
            fields.push(group_list(c, before(&documents_at), true));
        }
        fields.push(key.clone());
        fields.push(values);
        if let Some(Finish::Fill(output)) = &finish {
            return Ok(output.fill(&fields));
        }
        let entries: Entries = row_fields.iter().cloned().zip(fields).collect();
        let row = Value::Map(Object::from_interned_entries(entries));
        match &finish {
            Some(Finish::Project(project)) => project(&row),
            _ => Ok(row),
        }
    });
    Operator::GroupBy(GroupSpec {
        group,
        aggregate: Arc::new(aggregate),
        identity,
    })
}

/// How a group-by finishes its output row when a `@project` runs inside it after it.
enum Finish {
    /// The projection as a map template over the row's fields: the output is filled in
    /// from them, as the projection would build it from the row.
    Fill(Template),
    /// Any other projection, applied to the row.
    Project(Box<RowFn>),
}

/// A function of a group row (a `@project`'s, see [`projector`]).
type RowFn = dyn Fn(&Value) -> Result<Value, UserError> + Send + Sync;

/// `projection` as a map template over the fields `fields` of the group row, when it is
/// flat, does not read the clock and every setter only arranges those fields (see
/// [`Template`]): then it cannot fail, and filling the template in builds what it builds.
fn row_template(projection: &Projection, fields: &[Str]) -> Option<Template> {
    if projection.is_time_variant() {
        return None;
    }
    let setters = projection
        .flat_setters()?
        .into_iter()
        .map(|(k, e)| Some((Arc::clone(k), Template::of(e, fields)?)))
        .collect::<Option<_>>()?;
    Template::dict(setters)
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
