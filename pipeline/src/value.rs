//! The document value: the hot data of the whole system.
//!
//! [`Value`] is a JSON-like tree with separate [`Value::Int`] and [`Value::Float`] variants.
//! Clones are cheap: lists, maps and long strings sit behind [`Arc`]s, so cloning a row
//! never copies it, and short strings (up to 23 bytes, see [`Text`]) are stored inline.
//! Maps are [`Object`]s, one allocation each, which keep their entries sorted by key and carry a
//! hash computed at construction (and maintained incrementally on mutation), so hashing a
//! map row is O(1) and equality can stop early on a hash mismatch or on shared pointers.
//!
//! # Row identity
//!
//! `PartialEq`, `Eq`, `Hash` and `Ord` implement *row identity*: two values are the same
//! element iff their canonical JSON is the same. In particular numbers are normalized:
//! `Int(3)` and `Float(3.0)` are equal and hash equal, at any depth. `Ord` is a total order
//! consistent with that equality (all NaNs are equal and sort above every other number).
//!
//! The expression language's `@eq` uses a different, stricter equality, see
//! [`Value::deep_eq`].

use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};

use smallvec::SmallVec;
use triomphe::ThinArc;

mod intern;
mod json;
mod list;
mod serde_impl;
mod yaml;

pub use json::{JsonError, canonical_json, write_canonical_json};
pub use list::List;
pub use yaml::{YamlError, from_yaml, to_yaml};

pub(crate) use intern::intern;
pub(crate) use json::{format_go_float_f, format_go_value};

/// A shared, immutable string, as stored as map keys.
///
/// Map keys of up to 64 bytes are interned: every map holding a key shares one
/// allocation of it, whatever built the map.
pub type Str = Arc<str>;

/// An immutable string value, as stored in [`Value::String`]: inline when it is short (up
/// to 23 bytes: the names, namespaces, labels, IPs and phases that make up most of a
/// Kubernetes object's strings), shared behind an `Arc` when longer.
///
/// A short string costs no allocation: building, cloning and dropping it copies 24 bytes
/// and touches no other memory, and reading it reads the map entry or list item that holds
/// it (no reference count to update, no second cache line to fetch). Equality, order and
/// hash are those of the text.
pub type Text = smol_str::SmolStr;

/// A document value.
///
/// `Eq`, `Hash` and `Ord` are *row identity*: two values are equal iff their canonical
/// JSON is the same, so numbers are normalized (`Int(3) == Float(3.0)`, at any depth, with
/// equal hashes). `Ord` is a total order consistent with that (nulls, bools, numbers,
/// strings, lists, maps; all NaNs are equal and sort above every other number). Maps hash
/// in O(1) (the hash is cached) and compare with early exits on hash mismatch and shared
/// pointers. The expression language's `@eq` is [`Value::deep_eq`] instead.
#[derive(Clone, Default)]
pub enum Value {
    /// JSON `null`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer (an integral JSON number).
    Int(i64),
    /// A 64-bit float (a JSON number with a `.`, `e` or `E`).
    Float(f64),
    /// A string (inline when short, see [`Text`]).
    String(Text),
    /// A list (which caches its hash, see [`List`]).
    List(Arc<List>),
    /// A map with sorted keys and a cached hash.
    Map(Object),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(l) => f.debug_list().entries(l.items()).finish(),
            Value::Map(m) => fmt::Debug::fmt(m, f),
        }
    }
}

impl fmt::Display for Value {
    /// Formats the value as canonical JSON (see [`canonical_json`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_canonical_json(self, &mut s);
        f.write_str(&s)
    }
}

// ---------------------------------------------------------------------------------------
// Hashing.

const SEED: u64 = 0x5eed_de17_a100_9001;
const TAG_NULL: u64 = 0x6e75_6c6c;
const TAG_BOOL: u64 = 0x626f_6f6c;
const TAG_NUM: u64 = 0x6e75_6d62;
const TAG_FLOAT: u64 = 0x666c_6f61;
const TAG_STR: u64 = 0x7374_7269;
const TAG_LIST: u64 = 0x6c69_7374;
const TAG_MAP: u64 = 0x6d61_7073;

/// Mixes two 64-bit words (folded multiply).
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let m = u128::from(a ^ 0x9e37_79b9_7f4a_7c15) * u128::from(b ^ 0xa076_1d64_78bd_642f);
    // Truncations are the point of a folded multiply.
    #[allow(clippy::cast_possible_truncation)]
    let (lo, hi) = (m as u64, (m >> 64) as u64);
    lo ^ hi
}

#[inline]
fn hash_str(s: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(SEED).hash_one(s)
}

/// The integral value of `f` when it is exactly representable as an `i64`.
#[inline]
pub(crate) fn float_as_exact_int(f: f64) -> Option<i64> {
    // 2^63 as f64; the range [-2^63, 2^63) is exactly the i64 range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        #[allow(clippy::cast_possible_truncation)]
        Some(f as i64)
    } else {
        None
    }
}

impl Value {
    /// The structural 64-bit hash of the value (number-normalized, O(1) for maps and for
    /// lists hashed before: both cache it).
    ///
    /// The hash is deterministic across processes and platforms.
    #[must_use]
    pub fn hash64(&self) -> u64 {
        match self {
            Value::Null => TAG_NULL,
            Value::Bool(b) => mix(TAG_BOOL, u64::from(*b)),
            Value::Int(i) => mix(TAG_NUM, i.cast_unsigned()),
            Value::Float(f) => match float_as_exact_int(*f) {
                Some(i) => mix(TAG_NUM, i.cast_unsigned()),
                None if f.is_nan() => mix(TAG_FLOAT, f64::NAN.to_bits()),
                None => mix(TAG_FLOAT, f.to_bits()),
            },
            Value::String(s) => mix(TAG_STR, hash_str(s)),
            Value::List(l) => l.hash64(),
            Value::Map(m) => m.hash64(),
        }
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

// ---------------------------------------------------------------------------------------
// Identity equality and order.

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) => 2,
        Value::String(_) => 3,
        Value::List(_) => 4,
        Value::Map(_) => 5,
    }
}

/// Compares an int with a float exactly; NaN sorts above every number.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || f >= LIMIT {
        return Ordering::Less;
    }
    if f < -LIMIT {
        return Ordering::Greater;
    }
    let t = f.trunc();
    #[allow(clippy::cast_possible_truncation)]
    let ti = t as i64;
    i.cmp(&ti).then_with(|| {
        let fr = f - t;
        if fr > 0.0 {
            Ordering::Less
        } else if fr < 0.0 {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    })
}

fn cmp_float(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // Neither is NaN: partial_cmp is total here, and -0.0 == 0.0.
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn cmp_numbers(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(x), Value::Float(y)) => cmp_int_float(*x, *y),
        (Value::Float(x), Value::Int(y)) => cmp_int_float(*y, *x).reverse(),
        (Value::Float(x), Value::Float(y)) => cmp_float(*x, *y),
        _ => Ordering::Equal,
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                cmp_numbers(self, other) == Ordering::Equal
            }
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.len() == b.len()
                        && !matches!((a.cached_hash(), b.cached_hash()), (Some(x), Some(y)) if x != y)
                        && a.items_eq(b))
            }
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                cmp_numbers(self, other)
            }
            (Value::String(a), Value::String(b)) => key_cmp(a, b),
            (Value::List(a), Value::List(b)) => {
                if Arc::ptr_eq(a, b) {
                    Ordering::Equal
                } else {
                    a.items_cmp(b)
                }
            }
            (Value::Map(a), Value::Map(b)) => {
                if Object::ptr_eq(a, b) {
                    Ordering::Equal
                } else {
                    let (a, b) = (a.entries(), b.entries());
                    a.iter()
                        .zip(b.iter())
                        .map(|((ka, va), (kb, vb))| key_cmp(ka, kb).then_with(|| va.cmp(vb)))
                        .find(|o| o.is_ne())
                        .unwrap_or_else(|| a.len().cmp(&b.len()))
                }
            }
            _ => type_rank(self).cmp(&type_rank(other)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Accessors and constructors.

impl Value {
    /// The name of the value's type, as used in error messages:
    /// `null`, `bool`, `int`, `float`, `string`, `list` or `map`.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Whether the value is `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether the value is an int or a float.
    #[must_use]
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }

    /// The string slice, if the value is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if the value is a list.
    #[must_use]
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The map, if the value is a map.
    #[must_use]
    pub fn as_map(&self) -> Option<&Object> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The integer, if the value is an int.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float, if the value is an int or a float.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The boolean, if the value is a bool.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Looks up `key` if the value is a map.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Builds a list value.
    #[must_use]
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(List::from(items)))
    }

    /// Builds a map value from key/value pairs (a later duplicate key wins).
    pub fn map<K: AsRef<str> + Into<Str>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Object::from_entries(entries))
    }

    /// Builds a string value.
    pub fn string(s: impl Into<Text>) -> Value {
        Value::String(s.into())
    }

    /// The `@eq` deep equality of the expression language.
    ///
    /// At the top level two numbers compare by value (`1 == 1.0`). Everything else is
    /// structural **without** numeric normalization inside containers (`{a: 1} != {a: 1.0}`),
    /// floats compare with IEEE `==` (NaN is unequal to itself) and `"1" != 1`.
    #[must_use]
    pub fn deep_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                match (self.as_f64(), other.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                }
            }
            _ => strict_eq(self, other),
        }
    }
}

/// Structural equality without numeric normalization (Go's `reflect.DeepEqual`).
fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.items().zip(y.items()).all(|(p, q)| strict_eq(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && strict_eq(v1, v2))
        }
        _ => false,
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl From<Str> for Value {
    fn from(s: Str) -> Self {
        Value::String(s.into())
    }
}
impl From<Text> for Value {
    fn from(s: Text) -> Self {
        Value::String(s)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::list(v)
    }
}
impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Map(o)
    }
}

// ---------------------------------------------------------------------------------------
// Object.

/// A map with entries sorted by key and a cached structural hash.
///
/// Keys are interned when the map is built (see [`Str`]). A lookup first looks for the
/// very same key allocation among the entries of a small map (which finds an interned key
/// without reading any key's bytes), then binary-searches by bytes, so a key that was not
/// interned is found all the same. The hash is the (commutative) sum of per-entry hashes,
/// so inserting or removing an entry updates it in O(1) plus the hash of the entry's value
/// (itself O(1) for nested maps).
///
/// A map is one allocation of exactly its size: the reference count, the hash sum, the
/// length and the entries, behind a one-word pointer (a [`ThinArc`]). Building a map costs
/// one `malloc`, dropping it one `free`, and reading it one cache miss (plus one per 64
/// bytes of entries). Clones share the allocation; a change through `&mut` changes it in
/// place when it is not shared and the number of entries stays the same (a replaced or
/// modified value), and otherwise builds a new one, as a map is mostly read after it is
/// built. To build a map of many entries, gather them first ([`Object::from_entries`]).
#[derive(Clone)]
pub struct Object {
    /// Header: the sum of the entries' hashes. The slice: the entries, sorted by key.
    inner: ThinArc<u64, (Str, Value)>,
}

/// Entries gathered to build an [`Object`] from, without a heap allocation up to
/// [`GATHER_INLINE`] of them.
pub(crate) type Entries = SmallVec<[(Str, Value); GATHER_INLINE]>;

/// How many entries an [`Entries`] gathers on the stack (the levels of a Kubernetes object
/// mostly have fewer).
const GATHER_INLINE: usize = 8;

/// The byte order of two strings (the order of `str`), deciding on the same allocation
/// (an interned key) without reading any byte, then on the first byte inline: the keys of
/// one map mostly differ in their first byte, so a binary search by bytes calls `memcmp`
/// about once instead of once per probe.
#[inline]
fn key_cmp(a: &str, b: &str) -> Ordering {
    if std::ptr::eq(a, b) {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

#[inline]
fn entry_hash(k: &str, v: &Value) -> u64 {
    hashed_entry(key_hash(k), v)
}

/// [`entry_hash`] of a key whose [`key_hash`] is already known: a map's hash is the sum of
/// these over its entries.
#[inline]
fn hashed_entry(key_hash: u64, v: &Value) -> u64 {
    mix(key_hash, v.hash64())
}

/// A map key's part of its entries' hashes, for builders that hash their keys once
/// ([`Object::from_sorted_keys`], [`Object::single`]).
#[inline]
pub(crate) fn key_hash(k: &str) -> u64 {
    hash_str(k)
}

/// Whether the keys are strictly increasing in map order (sorted, no duplicates), as
/// [`Object::from_sorted_keys`] needs them.
pub(crate) fn keys_strictly_sorted<'a>(keys: impl IntoIterator<Item = &'a Str>) -> bool {
    let mut previous: Option<&Str> = None;
    keys.into_iter().all(|k| {
        let increasing = previous.is_none_or(|p| key_cmp(p, k) == Ordering::Less);
        previous = Some(k);
        increasing
    })
}

/// Up to this many entries, a lookup scans for a pointer-equal key before binary
/// searching: comparing the entries' inline fat pointers touches one or a few cache lines,
/// where each binary-search probe dereferences a key.
const POINTER_SCAN_MAX: usize = 16;

/// Whether the entries' keys are strictly increasing (sorted, no duplicates).
fn strictly_sorted(entries: &[(Str, Value)]) -> bool {
    keys_strictly_sorted(entries.iter().map(|(k, _)| k))
}

impl Default for Object {
    fn default() -> Self {
        Object::from_parts(0, std::iter::empty())
    }
}

impl Object {
    /// An empty map.
    #[must_use]
    pub fn new() -> Object {
        Object::default()
    }

    /// The map of `entries` (strictly increasing keys) whose hashes sum to `entry_sum`.
    #[inline]
    fn from_parts(entry_sum: u64, entries: impl ExactSizeIterator<Item = (Str, Value)>) -> Object {
        Object {
            inner: ThinArc::from_header_and_iter(entry_sum, entries),
        }
    }

    /// Builds a map from key/value pairs; a later duplicate key wins.
    pub fn from_entries<K: AsRef<str> + Into<Str>>(
        entries: impl IntoIterator<Item = (K, Value)>,
    ) -> Object {
        Object::from_interned(
            entries
                .into_iter()
                .map(|(k, v)| (intern::intern_owned(k), v)),
        )
    }

    /// Builds a map from entries whose keys are already interned (compiled keys, or keys
    /// of other maps); a later duplicate key wins. Keys are stored as they are: one that
    /// is not interned still works, only its lookups miss the pointer fast path. Entries
    /// already in strictly increasing key order (a compiled `@dict`) are not sorted again.
    #[inline]
    pub(crate) fn from_interned(entries: impl IntoIterator<Item = (Str, Value)>) -> Object {
        Object::from_interned_entries(entries.into_iter().collect())
    }

    /// The map of `keys` (strictly increasing, each with its [`key_hash`]) and `values`, in
    /// order: what [`from_interned`](Self::from_interned) builds from the pairs, without
    /// sorting or hashing the keys again, and without gathering the values first (each is
    /// moved into the map as it comes). Extra keys or values are ignored.
    pub(crate) fn from_sorted_keys<I>(keys: &[(Str, u64)], values: I) -> Object
    where
        I: IntoIterator<Item = Value>,
        I::IntoIter: ExactSizeIterator,
    {
        let mut entry_sum = 0u64;
        let entries = keys.iter().zip(values).map(|((k, h), v)| {
            entry_sum = entry_sum.wrapping_add(hashed_entry(*h, &v));
            (Arc::clone(k), v)
        });
        let mut inner = ThinArc::from_header_and_iter(0, entries);
        // The map was just built: nothing else holds it, so its header can be written.
        let written = inner
            .with_arc_mut(|arc| triomphe::Arc::get_mut(arc).map(|m| *m.header_mut() = entry_sum));
        match written {
            Some(()) => Object { inner },
            None => Object::from_parts(entry_sum, inner.slice.iter().cloned()),
        }
    }

    /// The map of one entry: `key` (with its [`key_hash`]) and `value`.
    #[inline]
    pub(crate) fn single(key: &Str, key_hash: u64, value: Value) -> Object {
        Object::from_parts(
            hashed_entry(key_hash, &value),
            std::iter::once((Arc::clone(key), value)),
        )
    }

    /// [`from_interned`](Self::from_interned) for entries already gathered in an
    /// [`Entries`].
    #[inline]
    pub(crate) fn from_interned_entries(mut v: Entries) -> Object {
        if !strictly_sorted(&v) {
            // Stable sort keeps input order among equal keys; keep the last one.
            v.sort_by(|a, b| key_cmp(&a.0, &b.0));
            v.dedup_by(|later, earlier| {
                if earlier.0 == later.0 {
                    std::mem::swap(&mut earlier.1, &mut later.1);
                    true
                } else {
                    false
                }
            });
        }
        let entry_sum = v
            .iter()
            .fold(0u64, |acc, (k, v)| acc.wrapping_add(entry_hash(k, v)));
        Object::from_parts(entry_sum, v.into_iter())
    }

    /// The entries, sorted by key.
    #[inline]
    fn entries(&self) -> &[(Str, Value)] {
        &self.inner.slice
    }

    /// Whether `a` and `b` share one allocation (and so are equal).
    #[must_use]
    #[inline]
    pub fn ptr_eq(a: &Object, b: &Object) -> bool {
        a.inner.ptr() == b.inner.ptr()
    }

    /// The address of the map's allocation (shared by its clones).
    #[must_use]
    #[inline]
    pub(crate) fn addr(&self) -> usize {
        self.inner.ptr().addr()
    }

    /// The shallow merge of two maps: every entry of both, the entry of `right` winning
    /// on a key both hold. One pass over the two sorted entry lists; the hash is derived
    /// from the two cached hashes (only the entries `right` overrides are hashed).
    #[must_use]
    pub fn merged(left: &Object, right: &Object) -> Object {
        let (a, b) = (left.entries(), right.entries());
        if a.is_empty() {
            return right.clone();
        }
        if b.is_empty() {
            return left.clone();
        }
        let mut out = Entries::with_capacity(a.len() + b.len());
        let mut entry_sum = left.entry_sum().wrapping_add(right.entry_sum());
        let (mut i, mut j) = (0, 0);
        while let (Some((ka, va)), Some((kb, vb))) = (a.get(i), b.get(j)) {
            match key_cmp(ka, kb) {
                Ordering::Less => {
                    out.push((Arc::clone(ka), va.clone()));
                    i += 1;
                }
                Ordering::Greater => {
                    out.push((Arc::clone(kb), vb.clone()));
                    j += 1;
                }
                Ordering::Equal => {
                    entry_sum = entry_sum.wrapping_sub(entry_hash(ka, va));
                    out.push((Arc::clone(kb), vb.clone()));
                    i += 1;
                    j += 1;
                }
            }
        }
        let rest = a.get(i..).unwrap_or_default().iter();
        out.extend(rest.chain(b.get(j..).unwrap_or_default()).cloned());
        Object::from_parts(entry_sum, out.into_iter())
    }

    /// The cached structural hash of the map.
    #[must_use]
    #[inline]
    pub fn hash64(&self) -> u64 {
        mix(TAG_MAP, self.entry_sum() ^ self.len() as u64)
    }

    /// The sum of the entries' hashes.
    #[inline]
    fn entry_sum(&self) -> u64 {
        self.inner.header.header
    }

    /// The number of entries.
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        self.inner.header.length
    }

    /// Whether the map is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of `key`, or where it would be inserted.
    #[inline]
    fn position(&self, key: &str) -> Result<usize, usize> {
        let entries = self.entries();
        if entries.len() <= POINTER_SCAN_MAX
            && let Some(i) = entries
                .iter()
                .position(|(k, _)| std::ptr::eq::<str>(&**k, key))
        {
            return Ok(i);
        }
        entries.binary_search_by(|(k, _)| key_cmp(k, key))
    }

    /// Looks up a key.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key)
            .ok()
            .and_then(|i| self.entries().get(i))
            .map(|(_, v)| v)
    }

    /// [`get`](Self::get), trying the entry at index `*hint` first (a key compared by
    /// pointer, so `key` should be interned) and leaving there the index where `key` was
    /// found. Documents of one kind hold their keys at the same indexes, so a compiled path
    /// that keeps one hint per step finds them without a search. The hint only saves time:
    /// any value gives the same result.
    #[inline]
    pub(crate) fn get_hinted(&self, key: &str, hint: &AtomicU32) -> Option<&Value> {
        let at = hint.load(AtomicOrdering::Relaxed) as usize;
        if let Some((k, v)) = self.entries().get(at)
            && std::ptr::eq::<str>(&**k, key)
        {
            return Some(v);
        }
        let at = self.position(key).ok()?;
        if let Ok(at32) = u32::try_from(at) {
            hint.store(at32, AtomicOrdering::Relaxed);
        }
        self.entries().get(at).map(|(_, v)| v)
    }

    /// Whether the key is present.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Inserts or replaces an entry, returning the previous value. A replaced entry keeps
    /// its key; a new key is interned.
    pub fn insert(&mut self, key: impl AsRef<str> + Into<Str>, value: Value) -> Option<Value> {
        match self.position(key.as_ref()) {
            Ok(i) => self.replace_at(i, value),
            Err(i) => {
                self.insert_at(i, intern::intern_owned(key), value);
                None
            }
        }
    }

    /// [`insert`](Self::insert) for a key that is already interned (a compiled key, or a
    /// key of another map), which is stored as it is.
    pub(crate) fn insert_interned(&mut self, key: Str, value: Value) -> Option<Value> {
        match self.position(&key) {
            Ok(i) => self.replace_at(i, value),
            Err(i) => {
                self.insert_at(i, key, value);
                None
            }
        }
    }

    fn replace_at(&mut self, i: usize, value: Value) -> Option<Value> {
        self.modify_at(i, move |slot| std::mem::replace(slot, value))
    }

    /// Applies `f` to the value at index `i`, in place when the map is not shared and in a
    /// copy otherwise, keeping the hash right.
    fn modify_at<R>(&mut self, i: usize, f: impl FnOnce(&mut Value) -> R) -> Option<R> {
        let old_h = {
            let (k, v) = self.entries().get(i)?;
            entry_hash(k, v)
        };
        let mut f = Some(f);
        let in_place = self.inner.with_arc_mut(|arc| {
            let data = triomphe::Arc::get_mut(arc)?;
            let entry = data.slice_mut().get_mut(i)?;
            let r = f.take()?(&mut entry.1);
            let new_h = entry_hash(&entry.0, &entry.1);
            let sum = data.header_mut();
            *sum = sum.wrapping_sub(old_h).wrapping_add(new_h);
            Some(r)
        });
        if in_place.is_some() {
            return in_place;
        }
        let mut copy = ObjectBuilder::from_object(self);
        let r = copy.modify_at(i, f?)?;
        *self = copy.build();
        Some(r)
    }

    fn insert_at(&mut self, i: usize, key: Str, value: Value) {
        let mut copy = ObjectBuilder::from_object(self);
        copy.insert_at(i, key, value);
        *self = copy.build();
    }

    /// Removes an entry, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key).ok()?;
        let mut copy = ObjectBuilder::from_object(self);
        let v = copy.remove_at(i)?;
        *self = copy.build();
        Some(v)
    }

    /// Mutates the value under `key` (in place unless the map is shared; the cached hash
    /// kept right) and returns the closure's result, or `None` when the key is absent.
    pub fn modify<R>(&mut self, key: &str, f: impl FnOnce(&mut Value) -> R) -> Option<R> {
        let i = self.position(key).ok()?;
        self.modify_at(i, f)
    }

    /// Iterates over the entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Str, &Value)> + '_ {
        self.entries().iter().map(|(k, v)| (k, v))
    }

    /// Iterates over the keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Str> + '_ {
        self.entries().iter().map(|(k, _)| k)
    }

    /// Iterates over the values in key order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + '_ {
        self.entries().iter().map(|(_, v)| v)
    }
}

/// A map under construction: entries kept sorted by key in a buffer that is inline up to
/// [`GATHER_INLINE`] of them, and the sum of their hashes kept up to date entry by entry,
/// for code that sets keys one by one (a projection's setters) and would otherwise build a
/// new [`Object`] allocation per key, or hash every entry again to build one.
#[derive(Debug, Default)]
pub(crate) struct ObjectBuilder {
    entry_sum: u64,
    entries: Entries,
}

impl ObjectBuilder {
    /// A builder holding the entries of `map`.
    pub(crate) fn from_object(map: &Object) -> ObjectBuilder {
        ObjectBuilder {
            entry_sum: map.entry_sum(),
            entries: map.entries().iter().cloned().collect(),
        }
    }

    /// Whether no entry was set.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| key_cmp(k, key))
    }

    /// Sets `key` (already interned, stored as it is) to `value`.
    pub(crate) fn insert_interned(&mut self, key: Str, value: Value) {
        match self.position(&key) {
            Ok(i) => {
                self.modify_at(i, |slot| *slot = value);
            }
            Err(i) => self.insert_at(i, key, value),
        }
    }

    /// Applies `f` to the value at index `i`, keeping the hash sum right.
    fn modify_at<R>(&mut self, i: usize, f: impl FnOnce(&mut Value) -> R) -> Option<R> {
        let (k, v) = self.entries.get_mut(i)?;
        let old_h = entry_hash(k, v);
        let r = f(v);
        self.entry_sum = self
            .entry_sum
            .wrapping_sub(old_h)
            .wrapping_add(entry_hash(k, v));
        Some(r)
    }

    /// Inserts `key` (absent, sorting at `i`) with `value`.
    fn insert_at(&mut self, i: usize, key: Str, value: Value) {
        self.entry_sum = self.entry_sum.wrapping_add(entry_hash(&key, &value));
        self.entries.insert(i, (key, value));
    }

    /// Removes `key`, returning its value.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key).ok()?;
        self.remove_at(i)
    }

    /// Removes the entry at `i`, returning its value.
    fn remove_at(&mut self, i: usize) -> Option<Value> {
        if i >= self.entries.len() {
            return None;
        }
        let (k, v) = self.entries.remove(i);
        self.entry_sum = self.entry_sum.wrapping_sub(entry_hash(&k, &v));
        Some(v)
    }

    /// The map of the entries set.
    pub(crate) fn build(self) -> Object {
        Object::from_parts(self.entry_sum, self.entries.into_iter())
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        Object::ptr_eq(self, other)
            || (self.len() == other.len()
                && self.entry_sum() == other.entry_sum()
                && self.entries() == other.entries())
    }
}

impl Eq for Object {}

impl Hash for Object {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries().iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: AsRef<str> + Into<Str>> FromIterator<(K, Value)> for Object {
    fn from_iter<T: IntoIterator<Item = (K, Value)>>(iter: T) -> Self {
        Object::from_entries(iter)
    }
}

#[cfg(test)]
mod tests;
