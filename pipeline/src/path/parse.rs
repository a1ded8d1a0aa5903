//! The JSONPath grammar, written with `nom`.

use std::sync::Arc;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, multispace0};
use nom::combinator::{map_res, opt, recognize, value};
use nom::error::{Error, ErrorKind, ParseError};
use nom::multi::{many0, separated_list1};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use super::{CmpOp, Filter, Operand, Root, Segment, Selector};
use crate::value::{Value, intern};

type Res<'a, T> = IResult<&'a str, T>;

/// Parses a whole path; the error is a human-readable reason.
pub(super) fn parse_path(text: &str) -> Result<(Root, Vec<Segment>), String> {
    let (rest, root) = root(text)
        .map_err(|_| "a path must start with `$` (document) or `$$` (subject)".to_owned())?;
    let (rest, segs) = many0(segment)
        .parse(rest)
        .map_err(|_| "malformed segment".to_owned())?;
    if !rest.is_empty() {
        let offset = text.len() - rest.len();
        return Err(format!(
            "unexpected {:?} at offset {offset}, expected `.name`, `[...]` or the end",
            rest
        ));
    }
    Ok((root, segs))
}

fn ws<'a, P>(p: P) -> impl Parser<&'a str, Output = P::Output, Error = P::Error>
where
    P: Parser<&'a str>,
    P::Error: ParseError<&'a str>,
{
    delimited(multispace0, p, multispace0)
}

fn root(i: &str) -> Res<'_, Root> {
    alt((
        value(Root::Subject, tag("$$")),
        value(Root::Document, tag("$")),
    ))
    .parse(i)
}

fn segment(i: &str) -> Res<'_, Segment> {
    alt((
        preceded(tag(".."), descent_selector).map(Segment::Descent),
        preceded(char('.'), dot_selector).map(Segment::Child),
        bracket,
    ))
    .parse(i)
}

fn name(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| c.is_alphanumeric() || c == '_' || c == '-').parse(i)
}

fn dot_selector(i: &str) -> Res<'_, Selector> {
    alt((
        value(Selector::Wildcard, char('*')),
        name.map(|n| Selector::Key(intern(n))),
    ))
    .parse(i)
}

fn descent_selector(i: &str) -> Res<'_, Selector> {
    alt((
        dot_selector,
        delimited(
            (char('['), multispace0),
            alt((
                value(Selector::Wildcard, char('*')),
                filter_selector,
                union_item,
            )),
            (multispace0, char(']')),
        ),
    ))
    .parse(i)
}

fn bracket(i: &str) -> Res<'_, Segment> {
    delimited(
        (char('['), multispace0),
        alt((
            value(Segment::Child(Selector::Wildcard), char('*')),
            filter_selector.map(Segment::Child),
            separated_list1(ws(char(',')), union_item).map(|mut v| {
                if v.len() == 1 {
                    v.pop().map_or(Segment::Union(Vec::new()), Segment::Child)
                } else {
                    Segment::Union(v)
                }
            }),
        )),
        (multispace0, char(']')),
    )
    .parse(i)
}

fn union_item(i: &str) -> Res<'_, Selector> {
    alt((
        quoted.map(|s| Selector::Key(intern(&s))),
        slice,
        int.map(Selector::Index),
    ))
    .parse(i)
}

fn int(i: &str) -> Res<'_, i64> {
    map_res(recognize((opt(char('-')), digit1)), str::parse::<i64>).parse(i)
}

fn slice(i: &str) -> Res<'_, Selector> {
    (
        opt(int),
        ws(char(':')),
        opt(int),
        opt(preceded(ws(char(':')), opt(int))),
    )
        .map(|(a, _, b, c)| Selector::Slice(a, b, c.flatten()))
        .parse(i)
}

/// A single- or double-quoted string with JSON-style escapes.
fn quoted(i: &str) -> Res<'_, String> {
    let fail = |k| nom::Err::Error(Error::new(i, k));
    let mut chars = i.char_indices();
    let q = match chars.next() {
        Some((_, c @ ('\'' | '"'))) => c,
        _ => return Err(fail(ErrorKind::Char)),
    };
    let mut out = String::new();
    while let Some((idx, c)) = chars.next() {
        if c == q {
            let rest = i.get(idx + c.len_utf8()..).unwrap_or("");
            return Ok((rest, out));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let esc = match chars.next() {
            Some((_, e)) => e,
            None => return Err(fail(ErrorKind::Escaped)),
        };
        match esc {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let mut code = 0u32;
                for _ in 0..4 {
                    let d = chars
                        .next()
                        .and_then(|(_, h)| h.to_digit(16))
                        .ok_or_else(|| fail(ErrorKind::HexDigit))?;
                    code = code * 16 + d;
                }
                out.push(char::from_u32(code).ok_or_else(|| fail(ErrorKind::HexDigit))?);
            }
            other => out.push(other),
        }
    }
    Err(fail(ErrorKind::Char))
}

fn filter_selector(i: &str) -> Res<'_, Selector> {
    preceded(char('?'), ws(or_expr))
        .map(|f| Selector::Filter(Arc::new(f)))
        .parse(i)
}

fn or_expr(i: &str) -> Res<'_, Filter> {
    separated_list1(ws(tag("||")), and_expr)
        .map(|mut v| {
            if v.len() == 1 {
                v.pop().map_or(Filter::Or(Vec::new()), |f| f)
            } else {
                Filter::Or(v)
            }
        })
        .parse(i)
}

fn and_expr(i: &str) -> Res<'_, Filter> {
    separated_list1(ws(tag("&&")), unary)
        .map(|mut v| {
            if v.len() == 1 {
                v.pop().map_or(Filter::And(Vec::new()), |f| f)
            } else {
                Filter::And(v)
            }
        })
        .parse(i)
}

fn unary(i: &str) -> Res<'_, Filter> {
    alt((
        preceded(ws(char('!')), unary).map(|f| Filter::Not(Box::new(f))),
        delimited(ws(char('(')), or_expr, ws(char(')'))),
        comparison,
    ))
    .parse(i)
}

fn comparison(i: &str) -> Res<'_, Filter> {
    (operand, opt((ws(cmp_op), operand)))
        .map(|(a, rest)| match rest {
            Some((op, b)) => Filter::Cmp(a, op, b),
            None => Filter::Exists(a),
        })
        .parse(i)
}

fn cmp_op(i: &str) -> Res<'_, CmpOp> {
    alt((
        value(CmpOp::Eq, tag("==")),
        value(CmpOp::Ne, tag("!=")),
        value(CmpOp::Le, tag("<=")),
        value(CmpOp::Ge, tag(">=")),
        value(CmpOp::Lt, tag("<")),
        value(CmpOp::Gt, tag(">")),
    ))
    .parse(i)
}

fn number(i: &str) -> Res<'_, Value> {
    let (rest, text) = recognize((
        opt(char('-')),
        digit1,
        opt((char('.'), digit1)),
        opt((
            alt((char('e'), char('E'))),
            opt(alt((char('+'), char('-')))),
            digit1,
        )),
    ))
    .parse(i)?;
    let v = if text.contains(['.', 'e', 'E']) {
        text.parse::<f64>().map(Value::Float).ok()
    } else {
        text.parse::<i64>().map(Value::Int).ok()
    };
    match v {
        Some(v) => Ok((rest, v)),
        None => Err(nom::Err::Error(Error::new(i, ErrorKind::Digit))),
    }
}

fn operand(i: &str) -> Res<'_, Operand> {
    ws(alt((
        preceded(char('@'), many0(segment)).map(Operand::Current),
        preceded(char('$'), many0(segment)).map(Operand::Root),
        quoted.map(|s| Operand::Literal(Value::from(s))),
        number.map(Operand::Literal),
        value(Operand::Literal(Value::Bool(true)), tag("true")),
        value(Operand::Literal(Value::Bool(false)), tag("false")),
        value(Operand::Literal(Value::Null), tag("null")),
    )))
    .parse(i)
}
