//! The run-time state of stateful nodes, with one-step undo.
//!
//! Each stateful node records what it changed in the current step, so a step that fails at a
//! later node can be rolled back: a failed step leaves the executor exactly as it was before
//! the step, as if its inputs had never been fed.

use std::sync::Arc;

use crate::data::{Data, Weight};
use crate::error::UserError;
use crate::indexed::IndexedZSet;
use crate::operator::{
    Change, Group, GroupSpec, JoinSpec, Matched, MemberEdit, MemberIdentity, Prior,
};
use crate::zset::{RowMap, ZSet, row_hash, row_map};

/// Rows with their join keys: (key, row, weight).
type Keyed<T> = Vec<(T, T, Weight)>;

/// The incremental equi-join: both sides indexed by key.
#[derive(Debug)]
pub(crate) struct JoinState<T: Data> {
    spec: JoinSpec<T>,
    left: IndexedZSet<T, T>,
    right: IndexedZSet<T, T>,
    /// The keyed deltas folded in by the last step, for undo.
    undo: Option<(Keyed<T>, Keyed<T>)>,
}

/// Keys every row of `delta`; rows without a key are dropped (they never match).
fn keyed<T: Data>(key: &crate::operator::KeyFn<T>, delta: &ZSet<T>) -> Result<Keyed<T>, UserError> {
    let mut out = Vec::with_capacity(delta.len());
    for (row, w) in delta.iter() {
        if let Some(k) = (key.func())(row)? {
            out.push((k, row.clone(), w));
        }
    }
    Ok(out)
}

impl<T: Data> JoinState<T> {
    pub(crate) fn new(spec: JoinSpec<T>) -> Self {
        Self {
            spec,
            left: IndexedZSet::new(),
            right: IndexedZSet::new(),
            undo: None,
        }
    }

    /// Emits Δa⋈B + A⋈Δb + Δa⋈Δb (A, B the states before the step), then folds the deltas
    /// into the indexes. Nothing is folded when user logic fails.
    pub(crate) fn step(&mut self, da: &ZSet<T>, db: &ZSet<T>) -> Result<ZSet<T>, UserError> {
        self.undo = None;
        if da.is_empty() && db.is_empty() {
            return Ok(ZSet::new());
        }
        let ka = keyed(&self.spec.left_key, da)?;
        let kb = keyed(&self.spec.right_key, db)?;
        let combine = self.spec.combine.func();
        let residual = self.spec.residual.as_ref().map(|r| r.func());
        let mut out = ZSet::with_capacity(ka.len() + kb.len());
        // Combines a matched pair and keeps it unless the residual condition rejects it.
        let mut emit = |key: &T, a: &T, b: &T, w: Weight| -> Result<(), UserError> {
            let row = combine(a, b)?;
            if let Some(keep) = residual
                && !keep(Matched { key, row: &row })?
            {
                return Ok(());
            }
            out.insert(row, w);
            Ok(())
        };
        for (k, a, wa) in &ka {
            if let Some(group) = self.right.get(k) {
                for (b, wb) in group.iter() {
                    emit(k, a, b, wa * wb)?;
                }
            }
        }
        for (k, b, wb) in &kb {
            if let Some(group) = self.left.get(k) {
                for (a, wa) in group.iter() {
                    emit(k, a, b, wa * wb)?;
                }
            }
        }
        if !ka.is_empty() && !kb.is_empty() {
            let mut small: RowMap<&T, Vec<(&T, Weight)>> = row_map(kb.len());
            for (k, b, wb) in &kb {
                small.entry(k).or_default().push((b, *wb));
            }
            for (k, a, wa) in &ka {
                if let Some(matches) = small.get(k) {
                    for (b, wb) in matches {
                        emit(k, a, b, wa * wb)?;
                    }
                }
            }
        }
        for (k, a, w) in &ka {
            self.left.insert_ref(k, a, *w);
        }
        for (k, b, w) in &kb {
            self.right.insert_ref(k, b, *w);
        }
        self.undo = Some((ka, kb));
        Ok(out)
    }

    pub(crate) fn rollback(&mut self) {
        if let Some((ka, kb)) = self.undo.take() {
            for (k, a, w) in ka {
                self.left.insert(k, a, -w);
            }
            for (k, b, w) in kb {
                self.right.insert(k, b, -w);
            }
        }
    }
}

/// One group and the output row last emitted for it.
#[derive(Debug)]
struct GroupEntry<T: Data> {
    group: Group<T>,
    output: Option<T>,
}

impl<T: Data> GroupEntry<T> {
    /// A new group of a group-by whose members are identified by `identity`: with
    /// [`MemberIdentity::Value`] each member's row is its value, stored once.
    fn new(identity: MemberIdentity) -> Self {
        Self {
            group: match identity {
                MemberIdentity::Row => Group::default(),
                MemberIdentity::Value => Group::of_values(),
            },
            output: None,
        }
    }
}

/// One member update of a group-by step: the group key, the member value, the member's
/// identity (the source row, or the value again, see [`MemberIdentity`]) and its weight,
/// with the hashes of the key and of the member (computed once per step).
#[derive(Clone, Debug)]
struct Update<T: Data> {
    key_hash: u64,
    row_hash: u64,
    key: T,
    value: T,
    row: T,
    weight: Weight,
}

/// The order in which a step applies its updates: by group (key hash), then by member (row
/// hash), which is the members' order within a group. `Ord` on keys and rows only breaks ties
/// of both hashes, which a delta (no row twice) has only on a hash collision.
fn update_order<T: Data>(a: &Update<T>, b: &Update<T>) -> std::cmp::Ordering {
    (a.key_hash, a.row_hash)
        .cmp(&(b.key_hash, b.row_hash))
        .then_with(|| (&a.key, &a.row).cmp(&(&b.key, &b.row)))
}

/// The distinct keys of `updates`, which must be sorted by [`update_order`], with their
/// hashes, in that order.
///
/// Equal keys have equal hashes, so they are adjacent to each other and to keys that collide
/// with them; equality is only tested within such a run.
fn touched_keys<T: Data>(updates: &[Update<T>]) -> Vec<(u64, &T)> {
    let mut touched: Vec<(u64, &T)> = Vec::new();
    // Where the run of keys with the hash of the last touched key starts.
    let mut run = 0;
    for u in updates {
        if touched.last().is_some_and(|(h, _)| *h == u.key_hash) {
            if touched[run..].iter().any(|(_, k)| **k == u.key) {
                continue;
            }
        } else {
            run = touched.len();
        }
        touched.push((u.key_hash, &u.key));
    }
    touched
}

/// The edits of group `key` (key hash `hash`) in this step, from the sorted `updates` and
/// the `changes` they made, gathered in `buf`: `None` unless every member of the group has
/// weight 1 and every update of the group inserted or removed one (see [`Prior::edits`]).
fn member_edits<'a, 'b, T: Data>(
    updates: &'a [Update<T>],
    changes: &[Change],
    hash: u64,
    key: &T,
    group: &Group<T>,
    buf: &'b mut Vec<MemberEdit<'a, T>>,
) -> Option<&'b [MemberEdit<'a, T>]> {
    buf.clear();
    if !group.all_unit() {
        return None;
    }
    // The updates are sorted by key hash: the group's are in the run of its hash.
    let start = updates.partition_point(|u| u.key_hash < hash);
    let run = updates.get(start..)?;
    let len = run.partition_point(|u| u.key_hash == hash);
    for (u, change) in run.iter().zip(changes.get(start..)?).take(len) {
        if u.key != *key {
            continue;
        }
        buf.push(match *change {
            Change::Inserted(at) => MemberEdit {
                at,
                inserted: Some((&u.row, &u.value)),
            },
            Change::Removed(at) => MemberEdit { at, inserted: None },
            Change::Other => return None,
        });
    }
    Some(buf)
}

/// What one group-by step changed: the member updates and the outputs they replaced.
type GroupUndo<T> = (Vec<Update<T>>, Vec<(T, Option<T>)>);

/// The incremental group-by: the groups and their last output rows.
#[derive(Debug)]
pub(crate) struct GroupState<T: Data> {
    spec: GroupSpec<T>,
    groups: RowMap<T, GroupEntry<T>>,
    undo: Option<GroupUndo<T>>,
}

impl<T: Data> GroupState<T> {
    pub(crate) fn new(spec: GroupSpec<T>) -> Self {
        Self {
            spec,
            groups: row_map(0),
            undo: None,
        }
    }

    /// Applies `updates` (times `sign`) to the groups; returns what each did to its
    /// group's member sequence.
    fn apply(&mut self, updates: &[Update<T>], sign: Weight) -> Vec<Change> {
        let mut changes = Vec::with_capacity(updates.len());
        for u in updates {
            let w = u.weight * sign;
            let change = if let Some(entry) = self.groups.get_mut(&u.key) {
                entry.group.update_hashed(u.row_hash, &u.row, &u.value, w)
            } else {
                let mut entry = GroupEntry::new(self.spec.identity);
                let change = entry.group.update_hashed(u.row_hash, &u.row, &u.value, w);
                self.groups.insert(u.key.clone(), entry);
                change
            };
            changes.push(change);
        }
        changes
    }

    /// Applies the delta to the groups and emits −old/+new for every touched group whose
    /// output row changed.
    pub(crate) fn step(&mut self, delta: &ZSet<T>) -> Result<ZSet<T>, UserError> {
        self.undo = None;
        if delta.is_empty() {
            return Ok(ZSet::new());
        }
        let group = self.spec.group.func();
        let mut updates = Vec::with_capacity(delta.len());
        for (row, weight) in delta.iter() {
            let (key, value) = group(row)?;
            let member = match self.spec.identity {
                MemberIdentity::Row => row.clone(),
                MemberIdentity::Value => value.clone(),
            };
            updates.push(Update {
                key_hash: row_hash(&key),
                row_hash: row_hash(&member),
                key,
                value,
                row: member,
                weight,
            });
        }
        // A delta arrives in hash-table order. Sorting it applies each group's updates
        // together (the group stays in the cache) and in its members' order (a bulk load
        // appends at the end of the group), and puts equal keys next to each other.
        updates.sort_unstable_by(update_order);
        let changes = self.apply(&updates, 1);
        let touched = touched_keys(&updates);
        let mut fresh = Vec::with_capacity(touched.len());
        let mut edits = Vec::new();
        for (hash, key) in &touched {
            let new = match self.groups.get(*key) {
                Some(entry) if entry.group.count() > 0 => {
                    let prior = Prior {
                        output: entry.output.as_ref(),
                        edits: member_edits(
                            &updates,
                            &changes,
                            *hash,
                            key,
                            &entry.group,
                            &mut edits,
                        ),
                    };
                    match self.spec.aggregate.aggregate(key, &entry.group, prior) {
                        Ok(row) => row,
                        Err(e) => {
                            let updates = updates.clone();
                            self.apply(&updates, -1);
                            self.groups
                                .retain(|_, e| !(e.group.is_empty() && e.output.is_none()));
                            return Err(e);
                        }
                    }
                }
                _ => None,
            };
            fresh.push(((*key).clone(), new));
        }
        let mut out = ZSet::with_capacity(2 * fresh.len());
        let mut replaced = Vec::with_capacity(fresh.len());
        for (key, new) in fresh {
            let Some(entry) = self.groups.get_mut(&key) else {
                continue;
            };
            if entry.output != new {
                if let Some(old) = &entry.output {
                    out.insert(old.clone(), -1);
                }
                if let Some(row) = &new {
                    out.insert(row.clone(), 1);
                }
            }
            let old = std::mem::replace(&mut entry.output, new);
            if entry.group.is_empty() && entry.output.is_none() {
                self.groups.remove(&key);
            }
            replaced.push((key, old));
        }
        self.undo = Some((updates, replaced));
        Ok(out)
    }

    pub(crate) fn rollback(&mut self) {
        if let Some((updates, replaced)) = self.undo.take() {
            self.apply(&updates, -1);
            let identity = self.spec.identity;
            for (key, old) in replaced {
                let entry = self
                    .groups
                    .entry(key)
                    .or_insert_with(|| GroupEntry::new(identity));
                entry.output = old;
            }
            self.groups
                .retain(|_, e| !(e.group.is_empty() && e.output.is_none()));
        }
    }
}

/// The state of one executor node.
#[derive(Debug)]
pub(crate) enum NodeState<T: Data> {
    /// Stateless.
    None,
    /// An input: the delta fed since the last step.
    Input(ZSet<T>),
    /// z⁻¹: the value absorbed in the previous step.
    Delay(Arc<ZSet<T>>),
    /// ∫: the accumulator, and the delta added this step (for undo).
    Integrate(Arc<ZSet<T>>, Option<Arc<ZSet<T>>>),
    /// D: the previous input, and the one it replaced (for undo).
    Differentiate(Arc<ZSet<T>>, Option<Arc<ZSet<T>>>),
    /// delta0: whether it has fired, and whether it fired this step.
    Delta0(bool, bool),
    /// The incremental equi-join.
    Join(Box<JoinState<T>>),
    /// The incremental group-by.
    Group(Box<GroupState<T>>),
}

impl<T: Data> NodeState<T> {
    /// Undoes what the node did in the current step.
    pub(crate) fn rollback(&mut self) {
        match self {
            NodeState::Integrate(acc, undo) => {
                if let Some(delta) = undo.take() {
                    Arc::make_mut(acc).add_assign_scaled(&delta, -1);
                }
            }
            NodeState::Differentiate(prev, undo) => {
                if let Some(old) = undo.take() {
                    *prev = old;
                }
            }
            NodeState::Delta0(fired, now) => {
                if *now {
                    *fired = false;
                    *now = false;
                }
            }
            NodeState::Join(j) => j.rollback(),
            NodeState::Group(g) => g.rollback(),
            NodeState::None | NodeState::Input(_) | NodeState::Delay(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(key_hash: u64, row_hash: u64, key: u32, row: u32) -> Update<u32> {
        Update {
            key_hash,
            row_hash,
            key,
            value: row,
            row,
            weight: 1,
        }
    }

    #[test]
    fn aggregates_should_see_the_output_they_replace() {
        use crate::operator::{Collect, Collected, GroupFn};
        // Rows (group, member); the output is (group, members, the previous output's
        // member count + 1, or 0 for a new group).
        let spec = GroupSpec::new(
            GroupFn::new("by group", |r: &(u32, u32)| Ok(((r.0, 0), *r))),
            Arc::new(Collect::incremental(
                false,
                |key: &(u32, u32), c: &Collected<'_, (u32, u32)>| {
                    let n = u32::try_from(c.values().len()).unwrap_or(u32::MAX);
                    Ok((key.0, n * 100 + c.previous().map_or(0, |p| p.1 / 100 + 1)))
                },
            )),
        );
        let mut state = GroupState::new(spec);
        let step = |state: &mut GroupState<(u32, u32)>, delta: ZSet<(u32, u32)>| {
            let mut out: Vec<_> = state
                .step(&delta)
                .map(|z| z.into_iter().collect())
                .unwrap_or_default();
            out.sort();
            out
        };
        assert_eq!(
            step(&mut state, crate::zset! { (1, 1) => 1, (1, 2) => 1 }),
            [((1, 200), 1)]
        );
        assert_eq!(
            step(&mut state, crate::zset! { (1, 3) => 1, (2, 1) => 1 }),
            [((1, 200), -1), ((1, 303), 1), ((2, 100), 1)]
        );
        // A rolled-back step leaves the previous output in place for the next one.
        assert_eq!(
            step(&mut state, crate::zset! { (1, 4) => 1 }),
            [((1, 303), -1), ((1, 404), 1)]
        );
        state.rollback();
        assert_eq!(
            step(&mut state, crate::zset! { (1, 3) => -1 }),
            [((1, 204), 1), ((1, 303), -1)]
        );
    }

    /// A group-by whose output is `[group, values…]`, built from the previous output and
    /// the edits when there are edits, and checked against the values gathered from the
    /// group; `used` counts the outputs built from edits.
    fn edit_checking_group_by(used: Arc<std::sync::atomic::AtomicUsize>) -> GroupState<Vec<u32>> {
        use crate::operator::{Collect, Collected, GroupFn};
        let spec = GroupSpec::new(
            // Rows [group, member]; member values [10 · member].
            GroupFn::new("by group", |r: &Vec<u32>| Ok((vec![r[0]], vec![r[1] * 10]))),
            Arc::new(Collect::incremental(
                false,
                move |key: &Vec<u32>, c: &Collected<'_, Vec<u32>>| {
                    let gathered: Vec<u32> = c.values().iter().map(|v| v[0]).collect();
                    if let (Some(previous), Some(edits)) = (c.previous(), c.edits()) {
                        let mut items = previous[1..].to_vec();
                        for e in edits {
                            match e.inserted {
                                Some((_, value)) if e.at <= items.len() => {
                                    items.insert(e.at, value[0]);
                                }
                                None if e.at < items.len() => {
                                    items.remove(e.at);
                                }
                                _ => return Err(format!("edit {e:?} out of range").into()),
                            }
                        }
                        if items != gathered {
                            return Err(format!("edited {items:?}, gathered {gathered:?}").into());
                        }
                        used.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(std::iter::once(key[0]).chain(gathered).collect())
                },
            )),
        );
        GroupState::new(spec)
    }

    proptest::proptest! {
        /// Applied to the previous output's list, the edits a step reports give the list
        /// gathered from the group: across unit and other weights, retractions of absent
        /// rows, and rolled-back steps.
        #[test]
        fn member_edits_should_rebuild_the_gathered_list(
            steps in proptest::collection::vec(
                (proptest::collection::vec((0u32..3, 0u32..40, -1i64..=2), 1..12), proptest::bool::ANY),
                1..30,
            ),
        ) {
            let used = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut state = edit_checking_group_by(Arc::clone(&used));
            for (rows, roll_back) in steps {
                let mut delta = ZSet::new();
                for (group, member, w) in rows {
                    delta.insert(vec![group, member], w);
                }
                let out = state.step(&delta);
                proptest::prop_assert!(out.is_ok(), "{:?}", out.err().map(|e| e.to_string()));
                if roll_back {
                    state.rollback();
                }
            }
        }
    }

    #[test]
    fn member_edits_should_be_reported_for_unit_weights() {
        let used = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut state = edit_checking_group_by(Arc::clone(&used));
        let mut delta = ZSet::new();
        for m in 0..20 {
            delta.insert(vec![1, m], 1);
        }
        assert!(state.step(&delta).is_ok());
        // Retract one member and insert two: built from the edits.
        let delta = crate::zset! { vec![1, 3] => -1, vec![1, 30] => 1, vec![1, 31] => 1 };
        assert!(state.step(&delta).is_ok());
        assert_eq!(used.load(std::sync::atomic::Ordering::Relaxed), 1);
        // A member of weight 2: no edits from then on.
        assert!(state.step(&crate::zset! { vec![1, 4] => 1 }).is_ok());
        assert!(state.step(&crate::zset! { vec![1, 5] => -1 }).is_ok());
        assert_eq!(used.load(std::sync::atomic::Ordering::Relaxed), 1);
        // Back to unit weights: edits again.
        assert!(state.step(&crate::zset! { vec![1, 4] => -1 }).is_ok());
        assert!(state.step(&crate::zset! { vec![1, 6] => -1 }).is_ok());
        assert_eq!(used.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[test]
    fn touched_keys_should_dedup_keys_whose_hashes_collide() {
        // Keys 1 and 2 share hash 7, and their updates interleave by row hash.
        let mut updates = vec![
            update(7, 3, 1, 30),
            update(9, 1, 3, 40),
            update(7, 2, 2, 20),
            update(7, 1, 1, 10),
            update(7, 4, 2, 50),
        ];
        updates.sort_unstable_by(update_order);
        let rows: Vec<u32> = updates.iter().map(|u| u.row).collect();
        assert_eq!(rows, [10, 20, 30, 50, 40]);
        let touched: Vec<(u64, u32)> = touched_keys(&updates)
            .into_iter()
            .map(|(h, k)| (h, *k))
            .collect();
        assert_eq!(touched, [(7, 1), (7, 2), (9, 3)]);
    }
}
