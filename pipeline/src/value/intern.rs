//! The process-wide map-key interner.
//!
//! Documents repeat a small vocabulary of keys (`metadata`, `name`, `labels`, ...) millions
//! of times. [`intern`] returns one shared [`Str`] per distinct key content, so a map key
//! costs a reference count instead of an allocation, every map shares the same key bytes
//! (a handful of hot cache lines for the whole vocabulary), and a lookup with an interned
//! key finds its entry by comparing pointers without reading any key's bytes (see
//! [`Object::get`](super::Object::get)).
//!
//! Interning is only an optimization: keys compare, hash and order by their bytes, so a
//! key that was not interned (too long, or built by hand) behaves exactly the same; only
//! its lookups take the byte-comparing path.
//!
//! # Memory bound
//!
//! Only keys up to [`MAX_LEN`] bytes are interned. The table is split into shards (one
//! lock each). A shard that reaches its limit first sweeps the keys nobody else holds
//! (`Arc::strong_count == 1`) and only doubles its limit when the sweep freed less than
//! half of it, so a shard holds at most about twice the keys in use (plus a constant).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use foldhash::fast::FixedState;

use super::Str;

/// The longest key (in bytes) that is interned; longer keys are allocated as they come.
pub(crate) const MAX_LEN: usize = 64;

/// The number of shards (a power of two).
const SHARDS: usize = 16;

/// A shard's initial limit: reaching it triggers a sweep.
const INITIAL_LIMIT: usize = 512;

const SEED: u64 = 0x6b65_795f_7461_626c;

/// One lock's worth of the table.
#[derive(Debug)]
struct Shard {
    keys: HashSet<Str, FixedState>,
    /// The size at which the next insertion sweeps first.
    limit: usize,
}

impl Shard {
    const fn new() -> Shard {
        Shard {
            keys: HashSet::with_hasher(FixedState::with_seed(SEED)),
            limit: INITIAL_LIMIT,
        }
    }

    /// Drops the keys only the table holds, then doubles the limit if that freed less
    /// than half of it.
    fn sweep(&mut self) {
        self.keys.retain(|k| Arc::strong_count(k) > 1);
        if self.keys.len() >= self.limit / 2 {
            self.limit = self.limit.saturating_mul(2);
        }
    }

    fn add(&mut self, key: &Str) {
        if self.keys.len() >= self.limit {
            self.sweep();
        }
        self.keys.insert(Arc::clone(key));
    }
}

static TABLE: [Mutex<Shard>; SHARDS] = [const { Mutex::new(Shard::new()) }; SHARDS];

/// The shard of a key: a cheap mix of its length and end bytes (the table hashes the
/// whole key again inside the shard).
#[inline]
fn shard(s: &str) -> MutexGuard<'static, Shard> {
    let b = s.as_bytes();
    let first = usize::from(b.first().copied().unwrap_or(0));
    let last = usize::from(b.last().copied().unwrap_or(0));
    let i = (b.len().wrapping_mul(7) ^ first ^ last.wrapping_mul(3)) % SHARDS;
    // A poisoned shard still holds a consistent set (no operation panics half-way
    // through an update that matters for correctness), so keep using it.
    TABLE[i].lock().unwrap_or_else(PoisonError::into_inner)
}

/// The interned key with the content of `s` (a fresh, uninterned one when `s` is longer
/// than [`MAX_LEN`]).
#[must_use]
pub(crate) fn intern(s: &str) -> Str {
    if s.len() > MAX_LEN {
        return Str::from(s);
    }
    let mut shard = shard(s);
    if let Some(k) = shard.keys.get(s) {
        return Arc::clone(k);
    }
    let k = Str::from(s);
    shard.add(&k);
    k
}

/// Interns an owned key, reusing its allocation when it is already a [`Str`] that is not
/// in the table yet.
#[must_use]
pub(crate) fn intern_owned<K: AsRef<str> + Into<Str>>(key: K) -> Str {
    let s = key.as_ref();
    if s.len() > MAX_LEN {
        return key.into();
    }
    let mut shard = shard(s);
    if let Some(k) = shard.keys.get(s) {
        return Arc::clone(k);
    }
    let k: Str = key.into();
    shard.add(&k);
    k
}

/// Whether `s` is the interned key of its content (the same allocation).
#[cfg(test)]
pub(crate) fn is_interned(s: &Str) -> bool {
    shard(s).keys.get(&**s).is_some_and(|k| Arc::ptr_eq(k, s))
}

/// Whether a key with the content of `s` is in the table.
#[cfg(test)]
pub(crate) fn contains(s: &str) -> bool {
    shard(s).keys.contains(s)
}

/// Sweeps the shard of `s` now (tests).
#[cfg(test)]
pub(crate) fn sweep_shard_of(s: &str) {
    shard(s).sweep();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_should_intern_to_the_same_allocation() {
        let a = intern("intern-test-same");
        let b = intern("intern-test-same");
        let c = intern_owned(String::from("intern-test-same"));
        let d = intern_owned(Str::from("intern-test-same"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&a, &c));
        assert!(Arc::ptr_eq(&a, &d));
        assert!(is_interned(&a));
        assert!(!Arc::ptr_eq(&a, &intern("intern-test-other")));
    }

    #[test]
    fn interning_a_fresh_str_should_reuse_its_allocation() {
        let fresh = Str::from("intern-test-reuse-allocation");
        let interned = intern_owned(Arc::clone(&fresh));
        assert!(Arc::ptr_eq(&fresh, &interned));
        assert!(is_interned(&fresh));
    }

    #[test]
    fn long_keys_should_not_be_interned() {
        let long = "k".repeat(MAX_LEN + 1);
        let a = intern(&long);
        let b = intern_owned(long.clone());
        assert_eq!(a, b);
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(!contains(&long));
        let limit = "k".repeat(MAX_LEN);
        assert!(Arc::ptr_eq(&intern(&limit), &intern(&limit)));
    }

    #[test]
    fn sweep_should_free_keys_nobody_holds() {
        let held = intern("intern-test-sweep-held");
        let dropped = intern("intern-test-sweep-dropped");
        drop(dropped);
        assert!(contains("intern-test-sweep-dropped"));
        sweep_shard_of("intern-test-sweep-dropped");
        sweep_shard_of("intern-test-sweep-held");
        assert!(!contains("intern-test-sweep-dropped"));
        assert!(contains("intern-test-sweep-held"));
        assert!(Arc::ptr_eq(&held, &intern("intern-test-sweep-held")));
    }

    #[test]
    fn a_full_shard_should_sweep_before_growing() {
        // Many short-lived keys: the table must not keep them all.
        for i in 0..(INITIAL_LIMIT * SHARDS * 8) {
            drop(intern(&format!("intern-test-churn-{i}")));
        }
        let kept = (0..(INITIAL_LIMIT * SHARDS * 8))
            .filter(|i| contains(&format!("intern-test-churn-{i}")))
            .count();
        assert!(kept <= INITIAL_LIMIT * SHARDS * 2, "{kept} dead keys kept");
    }
}
