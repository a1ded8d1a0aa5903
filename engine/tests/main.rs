//! The engine's integration tests, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

/// Closed loops against a simulated plant with dead time and an adversary.
mod closed_loop;
/// Shared row type and operator builders.
mod common;
/// Validation and transform errors are errors with messages.
mod errors;
/// The DBSP correctness property for every operator and random compositions.
mod oracle;
/// The transforms.json conformance vectors.
mod transforms_vectors;
