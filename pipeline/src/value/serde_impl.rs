//! `serde` support for [`Value`]: lossless numbers, sorted maps.
//!
//! Human-readable formats (JSON, YAML) get the JSON shape, with Go's number shapes. Binary
//! formats (those whose serializer is not human-readable, such as the bincode timely uses
//! to exchange rows between processes of the differential-dataflow backend) get a tagged
//! form that keeps every variant exactly, since they cannot describe themselves.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeTuple as _, Serializer};

use super::{Entries, List, Object, Str, Text, Value, float_as_exact_int, intern};

/// The tags of the binary form, one per variant.
mod tag {
    pub(super) const NULL: u8 = 0;
    pub(super) const BOOL: u8 = 1;
    pub(super) const INT: u8 = 2;
    pub(super) const FLOAT: u8 = 3;
    pub(super) const STRING: u8 = 4;
    pub(super) const LIST: u8 = 5;
    pub(super) const MAP: u8 = 6;
}

impl Serialize for Value {
    /// Serializes with Go's number shapes (an integral float is written as an integer), or
    /// in the exact binary form for serializers that are not human-readable.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return self.serialize_binary(s);
        }
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => match float_as_exact_int(*f) {
                Some(i) if f.abs() < 1e21 => s.serialize_i64(i),
                _ => s.serialize_f64(*f),
            },
            Value::String(st) => s.serialize_str(st),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for e in l.items() {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(&**k, v)?;
                }
                map.end()
            }
        }
    }
}

impl Value {
    /// The binary form: a pair of the variant's tag and its payload (items and entries as
    /// sequences).
    fn serialize_binary<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        match self {
            Value::Null => {
                t.serialize_element(&tag::NULL)?;
                t.serialize_element(&())?;
            }
            Value::Bool(b) => {
                t.serialize_element(&tag::BOOL)?;
                t.serialize_element(b)?;
            }
            Value::Int(i) => {
                t.serialize_element(&tag::INT)?;
                t.serialize_element(i)?;
            }
            Value::Float(f) => {
                t.serialize_element(&tag::FLOAT)?;
                t.serialize_element(f)?;
            }
            Value::String(st) => {
                t.serialize_element(&tag::STRING)?;
                t.serialize_element(&**st)?;
            }
            Value::List(l) => {
                t.serialize_element(&tag::LIST)?;
                t.serialize_element(&BinaryItems(l))?;
            }
            Value::Map(m) => {
                t.serialize_element(&tag::MAP)?;
                t.serialize_element(&BinaryEntries(m))?;
            }
        }
        t.end()
    }
}

/// A list's items as a sequence (of binary forms, the serializer being binary).
struct BinaryItems<'a>(&'a List);

impl Serialize for BinaryItems<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0.items() {
            seq.serialize_element(e)?;
        }
        seq.end()
    }
}

/// A map's entries as a sequence of `(key, value)` pairs.
struct BinaryEntries<'a>(&'a Object);

impl Serialize for BinaryEntries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            seq.serialize_element(&(&**k, v))?;
        }
        seq.end()
    }
}

/// Reads the binary form (see [`Value::serialize_binary`]).
struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value's tag and payload")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A) -> Result<T, A::Error> {
            seq.next_element()?
                .ok_or_else(|| de::Error::invalid_length(1, &"a tag and a payload"))
        }
        let tag: u8 = next(&mut seq)?;
        Ok(match tag {
            tag::NULL => {
                next::<A, ()>(&mut seq)?;
                Value::Null
            }
            tag::BOOL => Value::Bool(next(&mut seq)?),
            tag::INT => Value::Int(next(&mut seq)?),
            tag::FLOAT => Value::Float(next(&mut seq)?),
            tag::STRING => Value::String(Text::from(next::<A, String>(&mut seq)?)),
            tag::LIST => Value::list(next::<A, Vec<Value>>(&mut seq)?),
            tag::MAP => {
                let pairs: Vec<(String, Value)> = next(&mut seq)?;
                let mut out = Entries::with_capacity(pairs.len());
                for (k, v) in pairs {
                    out.push((intern(&k), v));
                }
                Value::Map(Object::from_interned_entries(out))
            }
            other => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(u64::from(other)),
                    &"a value tag from 0 to 6",
                ));
            }
        })
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-like value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        #[allow(clippy::cast_precision_loss)]
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        #[allow(clippy::cast_precision_loss)]
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        #[allow(clippy::cast_precision_loss)]
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(Text::from(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(Text::from(v)))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(e) = seq.next_element()? {
            out.push(e);
        }
        Ok(Value::list(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Entries::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some((k, v)) = map.next_entry::<Key, Value>()? {
            out.push((k.0, v));
        }
        Ok(Value::Map(Object::from_interned_entries(out)))
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Reads any JSON-like value from a human-readable format, or the binary form (see
    /// [`Serialize`]) from one that is not.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(ValueVisitor)
        } else {
            d.deserialize_tuple(2, BinaryVisitor)
        }
    }
}

/// A map key (interned): a string, or a scalar (YAML allows those) turned into its text.
struct Key(Str);

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key(intern(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Key, E> {
        Ok(Key(intern(&v)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
        Ok(Key(intern(&v.to_string())))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
        Ok(Key(intern(&v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
        Ok(Key(intern(&v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
        Ok(Key(intern(&v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key(intern("null")))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}
