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
//! and hashed. When the positions of the changes are known, [`List::edited`] applies them
//! to the previous list's chunks directly, without gathering or comparing the items.
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

/// Lists shorter than this are built flat by [`List::collected`] and [`List::edited`]: two
/// chunks of about 16 items (the average when this was measured; chunks average 8 items
/// since, and the threshold was not measured again) are where sharing starts to pay for
/// their allocations. (At
/// 128, the threshold while lists were only built by comparison with the previous one, a
/// `@groupBy` of ~100 members copied its whole list on every change.)
const CHUNKED_MIN: usize = 32;

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
        // A long string's allocation; a short one is inline, where its address is that of
        // whatever holds it, so its text (hash) identifies it.
        Value::String(s) if s.is_heap_allocated() => s.as_ptr().addr(),
        Value::List(l) => Arc::as_ptr(l).addr(),
        Value::Map(m) => m.addr(),
        _ => return v.hash64(),
    };
    addr as u64
}

/// Whether a run ends after `v`: one item in 8 on average.
///
/// An edit copies the chunk it lands in (an edit lands in a long chunk more often than in
/// a short one: about 16 items on average) and clones the handle of every other chunk, each
/// a separate block and so, in a large state, a likely cache miss. One in 8 balances the
/// two for groups of about 100 members: 2.2 % fewer instructions per event than one in 16
/// on Endpoints, and no slower in wall time for groups of 1000 at 1M pods (differences in
/// wall time were within the machine's noise; see doc/performance.md, thirteenth round).
#[inline]
fn is_boundary(v: &Value) -> bool {
    identity(v).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61 == 0
}

/// Whether `a` and `b` are the same item: the same allocation, or equal scalars. (Equal
/// values that are not the same are treated as different, which only costs sharing.)
#[inline]
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            // A short string is inline (its text is its identity); a long one is shared.
            if x.is_heap_allocated() && y.is_heap_allocated() {
                std::ptr::eq(x.as_str(), y.as_str())
            } else {
                x == y
            }
        }
        (Value::List(x), Value::List(y)) => Arc::ptr_eq(x, y),
        (Value::Map(x), Value::Map(y)) => super::Object::ptr_eq(x, y),
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

    /// `previous` with `edits` applied in order, each an insertion of an item at a position
    /// (`Some`) or the removal of the item there (`None`), positions counting the earlier
    /// edits; `None` if a position is out of range or `previous` is not chunked.
    ///
    /// The result is chunked exactly as [`List::collected`] would chunk its items, but is
    /// built without looking at the items away from the edits: the chunks between them are
    /// `previous`'s, and only the runs the edits touched (and, where a run's end moved, the
    /// runs up to where the boundaries line up again) are rebuilt. A `@groupBy` that knows
    /// where its members changed (see `deltaloop_engine::Prior::edits`) builds its lists
    /// this way: O(chunk) per edit instead of O(group).
    #[must_use]
    pub fn edited<'a>(
        previous: &List,
        edits: impl IntoIterator<Item = (usize, Option<&'a Value>)>,
    ) -> Option<List> {
        let old = previous.chunked.as_deref()?;
        let mut pieces: Vec<Piece> = old
            .chunks
            .iter()
            .map(|c| Piece {
                chunk: Some(Arc::clone(c)),
                edited: Vec::new(),
                inner_boundary: false,
            })
            .collect();
        let mut len = old.len;
        for (at, item) in edits {
            let (j, offset) = locate(&pieces, at, item.is_some())?;
            let piece = pieces.get_mut(j)?;
            // A chunk's items before its last are not boundaries; an item inserted after
            // the last, or a boundary inserted anywhere, may end that.
            if let Some(v) = item {
                piece.inner_boundary |= offset == piece.items().len() || is_boundary(v);
            }
            let owned = piece.items_mut();
            match item {
                Some(v) => {
                    owned.insert(offset, v.clone());
                    len += 1;
                }
                None => {
                    owned.remove(offset);
                    len -= 1;
                }
            }
        }
        if len < CHUNKED_MIN {
            let items: Vec<Value> = pieces
                .iter()
                .flat_map(|p| p.items().iter().cloned())
                .collect();
            return Some(List::from(items));
        }
        Some(List {
            hash: AtomicU64::new(UNKNOWN),
            items: Vec::new(),
            chunked: Some(Box::new(Chunked {
                chunks: rechunk(pieces),
                len,
                flat: OnceLock::new(),
            })),
        })
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
fn run_len<V: std::borrow::Borrow<Value>>(rest: &[V]) -> usize {
    rest.iter()
        .take(MAX_CHUNK)
        .position(|v| is_boundary(v.borrow()))
        .map_or(rest.len().min(MAX_CHUNK), |i| i + 1)
}

/// Whether chunk `c` (of a list built by the same rule) holds the same items as the start
/// of `rest` and is the whole run there: its items before the last are not boundaries (the
/// rule cut it), so only its end needs checking, which the old list's end may have forced.
fn is_next_run(c: &Chunk, rest: &[&Value]) -> bool {
    let k = c.items.len();
    rest.get(..k).is_some_and(|run| holds(c, run)) && (k == rest.len() || closes_run(&c.items))
}

/// Whether a run that holds `items` ends after them by the rule (a boundary item last, or
/// [`MAX_CHUNK`] items) rather than only because the list ends there.
fn closes_run(items: &[Value]) -> bool {
    items.len() == MAX_CHUNK || items.last().is_some_and(is_boundary)
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

/// A run of items while [`List::edited`] works: a chunk of the previous list until an
/// edit changes it, then an edited copy of its items.
struct Piece {
    /// The chunk, while unedited.
    chunk: Option<Arc<Chunk>>,
    /// The items once edited.
    edited: Vec<Value>,
    /// Whether the edits may have left a boundary item before the last of `edited`. While
    /// not, and `edited` fits in a chunk, the edited items are still one run exactly when
    /// their last item closes it, which [`rechunk`] then checks without reading the rest.
    inner_boundary: bool,
}

impl Piece {
    fn items(&self) -> &[Value] {
        match &self.chunk {
            Some(c) => &c.items,
            None => &self.edited,
        }
    }

    /// The items, for editing: the chunk's are copied first.
    fn items_mut(&mut self) -> &mut Vec<Value> {
        if let Some(c) = self.chunk.take() {
            self.edited = c.items.clone();
        }
        &mut self.edited
    }
}

/// The piece holding position `at` and the offset in it: for an insertion (`insert`), `at`
/// may be the end of a piece (the item goes there) or of the list.
fn locate(pieces: &[Piece], at: usize, insert: bool) -> Option<(usize, usize)> {
    let mut start = 0;
    for (j, p) in pieces.iter().enumerate() {
        let n = p.items().len();
        if at < start + n || (insert && at == start + n) {
            return Some((j, at - start));
        }
        start += n;
    }
    None
}

/// The chunks of the items of `pieces`, cut by the rule of [`List::collected`]: an unedited
/// chunk that starts where a run starts is kept as it is; every other item is cut again,
/// from the end of the last kept run on.
///
/// An unedited chunk that starts a run is a whole run, without looking at its items: it
/// was one in the previous list, its items are the same, and a run ends after them as it
/// did there. (The only run that may end without a boundary item is the list's last, and
/// no piece follows the previous list's last chunk: an insertion at the end goes into it.)
fn rechunk(pieces: Vec<Piece>) -> Vec<Arc<Chunk>> {
    let mut chunks = Vec::with_capacity(pieces.len() + 1);
    // Items after the last cut, not yet in a chunk (moved out of edited pieces).
    let mut pending: Vec<Value> = Vec::new();
    let mut runs: Vec<usize> = Vec::new();
    // The last piece with items: a run may end there without a boundary.
    let last = pieces.iter().rposition(|p| !p.items().is_empty());
    for (j, piece) in pieces.into_iter().enumerate() {
        match piece.chunk {
            Some(c) if pending.is_empty() => {
                chunks.push(c);
                continue;
            }
            Some(c) => pending.extend(c.items.iter().cloned()),
            // The usual edit (no boundary item inserted or removed): the edited items are
            // still exactly one run, and become its chunk as they are. (An emptied piece
            // never gets here: it neither closes a run nor is the last with items.)
            None if pending.is_empty()
                && !piece.inner_boundary
                && piece.edited.len() <= MAX_CHUNK
                && (closes_run(&piece.edited) || Some(j) == last) =>
            {
                chunks.push(Arc::new(Chunk::new(piece.edited)));
                continue;
            }
            None => pending.extend(piece.edited),
        }
        // The complete runs of `pending` (all of it, at the end of the list).
        runs.clear();
        let mut start = 0;
        while start < pending.len() {
            let k = run_len(&pending[start..]);
            if !closes_run(&pending[start..start + k]) && Some(j) != last {
                break;
            }
            runs.push(k);
            start += k;
        }
        let mut cut = pending.drain(..start);
        for &k in &runs {
            chunks.push(Arc::new(Chunk::new(cut.by_ref().take(k).collect())));
        }
    }
    chunks
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
                // Short strings are inline, long ones shared: both kinds of identity.
                1 if i % 8 == 1 => Value::string(format!("pod-{i}")),
                1 => Value::string(format!("a-pod-with-a-name-longer-than-23-bytes-{i}")),
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

    proptest::proptest! {
        /// Edits applied with `List::edited` give the list built from scratch: the same
        /// items, hash and chunking.
        #[test]
        fn edited_lists_should_equal_collected_ones(
            start in proptest::collection::vec(0usize..400, 0..300),
            steps in proptest::collection::vec(
                proptest::collection::vec((0usize..1000, proptest::option::of(0usize..400)), 1..6),
                1..20,
            ),
        ) {
            let pool = pool();
            let mut indexes = start;
            let mut list = List::collected(&indexes.iter().map(|i| &pool[*i]).collect::<Vec<_>>(), None);
            for edits in steps {
                let mut applied = Vec::new();
                for (at, item) in edits {
                    match item {
                        Some(i) => {
                            let at = at % (indexes.len() + 1);
                            indexes.insert(at, i);
                            applied.push((at, Some(&pool[i])));
                        }
                        None if !indexes.is_empty() => {
                            let at = at % indexes.len();
                            indexes.remove(at);
                            applied.push((at, None));
                        }
                        None => {}
                    }
                }
                let items: Vec<&Value> = indexes.iter().map(|i| &pool[*i]).collect();
                let scratch = List::collected(&items, None);
                let next = match List::edited(&list, applied.iter().copied()) {
                    Some(next) => next,
                    None => {
                        proptest::prop_assert!(!list.is_chunked());
                        List::collected(&items, Some(&list))
                    }
                };
                proptest::prop_assert_eq!(chunk_lens(&next), chunk_lens(&scratch));
                proptest::prop_assert!(next.items().eq(scratch.items()));
                proptest::prop_assert_eq!(next.hash64(), scratch.hash64());
                list = next;
            }
        }
    }

    #[test]
    fn every_single_edit_should_chunk_as_a_fresh_list() {
        let pool = pool();
        // A list ending in a boundary item, so that appending after it makes that item
        // an inner one.
        let Some(end) = (60..pool.len()).find(|&i| is_boundary(&pool[i])) else {
            panic!("no boundary item in the pool");
        };
        let items: Vec<&Value> = pool[..=end].iter().collect();
        let list = List::collected(&items, None);
        let inner = pool.iter().find(|v| !is_boundary(v));
        let boundary = pool.iter().find(|v| is_boundary(v));
        for at in 0..=items.len() {
            let mut edits = vec![(at, inner), (at, boundary)];
            if at < items.len() {
                edits.push((at, None));
            }
            for (at, item) in edits {
                let mut expected = items.clone();
                match item {
                    Some(v) => expected.insert(at, v),
                    None => {
                        expected.remove(at);
                    }
                }
                let Some(next) = List::edited(&list, [(at, item)]) else {
                    panic!("edit at {at} refused");
                };
                let scratch = List::collected(&expected, None);
                assert_eq!(chunk_lens(&next), chunk_lens(&scratch), "edit at {at}");
                assert_eq!(next.hash64(), scratch.hash64(), "edit at {at}");
            }
        }
    }

    #[test]
    fn edited_should_share_the_untouched_chunks_and_refuse_bad_positions() {
        let pool = pool();
        let items: Vec<&Value> = pool.iter().collect();
        let old = List::collected(&items, None);
        let removed = List::edited(&old, [(200, None)]).unwrap_or_default();
        let (shared, total) = shared_chunks(&removed, &old);
        assert!(total >= 8, "{total} chunks");
        assert!(shared + 2 >= total, "{shared} of {total} chunks shared");
        let inserted =
            List::edited(&removed, [(100, Some(&pool[3])), (0, None)]).unwrap_or_default();
        let (shared, total) = shared_chunks(&inserted, &removed);
        assert!(shared + 3 >= total, "{shared} of {total} chunks shared");
        assert_eq!(inserted.len(), pool.len() - 1);
        // Out of range, or a flat list: no list.
        assert!(List::edited(&old, [(pool.len(), None)]).is_none());
        assert!(List::edited(&old, [(pool.len() + 1, Some(&pool[0]))]).is_none());
        assert!(List::edited(&List::from(vec![Value::Int(1)]), [(0, None)]).is_none());
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
