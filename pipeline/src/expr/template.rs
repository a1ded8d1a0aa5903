//! [`Template`]: an expression that only arranges top-level fields of its document into
//! literal lists and maps, compiled into a form that is filled in from the fields' values.
//!
//! A `@groupBy` right after a flat `@project` (see `ops::group_by_projected`) never builds
//! the projected document: its key and value expressions are such arrangements of the
//! projected fields (`{name: "$.service", namespace: "$.namespace"}`), so it evaluates the
//! projection's setters and fills the templates in with what they return. Likewise a flat
//! `@project` run inside the `@groupBy` before it (`{metadata: "$.key", subsets:
//! [{addresses: "$.values"}]}`) is filled in from the group's key and lists, without the
//! `{key, values}` row. Filling in builds exactly what evaluating the expression on the
//! document builds.

use std::sync::Arc;

use super::{Expr, Node, PathArg};
use crate::value::{Object, Str, Value, key_hash, keys_strictly_sorted};

/// An expression made only of constants, list and map literals, and reads of whole
/// top-level document fields (`"$.field"`), each field replaced by its index in a list of
/// field names.
#[derive(Clone, Debug)]
pub(crate) enum Template {
    /// A constant (or `@literal`).
    Const(Value),
    /// The value of field number `.0`.
    Field(usize),
    /// A list literal.
    List(Vec<Template>),
    /// A map literal; its keys interned and strictly increasing (as the compiled expression
    /// keeps them), each with its hash.
    Dict(Vec<(Str, u64)>, Vec<Template>),
}

impl Template {
    /// The template of `expr` over the top-level fields `fields`, or `None` when `expr` reads
    /// its document any other way (a deeper path, `$` or `$$`, a field not in `fields`) or
    /// computes anything (any operator).
    pub(crate) fn of(expr: &Expr, fields: &[Str]) -> Option<Template> {
        Template::of_node(&expr.node, fields)
    }

    /// The template of a map literal with `entries`, or `None` when their keys are not
    /// strictly increasing (as the keys of a map literal or a flat `@project` are).
    pub(crate) fn dict(entries: Vec<(Str, Template)>) -> Option<Template> {
        if !keys_strictly_sorted(entries.iter().map(|(k, _)| k)) {
            return None;
        }
        let (keys, templates) = entries
            .into_iter()
            .map(|(k, t)| {
                let h = key_hash(&k);
                ((k, h), t)
            })
            .unzip();
        Some(Template::Dict(keys, templates))
    }

    fn of_node(node: &Node, fields: &[Str]) -> Option<Template> {
        Some(match node {
            Node::Const(v) | Node::Literal(v) => Template::Const(v.clone()),
            Node::List(items) => Template::List(
                items
                    .iter()
                    .map(|n| Template::of_node(n, fields))
                    .collect::<Option<_>>()?,
            ),
            Node::Dict(entries) => {
                if !keys_strictly_sorted(entries.iter().map(|(k, _)| k)) {
                    return None;
                }
                Template::Dict(
                    entries
                        .iter()
                        .map(|(k, _)| (Arc::clone(k), key_hash(k)))
                        .collect(),
                    entries
                        .iter()
                        .map(|(_, n)| Template::of_node(n, fields))
                        .collect::<Option<_>>()?,
                )
            }
            Node::GetField(PathArg::Const(path)) => {
                let field = path.single_field()?;
                Template::Field(fields.iter().position(|f| &**f == field)?)
            }
            _ => return None,
        })
    }

    /// Marks in `used` the fields the template reads.
    pub(crate) fn mark_fields(&self, used: &mut [bool]) {
        match self {
            Template::Const(_) => {}
            Template::Field(i) => {
                if let Some(u) = used.get_mut(*i) {
                    *u = true;
                }
            }
            Template::List(items) => items.iter().for_each(|t| t.mark_fields(used)),
            Template::Dict(_, values) => values.iter().for_each(|t| t.mark_fields(used)),
        }
    }

    /// The value with the fields' values `values` filled in: what the expression evaluates
    /// to on a document whose field number i is `values[i]`. A field index out of range (a
    /// template filled in with fewer values than it was made for) gives `null`.
    pub(crate) fn fill(&self, values: &[Value]) -> Value {
        match self {
            Template::Const(v) => v.clone(),
            Template::Field(i) => values.get(*i).cloned().unwrap_or_default(),
            Template::List(items) => Value::list(items.iter().map(|t| t.fill(values)).collect()),
            Template::Dict(keys, templates) => Value::Map(Object::from_sorted_keys(
                keys,
                templates.iter().map(|t| t.fill(values)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{EvalContext, Expr};
    use crate::value::intern;

    fn fields() -> Vec<Str> {
        ["ip", "namespace", "node", "service"].map(intern).to_vec()
    }

    #[test]
    fn a_filled_template_should_equal_the_expression_on_the_document() {
        let doc = Value::from_json_str(
            r#"{"ip": "10.0.0.1", "namespace": "ns", "node": null, "service": {"a": [1, 2]}}"#,
        )
        .unwrap_or_default();
        let values: Vec<Value> = fields()
            .iter()
            .map(|f| doc.get(f).cloned().unwrap_or_default())
            .collect();
        for source in [
            r#"{"name": "$.service", "namespace": "$.namespace"}"#,
            r#"{"ip": "$.ip", "nodeName": "$.node", "k": 3, "l": ["$.ip", {"@literal": "$.x"}]}"#,
            r#""$.ip""#,
            r#"["$.service", "$.service", null]"#,
        ] {
            let expr = Expr::compile_json(source).unwrap_or_else(|e| panic!("{source}: {e}"));
            let template = Template::of(&expr, &fields()).unwrap_or_else(|| panic!("{source}"));
            let expected = expr
                .eval(&EvalContext::new().with_document(&doc))
                .unwrap_or_default();
            assert_eq!(template.fill(&values), expected, "{source}");
            assert_eq!(
                template.fill(&values).hash64(),
                expected.hash64(),
                "{source}"
            );
        }
    }

    #[test]
    fn anything_but_whole_field_reads_and_literals_should_have_no_template() {
        for source in [
            r#""$.service.name""#,
            r#""$$.ip""#,
            r#"{"@eq": ["$.ip", "x"]}"#,
            r#""$.other""#,
            r#"{"@concat": ["$.ip", "x"]}"#,
            r#"{"a": {"@getField": {"@concat": ["$.", "ip"]}}}"#,
            r#"{"@exists": "$.ip"}"#,
        ] {
            let expr = Expr::compile_json(source).unwrap_or_else(|e| panic!("{source}: {e}"));
            assert!(Template::of(&expr, &fields()).is_none(), "{source}");
        }
    }

    #[test]
    fn mark_fields_should_mark_exactly_the_fields_read() {
        let expr = Expr::compile_json(r#"{"a": "$.node", "b": ["$.ip", 1]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let template = Template::of(&expr, &fields()).unwrap_or_else(|| panic!("no template"));
        let mut used = [false; 4];
        template.mark_fields(&mut used);
        assert_eq!(used, [true, false, true, false]);
    }
}
