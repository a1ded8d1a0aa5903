//! Arbitrary bytes → JSON → an aggregation pipeline, compiled, reloaded and stepped.
#![no_main]

#[allow(dead_code)]
#[path = "../../pipeline/tests/fuzz_harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::pipeline(data));
