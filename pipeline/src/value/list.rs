//! [`List`]: the payload of [`Value::List`], a vector of values that remembers its hash and
//! that a new version can share with the old.
//!
//! Hashing a list is O(n), and a pipeline hashes the same long list many times: every map
//! computes the hashes of its entries when it is built, so a `@groupBy` row
//! `{key, values: L}`, the `@project` that wraps `L` again in `{addresses: L}`, and the
//! retraction of that output a step later each hash `L`. A list therefore caches its hash
//! the first time it is computed; any mutable access forgets it.
//!
//! # Chunked lists
//!
//! A `@groupBy` rebuilds the list of a touched group on every step, and the old list must
//! stay intact for its retraction. Copied flat, that is O(group) clones, hashes and frees
//! per touched group, however small the change. [`List::collected`] builds long lists as
//! *chunks* instead: runs of items behind their own [`Arc`], each with its share of the
//! list's hash. The chunk boundaries depend only on the items (a run ends after an item
//! whose identity hashes to a boundary, or at [`MAX_CHUNK`] items), so after an insertion
//! or a removal the runs before and after the change are the same runs as in the old list,
//! and the new list takes those chunks from it. Only the chunk around the change is copied
//! and hashed.
//!
//! The chunking is invisible: equality, order and hash are those of the item sequence (the
//! hash is a polynomial over the items' hashes, which concatenates chunk by chunk), and the
//! list dereferences to a `Vec<Value>` like a flat one, materialized on first use and kept.
//! Code on the hot path reads a list through [`List::items`] and [`List::len`], which do
//! not materialize it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::{TAG_LIST, Value, mix};

/// The items of a list value, and their structural hash once computed.
///
/// Dereferences to `Vec<Value>`; a mutable dereference clears the cached hash (and turns a
/// chunked list into a flat one).
#[derive(Default)]
pub struct List {
    /// The hash, or [`UNKNOWN`]. Relaxed atomics suffice: every thread that computes it
    /// computes the same number from the same (immutable, while shared) items.
    hash: AtomicU64,
    /// The items of a flat list (empty when `chunked` is set).
    items: Vec<Value>,
    /// The chunks of a chunked list.
    chunked: Option<Box<Chunked>>,
}

/// The "not computed yet" marker. A list whose hash is this value just recomputes it.
const UNKNOWN: u64 = 0;

/// Lists shorter than this are built flat by [`List::collected`]. Measured on the endpoints
/// workload (about 100 items per list): chunked lists of that size take fewer instructions
/// but more time, since comparing with the previous list's chunks reads memory that a flat
/// copy does not.
const CHUNKED_MIN: usize = 128;

/// The most items in one chunk; a run without a boundary item is cut here.
const MAX_CHUNK: usize = 64;

/// How many chunks of the previous list [`List::collected`] tries for each run, starting
/// after the last one it reused. A few edits between versions fit easily.
const LOOKAHEAD: usize = 8;

/// The chunks of a chunked list.
#[derive(Clone)]
struct Chunked {
    chunks: Vec<Arc<Chunk>>,
    /// The total number of items.
    len: usize,
    /// The items as one vector, built by the first [`Deref`].
    flat: OnceLock<Vec<Value>>,
}

/// A run of items and its part of the list hash.
struct Chunk {
    items: Vec<Value>,
    poly: Poly,
}

/// Arithmetic modulo the Mersenne prime 2⁶¹ − 1.
const P: u64 = (1 << 61) - 1;

/// The base of the list hash polynomial (any fixed residue that is not small).
const BASE: u64 = 0x0d6e_8fed_1b4a_9c37 & P;

/// `x mod P` for `x < 2⁶³`, as the residue in `[0, P)`.
#[inline]
fn reduce(x: u64) -> u64 {
    let r = (x & P) + (x >> 61);
    if r >= P { r - P } else { r }
}

/// `a · b` folded modulo P: congruent to it and below P + 9, for `a < 2⁶³` and `b < P`.
#[inline]
fn mul_fold(a: u64, b: u64) -> u64 {
    let x = u128::from(a) * u128::from(b);
    // x < 2¹²⁴: its low 61 bits plus the rest sum to less than 2⁶⁴; folding that once more
    // leaves less than 2⁶¹ + 8.
    #[allow(clippy::cast_possible_truncation)]
    let s = ((x as u64) & P) + (x >> 61) as u64;
    (s & P) + (s >> 61)
}

/// `a · b mod P` for `a < 2⁶³` and `b < P`, as the residue in `[0, P)`.
#[inline]
fn mul_mod(a: u64, b: u64) -> u64 {
    let r = mul_fold(a, b);
    if r >= P { r - P } else { r }
}

/// An item's term in the polynomial: its hash cut to 61 bits (so that a folded product
/// plus a term stays below 2⁶², well inside what [`mul_fold`] takes).
#[inline]
fn term(v: &Value) -> u64 {
    // Maps (a `@groupBy`'s usual items) hash in O(1); reading their cached hash here saves
    // the call into the recursive `Value::hash64`.
    let h = match v {
        Value::Map(m) => m.hash64(),
        other => other.hash64(),
    };
    h >> 3
}

/// The hash polynomial of a run of items with hashes `h₀ … hₙ₋₁`:
/// `value = Σ hᵢ · BASEⁿ⁻¹⁻ⁱ` and `power = BASEⁿ` (mod P), so that two runs concatenate in
/// O(1). `value` is kept below 2⁶² (congruent, not yet reduced); [`Poly::residue`] is the
/// canonical number.
#[derive(Clone, Copy, Debug)]
struct Poly {
    value: u64,
    power: u64,
}

impl Poly {
    /// The polynomial of no items.
    const EMPTY: Poly = Poly { value: 0, power: 1 };

    /// The polynomial value of `items` (Horner's rule), without the power.
    fn value_of<'a>(items: impl IntoIterator<Item = &'a Value>) -> u64 {
        items
            .into_iter()
            .fold(0, |acc, v| mul_fold(acc, BASE) + term(v))
    }

    /// The polynomial of `items`.
    fn of(items: &[Value]) -> Poly {
        let mut power = 1;
        let (mut base, mut k) = (BASE, items.len());
        while k > 0 {
            if k & 1 == 1 {
                power = mul_mod(power, base);
            }
            base = mul_mod(base, base);
            k >>= 1;
        }
        Poly {
            value: Poly::value_of(items),
            power,
        }
    }

    /// The polynomial of `self`'s items followed by `next`'s.
    fn then(self, next: Poly) -> Poly {
        Poly {
            value: reduce(mul_mod(self.value, next.power) + next.value),
            power: mul_mod(self.power, next.power),
        }
    }

    /// The value as the residue in `[0, P)`: the same for every way of computing it.
    fn residue(self) -> u64 {
        reduce(self.value)
    }
}

/// A value's identity for chunking: its allocation for strings, lists and maps (two equal
/// but separately built values may differ, which only costs sharing), its hash otherwise.
#[inline]
fn identity(v: &Value) -> u64 {
    let addr = match v {
        Value::String(s) => s.as_ptr().addr(),
        Value::List(l) => Arc::as_ptr(l).addr(),
        Value::Map(m) => Arc::as_ptr(m).addr(),
        _ => return v.hash64(),
    };
    addr as u64
}

/// Whether a run ends after `v`: one item in 16 on average.
#[inline]
fn is_boundary(v: &Value) -> bool {
    identity(v).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60 == 0
}

/// Whether `a` and `b` are the same item: the same allocation, or equal scalars. (Equal
/// values that are not the same are treated as different, which only costs sharing.)
#[inline]
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Arc::ptr_eq(x, y),
        (Value::List(x), Value::List(y)) => Arc::ptr_eq(x, y),
        (Value::Map(x), Value::Map(y)) => Arc::ptr_eq(x, y),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => false,
    }
}

impl Chunk {
    fn new(items: Vec<Value>) -> Chunk {
        let poly = Poly::of(&items);
        Chunk { items, poly }
    }
}

impl Chunked {
    /// The items, cloned into one vector.
    fn to_flat(&self) -> Vec<Value> {
        let mut flat = Vec::with_capacity(self.len);
        for c in &self.chunks {
            flat.extend(c.items.iter().cloned());
        }
        flat
    }
}

impl List {
    /// The list of `items`, sharing every run of them that `previous` already holds.
    ///
    /// This is how a `@groupBy` builds a group's list from the one it replaces: the items
    /// are mostly the same allocations in the same order, so all but the chunks around the
    /// changes are reused (see the module docs). Short lists are built flat.
    #[must_use]
    pub fn collected(items: &[&Value], previous: Option<&List>) -> List {
        if items.len() < CHUNKED_MIN {
            return List::from(items.iter().map(|v| (*v).clone()).collect::<Vec<_>>());
        }
        let old: &[Arc<Chunk>] = previous
            .and_then(|p| p.chunked.as_deref())
            .map_or(&[], |c| &c.chunks);
        let mut cursor = 0;
        let mut chunks = Vec::with_capacity(items.len() / 8 + 1);
        let mut start = 0;
        while start < items.len() {
            let rest = &items[start..];
            // The next old chunk, if it is exactly the next run: then the boundary rule
            // need not be evaluated item by item.
            if let Some(c) = old.get(cursor).filter(|c| is_next_run(c, rest)) {
                chunks.push(Arc::clone(c));
                cursor += 1;
                start += c.items.len();
                continue;
            }
            let run = &rest[..run_len(rest)];
            chunks.push(reuse_or_build(run, old, &mut cursor));
            start += run.len();
        }
        List {
            hash: AtomicU64::new(UNKNOWN),
            items: Vec::new(),
            chunked: Some(Box::new(Chunked {
                chunks,
                len: items.len(),
                flat: OnceLock::new(),
            })),
        }
    }

    /// The number of items (without materializing a chunked list).
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.chunked {
            None => self.items.len(),
            Some(c) => c.len,
        }
    }

    /// Whether the list has no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items in order (without materializing a chunked list).
    pub fn items(&self) -> impl Iterator<Item = &Value> + '_ {
        let (flat, chunks) = match &self.chunked {
            None => (&self.items[..], &[][..]),
            Some(c) => (&[][..], &c.chunks[..]),
        };
        flat.iter()
            .chain(chunks.iter().flat_map(|c| c.items.iter()))
    }

    /// Whether the two lists hold equal items (row identity, see [`Value`]'s `Eq`).
    #[inline]
    pub(super) fn items_eq(&self, other: &List) -> bool {
        match (&self.chunked, &other.chunked) {
            (None, None) => self.items == other.items,
            _ => self.items().eq(other.items()),
        }
    }

    /// The order of the two lists' items (row identity, see [`Value`]'s `Ord`).
    pub(super) fn items_cmp(&self, other: &List) -> std::cmp::Ordering {
        match (&self.chunked, &other.chunked) {
            (None, None) => self.items.cmp(&other.items),
            _ => self.items().cmp(other.items()),
        }
    }

    /// Whether the list is stored in shared chunks (see [`List::collected`]).
    #[must_use]
    pub fn is_chunked(&self) -> bool {
        self.chunked.is_some()
    }

    /// The list's structural hash, cached.
    #[inline]
    pub(super) fn hash64(&self) -> u64 {
        let h = self.hash.load(Ordering::Relaxed);
        if h != UNKNOWN {
            return h;
        }
        let residue = match &self.chunked {
            None => reduce(Poly::value_of(&self.items)),
            Some(c) => c
                .chunks
                .iter()
                .fold(Poly::EMPTY, |p, c| p.then(c.poly))
                .residue(),
        };
        let h = mix(mix(TAG_LIST, self.len() as u64), residue);
        self.hash.store(h, Ordering::Relaxed);
        h
    }

    /// The cached hash, if it was computed.
    #[inline]
    pub(super) fn cached_hash(&self) -> Option<u64> {
        Some(self.hash.load(Ordering::Relaxed)).filter(|h| *h != UNKNOWN)
    }
}

/// The length of the run at the start of `rest` (non-empty): up to and including its first
/// boundary item, at most [`MAX_CHUNK`] items, or all of `rest`.
fn run_len(rest: &[&Value]) -> usize {
    rest.iter()
        .take(MAX_CHUNK)
        .position(|v| is_boundary(v))
        .map_or(rest.len().min(MAX_CHUNK), |i| i + 1)
}

/// Whether chunk `c` (of a list built by the same rule) holds the same items as the start
/// of `rest` and is the whole run there: its items before the last are not boundaries (the
/// rule cut it), so only its end needs checking, which the old list's end may have forced.
fn is_next_run(c: &Chunk, rest: &[&Value]) -> bool {
    let k = c.items.len();
    rest.get(..k).is_some_and(|run| holds(c, run))
        && (k == rest.len() || k == MAX_CHUNK || c.items.last().is_some_and(is_boundary))
}

/// Whether chunk `c` holds exactly the items of `run` (see [`same`]).
fn holds(c: &Chunk, run: &[&Value]) -> bool {
    c.items.len() == run.len() && c.items.iter().zip(run).all(|(a, b)| same(a, b))
}

/// The chunk of `old` from `cursor` on (within [`LOOKAHEAD`]) that holds exactly `run`,
/// moving `cursor` past it; else a new chunk.
fn reuse_or_build(run: &[&Value], old: &[Arc<Chunk>], cursor: &mut usize) -> Arc<Chunk> {
    let end = old.len().min(*cursor + LOOKAHEAD);
    for (j, c) in old.iter().enumerate().take(end).skip(*cursor) {
        if holds(c, run) {
            *cursor = j + 1;
            return Arc::clone(c);
        }
    }
    Arc::new(Chunk::new(run.iter().map(|v| (*v).clone()).collect()))
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items()).finish()
    }
}

impl From<Vec<Value>> for List {
    fn from(items: Vec<Value>) -> List {
        List {
            hash: AtomicU64::new(UNKNOWN),
            items,
            chunked: None,
        }
    }
}

impl Clone for List {
    /// A copy sharing the chunks of a chunked list (but not its materialized vector).
    fn clone(&self) -> List {
        List {
            hash: AtomicU64::new(self.hash.load(Ordering::Relaxed)),
            items: self.items.clone(),
            chunked: self.chunked.as_ref().map(|c| {
                Box::new(Chunked {
                    chunks: c.chunks.clone(),
                    len: c.len,
                    flat: OnceLock::new(),
                })
            }),
        }
    }
}

impl Deref for List {
    type Target = Vec<Value>;

    /// The items as a vector; a chunked list builds it on first use and keeps it.
    fn deref(&self) -> &Vec<Value> {
        match &self.chunked {
            None => &self.items,
            Some(c) => c.flat.get_or_init(|| c.to_flat()),
        }
    }
}

impl DerefMut for List {
    /// The items, for mutation: the cached hash is forgotten and a chunked list becomes
    /// flat.
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        if let Some(mut c) = self.chunked.take() {
            self.items = c.flat.take().unwrap_or_else(|| c.to_flat());
        }
        *self.hash.get_mut() = UNKNOWN;
        &mut self.items
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn cached_hash_should_equal_a_fresh_copys_and_follow_mutation() {
        let items: Vec<Value> = (0..100).map(Value::Int).collect();
        let a = Value::List(Arc::new(List::from(items.clone())));
        let b = Value::List(Arc::new(List::from(items)));
        assert_eq!(a.hash64(), b.hash64());
        // Cached now; still the fresh copy's hash.
        assert_eq!(
            a.hash64(),
            Value::list((0..100).map(Value::Int).collect()).hash64()
        );
        // A mutation through the shared pointer copies (make_mut) and forgets the hash.
        let mut c = a.clone();
        if let Value::List(l) = &mut c {
            Arc::make_mut(l).push(Value::Int(1));
        }
        let fresh = Value::list((0..100).map(Value::Int).chain([Value::Int(1)]).collect());
        assert_eq!(c.hash64(), fresh.hash64());
        assert_eq!(a.hash64(), b.hash64());
        assert_ne!(a, c);
        // Mutating an unshared list in place forgets the hash too.
        if let Value::List(l) = &mut c {
            Arc::make_mut(l).pop();
        }
        assert_eq!(c.hash64(), b.hash64());
        assert_eq!(c, b);
    }

    /// The pool items are drawn from: maps, strings and scalars, each one allocation that
    /// every version of a list shares (as a group's member values are).
    fn pool() -> Vec<Value> {
        (0..400_i64)
            .map(|i| match i % 4 {
                0 => Value::map([("ip", Value::string(format!("10.0.{i}")))]),
                1 => Value::string(format!("pod-{i}")),
                2 => Value::Int(i),
                _ => Value::list(vec![Value::Int(i)]),
            })
            .collect()
    }

    /// The lengths of `l`'s chunks (none for a flat list).
    fn chunk_lens(l: &List) -> Vec<usize> {
        l.chunked
            .iter()
            .flat_map(|c| c.chunks.iter().map(|c| c.items.len()))
            .collect()
    }

    /// The chunks of `l` that `old` holds too (the same allocation).
    fn shared_chunks(l: &List, old: &List) -> (usize, usize) {
        let (Some(new), Some(old)) = (&l.chunked, &old.chunked) else {
            return (0, l.chunked.as_ref().map_or(0, |c| c.chunks.len()));
        };
        let shared = new
            .chunks
            .iter()
            .filter(|c| old.chunks.iter().any(|o| Arc::ptr_eq(c, o)))
            .count();
        (shared, new.chunks.len())
    }

    proptest::proptest! {
        /// A list built from its predecessor by random edits equals, hashes and orders like
        /// the same items built flat, whatever it shares.
        #[test]
        fn collected_lists_should_behave_like_flat_ones(
            start in proptest::collection::vec(0usize..400, 0..300),
            edits in proptest::collection::vec((0usize..1000, proptest::option::of(0usize..400)), 1..40),
        ) {
            let pool = pool();
            let mut indexes = start;
            let mut list = List::collected(&indexes.iter().map(|i| &pool[*i]).collect::<Vec<_>>(), None);
            for (at, item) in edits {
                match item {
                    Some(i) => indexes.insert(at % (indexes.len() + 1), i),
                    None if !indexes.is_empty() => { indexes.remove(at % indexes.len()); }
                    None => {}
                }
                let items: Vec<&Value> = indexes.iter().map(|i| &pool[*i]).collect();
                let next = List::collected(&items, Some(&list));
                let flat = List::from(items.iter().map(|v| (*v).clone()).collect::<Vec<_>>());
                // Reuse keeps the chunking a function of the items alone.
                proptest::prop_assert_eq!(chunk_lens(&next), chunk_lens(&List::collected(&items, None)));
                proptest::prop_assert_eq!(next.len(), flat.len());
                proptest::prop_assert!(next.items().eq(flat.items()));
                proptest::prop_assert_eq!(next.hash64(), flat.hash64());
                let (a, b) = (Value::List(Arc::new(next.clone())), Value::List(Arc::new(flat)));
                proptest::prop_assert_eq!(&a, &b);
                proptest::prop_assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
                proptest::prop_assert_eq!(&next[..], b.as_list().unwrap_or(&[]));
                list = next;
            }
        }
    }

    #[test]
    fn one_edit_should_share_all_chunks_but_the_one_around_it() {
        let pool = pool();
        let items: Vec<&Value> = pool.iter().collect();
        let old = List::collected(&items, None);
        let mut edited = items.clone();
        edited.remove(200);
        let removed = List::collected(&edited, Some(&old));
        let (shared, total) = shared_chunks(&removed, &old);
        assert!(total >= 8, "{total} chunks");
        assert!(shared + 2 >= total, "{shared} of {total} chunks shared");
        edited.insert(100, &pool[3]);
        let inserted = List::collected(&edited, Some(&removed));
        let (shared, total) = shared_chunks(&inserted, &removed);
        assert!(shared + 2 >= total, "{shared} of {total} chunks shared");
        // Different items (equal, but other allocations) share nothing and still compare equal.
        let copies: Vec<Value> = pool.iter().map(|v| Value::list(vec![v.clone()])).collect();
        let a = List::collected(&copies.iter().collect::<Vec<_>>(), None);
        let again: Vec<Value> = pool.iter().map(|v| Value::list(vec![v.clone()])).collect();
        let b = List::collected(&again.iter().collect::<Vec<_>>(), Some(&a));
        assert_eq!(shared_chunks(&b, &a).0, 0);
        assert_eq!(a.hash64(), b.hash64());
        assert!(a.items().eq(b.items()));
    }

    #[test]
    fn writing_a_chunked_list_should_not_build_its_flat_copy() {
        let pool = pool();
        let chunked = Value::List(Arc::new(List::collected(
            &pool.iter().collect::<Vec<_>>(),
            None,
        )));
        let flat = Value::list(pool.clone());
        assert_eq!(
            super::super::canonical_json(&chunked),
            super::super::canonical_json(&flat)
        );
        assert_eq!(chunked.to_serde_json(), flat.to_serde_json());
        let (Ok(a), Ok(b)) = (
            serde_json::to_string(&chunked),
            serde_json::to_string(&flat),
        ) else {
            panic!("serialization failed");
        };
        assert_eq!(a, b);
        let Value::List(l) = &chunked else {
            panic!("not a list");
        };
        assert!(l.chunked.as_ref().is_some_and(|c| c.flat.get().is_none()));
    }

    #[test]
    fn mutating_a_chunked_list_should_flatten_it_and_forget_the_hash() {
        let pool = pool();
        let mut l = List::collected(&pool.iter().collect::<Vec<_>>(), None);
        assert!(l.is_chunked());
        let before = l.hash64();
        l.push(Value::Null);
        assert!(!l.is_chunked());
        assert_eq!(l.len(), pool.len() + 1);
        assert_ne!(l.hash64(), before);
        l.pop();
        assert_eq!(l.hash64(), before);
    }

    #[test]
    fn poly_should_concatenate() {
        let items: Vec<Value> = (0..50).map(|i| Value::string(format!("s{i}"))).collect();
        for cut in [0, 1, 17, 49, 50] {
            let (a, b) = items.split_at(cut);
            let joined = Poly::of(a).then(Poly::of(b));
            assert_eq!(joined.residue(), Poly::of(&items).residue());
            assert_eq!(joined.residue(), reduce(Poly::value_of(&items)));
            assert_eq!(joined.power, Poly::of(&items).power);
        }
    }
}
