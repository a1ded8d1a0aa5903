//! `@project`: building a new document from sequential fragments of setters.
//!
//! A projection is one fragment (an object) or a list of fragments. The result starts as
//! `{}`; the fragments apply in order, and within a fragment the keys apply in sorted
//! order. Every value is an expression evaluated on the *input* document (a nested object
//! is an implicit `@dict`, whose keys are literal).
//!
//! - Key `"$."`: the value must be a map; its top-level keys are shallow-merged into the
//!   result. `"$."` sorts before letters, so in `{"$.": "$.", "z": 1}` the copy comes first.
//! - Any other key: a leading `$.` is stripped and the rest split on `.`; the value is set
//!   at that nested position, creating maps (and replacing non-map intermediates) on the
//!   way. `null` is kept. Only these top-level keys are split.
//!
//! Evaluation errors, field-not-found included, abort the step (`@definedOr` defaults).

use std::sync::Arc;

use deltaloop_engine::{MapFn, Operator, UserError};
use serde_json::{Value as Json, json};

use super::{OpErrorKind, Stage, found, label};
use crate::clock::Clock;
use crate::error::{CompileError, EvalError};
use crate::expr::{Expr, Registry};
use crate::value::{Entries, Object, ObjectBuilder, Str, Value, intern};

/// Where a projection key writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectKey {
    /// `"$."`: merge the value's top-level keys into the result.
    Merge,
    /// A nested position: the key with `$.` stripped, split on `.` (each segment an
    /// interned map key).
    Path(Vec<Str>),
}

impl ProjectKey {
    /// Parses a top-level fragment key.
    #[must_use]
    pub fn parse(key: &str) -> ProjectKey {
        if key == "$." {
            return ProjectKey::Merge;
        }
        let rest = key.strip_prefix("$.").unwrap_or(key);
        ProjectKey::Path(rest.split('.').map(intern).collect())
    }

    /// The single top-level key this setter writes, if it writes one (no `.` nesting).
    fn flat(&self) -> Option<&Str> {
        match self {
            ProjectKey::Path(segments) => match segments.as_slice() {
                [one] => Some(one),
                _ => None,
            },
            ProjectKey::Merge => None,
        }
    }
}

/// A projection that failed to compile; `at` is the position inside the projection, e.g.
/// `[1]["$.x"]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// A fragment is not an object.
    #[error("{at}: expected an object of setters (or a list of them), found {found}")]
    Shape {
        /// Where.
        at: String,
        /// What was found instead.
        found: String,
    },
    /// A setter's expression does not compile.
    #[error("{at}: {source}")]
    Expression {
        /// Where.
        at: String,
        /// The expression error (with its own location inside the expression).
        source: Box<CompileError>,
    },
}

/// A compiled `@project` argument.
#[derive(Clone, Debug)]
pub struct Projection {
    fragments: Vec<Vec<(ProjectKey, Expr)>>,
    source: Value,
    /// Whether the projection is one fragment of top-level keys in strictly increasing
    /// order (the common shape): then the result's entries come out sorted and are
    /// built in one go instead of by one insertion per setter.
    flat: bool,
}

impl Projection {
    /// Compiles a projection: an object of `key: expression` setters, or a list of them.
    ///
    /// ```
    /// use deltaloop_pipeline::{ops::Projection, Registry, Value};
    /// let p = Projection::compile(&Value::from_json_str(r#"{"$.": "$.", "$.metadata.name": "x"}"#)?, &Registry::new())?;
    /// let doc = Value::from_json_str(r#"{"metadata": {"name": "a", "namespace": "b"}}"#)?;
    /// assert_eq!(p.apply_plain(&doc)?, Value::from_json_str(r#"{"metadata": {"name": "x", "namespace": "b"}}"#)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ProjectionError`] naming the fragment and key.
    pub fn compile(source: &Value, registry: &Registry) -> Result<Projection, ProjectionError> {
        let (list, indexed) = match source {
            Value::List(l) => (l.as_slice(), true),
            one => (std::slice::from_ref(one), false),
        };
        let mut fragments = Vec::with_capacity(list.len());
        for (i, frag) in list.iter().enumerate() {
            let at = if indexed {
                format!("[{i}]")
            } else {
                String::new()
            };
            let Value::Map(m) = frag else {
                return Err(ProjectionError::Shape {
                    at,
                    found: found(frag),
                });
            };
            // `Object` keeps its keys sorted: the application order.
            let mut setters = Vec::with_capacity(m.len());
            for (key, value) in m.iter() {
                let expr = Expr::compile_value_with(value, registry).map_err(|source| {
                    ProjectionError::Expression {
                        at: format!("{at}[{}]", Json::String(key.to_string())),
                        source: Box::new(source),
                    }
                })?;
                setters.push((ProjectKey::parse(key), expr));
            }
            fragments.push(setters);
        }
        let flat = match fragments.as_slice() {
            [one] => {
                let keys: Option<Vec<&Str>> = one.iter().map(|(k, _)| k.flat()).collect();
                keys.is_some_and(|keys| keys.windows(2).all(|w| matches!(w, [a, b] if a < b)))
            }
            _ => false,
        };
        Ok(Projection {
            fragments,
            source: source.clone(),
            flat,
        })
    }

    /// The projection's source form.
    #[must_use]
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// The setters of a flat projection (one fragment of top-level keys, no `"$."`), in
    /// application order, which is the keys' order; `None` for any other projection.
    pub(crate) fn flat_setters(&self) -> Option<Vec<(&Str, &Expr)>> {
        match self.fragments.as_slice() {
            [fragment] if self.flat => fragment.iter().map(|(k, e)| Some((k.flat()?, e))).collect(),
            _ => None,
        }
    }

    /// Whether any setter reads the clock.
    #[must_use]
    pub fn is_time_variant(&self) -> bool {
        self.fragments
            .iter()
            .flatten()
            .any(|(_, e)| e.is_time_variant())
    }

    /// Applies the projection to `doc`, evaluating each setter with `eval`.
    ///
    /// # Errors
    /// The first evaluation error, or a `"$."` value that is not a map.
    pub fn apply(
        &self,
        doc: &Value,
        eval: impl Fn(&Expr, &Value) -> Result<Value, EvalError>,
    ) -> Result<Value, OpErrorKind> {
        if self.flat
            && let [fragment] = self.fragments.as_slice()
        {
            let mut entries = Entries::with_capacity(fragment.len());
            for (key, expr) in fragment {
                if let Some(k) = key.flat() {
                    entries.push((Arc::clone(k), eval(expr, doc)?));
                }
            }
            return Ok(Value::Map(Object::from_interned_entries(entries)));
        }
        let mut acc = ObjectBuilder::default();
        for fragment in &self.fragments {
            for (key, expr) in fragment {
                let v = eval(expr, doc)?;
                match key {
                    ProjectKey::Merge => match v {
                        Value::Map(m) if acc.is_empty() => acc = ObjectBuilder::from_object(&m),
                        Value::Map(m) => {
                            for (k, val) in m.iter() {
                                acc.insert_interned(Arc::clone(k), val.clone());
                            }
                        }
                        other => {
                            return Err(OpErrorKind::Type {
                                what: format!("\"$.\": {expr}"),
                                expected: "a map",
                                found: found(&other),
                            });
                        }
                    },
                    ProjectKey::Path(segments) => set_nested(&mut acc, segments, v),
                }
            }
        }
        Ok(Value::Map(acc.build()))
    }

    /// Applies the projection with a plain context (no frozen clock).
    ///
    /// # Errors
    /// As [`apply`](Self::apply).
    pub fn apply_plain(&self, doc: &Value) -> Result<Value, OpErrorKind> {
        let stage = Stage::new("", "@project", &Clock::new(), false);
        self.apply(doc, |e, d| stage.eval(e, d, false))
    }
}

/// Sets `v` at the nested position `segments` of `obj`, creating or replacing
/// intermediate maps.
pub(crate) fn set_nested(obj: &mut ObjectBuilder, segments: &[Str], v: Value) {
    match segments {
        [] => {}
        [last] => {
            obj.insert_interned(Arc::clone(last), v);
        }
        [first, rest @ ..] => {
            let mut child = match obj.remove(first) {
                Some(Value::Map(m)) => ObjectBuilder::from_object(&m),
                _ => ObjectBuilder::default(),
            };
            set_nested(&mut child, rest, v);
            obj.insert_interned(Arc::clone(first), Value::Map(child.build()));
        }
    }
}

/// `project` with the `@project` stage semantics (see the module docs). The result is
/// always a document; rows that collide add their weights. `node` names the stage in
/// errors.
#[must_use]
pub fn project(node: &str, projection: Projection, clock: &Clock) -> Operator<Value> {
    let wire = json!({
        "type": "project",
        "projection": projection.source().to_serde_json(),
        "fragments": true,
    });
    let apply = projector(node, projection, clock);
    Operator::Map(MapFn::new(label(&wire), move |doc: &Value| {
        apply(doc).map(Some)
    }))
}

/// The row function of the `@project` stage `node`: what [`project`] maps every row with
/// (errors name the stage and quote the row).
pub(crate) fn projector(
    node: &str,
    projection: Projection,
    clock: &Clock,
) -> impl Fn(&Value) -> Result<Value, UserError> + Send + Sync + 'static {
    let stage = Stage::new(node, "@project", clock, projection.is_time_variant());
    move |doc: &Value| {
        projection
            .apply(doc, |e, d| stage.eval(e, d, false))
            .map_err(|e| stage.error(doc, e))
    }
}

/// One step into a value: a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The entry of a map.
    Key(Str),
    /// The item of a list.
    Index(usize),
}

impl Projection {
    /// Where every output of the projection holds the input's `$.<field>` unchanged: the
    /// steps from the output's root, when the projection is one fragment that puts the path
    /// `"$.<field>"` at a literal position (through implicit `@dict`s and list literals, not
    /// through an operator or a `"$."` merge).
    ///
    /// A hint, not a proof: a later setter may still overwrite the position, so a reader
    /// must check what it finds there.
    pub(crate) fn position_of(&self, field: &str) -> Option<Vec<Step>> {
        fn find(v: &Value, target: &str, at: &mut Vec<Step>) -> bool {
            // Steps into `x`; on a miss, steps back out.
            let mut within = |step: Step, x: &Value| {
                at.push(step);
                find(x, target, at) || {
                    at.pop();
                    false
                }
            };
            match v {
                Value::String(s) => &**s == target,
                Value::List(items) => items
                    .iter()
                    .enumerate()
                    .any(|(i, x)| within(Step::Index(i), x)),
                Value::Map(m) if !m.keys().any(|k| k.starts_with('@')) => {
                    m.iter().any(|(k, x)| within(Step::Key(Arc::clone(k)), x))
                }
                _ => false,
            }
        }
        let target = format!("$.{field}");
        let [fragment] = self.fragments.as_slice() else {
            return None;
        };
        let Value::Map(source) = &self.source else {
            return None;
        };
        for ((key, _), (_, value)) in fragment.iter().zip(source.iter()) {
            let ProjectKey::Path(segments) = key else {
                continue;
            };
            let mut at: Vec<Step> = segments.iter().map(|k| Step::Key(Arc::clone(k))).collect();
            if find(value, &target, &mut at) {
                return Some(at);
            }
        }
        None
    }
}

/// The value at `steps` inside `v`, if there is one.
pub(crate) fn value_at<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.as_list().and_then(|l| l.get(*i)),
    })
}

/// The raw wire `project{projection}`: evaluates `expr` per row. A map result becomes the
/// new document with each top-level key treated as a path (`a.b` nests); `null` drops the
/// row; any other result aborts the step.
#[must_use]
pub fn project_expr(node: &str, expr: Expr, clock: &Clock) -> Operator<Value> {
    let stage = Stage::new(node, "project", clock, expr.is_time_variant());
    let wire = json!({"type": "project", "projection": expr.to_json()});
    Operator::Map(MapFn::new(label(&wire), move |doc: &Value| {
        match stage.eval(&expr, doc, false) {
            Ok(Value::Null) => Ok(None),
            Ok(Value::Map(m)) => {
                let mut out = ObjectBuilder::default();
                for (k, v) in m.iter() {
                    if !k.contains('.') {
                        // A plain key: the map's own (interned) key, no parsing.
                        out.insert_interned(Arc::clone(k), v.clone());
                    } else if let ProjectKey::Path(segments) = ProjectKey::parse(k) {
                        set_nested(&mut out, &segments, v.clone());
                    }
                }
                Ok(Some(Value::Map(out.build())))
            }
            Ok(other) => Err(stage.error(
                doc,
                OpErrorKind::Type {
                    what: expr.to_string(),
                    expected: "a map or null",
                    found: found(&other),
                },
            )),
            Err(e) => Err(stage.error(doc, e)),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(source: serde_json::Value, field: &str) -> Option<Vec<Step>> {
        let registry = Registry::default();
        Projection::compile(&Value::from(&source), &registry)
            .ok()?
            .position_of(field)
    }

    #[test]
    fn position_of_should_follow_literal_dicts_and_lists_only() {
        let key = |k: &str| Step::Key(intern(k));
        assert_eq!(
            position(
                json!({"kind": "E", "subsets": [{"addresses": "$.values"}]}),
                "values"
            ),
            Some(vec![key("subsets"), Step::Index(0), key("addresses")])
        );
        assert_eq!(
            position(json!({"a.b": "$.values"}), "values"),
            Some(vec![key("a"), key("b")])
        );
        // Through an operator, a merge, or several fragments: unknown.
        assert_eq!(position(json!({"n": {"@len": "$.values"}}), "values"), None);
        assert_eq!(position(json!({"$.": "$.values"}), "values"), None);
        assert_eq!(
            position(json!([{"a": "$.values"}, {"b": 1}]), "values"),
            None
        );
        assert_eq!(position(json!({"a": "$.values"}), "documents"), None);
    }

    #[test]
    fn value_at_should_read_keys_and_indexes() {
        let v = Value::from(&json!({"s": [{"a": 1}, {"a": 2}]}));
        let at = [
            Step::Key(intern("s")),
            Step::Index(1),
            Step::Key(intern("a")),
        ];
        assert_eq!(value_at(&v, &at), Some(&Value::Int(2)));
        assert_eq!(value_at(&v, &at[..1]).map(Value::type_name), Some("list"));
        assert_eq!(value_at(&v, &[Step::Index(0)]), None);
    }
}
