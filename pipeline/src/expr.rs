//! The `@`-expression language: compile once, evaluate many times.
//!
//! An expression is written in a JSON surface syntax (see the crate docs and the spec,
//! §b.4): `null`, booleans, numbers and strings are literals, `"$.a.b"` reads a document
//! field, `"$$.x"` a subject field, lists are lists, and a map with exactly one
//! `@`-prefixed key is an operator call such as `{"@add": [1, "$.x"]}`.
//!
//! [`Expr::compile`] parses that syntax once into a tree (paths are parsed, constant regular
//! expressions compiled); [`Expr::eval`] evaluates it against an [`EvalContext`] holding
//! the current document (`$`), the iteration subject (`$$`) and the frozen `now`.
//! Evaluation allocates only for the values it produces: reading a field clones an
//! `Arc`, never the document.
//!
//! ```
//! use deltaloop_pipeline::{EvalContext, Expr, Value};
//! let expr = Expr::compile_json(r#"{"@add": ["$.a", {"@mul": [2, "$.b"]}]}"#)?;
//! let doc = Value::from_json_str(r#"{"a": 1, "b": 2.5}"#)?;
//! assert_eq!(expr.eval(&EvalContext::new().with_document(&doc))?, Value::Float(6.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::fmt;

use crate::error::{CompileError, EvalError};
use crate::path::Path;
use crate::value::{Str, Value};

mod arithmetic;
mod boolean;
mod callback;
mod coerce;
mod comparison;
mod conditional;
mod field;
mod list;
mod literal;
mod marshal;
mod parse;
mod reads;
mod registry;
mod sqlbool;
mod string;
mod template;
mod time;
mod utility;

pub use callback::CallbackFn;
pub use registry::{Registry, RegistryError};
pub(crate) use template::Template;
pub use time::format_rfc3339;

/// The evaluation context: current document, subject and frozen time.
///
/// `@setField` never mutates the values a context borrows: within one evaluation it
/// writes a copy-on-write scratch version of the document (or subject) that later reads
/// of `$` (or `$$`) in the same evaluation see, as the reference's private copy does.
#[derive(Clone, Copy, Debug, Default)]
pub struct EvalContext<'a> {
    document: Option<&'a Value>,
    subject: Option<&'a Value>,
    now: Option<&'a str>,
    document_scratch: Option<&'a Scratch>,
    subject_scratch: Option<&'a Scratch>,
}

/// The per-evaluation written version of the document or subject.
pub(crate) type Scratch = RefCell<Option<Value>>;

impl<'a> EvalContext<'a> {
    /// An empty context: no document, no subject, the wall clock for `@now`.
    #[must_use]
    pub fn new() -> Self {
        EvalContext::default()
    }

    /// Sets the current document (`$`).
    #[must_use]
    pub fn with_document(mut self, document: &'a Value) -> Self {
        self.document = Some(document);
        self
    }

    /// Sets the subject (`$$`).
    #[must_use]
    pub fn with_subject(mut self, subject: &'a Value) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Freezes the timestamp `@now` returns.
    #[must_use]
    pub fn with_now(mut self, now: &'a str) -> Self {
        self.now = Some(now);
        self
    }

    /// The current document, if any.
    #[must_use]
    pub fn document(&self) -> Option<&'a Value> {
        self.document
    }

    /// The subject, if any.
    #[must_use]
    pub fn subject(&self) -> Option<&'a Value> {
        self.subject
    }

    /// The frozen timestamp, if any.
    #[must_use]
    pub fn now(&self) -> Option<&'a str> {
        self.now
    }

    /// A context with the same document and time and a different subject (with its own
    /// scratch slot).
    pub(crate) fn rebind<'b>(&self, subject: &'b Value, scratch: &'b Scratch) -> EvalContext<'b>
    where
        'a: 'b,
    {
        EvalContext {
            document: self.document,
            subject: Some(subject),
            now: self.now,
            document_scratch: self.document_scratch,
            subject_scratch: Some(scratch),
        }
    }

    /// The current document as this evaluation sees it (after `@setField` writes).
    pub(crate) fn current_document(&self) -> Option<Value> {
        Self::current(self.document, self.document_scratch)
    }

    /// The current subject as this evaluation sees it (after `@setField` writes).
    pub(crate) fn current_subject(&self) -> Option<Value> {
        Self::current(self.subject, self.subject_scratch)
    }

    /// Calls `f` with the document (`Root::Document`) or subject (`Root::Subject`) as this
    /// evaluation sees it, borrowed rather than cloned (a field read only looks inside).
    pub(crate) fn with_current<R>(
        &self,
        root: crate::path::Root,
        f: impl FnOnce(Option<&Value>) -> R,
    ) -> R {
        let (base, scratch) = match root {
            crate::path::Root::Document => (self.document, self.document_scratch),
            crate::path::Root::Subject => (self.subject, self.subject_scratch),
        };
        if let Some(cell) = scratch
            && let Ok(slot) = cell.try_borrow()
            && let Some(v) = slot.as_ref()
        {
            return f(Some(v));
        }
        f(base)
    }

    fn current(base: Option<&Value>, scratch: Option<&Scratch>) -> Option<Value> {
        if let Some(cell) = scratch
            && let Ok(slot) = cell.try_borrow()
            && let Some(v) = slot.as_ref()
        {
            return Some(v.clone());
        }
        base.cloned()
    }

    pub(crate) fn scratch(&self, root: crate::path::Root) -> Option<&'a Scratch> {
        match root {
            crate::path::Root::Document => self.document_scratch,
            crate::path::Root::Subject => self.subject_scratch,
        }
    }
}

/// A compiled expression.
#[derive(Clone)]
pub struct Expr {
    node: Node,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expr({})", self.to_json())
    }
}

impl fmt::Display for Expr {
    /// The expression's JSON surface form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Expr {
    /// Compiles an expression from its JSON surface form with the default registry.
    ///
    /// # Errors
    ///
    /// [`CompileError`] for unknown operators, malformed arguments or malformed constant
    /// paths; the error names the location inside the expression.
    pub fn compile(source: &serde_json::Value) -> Result<Expr, CompileError> {
        Expr::compile_with(source, Registry::builtin())
    }

    /// Compiles an expression with a custom operator registry (for host callbacks).
    ///
    /// # Errors
    ///
    /// As for [`Expr::compile`].
    pub fn compile_with(
        source: &serde_json::Value,
        registry: &Registry,
    ) -> Result<Expr, CompileError> {
        Expr::compile_value_with(&Value::from(source), registry)
    }

    /// Compiles an expression held as a [`Value`] (e.g. decoded from YAML).
    ///
    /// # Errors
    ///
    /// As for [`Expr::compile`].
    pub fn compile_value(source: &Value) -> Result<Expr, CompileError> {
        Expr::compile_value_with(source, Registry::builtin())
    }

    /// Compiles an expression held as a [`Value`] with a custom registry.
    ///
    /// # Errors
    ///
    /// As for [`Expr::compile`].
    pub fn compile_value_with(source: &Value, registry: &Registry) -> Result<Expr, CompileError> {
        let node = parse::Parser::new(registry).parse_value(source, &mut String::from("$"))?;
        Ok(Expr { node })
    }

    /// Compiles an expression from JSON text with the default registry.
    ///
    /// # Errors
    ///
    /// As for [`Expr::compile`], plus [`crate::CompileErrorKind::Json`] for invalid JSON.
    pub fn compile_json(text: &str) -> Result<Expr, CompileError> {
        let v = Value::from_json_str(text).map_err(|e| CompileError {
            at: "$".to_owned(),
            kind: crate::error::CompileErrorKind::Json(e.to_string()),
        })?;
        Expr::compile_value(&v)
    }

    /// The items of a list literal whose items are all constant paths
    /// (`["$.labels.app", "$.namespace"]`), each as an expression of its own; `None` for any
    /// other expression. Evaluating the items one by one, in order, gives the list's items
    /// and its errors: a path only reads.
    pub(crate) fn path_list_items(&self) -> Option<Vec<Expr>> {
        let Node::List(items) = &self.node else {
            return None;
        };
        items
            .iter()
            .map(|n| match n {
                Node::GetField(PathArg::Const(_)) => Some(Expr { node: n.clone() }),
                _ => None,
            })
            .collect()
    }

    /// Evaluates the expression on `doc` as the document when it is a lone constant path of
    /// the document (`"$.a.b"`, as `@project` fields, keys and comparisons mostly are), or
    /// an `@eq`/`@neq` of two operands that are each a constant or a simple constant path
    /// of the document (`{"@eq": ["$.status.phase", "Running"]}`, as `@select` predicates
    /// mostly are): the same value and errors as [`eval`](Self::eval) with `doc` as the
    /// document, without setting up a context, and the comparison without cloning its
    /// operands. `None` for any other expression.
    pub(crate) fn read_document(&self, doc: &Value) -> Option<Result<Value, EvalError>> {
        match &self.node {
            Node::GetField(PathArg::Const(path)) if path.root() == crate::path::Root::Document => {
                Some(field::read_path("@getField", path, doc))
            }
            Node::Call {
                op: op @ (Op::Eq | Op::Neq),
                args,
                ..
            } => {
                let [a, b] = args.as_slice() else {
                    return None;
                };
                let (a, b) = (borrowed_operand(a, doc)?, borrowed_operand(b, doc)?);
                // Operands are read in order: the first one's error wins, as in `eval`.
                Some(a.and_then(|a| b.map(|b| Value::Bool(a.deep_eq(b) == (*op == Op::Eq)))))
            }
            _ => None,
        }
    }

    /// The value of the expression on `doc` as the document, borrowed, when it is a
    /// constant or a simple constant path of the document (one that selects at most one
    /// node): the same value and errors as [`eval`](Self::eval), without a clone. `None`
    /// for any other expression.
    pub(crate) fn read_document_ref<'a>(
        &'a self,
        doc: &'a Value,
    ) -> Option<Result<&'a Value, EvalError>> {
        borrowed_operand(&self.node, doc)
    }

    /// Evaluates the expression.
    ///
    /// # Errors
    ///
    /// [`EvalError::FieldNotFound`] when a path selects nothing (and no enclosing
    /// operator handles it), other [`EvalError`]s for type errors and the like.
    pub fn eval(&self, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
        // A lone constant path (a `@project` field, a key) only reads: no `@setField` can
        // run, so it needs no scratch copies (an empty scratch reads as none).
        if let Node::GetField(p @ PathArg::Const(_)) = &self.node {
            return field::get_field(p, ctx);
        }
        let (doc, subject) = (Scratch::default(), Scratch::default());
        let ctx = EvalContext {
            document_scratch: ctx.document_scratch.or(Some(&doc)),
            subject_scratch: ctx.subject_scratch.or(Some(&subject)),
            ..*ctx
        };
        self.node.eval(&ctx)
    }

    /// The JSON surface form; compiling it again gives an equivalent expression.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        self.node.to_json()
    }

    /// Whether the expression reads the clock or a random source (`@now`, `@rnd`), so its
    /// value may differ between evaluations of the same input.
    #[must_use]
    pub fn is_time_variant(&self) -> bool {
        self.node.is_time_variant()
    }
}

/// The built-in operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Nil,
    Bool,
    Int,
    Float,
    String,
    And,
    Or,
    Not,
    Add,
    Mul,
    Sub,
    Div,
    Mod,
    Neg,
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Cond,
    Switch,
    DefinedOr,
    Copy,
    Map,
    Filter,
    SortBy,
    Sum,
    Len,
    Min,
    Max,
    LexMin,
    LexMax,
    In,
    Range,
    Enumerate,
    Upper,
    Lower,
    Trim,
    Substring,
    Replace,
    Split,
    Join,
    StartsWith,
    EndsWith,
    Contains,
    SqlBool,
    Now,
    Noop,
    Subject,
    Hash,
    Rnd,
    Concat,
    Abs,
    Floor,
    Ceil,
    IsNil,
}

/// How an operator takes its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `null` or `{}`.
    Nullary,
    /// A single operand: an expression, a one-element list or a raw literal.
    Unary,
    /// A list, or a single expression as a one-element list.
    Variadic,
    /// A list of between `min` and `max` elements.
    Exactly(usize, usize),
}

/// Operators whose constructors are special-cased by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    Literal,
    List,
    Dict,
    GetField,
    SetField,
    Exists,
    Regexp,
}

/// What an operator name resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    Op(Op),
    Special(Special),
}

const BUILTINS: &[(&str, Builtin)] = &[
    ("@nil", Builtin::Op(Op::Nil)),
    ("@bool", Builtin::Op(Op::Bool)),
    ("@int", Builtin::Op(Op::Int)),
    ("@float", Builtin::Op(Op::Float)),
    ("@string", Builtin::Op(Op::String)),
    ("@list", Builtin::Special(Special::List)),
    ("@dict", Builtin::Special(Special::Dict)),
    ("@literal", Builtin::Special(Special::Literal)),
    ("@and", Builtin::Op(Op::And)),
    ("@or", Builtin::Op(Op::Or)),
    ("@not", Builtin::Op(Op::Not)),
    ("@add", Builtin::Op(Op::Add)),
    ("@mul", Builtin::Op(Op::Mul)),
    ("@sub", Builtin::Op(Op::Sub)),
    ("@div", Builtin::Op(Op::Div)),
    ("@mod", Builtin::Op(Op::Mod)),
    ("@neg", Builtin::Op(Op::Neg)),
    ("@eq", Builtin::Op(Op::Eq)),
    ("@neq", Builtin::Op(Op::Neq)),
    ("@gt", Builtin::Op(Op::Gt)),
    ("@gte", Builtin::Op(Op::Gte)),
    ("@lt", Builtin::Op(Op::Lt)),
    ("@lte", Builtin::Op(Op::Lte)),
    ("@cond", Builtin::Op(Op::Cond)),
    ("@switch", Builtin::Op(Op::Switch)),
    ("@definedOr", Builtin::Op(Op::DefinedOr)),
    ("@getField", Builtin::Special(Special::GetField)),
    ("@setField", Builtin::Special(Special::SetField)),
    ("@exists", Builtin::Special(Special::Exists)),
    ("@copy", Builtin::Op(Op::Copy)),
    ("@map", Builtin::Op(Op::Map)),
    ("@filter", Builtin::Op(Op::Filter)),
    ("@sortBy", Builtin::Op(Op::SortBy)),
    ("@sum", Builtin::Op(Op::Sum)),
    ("@len", Builtin::Op(Op::Len)),
    ("@min", Builtin::Op(Op::Min)),
    ("@max", Builtin::Op(Op::Max)),
    ("@lexmin", Builtin::Op(Op::LexMin)),
    ("@lexmax", Builtin::Op(Op::LexMax)),
    ("@in", Builtin::Op(Op::In)),
    ("@range", Builtin::Op(Op::Range)),
    ("@enumerate", Builtin::Op(Op::Enumerate)),
    ("@regexp", Builtin::Special(Special::Regexp)),
    ("@upper", Builtin::Op(Op::Upper)),
    ("@lower", Builtin::Op(Op::Lower)),
    ("@trim", Builtin::Op(Op::Trim)),
    ("@substring", Builtin::Op(Op::Substring)),
    ("@replace", Builtin::Op(Op::Replace)),
    ("@split", Builtin::Op(Op::Split)),
    ("@join", Builtin::Op(Op::Join)),
    ("@startswith", Builtin::Op(Op::StartsWith)),
    ("@endswith", Builtin::Op(Op::EndsWith)),
    ("@contains", Builtin::Op(Op::Contains)),
    ("@sqlbool", Builtin::Op(Op::SqlBool)),
    ("@now", Builtin::Op(Op::Now)),
    ("@noop", Builtin::Op(Op::Noop)),
    ("@subject", Builtin::Op(Op::Subject)),
    ("@hash", Builtin::Op(Op::Hash)),
    ("@rnd", Builtin::Op(Op::Rnd)),
    ("@concat", Builtin::Op(Op::Concat)),
    ("@abs", Builtin::Op(Op::Abs)),
    ("@floor", Builtin::Op(Op::Floor)),
    ("@ceil", Builtin::Op(Op::Ceil)),
    ("@isnil", Builtin::Op(Op::IsNil)),
];

/// Resolves a built-in operator name (`@isnull` is an alias of `@isnil`).
pub(crate) fn builtin(name: &str) -> Option<Builtin> {
    if name == "@isnull" {
        return Some(Builtin::Op(Op::IsNil));
    }
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The names of all built-in operators (64, plus the `@isnull` alias).
pub(crate) fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS
        .iter()
        .map(|(n, _)| *n)
        .chain(std::iter::once("@isnull"))
}

impl Op {
    /// The operator's surface name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Nil => "@nil",
            Op::Bool => "@bool",
            Op::Int => "@int",
            Op::Float => "@float",
            Op::String => "@string",
            Op::And => "@and",
            Op::Or => "@or",
            Op::Not => "@not",
            Op::Add => "@add",
            Op::Mul => "@mul",
            Op::Sub => "@sub",
            Op::Div => "@div",
            Op::Mod => "@mod",
            Op::Neg => "@neg",
            Op::Eq => "@eq",
            Op::Neq => "@neq",
            Op::Gt => "@gt",
            Op::Gte => "@gte",
            Op::Lt => "@lt",
            Op::Lte => "@lte",
            Op::Cond => "@cond",
            Op::Switch => "@switch",
            Op::DefinedOr => "@definedOr",
            Op::Copy => "@copy",
            Op::Map => "@map",
            Op::Filter => "@filter",
            Op::SortBy => "@sortBy",
            Op::Sum => "@sum",
            Op::Len => "@len",
            Op::Min => "@min",
            Op::Max => "@max",
            Op::LexMin => "@lexmin",
            Op::LexMax => "@lexmax",
            Op::In => "@in",
            Op::Range => "@range",
            Op::Enumerate => "@enumerate",
            Op::Upper => "@upper",
            Op::Lower => "@lower",
            Op::Trim => "@trim",
            Op::Substring => "@substring",
            Op::Replace => "@replace",
            Op::Split => "@split",
            Op::Join => "@join",
            Op::StartsWith => "@startswith",
            Op::EndsWith => "@endswith",
            Op::Contains => "@contains",
            Op::SqlBool => "@sqlbool",
            Op::Now => "@now",
            Op::Noop => "@noop",
            Op::Subject => "@subject",
            Op::Hash => "@hash",
            Op::Rnd => "@rnd",
            Op::Concat => "@concat",
            Op::Abs => "@abs",
            Op::Floor => "@floor",
            Op::Ceil => "@ceil",
            Op::IsNil => "@isnil",
        }
    }

    pub(crate) fn shape(self) -> Shape {
        use Op::*;
        match self {
            Nil | Copy | Now | Noop | Subject => Shape::Nullary,
            Bool | Int | Float | String | Not | Neg | Len | Range | Enumerate | Upper | Lower
            | Trim | SqlBool | Hash | Abs | Floor | Ceil | IsNil => Shape::Unary,
            And | Or | Add | Mul | Switch | DefinedOr | Sum | Min | Max | LexMin | LexMax
            | Concat => Shape::Variadic,
            Sub | Div | Mod | Eq | Neq | Gt | Gte | Lt | Lte | Map | Filter | SortBy | In
            | Split | Join | StartsWith | EndsWith | Contains | Rnd => Shape::Exactly(2, 2),
            Cond => Shape::Exactly(3, 3),
            Substring => Shape::Exactly(2, 3),
            Replace => Shape::Exactly(3, 4),
        }
    }
}

/// How an operator call was written, for marshaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    Nullary,
    Unary,
    List,
}

/// A path argument: constant (parsed at compile time) or computed.
#[derive(Clone, Debug)]
pub(crate) enum PathArg {
    Const(Path),
    Computed(Box<Node>),
}

/// A compiled expression node.
#[derive(Clone)]
pub(crate) enum Node {
    /// A constant: a parser literal or a raw scalar operator argument.
    Const(Value),
    /// `@literal`: returned verbatim.
    Literal(Value),
    /// `@list` / a JSON array.
    List(Vec<Node>),
    /// `@dict` / a JSON object.
    Dict(Vec<(Str, Node)>),
    /// A built-in operator call.
    Call { op: Op, args: Vec<Node>, form: Form },
    /// `@getField` and the `"$.x"` / `"$$.x"` shorthands.
    GetField(PathArg),
    /// `@setField [path, value]`.
    SetField(PathArg, Box<Node>),
    /// `@exists path`.
    Exists(PathArg),
    /// `@regexp [pattern, s]`, with the pattern compiled once when constant.
    Regexp {
        pattern: Box<Node>,
        subject: Box<Node>,
        compiled: Option<Result<regex::Regex, String>>,
    },
    /// A host callback.
    Callback {
        name: Str,
        func: CallbackFn,
        args: Vec<Node>,
    },
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Node {
    pub(crate) fn eval(&self, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
        match self {
            Node::Const(v) | Node::Literal(v) => Ok(v.clone()),
            Node::List(items) => literal::eval_list(items, ctx),
            Node::Dict(entries) => literal::eval_dict(entries, ctx),
            Node::Call { op, args, .. } => eval_call(*op, args, ctx),
            Node::GetField(p) => field::get_field(p, ctx),
            Node::SetField(p, v) => field::set_field(p, v, ctx),
            Node::Exists(p) => field::exists(p, ctx),
            Node::Regexp {
                pattern,
                subject,
                compiled,
            } => string::regexp(pattern, subject, compiled.as_ref(), ctx),
            Node::Callback { name, func, args } => callback::eval(name, func, args, ctx),
        }
    }

    fn is_time_variant(&self) -> bool {
        match self {
            Node::Const(_) | Node::Literal(_) => false,
            Node::List(items) => items.iter().any(Node::is_time_variant),
            Node::Dict(entries) => entries.iter().any(|(_, n)| n.is_time_variant()),
            Node::Call { op, args, .. } => {
                matches!(op, Op::Now | Op::Rnd) || args.iter().any(Node::is_time_variant)
            }
            Node::GetField(p) | Node::Exists(p) => p.is_time_variant(),
            Node::SetField(p, v) => p.is_time_variant() || v.is_time_variant(),
            Node::Regexp {
                pattern, subject, ..
            } => pattern.is_time_variant() || subject.is_time_variant(),
            Node::Callback { args, .. } => args.iter().any(Node::is_time_variant),
        }
    }
}

impl PathArg {
    fn is_time_variant(&self) -> bool {
        match self {
            PathArg::Const(_) => false,
            PathArg::Computed(n) => n.is_time_variant(),
        }
    }
}

fn eval_call(op: Op, args: &[Node], ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    use Op::*;
    match op {
        Nil | Bool | Int | Float | String => literal::eval(op, args, ctx),
        And | Or | Not => boolean::eval(op, args, ctx),
        Add | Mul | Sub | Div | Mod | Neg => arithmetic::eval(op, args, ctx),
        Eq | Neq | Gt | Gte | Lt | Lte => comparison::eval(op, args, ctx),
        Cond | Switch | DefinedOr => conditional::eval(op, args, ctx),
        Copy => field::copy(ctx),
        Map | Filter | SortBy | Sum | Len | Min | Max | LexMin | LexMax | In | Range
        | Enumerate => list::eval(op, args, ctx),
        Upper | Lower | Trim | Substring | Replace | Split | Join | StartsWith | EndsWith
        | Contains => string::eval(op, args, ctx),
        SqlBool => sqlbool::eval(args, ctx),
        Now => Ok(time::now(ctx)),
        Noop | Subject | Hash | Rnd | Concat | Abs | Floor | Ceil | IsNil => {
            utility::eval(op, args, ctx)
        }
    }
}

/// The single argument of a unary operator (the parser guarantees it exists).
pub(crate) fn arg(args: &[Node], i: usize) -> &Node {
    static NULL: Node = Node::Const(Value::Null);
    args.get(i).unwrap_or(&NULL)
}

/// The value of an operand that [`Expr::read_document`] reads without evaluating it: a
/// constant, or a simple constant path of the document `doc`. `None` for other operands.
fn borrowed_operand<'a>(node: &'a Node, doc: &'a Value) -> Option<Result<&'a Value, EvalError>> {
    match node {
        Node::Const(v) | Node::Literal(v) => Some(Ok(v)),
        Node::GetField(PathArg::Const(path)) if path.root() == crate::path::Root::Document => {
            field::read_path_ref("@getField", path, doc)
        }
        _ => None,
    }
}

/// Evaluates argument `i`.
pub(crate) fn eval_arg(args: &[Node], i: usize, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    arg(args, i).eval(ctx)
}

/// Wraps a compile error location helper.
pub(crate) fn compile_error(at: &str, kind: crate::error::CompileErrorKind) -> CompileError {
    CompileError {
        at: at.to_owned(),
        kind,
    }
}

#[cfg(test)]
mod tests;
