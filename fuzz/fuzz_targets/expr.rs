//! Arbitrary bytes → JSON → an `@`-expression, compiled, round-tripped and evaluated.
#![no_main]

#[allow(dead_code)]
#[path = "../../pipeline/tests/fuzz_harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::expr(data));
