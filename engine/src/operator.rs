//! The operator catalog: what each circuit node computes, and its linearity class.
//!
//! An [`Operator`] is a *description* of a node's computation: cloneable, inspectable and free
//! of run-time state, so transforms can copy and rewrite circuits freely. The executor creates
//! the state (integrals, indexes, groups) when a circuit is instantiated.
//!
//! Operators that need user logic take [`Func`]s: shared closures with a label. The label is
//! what renderers print and what front ends (the pipeline crate) use to serialize the node, so
//! the engine never needs to know the expression language behind a closure.
//!
//! | kind | class | arity | computes |
//! |---|---|---|---|
//! | `input` | primitive | 0 | the delta (or snapshot) fed this step |
//! | `output` | primitive | any | the sum of its inputs |
//! | `delay` (z⁻¹) | primitive | 1 | the previous step's input (∅ first) |
//! | `integrate` (∫) | bypass | 1 | the running sum of its input |
//! | `differentiate` (D) | bypass | 1 | input minus the previous input |
//! | `delta0` | primitive | 1 | its input on the first step, ∅ afterwards |
//! | `H_func` | primitive | 2 | the membership changes of `distinct` (see [`Operator::DistinctH`]) |
//! | `noop`, `negate`, `linear_combination` | linear | 1, 1, n | identity, −x, Σ cᵢ·xᵢ |
//! | `project` (map), `select` (filter), `unwind` (flat_map) | linear | 1 | per-row user logic |
//! | `cartesian` | bilinear | 2 | every pair, combined, weights multiplied |
//! | `equi_join` | non-linear* | 2 | pairs with equal keys (hash join) |
//! | `distinct` | non-linear | 1 | positive rows at weight 1 |
//! | `group_by` | non-linear | 1 | one aggregate row per group |
//! | `group_by_incremental`, `equi_join_incremental` | primitive | 1, 2 | the stateful delta forms |

mod aggregate;

use std::fmt;
use std::sync::Arc;

pub(crate) use aggregate::Change;
pub use aggregate::{
    Aggregate, Collect, Collected, Count, Group, Max, MemberEdit, Min, Prior, Sum,
};

use crate::data::{Data, Weight};
use crate::error::UserError;

/// A labelled, shared closure: the user logic of an operator.
///
/// Cloning shares the closure. Two `Func`s print and serialize by their label only.
pub struct Func<F: ?Sized> {
    label: Arc<str>,
    f: Arc<F>,
}

impl<F: ?Sized> Func<F> {
    /// The label given at construction (an expression's source text, say).
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The closure itself.
    #[must_use]
    pub fn func(&self) -> &F {
        &self.f
    }
}

impl<F: ?Sized> Clone for Func<F> {
    fn clone(&self) -> Self {
        Self {
            label: Arc::clone(&self.label),
            f: Arc::clone(&self.f),
        }
    }
}

impl<F: ?Sized> fmt::Debug for Func<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Func({:?})", self.label)
    }
}

/// `project`: maps a row to a new row, or to `None` to drop it.
pub type MapFn<T> = Func<dyn Fn(&T) -> Result<Option<T>, UserError> + Send + Sync>;
/// `select`: keeps a row iff the predicate returns `true`.
pub type FilterFn<T> = Func<dyn Fn(&T) -> Result<bool, UserError> + Send + Sync>;
/// `unwind`: pushes zero or more rows derived from one row.
pub type FlatMapFn<T> = Func<dyn Fn(&T, &mut Vec<T>) -> Result<(), UserError> + Send + Sync>;
/// `cartesian` and joins: combines a left and a right row into one.
pub type CombineFn<T> = Func<dyn Fn(&T, &T) -> Result<T, UserError> + Send + Sync>;
/// A pair an equi-join matched: the key both sides share and the combined row.
#[derive(Clone, Copy, Debug)]
pub struct Matched<'a, T> {
    /// The join key of both rows.
    pub key: &'a T,
    /// The combined row (the output of the join's [`CombineFn`]).
    pub row: &'a T,
}

/// A join's residual condition: whether a [`Matched`] pair's combined row belongs in the
/// output; see [`JoinSpec::residual`].
pub type ResidualFn<T> = Func<dyn Fn(Matched<'_, T>) -> Result<bool, UserError> + Send + Sync>;
/// Join keys: the key of a row, or `None` when the row has no key and never matches. (The
/// same closure type as [`MapFn`].)
pub type KeyFn<T> = MapFn<T>;
/// Grouping: the group key and the member value of a row.
pub type GroupFn<T> = Func<dyn Fn(&T) -> Result<(T, T), UserError> + Send + Sync>;

impl<T: Data> MapFn<T> {
    /// A projection named `label`.
    pub fn new(
        label: impl Into<Arc<str>>,
        f: impl Fn(&T) -> Result<Option<T>, UserError> + Send + Sync + 'static,
    ) -> Self {
        Func {
            label: label.into(),
            f: Arc::new(f),
        }
    }
}

impl<T: Data> FilterFn<T> {
    /// A predicate named `label`.
    pub fn new(
        label: impl Into<Arc<str>>,
        f: impl Fn(&T) -> Result<bool, UserError> + Send + Sync + 'static,
    ) -> Self {
        Func {
            label: label.into(),
            f: Arc::new(f),
        }
    }
}

impl<T: Data> FlatMapFn<T> {
    /// A row expansion named `label`.
    pub fn new(
        label: impl Into<Arc<str>>,
        f: impl Fn(&T, &mut Vec<T>) -> Result<(), UserError> + Send + Sync + 'static,
    ) -> Self {
        Func {
            label: label.into(),
            f: Arc::new(f),
        }
    }
}

impl<T: Data> CombineFn<T> {
    /// A row combiner named `label`.
    pub fn new(
        label: impl Into<Arc<str>>,
        f: impl Fn(&T, &T) -> Result<T, UserError> + Send + Sync + 'static,
    ) -> Self {
        Func {
            label: label.into(),
            f: Arc::new(f),
        }
    }
}

impl<T: Data> ResidualFn<T> {
    /// A residual join condition named `label`.
    pub fn new(
        label: impl Into<Arc<str>>,
        f: impl Fn(Matched<'_, T>) -> Result<bool, UserError> + Send + Sync + 'static,
    ) -> Self {
        Func {
            label: label.into(),
            f: Arc::new(f),
        }
    }
}

impl<T: Data> GroupFn<T> {
    /// A (group key, member value) extractor named `label`.
    pub fn new(
        label: impl Into<Arc<str>>,
        f: impl Fn(&T) -> Result<(T, T), UserError> + Send + Sync + 'static,
    ) -> Self {
        Func {
            label: label.into(),
            f: Arc::new(f),
        }
    }
}

/// The user logic of an equi-join: a key per side and the combiner of matching rows.
#[derive(Clone, Debug)]
pub struct JoinSpec<T: Data> {
    /// The key of a left row.
    pub left_key: KeyFn<T>,
    /// The key of a right row.
    pub right_key: KeyFn<T>,
    /// Builds the output row of a matching pair.
    pub combine: CombineFn<T>,
    /// An optional condition on each combined row, given the key the pair matched on; a
    /// row for which it returns `false` is dropped. It lets a caller fold a filter that
    /// follows the join into it, and skip the filter's work where the key already decides
    /// it (a pipeline join on `@eq` conjuncts only re-checks pairs whose keys are not plain
    /// scalars).
    pub residual: Option<ResidualFn<T>>,
}

/// The user logic of a group-by: how rows are grouped and how a group becomes a row.
#[derive(Clone, Debug)]
pub struct GroupSpec<T: Data> {
    /// The group key and member value of each row.
    pub group: GroupFn<T>,
    /// Builds a group's output row.
    pub aggregate: Arc<dyn Aggregate<T>>,
    /// What tells a group's members apart: the source rows (the usual case) or their values.
    pub identity: MemberIdentity,
}

impl<T: Data> GroupSpec<T> {
    /// A group-by whose members are its source rows ([`MemberIdentity::Row`]).
    #[must_use]
    pub fn new(group: GroupFn<T>, aggregate: Arc<dyn Aggregate<T>>) -> Self {
        GroupSpec {
            group,
            aggregate,
            identity: MemberIdentity::Row,
        }
    }
}

/// What tells the members of a group apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemberIdentity {
    /// Each distinct source row is a member, with the row's weight; two rows with equal
    /// values are two members.
    #[default]
    Row,
    /// Each distinct member value is a member, with the summed weight of the rows that give
    /// it, as if every row had first been mapped to its value (a linear step, so rows whose
    /// weights cancel contribute nothing). The group's rows are then those values
    /// ([`Collected::rows`] yields them). A front end uses it when a row's key and value
    /// together determine what the group-by would otherwise keep of it, so that the
    /// intermediate row need never be built (see the pipeline crate's `@project` before a
    /// `@groupBy`).
    Value,
}

/// The linearity class of an operator, which decides its incremental form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linearity {
    /// `O(a + b) = O(a) + O(b)`: the operator is its own incremental version.
    Linear,
    /// Linear in each of two inputs: incrementalized by the three-term product rule.
    Bilinear,
    /// Neither: replaced by a dedicated stateful form or wrapped as ∫ → O → D.
    NonLinear,
    /// ∫ and D, which become the identity under incrementalization.
    Bypass,
    /// Boundary and stateful building blocks, passed through unchanged.
    Primitive,
}

/// What a circuit node computes. See the [module docs](self) for the catalog.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Operator<T: Data> {
    /// A boundary node fed by the caller each step.
    Input,
    /// A boundary node: the sum of all its in-edges.
    Output,
    /// z⁻¹: emits the value its input had in the previous step (∅ in the first).
    Delay,
    /// ∫: emits the running sum of its input.
    Integrate,
    /// D: emits its input minus its previous input.
    Differentiate,
    /// Emits its input on the first step only.
    Delta0,
    /// The incremental heart of `distinct`: port 0 is the previous integral, port 1 the delta;
    /// each delta row gets +1 when its integrated weight turns positive, −1 when it stops
    /// being positive.
    DistinctH,
    /// The identity.
    Noop,
    /// Negation.
    Negate,
    /// Σ cᵢ·inᵢ over as many ports as coefficients (`plus` = \[1, 1\], `minus` = \[1, −1\]).
    LinearCombination(Vec<Weight>),
    /// `project`: per-row map; `None` drops the row.
    Map(MapFn<T>),
    /// `select`: per-row filter.
    Filter(FilterFn<T>),
    /// `unwind`: per-row expansion into zero or more rows.
    FlatMap(FlatMapFn<T>),
    /// The Cartesian product of two inputs.
    Cartesian(CombineFn<T>),
    /// A hash equi-join of two inputs (snapshot form).
    EquiJoin(JoinSpec<T>),
    /// The stateful incremental equi-join, keeping both sides indexed.
    EquiJoinIncremental(JoinSpec<T>),
    /// Set semantics: positive rows at weight 1.
    Distinct,
    /// Grouping with per-group aggregation (snapshot form).
    GroupBy(GroupSpec<T>),
    /// The stateful incremental group-by, keeping the groups.
    GroupByIncremental(GroupSpec<T>),
}

impl<T: Data> Operator<T> {
    /// `plus`: the sum of two inputs.
    #[must_use]
    pub fn plus() -> Self {
        Operator::LinearCombination(vec![1, 1])
    }

    /// `minus`: port 0 minus port 1.
    #[must_use]
    pub fn minus() -> Self {
        Operator::LinearCombination(vec![1, -1])
    }

    /// The wire name of this operator's kind (`select`, `equi_join_incremental`, …).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Operator::Input => "input",
            Operator::Output => "output",
            Operator::Delay => "delay",
            Operator::Integrate => "integrate",
            Operator::Differentiate => "differentiate",
            Operator::Delta0 => "delta0",
            Operator::DistinctH => "H_func",
            Operator::Noop => "noop",
            Operator::Negate => "negate",
            Operator::LinearCombination(_) => "linear_combination",
            Operator::Map(_) => "project",
            Operator::Filter(_) => "select",
            Operator::FlatMap(_) => "unwind",
            Operator::Cartesian(_) => "cartesian",
            Operator::EquiJoin(_) => "equi_join",
            Operator::EquiJoinIncremental(_) => "equi_join_incremental",
            Operator::Distinct => "distinct",
            Operator::GroupBy(_) => "group_by",
            Operator::GroupByIncremental(_) => "group_by_incremental",
        }
    }

    /// The linearity class, which decides the operator's incremental form.
    #[must_use]
    pub fn linearity(&self) -> Linearity {
        match self {
            Operator::Noop
            | Operator::Negate
            | Operator::LinearCombination(_)
            | Operator::Map(_)
            | Operator::Filter(_)
            | Operator::FlatMap(_) => Linearity::Linear,
            Operator::Cartesian(_) => Linearity::Bilinear,
            Operator::EquiJoin(_) | Operator::Distinct | Operator::GroupBy(_) => {
                Linearity::NonLinear
            }
            Operator::Integrate | Operator::Differentiate => Linearity::Bypass,
            Operator::Input
            | Operator::Output
            | Operator::Delay
            | Operator::Delta0
            | Operator::DistinctH
            | Operator::EquiJoinIncremental(_)
            | Operator::GroupByIncremental(_) => Linearity::Primitive,
        }
    }

    /// The number of input ports, or `None` for `output`, which sums any number of edges.
    #[must_use]
    pub fn arity(&self) -> Option<usize> {
        Some(match self {
            Operator::Input => 0,
            Operator::Output => return None,
            Operator::LinearCombination(c) => c.len(),
            Operator::DistinctH
            | Operator::Cartesian(_)
            | Operator::EquiJoin(_)
            | Operator::EquiJoinIncremental(_) => 2,
            _ => 1,
        })
    }

    /// Whether the node keeps state across steps (and so must be rolled back on failure).
    #[must_use]
    pub fn is_stateful(&self) -> bool {
        matches!(
            self,
            Operator::Delay
                | Operator::Integrate
                | Operator::Differentiate
                | Operator::Delta0
                | Operator::EquiJoinIncremental(_)
                | Operator::GroupByIncremental(_)
        )
    }

    /// A one-line description: the kind plus the labels of its user logic.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Operator::LinearCombination(c) => format!("linear_combination {c:?}"),
            Operator::Map(f) => format!("project {}", f.label()),
            Operator::Filter(f) => format!("select {}", f.label()),
            Operator::FlatMap(f) => format!("unwind {}", f.label()),
            Operator::Cartesian(f) => format!("cartesian {}", f.label()),
            Operator::EquiJoin(j) | Operator::EquiJoinIncremental(j) => format!(
                "{} {} = {}",
                self.kind(),
                j.left_key.label(),
                j.right_key.label()
            ),
            Operator::GroupBy(g) | Operator::GroupByIncremental(g) => format!(
                "{} {} → {}",
                self.kind(),
                g.group.label(),
                g.aggregate.label()
            ),
            _ => self.kind().to_string(),
        }
    }
}
