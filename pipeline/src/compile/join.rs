//! `@join`: the multi-input product of a branch (spec §b.3, §a.7).
//!
//! Forms: `<predicate>`, `[<predicate>]`, `[<predicate>, {inputs?, soft?, index?}]`.
//!
//! 1. Participants are `options.inputs` when given, else the branch's `@inputs`; inputs
//!    that are not participants are side channels (their input node exists, feeds nothing).
//!    `soft` ⊆ participants; at least one participant is hard.
//! 2. Each participant `N` is wrapped as `{N: doc}` (`b<i>_ns_<j>_<N>`), except where it
//!    enters an equi-join site: there the join puts its own documents under `N`
//!    ([`ops::JoinInput`]), which saves a map per row change. That is the right input of
//!    every equi-join site, and the first hard participant when the first site is one.
//! 3. Hard participants are joined left-deep (`b<i>_join_cart_<n>` or `b<i>_join_eq_<n>`).
//!    With ≥ 2 hard and no soft participants the predicate is applied to every joined row
//!    (field-not-found is `false`): by a select after the last site (`b<i>_join_select`),
//!    or inside the joins (an [`ops::JoinCheck`]), which skip it where the key
//!    decides it: for exactly two hard participants joined by an `equi_join`, the one site
//!    checks the whole predicate; for more, when every conjunct is an `@eq` that some site
//!    keys on, each site checks its own conjuncts.
//! 4. Each soft participant `S` is left-joined onto the current stream `L`
//!    (`b<i>_lj<n>_*`): `sel = σ(L × S)`, `anti = L − distinct(π_L(sel))`,
//!    `result = sel + pad_S(anti)`, where `pad_S` sets `S: null`.
//!
//! **Join sites.** A site joining the stream of names `Ls` with participant `R` is an
//! `equi_join` when
//! - the `index` option names `R` and one of `Ls` (keys evaluated on each input's own
//!   document), or
//! - (automatic) a select with the full predicate follows the site, and the predicate is,
//!   or has as a top-level `@and` conjunct, an `@eq` between a path into one of `Ls`
//!   (`$.A.…` or `$["A"]…`) and a path into `R`. When several such conjuncts relate the
//!   same left input `A` to `R`, the key is composite: the list of their paths on each
//!   side (`["$.labels.app", "$.namespace"]`). Rows that match on the key are exactly the
//!   candidates for which those conjuncts can hold; the predicate still runs on every
//!   joined row, so the result equals the Cartesian form's.
//!
//! Otherwise the site is a Cartesian product.

use deltaloop_engine::{Operator, sanitize};

use super::program::{Branch, Stage, string_list};
use super::stages::Ctx;
use super::{PipelineError, PipelineErrorKind};
use crate::expr::Expr;
use crate::ops;
use crate::value::Value;

/// The parsed `@join` argument.
struct JoinArgs {
    predicate: Value,
    participants: Vec<String>,
    soft: Vec<String>,
    /// `(name, key expression)` ×2, when `index` is given.
    index: Option<[(String, Expr); 2]>,
}

fn join_error(at: String, msg: impl Into<String>) -> PipelineError {
    PipelineError::new(at, PipelineErrorKind::Join(msg.into()))
}

fn parse(
    ctx: &Ctx<'_>,
    stage: &Stage,
    branch_inputs: &[String],
) -> Result<JoinArgs, PipelineError> {
    let (predicate, options) = match &stage.arg {
        Value::List(l) => match l.as_slice() {
            [p] => (p.clone(), None),
            [p, o] => (p.clone(), Some(o)),
            _ => {
                return Err(PipelineError::shape(
                    stage.at(""),
                    "<predicate>, [<predicate>] or [<predicate>, {inputs, soft, index}]",
                    &stage.arg,
                ));
            }
        },
        p => (p.clone(), None),
    };
    let mut participants: Option<Vec<String>> = None;
    let mut soft: Vec<String> = Vec::new();
    let mut index_src: Option<Value> = None;
    if let Some(options) = options {
        let Value::Map(m) = options else {
            return Err(PipelineError::shape(
                stage.at("[1]"),
                "an options object {inputs?, soft?, index?}",
                options,
            ));
        };
        for (k, v) in m.iter() {
            let at = stage.at(&format!("[1].{k}"));
            match &**k {
                "inputs" => {
                    participants = Some(string_list(v, &at, "a non-empty list of input names")?)
                }
                "soft" => soft = string_list(v, &at, "a non-empty list of input names")?,
                "index" => index_src = Some(v.clone()),
                other => {
                    return Err(join_error(
                        stage.at("[1]"),
                        format!("unknown option {other:?} (expected inputs, soft or index)"),
                    ));
                }
            }
        }
    }
    let explicit = participants.is_some();
    let participants = participants.unwrap_or_else(|| branch_inputs.to_vec());
    for (j, p) in participants.iter().enumerate() {
        if !branch_inputs.contains(p) {
            return Err(join_error(
                stage.at(&format!("[1].inputs[{j}]")),
                format!("participant {p:?} is not listed in @inputs {branch_inputs:?}"),
            ));
        }
    }
    let opt_at = |field: &str| {
        if explicit || matches!(stage.arg, Value::List(_)) {
            stage.at(&format!("[1].{field}"))
        } else {
            stage.at("")
        }
    };
    if participants.len() < 2 {
        return Err(join_error(
            opt_at("inputs"),
            "@join needs at least two inputs",
        ));
    }
    for (j, s) in soft.iter().enumerate() {
        if !participants.contains(s) {
            return Err(join_error(
                opt_at(&format!("soft[{j}]")),
                format!("soft input {s:?} is not a join participant {participants:?}"),
            ));
        }
    }
    if participants.iter().all(|p| soft.contains(p)) {
        return Err(join_error(
            opt_at("soft"),
            "at least one join participant must be hard (not soft)",
        ));
    }
    let index = match index_src {
        None => None,
        Some(v) => Some(parse_index(ctx, stage, &v, &participants)?),
    };
    Ok(JoinArgs {
        predicate,
        participants,
        soft,
        index,
    })
}

fn parse_index(
    ctx: &Ctx<'_>,
    stage: &Stage,
    v: &Value,
    participants: &[String],
) -> Result<[(String, Expr); 2], PipelineError> {
    let at = stage.at("[1].index");
    let Value::Map(m) = v else {
        return Err(PipelineError::shape(
            at,
            "an object {A: keyExpr, B: keyExpr}",
            v,
        ));
    };
    let mut keys = Vec::with_capacity(2);
    for (name, expr) in m.iter() {
        if !participants.iter().any(|p| **p == **name) {
            return Err(join_error(
                at,
                format!("index names {name:?}, which is not a join participant"),
            ));
        }
        let e = ctx.expr(stage, &format!("[1].index.{name}"), expr)?;
        keys.push((name.to_string(), e));
    }
    match <[(String, Expr); 2]>::try_from(keys) {
        Ok(pair) => Ok(pair),
        Err(keys) => Err(join_error(
            at,
            format!(
                "index must name exactly two participants, found {}",
                keys.len()
            ),
        )),
    }
}

/// The join key of a site: `(left namespace, left key, right key)`.
type SiteKey = (String, Expr, Expr);

/// A compiled `@join` and what it took over from the stages after it.
pub(super) struct Joined {
    /// The node carrying the joined rows.
    pub(super) node: String,
    /// How many of the following `@select` stages moved whole before the join.
    pub(super) pushed_stages: usize,
    /// What is left of the predicate of the stage after those when only some of its
    /// conjuncts moved: that stage compiles to a select of this.
    pub(super) residual: Option<Expr>,
}

/// Compiles the `@join` stage `stage` of `branch` over `feeds` (logical name, node id);
/// `after` are the stages that follow it.
pub(super) fn compile(
    ctx: &mut Ctx<'_>,
    branch: &Branch,
    stage: &Stage,
    feeds: &[(String, String)],
    after: &[Stage],
) -> Result<Joined, PipelineError> {
    let inputs: Vec<String> = feeds.iter().map(|(n, _)| n.clone()).collect();
    let args = parse(ctx, stage, &inputs)?;
    let predicate = ctx.expr(
        stage,
        if matches!(stage.arg, Value::List(_)) {
            "[0]"
        } else {
            ""
        },
        &args.predicate,
    )?;
    let b = branch.index;

    let hard: Vec<&String> = args
        .participants
        .iter()
        .filter(|p| !args.soft.contains(p))
        .collect();
    let soft: Vec<&String> = args
        .participants
        .iter()
        .filter(|p| args.soft.contains(p))
        .collect();

    // The key of every site, decided up front: a participant whose site is an equi-join
    // enters it as its own documents, which the join puts under its name; the others are
    // wrapped as {N: doc} first. So is the first hard participant, the left input of the
    // first site, unless that site is an equi-join.
    let hard_keys: Vec<Option<SiteKey>> = (1..hard.len())
        .map(|n| site_key(&args, &names(&hard[..n]), hard[n], soft.is_empty()))
        .collect();
    let mut left_of_soft = names(&hard);
    let mut soft_keys: Vec<Option<SiteKey>> = Vec::with_capacity(soft.len());
    for name in &soft {
        soft_keys.push(site_key(&args, &left_of_soft, name, true));
        left_of_soft.push((*name).clone());
    }
    let own_documents = |name: &str| {
        let first = hard.first().is_some_and(|h| *h == name);
        let site = hard
            .iter()
            .skip(1)
            .zip(&hard_keys)
            .chain(soft.iter().zip(&soft_keys))
            .find(|(n, _)| **n == name);
        match site {
            Some((_, key)) => key.is_some(),
            None => first && hard_keys.first().is_some_and(Option::is_some),
        }
    };

    let pushdown = if soft.is_empty() {
        plan_pushdown(ctx, branch, after, &hard)?
    } else {
        Pushdown::default()
    };
    let mut inputs: Vec<(String, String, bool)> = Vec::with_capacity(args.participants.len());
    for (j, name) in args.participants.iter().enumerate() {
        let from = feeds
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, node)| node.clone())
            .unwrap_or_default();
        let own = own_documents(name);
        let node = if own {
            from
        } else {
            let id = format!("b{b}_ns_{j}_{}", sanitize(name));
            ctx.node(id, ops::wrap(name), &[&from])?
        };
        inputs.push((name.clone(), node, own));
    }
    for (name, id, conjunct) in pushdown.filters {
        if let Some((_, node, own)) = inputs.iter_mut().find(|(n, ..)| *n == name) {
            // On own documents, the conjunct reads below the participant's name.
            let conjunct = if *own {
                conjunct.below_top_field().ok_or_else(|| {
                    join_error(stage.at(""), "internal: a moved @select did not rewrite")
                })?
            } else {
                conjunct
            };
            let op = ops::select(&id, conjunct, ctx.clock);
            *node = ctx.node(id, op, &[node.as_str()])?;
        }
    }
    let input_of = |name: &str| {
        inputs
            .iter()
            .find(|(n, ..)| n == name)
            .map(|(_, id, own)| (id.clone(), *own))
            .unwrap_or_default()
    };

    let mut left_names: Vec<String> = Vec::new();
    let (mut left, mut left_own) = (String::new(), false);
    // The predicate of a join of exactly two hard inputs is checked inside an equi-join
    // (see `ops::JoinCheck`) rather than by a select after it; so is that of a join of
    // more, when each of its conjuncts is an `@eq` that one site keys on: each site then
    // checks its own conjuncts.
    let per_site = if hard.len() > 2 && soft.is_empty() && args.index.is_none() {
        site_conjuncts(&args, &hard)
    } else {
        None
    };
    let mut checked = false;
    for (n, name) in hard.iter().enumerate() {
        if n == 0 {
            (left, left_own) = input_of(name);
        } else {
            let key = hard_keys.get(n - 1).cloned().flatten();
            let check = match per_site.as_ref().and_then(|sites| sites.get(n - 1)) {
                Some(conjuncts) => Some(ops::JoinCheck {
                    predicate: ctx.expr(stage, "", &and_of(conjuncts))?,
                    key_conjuncts: Some(conjuncts.len()),
                }),
                None => {
                    (hard.len() == 2 && soft.is_empty() && key.is_some()).then(|| ops::JoinCheck {
                        predicate: predicate.clone(),
                        key_conjuncts: key_conjuncts(&args, &left_names, name),
                    })
                }
            };
            checked |= check.is_some();
            let (right, right_own) = input_of(name);
            let own = [left_own, right_own];
            let (id, op) = site_op(ctx, key, check, own, name, &format!("b{b}_join"), n - 1);
            left = ctx.node(id, op, &[&left, &right])?;
            left_own = false;
        }
        left_names.push((*name).clone());
    }
    if hard.len() >= 2 && soft.is_empty() && !checked {
        let id = format!("b{b}_join_select");
        left = ctx.node(
            id.clone(),
            ops::select(&id, predicate.clone(), ctx.clock),
            &[&left],
        )?;
    }
    for (n, (name, key)) in soft.iter().zip(soft_keys).enumerate() {
        let p = format!("b{b}_lj{n}");
        let (right, right_own) = input_of(name);
        let (id, op) = site_op(ctx, key, None, [false, right_own], name, &p, usize::MAX);
        let product = ctx.node(id, op, &[&left, &right])?;
        let sel_id = format!("{p}_select");
        let sel = ctx.node(
            sel_id.clone(),
            ops::select(&sel_id, predicate.clone(), ctx.clock),
            &[&product],
        )?;
        let strip = ctx.node(format!("{p}_strip"), ops::strip(&left_names), &[&sel])?;
        let dist = ctx.node(format!("{p}_distinct"), Operator::Distinct, &[&strip])?;
        let anti = ctx.node(format!("{p}_anti"), Operator::minus(), &[&left, &dist])?;
        let pad = ctx.node(format!("{p}_pad"), ops::pad(name), &[&anti])?;
        left = ctx.node(format!("{p}_union"), Operator::plus(), &[&sel, &pad])?;
        left_names.push((*name).clone());
    }
    Ok(Joined {
        node: left,
        pushed_stages: pushdown.stages,
        residual: pushdown.residual,
    })
}

/// The `@select` conjuncts that move before a join (see [`plan_pushdown`]).
#[derive(Default)]
struct Pushdown {
    /// `(participant, node id, conjunct)`: a select on that participant's input rows
    /// (`{N: doc}`, or, where it enters a hash join unwrapped, `doc` with the conjunct read
    /// below `N`: [`Expr::below_top_field`]).
    filters: Vec<(String, String, Expr)>,
    /// How many following stages moved whole.
    stages: usize,
    /// The rest of the next stage's predicate, when only a prefix of it moved.
    residual: Option<Expr>,
}

/// Plans moving `@select` predicates that follow a join (of hard participants only) onto
/// the participants' input rows, so that rows they drop never enter the join's state.
///
/// `σ_p(A ⋈ B) = σ_p(A) ⋈ B` when `p` reads only `A`'s fields; a `@select` is exactly
/// that filter when, in addition, its predicate can fail with nothing but field-not-found
/// (which `@select` counts as `false`): otherwise a row the join drops could make the
/// moved select fail where the original never sees the row. Such *total* predicates are
/// recognised by [`Expr::total_on_one_field`]. A stage moves whole when its predicate is
/// total and reads one participant; else the longest prefix of its top-level `@and` whose
/// conjuncts each are moves, and the rest stays after the join as an `@and` (a later
/// conjunct runs only where the earlier ones held, as before). Stages move in order and
/// stop at the first one that does not move whole.
fn plan_pushdown(
    ctx: &Ctx<'_>,
    branch: &Branch,
    after: &[Stage],
    hard: &[&String],
) -> Result<Pushdown, PipelineError> {
    let mut plan = Pushdown::default();
    let participant = |field: Option<&str>| {
        field.and_then(|f| hard.iter().find(|h| h.as_str() == f).map(|h| (*h).clone()))
    };
    for stage in after {
        if stage.op != "@select" {
            break;
        }
        let predicate = ctx.expr(stage, "", &stage.arg)?;
        let b_op = branch.stage_node(stage);
        if let Some(name) = participant(predicate.total_on_one_field(false)) {
            plan.filters
                .push((name, format!("{b_op}_pushed"), predicate));
            plan.stages += 1;
            continue;
        }
        let conjuncts = predicate.conjuncts();
        let moved: Vec<String> = conjuncts
            .iter()
            .map_while(|c| participant(c.total_on_one_field(true)))
            .collect();
        if moved.is_empty() {
            break;
        }
        let all = moved.len() == conjuncts.len();
        let mut rest = conjuncts.into_iter();
        for (c, (name, conjunct)) in moved.into_iter().zip(rest.by_ref()).enumerate() {
            plan.filters
                .push((name, format!("{b_op}_pushed_{c}"), conjunct));
        }
        if !all {
            plan.residual = Some(Expr::and_of(rest.collect()));
            break;
        }
        plan.stages += 1;
    }
    Ok(plan)
}

/// The node id and operator of a join site: an `equi_join` when `key` is given, else a
/// Cartesian product. `own` tells, for the left and the right input, whether it carries
/// its participant's own documents (only an equi-join's inputs do, see
/// [`ops::JoinInput`]). `n == usize::MAX` marks a left-join site (`<prefix>_cart` /
/// `<prefix>_eq`); otherwise ids are `<prefix>_cart_<n>` / `<prefix>_eq_<n>`.
fn site_op(
    ctx: &Ctx<'_>,
    key: Option<SiteKey>,
    check: Option<ops::JoinCheck>,
    own: [bool; 2],
    right: &str,
    prefix: &str,
    n: usize,
) -> (String, Operator<Value>) {
    let suffix = if n == usize::MAX {
        String::new()
    } else {
        format!("_{n}")
    };
    match key {
        Some((left_ns, left_key, right_key)) => {
            let id = format!("{prefix}_eq{suffix}");
            let [left_own, right_own] = own;
            let left = ops::JoinInput {
                ns: left_ns,
                key: left_key,
                wrap: left_own,
            };
            let right = ops::JoinInput {
                ns: right.to_owned(),
                key: right_key,
                wrap: right_own,
            };
            let op = ops::equi_join(&id, left, right, check, ctx.clock);
            (id, op)
        }
        None => {
            let id = format!("{prefix}_cart{suffix}");
            let op = ops::cartesian(&id);
            (id, op)
        }
    }
}

/// The names of `participants`, owned.
fn names(participants: &[&String]) -> Vec<String> {
    participants.iter().map(|p| (*p).clone()).collect()
}

/// The equi-join key of the site joining `left_names` with `right`, if any: from the
/// `index` option, else (when `auto`) from an `@eq` conjunct of the predicate.
fn site_key(args: &JoinArgs, left_names: &[String], right: &str, auto: bool) -> Option<SiteKey> {
    if let Some([(a, ka), (b, kb)]) = &args.index {
        if a == right && left_names.contains(b) {
            return Some((b.clone(), kb.clone(), ka.clone()));
        }
        if b == right && left_names.contains(a) {
            return Some((a.clone(), ka.clone(), kb.clone()));
        }
    }
    if !auto {
        return None;
    }
    // One conjunct gives a plain key, several a composite (list) key, so that rows match
    // only when all of them can hold.
    let keys = site_eqs(args, left_names, right).keys;
    let (_, left_ns, _, _) = keys.first()?;
    let compile = |paths: Vec<&String>| {
        let json = match paths.as_slice() {
            [one] => serde_json::Value::String((*one).clone()),
            _ => serde_json::Value::Array(
                paths
                    .iter()
                    .map(|p| serde_json::Value::String((*p).clone()))
                    .collect(),
            ),
        };
        Expr::compile_json(&json.to_string()).ok()
    };
    let left_key = compile(keys.iter().map(|k| &k.2).collect())?;
    let right_key = compile(keys.iter().map(|k| &k.3).collect())?;
    Some(((*left_ns).to_owned(), left_key, right_key))
}

/// How many `@eq` conjuncts the automatic key of the site joining `left_names` with
/// `right` is made of, when those are *all* of the predicate's conjuncts (so that equal
/// plain keys decide the predicate); `None` otherwise, and for keys from the `index` option.
fn key_conjuncts(args: &JoinArgs, left_names: &[String], right: &str) -> Option<usize> {
    if args.index.is_some() {
        return None;
    }
    let eqs = site_eqs(args, left_names, right);
    (!eqs.keys.is_empty() && eqs.keys.len() == eqs.conjuncts).then_some(eqs.keys.len())
}

/// For a join of three or more hard inputs: the conjuncts each join site keys on, in site
/// order, when together they are *all* of the predicate's conjuncts and every site has at
/// least one (so that the sites' checks of their own conjuncts are the predicate). `None`
/// otherwise. Each conjunct relates two inputs, so at most the site of the later of the
/// two keys on it.
fn site_conjuncts<'a>(args: &'a JoinArgs, hard: &[&String]) -> Option<Vec<Vec<&'a Value>>> {
    let mut all = Vec::new();
    conjuncts_of(&args.predicate, &mut all);
    let mut covered = vec![false; all.len()];
    let mut sites = Vec::with_capacity(hard.len().saturating_sub(1));
    for n in 1..hard.len() {
        let left_names: Vec<String> = hard.iter().take(n).map(|h| (*h).clone()).collect();
        let keys = site_eqs(args, &left_names, hard.get(n)?).keys;
        if keys.is_empty() {
            return None;
        }
        let mut mine = Vec::with_capacity(keys.len());
        for (i, ..) in keys {
            mine.push(*all.get(i)?);
            *covered.get_mut(i)? = true;
        }
        sites.push(mine);
    }
    covered.iter().all(|c| *c).then_some(sites)
}

/// `{"@and": conjuncts}`.
fn and_of(conjuncts: &[&Value]) -> Value {
    Value::map([(
        "@and",
        Value::list(conjuncts.iter().map(|c| (*c).clone()).collect()),
    )])
}

/// The `@eq` conjuncts the automatic key of a site is made of (see [`site_eqs`]).
struct SiteEqs<'a> {
    /// `(index among the predicate's conjuncts, left input, left path, right path)`, in
    /// the predicate's order, the paths on each input's own document.
    keys: Vec<(usize, &'a str, String, String)>,
    /// How many conjuncts the predicate has.
    conjuncts: usize,
}

/// The conjuncts the automatic key of the site joining `left_names` with `right` is made
/// of: every `@eq` conjunct (see [`eq_key`]) between `right` and the first left input
/// that one of them names.
fn site_eqs<'a>(args: &'a JoinArgs, left_names: &[String], right: &str) -> SiteEqs<'a> {
    let mut conjuncts = Vec::new();
    conjuncts_of(&args.predicate, &mut conjuncts);
    let all: Vec<(usize, &str, String, String)> = conjuncts
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            eq_key(c, &args.participants, left_names, right).map(|(ns, l, r)| (i, ns, l, r))
        })
        .collect();
    let keys = match all.first() {
        Some(&(_, first, ..)) => all.into_iter().filter(|k| k.1 == first).collect(),
        None => Vec::new(),
    };
    SiteEqs {
        keys,
        conjuncts: conjuncts.len(),
    }
}

/// Collects the conjuncts of `pred`: the arguments of (nested) top-level `@and`s, or `pred`.
fn conjuncts_of<'v>(pred: &'v Value, out: &mut Vec<&'v Value>) {
    if let Value::Map(m) = pred
        && m.len() == 1
        && let Some(Value::List(args)) = m.get("@and")
    {
        for a in args.iter() {
            conjuncts_of(a, out);
        }
        return;
    }
    out.push(pred);
}

/// The key paths of an `@eq` conjunct relating a left input to `right`: the left input,
/// and the paths on the left and right inputs' own documents.
fn eq_key<'p>(
    conjunct: &Value,
    participants: &'p [String],
    left_names: &[String],
    right: &str,
) -> Option<(&'p str, String, String)> {
    let Value::Map(m) = conjunct else { return None };
    if m.len() != 1 {
        return None;
    }
    let Some(Value::List(args)) = m.get("@eq") else {
        return None;
    };
    let [Value::String(x), Value::String(y)] = args.as_slice() else {
        return None;
    };
    let (nx, rx) = split_namespace(x, participants)?;
    let (ny, ry) = split_namespace(y, participants)?;
    if ny == right && left_names.iter().any(|l| *l == nx) {
        Some((nx, rx, ry))
    } else if nx == right && left_names.iter().any(|l| *l == ny) {
        Some((ny, ry, rx))
    } else {
        None
    }
}

/// Splits a path into a participant's namespace and the rest as a path on that
/// participant's own document: `$.dep.metadata.name` → (`dep`, `$.metadata.name`),
/// `$["a.b"]["x"]` → (`a.b`, `$["x"]`), `$.dep` → (`dep`, `$.`). Paths whose rest refers to
/// the root again (`$` inside a filter) are not split.
fn split_namespace<'p>(path: &str, participants: &'p [String]) -> Option<(&'p str, String)> {
    let (name, rest) = if let Some(after) = path.strip_prefix("$.") {
        let end = after.find(['.', '[']).unwrap_or(after.len());
        let name = participants.iter().find(|p| p.as_str() == &after[..end])?;
        (name.as_str(), &after[end..])
    } else {
        let after = path.strip_prefix("$[")?;
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = &after[1..];
        let end = body.find(quote)?;
        let inner = &body[..end];
        let rest = body[end + 1..].strip_prefix(']')?;
        let name = participants.iter().find(|p| p.as_str() == inner)?;
        (name.as_str(), rest)
    };
    if rest.contains('$') || rest.contains('\\') {
        return None;
    }
    let rest = if rest.is_empty() {
        "$.".to_owned()
    } else {
        format!("${rest}")
    };
    Some((name, rest))
}

#[cfg(test)]
mod tests {
    use super::split_namespace;

    #[test]
    fn split_namespace_should_handle_dotted_and_bracket_paths() {
        let names = vec!["dep".to_owned(), "de".to_owned(), "a.b".to_owned()];
        assert_eq!(
            split_namespace("$.dep.metadata.name", &names),
            Some(("dep", "$.metadata.name".to_owned()))
        );
        assert_eq!(
            split_namespace("$.dep", &names),
            Some(("dep", "$.".to_owned()))
        );
        assert_eq!(
            split_namespace("$.de.x", &names),
            Some(("de", "$.x".to_owned()))
        );
        assert_eq!(
            split_namespace("$[\"a.b\"][\"x\"]", &names),
            Some(("a.b", "$[\"x\"]".to_owned()))
        );
        assert_eq!(split_namespace("$.depx.y", &names), None);
        assert_eq!(split_namespace("$$.dep.x", &names), None);
        assert_eq!(split_namespace("dep.x", &names), None);
    }
}
