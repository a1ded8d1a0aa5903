//! Example placeholder.
fn main() {}
