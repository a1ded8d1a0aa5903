//! Runs the built `deltaloop` binary the way users do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::Command;

fn deltaloop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deltaloop"))
}

fn vectors(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../pipeline/tests/conformance")
        .join(name)
}

#[test]
fn conformance_should_pass_the_expression_and_transform_vectors() {
    let out = deltaloop()
        .arg("conformance")
        .arg(vectors("expressions.json"))
        .arg(vectors("transforms.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some("194 passed, 0 failed"),
        "{stdout}"
    );
}

#[test]
fn conformance_should_report_failures_and_exit_non_zero() {
    let dir = std::env::temp_dir().join(format!("deltaloop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        r#"[{"name": "add/wrong", "expr": {"@add": [1, 2]}, "expected": 4},
            {"name": "add/right", "expr": {"@add": [1, 2]}, "expected": 3}]"#,
    )
    .unwrap();
    let out = deltaloop().arg("conformance").arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL add/wrong"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn conformance_on_a_missing_file_should_say_which_file() {
    let out = deltaloop()
        .args(["conformance", "/nonexistent/v.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/v.json"));
}
