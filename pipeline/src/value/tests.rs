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

// ---------------------------------------------------------------------------------------
// Interned keys.

/// A key with the same bytes as `s` in an allocation of its own (never the interned one).
fn fresh(s: &str) -> Str {
    Str::from(s)
}

#[test]
fn map_keys_should_be_interned_on_every_construction_path() {
    let built = Value::map([("metadata", Value::Null), ("name", Value::Int(1))]);
    let parsed = j(r#"{"metadata": null, "name": 1}"#);
    let yaml = from_yaml("metadata: null\nname: 1\n").unwrap();
    for v in [&built, &parsed, &yaml] {
        let m = v.as_map().unwrap();
        assert!(m.keys().all(intern::is_interned), "{v}");
    }
    let mut o = Object::new();
    o.insert(fresh("metadata"), Value::Null);
    o.insert(String::from("name"), Value::Null);
    assert!(o.keys().all(intern::is_interned));
    let (a, b) = (built.as_map().unwrap(), parsed.as_map().unwrap());
    assert!(a.keys().zip(b.keys()).all(|(x, y)| Arc::ptr_eq(x, y)));
}

#[test]
fn non_interned_key_with_equal_bytes_should_still_be_found() {
    let small = Value::map([("a", Value::Int(1)), ("name", Value::Int(2))]);
    let many: Vec<(String, Value)> = (0..40)
        .map(|i| (format!("k{i:02}"), Value::Int(i)))
        .collect();
    let big = Value::map(many);
    for (m, key, want) in [(&small, "name", 2), (&big, "k17", 17), (&big, "k39", 39)] {
        let owned = String::from(key);
        assert_eq!(m.get(&owned), Some(&Value::Int(want)));
        assert_eq!(m.get(&fresh(key)), Some(&Value::Int(want)));
        assert_eq!(m.get(&intern(key)), Some(&Value::Int(want)));
    }
    assert_eq!(small.get(&fresh("nam")), None);
    assert_eq!(big.get(&fresh("k40")), None);
    // A map whose keys are *not* interned (stored as given) is searched by bytes too.
    let stored = Object::from_interned(vec![
        (fresh("x"), Value::Int(1)),
        (fresh("y"), Value::Int(2)),
    ]);
    assert_eq!(stored.get(&intern("y")), Some(&Value::Int(2)));
    assert_eq!(stored.get("x"), Some(&Value::Int(1)));
}

#[test]
fn from_interned_should_sort_and_keep_the_last_duplicate() {
    let o = Object::from_interned(vec![
        (intern("b"), Value::Int(1)),
        (intern("a"), Value::Int(2)),
        (fresh("b"), Value::Int(3)),
        (intern("b"), Value::Int(4)),
    ]);
    let keys: Vec<&str> = o.keys().map(|k| &**k).collect();
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(o.get("b"), Some(&Value::Int(4)));
    assert_eq!(Value::from(o), j(r#"{"a": 2, "b": 4}"#));
}

mod interned_vs_fresh {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-d]{0,3}",
            1 => "[a-b]{63,66}",
        ]
    }

    fn entries() -> impl Strategy<Value = Vec<(String, i64)>> {
        prop::collection::vec((key(), -3i64..3), 0..24)
    }

    /// The same entries built through the interner and with fresh, uninterned keys.
    fn both(e: &[(String, i64)]) -> (Object, Object) {
        let interned = Object::from_entries(e.iter().map(|(k, v)| (k.as_str(), Value::Int(*v))));
        let mut by_insert = Object::new();
        for (k, v) in e {
            by_insert.insert(fresh(k), Value::Int(*v));
        }
        let stored = Object::from_interned(e.iter().map(|(k, v)| (fresh(k), Value::Int(*v))));
        assert_eq!(interned, by_insert);
        (interned, stored)
    }

    fn model(e: &[(String, i64)]) -> BTreeMap<String, i64> {
        e.iter().cloned().collect()
    }

    proptest! {
        #[test]
        fn maps_from_interned_and_fresh_keys_should_agree(a in entries(), b in entries(), probes in prop::collection::vec(key(), 0..8)) {
            let (ai, af) = both(&a);
            let (bi, bf) = both(&b);
            let (ma, mb) = (model(&a), model(&b));
            prop_assert_eq!(&ai, &af);
            prop_assert_eq!(ai.hash64(), af.hash64());
            prop_assert_eq!(Value::from(ai.clone()).cmp(&Value::from(af.clone())), Ordering::Equal);
            for (x, y) in [(&ai, &bi), (&ai, &bf), (&af, &bi), (&af, &bf)] {
                prop_assert_eq!(x == y, ma == mb);
                prop_assert_eq!(Value::from(x.clone()).cmp(&Value::from(y.clone())), ma.cmp(&mb));
                if ma == mb {
                    prop_assert_eq!(x.hash64(), y.hash64());
                }
            }
            let keys: Vec<&str> = af.keys().map(|k| &**k).collect();
            let want: Vec<&str> = ma.keys().map(String::as_str).collect();
            prop_assert_eq!(keys, want);
            // The builders from sorted, pre-hashed keys build the same maps.
            let sorted: Vec<(Str, u64)> = ma.keys().map(|k| (intern(k), key_hash(k))).collect();
            prop_assert!(keys_strictly_sorted(sorted.iter().map(|(k, _)| k)));
            let built = Object::from_sorted_keys(&sorted, ma.values().map(|v| Value::Int(*v)));
            prop_assert_eq!(&built, &ai);
            prop_assert_eq!(built.hash64(), ai.hash64());
            if let Some((k, v)) = ma.iter().next() {
                let one = Object::single(&intern(k), key_hash(k), Value::Int(*v));
                let want = Object::from_entries([(k.as_str(), Value::Int(*v))]);
                prop_assert_eq!(one.hash64(), want.hash64());
                prop_assert_eq!(one, want);
            }
            if a.len() >= 2 {
                let unsorted: Vec<Str> = a.iter().rev().map(|(k, _)| intern(k)).collect();
                prop_assert_eq!(
                    keys_strictly_sorted(&unsorted),
                    a.windows(2).all(|w| w[1].0 < w[0].0)
                );
            }
            for k in probes.iter().chain(a.iter().map(|(k, _)| k)) {
                let want = ma.get(k).map(|v| Value::Int(*v));
                for m in [&ai, &af] {
                    prop_assert_eq!(m.get(k).cloned(), want.clone());
                    prop_assert_eq!(m.get(&fresh(k)).cloned(), want.clone());
                    prop_assert_eq!(m.get(&intern(k)).cloned(), want.clone());
                    prop_assert_eq!(m.contains_key(k), want.is_some());
                }
            }
        }
    }
}

/// Maps growing and shrinking across the inline capacity ([`INLINE`] entries stored in
/// the `Arc`'s allocation, more in a separate buffer) behave like maps built at once.
mod inline_boundary {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// The hash of a map recomputed from its entries, independently of the cached word.
    fn recomputed_hash(o: &Object) -> u64 {
        let sum = o
            .iter()
            .fold(0u64, |acc, (k, v)| acc.wrapping_add(entry_hash(k, v)));
        mix(TAG_MAP, sum ^ o.len() as u64)
    }

    /// `o` against the model: same entries in order, and equal (with equal hash and
    /// order) to the map built from the model in one go.
    fn check(o: &Object, model: &BTreeMap<String, i64>) {
        let built = Object::from_entries(model.iter().map(|(k, v)| (k.as_str(), Value::Int(*v))));
        assert_eq!(o.len(), model.len());
        assert_eq!(o.is_empty(), model.is_empty());
        let got: Vec<(String, i64)> = o
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_i64().unwrap()))
            .collect();
        let want: Vec<(String, i64)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(got, want);
        assert_eq!(o, &built);
        assert_eq!(o.hash64(), built.hash64());
        assert_eq!(o.hash64(), recomputed_hash(o));
        assert_eq!(
            Value::from(o.clone()).cmp(&Value::from(built.clone())),
            Ordering::Equal
        );
        assert!(Value::from(o.clone()).deep_eq(&Value::from(built)));
        for (k, v) in model {
            assert_eq!(o.get(k), Some(&Value::Int(*v)));
        }
    }

    #[test]
    fn growing_and_shrinking_across_the_inline_capacity_should_match_a_fresh_map() {
        let keys: Vec<String> = (0..3 * GATHER_INLINE).map(|i| format!("k{i:02}")).collect();
        let mut o = Object::new();
        let mut model = BTreeMap::new();
        // Grow (odd keys descending, then even keys: inserts at the front and in the
        // middle), then modify, then shrink.
        for (i, k) in keys
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .rev()
            .chain(keys.iter().enumerate().filter(|(i, _)| i % 2 == 0))
        {
            let v = i64::try_from(i).unwrap();
            assert_eq!(o.insert(k.as_str(), Value::Int(v)), None);
            model.insert(k.clone(), v);
            check(&o, &model);
        }
        for k in &keys {
            let v = model.get(k).copied().unwrap() * 10;
            o.modify(k, |x| *x = Value::Int(v)).unwrap();
            model.insert(k.clone(), v);
            check(&o, &model);
        }
        for k in &keys {
            assert_eq!(o.remove(k), model.remove(k).map(Value::Int));
            check(&o, &model);
        }
        assert!(o.is_empty());
    }

    #[test]
    fn merged_should_let_the_right_side_win_across_the_inline_capacity() {
        for n in 0..=2 * GATHER_INLINE + 1 {
            for m in 0..=2 * GATHER_INLINE + 1 {
                let left =
                    Object::from_entries((0..n).map(|i| (format!("k{:02}", 2 * i), Value::Int(1))));
                let right =
                    Object::from_entries((0..m).map(|i| (format!("k{:02}", 3 * i), Value::Int(2))));
                let mut model = BTreeMap::new();
                model.extend((0..n).map(|i| (format!("k{:02}", 2 * i), 1)));
                model.extend((0..m).map(|i| (format!("k{:02}", 3 * i), 2)));
                check(&Object::merged(&left, &right), &model);
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, i64),
        Remove(String),
        Modify(String, i64),
        /// Keep a clone (sharing the allocation) and the model as they are now.
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = "[a-l]";
        prop_oneof![
            3 => (key, -3i64..3).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => key.prop_map(Op::Remove),
            1 => (key, -3i64..3).prop_map(|(k, v)| Op::Modify(k, v)),
            1 => Just(Op::Snapshot),
        ]
    }

    proptest! {
        #[test]
        fn any_edit_sequence_should_match_the_model(ops in prop::collection::vec(op(), 0..40)) {
            let mut o = Object::new();
            let mut model = BTreeMap::new();
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    Op::Snapshot => snapshots.push((o.clone(), model.clone())),
                    Op::Insert(k, v) => {
                        prop_assert_eq!(o.insert(k.as_str(), Value::Int(v)), model.insert(k, v).map(Value::Int));
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(o.remove(&k), model.remove(&k).map(Value::Int));
                    }
                    Op::Modify(k, v) => {
                        let r = o.modify(&k, |x| std::mem::replace(x, Value::Int(v)));
                        prop_assert_eq!(r, model.get_mut(&k).map(|x| Value::Int(std::mem::replace(x, v))));
                    }
                }
                check(&o, &model);
            }
            // An edit of a shared map copied it: every clone still holds what it held.
            for (clone, model) in &snapshots {
                check(clone, model);
            }
        }

        #[test]
        fn get_hinted_should_find_what_get_finds_whatever_the_hint(
            maps in prop::collection::vec(prop::collection::vec(("[a-h]", -3i64..3), 0..10), 1..8),
            lookups in prop::collection::vec(("[a-i]", 0usize..8, 0u32..12), 0..40),
        ) {
            let maps: Vec<Object> = maps
                .iter()
                .map(|m| Object::from_entries(m.iter().map(|(k, v)| (k.as_str(), Value::Int(*v)))))
                .collect();
            for (key, which, start) in lookups {
                let map = &maps[which % maps.len()];
                let key = intern(&key);
                let hint = std::sync::atomic::AtomicU32::new(start);
                prop_assert_eq!(map.get_hinted(&key, &hint), map.get(&key));
                // A found key leaves its index as the hint, and is found there again.
                if map.get(&key).is_some() {
                    let at = hint.load(std::sync::atomic::Ordering::Relaxed) as usize;
                    prop_assert!(map.iter().nth(at).is_some_and(|(k, _)| **k == *key));
                    prop_assert_eq!(map.get_hinted(&key, &hint), map.get(&key));
                }
            }
        }

        #[test]
        fn merged_should_match_inserting_the_right_side(a in prop::collection::vec(("[a-l]", -3i64..3), 0..12), b in prop::collection::vec(("[a-l]", -3i64..3), 0..12)) {
            let left = Object::from_entries(a.iter().map(|(k, v)| (k.as_str(), Value::Int(*v))));
            let right = Object::from_entries(b.iter().map(|(k, v)| (k.as_str(), Value::Int(*v))));
            let mut by_insert = left.clone();
            for (k, v) in right.iter() {
                by_insert.insert(Arc::clone(k), v.clone());
            }
            let merged = Object::merged(&left, &right);
            prop_assert_eq!(&merged, &by_insert);
            prop_assert_eq!(merged.hash64(), by_insert.hash64());
            prop_assert_eq!(merged.hash64(), recomputed_hash(&merged));
        }
    }

    proptest! {
        #[test]
        fn a_builder_should_build_what_from_entries_builds(
            start in prop::collection::vec(("[a-h]", -3i64..3), 0..10),
            ops in prop::collection::vec(("[a-j]", prop::option::of(-3i64..3)), 0..30),
        ) {
            let base = Object::from_entries(start.iter().map(|(k, v)| (k.as_str(), Value::Int(*v))));
            let mut model: BTreeMap<String, i64> = start.iter().cloned().collect();
            let mut builder = ObjectBuilder::from_object(&base);
            for (k, v) in ops {
                match v {
                    Some(v) => {
                        builder.insert_interned(intern(&k), Value::Int(v));
                        model.insert(k, v);
                    }
                    None => prop_assert_eq!(builder.remove(&k), model.remove(&k).map(Value::Int)),
                }
            }
            let built = builder.build();
            check(&built, &model);
            prop_assert_eq!(built.hash64(), recomputed_hash(&built));
        }
    }
}

/// The binary serde form (what the differential-dataflow backend's processes exchange) keeps
/// every value exactly, floats with integral values and key order included, while JSON keeps
/// its Go number shapes.
mod binary_form {
    use proptest::prelude::*;

    use super::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-1e6f64..1e6).prop_map(Value::Float),
            (-100i32..100).prop_map(|i| Value::Float(f64::from(i))),
            "[a-z0-9 é]{0,30}".prop_map(|s| Value::String(Text::from(s.as_str()))),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::list),
                prop::collection::vec(("[a-e]{1,3}", inner), 0..6).prop_map(|entries| {
                    Value::Map(Object::from_entries(
                        entries.iter().map(|(k, v)| (k.as_str(), v.clone())),
                    ))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn values_should_survive_the_binary_form_exactly(v in value()) {
            let bytes = bincode::serialize(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: Value = bincode::deserialize(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(format!("{back:?}"), format!("{v:?}"));
            prop_assert_eq!(back.hash64(), v.hash64());
            prop_assert_eq!(&back, &v);
        }
    }

    #[test]
    fn json_should_keep_go_number_shapes_and_a_bad_tag_should_be_an_error() {
        assert_eq!(serde_json::to_string(&Value::Float(2.0)).unwrap(), "2");
        let bytes = bincode::serialize(&(9u8, ())).unwrap();
        let err = bincode::deserialize::<Value>(&bytes)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a value tag from 0 to 6"), "{err}");
    }
}
