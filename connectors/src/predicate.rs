//! Event predicates: which modifications of a watched object reach the pipeline.
//!
//! The manifest shapes (spec §e.1): a basic predicate is a string — `GenerationChanged`,
//! `ResourceVersionChanged`, `LabelChanged`, `AnnotationChanged` — and the combinators are
//! `{And: [p, …]}`, `{Or: [p, …]}` and `{Not: p}`. A list `[p, …]` is read as `And`.
//!
//! As in controller-runtime, predicates filter **modifications** only: additions, deletions
//! and modifications of an object the source has not seen before always pass.

use deltaloop_pipeline::Value;
use serde_json::Value as Json;

/// A predicate over a modification `(old, new)` of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicate {
    /// `metadata.generation` changed (spec changes; status-only updates are filtered out).
    GenerationChanged,
    /// `metadata.resourceVersion` changed (any real write).
    ResourceVersionChanged,
    /// `metadata.labels` changed.
    LabelChanged,
    /// `metadata.annotations` changed.
    AnnotationChanged,
    /// Every predicate passes (an empty list passes).
    And(Vec<Predicate>),
    /// Some predicate passes (an empty list fails).
    Or(Vec<Predicate>),
    /// The predicate fails.
    Not(Box<Predicate>),
}

/// A predicate in the manifest did not have one of the accepted shapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("predicate{at}: {message}")]
pub struct PredicateError {
    /// Where inside the predicate (`.And[1]`), empty at the top.
    pub at: String,
    /// What was wrong.
    pub message: String,
}

fn meta<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    v.get("metadata").and_then(|m| m.get(field))
}

impl Predicate {
    /// Parses the manifest shape (see the module documentation).
    ///
    /// # Errors
    /// [`PredicateError`] naming the offending position.
    pub fn from_json(json: &Json) -> Result<Predicate, PredicateError> {
        Self::parse(json, String::new())
    }

    fn parse(json: &Json, at: String) -> Result<Predicate, PredicateError> {
        let err = |at: String, message: String| PredicateError { at, message };
        match json {
            Json::String(s) => match s.as_str() {
                "GenerationChanged" => Ok(Predicate::GenerationChanged),
                "ResourceVersionChanged" => Ok(Predicate::ResourceVersionChanged),
                "LabelChanged" => Ok(Predicate::LabelChanged),
                "AnnotationChanged" => Ok(Predicate::AnnotationChanged),
                other => Err(err(
                    at,
                    format!(
                        "unknown predicate {other:?} (expected GenerationChanged, \
                         ResourceVersionChanged, LabelChanged or AnnotationChanged)"
                    ),
                )),
            },
            Json::Array(list) => Ok(Predicate::And(Self::parse_list(list, &at)?)),
            Json::Object(map) if map.len() == 1 => {
                let Some((op, arg)) = map.iter().next() else {
                    return Err(err(at, "empty predicate object".into()));
                };
                let inner = format!("{at}.{op}");
                match op.as_str() {
                    "And" | "Or" => {
                        let Json::Array(list) = arg else {
                            return Err(err(inner, "expected a list of predicates".into()));
                        };
                        let list = Self::parse_list(list, &inner)?;
                        Ok(if op == "And" {
                            Predicate::And(list)
                        } else {
                            Predicate::Or(list)
                        })
                    }
                    "Not" => {
                        let arg = match arg {
                            Json::Array(list) if list.len() == 1 => &list[0],
                            other => other,
                        };
                        Ok(Predicate::Not(Box::new(Self::parse(arg, inner)?)))
                    }
                    other => Err(err(
                        at,
                        format!("unknown combinator {other:?} (expected And, Or or Not)"),
                    )),
                }
            }
            other => Err(err(
                at,
                format!("expected a predicate name, a list or {{And|Or|Not: …}}, got {other}"),
            )),
        }
    }

    fn parse_list(list: &[Json], at: &str) -> Result<Vec<Predicate>, PredicateError> {
        list.iter()
            .enumerate()
            .map(|(i, p)| Self::parse(p, format!("{at}[{i}]")))
            .collect()
    }

    /// Whether the modification `old → new` passes.
    #[must_use]
    pub fn allows(&self, old: &Value, new: &Value) -> bool {
        let changed = |field: &str| meta(old, field) != meta(new, field);
        match self {
            Predicate::GenerationChanged => changed("generation"),
            Predicate::ResourceVersionChanged => changed("resourceVersion"),
            Predicate::LabelChanged => changed("labels"),
            Predicate::AnnotationChanged => changed("annotations"),
            Predicate::And(ps) => ps.iter().all(|p| p.allows(old, new)),
            Predicate::Or(ps) => ps.iter().any(|p| p.allows(old, new)),
            Predicate::Not(p) => !p.allows(old, new),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Predicate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        Predicate::from_json(&json).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(gen_: i64, rv: &str, labels: Json) -> Value {
        Value::from(
            &json!({"metadata": {"name": "a", "generation": gen_, "resourceVersion": rv, "labels": labels}}),
        )
    }

    #[test]
    fn basic_predicates_compare_their_field() {
        let a = obj(1, "10", json!({"x": "1"}));
        let status_only = obj(1, "11", json!({"x": "1"}));
        let relabel = obj(1, "12", json!({"x": "2"}));
        let spec = obj(2, "13", json!({"x": "1"}));
        assert!(!Predicate::GenerationChanged.allows(&a, &status_only));
        assert!(Predicate::GenerationChanged.allows(&a, &spec));
        assert!(Predicate::ResourceVersionChanged.allows(&a, &status_only));
        assert!(Predicate::LabelChanged.allows(&a, &relabel));
        assert!(!Predicate::LabelChanged.allows(&a, &spec));
        assert!(!Predicate::AnnotationChanged.allows(&a, &relabel));
    }

    #[test]
    fn combinators_parse_and_evaluate() {
        let p = Predicate::from_json(
            &json!({"Or": ["GenerationChanged", {"Not": "ResourceVersionChanged"}]}),
        )
        .unwrap();
        assert_eq!(
            p,
            Predicate::Or(vec![
                Predicate::GenerationChanged,
                Predicate::Not(Box::new(Predicate::ResourceVersionChanged))
            ])
        );
        let a = obj(1, "10", json!({}));
        assert!(p.allows(&a, &a));
        assert!(!p.allows(&a, &obj(1, "11", json!({}))));
        let and: Predicate =
            serde_json::from_value(json!(["GenerationChanged", "LabelChanged"])).unwrap();
        assert!(!and.allows(&a, &obj(2, "11", json!({}))));
    }

    #[test]
    fn bad_shapes_name_their_position() {
        let e = Predicate::from_json(&json!({"And": ["GenerationChanged", "Bogus"]})).unwrap_err();
        assert_eq!(e.at, ".And[1]");
        assert!(e.to_string().contains("Bogus"));
        assert!(Predicate::from_json(&json!({"Xor": []})).is_err());
        assert!(Predicate::from_json(&json!(3)).is_err());
    }
}
