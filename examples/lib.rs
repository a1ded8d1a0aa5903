//! Runnable examples over deltaloop's public API; see `examples/README.md`.
