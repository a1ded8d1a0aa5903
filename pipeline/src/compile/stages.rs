//! The stages of a branch, each compiled to one operator node `b<i>_op_<k>` (`@join` to a
//! small sub-circuit, see `join.rs`).
//!
//! | stage | argument | operator |
//! |---|---|---|
//! | `@select` | expression | [`ops::select`]: field-not-found is `false` |
//! | `@project` | object or list of objects | [`ops::project`] |
//! | `@unwind` | `"$.path"` | [`ops::unwind`] |
//! | `@groupBy` | `[key, value]` or `[key, value, {distinct}]` | [`ops::group_by`] |
//! | `@distinct` | `null`, `{}` or the bare `"@distinct"` | `distinct` |
//! | `@join` | predicate, `[predicate]` or `[predicate, {inputs, soft, index}]` | see `join.rs` |

use deltaloop_engine::{Circuit, Operator};

use super::join;
use super::program::{Branch, Stage};
use super::{PipelineError, PipelineErrorKind};
use crate::clock::Clock;
use crate::expr::{Expr, Registry};
use crate::ops::{self, Projection, ProjectionError};
use crate::path::Path;
use crate::value::Value;

/// The compilation context: the circuit under construction, the clock, the registry.
pub(super) struct Ctx<'a> {
    pub(super) circuit: &'a mut Circuit<Value>,
    pub(super) clock: &'a Clock,
    pub(super) registry: &'a Registry,
}

impl Ctx<'_> {
    /// Adds node `id` fed by `from` (port 0) and returns `id`.
    pub(super) fn node(
        &mut self,
        id: String,
        op: Operator<Value>,
        from: &[&str],
    ) -> Result<String, PipelineError> {
        let id = self
            .circuit
            .add_node(id, op)
            .map_err(|e| PipelineError::new("", e))?;
        for (port, f) in from.iter().enumerate() {
            self.circuit
                .connect(f, &id, port)
                .map_err(|e| PipelineError::new("", e))?;
        }
        Ok(id)
    }

    /// Compiles an expression of stage `stage` at position `inner` inside its argument.
    pub(super) fn expr(
        &self,
        stage: &Stage,
        inner: &str,
        source: &Value,
    ) -> Result<Expr, PipelineError> {
        Expr::compile_value_with(source, self.registry)
            .map_err(|e| PipelineError::new(stage.at(inner), e))
    }
}

/// Compiles the stages of `branch` onto its input nodes `feeds` (logical name, node id) and
/// returns the node carrying the branch's output.
pub(super) fn compile_branch(
    ctx: &mut Ctx<'_>,
    branch: &Branch,
    feeds: &[(String, String)],
    plain: bool,
) -> Result<String, PipelineError> {
    let mut stages = branch.stages.iter();
    // The predicate of the first stage after a `@join` that moved before it only in part.
    let mut residual = None;
    let mut cur = match feeds {
        [(_, node)] => node.clone(),
        _ => match branch.stages.first() {
            Some(first) if first.op == "@join" => {
                stages.next();
                let joined = join::compile(ctx, branch, first, feeds, stages.as_slice())?;
                // Stages that moved whole are done; one that moved in part is compiled
                // below with what is left of its predicate.
                for _ in 0..joined.pushed_stages {
                    stages.next();
                }
                residual = joined.residual;
                joined.node
            }
            None if plain => {
                // The empty pipeline: the identity from all sources to the output.
                let from: Vec<&str> = feeds.iter().map(|(_, n)| n.as_str()).collect();
                let id = format!("lc_identity_b{}", branch.index);
                ctx.node(id, Operator::LinearCombination(vec![1; from.len()]), &from)?
            }
            _ => {
                let at = branch
                    .stages
                    .first()
                    .map_or_else(|| branch.at.clone(), |s| s.at(""));
                return Err(PipelineError::new(
                    at,
                    PipelineErrorKind::Join(format!(
                        "a branch with {} inputs must start with @join",
                        feeds.len()
                    )),
                ));
            }
        },
    };
    let rest: Vec<&Stage> = stages.collect();
    // How many of the next stages an operator already took in: a `@groupBy` the `@project`
    // after it (see `fused_projection`), a `@project` the `@groupBy` after it (see
    // `projected_group_by`), or both.
    let mut fused = 0;
    for (i, &stage) in rest.iter().enumerate() {
        if fused > 0 {
            fused -= 1;
            continue;
        }
        let id = branch.stage_node(stage);
        let op = match stage.op.as_str() {
            "@select" => {
                let predicate = match residual.take() {
                    Some(rest) if i == 0 => rest,
                    _ => ctx.expr(stage, "", &stage.arg)?,
                };
                ops::select(&id, predicate, ctx.clock)
            }
            "@project" => {
                let p = Projection::compile(&stage.arg, ctx.registry)
                    .map_err(|e| projection_error(stage, e))?;
                let (group, after) = (rest.get(i + 1).copied(), rest.get(i + 2).copied());
                if let Some((op, group_id, fused_after)) =
                    projected_group_by(ctx, branch, &id, &p, group, after)?
                {
                    fused = 1 + usize::from(fused_after);
                    cur = ctx.node(group_id, op, &[&cur])?;
                    continue;
                }
                ops::project(&id, p, ctx.clock)
            }
            "@unwind" => ops::unwind(&id, unwind_path(stage)?),
            "@groupBy" => {
                let next = rest.get(i + 1).copied();
                let then = fused_projection(ctx, branch, next);
                fused = usize::from(then.is_some());
                let then = then.as_ref().map(|(node, p)| (node.as_str(), p.clone()));
                group_by(ctx, stage, &id, next, then)?
            }
            "@distinct" => {
                match &stage.arg {
                    Value::Null => {}
                    Value::Map(m) if m.is_empty() => {}
                    other => {
                        return Err(PipelineError::shape(
                            stage.at(""),
                            "null or {} (@distinct takes no arguments)",
                            other,
                        ));
                    }
                }
                Operator::Distinct
            }
            "@join" => {
                let msg = if feeds.len() < 2 {
                    format!(
                        "@join needs at least two inputs, the branch has {}",
                        feeds.len()
                    )
                } else {
                    "@join must be the first stage of the branch".to_owned()
                };
                return Err(PipelineError::new(
                    stage.at(""),
                    PipelineErrorKind::Join(msg),
                ));
            }
            "@gather" | "@aggregate" | "@mux" => {
                return Err(PipelineError::new(
                    stage.at(""),
                    PipelineErrorKind::RejectedStage(stage.op.clone()),
                ));
            }
            other => {
                return Err(PipelineError::new(
                    stage.at(""),
                    PipelineErrorKind::UnsupportedStage(other.to_owned()),
                ));
            }
        };
        cur = ctx.node(id, op, &[&cur])?;
    }
    Ok(cur)
}

fn projection_error(stage: &Stage, e: ProjectionError) -> PipelineError {
    match e {
        ProjectionError::Shape { at, found } => PipelineError::new(
            stage.at(&at),
            PipelineErrorKind::Shape {
                expected: "an object of setters, or a list of them".into(),
                found,
            },
        ),
        ProjectionError::Expression { at, source } => PipelineError::new(stage.at(&at), *source),
    }
}

fn unwind_path(stage: &Stage) -> Result<Path, PipelineError> {
    match &stage.arg {
        Value::String(s) if s.starts_with("$.") => Path::parse(s).map_err(|e| {
            PipelineError::new(
                stage.at(""),
                PipelineErrorKind::Shape {
                    expected: "a JSONPath \"$.field\"".into(),
                    found: e.to_string(),
                },
            )
        }),
        other => Err(PipelineError::shape(
            stage.at(""),
            "a path string starting with \"$.\"",
            other,
        )),
    }
}

/// Whether a `@groupBy` followed by `next` (`None`: it is the branch's last stage) must
/// build the `documents` list of its rows.
///
/// Demand analysis, deliberately conservative: the list is dropped only when the next stage
/// is a `@project` whose argument reads nothing but `"$.key"` and `"$.values"`, whole: every
/// string starting with `$` is exactly one of those two, no map key is an `@`-operator (so
/// no computed `@getField` path, no `@copy`), and no top-level key is `"$."`. Such a
/// projection cannot fail on the group row either (both fields always exist), so neither
/// its output nor its error messages (which quote the row) can depend on `documents`, and
/// the rows of the `@groupBy` node itself are consumed only by that stage.
fn group_needs_documents(next: Option<&Stage>) -> bool {
    fn reads_only_key_values(v: &Value, top: bool) -> bool {
        match v {
            Value::String(s) => !s.starts_with('$') || matches!(&**s, "$.key" | "$.values"),
            Value::List(items) => items.iter().all(|x| reads_only_key_values(x, false)),
            Value::Map(m) => m.iter().all(|(k, x)| {
                !k.starts_with('@')
                    && !(top && (k.starts_with('$') && !k.starts_with("$.") || &**k == "$."))
                    && reads_only_key_values(x, false)
            }),
            _ => true,
        }
    }
    let Some(next) = next else { return true };
    if next.op != "@project" {
        return true;
    }
    let fragments: Vec<&Value> = match &next.arg {
        Value::Map(_) => vec![&next.arg],
        Value::List(items) if items.iter().all(|f| matches!(f, Value::Map(_))) => {
            items.iter().collect()
        }
        _ => return true,
    };
    !fragments.iter().all(|f| reads_only_key_values(f, true))
}

/// The `@project` stage `next` (its node id and projection) when it follows a `@groupBy`
/// and can run inside it: every projection that compiles and does not read the clock. The
/// group-by then emits projected rows and keeps them as its outputs, so a group's
/// retraction is the kept row itself (see `ops::group_by_with`). The project's node id
/// still names it in errors; a projection that does not compile is left to its own stage,
/// which reports it after the `@groupBy`'s errors, as before.
fn fused_projection(
    ctx: &Ctx<'_>,
    branch: &Branch,
    next: Option<&Stage>,
) -> Option<(String, Projection)> {
    let next = next.filter(|n| n.op == "@project")?;
    let p = Projection::compile(&next.arg, ctx.registry).ok()?;
    (!p.is_time_variant()).then(|| (branch.stage_node(next), p))
}

fn group_by(
    ctx: &Ctx<'_>,
    stage: &Stage,
    id: &str,
    next: Option<&Stage>,
    then: Option<(&str, Projection)>,
) -> Result<Operator<Value>, PipelineError> {
    let GroupArgs {
        key,
        value,
        distinct,
    } = group_args(ctx, stage)?;
    let documents = group_needs_documents(next);
    Ok(ops::group_by_with(
        id, key, value, distinct, documents, then, ctx.clock,
    ))
}

/// The compiled arguments of a `@groupBy` stage.
struct GroupArgs {
    key: Expr,
    value: Option<Expr>,
    distinct: bool,
}

/// Compiles the arguments of the `@groupBy` stage `stage`.
fn group_args(ctx: &Ctx<'_>, stage: &Stage) -> Result<GroupArgs, PipelineError> {
    let expected = "[keyExpr, valueExpr] or [keyExpr, valueExpr, {distinct: bool}]";
    let args = match &stage.arg {
        Value::List(l) if l.len() == 2 || l.len() == 3 => l.as_slice(),
        other => return Err(PipelineError::shape(stage.at(""), expected, other)),
    };
    let (key, value) = (&args[0], &args[1]);
    if key.is_null() {
        return Err(PipelineError::shape(
            stage.at("[0]"),
            "a key expression (not null)",
            key,
        ));
    }
    let key = ctx.expr(stage, "[0]", key)?;
    let value = match value {
        Value::Null => None,
        v => Some(ctx.expr(stage, "[1]", v)?),
    };
    let mut distinct = false;
    if let Some(opts) = args.get(2) {
        let Value::Map(m) = opts else {
            return Err(PipelineError::shape(
                stage.at("[2]"),
                "an options object {distinct: bool}",
                opts,
            ));
        };
        for (k, v) in m.iter() {
            match (&**k, v) {
                ("distinct", Value::Bool(b)) => distinct = *b,
                ("distinct", other) => {
                    return Err(PipelineError::shape(
                        stage.at("[2].distinct"),
                        "a boolean",
                        other,
                    ));
                }
                (other, _) => {
                    return Err(PipelineError::new(
                        stage.at("[2]"),
                        PipelineErrorKind::Shape {
                            expected: "only the option \"distinct\"".into(),
                            found: format!("{other:?}"),
                        },
                    ));
                }
            }
        }
    }
    Ok(GroupArgs {
        key,
        value,
        distinct,
    })
}

/// The `@groupBy` that follows a `@project` stage (node `project_node`, compiled to
/// `projection`), with that projection run inside it ([`ops::group_by_projected`]), when
/// `group` is a `@groupBy` whose `documents` no later stage (`after`) can read and the fusion
/// is exact ([`ops::PreProjection::new`]): the operator, its node id, and whether it also
/// took in the `@project` after it (see [`fused_projection`]). `None` otherwise.
fn projected_group_by(
    ctx: &Ctx<'_>,
    branch: &Branch,
    project_node: &str,
    projection: &Projection,
    group: Option<&Stage>,
    after: Option<&Stage>,
) -> Result<Option<(Operator<Value>, String, bool)>, PipelineError> {
    let Some(group) = group.filter(|g| g.op == "@groupBy") else {
        return Ok(None);
    };
    if group_needs_documents(after) {
        return Ok(None);
    }
    let args = group_args(ctx, group)?;
    let Some(before) = ops::PreProjection::new(projection, &args.key, args.value.as_ref()) else {
        return Ok(None);
    };
    let then = fused_projection(ctx, branch, after);
    let fused_after = then.is_some();
    let then = then.as_ref().map(|(node, p)| (node.as_str(), p.clone()));
    let op = ops::group_by_projected(project_node, before, args.distinct, then, ctx.clock);
    Ok(Some((op, branch.stage_node(group), fused_after)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(op: &str, arg: &str) -> Stage {
        Stage {
            index: 1,
            op: op.to_owned(),
            arg: Value::from_json_str(arg).unwrap_or_default(),
            at: String::new(),
        }
    }

    #[test]
    fn group_documents_should_be_dropped_only_when_provably_unread() {
        let needs = |op: &str, arg: &str| group_needs_documents(Some(&stage(op, arg)));
        assert!(group_needs_documents(None));
        assert!(!needs(
            "@project",
            r#"{"kind": "E", "metadata": "$.key", "subsets": [{"addresses": "$.values"}]}"#
        ));
        assert!(!needs(
            "@project",
            r#"[{"a": "$.key"}, {"b.c": "$.values"}]"#
        ));
        assert!(needs("@project", r#"{"d": "$.documents"}"#));
        assert!(needs("@project", r#"{"d": "$."}"#));
        assert!(needs("@project", r#"{"$.": "$.key"}"#));
        assert!(needs("@project", r#"{"n": "$.key.name"}"#));
        assert!(needs("@project", r#"{"d": {"@getField": ["$.key", "x"]}}"#));
        assert!(needs("@project", r#"{"d": {"@copy": "x"}}"#));
        assert!(needs("@select", r#"{"@eq": ["$.key", 1]}"#));
        assert!(needs("@unwind", r#""$.documents""#));
    }
}
