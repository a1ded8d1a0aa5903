//! Z-sets: finite maps from rows to non-zero integer weights.
//!
//! A Z-set generalizes a multiset: a row may have a negative weight, which is what lets one
//! type describe both a database snapshot (all weights positive) and a change to it
//! (insertions positive, retractions negative). Z-sets form an abelian group under
//! pointwise addition, with [`ZSet::negate`] as the inverse and the empty Z-set as zero.
//! Every operator of the engine is a function between Z-sets; the *linear* ones
//! (`f(a + b) = f(a) + f(b)`) are their own incremental version.
//!
//! Invariant: no stored row has weight 0. Inserting a weight that cancels a row removes it.
//!
//! ```
//! use deltaloop_engine::{zset, ZSet};
//!
//! let odds: ZSet<i32> = zset! { 1 => 1, 3 => 1 };
//! let evens: ZSet<i32> = zset! { 2 => 1 };
//! let all = odds.plus(&evens);
//! assert_eq!(all, zset! { 1 => 1, 2 => 1, 3 => 1 });
//! // Adding the negation of a Z-set gives zero.
//! assert!(all.plus(&all.negate()).is_empty());
//! ```

mod macros;
mod rows;

pub use rows::ZSetIntoIter;

use std::fmt;

use hashbrown::HashMap;

use crate::data::{Data, Weight};

use rows::Rows;

/// The hasher of every hash table in the engine: fast, and seeded deterministically so that
/// runs are reproducible.
pub type RowHasher = foldhash::fast::FixedState;

/// The 64-bit hash of `row` under [`RowHasher`]: fixed-seed, so the same in every run (and on
/// every 64-bit target, for the `foldhash` version in `Cargo.lock`).
///
/// It is the hash the engine's tables use, and the order key of a [`Group`](crate::Group)'s
/// members.
///
/// ```
/// use deltaloop_engine::row_hash;
/// assert_eq!(row_hash(&"web-1"), row_hash(&"web-1"));
/// assert_ne!(row_hash(&1u32), row_hash(&2u32));
/// ```
#[must_use]
#[inline]
pub fn row_hash<T: std::hash::Hash + ?Sized>(row: &T) -> u64 {
    std::hash::BuildHasher::hash_one(&RowHasher::default(), row)
}

/// A hash map with the engine's deterministic hasher.
pub(crate) type RowMap<K, V> = HashMap<K, V, RowHasher>;

/// Creates an empty [`RowMap`] with room for `capacity` entries.
pub(crate) fn row_map<K, V>(capacity: usize) -> RowMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, RowHasher::default())
}

/// A Z-set: rows of type `T` with non-zero [`Weight`]s.
///
/// Rows iterate in the order they were first inserted (a row whose weight cancels to 0
/// leaves, and the last row takes its place), so a delta keeps the order its producer
/// emitted it in and stages walk large deltas roughly in memory order.
#[derive(Clone)]
pub struct ZSet<T: Data> {
    rows: Rows<T>,
}

impl<T: Data> Default for ZSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Data> ZSet<T> {
    /// The empty Z-set (the zero of the group).
    #[must_use]
    pub fn new() -> Self {
        Self {
            rows: Rows::with_capacity(0),
        }
    }

    /// An empty Z-set with room for `capacity` rows.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            rows: Rows::with_capacity(capacity),
        }
    }

    /// Adds `weight` to the weight of `row`; a row whose weight reaches 0 is removed and a
    /// zero `weight` is ignored.
    ///
    /// ```
    /// use deltaloop_engine::ZSet;
    /// let mut z = ZSet::new();
    /// z.insert("a", 2);
    /// z.insert("a", -2);
    /// z.insert("b", 0);
    /// assert!(z.is_empty());
    /// ```
    pub fn insert(&mut self, row: T, weight: Weight) {
        if weight == 0 {
            return;
        }
        self.rows.add(row, weight);
    }

    /// Adds `weight` to `row` given by reference, cloning the row only if it is new.
    pub fn insert_ref(&mut self, row: &T, weight: Weight) {
        if weight == 0 {
            return;
        }
        self.rows.add_ref(row, weight);
    }

    /// The weight of `row` (0 when absent).
    ///
    /// ```
    /// use deltaloop_engine::zset;
    /// let z = zset! { 'x' => -1 };
    /// assert_eq!(z.weight(&'x'), -1);
    /// assert_eq!(z.weight(&'y'), 0);
    /// ```
    #[must_use]
    pub fn weight(&self, row: &T) -> Weight {
        self.rows.get(row).unwrap_or(0)
    }

    /// The number of distinct rows with a non-zero weight.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether this is the empty Z-set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows and their weights, in insertion order (see [`ZSet`]).
    pub fn iter(&self) -> impl Iterator<Item = (&T, Weight)> + '_ {
        self.rows.iter()
    }

    /// The rows and weights sorted by row, for deterministic display and comparison.
    ///
    /// ```
    /// use deltaloop_engine::zset;
    /// assert_eq!(zset! { 2 => 1, 1 => -3 }.to_sorted_vec(), vec![(1, -3), (2, 1)]);
    /// ```
    #[must_use]
    pub fn to_sorted_vec(&self) -> Vec<(T, Weight)> {
        let mut v: Vec<(T, Weight)> = self.rows.iter().map(|(r, w)| (r.clone(), w)).collect();
        v.sort();
        v
    }

    /// Adds `other` into `self` in place (`self += other`).
    pub fn add_assign(&mut self, other: &ZSet<T>) {
        self.add_assign_scaled(other, 1);
    }

    /// Adds `other` into `self`, taking its rows by value: an empty `self` becomes `other`
    /// as it is (no row is cloned or rehashed), a non-empty one gets its rows moved in.
    pub fn absorb(&mut self, other: ZSet<T>) {
        if self.is_empty() {
            *self = other;
        } else {
            self.extend(other);
        }
    }

    /// Adds `factor · other` into `self` in place.
    pub fn add_assign_scaled(&mut self, other: &ZSet<T>, factor: Weight) {
        if factor == 0 {
            return;
        }
        self.rows.reserve(other.len());
        for (row, w) in other.iter() {
            self.insert_ref(row, w * factor);
        }
    }

    /// The sum `self + other`.
    #[must_use]
    pub fn plus(&self, other: &ZSet<T>) -> ZSet<T> {
        let (big, small) = if self.len() >= other.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = big.clone();
        out.add_assign(small);
        out
    }

    /// The difference `self − other`.
    ///
    /// ```
    /// use deltaloop_engine::zset;
    /// assert_eq!(zset! { 1 => 2 }.minus(&zset! { 1 => 2, 2 => 1 }), zset! { 2 => -1 });
    /// ```
    #[must_use]
    pub fn minus(&self, other: &ZSet<T>) -> ZSet<T> {
        let mut out = self.clone();
        out.add_assign_scaled(other, -1);
        out
    }

    /// The negation `−self` (every weight flips sign).
    #[must_use]
    pub fn negate(&self) -> ZSet<T> {
        self.scale(-1)
    }

    /// Every weight multiplied by `factor` (`factor = 0` gives the empty Z-set).
    ///
    /// ```
    /// use deltaloop_engine::zset;
    /// assert_eq!(zset! { "a" => 2 }.scale(-3), zset! { "a" => -6 });
    /// ```
    #[must_use]
    pub fn scale(&self, factor: Weight) -> ZSet<T> {
        if factor == 0 {
            return ZSet::new();
        }
        ZSet {
            rows: self.rows.filter_map_weights(|w| Some(w * factor)),
        }
    }

    /// The set semantics of this Z-set: every row with a positive weight gets weight 1, the
    /// rest are dropped.
    ///
    /// ```
    /// use deltaloop_engine::zset;
    /// assert_eq!(zset! { 1 => 3, 2 => -1 }.distinct(), zset! { 1 => 1 });
    /// ```
    #[must_use]
    pub fn distinct(&self) -> ZSet<T> {
        ZSet {
            rows: self.rows.filter_map_weights(|w| (w > 0).then_some(1)),
        }
    }

    /// Whether every weight is positive (the Z-set describes a multiset).
    #[must_use]
    pub fn is_positive(&self) -> bool {
        self.rows.weights().all(|w| w > 0)
    }

    /// Removes every row.
    pub fn clear(&mut self) {
        self.rows.clear();
    }
}

impl<T: Data> PartialEq for ZSet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
    }
}

impl<T: Data> Eq for ZSet<T> {}

impl<T: Data> fmt::Debug for ZSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.to_sorted_vec()).finish()
    }
}

impl<T: Data> FromIterator<(T, Weight)> for ZSet<T> {
    /// Consolidates `(row, weight)` pairs: weights of equal rows add, zeros vanish.
    fn from_iter<I: IntoIterator<Item = (T, Weight)>>(iter: I) -> Self {
        let mut z = ZSet::new();
        z.extend(iter);
        z
    }
}

impl<T: Data> Extend<(T, Weight)> for ZSet<T> {
    fn extend<I: IntoIterator<Item = (T, Weight)>>(&mut self, iter: I) {
        for (row, w) in iter {
            self.insert(row, w);
        }
    }
}

impl<T: Data> IntoIterator for ZSet<T> {
    type Item = (T, Weight);
    type IntoIter = ZSetIntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zset;

    #[test]
    fn insert_cancelling_weights_should_remove_row() {
        let mut z = zset! { 1 => 2 };
        z.insert(1, -2);
        assert!(z.is_empty());
        assert_eq!(z.weight(&1), 0);
    }

    #[test]
    fn group_laws_should_hold() {
        let a = zset! { 1 => 2, 2 => -1 };
        let b = zset! { 2 => 1, 3 => 4 };
        assert_eq!(a.plus(&b), b.plus(&a));
        assert_eq!(a.plus(&b).minus(&b), a);
        assert_eq!(a.scale(2), a.plus(&a));
        assert!(a.plus(&a.negate()).is_empty());
    }

    #[test]
    fn scale_and_distinct_should_keep_large_sets_searchable() {
        let z: ZSet<u32> = (0..20)
            .map(|r| (r, if r % 3 == 0 { -1 } else { 2 }))
            .collect();
        let scaled = z.scale(3);
        let set = z.distinct();
        for r in 0..20 {
            assert_eq!(scaled.weight(&r), 3 * z.weight(&r));
            assert_eq!(set.weight(&r), i64::from(r % 3 != 0));
        }
        let mut set = set;
        set.insert(1, -1);
        assert_eq!((set.len(), set.weight(&1)), (12, 0));
    }

    #[test]
    fn absorb_should_add_like_add_assign() {
        let a: ZSet<u32> = [(1, 2), (2, -1)].into_iter().collect();
        let b: ZSet<u32> = [(2, 1), (3, 4)].into_iter().collect();
        let mut empty = ZSet::new();
        empty.absorb(b.clone());
        assert_eq!(empty, b);
        let mut sum = a.clone();
        sum.absorb(b.clone());
        assert_eq!(sum, a.plus(&b));
        assert_eq!(sum.weight(&2), 0);
    }

    #[test]
    fn from_iter_should_consolidate() {
        let z: ZSet<&str> = vec![("a", 1), ("b", 1), ("a", -1), ("b", 2)]
            .into_iter()
            .collect();
        assert_eq!(z, zset! { "b" => 3 });
    }
}
