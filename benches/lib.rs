//! Shared workload generators for deltaloop's criterion benches.
