//! The row table behind a [`ZSet`](super::ZSet): rows and weights in insertion order.
//!
//! Entries live in one vector, in the order they were first inserted (a removal moves the
//! last entry into the hole). Iterating a Z-set therefore walks rows in the order its
//! producer emitted them, not in hash order. That matters for large deltas: an initial load
//! inserts documents in the order they were built, so every stage that walks the delta
//! reads them roughly in memory order, and each stage's output keeps its input's order.
//! Hash order would send every stage of a 100k-row load to a random cache line per row.
//!
//! Lookups go through a hash index of entry positions, built only once the table holds more
//! than [`SMALL`] rows. Below that a lookup scans the entries' stored hashes, which costs
//! less than maintaining an index and saves its allocation: most deltas of a running
//! controller hold a handful of rows.

use std::hash::Hash;

use hashbrown::HashTable;

use crate::data::Weight;

use super::row_hash;

/// The most rows a table holds before it builds its hash index.
const SMALL: usize = 8;

/// One row, its weight and its hash (kept so that lookups and re-indexing never rehash).
#[derive(Clone, Debug)]
struct Slot<T> {
    hash: u64,
    row: T,
    weight: Weight,
}

/// Rows with weights, in insertion order, indexed by hash once large.
#[derive(Clone, Debug)]
pub(super) struct Rows<T> {
    slots: Vec<Slot<T>>,
    /// Positions in `slots` by row hash; maintained only while `indexed`.
    index: HashTable<usize>,
    indexed: bool,
}

impl<T: Hash + Eq> Rows<T> {
    /// An empty table with room for `capacity` rows (indexed from the start if that is
    /// more than [`SMALL`]).
    pub(super) fn with_capacity(capacity: usize) -> Self {
        let indexed = capacity > SMALL;
        Self {
            slots: Vec::with_capacity(capacity),
            index: if indexed {
                HashTable::with_capacity(capacity)
            } else {
                HashTable::new()
            },
            indexed,
        }
    }

    /// The number of rows.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the table holds no row.
    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The rows whose weights `f` maps to `Some`, with those weights, in the same order.
    /// The stored hashes are reused, so nothing is rehashed. `f` must not return `Some(0)`.
    pub(super) fn filter_map_weights(&self, f: impl Fn(Weight) -> Option<Weight>) -> Self
    where
        T: Clone,
    {
        let slots = self
            .slots
            .iter()
            .filter_map(|s| {
                f(s.weight).map(|weight| Slot {
                    hash: s.hash,
                    row: s.row.clone(),
                    weight,
                })
            })
            .collect();
        let mut rows = Self {
            slots,
            index: HashTable::new(),
            indexed: false,
        };
        if rows.slots.len() > SMALL {
            rows.build_index();
        }
        rows
    }

    /// The position of `row` (whose hash is `hash`), if present.
    fn find(&self, hash: u64, row: &T) -> Option<usize> {
        let slots = &self.slots;
        if self.indexed {
            self.index
                .find(hash, |&i| slots[i].hash == hash && slots[i].row == *row)
                .copied()
        } else {
            slots.iter().position(|s| s.hash == hash && s.row == *row)
        }
    }

    /// The weight of `row`, if present.
    pub(super) fn get(&self, row: &T) -> Option<Weight> {
        self.find(row_hash(row), row).map(|i| self.slots[i].weight)
    }

    /// Adds `weight` (non-zero) to `row`, removing it when its weight reaches 0.
    pub(super) fn add(&mut self, row: T, weight: Weight) {
        let hash = row_hash(&row);
        match self.find(hash, &row) {
            Some(pos) => self.add_at(pos, weight),
            None => self.push(hash, row, weight),
        }
    }

    /// Adds `weight` (non-zero) to `row` given by reference, cloning it only if it is new.
    pub(super) fn add_ref(&mut self, row: &T, weight: Weight)
    where
        T: Clone,
    {
        let hash = row_hash(row);
        match self.find(hash, row) {
            Some(pos) => self.add_at(pos, weight),
            None => self.push(hash, row.clone(), weight),
        }
    }

    /// Adds `weight` to the entry at `pos`, removing it when its weight reaches 0.
    fn add_at(&mut self, pos: usize, weight: Weight) {
        let w = &mut self.slots[pos].weight;
        *w += weight;
        if *w == 0 {
            self.remove_at(pos);
        }
    }

    /// Appends a row known to be absent.
    fn push(&mut self, hash: u64, row: T, weight: Weight) {
        let pos = self.slots.len();
        self.slots.push(Slot { hash, row, weight });
        if self.indexed {
            let slots = &self.slots;
            self.index.insert_unique(hash, pos, |&i| slots[i].hash);
        } else if self.slots.len() > SMALL {
            self.build_index();
        }
    }

    /// Builds the hash index over the current entries.
    fn build_index(&mut self) {
        let slots = &self.slots;
        let mut index = HashTable::with_capacity(slots.len() * 2);
        for (pos, slot) in slots.iter().enumerate() {
            index.insert_unique(slot.hash, pos, |&i| slots[i].hash);
        }
        self.index = index;
        self.indexed = true;
    }

    /// Removes the entry at `pos`, moving the last entry into its place.
    fn remove_at(&mut self, pos: usize) {
        let last = self.slots.len() - 1;
        if self.indexed {
            let hash = self.slots[pos].hash;
            if let Ok(entry) = self.index.find_entry(hash, |&i| i == pos) {
                entry.remove();
            }
            if pos != last {
                let moved = self.slots[last].hash;
                if let Some(i) = self.index.find_mut(moved, |&i| i == last) {
                    *i = pos;
                }
            }
        }
        self.slots.swap_remove(pos);
    }

    /// Reserves room for `additional` more rows.
    pub(super) fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        if self.indexed {
            let slots = &self.slots;
            self.index.reserve(additional, |&i| slots[i].hash);
        }
    }

    /// The rows and weights in insertion order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&T, Weight)> + '_ {
        self.slots.iter().map(|s| (&s.row, s.weight))
    }

    /// The weights in insertion order.
    pub(super) fn weights(&self) -> impl Iterator<Item = Weight> + '_ {
        self.slots.iter().map(|s| s.weight)
    }

    /// Removes every row (keeping the allocations).
    pub(super) fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
    }

    /// The rows and weights by value, in insertion order.
    pub(super) fn into_iter(self) -> ZSetIntoIter<T> {
        ZSetIntoIter {
            slots: self.slots.into_iter(),
        }
    }
}

impl<T: Hash + Eq> PartialEq for Rows<T> {
    /// The same rows with the same weights, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.slots.iter().all(|s| {
                other
                    .find(s.hash, &s.row)
                    .is_some_and(|i| other.slots[i].weight == s.weight)
            })
    }
}

/// The owning iterator of a [`ZSet`](super::ZSet): rows and weights in insertion order.
#[derive(Debug)]
pub struct ZSetIntoIter<T> {
    slots: std::vec::IntoIter<Slot<T>>,
}

impl<T> Iterator for ZSetIntoIter<T> {
    type Item = (T, Weight);

    fn next(&mut self) -> Option<(T, Weight)> {
        self.slots.next().map(|s| (s.row, s.weight))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl<T> ExactSizeIterator for ZSetIntoIter<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks every row's lookup against a plain list of the expected (row, weight) pairs.
    fn assert_holds(rows: &Rows<u32>, expected: &[(u32, Weight)]) {
        assert_eq!(rows.len(), expected.len());
        for &(row, w) in expected {
            assert_eq!(rows.get(&row), Some(w), "row {row}");
        }
        assert_eq!(rows.get(&u32::MAX), None);
    }

    #[test]
    fn rows_should_iterate_in_insertion_order_across_the_index_threshold() {
        let mut rows = Rows::with_capacity(0);
        let order: Vec<u32> = (0..40).map(|i| (i * 7919) % 101).collect();
        for &r in &order {
            rows.add(r, 1);
        }
        let seen: Vec<u32> = rows.iter().map(|(r, _)| *r).collect();
        assert_eq!(seen, order);
        rows.add_ref(&order[3], 2);
        assert_eq!(rows.get(&order[3]), Some(3));
        assert_eq!(rows.len(), order.len());
    }

    #[test]
    fn removals_should_keep_lookups_right_below_and_above_the_threshold() {
        for n in [3_u32, SMALL as u32, SMALL as u32 + 1, 50] {
            let mut rows = Rows::with_capacity(0);
            let mut expected: Vec<(u32, Weight)> = (0..n).map(|r| (r, 1)).collect();
            for &(r, w) in &expected {
                rows.add(r, w);
            }
            // Remove from the front, the middle and the end, so the last entry moves into
            // holes at every kind of position.
            for victim in [0, n / 2, n - 1] {
                if let Some(at) = expected.iter().position(|&(r, _)| r == victim) {
                    expected.remove(at);
                    rows.add(victim, -1);
                }
                assert_holds(&rows, &expected);
            }
            // Re-adding a removed row appends it.
            rows.add(0, 5);
            expected.push((0, 5));
            assert_holds(&rows, &expected);
            assert_eq!(rows.iter().last(), Some((&0, 5)));
        }
    }

    #[test]
    fn equality_should_ignore_order() {
        let mut a = Rows::with_capacity(0);
        let mut b = Rows::with_capacity(20);
        for r in 0..12_u32 {
            a.add(r, 1);
            b.add(11 - r, 1);
        }
        assert!(a == b);
        b.add(4, 1);
        assert!(a != b);
    }
}
