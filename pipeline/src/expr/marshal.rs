//! Expression → JSON surface form (spec §b.4 "JSON marshal").
//!
//! The output is the natural surface form; compiling it again yields an equivalent
//! expression, and marshaling that gives the same JSON (round trips are stable). Strings
//! that would read as paths are escaped through `@literal`, and a dict whose only key
//! starts with `@` through `@dict`.

use serde_json::{Map, Value as Json, json};

use super::parse::is_path_shorthand;
use super::{Form, Node, Op, PathArg};
use crate::value::Value;

fn is_operator_json(j: &Json) -> bool {
    matches!(j, Json::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with('@')))
}

fn op_json(name: &str, args: Json) -> Json {
    let mut m = Map::new();
    m.insert(name.to_owned(), args);
    Json::Object(m)
}

fn const_json(v: &Value) -> Json {
    match v {
        Value::String(s) if is_path_shorthand(s) || &**s == "$." || &**s == "$$." => {
            json!({"@literal": &**s})
        }
        other => other.to_serde_json(),
    }
}

/// The bare-or-wrapped operand of a unary operator, chosen so that it parses back to the
/// same operand.
fn unary_arg(op: Op, n: &Node) -> Json {
    let j = n.to_json();
    if matches!(op, Op::Bool | Op::Int | Op::Float | Op::String) || is_operator_json(&j) {
        return j;
    }
    match (n, &j) {
        (_, Json::String(_)) | (Node::Dict(_), _) => j,
        (Node::Const(Value::Float(_) | Value::Bool(_) | Value::Null), _) => j,
        _ => Json::Array(vec![j]),
    }
}

/// A path operand: constant paths are their text, computed ones must not read as text.
fn path_arg(p: &PathArg) -> Json {
    match p {
        PathArg::Const(path) => Json::String(path.as_str().to_owned()),
        PathArg::Computed(n) => {
            let j = n.to_json();
            match (n.as_ref(), &j) {
                (_, j) if is_operator_json(j) => j.clone(),
                (
                    Node::Const(Value::Float(_) | Value::Bool(_) | Value::Null | Value::Int(_)),
                    _,
                ) => j,
                _ => Json::Array(vec![j]),
            }
        }
    }
}

impl Node {
    pub(crate) fn to_json(&self) -> Json {
        match self {
            Node::Const(v) => const_json(v),
            Node::Literal(v) => json!({"@literal": v.to_serde_json()}),
            Node::List(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Node::Dict(entries) => {
                let obj: Map<String, Json> = entries
                    .iter()
                    .map(|(k, n)| (k.to_string(), n.to_json()))
                    .collect();
                let j = Json::Object(obj);
                if is_operator_json(&j) {
                    op_json("@dict", j)
                } else {
                    j
                }
            }
            Node::Call { op, args, form } => match form {
                Form::Nullary => op_json(op.name(), Json::Null),
                Form::Unary => op_json(
                    op.name(),
                    args.first().map_or(Json::Null, |a| unary_arg(*op, a)),
                ),
                Form::List => op_json(
                    op.name(),
                    Json::Array(args.iter().map(Node::to_json).collect()),
                ),
            },
            Node::GetField(PathArg::Const(path)) if is_path_shorthand(path.as_str()) => {
                Json::String(path.as_str().to_owned())
            }
            Node::GetField(p) => op_json("@getField", path_arg(p)),
            Node::Exists(p) => op_json("@exists", path_arg(p)),
            Node::SetField(p, v) => {
                let target = match p {
                    PathArg::Const(path) => Json::String(path.as_str().to_owned()),
                    PathArg::Computed(n) => match n.to_json() {
                        Json::String(s) => op_json("@string", Json::String(s)),
                        other => other,
                    },
                };
                op_json("@setField", Json::Array(vec![target, v.to_json()]))
            }
            Node::Regexp {
                pattern, subject, ..
            } => op_json(
                "@regexp",
                Json::Array(vec![pattern.to_json(), subject.to_json()]),
            ),
            Node::Callback { name, args, .. } => {
                op_json(name, Json::Array(args.iter().map(Node::to_json).collect()))
            }
        }
    }
}
