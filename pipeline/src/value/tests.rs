//! Unit tests for value identity, hashing, ordering and JSON round trips.

use std::collections::HashSet;

use super::*;

fn j(text: &str) -> Value {
    Value::from_json_str(text).unwrap()
}

#[test]
fn int_and_integral_float_should_be_equal_and_hash_equal() {
    assert_eq!(Value::Int(3), Value::Float(3.0));
    assert_eq!(Value::Int(3).hash64(), Value::Float(3.0).hash64());
    assert_eq!(Value::Int(0), Value::Float(-0.0));
    assert_eq!(Value::Int(0).hash64(), Value::Float(-0.0).hash64());
    assert_ne!(Value::Int(3), Value::Float(3.5));
    let a = j(r#"{"a": [1, {"b": 2}]}"#);
    let b = j(r#"{"a": [1.0, {"b": 2.0}]}"#);
    assert_eq!(a, b);
    assert_eq!(a.hash64(), b.hash64());
    let set: HashSet<Value> = [a, b].into_iter().collect();
    assert_eq!(set.len(), 1);
}

#[test]
fn integral_json_text_should_decode_as_int() {
    assert!(matches!(j("3"), Value::Int(3)));
    assert!(matches!(j("3.0"), Value::Float(_)));
    assert!(matches!(j("3e0"), Value::Float(_)));
    assert!(matches!(j("-7"), Value::Int(-7)));
    assert!(matches!(j("18446744073709551615"), Value::Float(_)));
}

#[test]
fn order_should_be_total_and_consistent_with_eq() {
    let mut vs = vec![
        j(r#"{"a":1}"#),
        j("[1,2]"),
        j(r#""s""#),
        Value::Float(f64::NAN),
        Value::Float(2.5),
        Value::Int(2),
        Value::Float(f64::NEG_INFINITY),
        Value::Bool(true),
        Value::Null,
    ];
    vs.sort();
    assert!(vs[0].is_null());
    assert!(matches!(vs[1], Value::Bool(true)));
    assert!(matches!(vs[2], Value::Float(f) if f == f64::NEG_INFINITY));
    assert!(matches!(vs[3], Value::Int(2)));
    assert!(matches!(vs[4], Value::Float(f) if f == 2.5));
    assert!(matches!(vs[5], Value::Float(f) if f.is_nan()));
    assert_eq!(Value::Float(f64::NAN), Value::Float(f64::NAN));
    assert_eq!(
        Value::Int(i64::MAX).cmp(&Value::Float(9.3e18)),
        Ordering::Less
    );
    assert_eq!(Value::Int(1).cmp(&Value::Float(1.5)), Ordering::Less);
    assert_eq!(Value::Int(-1).cmp(&Value::Float(-1.5)), Ordering::Greater);
}

#[test]
fn object_hash_should_track_mutations() {
    let mut o = Object::from_entries([("b", Value::Int(2)), ("a", Value::Int(1))]);
    let same = Object::from_entries([("a", Value::Int(1)), ("b", Value::Int(2))]);
    assert_eq!(o.hash64(), same.hash64());
    assert_eq!(o.keys().map(|k| &**k).collect::<Vec<_>>(), ["a", "b"]);
    o.insert("c", Value::Int(3));
    assert_ne!(o.hash64(), same.hash64());
    o.remove("c");
    assert_eq!(o.hash64(), same.hash64());
    o.modify("a", |v| *v = Value::Int(5));
    let five = Object::from_entries([("a", Value::Int(5)), ("b", Value::Int(2))]);
    assert_eq!(o, five);
    assert_eq!(o.hash64(), five.hash64());
}

#[test]
fn deep_eq_should_normalize_only_at_top_level() {
    assert!(Value::Int(1).deep_eq(&Value::Float(1.0)));
    assert!(!j(r#"{"a":1}"#).deep_eq(&j(r#"{"a":1.0}"#)));
    assert!(j(r#"{"a":[1,"x"]}"#).deep_eq(&j(r#"{"a":[1,"x"]}"#)));
    assert!(!Value::from("1").deep_eq(&Value::Int(1)));
    assert!(!Value::Null.deep_eq(&Value::Int(0)));
}

#[test]
fn json_round_trip_should_be_lossless() {
    let text = r#"{"a":[1,2.5,"x",null,true],"b":{"c":-3}}"#;
    let v = j(text);
    assert_eq!(canonical_json(&v), text);
    let back: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(back, v);
    assert_eq!(canonical_json(&Value::Float(3.0)), "3");
    assert_eq!(Value::from(&v.to_serde_json()), v);
}
