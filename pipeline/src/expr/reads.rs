//! What an expression reads and how it can fail, for compile-time rewrites (moving a
//! `@select` conjunct before a `@join`, see `compile/join.rs`).
//!
//! The analysis is deliberately small and conservative: it recognises *total* predicates,
//! whose evaluation ends in a value or in field-not-found and never in any other error,
//! built from constants, simple document paths, `@eq`/`@neq`, `@exists`, and
//! `@and`/`@or`/`@not` over boolean operands. Anything else is "unknown".

use super::{Expr, Form, Node, Op, PathArg};

impl Expr {
    /// The conjuncts of a top-level `@and`, in order; the expression itself otherwise.
    #[must_use]
    pub(crate) fn conjuncts(&self) -> Vec<Expr> {
        match &self.node {
            Node::Call {
                op: Op::And, args, ..
            } => args.iter().map(|n| Expr { node: n.clone() }).collect(),
            _ => vec![self.clone()],
        }
    }

    /// The `@and` of `conjuncts` (a list-form call even for one conjunct, so that a
    /// non-boolean operand stays an `@and` type error, as in the expression it came from).
    #[must_use]
    pub(crate) fn and_of(conjuncts: Vec<Expr>) -> Expr {
        Expr {
            node: Node::Call {
                op: Op::And,
                args: conjuncts.into_iter().map(|e| e.node).collect(),
                form: Form::List,
            },
        }
    }

    /// The one top-level document field (`Pod` in `$.Pod.status.phase`) under which every
    /// path of the expression reads, when the expression is total: its evaluation yields a
    /// value or field-not-found and no other error. With `boolean`, the value must also be a
    /// boolean (as an `@and` operand must be).
    ///
    /// `None` when the expression reads nothing of the document, reads under several
    /// fields, or may fail otherwise (or yield a non-boolean where one is required).
    #[must_use]
    pub(crate) fn total_on_one_field(&self, boolean: bool) -> Option<&str> {
        let mut field = None;
        total(&self.node, boolean, &mut field)
            .then_some(field)
            .flatten()
    }
}

impl Expr {
    /// The expression on the document under its one top-level field: what this total
    /// expression (see [`Expr::total_on_one_field`]) gives on `{F: doc}`, evaluated on
    /// `doc`. Every path `$.F.rest` reads `$.rest`, `$.F` itself is the whole document, and
    /// `@exists` of `$.F` is `true`. Field-not-found stays field-not-found (the path below
    /// `F` finds nothing exactly where the full path does), and nothing else can fail.
    ///
    /// `None` when the expression is not made only of what [`Expr::total_on_one_field`]
    /// accepts.
    #[must_use]
    pub(crate) fn below_top_field(&self) -> Option<Expr> {
        below(&self.node).map(|node| Expr { node })
    }
}

/// [`Expr::below_top_field`] of a node.
fn below(node: &Node) -> Option<Node> {
    Some(match node {
        Node::Const(_) | Node::Literal(_) => node.clone(),
        Node::GetField(PathArg::Const(p)) => {
            p.simple_top_field()?;
            match p.below_top_field() {
                Some(rest) => Node::GetField(PathArg::Const(rest)),
                None => Node::Call {
                    op: Op::Copy,
                    args: Vec::new(),
                    form: Form::Nullary,
                },
            }
        }
        Node::Exists(PathArg::Const(p)) => {
            p.simple_top_field()?;
            match p.below_top_field() {
                Some(rest) => Node::Exists(PathArg::Const(rest)),
                None => Node::Const(crate::value::Value::Bool(true)),
            }
        }
        Node::Call { op, args, form } => match op {
            Op::Eq | Op::Neq | Op::And | Op::Or | Op::Not => Node::Call {
                op: *op,
                args: args.iter().map(below).collect::<Option<Vec<_>>>()?,
                form: *form,
            },
            _ => return None,
        },
        _ => return None,
    })
}

/// Whether `node` is total (see [`Expr::total_on_one_field`]), every path it reads lying
/// under the same top-level field, which is recorded in `field`.
fn total<'n>(node: &'n Node, boolean: bool, field: &mut Option<&'n str>) -> bool {
    match node {
        Node::Const(v) | Node::Literal(v) => !boolean || v.as_bool().is_some(),
        Node::GetField(PathArg::Const(p)) => !boolean && reads_under(p.simple_top_field(), field),
        Node::Exists(PathArg::Const(p)) => reads_under(p.simple_top_field(), field),
        Node::Call { op, args, .. } => match op {
            Op::Eq | Op::Neq => args.len() == 2 && args.iter().all(|a| total(a, false, field)),
            Op::And | Op::Or => args.iter().all(|a| total(a, true, field)),
            Op::Not => args.len() == 1 && args.iter().all(|a| total(a, true, field)),
            _ => false,
        },
        _ => false,
    }
}

/// Records that a path reads under `top`; false when it has no such field or it differs
/// from the one recorded.
fn reads_under<'n>(top: Option<&'n str>, field: &mut Option<&'n str>) -> bool {
    match (top, *field) {
        (None, _) => false,
        (Some(t), None) => {
            *field = Some(t);
            true
        }
        (Some(t), Some(f)) => t == f,
    }
}
