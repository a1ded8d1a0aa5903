//! Unit tests for the expression language: marshal round trips, error locations,
//! scratch-document semantics, callbacks.

use serde_json::json;

use super::*;
use crate::error::CompileErrorKind;

fn eval(e: serde_json::Value, doc: serde_json::Value) -> Result<Value, EvalError> {
    let doc = Value::from(&doc);
    Expr::compile(&e)
        .unwrap()
        .eval(&EvalContext::new().with_document(&doc))
}

#[test]
fn marshal_should_round_trip_stably() {
    let sources = [
        json!(42),
        json!(2.5),
        json!("hello"),
        json!("$foo"),
        json!(null),
        json!([1, "$.a", {"@add": [1, 2]}]),
        json!({"x": 1, "y": "$.b"}),
        json!({"@dict": {"@add": [1, 2]}}),
        json!({"@neg": 5}),
        json!({"@neg": [5]}),
        json!({"@abs": -3}),
        json!({"@string": {"@literal": "$.age"}}),
        json!({"@literal": {"@type": "t", "path": "$.x"}}),
        json!({"@getField": "$"}),
        json!({"@getField": ["$.p"]}),
        json!({"@exists": "$$.a.b"}),
        json!({"@setField": ["$.a.b", {"@concat": ["x", "$.c"]}]}),
        json!({"@copy": null}),
        json!("$$."),
        json!("$."),
        json!({"@bool": "$.f"}),
        json!({"@int": 3.9}),
        json!({"@len": [[1, 2]]}),
        json!({"@and": "$.flag"}),
        json!({"@regexp": ["^a", "$.s"]}),
        json!({"@sortBy": [{"@cond": [{"@lt": ["$$.a", "$$.b"]}, -1, 1]}, "$.xs"]}),
        json!({"@list": []}),
        json!({"@dict": {}}),
        json!({"@isnull": "$.x"}),
    ];
    for src in sources {
        let e = Expr::compile(&src).unwrap();
        let j1 = e.to_json();
        let e2 = Expr::compile(&j1).unwrap_or_else(|err| panic!("{src} → {j1}: {err}"));
        let j2 = e2.to_json();
        assert_eq!(j1, j2, "unstable marshal for {src}");
        let doc = Value::from(&json!({"a": 1, "b": 2, "c": "z", "f": true, "s": "abc",
            "xs": [3, 1], "p": "$.a", "x": null, "flag": true, "age": 3}));
        let ctx = EvalContext::new().with_document(&doc);
        let (r1, r2) = (e.eval(&ctx), e2.eval(&ctx));
        match (&r1, &r2) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{src}");
                assert_eq!(a.type_name(), b.type_name(), "{src}");
            }
            (Err(_), Err(_)) => {}
            _ => panic!("{src}: {r1:?} vs {r2:?}"),
        }
    }
}

#[test]
fn compile_errors_should_name_their_location() {
    let err = Expr::compile(&json!({"@and": [true, {"@foo": 1}]})).unwrap_err();
    assert_eq!(err.at, "$.@and[1]");
    assert_eq!(err.kind, CompileErrorKind::UnknownOperator("@foo".into()));
    assert_eq!(err.to_string(), "at $.@and[1]: unknown operator @foo");
    let err = Expr::compile(&json!({"x": {"@sub": [1]}})).unwrap_err();
    assert_eq!(err.at, "$.x.@sub");
    assert!(matches!(err.kind, CompileErrorKind::Arguments { .. }));
    let err = Expr::compile(&json!({"@getField": "$.a["})).unwrap_err();
    assert!(matches!(err.kind, CompileErrorKind::Path { .. }));
    assert!(Expr::compile(&json!({"@getField": "a.b"})).is_err());
    assert!(Expr::compile(&json!("$.a.b/c")).is_err());
}

#[test]
fn field_not_found_should_propagate_through_operators() {
    let r = eval(json!({"@eq": [{"@add": ["$.missing", 1]}, 2]}), json!({}));
    assert!(r.unwrap_err().is_field_not_found());
    let r = eval(
        json!({"@definedOr": ["$.missing", "$.x", 7]}),
        json!({"x": null}),
    );
    assert_eq!(r.unwrap(), Value::Int(7));
    let r = eval(
        json!({"@exists": {"@concat": ["$", ".a"]}}),
        json!({"a": 1}),
    );
    assert_eq!(r.unwrap(), Value::Bool(true));
}

#[test]
fn set_field_should_be_visible_to_later_reads_without_mutating_the_input() {
    let doc = Value::from(&json!({"a": 1}));
    let e =
        Expr::compile(&json!([{"@setField": ["$.b", 2]}, "$.b", {"@setField": ["$.c.d", "$.a"]}]))
            .unwrap();
    let r = e.eval(&EvalContext::new().with_document(&doc)).unwrap();
    assert_eq!(
        r,
        Value::from(&json!([{"a": 1, "b": 2}, 2, {"a": 1, "b": 2, "c": {"d": 1}}]))
    );
    assert_eq!(doc, Value::from(&json!({"a": 1})));
    // A second evaluation starts from the input again.
    let r2 = e.eval(&EvalContext::new().with_document(&doc)).unwrap();
    assert_eq!(r, r2);
    let m = eval(
        json!({"@map": [{"@setField": ["$$.seen", true]}, "$.items"]}),
        json!({"items": [{"n": 1}, {"n": 2}]}),
    );
    assert_eq!(
        m.unwrap(),
        Value::from(&json!([{"n": 1, "seen": true}, {"n": 2, "seen": true}]))
    );
}

#[test]
fn raw_scalar_arguments_should_stay_floats() {
    assert!(matches!(eval(json!({"@neg": 5}), json!({})), Ok(Value::Float(f)) if f == -5.0));
    assert!(matches!(
        eval(json!({"@neg": [5]}), json!({})),
        Ok(Value::Int(-5))
    ));
    assert!(Expr::compile(&json!({"@add": 5})).is_err());
    assert!(Expr::compile(&json!({"@bool": "true"})).is_err());
}

#[test]
fn callbacks_should_receive_evaluated_arguments() {
    let mut reg = Registry::new();
    reg.register_callback("@greet", "test", |args: &[Value]| {
        Ok(Value::from(format!(
            "hi {}",
            args.first().and_then(Value::as_str).unwrap_or("?")
        )))
    })
    .unwrap();
    let e = Expr::compile_with(&json!({"@greet": "$.name"}), &reg).unwrap();
    let doc = Value::from(&json!({"name": "bob"}));
    assert_eq!(
        e.eval(&EvalContext::new().with_document(&doc)).unwrap(),
        Value::from("hi bob")
    );
    assert_eq!(e.to_json(), json!({"@greet": ["$.name"]}));
    assert!(Expr::compile(&json!({"@greet": 1})).is_err());
}

#[test]
fn now_should_be_frozen_or_wall_clock() {
    let e = Expr::compile(&json!({"@now": null})).unwrap();
    assert!(e.is_time_variant());
    let frozen = e
        .eval(&EvalContext::new().with_now("2026-01-02T03:04:05Z"))
        .unwrap();
    assert_eq!(frozen, Value::from("2026-01-02T03:04:05Z"));
    let live = e.eval(&EvalContext::new()).unwrap();
    assert_eq!(live.as_str().map(str::len), Some(20));
}

#[test]
fn reading_a_document_path_directly_should_equal_evaluating_it() {
    let doc = Value::from(&json!({"a": {"b": [1, {"c": "x"}]}, "s": "t"}));
    let read = |e: &str| {
        let expr = Expr::compile_json(e).unwrap_or_else(|err| panic!("{e}: {err}"));
        let ctx = EvalContext::new().with_document(&doc).with_subject(&doc);
        (expr.read_document(&doc), expr.eval(&ctx))
    };
    for path in [
        r#""$.s""#,
        r#""$.a.b[1].c""#,
        r#""$.a.b[-1]""#,
        r#""$.a.b[*]""#,
        r#""$.missing.x""#,
        r#""$.s.x""#,
    ] {
        let (direct, evaluated) = read(path);
        let direct = direct.unwrap_or_else(|| panic!("{path} is a document path"));
        assert_eq!(format!("{direct:?}"), format!("{evaluated:?}"), "{path}");
    }
    // Comparisons of constants and simple document paths: read without cloning, with the
    // same value, or the error of the first operand that fails.
    let operands = [
        r#""$.s""#,
        r#""$.a.b[1]""#,
        r#""$.a.b[0]""#,
        r#""$.missing""#,
        r#""$.s.x""#,
        r#""t""#,
        "1",
        "1.0",
        "null",
        r#"{"@literal": {"c": "x"}}"#,
    ];
    for op in ["@eq", "@neq"] {
        for a in operands {
            for b in operands {
                let e = format!(r#"{{"{op}": [{a}, {b}]}}"#);
                let (direct, evaluated) = read(&e);
                let direct = direct.unwrap_or_else(|| panic!("{e} is a direct comparison"));
                assert_eq!(format!("{direct:?}"), format!("{evaluated:?}"), "{e}");
            }
        }
    }
    // Not a lone read of the document or such a comparison: evaluated the general way.
    for other in [
        r#""$""#,
        r#""$$.s""#,
        r#"{"@eq": ["$.a.b[*]", 1]}"#,
        r#"{"@eq": ["$$.s", "t"]}"#,
        r#"{"@eq": [{"@add": [1, 1]}, 2]}"#,
        r#"{"@gt": ["$.s", "t"]}"#,
        r#"["$.s"]"#,
        "1",
    ] {
        assert!(read(other).0.is_none(), "{other}");
    }
}
