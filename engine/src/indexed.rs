//! Indexed Z-sets: Z-sets partitioned by a key, the state of joins and of grouping.
//!
//! An indexed Z-set maps each key to a non-empty Z-set of rows. Updating one row costs one
//! hash probe for the key and one for the row, whatever the size of the other groups, which is
//! what keeps the per-step work of incremental joins proportional to the delta.

use std::fmt;

use crate::data::{Data, Weight};
use crate::zset::{RowMap, ZSet, row_map};

/// A Z-set of rows `V` grouped by key `K`; no key maps to an empty group.
#[derive(Clone)]
pub struct IndexedZSet<K: Data, V: Data> {
    groups: RowMap<K, ZSet<V>>,
}

impl<K: Data, V: Data> Default for IndexedZSet<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Data, V: Data> IndexedZSet<K, V> {
    /// The empty indexed Z-set.
    #[must_use]
    pub fn new() -> Self {
        Self { groups: row_map(0) }
    }

    /// Adds `weight` to `row` in the group of `key`, dropping the group when it empties.
    pub fn insert(&mut self, key: K, row: V, weight: Weight) {
        if weight == 0 {
            return;
        }
        let group = self.groups.entry(key).or_default();
        group.insert(row, weight);
        if group.is_empty() {
            // Re-probe only on the rare path where a group empties.
            self.groups.retain(|_, g| !g.is_empty());
        }
    }

    /// Adds `weight` to `row` in the group of `key`, cloning the key and row only when new.
    pub fn insert_ref(&mut self, key: &K, row: &V, weight: Weight) {
        if weight == 0 {
            return;
        }
        if let Some(group) = self.groups.get_mut(key) {
            group.insert_ref(row, weight);
            if group.is_empty() {
                self.groups.remove(key);
            }
        } else {
            let mut group = ZSet::with_capacity(1);
            group.insert(row.clone(), weight);
            self.groups.insert(key.clone(), group);
        }
    }

    /// The group of `key`, if it has any rows.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<&ZSet<V>> {
        self.groups.get(key)
    }

    /// The weight of `row` in the group of `key`.
    #[must_use]
    pub fn weight(&self, key: &K, row: &V) -> Weight {
        self.groups.get(key).map_or(0, |g| g.weight(row))
    }

    /// The number of non-empty groups.
    #[must_use]
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are no rows at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &ZSet<V>)> + '_ {
        self.groups.iter()
    }

    /// Flattens the index back into a Z-set of `(key, row)` pairs.
    #[must_use]
    pub fn to_zset(&self) -> ZSet<(K, V)> {
        self.groups
            .iter()
            .flat_map(|(k, g)| g.iter().map(move |(r, w)| ((k.clone(), r.clone()), w)))
            .collect()
    }
}

impl<K: Data, V: Data> PartialEq for IndexedZSet<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.groups == other.groups
    }
}

impl<K: Data, V: Data> Eq for IndexedZSet<K, V> {}

impl<K: Data, V: Data> fmt::Debug for IndexedZSet<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<(&K, &ZSet<V>)> = self.groups.iter().collect();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        f.debug_map().entries(groups).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptied_group_should_disappear() {
        let mut ix: IndexedZSet<u8, u8> = IndexedZSet::new();
        ix.insert(1, 10, 1);
        ix.insert_ref(&1, &10, -1);
        assert!(ix.is_empty());
        ix.insert(2, 20, 1);
        ix.insert(2, 20, -1);
        assert!(ix.get(&2).is_none());
    }
}
