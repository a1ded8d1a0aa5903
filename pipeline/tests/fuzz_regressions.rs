//! Replays every saved fuzz crash input (`tests/fuzz-crashes/<target>/*`) through the fuzz
//! harness, so a fixed crash stays fixed under plain `cargo test`; plus the seed corpora,
//! as a smoke test of the harness itself.

use std::path::Path;

use crate::fuzz_harness;

fn replay(dir: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panics", path.display());
        n += 1;
    }
    n
}

#[test]
fn saved_pipeline_crash_inputs_should_not_panic() {
    replay("tests/fuzz-crashes/pipeline", fuzz_harness::pipeline);
}

#[test]
fn saved_expr_crash_inputs_should_not_panic() {
    replay("tests/fuzz-crashes/expr", fuzz_harness::expr);
}

#[test]
fn the_fuzz_seeds_should_run_through_the_harness() {
    assert!(replay("../fuzz/seeds/pipeline", fuzz_harness::pipeline) >= 50);
    assert!(replay("../fuzz/seeds/expr", fuzz_harness::expr) >= 150);
}
