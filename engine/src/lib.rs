//! # deltaloop-engine
//!
//! DBSP over Z-sets: the incremental computation engine under deltaloop.
//!
//! ## Crate overview
//!
//! Read it in this order; each layer only uses the ones above it.
//!
//! 1. [`ZSet`] (and [`IndexedZSet`]): rows with integer weights, the values that flow.
//!    [`zset!`] writes them as literals.
//! 2. [`Operator`]: what a node computes (linear, bilinear, non-linear, ∫, D, z⁻¹, …), with
//!    user logic supplied as labelled closures ([`Func`]) and [`Aggregate`]s.
//! 3. [`Circuit`]: an inspectable graph of operators with input and output nodes;
//!    [`Circuit::validate`], [`to_dot`], [`to_mermaid`].
//! 4. [`transform`]: rewrites of whole circuits — the [`Incrementalizer`]
//!    (`Q^Δ = D ∘ Q ∘ ∫`), the closed-loop [`Reconciler`], [`SmithPredictor`] and
//!    [`Distincter`] — applied as one canonical-order [`Chain`].
//! 5. [`Executor`]: runs a circuit step by step; feed deltas to inputs, read each output's
//!    delta or its integrated snapshot.
//!
//! The engine is synchronous and does no I/O; it knows nothing of documents, expressions or
//! Kubernetes. The pipeline crate compiles user pipelines into circuits over its document type.
//!
//! ## Example: an incremental join
//!
//! ```
//! use deltaloop_engine::{zset, Circuit, CombineFn, Executor, Incrementalizer, JoinSpec, KeyFn, Transform};
//!
//! // Snapshot semantics: pairs (name, dept) ⋈ (dept, floor) on dept.
//! type Row = (&'static str, &'static str);
//! let mut c: Circuit<Row> = Circuit::new("where");
//! let people = c.input("people")?;
//! let depts = c.input("depts")?;
//! let joined = c.equi_join(&people, &depts, JoinSpec {
//!     left_key: KeyFn::new("dept", |p: &Row| Ok(Some(("", p.1)))),
//!     right_key: KeyFn::new("dept", |d: &Row| Ok(Some(("", d.0)))),
//!     combine: CombineFn::new("name@floor", |p: &Row, d: &Row| Ok((p.0, d.1))),
//!     residual: None,
//! })?;
//! c.output("located", &joined)?;
//!
//! // Incremental semantics: feed changes, get changes.
//! let mut exec = Executor::new(Incrementalizer.apply(&c)?)?;
//! exec.feed("people", zset! { ("ann", "eng") => 1 })?;
//! exec.feed("depts", zset! { ("eng", "3rd") => 1 })?;
//! exec.step()?;
//! assert_eq!(exec.output("located")?, &zset! { ("ann", "3rd") => 1 });
//!
//! exec.feed("depts", zset! { ("eng", "3rd") => -1, ("eng", "4th") => 1 })?;
//! exec.step()?;
//! assert_eq!(exec.output("located")?, &zset! { ("ann", "3rd") => -1, ("ann", "4th") => 1 });
//! assert_eq!(exec.snapshot("located")?, &zset! { ("ann", "4th") => 1 });
//! # Ok::<(), deltaloop_engine::Error>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod circuit;
mod data;
#[cfg(feature = "dataflow")]
mod dataflow;
mod error;
mod executor;
mod indexed;
mod operator;
pub mod transform;
mod zset;

#[cfg(feature = "testing")]
pub mod testing;

/// The Rust code blocks of the README and of `doc/`, compiled and run as doctests.
#[cfg(doctest)]
mod doc_pages {
    #[doc = include_str!("../../README.md")]
    struct Readme;
    #[doc = include_str!("../../doc/concepts/zsets.md")]
    struct Zsets;
    #[doc = include_str!("../../doc/concepts/circuits.md")]
    struct Circuits;
    #[doc = include_str!("../../doc/concepts/incrementalization.md")]
    struct Incrementalization;
    #[doc = include_str!("../../doc/concepts/closed-loops.md")]
    struct ClosedLoops;
}

pub use circuit::{Circuit, Edge, input_id, output_id, sanitize, to_dot, to_mermaid};
pub use data::{Data, Weight};
#[cfg(feature = "dataflow")]
pub use dataflow::{DataflowData, DataflowExecutor, Workers};
pub use error::{Error, Result, UserError};
pub use executor::{Executor, InputHandle, Observer, OutputHandle};
pub use indexed::IndexedZSet;
pub use operator::{
    Aggregate, Collect, Collected, CombineFn, Count, FilterFn, FlatMapFn, Func, Group, GroupFn,
    GroupSpec, JoinSpec, KeyFn, Linearity, MapFn, Matched, Max, MemberEdit, MemberIdentity, Min,
    Operator, Prior, ResidualFn, Sum,
};
pub use transform::{
    Chain, ChainStep, Distincter, Incrementalizer, Reconciler, SmithPredictor, Transform,
};
pub use zset::{RowHasher, ZSet, ZSetIntoIter, row_hash};
