//! The `Data` bound every row type satisfies, and the weight type.
//!
//! A Z-set is a function from rows to integer weights, so a row must be hashable (rows are hash
//! keys), totally ordered (deterministic iteration for grouping and rendering), cheap to clone
//! (rows are shared between operators and state) and thread-safe (circuits move between
//! threads). One blanket trait bundles these so bounds elsewhere stay one word long.

use std::fmt::Debug;
use std::hash::Hash;

/// The weight of a row in a Z-set: positive for insertions, negative for retractions.
///
/// Weights are added with ordinary `i64` arithmetic. A weight never overflows in practice
/// (it counts events); debug builds check it like all Rust integer arithmetic.
pub type Weight = i64;

/// The bound on row types: `Clone + Eq + Hash + Ord + Debug + Send + Sync + 'static`.
///
/// It is implemented for every type that satisfies those bounds, so a user never implements
/// it by hand. For speed, a row type should clone in O(1) (share its contents behind an `Arc`)
/// and hash in O(1) (cache its hash), as the pipeline crate's document type does.
pub trait Data: Clone + Eq + Hash + Ord + Debug + Send + Sync + 'static {}

impl<T> Data for T where T: Clone + Eq + Hash + Ord + Debug + Send + Sync + 'static {}
