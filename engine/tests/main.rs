//! The engine's integration tests, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

/// Closed loops against a simulated plant with dead time and an adversary.
mod closed_loop;
/// Shared row type and operator builders.
mod common;
/// The differential-dataflow backend emits the engine's deltas.
mod dataflow;
/// Validation and transform errors are errors with messages.
mod errors;
/// Fused row-wise chains against node-by-node runs.
mod fusion;
/// The DBSP correctness property for every operator and random compositions.
mod oracle;
/// Intermediate deltas are dropped once read.
mod release;
/// Handles and circuits cross threads (connectors run executors on tokio tasks).
mod auto_traits {
    use deltaloop_engine::{Circuit, Executor, InputHandle, OutputHandle, ZSet};

    fn send<T: Send>() {}
    fn sync<T: Sync>() {}

    #[test]
    fn executor_circuit_and_handles_should_be_send() {
        send::<Executor<String>>();
        send::<Circuit<String>>();
        sync::<Circuit<String>>();
        send::<ZSet<String>>();
        sync::<ZSet<String>>();
        send::<InputHandle>();
        send::<OutputHandle>();
    }
}
