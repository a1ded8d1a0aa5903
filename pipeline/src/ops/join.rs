//! `equi_join`: the hash join of two streams on per-participant keys.
//!
//! Each input carries one participant `N` of the `@join`, in one of two forms
//! ([`JoinInput::wrap`]):
//! - *product rows* `{N: doc, …}` (a wrapped participant, or the output of an earlier
//!   site): the key is evaluated on the row's namespace sub-document `row[N]`, and a row
//!   without it never matches;
//! - the participant's *own documents* `doc`: the key is evaluated on `doc`, and the join
//!   puts it under `N` in its output, as the wrapping would have.
//!
//! So `$.spec.x` means that participant's own field either way. A row whose key does not
//! resolve (field-not-found) never matches; other errors abort the step. Matching rows are
//! shallow-merged with weight wₗ·wᵣ: the output row is `{…left, …right}`, with own
//! documents taken as `{N: doc}`. Joining own documents saves the wrapping of every input
//! row, a map allocation per row change, and the join's state holds the documents
//! themselves.
//!
//! Keys are compared by row identity (canonical JSON), after a top-level number (or a
//! number element of a top-level list: a composite key) is widened to a float, so that
//! whenever `@eq` holds between two keys (it compares top-level numbers by value) they also
//! match here. The converse need not hold (`{"a": 1}` and `{"a": 1.0}` match but are not
//! `@eq`), which is why automatically detected joins still check their predicate: inside
//! the join (a [`JoinCheck`], skipped for plain keys) or in a select after it.
//!
//! A composite key (both sides a list of paths, as the automatic key of several `@eq`s is)
//! whose values are all strings is represented as one string rather than a list (see
//! [`composite_text`]): it matches exactly where the lists would, and costs no allocation.

use deltaloop_engine::{CombineFn, JoinSpec, KeyFn, Matched, Operator, ResidualFn};
use serde_json::{Value as Json, json};
use smallvec::SmallVec;

use std::sync::Arc;

use super::{OpErrorKind, Stage, holds, label, merge};
use crate::clock::Clock;
use crate::error::EvalError;
use crate::expr::Expr;
use crate::value::{Object, Str, Text, Value, intern, key_hash, keys_strictly_sorted};

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

/// How one side of an equi-join computes its key from its namespace sub-document.
enum KeyExpr {
    /// The value of one expression, widened ([`join_key`]).
    Whole(Expr),
    /// A composite key: the paths of a list literal, used when *both* sides' keys are such
    /// literals (the automatic keys of several `@eq`s are). The paths are read one by one;
    /// when every value is a string, the key is their [`composite_text`], and no list is
    /// built. Otherwise it is the list of the values, widened, as [`KeyExpr::Whole`] gives
    /// it. Both sides decide the same way, so two keys are equal exactly when the lists
    /// would be: a list of strings only ever equals another list of strings.
    Parts(Vec<Expr>),
}

impl KeyExpr {
    /// The keys of the two sides: [`KeyExpr::Parts`] when both are lists of paths.
    fn pair(left: Expr, right: Expr) -> (KeyExpr, KeyExpr) {
        match (left.path_list_items(), right.path_list_items()) {
            (Some(l), Some(r)) => (KeyExpr::Parts(l), KeyExpr::Parts(r)),
            _ => (KeyExpr::Whole(left), KeyExpr::Whole(right)),
        }
    }

    /// The key of `doc`.
    fn eval(&self, stage: &Stage, doc: &Value) -> Result<Value, EvalError> {
        match self {
            KeyExpr::Whole(key) => stage.eval(key, doc, false).map(join_key),
            KeyExpr::Parts(parts) => {
                if let Some(text) = composite_text_in_place(parts, doc) {
                    return text.map(Value::String);
                }
                let mut values: SmallVec<[Value; 4]> = SmallVec::with_capacity(parts.len());
                for p in parts {
                    values.push(stage.eval(p, doc, false)?);
                }
                Ok(match composite_text(&values) {
                    Some(text) => Value::String(text),
                    None => join_key(Value::list(values.into_vec())),
                })
            }
        }
    }
}

/// The key text of a composite key whose values are all strings: each string's length in
/// decimal, a colon, and the string, in order (`["app-1", "ns"]` is `5:app-12:ns`). The
/// lengths make it injective: the text is read back into exactly one list of strings. Up
/// to 23 bytes it is stored inline. `None` when a value is not a string.
fn composite_text<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<Text> {
    let mut text: SmallVec<[u8; 64]> = SmallVec::new();
    for v in values {
        let Value::String(s) = v else {
            return None;
        };
        push_decimal(&mut text, s.len());
        text.push(b':');
        text.extend_from_slice(s.as_bytes());
    }
    // Always UTF-8: strings, digits and colons.
    std::str::from_utf8(&text).ok().map(Text::new)
}

/// Appends `n` in decimal.
fn push_decimal(text: &mut SmallVec<[u8; 64]>, n: usize) {
    if n >= 10 {
        push_decimal(text, n / 10);
    }
    // A digit: `n % 10 < 10`.
    text.push(b'0' + u8::try_from(n % 10).unwrap_or(0));
}

/// The [`composite_text`] of the values of `parts` on `doc`, read in place when every part
/// is a simple document path (or a constant): the same text, or the same error (the first
/// failing part's), as evaluating the parts, without cloning a value. `None` when a part is
/// not read in place or a value is not a string: the caller then evaluates the parts.
fn composite_text_in_place(parts: &[Expr], doc: &Value) -> Option<Result<Text, EvalError>> {
    let mut values: SmallVec<[&Value; 4]> = SmallVec::with_capacity(parts.len());
    for p in parts {
        match p.read_document_ref(doc)? {
            Ok(v) => values.push(v),
            Err(e) => return Some(Err(e)),
        }
    }
    composite_text(values).map(Ok)
}

/// One input of an [`equi_join`] site.
#[derive(Clone, Debug)]
pub struct JoinInput {
    /// The participant the input carries: its namespace in the joined rows (`Pod` in
    /// `{Pod: …, Service: …}`).
    pub ns: String,
    /// The key, evaluated on the participant's own document.
    pub key: Expr,
    /// `true`: the input's rows are the participant's own documents, which the join puts
    /// under `ns`. `false`: they are product rows `{ns: doc, …}` that hold it there.
    pub wrap: bool,
}

/// The key function of one input: the key of its participant's document (`row[ns]`, or the
/// row itself when `wrap`), `None` where it does not resolve.
fn key_fn(stage: Stage, ns: &str, wrap: bool, key_json: &Json, key: KeyExpr) -> KeyFn<Value> {
    let mut label = json!({"ns": ns, "key": key_json});
    if wrap {
        label["wrap"] = Json::Bool(true);
    }
    // Interned, so that the lookup finds the row's entry by pointer.
    let ns: Str = intern(ns);
    let key_of = move |doc: &Value, row: &Value| match key.eval(&stage, doc) {
        Ok(k) => Ok(Some(k)),
        Err(e) if e.is_field_not_found() => Ok(None),
        Err(e) => Err(stage.error(row, e)),
    };
    if wrap {
        KeyFn::new(label.to_string(), move |row: &Value| key_of(row, row))
    } else {
        KeyFn::new(label.to_string(), move |row: &Value| match row.get(&ns) {
            Some(sub) => key_of(sub, row),
            None => Ok(None),
        })
    }
}

/// The predicate a checked [`equi_join`] keeps pairs by.
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

/// `equi_join`: left rows keyed by `left.key` on participant `left.ns`, right rows by
/// `right.key` on `right.ns`; matching pairs are merged (see the module docs). With a
/// `check`, only the pairs satisfying its predicate are kept, evaluated inside the join
/// (see [`JoinCheck`]): the `@join` of two inputs, without a select after it. `node` names
/// the stage in errors.
#[must_use]
pub fn equi_join(
    node: &str,
    left: JoinInput,
    right: JoinInput,
    check: Option<JoinCheck>,
    clock: &Clock,
) -> Operator<Value> {
    let stage = Stage::new(
        node,
        "@join",
        clock,
        left.key.is_time_variant()
            || right.key.is_time_variant()
            || check
                .as_ref()
                .is_some_and(|c| c.predicate.is_time_variant()),
    );
    let left_json = left.key.to_json();
    let right_json = right.key.to_json();
    let mut wire = json!({
        "type": "equi_join",
        "leftNs": left.ns,
        "rightNs": right.ns,
        "leftKey": left_json,
        "rightKey": right_json,
    });
    // `predicate`, `keyConjuncts`, `wrapLeft` and `wrapRight` are not in the reference's
    // format: they keep the join's semantics on a round trip through `crate::wire`.
    if let Some(obj) = wire.as_object_mut() {
        if let Some(c) = &check {
            obj.insert("predicate".into(), c.predicate.to_json());
            if let Some(n) = c.key_conjuncts {
                obj.insert("keyConjuncts".into(), n.into());
            }
        }
        for (field, wrap) in [("wrapLeft", left.wrap), ("wrapRight", right.wrap)] {
            if wrap {
                obj.insert(field.into(), Json::Bool(true));
            }
        }
    }
    let combine = combiner(&left, &right);
    let (left_key, right_key) = KeyExpr::pair(left.key, right.key);
    let composite = matches!(left_key, KeyExpr::Parts(_));
    let combine_stage = stage.clone();
    let residual = check.map(|check| {
        let stage = stage.clone();
        ResidualFn::new(
            label(&json!({"predicate": check.predicate.to_json()})),
            move |m: Matched<'_, Value>| {
                if check
                    .key_conjuncts
                    .is_some_and(|n| key_is_plain(m.key, n, composite))
                {
                    return Ok(true);
                }
                holds(&stage, &check.predicate, m.row, true)
            },
        )
    });
    Operator::EquiJoin(JoinSpec {
        left_key: key_fn(stage.clone(), &left.ns, left.wrap, &left_json, left_key),
        right_key: key_fn(stage, &right.ns, right.wrap, &right_json, right_key),
        combine: CombineFn::new(label(&wire), move |l: &Value, r: &Value| {
            combine.apply(l, r).map_err(|e| combine_stage.error(l, e))
        }),
        residual,
    })
}

/// How a join site builds its output row from a matching pair (see the module docs).
enum Combiner {
    /// Both inputs are product rows: their shallow merge.
    Merge,
    /// Both inputs are own documents: `{ns: doc}` for both, the keys in map order.
    Pair([(Str, u64); 2], bool),
    /// The left input is product rows, the right own documents: the left row with the
    /// right document under its namespace.
    IntoLeft(Str),
    /// The left input is own documents, the right product rows: `{ns: left}` merged with
    /// the right row.
    OntoRight(Str, u64),
}

fn combiner(left: &JoinInput, right: &JoinInput) -> Combiner {
    let keyed = |ns: &str| {
        let k = intern(ns);
        let h = key_hash(&k);
        (k, h)
    };
    match (left.wrap, right.wrap) {
        (false, false) => Combiner::Merge,
        (true, true) => {
            let (l, r) = (keyed(&left.ns), keyed(&right.ns));
            if keys_strictly_sorted([&l.0, &r.0]) {
                Combiner::Pair([l, r], false)
            } else {
                Combiner::Pair([r, l], true)
            }
        }
        (false, true) => Combiner::IntoLeft(intern(&right.ns)),
        (true, false) => {
            let (k, h) = keyed(&left.ns);
            Combiner::OntoRight(k, h)
        }
    }
}

impl Combiner {
    /// The output row of the pair `(l, r)`.
    fn apply(&self, l: &Value, r: &Value) -> Result<Value, OpErrorKind> {
        match self {
            Combiner::Merge => merge(l, r),
            Combiner::Pair(keys, swapped) => {
                let (first, second) = if *swapped { (r, l) } else { (l, r) };
                // Two distinct participants: the keys are strictly sorted (see `combiner`).
                Ok(Value::Map(Object::from_sorted_keys(
                    keys,
                    [first.clone(), second.clone()],
                )))
            }
            Combiner::IntoLeft(ns) => match l {
                Value::Map(m) => {
                    let mut row = m.clone();
                    row.insert_interned(Arc::clone(ns), r.clone());
                    Ok(Value::Map(row))
                }
                other => merge(other, r),
            },
            Combiner::OntoRight(ns, hash) => {
                merge(&Value::Map(Object::single(ns, *hash, l.clone())), r)
            }
        }
    }
}

/// Whether a join key made of `n` `@eq` conjuncts (a plain value for one, a list of `n`
/// for more) consists of plain values only, for which equal keys imply `@eq`. With
/// `composite` (the keys are [`KeyExpr::Parts`]), a string key for `n ≥ 2` is the
/// [`composite_text`] of strings, which are plain.
fn key_is_plain(key: &Value, n: usize, composite: bool) -> bool {
    match (n, key) {
        (1, k) => is_plain(k),
        (_, Value::String(_)) => composite,
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
        assert!(key_is_plain(&s("a"), 1, false));
        assert!(key_is_plain(
            &Value::list(vec![s("a"), Value::Float(3.0)]),
            2,
            true
        ));
        assert!(!key_is_plain(&Value::list(vec![s("a"), s("b")]), 1, true));
        assert!(!key_is_plain(&Value::list(vec![s("a")]), 2, true));
        assert!(!key_is_plain(&Value::Float(f64::NAN), 1, false));
        assert!(!key_is_plain(
            &Value::Float(9_007_199_254_740_993.0),
            1,
            false
        ));
        assert!(!key_is_plain(&Value::Null, 1, false));
        assert!(!key_is_plain(&Value::map([("a", Value::Int(1))]), 1, false));
        // A string for several conjuncts is plain only as the text of composite parts.
        assert!(key_is_plain(&s("1:a1:b"), 2, true));
        assert!(!key_is_plain(&s("1:a1:b"), 2, false));
    }

    #[test]
    fn composite_text_should_be_short_and_only_for_strings() {
        let s = Value::string;
        let text = composite_text(&[s("app-1"), s("ns")]);
        assert_eq!(text.as_deref(), Some("5:app-12:ns"));
        assert!(text.is_some_and(|t| !t.is_heap_allocated()));
        let long = "x".repeat(120);
        assert_eq!(
            composite_text(&[s(long.as_str()), s("")]).map(|t| t.len()),
            Some(4 + 120 + 2)
        );
        assert_eq!(composite_text(&[s("a"), Value::Int(1)]), None);
        assert_eq!(composite_text(&[Value::Null, s("a")]), None);
    }

    #[test]
    fn composite_keys_should_match_as_their_lists_would() {
        let paths = || Expr::compile_json(r#"["$.a", "$.b"]"#);
        let (Ok(l), Ok(r)) = (paths(), paths()) else {
            panic!("paths");
        };
        let (left, _) = KeyExpr::pair(l, r);
        assert!(matches!(left, KeyExpr::Parts(_)));
        let stage = Stage::new("n", "@join", &Clock::default(), false);
        let key = |doc: &str| {
            let doc = Value::from_json_str(doc).unwrap_or_default();
            left.eval(&stage, &doc)
        };
        let docs = [
            r#"{"a": "x", "b": "y"}"#,
            r#"{"a": "x", "b": "y", "c": 1}"#,
            r#"{"a": "1:x", "b": ""}"#,
            r#"{"a": "", "b": "1:x"}"#,
            r#"{"a": 1, "b": "y"}"#,
            r#"{"a": 1.0, "b": "y"}"#,
            r#"{"a": "1", "b": "y"}"#,
            r#"{"a": ["x"], "b": "y"}"#,
        ];
        let keys: Vec<Value> = docs.iter().map(|d| key(d).unwrap_or_default()).collect();
        // Equal exactly when the widened lists of the values are.
        for (i, a) in docs.iter().enumerate() {
            for (j, b) in docs.iter().enumerate() {
                let list = |d: &str| {
                    let doc = Value::from_json_str(d).unwrap_or_default();
                    let items = ["a", "b"].map(|f| doc.get(f).cloned().unwrap_or_default());
                    join_key(Value::list(items.to_vec()))
                };
                assert_eq!(keys[i] == keys[j], list(a) == list(b), "{a} vs {b}");
            }
        }
        assert!(matches!(keys[0], Value::String(_)));
        assert!(matches!(keys[4], Value::List(_)));
        assert!(key(r#"{"a": "x"}"#).is_err_and(|e| e.is_field_not_found()));
    }

    #[test]
    fn composite_text_read_in_place_should_equal_evaluating_the_parts() {
        let Ok(Some(parts)) =
            Expr::compile_json(r#"["$.a", "$.b.c", "$['d.e']"]"#).map(|e| e.path_list_items())
        else {
            panic!("paths");
        };
        let stage = Stage::new("n", "@join", &Clock::default(), false);
        for doc in [
            r#"{"a": "x", "b": {"c": "y"}, "d.e": "z"}"#,
            r#"{"a": "", "b": {"c": "1:x"}, "d.e": "héllo"}"#,
            r#"{"a": "x", "b": {"c": 1}, "d.e": "z"}"#,
            r#"{"a": null, "b": {"c": "y"}, "d.e": "z"}"#,
            r#"{"a": "x", "b": "c", "d.e": "z"}"#,
            r#"{"a": "x", "b": {}, "d.e": "z"}"#,
            r#"{"b": {"c": "y"}}"#,
            r#"{"a": "x", "b": {"c": "y"}, "d": {"e": "z"}}"#,
        ] {
            let doc = Value::from_json_str(doc).unwrap_or_default();
            let evaluated: Result<Vec<Value>, _> =
                parts.iter().map(|p| stage.eval(p, &doc, false)).collect();
            match (composite_text_in_place(&parts, &doc), evaluated) {
                (Some(Ok(text)), Ok(values)) => {
                    assert_eq!(Some(text), composite_text(&values), "{doc:?}");
                }
                (Some(Err(e)), Err(expected)) => {
                    assert_eq!(e.to_string(), expected.to_string(), "{doc:?}");
                }
                (None, Ok(values)) => assert_eq!(composite_text(&values), None, "{doc:?}"),
                (got, expected) => panic!("{doc:?}: {got:?} against {expected:?}"),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn composite_text_should_tell_every_list_of_strings_apart(
            a in proptest::collection::vec("[a1:]{0,3}", 0..4),
            b in proptest::collection::vec("[a1:]{0,3}", 0..4),
        ) {
            let text = |l: &[String]| {
                composite_text(&l.iter().map(|s| Value::string(s.as_str())).collect::<Vec<_>>())
            };
            proptest::prop_assert_eq!(text(&a) == text(&b), a == b);
        }
    }
}
