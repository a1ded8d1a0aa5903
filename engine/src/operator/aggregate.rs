//! Per-group aggregation: the groups kept by `group_by` and the functions that turn a group
//! into an output row.
//!
//! A [`Group`] holds its members as `(source row → (member value, weight))`, ordered by the
//! source row, so an insertion or retraction costs O(log n) and the group is materialized
//! only when its output row is rebuilt (once per touched group per step). Aggregates see
//! members with their weights; a member contributes only while its weight is positive.

use std::collections::BTreeMap;
use std::fmt;

use crate::data::{Data, Weight};
use crate::error::UserError;

/// The members of one group: source rows with their member values and weights.
#[derive(Clone, Debug)]
pub struct Group<T: Data> {
    members: BTreeMap<T, (T, Weight)>,
    positive: Weight,
}

impl<T: Data> Default for Group<T> {
    fn default() -> Self {
        Self {
            members: BTreeMap::new(),
            positive: 0,
        }
    }
}

impl<T: Data> Group<T> {
    /// Adds `weight` to member `row` (whose member value is `value`).
    pub fn update(&mut self, row: &T, value: &T, weight: Weight) {
        if weight == 0 {
            return;
        }
        if let Some((_, w)) = self.members.get_mut(row) {
            let old = *w;
            *w += weight;
            let new = *w;
            self.positive += new.max(0) - old.max(0);
            if new == 0 {
                self.members.remove(row);
            }
        } else {
            self.positive += weight.max(0);
            self.members.insert(row.clone(), (value.clone(), weight));
        }
    }

    /// The members `(source row, member value, weight)` in source-row order, including
    /// members whose weight is not positive.
    pub fn iter(&self) -> impl Iterator<Item = (&T, &T, Weight)> + '_ {
        self.members
            .iter()
            .map(|(row, (value, w))| (row, value, *w))
    }

    /// The members with positive weight, each with its weight.
    pub fn positive(&self) -> impl Iterator<Item = (&T, &T, Weight)> + '_ {
        self.iter().filter(|(_, _, w)| *w > 0)
    }

    /// The total positive weight (the group's count), maintained in O(1).
    #[must_use]
    pub fn count(&self) -> Weight {
        self.positive
    }

    /// Whether the group has no members at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// Turns a group into its output row; `None` emits nothing for the group.
///
/// The engine calls it only for groups with a positive count.
pub trait Aggregate<T: Data>: Send + Sync + fmt::Debug {
    /// A short description for rendering and serialization.
    fn label(&self) -> String;

    /// The output row of group `key`.
    ///
    /// # Errors
    /// Whatever the user logic reports; the step is then aborted.
    fn aggregate(&self, key: &T, group: &Group<T>) -> Result<Option<T>, UserError>;
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
    /// use deltaloop_engine::{Aggregate, Count, Group};
    /// let mut g: Group<i64> = Group::default();
    /// g.update(&1, &1, 2);
    /// g.update(&2, &2, 1);
    /// let count = Count::new(|key: &i64, n| Ok(key * 1000 + n));
    /// assert_eq!(count.aggregate(&7, &g).unwrap(), Some(7003));
    /// ```
    Count, Weight, "count"
);

impl<T: Data> Aggregate<T> for Count<T> {
    fn label(&self) -> String {
        "count".into()
    }

    fn aggregate(&self, key: &T, group: &Group<T>) -> Result<Option<T>, UserError> {
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

    fn aggregate(&self, key: &T, group: &Group<T>) -> Result<Option<T>, UserError> {
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

    fn aggregate(&self, key: &T, group: &Group<T>) -> Result<Option<T>, UserError> {
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
    /// use deltaloop_engine::{Aggregate, Group, Sum};
    /// let mut g: Group<i64> = Group::default();
    /// g.update(&1, &10, 2);
    /// g.update(&2, &5, 1);
    /// let sum = Sum::new(|v: &i64| Ok(*v), |_key, s| Ok(s));
    /// assert_eq!(sum.aggregate(&0, &g).unwrap(), Some(25));
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

    fn aggregate(&self, key: &T, group: &Group<T>) -> Result<Option<T>, UserError> {
        let mut sum: i64 = 0;
        for (_, v, w) in group.positive() {
            sum = sum.wrapping_add((self.read)(v)?.wrapping_mul(w));
        }
        (self.build)(key, sum).map(Some)
    }
}

/// The builder of [`Collect`]: `(key, values, source rows)` to the output row.
type CollectBuilder<T> = Box<dyn Fn(&T, Vec<&T>, Vec<&T>) -> Result<T, UserError> + Send + Sync>;

/// Collects the member values and the source rows of the group into lists, each positive
/// member repeated by its weight, in source-row order; with `distinct`, each list keeps only
/// the first occurrence of every element.
pub struct Collect<T: Data> {
    distinct: bool,
    build: CollectBuilder<T>,
}

impl<T: Data> Collect<T> {
    /// Collects values and rows; `build(key, values, rows)` makes the output row.
    ///
    /// ```
    /// use deltaloop_engine::{Aggregate, Collect, Group};
    /// let mut g: Group<String> = Group::default();
    /// g.update(&"pod-a".to_string(), &"10.0.0.1".to_string(), 1);
    /// g.update(&"pod-b".to_string(), &"10.0.0.1".to_string(), 1);
    /// let ips = Collect::new(true, |key: &String, values, _rows| {
    ///     Ok(format!("{key}: {}", values.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(",")))
    /// });
    /// assert_eq!(ips.aggregate(&"svc".to_string(), &g).unwrap().as_deref(), Some("svc: 10.0.0.1"));
    /// ```
    pub fn new(
        distinct: bool,
        build: impl Fn(&T, Vec<&T>, Vec<&T>) -> Result<T, UserError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            distinct,
            build: Box::new(build),
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

    fn aggregate(&self, key: &T, group: &Group<T>) -> Result<Option<T>, UserError> {
        let n = usize::try_from(group.count()).unwrap_or(0);
        let mut values = Vec::with_capacity(n);
        let mut rows = Vec::with_capacity(n);
        for (row, value, w) in group.positive() {
            for _ in 0..w {
                values.push(value);
                rows.push(row);
            }
        }
        if self.distinct {
            dedup_keep_first(&mut values);
            dedup_keep_first(&mut rows);
        }
        (self.build)(key, values, rows).map(Some)
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
