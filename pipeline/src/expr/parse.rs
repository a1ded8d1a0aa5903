//! The JSON surface syntax → [`Node`] tree (spec §b.4 "Parsing rules").

use std::fmt::Write as _;
use std::sync::Arc;

use super::{Builtin, Form, Node, Op, PathArg, Registry, Shape, Special, builtin, compile_error};
use crate::error::{CompileError, CompileErrorKind};
use crate::path::Path;
use crate::value::{Object, Str, Text, Value, float_as_exact_int, intern};

/// Operator arguments after the generic preparation step.
enum RawArgs {
    /// `null`.
    Null,
    /// A raw scalar (numbers are floats, as JSON decoding gives them).
    Scalar(Value),
    /// A nested expression (a single-`@`-key map, or a `$`-string).
    Expr(Node),
    /// A list of expressions.
    List(Vec<Node>),
    /// A dict of expressions (any other map).
    Dict(Vec<(Str, Node)>),
}

pub(super) struct Parser<'r> {
    registry: &'r Registry,
}

/// Appends a child location to `at` for the duration of `f`.
fn with_loc<T>(at: &mut String, child: Loc<'_>, f: impl FnOnce(&mut String) -> T) -> T {
    let len = at.len();
    match child {
        Loc::Index(i) => {
            let _ = write!(at, "[{i}]");
        }
        Loc::Key(k) => {
            if !k.is_empty()
                && k.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '@')
            {
                let _ = write!(at, ".{k}");
            } else {
                let _ = write!(at, "[{k:?}]");
            }
        }
    }
    let r = f(at);
    at.truncate(len);
    r
}

enum Loc<'a> {
    Index(usize),
    Key(&'a str),
}

fn is_operator_map(m: &Object) -> Option<(&Str, &Value)> {
    if m.len() != 1 {
        return None;
    }
    m.iter().next().filter(|(k, _)| k.starts_with('@'))
}

/// Whether a string is a path shorthand (`$.x`, `$[..]`, `$$.x`, `$$[..]`).
pub(super) fn is_path_shorthand(s: &str) -> bool {
    s.starts_with("$.") || s.starts_with("$[") || s.starts_with("$$.") || s.starts_with("$$[")
}

/// Raw JSON numbers are float64 in the reference: keep them as floats.
fn raw_value(v: &Value) -> Value {
    match v {
        #[allow(clippy::cast_precision_loss)]
        Value::Int(i) => Value::Float(*i as f64),
        Value::List(l) => Value::list(l.iter().map(raw_value).collect()),
        Value::Map(m) => Value::Map(Object::from_entries(
            m.iter().map(|(k, v)| (k.clone(), raw_value(v))),
        )),
        other => other.clone(),
    }
}

impl<'r> Parser<'r> {
    pub(super) fn new(registry: &'r Registry) -> Self {
        Parser { registry }
    }

    /// Parses a value in expression position.
    pub(super) fn parse_value(&self, v: &Value, at: &mut String) -> Result<Node, CompileError> {
        match v {
            Value::Null | Value::Bool(_) | Value::Int(_) => Ok(Node::Const(v.clone())),
            Value::Float(f) => Ok(Node::Const(
                float_as_exact_int(*f).map_or(Value::Float(*f), Value::Int),
            )),
            Value::String(s) => self.parse_string(s, at),
            Value::List(items) => Ok(Node::List(self.parse_list(items, at)?)),
            Value::Map(m) => match is_operator_map(m) {
                Some((name, args)) => self.parse_operator(name, args, at),
                None => Ok(Node::Dict(self.parse_dict(m, at)?)),
            },
        }
    }

    fn parse_list(&self, items: &[Value], at: &mut String) -> Result<Vec<Node>, CompileError> {
        items
            .iter()
            .enumerate()
            .map(|(i, e)| with_loc(at, Loc::Index(i), |at| self.parse_value(e, at)))
            .collect()
    }

    fn parse_dict(&self, m: &Object, at: &mut String) -> Result<Vec<(Str, Node)>, CompileError> {
        m.iter()
            .map(|(k, v)| {
                with_loc(at, Loc::Key(k), |at| self.parse_value(v, at)).map(|n| (intern(k), n))
            })
            .collect()
    }

    fn parse_string(&self, s: &Text, at: &str) -> Result<Node, CompileError> {
        match &**s {
            "$." => Ok(Node::Call {
                op: Op::Copy,
                args: Vec::new(),
                form: Form::Nullary,
            }),
            "$$." => Ok(Node::Call {
                op: Op::Subject,
                args: Vec::new(),
                form: Form::Nullary,
            }),
            text if is_path_shorthand(text) => {
                let path = Path::parse(text).map_err(|source| {
                    compile_error(
                        at,
                        CompileErrorKind::Path {
                            op: "@getField".to_owned(),
                            source,
                        },
                    )
                })?;
                Ok(Node::GetField(PathArg::Const(path)))
            }
            _ => Ok(Node::Const(Value::String(s.clone()))),
        }
    }

    /// The generic argument preparation of the reference parser.
    fn prepare(&self, raw: &Value, at: &mut String) -> Result<RawArgs, CompileError> {
        Ok(match raw {
            Value::Null => RawArgs::Null,
            Value::List(items) => RawArgs::List(self.parse_list(items, at)?),
            Value::Map(m) => match is_operator_map(m) {
                Some((name, args)) => RawArgs::Expr(self.parse_operator(name, args, at)?),
                None => RawArgs::Dict(self.parse_dict(m, at)?),
            },
            Value::String(s) if s.starts_with('$') => RawArgs::Expr(self.parse_string(s, at)?),
            scalar => RawArgs::Scalar(raw_value(scalar)),
        })
    }

    fn parse_operator(
        &self,
        name: &str,
        raw: &Value,
        at: &mut String,
    ) -> Result<Node, CompileError> {
        let Some(b) = builtin(name) else {
            if let Some(func) = self.registry.callback(name) {
                let args = with_loc(at, Loc::Key(name), |at| self.prepare(raw, at))?;
                let args = match args {
                    RawArgs::Null => Vec::new(),
                    RawArgs::Scalar(v) => vec![Node::Const(v)],
                    RawArgs::Expr(e) => vec![e],
                    RawArgs::List(v) => v,
                    RawArgs::Dict(d) => vec![Node::Dict(d)],
                };
                return Ok(Node::Callback {
                    name: Arc::from(name),
                    func,
                    args,
                });
            }
            return Err(compile_error(
                at,
                CompileErrorKind::UnknownOperator(name.to_owned()),
            ));
        };
        with_loc(at, Loc::Key(name), |at| match b {
            Builtin::Special(s) => self.parse_special(s, name, raw, at),
            Builtin::Op(op) => self.parse_builtin(op, raw, at),
        })
    }

    fn args_error(at: &str, op: &str, expected: &'static str) -> CompileError {
        compile_error(
            at,
            CompileErrorKind::Arguments {
                op: op.to_owned(),
                expected,
            },
        )
    }

    fn parse_builtin(&self, op: Op, raw: &Value, at: &mut String) -> Result<Node, CompileError> {
        let call = |args: Vec<Node>, form: Form| Node::Call { op, args, form };
        let args = self.prepare(raw, at)?;
        let name = op.name();
        match (op, op.shape()) {
            (Op::Nil, _) => match args {
                RawArgs::Null => Ok(Node::Const(Value::Null)),
                RawArgs::Dict(d) if d.is_empty() => Ok(Node::Const(Value::Null)),
                _ => Err(Self::args_error(at, name, "null or {}")),
            },
            (_, Shape::Nullary) => match args {
                RawArgs::Null => Ok(call(Vec::new(), Form::Nullary)),
                RawArgs::Dict(d) if d.is_empty() => Ok(call(Vec::new(), Form::Nullary)),
                _ => Err(Self::args_error(at, name, "null or {}")),
            },
            (Op::Bool, _) => match args {
                RawArgs::Scalar(b @ Value::Bool(_)) => Ok(call(vec![Node::Const(b)], Form::Unary)),
                RawArgs::Expr(e) => Ok(call(vec![e], Form::Unary)),
                RawArgs::Null => Ok(call(vec![Node::Const(Value::Bool(false))], Form::Unary)),
                _ => Err(Self::args_error(
                    at,
                    name,
                    "a bool literal, an expression or null",
                )),
            },
            (Op::Int | Op::Float | Op::String, _) => {
                let operand = match args {
                    RawArgs::Null => Node::Const(Value::Null),
                    RawArgs::Scalar(v) => Node::Const(v),
                    RawArgs::Expr(e) => e,
                    RawArgs::List(v) => Node::List(v),
                    RawArgs::Dict(d) => Node::Dict(d),
                };
                Ok(call(vec![operand], Form::Unary))
            }
            (_, Shape::Unary) => {
                let operand = match args {
                    RawArgs::Null => Node::Const(Value::Null),
                    RawArgs::Scalar(v) => Node::Const(v),
                    RawArgs::Expr(e) => e,
                    RawArgs::List(mut v) if v.len() == 1 => {
                        v.pop().unwrap_or(Node::Const(Value::Null))
                    }
                    RawArgs::List(_) => {
                        return Err(Self::args_error(at, name, "exactly 1 argument"));
                    }
                    RawArgs::Dict(d) => Node::Dict(d),
                };
                Ok(call(vec![operand], Form::Unary))
            }
            (_, Shape::Variadic) => match args {
                RawArgs::List(v) => Ok(call(v, Form::List)),
                RawArgs::Expr(e) => Ok(call(vec![e], Form::Unary)),
                _ => Err(Self::args_error(
                    at,
                    name,
                    "a list of arguments or an expression",
                )),
            },
            (_, Shape::Exactly(min, max)) => match args {
                RawArgs::List(v) if (min..=max).contains(&v.len()) => Ok(call(v, Form::List)),
                _ => Err(Self::args_error(
                    at,
                    name,
                    match (min, max) {
                        (2, 2) => "a list of exactly 2 arguments",
                        (3, 3) => "a list of exactly 3 arguments",
                        (2, 3) => "a list of 2 or 3 arguments",
                        _ => "a list of 3 or 4 arguments",
                    },
                )),
            },
        }
    }

    fn parse_special(
        &self,
        s: Special,
        name: &str,
        raw: &Value,
        at: &mut String,
    ) -> Result<Node, CompileError> {
        match s {
            Special::Literal => Ok(Node::Literal(raw_value(raw))),
            Special::List => Ok(Node::List(match self.prepare(raw, at)? {
                RawArgs::List(v) => v,
                RawArgs::Expr(e) => vec![e],
                _ => Vec::new(),
            })),
            Special::Dict => match raw {
                Value::Map(m) => Ok(Node::Dict(self.parse_dict(m, at)?)),
                _ => Ok(Node::Dict(match self.prepare(raw, at)? {
                    RawArgs::Expr(e) => vec![(Arc::from(""), e)],
                    _ => Vec::new(),
                })),
            },
            Special::GetField | Special::Exists => {
                let path = self.path_arg(name, raw, at)?;
                Ok(if s == Special::GetField {
                    Node::GetField(path)
                } else {
                    Node::Exists(path)
                })
            }
            Special::SetField => {
                let Value::List(items) = raw else {
                    return Err(Self::args_error(at, name, "a list [path, value]"));
                };
                let [target, value] = items.as_slice() else {
                    return Err(Self::args_error(at, name, "a list [path, value]"));
                };
                let path = with_loc(at, Loc::Index(0), |at| match target {
                    Value::String(_) => self.path_arg(name, target, at),
                    other => Ok(PathArg::Computed(Box::new(self.parse_value(other, at)?))),
                })?;
                let value = with_loc(at, Loc::Index(1), |at| self.parse_value(value, at))?;
                Ok(Node::SetField(path, Box::new(value)))
            }
            Special::Regexp => {
                let RawArgs::List(v) = self.prepare(raw, at)? else {
                    return Err(Self::args_error(at, name, "a list [pattern, string]"));
                };
                let Ok([pattern, subject]) = <[Node; 2]>::try_from(v) else {
                    return Err(Self::args_error(at, name, "a list [pattern, string]"));
                };
                let compiled = match &pattern {
                    Node::Const(p) => Some(
                        regex::Regex::new(&super::coerce::as_string(p))
                            .map_err(|e| format!("invalid pattern: {e}")),
                    ),
                    _ => None,
                };
                Ok(Node::Regexp {
                    pattern: Box::new(pattern),
                    subject: Box::new(subject),
                    compiled,
                })
            }
        }
    }

    /// The path argument of `@getField` / `@exists` / `@setField`: a literal string is a
    /// constant path (validated now), anything else is computed at evaluation time.
    fn path_arg(&self, op: &str, raw: &Value, at: &mut String) -> Result<PathArg, CompileError> {
        match raw {
            Value::String(s) => Path::parse(s).map(PathArg::Const).map_err(|source| {
                compile_error(
                    at,
                    CompileErrorKind::Path {
                        op: op.to_owned(),
                        source,
                    },
                )
            }),
            Value::List(items) if items.len() == 1 => {
                let node = with_loc(at, Loc::Index(0), |at| {
                    self.parse_value(items.first().unwrap_or(&Value::Null), at)
                })?;
                Ok(PathArg::Computed(Box::new(node)))
            }
            Value::List(_) => Err(Self::args_error(at, op, "exactly 1 argument")),
            Value::Map(m) => match is_operator_map(m) {
                Some((name, args)) => Ok(PathArg::Computed(Box::new(
                    self.parse_operator(name, args, at)?,
                ))),
                None => Ok(PathArg::Computed(Box::new(Node::Dict(
                    self.parse_dict(m, at)?,
                )))),
            },
            scalar => Ok(PathArg::Computed(Box::new(Node::Const(raw_value(scalar))))),
        }
    }
}
