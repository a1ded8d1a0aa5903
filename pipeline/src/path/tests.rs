//! Unit tests for path parsing, get, set and remove.

use super::*;

fn j(text: &str) -> Value {
    Value::from_json_str(text).unwrap()
}

fn get(path: &str, doc: &str) -> Result<Value, PathError> {
    Path::parse(path).unwrap().get(&j(doc))
}

#[test]
fn get_should_follow_keys_indexes_and_brackets() {
    let doc = r#"{"a":{"b":[10,20,{"c.d":"x"}]},"n":null}"#;
    assert_eq!(get("$.a.b[1]", doc).unwrap(), Value::Int(20));
    assert_eq!(get("$.a.b[-1]['c.d']", doc).unwrap(), Value::from("x"));
    assert_eq!(get(r#"$["a"]["b"][0]"#, doc).unwrap(), Value::Int(10));
    assert_eq!(get("$.n", doc).unwrap(), Value::Null);
    assert!(matches!(
        get("$.missing", doc),
        Err(PathError::FieldNotFound { .. })
    ));
    assert!(matches!(
        get("$.a.b[7]", doc),
        Err(PathError::FieldNotFound { .. })
    ));
}

#[test]
fn get_should_return_list_on_multi_match() {
    let doc = r#"{"items":[{"v":1},{"v":2},{"w":3}],"m":{"x":1,"y":2}}"#;
    assert_eq!(get("$.items[*].v", doc).unwrap(), j("[1,2]"));
    assert_eq!(get("$.m.*", doc).unwrap(), j("[1,2]"));
    assert_eq!(get("$..v", doc).unwrap(), j("[1,2]"));
    assert_eq!(get("$.items[0:2].v", doc).unwrap(), j("[1,2]"));
}

#[test]
fn filters_should_select_matching_elements() {
    let doc = r#"{"conds":[{"type":"Ready","status":"True"},{"type":"Synced","status":"False"},{"n":3}]}"#;
    assert_eq!(
        get("$.conds[?(@.type=='Ready')].status", doc).unwrap(),
        Value::from("True")
    );
    assert_eq!(
        get(r#"$.conds[?(@.type == "Synced" || @.n > 2)]"#, doc).unwrap(),
        j(r#"[{"type":"Synced","status":"False"},{"n":3}]"#)
    );
    assert_eq!(get("$.conds[?(@.n)].n", doc).unwrap(), Value::Int(3));
    assert_eq!(
        get("$.conds[?(@.type=='Ready' && @.status!='True')]", doc).map_err(|_| ()),
        Err(())
    );
}

#[test]
fn malformed_and_unrooted_paths_should_be_parse_errors() {
    for bad in ["$.a[", "$.a.b/c", "a.b", "", "$.", "$a", "$.a[?(@.x ==)]"] {
        assert!(
            matches!(Path::parse(bad), Err(PathError::Parse { .. })),
            "{bad} should not parse"
        );
    }
    assert_eq!(Path::parse("$$.x").unwrap().root(), Root::Subject);
    assert!(Path::parse("$").unwrap().is_root());
}

#[test]
fn set_should_create_intermediate_maps_and_reject_root() {
    let mut doc = j(r#"{"a":1}"#);
    Path::parse("$.b.c")
        .unwrap()
        .set(&mut doc, Value::Int(2))
        .unwrap();
    assert_eq!(doc, j(r#"{"a":1,"b":{"c":2}}"#));
    Path::parse("$.l")
        .unwrap()
        .set(&mut doc, j("[1,2]"))
        .unwrap();
    Path::parse("$.l[1]")
        .unwrap()
        .set(&mut doc, Value::Int(5))
        .unwrap();
    assert_eq!(doc.get("l"), Some(&j("[1,5]")));
    assert!(matches!(
        Path::parse("$").unwrap().set(&mut doc, Value::Null),
        Err(PathError::Root { .. })
    ));
    assert!(
        Path::parse("$.a.x")
            .unwrap()
            .set(&mut doc, Value::Null)
            .is_err()
    );
}

#[test]
fn set_should_not_alias_shared_values() {
    let original = j(r#"{"a":{"b":1}}"#);
    let mut copy = original.clone();
    Path::parse("$.a.b")
        .unwrap()
        .set(&mut copy, Value::Int(2))
        .unwrap();
    assert_eq!(original, j(r#"{"a":{"b":1}}"#));
    assert_eq!(copy, j(r#"{"a":{"b":2}}"#));
}

#[test]
fn remove_should_delete_the_selected_node() {
    let mut doc = j(r#"{"a":{"b":1,"c":2}}"#);
    let removed = Path::parse("$.a.b").unwrap().remove(&mut doc).unwrap();
    assert_eq!(removed, Value::Int(1));
    assert_eq!(doc, j(r#"{"a":{"c":2}}"#));
    assert!(Path::parse("$.a.zz").unwrap().remove(&mut doc).is_err());
}

#[test]
fn one_path_should_read_documents_of_different_shapes_in_any_order() {
    // The path remembers where it last found each key; documents that hold the keys at
    // other indexes, or not at all, must still read correctly.
    let path = Path::parse("$.spec.app").unwrap();
    let docs = [
        (r#"{"spec":{"app":"a"}}"#, Some("a")),
        (r#"{"a":1,"b":2,"spec":{"x":0,"y":0,"app":"b"}}"#, Some("b")),
        (r#"{"spec":{"app":"c","z":1}}"#, Some("c")),
        (r#"{"spec":{"zz":1}}"#, None),
        (r#"{"a":{"app":"no"},"spec":{"app":"d"}}"#, Some("d")),
        (r#"{"spec":{"x":0,"y":0,"app":"e"}}"#, Some("e")),
        // Keys are kept sorted: here `app` is second, and then another key is.
        (r#"{"spec":{"aa":0,"app":"f"}}"#, Some("f")),
        (r#"{"spec":{"app":"g","b":"not g"}}"#, Some("g")),
        (r#"{"spec":{"aa":0,"b":"no app"}}"#, None),
    ];
    for _ in 0..2 {
        for (doc, want) in docs {
            let got = path.get(&j(doc)).ok();
            assert_eq!(got, want.map(Value::from), "{doc}");
        }
    }
}

#[test]
fn a_path_below_its_top_field_should_read_that_field_s_document_alike() {
    let keys = [
        "k",
        "x.y",
        "a b",
        "q\"uote",
        "back\\slash",
        "",
        "*",
        "ünï",
        "-",
        "[0]",
        "$",
        "7",
    ];
    // Documents where each key holds a map, a list, a scalar, or is missing.
    let inner: Vec<Value> = keys
        .iter()
        .map(|k| Value::map([(*k, Value::list(vec![Value::map([("z", Value::Int(1))])]))]))
        .chain([j(r#"{"k": 3}"#), j("[1, 2]"), Value::Null])
        .collect();
    for (i, k) in keys.iter().enumerate() {
        let key = serde_json::to_string(k).unwrap();
        for (full, below) in [
            (format!("$.F[{key}]"), format!("$[{key}]")),
            (format!("$.F[{key}][0].z"), format!("$[{key}][0].z")),
            (format!("$['F'][{key}][-1]"), format!("$[{key}][-1]")),
            ("$.F[1]".to_owned(), "$[1]".to_owned()),
        ] {
            let path = Path::parse(&full).unwrap();
            let rest = path.below_top_field().unwrap();
            assert_eq!(
                rest.segments.len(),
                path.segments.len() - 1,
                "{full} -> {rest}"
            );
            // The same reads as the path written below the field by hand.
            assert_eq!(
                rest.segments.len(),
                Path::parse(&below).unwrap().segments.len()
            );
            for doc in &inner {
                let wrapped = Value::map([("F", doc.clone())]);
                assert_eq!(
                    rest.get(doc),
                    path.get(&wrapped).map_err(|_| rest.not_found()),
                    "{full} ({i}) on {doc}"
                );
            }
        }
    }
    for unsupported in [
        "$.F",
        "$",
        "$$.F.x",
        "$.F[*]",
        "$..F.x",
        "$.F.x[0:1]",
        "$[0].x",
    ] {
        let path = Path::parse(unsupported).unwrap();
        assert!(path.below_top_field().is_none(), "{unsupported}");
    }
}
