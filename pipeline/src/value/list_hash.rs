//! A small per-thread memo of the hashes of long lists.
//!
//! A [`Value::List`] hashes in O(n): unlike maps, lists carry no cached hash (adding one
//! would change the payload type every crate matches on). A pipeline often hashes the same
//! long list several times in a row, because every map computes the hashes of its entries
//! when it is built: a `@groupBy` result `{key, values: L}`, then a `@project` that wraps
//! `L` again in `{addresses: L}`. This memo remembers the hashes of the last few long
//! lists hashed on the current thread.
//!
//! Soundness: an entry holds a strong reference to its list, so while it is remembered
//! nobody can mutate the list in place (`Arc::make_mut` copies a shared list and
//! `Arc::get_mut` refuses) and its allocation cannot be reused: a remembered pointer
//! still designates the contents that were hashed.

use std::cell::RefCell;
use std::sync::Arc;

use super::Value;

/// Lists shorter than this are hashed every time (cheaper than the memo).
const MIN_LEN: usize = 32;

/// How many lists the memo remembers per thread.
const SLOTS: usize = 4;

/// The remembered lists and their hashes, replaced round-robin.
struct Memo {
    slots: [Option<(Arc<Vec<Value>>, u64)>; SLOTS],
    next: usize,
}

thread_local! {
    static MEMO: RefCell<Memo> = const {
        RefCell::new(Memo {
            slots: [const { None }; SLOTS],
            next: 0,
        })
    };
}

/// The hash of list `l`, from the memo when `l` was hashed recently, else `compute()`
/// (then remembered if the list is long).
#[inline]
pub(super) fn list_hash(l: &Arc<Vec<Value>>, compute: impl FnOnce() -> u64) -> u64 {
    if l.len() < MIN_LEN {
        return compute();
    }
    let hit = MEMO.with(|m| {
        m.try_borrow().ok().and_then(|m| {
            m.slots
                .iter()
                .flatten()
                .find(|(k, _)| Arc::ptr_eq(k, l))
                .map(|(_, h)| *h)
        })
    });
    if let Some(h) = hit {
        return h;
    }
    // Computed outside any borrow: hashing a list of lists comes back here.
    let h = compute();
    MEMO.with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            let i = m.next % SLOTS;
            m.next = i + 1;
            // The evicted list is dropped after the borrow ends.
            let old = m
                .slots
                .get_mut(i)
                .and_then(|s| s.replace((Arc::clone(l), h)));
            drop(m);
            drop(old);
        }
    });
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_list_should_hash_like_a_fresh_copy() {
        let items: Vec<Value> = (0..100).map(Value::Int).collect();
        let a = Arc::new(items.clone());
        let b = Arc::new(items);
        let (va, vb) = (Value::List(Arc::clone(&a)), Value::List(b));
        assert_eq!(va.hash64(), vb.hash64());
        assert_eq!(va.hash64(), vb.hash64());
        // A remembered list is shared, so mutating it copies: the memo stays right.
        let mut v = va.clone();
        drop(va);
        if let Value::List(l) = &mut v {
            Arc::make_mut(l).push(Value::Int(1));
        }
        let fresh: Vec<Value> = (0..100).map(Value::Int).chain([Value::Int(1)]).collect();
        assert_eq!(v.hash64(), Value::List(Arc::new(fresh)).hash64());
        assert_eq!(Value::List(a).hash64(), vb.hash64());
    }
}
