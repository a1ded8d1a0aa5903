//! A naive reference evaluator of aggregation pipelines, for the oracle tests.
//!
//! It evaluates a list of stages (`@select`, `@project`, `@unwind`, `@groupBy`,
//! `@distinct`, a leading `@join` with `soft` inputs) directly on whole multisets, written
//! from the spec (§b.2, §b.3) rather than from the compiler: no circuits, no
//! incrementalization, no hash joins — nested loops over `serde_json` documents. Only the
//! expression evaluator ([`Expr`]) is shared with the implementation.

use std::collections::BTreeMap;

use deltaloop_engine::ZSet;
use deltaloop_pipeline::{EvalContext, Expr, Value, canonical_json};
use serde_json::{Map, Value as Json};

/// A multiset: document → weight (never 0).
pub(crate) type Bag = BTreeMap<Value, i64>;

/// Adds `w` copies of `v` to `bag`.
pub(crate) fn add(bag: &mut Bag, v: Value, w: i64) {
    if w == 0 {
        return;
    }
    let slot = bag.entry(v.clone()).or_insert(0);
    *slot += w;
    if *slot == 0 {
        bag.remove(&v);
    }
}

/// A Z-set as a bag.
pub(crate) fn bag_of(z: &ZSet<Value>) -> Bag {
    let mut bag = Bag::new();
    for (v, w) in z.iter() {
        add(&mut bag, v.clone(), w);
    }
    bag
}

/// The bag with every list inside every row sorted (by canonical JSON): `@groupBy`'s
/// `values` and `documents` compare as multisets.
pub(crate) fn normalize(bag: &Bag) -> Bag {
    fn sort_lists(j: &mut Json) {
        match j {
            Json::Array(items) => {
                items.iter_mut().for_each(sort_lists);
                items.sort_by_cached_key(|i| canonical_json(&Value::from(i)));
            }
            Json::Object(m) => m.values_mut().for_each(sort_lists),
            _ => {}
        }
    }
    let mut out = Bag::new();
    for (v, w) in bag {
        let mut j = v.to_serde_json();
        sort_lists(&mut j);
        add(&mut out, Value::from(&j), *w);
    }
    out
}

fn eval(expr: &Json, doc: &Json, subject: bool) -> Result<Value, deltaloop_pipeline::EvalError> {
    // The oracle's pipelines are fixed and valid.
    let expr = Expr::compile(expr).unwrap_or_else(|e| panic!("reference: {expr}: {e}"));
    let doc = Value::from(doc);
    let ctx = EvalContext::new().with_document(&doc);
    if subject {
        expr.eval(&ctx.with_subject(&doc))
    } else {
        expr.eval(&ctx)
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A list of rows with their weights, in `serde_json` form.
type Rows = Vec<(Json, i64)>;

fn rows(bag: &Bag) -> Rows {
    bag.iter().map(|(v, w)| (v.to_serde_json(), *w)).collect()
}

fn collect(rows: Rows) -> Bag {
    let mut bag = Bag::new();
    for (j, w) in rows {
        add(&mut bag, Value::from(&j), w);
    }
    bag
}

/// Evaluates `pipeline` (a list of stages) on the named input multisets, in order.
///
/// # Errors
/// A message when the pipeline would fail the step (an evaluation error).
pub(crate) fn evaluate(pipeline: &Json, inputs: &[(&str, Bag)]) -> Result<Bag, String> {
    let stages = pipeline.as_array().cloned().unwrap_or_default();
    let mut stages = stages.iter().peekable();
    let mut current: Bag = match stages.peek().and_then(|s| s.get("@join")) {
        Some(arg) => {
            stages.next();
            join(arg, inputs)?
        }
        None => inputs.first().map(|(_, b)| b.clone()).unwrap_or_default(),
    };
    for stage in stages {
        current = match stage {
            Json::String(s) if s == "@distinct" => distinct(&current),
            Json::Object(m) => {
                let (op, arg) = m.iter().next().ok_or("empty stage")?;
                match op.as_str() {
                    "@select" => select(arg, &current)?,
                    "@project" => project(arg, &current)?,
                    "@unwind" => unwind(arg, &current)?,
                    "@groupBy" => group_by(arg, &current)?,
                    "@distinct" => distinct(&current),
                    other => return Err(format!("reference: unsupported stage {other}")),
                }
            }
            other => return Err(format!("reference: unsupported stage {other}")),
        };
    }
    Ok(current)
}

/// Keeps a row iff `pred` holds; field-not-found is `false`.
fn keep(pred: &Json, row: &Json) -> Result<bool, String> {
    match eval(pred, row, false) {
        Ok(v) => Ok(v == Value::Bool(true)),
        Err(e) if e.is_field_not_found() => Ok(false),
        Err(e) => Err(err(e)),
    }
}

fn select(pred: &Json, input: &Bag) -> Result<Bag, String> {
    let mut out = Rows::new();
    for (row, w) in rows(input) {
        if keep(pred, &row)? {
            out.push((row, w));
        }
    }
    Ok(collect(out))
}

/// Sets `v` at the dotted position `path` of `obj`, replacing non-map intermediates.
fn set_nested(obj: &mut Map<String, Json>, path: &[&str], v: Json) {
    match path {
        [] => {}
        [last] => {
            obj.insert((*last).to_owned(), v);
        }
        [first, rest @ ..] => {
            let mut child = match obj.remove(*first) {
                Some(Json::Object(m)) => m,
                _ => Map::new(),
            };
            set_nested(&mut child, rest, v);
            obj.insert((*first).to_owned(), Json::Object(child));
        }
    }
}

fn project(arg: &Json, input: &Bag) -> Result<Bag, String> {
    let fragments: Vec<&Json> = match arg {
        Json::Array(list) => list.iter().collect(),
        one => vec![one],
    };
    let mut out = Rows::new();
    for (row, w) in rows(input) {
        let mut acc = Map::new();
        for fragment in &fragments {
            let setters = fragment.as_object().ok_or("fragment is not an object")?;
            let mut keys: Vec<&String> = setters.keys().collect();
            keys.sort();
            for key in keys {
                let v = eval(&setters[key], &row, false)
                    .map_err(err)?
                    .to_serde_json();
                if key == "$." {
                    let Json::Object(m) = v else {
                        return Err(format!("\"$.\" gave a non-map {v}"));
                    };
                    acc.extend(m);
                } else {
                    let path: Vec<&str> =
                        key.strip_prefix("$.").unwrap_or(key).split('.').collect();
                    set_nested(&mut acc, &path, v);
                }
            }
        }
        out.push((Json::Object(acc), w));
    }
    Ok(collect(out))
}

fn unwind(arg: &Json, input: &Bag) -> Result<Bag, String> {
    let path: Vec<&str> = arg
        .as_str()
        .and_then(|p| p.strip_prefix("$."))
        .ok_or("unwind path")?
        .split('.')
        .collect();
    let mut out = Rows::new();
    for (row, w) in rows(input) {
        let mut at = Some(&row);
        for seg in &path {
            at = at.and_then(|j| j.get(*seg));
        }
        match at {
            None | Some(Json::Null) => {}
            Some(Json::Array(items)) => {
                for item in items.clone() {
                    let mut copy = row.clone();
                    if let Json::Object(m) = &mut copy {
                        set_nested(m, &path, item);
                    }
                    out.push((copy, w));
                }
            }
            Some(other) => return Err(format!("unwind of a non-list {other}")),
        }
    }
    Ok(collect(out))
}

fn group_by(arg: &Json, input: &Bag) -> Result<Bag, String> {
    let args = arg.as_array().ok_or("groupBy args")?;
    let (key, value) = (&args[0], &args[1]);
    let distinct = args
        .get(2)
        .and_then(|o| o.get("distinct"))
        .and_then(Json::as_bool)
        .unwrap_or(false);
    // canonical key → (key, values, documents)
    let mut groups: BTreeMap<String, (Json, Vec<Json>, Vec<Json>)> = BTreeMap::new();
    for (row, w) in rows(input) {
        let k = eval(key, &row, true).map_err(err)?;
        let v = if value.is_null() {
            row.clone()
        } else {
            eval(value, &row, true).map_err(err)?.to_serde_json()
        };
        let group = groups
            .entry(canonical_json(&k))
            .or_insert_with(|| (k.to_serde_json(), Vec::new(), Vec::new()));
        for _ in 0..w.max(0) {
            group.1.push(v.clone());
            group.2.push(row.clone());
        }
    }
    let dedup = |list: Vec<Json>| -> Vec<Json> {
        if !distinct {
            return list;
        }
        let mut seen = std::collections::BTreeSet::new();
        list.into_iter()
            .filter(|j| seen.insert(canonical_json(&Value::from(j))))
            .collect()
    };
    let mut out = Rows::new();
    for (_, (k, values, docs)) in groups {
        if docs.is_empty() {
            continue;
        }
        let row = serde_json::json!({"key": k, "values": dedup(values), "documents": dedup(docs)});
        out.push((row, 1));
    }
    Ok(collect(out))
}

fn distinct(input: &Bag) -> Bag {
    input
        .iter()
        .filter(|(_, w)| **w > 0)
        .map(|(v, _)| (v.clone(), 1))
        .collect()
}

/// Shallow merge: `r`'s keys win.
fn merge(l: &Json, r: &Json) -> Json {
    let mut m = l.as_object().cloned().unwrap_or_default();
    for (k, v) in r.as_object().into_iter().flatten() {
        m.insert(k.clone(), v.clone());
    }
    Json::Object(m)
}

fn join(arg: &Json, inputs: &[(&str, Bag)]) -> Result<Bag, String> {
    let (pred, options) = match arg {
        Json::Array(a) => (&a[0], a.get(1).cloned().unwrap_or(Json::Null)),
        p => (p, Json::Null),
    };
    let soft: Vec<&str> = options
        .get("soft")
        .and_then(Json::as_array)
        .map(|s| s.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let wrapped = |name: &str, bag: &Bag| -> Rows {
        rows(bag)
            .into_iter()
            .map(|(d, w)| (serde_json::json!({ name: d }), w))
            .collect()
    };
    // The hard inputs' product, by nested loops.
    let mut product: Rows = vec![(Json::Object(Map::new()), 1)];
    let mut hard = 0;
    for (name, bag) in inputs.iter().filter(|(n, _)| !soft.contains(n)) {
        hard += 1;
        let mut next = Rows::new();
        for (l, wl) in &product {
            for (r, wr) in wrapped(name, bag) {
                next.push((merge(l, &r), wl * wr));
            }
        }
        product = next;
    }
    if soft.is_empty() && hard >= 2 {
        let mut kept = Rows::new();
        for (row, w) in product {
            if keep(pred, &row)? {
                kept.push((row, w));
            }
        }
        return Ok(collect(kept));
    }
    // Left-join each soft input: matches, plus each left row padded with `S: null` at
    // weight w − [it has a match].
    let mut left = collect(product);
    for (name, bag) in inputs.iter().filter(|(n, _)| soft.contains(n)) {
        let mut out = Rows::new();
        for (l, wl) in rows(&left) {
            let mut matched = 0;
            for (r, wr) in wrapped(name, bag) {
                let row = merge(&l, &r);
                if keep(pred, &row)? {
                    matched += wl * wr;
                    out.push((row, wl * wr));
                }
            }
            let pad = merge(&l, &serde_json::json!({ *name: null }));
            out.push((pad, wl - i64::from(matched > 0)));
        }
        left = collect(out);
    }
    Ok(left)
}
