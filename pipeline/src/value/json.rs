//! JSON for [`Value`]: lossless decoding, canonical (Go `encoding/json`) encoding, and the
//! Go text formats the expression language's coercions use.

use std::fmt::Write as _;

use super::{Object, Text, Value, float_as_exact_int};

/// An error decoding or encoding JSON.
#[derive(Debug, thiserror::Error)]
#[error("invalid json: {0}")]
pub struct JsonError(#[from] serde_json::Error);

impl Value {
    /// Decodes JSON text losslessly: an integral number (no `.`, `e` or `E` in its text)
    /// becomes [`Value::Int`], any other number a [`Value::Float`].
    ///
    /// # Errors
    ///
    /// Returns [`JsonError`] when the text is not valid JSON.
    pub fn from_json_str(text: &str) -> Result<Value, JsonError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Encodes the value as canonical JSON (see [`canonical_json`]).
    #[must_use]
    pub fn to_json_string(&self) -> String {
        canonical_json(self)
    }

    /// Converts to a `serde_json::Value` (integral floats become JSON integers, as Go
    /// would print them; NaN and infinities become `null`).
    #[must_use]
    pub fn to_serde_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => match float_as_exact_int(*f) {
                Some(i) => serde_json::Value::from(i),
                None => serde_json::Number::from_f64(*f)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
            },
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => {
                serde_json::Value::Array(l.items().map(Value::to_serde_json).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_serde_json()))
                    .collect(),
            ),
        }
    }
}

impl From<&serde_json::Value> for Value {
    /// Converts losslessly: JSON integers become ints, other numbers floats.
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::String(Text::from(s.as_str())),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => Value::Map(Object::from_entries(
                o.iter().map(|(k, v)| (k.as_str(), Value::from(v))),
            )),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::from(&v)
    }
}

/// Encodes a value as canonical JSON, byte-for-byte what Go's `encoding/json` produces:
/// sorted keys, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` and so on, numbers in
/// shortest form (an int `3` and a float `3.0` both print `3`), exponent form only below
/// 1e-6 or from 1e21 on. NaN and infinities (which Go refuses) print as `null`.
///
/// ```
/// use deltaloop_pipeline::{Value, canonical_json};
/// let v = Value::from_json_str(r#"{"b": 3.0, "a": "<x>"}"#).unwrap();
/// assert_eq!(canonical_json(&v), r#"{"a":"\u003cx\u003e","b":3}"#);
/// ```
#[must_use]
pub fn canonical_json(v: &Value) -> String {
    let mut s = String::new();
    write_canonical_json(v, &mut s);
    s
}

/// Appends the canonical JSON of `v` to `out` (see [`canonical_json`]).
pub fn write_canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => write_go_json_float(*f, out),
        Value::String(s) => write_json_string(s, out),
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.items().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_json(e, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_canonical_json(e, out);
            }
            out.push('}');
        }
    }
}

/// Go `encoding/json` float formatting.
fn write_go_json_float(f: f64, out: &mut String) {
    if !f.is_finite() {
        out.push_str("null");
        return;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` is shortest-digits like Go's 'e' with precision -1; Go writes an
        // explicit `+` on positive exponents and (after encoding/json's cleanup) no
        // leading zero on negative ones, which is what Rust does already.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mant, exp)) if !exp.starts_with('-') => {
                let _ = write!(out, "{mant}e+{exp}");
            }
            _ => out.push_str(&s),
        }
    } else {
        let _ = write!(out, "{f}");
    }
}

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest digits, never an exponent.
pub(crate) fn format_go_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{f}")
    }
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)`, which `fmt`'s `%v` uses for floats.
fn format_go_float_g(f: f64) -> String {
    if !f.is_finite() || f == 0.0 {
        return format_go_float_f(f);
    }
    let e = format!("{f:e}");
    let Some((mant, exp)) = e.split_once('e') else {
        return e;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    // Shortest formatting uses precision 6 for the %e decision (strconv's eprec).
    if !(-4..6).contains(&exp) {
        return go_exp(mant, exp);
    }
    format!("{f}")
}

fn go_exp(mant: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}e{sign}{:02}", exp.abs())
}

/// Go `fmt`'s `%v` rendering of a value: `<nil>`, `[a b]`, `map[k:v]`, floats as `%g`.
pub(crate) fn format_go_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_go_float_g(*f)),
        Value::String(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.items().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_go_value(e, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                format_go_value(e, out);
            }
            out.push(']');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(f: f64) -> String {
        let mut s = String::new();
        write_go_json_float(f, &mut s);
        s
    }

    #[test]
    fn go_json_floats_should_match_encoding_json() {
        assert_eq!(go(3.0), "3");
        assert_eq!(go(3.5), "3.5");
        assert_eq!(go(-0.25), "-0.25");
        assert_eq!(go(1e20), "100000000000000000000");
        assert_eq!(go(1e21), "1e+21");
        assert_eq!(go(1.5e-7), "1.5e-7");
        assert_eq!(go(0.000_001), "0.000001");
        assert_eq!(go(1e-10), "1e-10");
    }

    #[test]
    fn go_percent_v_should_use_g_format() {
        assert_eq!(format_go_float_g(1_000_000.0), "1e+06");
        assert_eq!(format_go_float_g(123_456.0), "123456");
        assert_eq!(format_go_float_g(2.5), "2.5");
        assert_eq!(format_go_float_g(0.00001), "1e-05");
        let v = Value::from_json_str(r#"{"b":[1,2.5,null],"a":"x"}"#).unwrap();
        let mut s = String::new();
        format_go_value(&v, &mut s);
        assert_eq!(s, "map[a:x b:[1 2.5 <nil>]]");
    }

    #[test]
    fn canonical_json_should_escape_html_and_sort_keys() {
        let v = Value::from_json_str(r#"{"z":1,"a":"a&b","m":[true,null,1.0]}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"a\u0026b","m":[true,null,1],"z":1}"#
        );
    }
}
