//! Per-group aggregation: the groups kept by `group_by` and the functions that turn a group
//! into an output row.
//!
//! A [`Group`] holds its members as `(source row, member value, weight)`, ordered by the
//! source row's 64-bit [`row_hash`] (ties, which in practice are only equal rows, are broken
//! by the row's `Ord`), and is materialized only when its output row is rebuilt (once per
//! touched group per step). A group of a group-by whose members are their values
//! ([`Group::of_values`]) stores each value once, as the row. Aggregates see members with
//! their weights; a member contributes only while its weight is positive.
//!
//! Ordering by hash rather than by the row itself keeps an update to a binary search over
//! `u64`s: a row's `Ord` can be a deep comparison (for the pipeline's documents, a
//! key-by-key string comparison) on memory that is not in the cache. The hash is computed
//! once per update and stored with the member. It is deterministic (fixed seed), so the
//! member order is the same in every run; it is just not meaningful.
//!
//! Members live in one sorted `Vec` while the group is small (up to
//! [`Group::SMALL_MAX`] = 1024 members): a binary search and a `memmove` of at most a few
//! tens of KB per update, and an aggregate walks contiguous memory instead of chasing tree
//! nodes, which matters when the state is far larger than the cache. A larger group moves
//! to a `BTreeMap` so an update stays O(log n); it moves back when it shrinks below a
//! quarter of that. Both layouts use the same order.

use std::collections::BTreeMap;
use std::collections::btree_map::{self, Entry};
use std::fmt;

use crate::data::{Data, Weight};
use crate::error::UserError;
use crate::zset::row_hash;

/// One member in the small layout (its value, when it is not the row, is kept apart; see
/// [`Members::Small`]).
#[derive(Clone, Debug)]
struct Member<T: Data> {
    /// `row_hash(row)`, the primary order key.
    hash: u64,
    row: T,
    weight: Weight,
}

/// The order key of a member in the large layout: the row's hash, then the row.
///
/// The derived `Ord` compares the fields in declaration order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct HashedRow<T: Data> {
    hash: u64,
    row: T,
}

/// How a group stores its members.
#[derive(Clone, Debug)]
enum Members<T: Data> {
    /// Sorted by `(hash, row)`, no duplicate rows, no zero weights; with the member values
    /// position by position, or no values when each member's value is its row (a group of
    /// [`Group::of_values`]), which keeps a member to 48 bytes instead of 80 for the
    /// pipeline's documents, and a `memmove` of the vector to 60 % of the bytes.
    Small(Vec<Member<T>>, Vec<T>),
    /// `(hash, row)` → (member value, weight).
    Large(BTreeMap<HashedRow<T>, (T, Weight)>),
}

/// The members of one group: source rows with their member values and weights.
#[derive(Clone, Debug)]
pub struct Group<T: Data> {
    members: Members<T>,
    /// Whether each member's value is its row (see [`Group::of_values`]).
    values_are_rows: bool,
    positive: Weight,
    /// How many members have a weight other than 1.
    non_unit: usize,
}

impl<T: Data> Default for Group<T> {
    fn default() -> Self {
        Self {
            members: Members::Small(Vec::new(), Vec::new()),
            values_are_rows: false,
            positive: 0,
            non_unit: 0,
        }
    }
}

impl<T: Data> Group<T> {
    /// An empty group whose members' values are their rows: every update must pass
    /// `value == row` (as a group-by with [`MemberIdentity::Value`](crate::MemberIdentity)
    /// does), and each value is stored once.
    #[must_use]
    pub fn of_values() -> Self {
        Self {
            values_are_rows: true,
            ..Self::default()
        }
    }
}

/// What one [`Group::update_hashed`] did to the sequence of members (in [`Group::iter`]
/// order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A member of weight 1 was inserted at this position.
    Inserted(usize),
    /// The member of weight 1 at this position was removed.
    Removed(usize),
    /// Anything else: a weight changed in place, a member of another weight came or went,
    /// or the group is in the large layout (which does not track positions).
    Other,
}

/// One change of a step to a group's members, at a position of the member sequence as the
/// step's earlier changes left it: the member inserted there, or the member there removed.
///
/// Only reported (see [`Prior::edits`]) when every member has weight 1, so that the
/// positions are also those of a list with one item per member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberEdit<'a, T: Data> {
    /// The position, counted after the step's earlier edits.
    pub at: usize,
    /// `Some((source row, member value))`: the member inserted at `at`; `None`: the member
    /// at `at` removed.
    pub inserted: Option<(&'a T, &'a T)>,
}

/// What an aggregate may reuse from before the step: the group's previous output row and
/// how the members changed since it was built.
#[derive(Clone, Copy, Debug)]
pub struct Prior<'a, T: Data> {
    /// The group's output row before this step (`None` for a group new in this step). It
    /// is not changed, since its retraction is emitted alongside the new row.
    pub output: Option<&'a T>,
    /// The step's member changes in the order they were applied, when `output` was built
    /// from the members before them and every member has weight 1 (`None` otherwise).
    pub edits: Option<&'a [MemberEdit<'a, T>]>,
}

impl<T: Data> Prior<'_, T> {
    /// Nothing to reuse: a group aggregated from scratch.
    #[must_use]
    pub const fn none() -> Self {
        Prior {
            output: None,
            edits: None,
        }
    }
}

/// The members of a [`Group`] in the order of the source rows' hashes; see [`Group::iter`].
#[derive(Debug)]
enum MemberIter<'a, T: Data> {
    /// The members, with their values unless they are the rows.
    Small(
        std::slice::Iter<'a, Member<T>>,
        Option<std::slice::Iter<'a, T>>,
    ),
    Large(btree_map::Iter<'a, HashedRow<T>, (T, Weight)>),
}

impl<'a, T: Data> Iterator for MemberIter<'a, T> {
    type Item = (&'a T, &'a T, Weight);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            MemberIter::Small(it, None) => it.next().map(|m| (&m.row, &m.row, m.weight)),
            MemberIter::Small(it, Some(values)) => it
                .next()
                .zip(values.next())
                .map(|(m, value)| (&m.row, value, m.weight)),
            MemberIter::Large(it) => it.next().map(|(k, (value, w))| (&k.row, value, *w)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            MemberIter::Small(it, _) => it.size_hint(),
            MemberIter::Large(it) => it.size_hint(),
        }
    }
}

/// Binary search for `(hash, row)` in the sorted small layout, after reading the members
/// front to back once.
///
/// The read is what makes this fast when the state is much larger than the cache: a cold
/// binary search takes a chain of dependent cache misses spread over the vector, while a
/// sequential read is streamed in by the hardware prefetcher at memory bandwidth, after
/// which the search, the second update of a retract/insert pair, and the aggregate that
/// walks the group right after hit the cache. For a group already in cache the read costs a
/// few nanoseconds per cache line. The search compares `u64`s; `Ord` on rows runs only on
/// equal hashes, that is, in practice, once, on the row being retracted.
fn search_streaming<T: Data>(v: &[Member<T>], hash: u64, row: &T) -> Result<usize, usize> {
    if v.len() > 8 {
        let sum = v
            .iter()
            .fold(0, |acc: Weight, m| acc.wrapping_add(m.weight));
        std::hint::black_box(sum);
    }
    v.binary_search_by(|m| m.hash.cmp(&hash).then_with(|| m.row.cmp(row)))
}

impl<T: Data> Group<T> {
    /// The largest number of members kept in the compact sorted-vector layout; a group that
    /// grows past it switches to a B-tree, and switches back below a quarter of it.
    pub const SMALL_MAX: usize = 1024;

    /// Adds `weight` to member `row` (whose member value is `value`).
    ///
    /// Members are kept in the order of their rows' [`row_hash`]es, so [`Group::iter`]
    /// yields them in an order that is deterministic but otherwise arbitrary.
    ///
    /// ```
    /// use deltaloop_engine::{Group, row_hash};
    /// let mut g: Group<u32> = Group::default();
    /// for row in (0..1000).rev() {
    ///     g.update(&row, &(row * 10), 1);
    /// }
    /// g.update(&7, &70, -1);
    /// g.update(&8, &80, 2);
    /// assert_eq!(g.count(), 1001);
    /// let mut rows: Vec<(u32, u32, i64)> = g.iter().map(|(r, v, w)| (*r, *v, w)).collect();
    /// // In the order of the rows' hashes...
    /// assert!(rows.windows(2).all(|p| row_hash(&p[0].0) < row_hash(&p[1].0)));
    /// // ...and exactly the members with a non-zero weight.
    /// rows.sort();
    /// assert_eq!(rows[..9], [(0, 0, 1), (1, 10, 1), (2, 20, 1), (3, 30, 1), (4, 40, 1),
    ///                        (5, 50, 1), (6, 60, 1), (8, 80, 3), (9, 90, 1)]);
    /// ```
    pub fn update(&mut self, row: &T, value: &T, weight: Weight) {
        self.update_hashed(row_hash(row), row, value, weight);
    }

    /// [`Group::update`] with `hash == row_hash(row)` already computed by the caller;
    /// returns where the member sequence changed.
    pub(crate) fn update_hashed(
        &mut self,
        hash: u64,
        row: &T,
        value: &T,
        weight: Weight,
    ) -> Change {
        if weight == 0 {
            return Change::Other;
        }
        debug_assert!(
            !self.values_are_rows || row == value,
            "a group of values was given a value that is not its row"
        );
        let mut change = Change::Other;
        let (old, new) = match &mut self.members {
            Members::Small(v, values) => match search_streaming(v, hash, row) {
                Ok(i) => {
                    let old = v[i].weight;
                    let new = old + weight;
                    if new == 0 {
                        v.remove(i);
                        if !self.values_are_rows {
                            values.remove(i);
                        }
                        if old == 1 {
                            change = Change::Removed(i);
                        }
                    } else {
                        v[i].weight = new;
                    }
                    (old, new)
                }
                Err(i) => {
                    let member = Member {
                        hash,
                        row: row.clone(),
                        weight,
                    };
                    v.insert(i, member);
                    if !self.values_are_rows {
                        values.insert(i, value.clone());
                    }
                    if weight == 1 {
                        change = Change::Inserted(i);
                    }
                    (0, weight)
                }
            },
            Members::Large(m) => {
                let key = HashedRow {
                    hash,
                    row: row.clone(),
                };
                match m.entry(key) {
                    Entry::Occupied(mut e) => {
                        let old = e.get().1;
                        let new = old + weight;
                        if new == 0 {
                            e.remove();
                        } else {
                            e.get_mut().1 = new;
                        }
                        (old, new)
                    }
                    Entry::Vacant(e) => {
                        e.insert((value.clone(), weight));
                        (0, weight)
                    }
                }
            }
        };
        self.positive += new.max(0) - old.max(0);
        let odd = |w: Weight| usize::from(w != 0 && w != 1);
        self.non_unit = self.non_unit + odd(new) - odd(old);
        self.relayout();
        change
    }

    /// Moves the members between the two layouts when the group crosses their thresholds.
    fn relayout(&mut self) {
        match &mut self.members {
            Members::Small(v, values) if v.len() > Self::SMALL_MAX => {
                let members = std::mem::take(v);
                let values: Vec<T> = if self.values_are_rows {
                    members.iter().map(|m| m.row.clone()).collect()
                } else {
                    std::mem::take(values)
                };
                let map = members
                    .into_iter()
                    .zip(values)
                    .map(|(m, value)| {
                        let key = HashedRow {
                            hash: m.hash,
                            row: m.row,
                        };
                        (key, (value, m.weight))
                    })
                    .collect();
                self.members = Members::Large(map);
            }
            Members::Large(m) if m.len() < Self::SMALL_MAX / 4 => {
                let mut members = Vec::with_capacity(m.len());
                let mut values = Vec::with_capacity(if self.values_are_rows { 0 } else { m.len() });
                for (k, (value, weight)) in std::mem::take(m) {
                    members.push(Member {
                        hash: k.hash,
                        row: k.row,
                        weight,
                    });
                    if !self.values_are_rows {
                        values.push(value);
                    }
                }
                self.members = Members::Small(members, values);
            }
            _ => {}
        }
    }

    /// The members `(source row, member value, weight)` in the order of the source rows'
    /// hashes (deterministic; see [`row_hash`]), including members whose weight is not
    /// positive.
    pub fn iter(&self) -> impl Iterator<Item = (&T, &T, Weight)> + '_ {
        match &self.members {
            Members::Small(v, values) => {
                MemberIter::Small(v.iter(), (!self.values_are_rows).then(|| values.iter()))
            }
            Members::Large(m) => MemberIter::Large(m.iter()),
        }
    }

    /// The members with positive weight, each with its weight, in the order of
    /// [`Group::iter`].
    pub fn positive(&self) -> impl Iterator<Item = (&T, &T, Weight)> + '_ {
        self.iter().filter(|(_, _, w)| *w > 0)
    }

    /// The total positive weight (the group's count), maintained in O(1).
    #[must_use]
    pub fn count(&self) -> Weight {
        self.positive
    }

    /// Whether every member has weight 1 (so that the members and the collected list of
    /// their values correspond one to one, position by position).
    #[must_use]
    pub fn all_unit(&self) -> bool {
        self.non_unit == 0
    }

    /// The number of members, including those whose weight is not positive.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.members {
            Members::Small(v, _) => v.len(),
            Members::Large(m) => m.len(),
        }
    }

    /// Whether the group has no members at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Turns a group into its output row; `None` emits nothing for the group.
///
/// The engine calls it only for groups with a positive count.
pub trait Aggregate<T: Data>: Send + Sync + fmt::Debug {
    /// A short description for rendering and serialization.
    fn label(&self) -> String;

    /// The output row of group `key`. `prior` holds the row the group had before this step
    /// and, where they are simple, the member changes since: the aggregate may reuse parts
    /// of that row instead of rebuilding them from the whole group.
    ///
    /// # Errors
    /// Whatever the user logic reports; the step is then aborted.
    fn aggregate(
        &self,
        key: &T,
        group: &Group<T>,
        prior: Prior<'_, T>,
    ) -> Result<Option<T>, UserError>;
}

macro_rules! aggregate_struct {
    ($(#[$doc:meta])* $name:ident, $arg:ty, $label:literal) => {
        $(#[$doc])*
        pub struct $name<T: Data> {
            build: Box<dyn Fn(&T, $arg) -> Result<T, UserError> + Send + Sync>,
        }

        impl<T: Data> $name<T> {
            /// Creates the aggregate with `build(key, result)` producing the output row.
            pub fn new(build: impl Fn(&T, $arg) -> Result<T, UserError> + Send + Sync + 'static) -> Self {
                Self { build: Box::new(build) }
            }
        }

        impl<T: Data> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($label)
            }
        }
    };
}

aggregate_struct!(
    /// The group's count: the sum of positive member weights.
    ///
    /// ```
    /// use deltaloop_engine::{Aggregate, Count, Group, Prior};
    /// let mut g: Group<i64> = Group::default();
    /// g.update(&1, &1, 2);
    /// g.update(&2, &2, 1);
    /// let count = Count::new(|key: &i64, n| Ok(key * 1000 + n));
    /// assert_eq!(count.aggregate(&7, &g, Prior::none()).unwrap(), Some(7003));
    /// ```
    Count, Weight, "count"
);

impl<T: Data> Aggregate<T> for Count<T> {
    fn label(&self) -> String {
        "count".into()
    }

    fn aggregate(
        &self,
        key: &T,
        group: &Group<T>,
        _prior: Prior<'_, T>,
    ) -> Result<Option<T>, UserError> {
        (self.build)(key, group.count()).map(Some)
    }
}

aggregate_struct!(
    /// The smallest member value (by the row order) among positive members.
    Min, &T, "min"
);

impl<T: Data> Aggregate<T> for Min<T> {
    fn label(&self) -> String {
        "min".into()
    }

    fn aggregate(
        &self,
        key: &T,
        group: &Group<T>,
        _prior: Prior<'_, T>,
    ) -> Result<Option<T>, UserError> {
        match group.positive().map(|(_, v, _)| v).min() {
            Some(v) => (self.build)(key, v).map(Some),
            None => Ok(None),
        }
    }
}

aggregate_struct!(
    /// The largest member value (by the row order) among positive members.
    Max, &T, "max"
);

impl<T: Data> Aggregate<T> for Max<T> {
    fn label(&self) -> String {
        "max".into()
    }

    fn aggregate(
        &self,
        key: &T,
        group: &Group<T>,
        _prior: Prior<'_, T>,
    ) -> Result<Option<T>, UserError> {
        match group.positive().map(|(_, v, _)| v).max() {
            Some(v) => (self.build)(key, v).map(Some),
            None => Ok(None),
        }
    }
}

/// Reads a number from a member value.
type Reader<T> = Box<dyn Fn(&T) -> Result<i64, UserError> + Send + Sync>;
/// Builds the output row from the key and the sum.
type SumBuilder<T> = Box<dyn Fn(&T, i64) -> Result<T, UserError> + Send + Sync>;

/// The weighted sum of a numeric reading of each positive member value.
pub struct Sum<T: Data> {
    read: Reader<T>,
    build: SumBuilder<T>,
}

impl<T: Data> Sum<T> {
    /// Sums `read(value) · weight` over positive members; `build(key, sum)` makes the row.
    ///
    /// ```
    /// use deltaloop_engine::{Aggregate, Group, Prior, Sum};
    /// let mut g: Group<i64> = Group::default();
    /// g.update(&1, &10, 2);
    /// g.update(&2, &5, 1);
    /// let sum = Sum::new(|v: &i64| Ok(*v), |_key, s| Ok(s));
    /// assert_eq!(sum.aggregate(&0, &g, Prior::none()).unwrap(), Some(25));
    /// ```
    pub fn new(
        read: impl Fn(&T) -> Result<i64, UserError> + Send + Sync + 'static,
        build: impl Fn(&T, i64) -> Result<T, UserError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            read: Box::new(read),
            build: Box::new(build),
        }
    }
}

impl<T: Data> fmt::Debug for Sum<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sum")
    }
}

impl<T: Data> Aggregate<T> for Sum<T> {
    fn label(&self) -> String {
        "sum".into()
    }

    fn aggregate(
        &self,
        key: &T,
        group: &Group<T>,
        _prior: Prior<'_, T>,
    ) -> Result<Option<T>, UserError> {
        let mut sum: i64 = 0;
        for (_, v, w) in group.positive() {
            sum = sum.wrapping_add((self.read)(v)?.wrapping_mul(w));
        }
        (self.build)(key, sum).map(Some)
    }
}

/// The builder of [`Collect`]: the key and what was collected to the output row.
type CollectBuilder<T> = Box<dyn Fn(&T, &Collected<'_, T>) -> Result<T, UserError> + Send + Sync>;

/// Collects the member values and the source rows of the group into lists, each positive
/// member repeated by its weight, in the order of the source rows' hashes (deterministic;
/// see [`Group::iter`]); with `distinct`, each list keeps only the first occurrence of every
/// element.
pub struct Collect<T: Data> {
    distinct: bool,
    /// Whether `build` receives the source rows (else an empty list).
    rows: bool,
    build: CollectBuilder<T>,
}

/// One group as a [`Collect`] builder sees it: the lists, gathered on demand, and what it
/// may reuse from the group's previous output row.
pub struct Collected<'a, T: Data> {
    collect: &'a Collect<T>,
    group: &'a Group<T>,
    prior: Prior<'a, T>,
}

impl<T: Data> fmt::Debug for Collected<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collected")
            .field("collect", &self.collect)
            .field("group", &self.group)
            .field("prior", &self.prior)
            .finish()
    }
}

impl<'a, T: Data> Collected<'a, T> {
    /// The member values, each positive member repeated by its weight, in member order
    /// (distinct if the `Collect` is). O(group).
    #[must_use]
    pub fn values(&self) -> Vec<&'a T> {
        self.gather(true, false).0
    }

    /// The source rows, like [`values`](Self::values); empty when the `Collect` was made
    /// [`without_rows`](Collect::without_rows).
    #[must_use]
    pub fn rows(&self) -> Vec<&'a T> {
        self.gather(false, true).1
    }

    /// The values (with `values`) and the rows (with `rows`, unless the `Collect` is
    /// without rows), in one pass over the group.
    fn gather(&self, values: bool, rows: bool) -> (Vec<&'a T>, Vec<&'a T>) {
        let rows = rows && self.collect.rows;
        let n = usize::try_from(self.group.count()).unwrap_or(0);
        let mut vs = Vec::with_capacity(if values { n } else { 0 });
        let mut rs = Vec::with_capacity(if rows { n } else { 0 });
        for (row, value, w) in self.group.positive() {
            for _ in 0..w {
                if values {
                    vs.push(value);
                }
                if rows {
                    rs.push(row);
                }
            }
        }
        if self.collect.distinct {
            dedup_keep_first(&mut vs);
            dedup_keep_first(&mut rs);
        }
        (vs, rs)
    }

    /// The group's output row from before the step (`None` for a new group).
    #[must_use]
    pub fn previous(&self) -> Option<&'a T> {
        self.prior.output
    }

    /// How the lists changed since [`previous`](Self::previous) was built, when that is
    /// known: applied in order to the previous output's lists (the values list, or the
    /// rows list), these edits give the new ones. `None` for a `distinct` collection (a
    /// member's position is not its item's position there) and wherever
    /// [`Prior::edits`] is `None`.
    #[must_use]
    pub fn edits(&self) -> Option<&'a [MemberEdit<'a, T>]> {
        if self.collect.distinct {
            return None;
        }
        self.prior.edits
    }
}

impl<T: Data> Collect<T> {
    /// Collects values and rows; `build(key, values, rows)` makes the output row.
    ///
    /// ```
    /// use deltaloop_engine::{Aggregate, Collect, Group, Prior};
    /// let mut g: Group<String> = Group::default();
    /// g.update(&"pod-a".to_string(), &"10.0.0.1".to_string(), 1);
    /// g.update(&"pod-b".to_string(), &"10.0.0.1".to_string(), 1);
    /// let ips = Collect::new(true, |key: &String, values, _rows| {
    ///     Ok(format!("{key}: {}", values.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(",")))
    /// });
    /// assert_eq!(ips.aggregate(&"svc".to_string(), &g, Prior::none()).unwrap().as_deref(), Some("svc: 10.0.0.1"));
    /// ```
    pub fn new(
        distinct: bool,
        build: impl Fn(&T, Vec<&T>, Vec<&T>) -> Result<T, UserError> + Send + Sync + 'static,
    ) -> Self {
        Self::incremental(distinct, move |key, c| {
            let (values, rows) = c.gather(true, true);
            build(key, values, rows)
        })
    }

    /// As [`Collect::new`], but `build(key, collected)` gathers the lists itself, and can
    /// instead build them from the group's previous output row and the step's edits (see
    /// [`Collected`]): O(change) instead of O(group) per touched group.
    pub fn incremental(
        distinct: bool,
        build: impl Fn(&T, &Collected<'_, T>) -> Result<T, UserError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            distinct,
            rows: true,
            build: Box::new(build),
        }
    }

    /// The same collection, but `build` receives an empty list of source rows: for
    /// outputs that do not keep them, which saves a pass over the group.
    #[must_use]
    pub fn without_rows(self) -> Self {
        Self {
            rows: false,
            ..self
        }
    }
}

impl<T: Data> fmt::Debug for Collect<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "collect(distinct={})", self.distinct)
    }
}

impl<T: Data> Aggregate<T> for Collect<T> {
    fn label(&self) -> String {
        format!("collect(distinct={})", self.distinct)
    }

    fn aggregate(
        &self,
        key: &T,
        group: &Group<T>,
        prior: Prior<'_, T>,
    ) -> Result<Option<T>, UserError> {
        let collected = Collected {
            collect: self,
            group,
            prior,
        };
        (self.build)(key, &collected).map(Some)
    }
}

/// Removes later duplicates, keeping first occurrences in order.
fn dedup_keep_first<T: Data>(items: &mut Vec<&T>) {
    let mut seen = hashbrown::HashSet::with_capacity_and_hasher(
        items.len(),
        crate::zset::RowHasher::default(),
    );
    items.retain(|x| seen.insert(*x));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Random updates, enough to cross both layout thresholds, against a B-tree model:
        /// the same members, in the order of `(row_hash(row), row)`.
        #[test]
        fn group_should_match_a_btree_model_across_layouts(
            ops in proptest::collection::vec((0u16..2500, -2i64..=2), 0..8000)
        ) {
            let mut g: Group<u16> = Group::default();
            let mut model: BTreeMap<(u64, u16), Weight> = BTreeMap::new();
            for (row, w) in ops {
                g.update(&row, &(row / 2), w);
                let e = model.entry((row_hash(&row), row)).or_insert(0);
                *e += w;
                if *e == 0 {
                    model.remove(&(row_hash(&row), row));
                }
                prop_assert_eq!(g.len(), model.len());
            }
            let got: Vec<(u16, u16, Weight)> = g.iter().map(|(r, v, w)| (*r, *v, w)).collect();
            let want: Vec<(u16, u16, Weight)> =
                model.iter().map(|((_, r), w)| (*r, *r / 2, *w)).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(g.count(), model.values().map(|w| (*w).max(0)).sum::<Weight>());
        }

        /// A group of values (each stored once) behaves exactly as a group given every
        /// member's value as its row too: the same changes, members, count and layouts.
        #[test]
        fn group_of_values_should_match_a_group_of_rows_across_layouts(
            ops in proptest::collection::vec((0u16..2500, -2i64..=2), 0..8000)
        ) {
            let mut rows: Group<u16> = Group::default();
            let mut values: Group<u16> = Group::of_values();
            for (row, w) in ops {
                let hash = row_hash(&row);
                prop_assert_eq!(
                    values.update_hashed(hash, &row, &row, w),
                    rows.update_hashed(hash, &row, &row, w)
                );
                prop_assert_eq!(
                    matches!(values.members, Members::Large(_)),
                    matches!(rows.members, Members::Large(_))
                );
            }
            prop_assert!(values.iter().eq(rows.iter()));
            prop_assert_eq!(values.count(), rows.count());
            prop_assert_eq!(values.all_unit(), rows.all_unit());
        }

        /// Rows whose hashes collide are told apart and ordered by `Ord`.
        #[test]
        fn group_should_order_equal_hashes_by_row(
            ops in proptest::collection::vec((0u16..1500, -1i64..=2), 0..4000)
        ) {
            // Every row gets one of four hashes, so most comparisons fall back to `Ord`; there
            // are enough rows to cross the layout thresholds.
            let mut g: Group<u16> = Group::default();
            let mut model: BTreeMap<(u64, u16), Weight> = BTreeMap::new();
            for (row, w) in ops {
                let hash = u64::from(row % 4);
                g.update_hashed(hash, &row, &row, w);
                let e = model.entry((hash, row)).or_insert(0);
                *e += w;
                if *e == 0 {
                    model.remove(&(hash, row));
                }
            }
            let got: Vec<(u16, Weight)> = g.iter().map(|(r, _, w)| (*r, w)).collect();
            let want: Vec<(u16, Weight)> = model.iter().map(|((_, r), w)| (*r, *w)).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn group_should_switch_layouts_both_ways() {
        let mut g: Group<u32> = Group::default();
        let n = u32::try_from(Group::<u32>::SMALL_MAX + 1).unwrap_or(u32::MAX);
        for row in 0..n {
            g.update(&row, &row, 1);
        }
        assert!(matches!(g.members, Members::Large(_)));
        for row in 10..n {
            g.update(&row, &row, -1);
        }
        assert!(matches!(g.members, Members::Small(..)));
        let mut rows: Vec<u32> = g.iter().map(|(r, ..)| *r).collect();
        assert!(rows.windows(2).all(|p| row_hash(&p[0]) < row_hash(&p[1])));
        rows.sort_unstable();
        assert_eq!(rows, (0..10).collect::<Vec<_>>());
        assert_eq!(g.count(), 10);
    }

    #[test]
    fn collect_without_rows_should_build_the_same_values_and_no_rows() {
        let mut g: Group<u32> = Group::default();
        for (row, w) in [(1, 2), (2, 1), (3, -1), (4, 1)] {
            g.update(&row, &(row % 2), w);
        }
        let seen = |rows_wanted: bool| {
            let collect = Collect::new(true, move |_key: &u32, values, rows| {
                assert_eq!(rows.is_empty(), !rows_wanted);
                Ok(values.into_iter().map(|v| v * 10 + 1).sum::<u32>() * 100
                    + u32::try_from(rows.len()).unwrap_or(0))
            });
            let collect = if rows_wanted {
                collect
            } else {
                collect.without_rows()
            };
            collect.aggregate(&0, &g, Prior::none())
        };
        // Distinct values {1, 0}: (11 + 1) * 100; the rows 1, 2, 4 (distinct) are 3.
        assert_eq!(seen(true).unwrap(), Some(1203));
        assert_eq!(seen(false).unwrap(), Some(1200));
    }
}
