//! Engine bench placeholder.
fn main() {}
