//! The integration-test binary of `deltaloop-pipeline` (one binary, ripgrep style).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod aggregation_compile;
mod aggregation_equijoin;
mod aggregation_groups;
mod aggregation_pushdown;
mod conformance_aggregation;
mod conformance_expressions;
mod conformance_transforms;
mod doc_reference;
mod fuzz_harness;
mod fuzz_regressions;
mod oracle;
mod reference;
mod wire_user_logic;
