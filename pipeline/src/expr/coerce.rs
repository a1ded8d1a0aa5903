//! The coercions every operator family shares (spec §b.4 "Coercions").
//!
//! Each returns a plain message on failure; callers wrap it with their operator name.

use crate::value::{Text, Value, format_go_float_f, format_go_value};

/// AsBool: nil→false; bool; numbers by ≠ 0; `""`→false; other strings via Go's
/// `strconv.ParseBool`; anything else is an error.
pub(crate) fn as_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        Value::Float(f) => Ok(*f != 0.0),
        Value::String(s) => match &**s {
            "" => Ok(false),
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            other => Err(format!("cannot convert string {other:?} to bool")),
        },
        other => Err(format!("cannot convert {} to bool", other.type_name())),
    }
}

/// AsInt: nil is an error; floats truncate toward 0; strings parse as decimal; bool→1/0.
pub(crate) fn as_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        #[allow(clippy::cast_possible_truncation)]
        Value::Float(f) => Ok(*f as i64),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => {
            parse_go_int(s).ok_or_else(|| format!("cannot convert string {s:?} to int"))
        }
        other => Err(format!("cannot convert {} to int", other.type_name())),
    }
}

/// Go `strconv.ParseInt(s, 10, 64)`: optional sign, decimal digits, underscores refused.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// AsFloat: nil is an error; strings are parsed; bool→1/0.
pub(crate) fn as_float(v: &Value) -> Result<f64, String> {
    match v {
        #[allow(clippy::cast_precision_loss)]
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => {
            parse_go_float(s).ok_or_else(|| format!("cannot convert string {s:?} to float"))
        }
        other => Err(format!("cannot convert {} to float", other.type_name())),
    }
}

/// Go `strconv.ParseFloat(s, 64)` for the common spellings (incl. `Inf`, `NaN`).
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let neg = s.starts_with('-');
    let special = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(f) = special {
        return Some(if neg { -f } else { f });
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// AsString: nil→""; ints in decimal; floats in shortest 'f' form; bools; anything else
/// through Go's `%v` (a map renders as `map[a:1]`).
pub(crate) fn as_string(v: &Value) -> Text {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => Text::default(),
        Value::Int(i) => Text::from(i.to_string()),
        Value::Float(f) => Text::from(format_go_float_f(*f)),
        Value::Bool(b) => Text::new_static(if *b { "true" } else { "false" }),
        other => {
            let mut s = String::new();
            format_go_value(other, &mut s);
            Text::from(s)
        }
    }
}

/// AsList: nil→empty; a list as is; anything else is an error.
pub(crate) fn as_list(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::Null => Ok(&[]),
        Value::List(l) => Ok(l),
        other => Err(format!("cannot convert {} to list", other.type_name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercions_should_follow_go_rules() {
        assert_eq!(as_bool(&Value::from("T")), Ok(true));
        assert!(as_bool(&Value::from("yes")).is_err());
        assert_eq!(as_bool(&Value::Float(0.5)), Ok(true));
        assert_eq!(as_int(&Value::Float(-3.9)), Ok(-3));
        assert_eq!(as_int(&Value::from("+7")), Ok(7));
        assert!(as_int(&Value::from("7.0")).is_err());
        assert!(as_int(&Value::Null).is_err());
        assert_eq!(as_float(&Value::from("2.5")), Ok(2.5));
        assert!(as_float(&Value::from("x")).is_err());
        assert_eq!(&*as_string(&Value::Float(80.0)), "80");
        assert_eq!(&*as_string(&Value::Float(1e21)), "1000000000000000000000");
        assert_eq!(&*as_string(&Value::Null), "");
        let m = Value::from_json_str(r#"{"a":1}"#).unwrap();
        assert_eq!(&*as_string(&m), "map[a:1]");
        assert_eq!(as_list(&Value::Null).map(<[Value]>::len), Ok(0));
        assert!(as_list(&Value::Int(1)).is_err());
    }
}
