//! [`List`]: the payload of [`Value::List`], a vector of values that remembers its hash.
//!
//! Hashing a list is O(n), and a pipeline hashes the same long list many times: every map
//! computes the hashes of its entries when it is built, so a `@groupBy` row
//! `{key, values: L}`, the `@project` that wraps `L` again in `{addresses: L}`, and the
//! retraction of that output a step later each hash `L`. A list therefore caches its hash
//! the first time it is computed; any mutable access forgets it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Value;

/// The items of a list value, and their structural hash once computed.
///
/// Dereferences to `Vec<Value>`; a mutable dereference clears the cached hash.
#[derive(Default)]
pub struct List {
    /// The hash, or [`UNKNOWN`]. Relaxed atomics suffice: every thread that computes it
    /// computes the same number from the same (immutable, while shared) items.
    hash: AtomicU64,
    items: Vec<Value>,
}

/// The "not computed yet" marker. A list whose hash is this value just recomputes it.
const UNKNOWN: u64 = 0;

impl List {
    /// The list's hash: cached, or `compute(items)` (then cached).
    #[inline]
    pub(super) fn hash_with(&self, compute: impl FnOnce(&[Value]) -> u64) -> u64 {
        let h = self.hash.load(Ordering::Relaxed);
        if h != UNKNOWN {
            return h;
        }
        let h = compute(&self.items);
        self.hash.store(h, Ordering::Relaxed);
        h
    }

    /// The cached hash, if it was computed.
    #[inline]
    pub(super) fn cached_hash(&self) -> Option<u64> {
        Some(self.hash.load(Ordering::Relaxed)).filter(|h| *h != UNKNOWN)
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

impl From<Vec<Value>> for List {
    fn from(items: Vec<Value>) -> List {
        List {
            hash: AtomicU64::new(UNKNOWN),
            items,
        }
    }
}

impl Clone for List {
    fn clone(&self) -> List {
        List {
            hash: AtomicU64::new(self.hash.load(Ordering::Relaxed)),
            items: self.items.clone(),
        }
    }
}

impl Deref for List {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        &self.items
    }
}

impl DerefMut for List {
    /// The items, for mutation: the cached hash is forgotten.
    fn deref_mut(&mut self) -> &mut Vec<Value> {
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
}
