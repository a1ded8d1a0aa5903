//! Runs the built `deltaloop` binary the way users do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

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

// ---------------------------------------------------------------------------------------
// eval and explain, on examples/pipelines.

use std::collections::BTreeMap;
use std::process::Output;

use serde_json::{Value as Json, json};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pipelines")
        .join(name)
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deltaloop-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_ok(args: &[&std::ffi::OsStr]) -> String {
    let out = deltaloop().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_err(args: &[&std::ffi::OsStr]) -> String {
    let out: Output = deltaloop().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn eval_example_args(extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        "eval".into(),
        example("endpoints.yaml").into(),
        "--input".into(),
        format!("Pod={}", example("pods.yaml").display()).into(),
        "--input".into(),
        format!("Service={}", example("services.yaml").display()).into(),
    ];
    args.extend(extra.iter().map(Into::into));
    args
}

fn os(args: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    args.iter().map(std::ffi::OsString::as_os_str).collect()
}

/// Endpoints documents as `namespace/name → sorted IPs` (IP lists compared as multisets).
fn endpoints(docs: &[Json]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for d in docs {
        assert_eq!(d["kind"], "Endpoints", "{d}");
        assert_eq!(d["apiVersion"], "v1", "{d}");
        let key = format!(
            "{}/{}",
            d["metadata"]["namespace"].as_str().unwrap(),
            d["metadata"]["name"].as_str().unwrap()
        );
        let mut ips: Vec<String> = d["subsets"][0]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["ip"].as_str().unwrap().to_owned())
            .collect();
        ips.sort();
        assert!(out.insert(key, ips).is_none(), "one Endpoints per service");
    }
    out
}

fn expected_endpoints() -> BTreeMap<String, Vec<String>> {
    [
        ("default/db", vec!["10.0.0.21"]),
        ("default/web", vec!["10.0.0.11", "10.0.0.12"]),
        ("staging/web", vec!["10.0.1.11"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect()
}

#[test]
fn eval_should_print_the_endpoints_of_the_example_as_yaml_and_json() {
    let yaml = run_ok(&os(&eval_example_args(&[])));
    let docs: Vec<Json> = serde_saphyr::from_multiple(&yaml).unwrap();
    assert_eq!(endpoints(&docs), expected_endpoints(), "{yaml}");

    let json = run_ok(&os(&eval_example_args(&["--format", "json"])));
    let list: Vec<Json> = serde_json::from_str(&json).unwrap();
    assert_eq!(endpoints(&list), expected_endpoints(), "{json}");
    // The same documents, structurally.
    let canon = |v: &[Json]| {
        let mut s: Vec<String> = v.iter().map(Json::to_string).collect();
        s.sort();
        s
    };
    assert_eq!(canon(&docs), canon(&list));
}

#[test]
fn eval_should_take_a_pipeline_file_with_inputs_and_output_and_json_or_jsonl_documents() {
    let dir = scratch("wrapped");
    let pipeline = dir.join("running.json");
    std::fs::write(
        &pipeline,
        r#"{"pipeline": [{"@select": {"@eq": ["$.status.phase", "Running"]}},
                         {"@project": {"name": "$.metadata.name"}}],
            "inputs": ["Pod"], "output": "names"}"#,
    )
    .unwrap();
    let pods = dir.join("pods.jsonl");
    std::fs::write(
        &pods,
        "{\"metadata\": {\"name\": \"a\"}, \"status\": {\"phase\": \"Running\"}}\n\n\
         {\"metadata\": {\"name\": \"b\"}, \"status\": {\"phase\": \"Pending\"}}\n",
    )
    .unwrap();
    let list = dir.join("more.json");
    std::fs::write(
        &list,
        r#"{"kind": "PodList", "items": [{"metadata": {"name": "c"}, "status": {"phase": "Running"}}]}"#,
    )
    .unwrap();
    let out = run_ok(&[
        "eval".as_ref(),
        pipeline.as_os_str(),
        "-i".as_ref(),
        format!("Pod={}", pods.display()).as_ref(),
        "-i".as_ref(),
        format!("Pod={}", list.display()).as_ref(),
        "-f".as_ref(),
        "json".as_ref(),
    ]);
    let got: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(got, json!([{"name": "a"}, {"name": "c"}]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Replays a delta log over `initial` objects, independently of the CLI: the final objects.
fn replay(initial: Vec<(String, Json)>, log: &str) -> Vec<(String, Json)> {
    let key = |kind: &str, o: &Json| {
        (
            kind.to_owned(),
            o["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
            o["metadata"]["name"].as_str().unwrap().to_owned(),
        )
    };
    let mut live: BTreeMap<(String, String, String), Json> =
        initial.into_iter().map(|(k, o)| (key(&k, &o), o)).collect();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let e: Json = serde_json::from_str(line).unwrap();
        let kind = e["kind"].as_str().unwrap();
        let k = key(kind, &e["object"]);
        match e["op"].as_str().unwrap() {
            "upsert" => {
                live.insert(k, e["object"].clone());
            }
            "delete" => {
                live.remove(&k).unwrap();
            }
            op => panic!("{op}"),
        }
    }
    live.into_iter().map(|((k, _, _), o)| (k, o)).collect()
}

/// A snapshot `eval -f json` of the example pipeline over `objects`, written as JSONL.
fn snapshot_of(dir: &std::path::Path, objects: &[(String, Json)]) -> Vec<Json> {
    let mut args: Vec<std::ffi::OsString> = vec!["eval".into(), example("endpoints.yaml").into()];
    for kind in ["Pod", "Service"] {
        let file = dir.join(format!("final-{kind}.jsonl"));
        let text: String = objects
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, o)| format!("{o}\n"))
            .collect();
        std::fs::write(&file, text).unwrap();
        args.push("--input".into());
        args.push(format!("{kind}={}", file.display()).into());
    }
    args.extend(["--format".into(), "json".into()]);
    serde_json::from_str(&run_ok(&os(&args))).unwrap()
}

/// Sums `(doc, weight)` entries: the documents with a non-zero total, weight-repeated.
fn integrate(entries: impl IntoIterator<Item = (Json, i64)>) -> Vec<Json> {
    let mut sum: BTreeMap<String, i64> = BTreeMap::new();
    for (doc, w) in entries {
        *sum.entry(doc.to_string()).or_default() += w;
    }
    let mut out = Vec::new();
    for (doc, w) in sum {
        assert!(w >= 0, "negative total weight {w} for {doc}");
        for _ in 0..w {
            out.push(serde_json::from_str(&doc).unwrap());
        }
    }
    out
}

fn sorted(docs: &[Json]) -> Vec<String> {
    let mut s: Vec<String> = docs.iter().map(Json::to_string).collect();
    s.sort();
    s
}

#[test]
fn eval_steps_should_print_deltas_that_integrate_to_the_snapshot_of_the_final_inputs() {
    let dir = scratch("steps");
    let log_path = example("endpoints-steps.jsonl");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let expected = snapshot_of(&dir, &replay(Vec::new(), &log));
    assert!(!expected.is_empty());

    // JSON: one object per step.
    let steps_args: Vec<std::ffi::OsString> = vec![
        "eval".into(),
        example("endpoints.yaml").into(),
        "--steps".into(),
        log_path.clone().into(),
    ];
    let mut json_args = steps_args.clone();
    json_args.extend(["--format".into(), "json".into()]);
    let out = run_ok(&os(&json_args));
    let steps: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: Vec<i64> = steps.iter().map(|s| s["step"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7]);
    let entries = steps.iter().flat_map(|s| {
        s["delta"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["doc"].clone(), e["weight"].as_i64().unwrap()))
            .collect::<Vec<_>>()
    });
    assert_eq!(sorted(&integrate(entries)), sorted(&expected), "{out}");

    // Text: `--- step N` headers and `+ DOC` / `- DOC` lines.
    let out = run_ok(&os(&steps_args));
    let mut headers = Vec::new();
    let mut entries = Vec::new();
    for line in out.lines() {
        if let Some(n) = line.strip_prefix("--- step ") {
            headers.push(n.to_owned());
        } else if let Some(doc) = line.strip_prefix("+ ") {
            entries.push((serde_json::from_str(doc).unwrap(), 1));
        } else if let Some(doc) = line.strip_prefix("- ") {
            entries.push((serde_json::from_str(doc).unwrap(), -1));
        } else {
            panic!("unexpected line {line:?}");
        }
    }
    assert_eq!(headers, ["1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(sorted(&integrate(entries)), sorted(&expected), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn eval_steps_over_inputs_should_start_from_them() {
    let dir = scratch("steps-inputs");
    let log_path = example("endpoints-steps.jsonl");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let mut initial = Vec::new();
    for (kind, file) in [("Pod", "pods.yaml"), ("Service", "services.yaml")] {
        let text = std::fs::read_to_string(example(file)).unwrap();
        let docs: Vec<Json> = serde_saphyr::from_multiple(&text).unwrap();
        for d in docs {
            match d {
                Json::Array(items) => initial.extend(items.into_iter().map(|i| (kind.into(), i))),
                d => initial.push((kind.into(), d)),
            }
        }
    }
    let expected = snapshot_of(&dir, &replay(initial, &log));

    let args = eval_example_args(&["--steps", log_path.to_str().unwrap(), "--format", "json"]);
    let out = run_ok(&os(&args));
    let steps: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(steps[0]["step"], "initial");
    assert_eq!(steps.len(), 8);
    let entries = steps.iter().flat_map(|s| {
        s["delta"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["doc"].clone(), e["weight"].as_i64().unwrap()))
            .collect::<Vec<_>>()
    });
    assert_eq!(sorted(&integrate(entries)), sorted(&expected), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explain_should_print_the_circuit_with_a_hash_join() {
    let p = example("endpoints.yaml");
    let dot = run_ok(&["explain".as_ref(), p.as_os_str()]);
    assert!(dot.starts_with("digraph \"endpoints\" {"), "{dot}");
    assert!(dot.contains("\\nequi_join "), "{dot}");
    assert!(
        dot.contains("\"input_Pod\""),
        "inputs come from the join: {dot}"
    );
    assert!(dot.contains("\"input_Service\""), "{dot}");
    assert!(!dot.contains("cartesian"), "{dot}");

    let inc = run_ok(&["explain".as_ref(), p.as_os_str(), "--incremental".as_ref()]);
    assert!(inc.contains("equi_join_incremental"), "{inc}");
    assert!(inc.contains("group_by_incremental"), "{inc}");

    let mermaid = run_ok(&[
        "explain".as_ref(),
        p.as_os_str(),
        "-f".as_ref(),
        "mermaid".as_ref(),
    ]);
    assert!(mermaid.starts_with("flowchart"), "{mermaid}");

    let wire: Json = serde_json::from_str(&run_ok(&[
        "explain".as_ref(),
        p.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--input".as_ref(),
        "Service".as_ref(),
        "--input".as_ref(),
        "Pod".as_ref(),
    ]))
    .unwrap();
    assert_eq!(wire["nodes"]["b0_join_eq_0"]["type"], "equi_join", "{wire}");
    assert_eq!(wire["nodes"]["b0_join_eq_0"]["leftNs"], "Service", "{wire}");
}

#[test]
fn eval_errors_should_name_the_file_and_the_place() {
    let dir = scratch("errors");
    let pods = format!("Pod={}", example("pods.yaml").display());

    let bad_yaml = dir.join("bad.yaml");
    std::fs::write(
        &bad_yaml,
        "- \"@select\": true\n- \"@project\": {a: [1, 2}\n",
    )
    .unwrap();
    let err = run_err(&[
        "eval".as_ref(),
        bad_yaml.as_os_str(),
        "-i".as_ref(),
        pods.as_ref(),
    ]);
    assert!(
        err.contains(&format!("{}:2:", bad_yaml.display())),
        "file and line: {err}"
    );

    let bad_json = dir.join("bad.json");
    std::fs::write(&bad_json, "[{\"@select\": true},\n {\"@project\": }]\n").unwrap();
    let err = run_err(&[
        "eval".as_ref(),
        bad_json.as_os_str(),
        "-i".as_ref(),
        pods.as_ref(),
    ]);
    assert!(
        err.contains(&format!("{}:2:15: invalid JSON", bad_json.display())),
        "{err}"
    );

    let unknown = dir.join("unknown.yaml");
    std::fs::write(&unknown, "- \"@select\": true\n- \"@frobnicate\": {}\n").unwrap();
    let err = run_err(&[
        "eval".as_ref(),
        unknown.as_os_str(),
        "-i".as_ref(),
        pods.as_ref(),
    ]);
    assert!(
        err.contains("unknown.yaml:2:3"),
        "the file line and column: {err}"
    );
    assert!(err.contains("pipeline[1] @frobnicate"), "the stage: {err}");

    let missing = dir.join("missing-pods.yaml");
    let err = run_err(&[
        "eval".as_ref(),
        example("endpoints.yaml").as_os_str(),
        "-i".as_ref(),
        format!("Pod={}", missing.display()).as_ref(),
    ]);
    assert!(err.contains(&missing.display().to_string()), "{err}");

    let bad_docs = dir.join("docs.yaml");
    std::fs::write(&bad_docs, "a: 1\n---\nb: [\n").unwrap();
    let err = run_err(&[
        "eval".as_ref(),
        example("endpoints.yaml").as_os_str(),
        "-i".as_ref(),
        format!("Pod={}", bad_docs.display()).as_ref(),
    ]);
    assert!(err.contains(&format!("{}:3:", bad_docs.display())), "{err}");

    let log = dir.join("log.jsonl");
    std::fs::write(
        &log,
        "{\"step\": 1, \"kind\": \"Service\", \"op\": \"upsert\", \"object\": {\"metadata\": {\"name\": \"s\"}}}\n\
         {\"step\": 2, \"kind\": \"Pod\", \"op\": \"delete\", \"object\": {\"metadata\": {\"name\": \"x\"}}}\n",
    )
    .unwrap();
    let err = run_err(&[
        "eval".as_ref(),
        example("endpoints.yaml").as_os_str(),
        "--steps".as_ref(),
        log.as_os_str(),
    ]);
    assert!(
        err.contains(&format!(
            "{}:2: delete of Pod x, which is not live",
            log.display()
        )),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// deltaloop bench (small sizes; timings are never asserted).

fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = deltaloop().arg("bench").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

const BENCH_SMALL: [&str; 10] = [
    "--pods",
    "2000",
    "--services",
    "20",
    "--events",
    "200",
    "--batch-events",
    "2000",
    "--snapshot-events",
    "2",
];

#[test]
fn bench_endpoints_should_print_every_figure_as_json_and_check_out() {
    let mut args = vec!["endpoints"];
    args.extend(BENCH_SMALL);
    args.push("--json");
    let r = bench_json(&args);
    for key in [
        "load_ms",
        "load_rows_per_s",
        "single_p50_us",
        "single_p99_us",
        "single_max_us",
        "single_events_per_s",
        "batch100_events_per_s",
        "batch1000_events_per_s",
        "peak_rss_mib",
        "snapshot_event_ms",
        "snapshot_vs_single_p50",
    ] {
        assert!(r[key].is_number(), "{key}: {r}");
    }
    assert_eq!(r["checksum_ok"], true, "{r}");
    assert_eq!(r["workload"], "endpoints");
    assert_eq!(r["pods"], 2000);
    assert_eq!(r["services"], 20);
    assert_eq!(r["events"], 200);
    assert_eq!(r["single_steps"], 200);
    assert_eq!(r["batch100_steps"], 20);
    assert_eq!(r["batch1000_steps"], 2);
    assert_eq!(r["output_rows"], 20);
}

#[test]
fn bench_replay_of_a_written_event_log_should_give_the_same_checksum() {
    let dir = std::env::temp_dir().join(format!("deltaloop-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("endpoints.jsonl");
    let mut args = vec!["endpoints"];
    args.extend(BENCH_SMALL);
    let log_arg = log.display().to_string();
    args.extend(["--json", "--write-events", log_arg.as_str()]);
    let generated = bench_json(&args);
    let pipeline = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pipelines/endpoints.yaml")
        .display()
        .to_string();
    let replayed = bench_json(&["replay", &pipeline, "--events", &log_arg, "--json"]);
    assert_eq!(replayed["checksum_ok"], true, "{replayed}");
    assert_eq!(replayed["checksum"], generated["checksum"], "{replayed}");
    assert_eq!(replayed["load_rows"], 2020);
    // 200 single events and the 2 of the snapshot baseline; the batches keep their size.
    assert_eq!(replayed["single_steps"], 202, "{replayed}");
    assert_eq!(replayed["batch100_steps"], 20, "{replayed}");
    assert_eq!(replayed["batch1000_steps"], 2, "{replayed}");
    assert!(replayed["single_p50_us"].is_number());

    // The same log through eval --steps integrates to the same output (a smoke check that
    // the written format is the eval format).
    let out = deltaloop()
        .args(["eval", &pipeline, "--steps", &log_arg, "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_service_health_and_scaling_should_check_out() {
    let mut args = vec!["service-health"];
    args.extend(BENCH_SMALL);
    args.push("--json");
    let r = bench_json(&args);
    assert_eq!(r["checksum_ok"], true, "{r}");
    assert!(r["single_p50_us"].is_number());

    let r = bench_json(&["scaling", "--sizes", "500,1000", "--events", "50", "--json"]);
    assert_eq!(r["checksum_ok"], true, "{r}");
    let sizes = r["sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 2);
    assert_eq!(sizes[1]["pods"], 1000);
    assert_eq!(sizes[1]["services"], 10);
    assert!(sizes[1]["mean_vs_first"].is_number());
}

#[test]
fn bench_configmap_deployment_should_check_out_and_patch_every_deployment() {
    let mut args = vec!["configmap-deployment"];
    args.extend(BENCH_SMALL);
    args.push("--json");
    let r = bench_json(&args);
    assert_eq!(r["checksum_ok"], true, "{r}");
    assert_eq!(r["workload"], "configmap-deployment");
    // One patch per Deployment: every ConfigDeployment names a ConfigMap of its namespace.
    assert_eq!(r["output_rows"], 2000, "{r}");
    assert!(r["single_p50_us"].is_number() && r["batch1000_events_per_s"].is_number());
    assert!(
        r["population"]
            .as_str()
            .is_some_and(|p| p.contains("20 ConfigMaps")),
        "{r}"
    );
}

#[test]
fn bench_with_engine_dd_should_run_the_dataflow_baseline_on_the_same_events() {
    let r = bench_json(&[
        "endpoints",
        "--engine",
        "dd",
        "--services",
        "20",
        "--pods",
        "400",
        "--events",
        "200",
        "--batch-events",
        "2000",
        "--snapshot-events",
        "0",
        "--json",
    ]);
    assert_eq!(r["engine"], "deltaloop+dd", "{r}");
    assert_eq!(r["checksum_ok"], true, "{r}");
    assert_eq!(r["dd_checksum_ok"], true, "{r}");
    // Without snapshot events both runs saw exactly the same events: the same output.
    assert_eq!(r["dd_checksum"], r["checksum"], "{r}");
    assert_eq!(r["dd_output_rows"], r["output_rows"], "{r}");
    for key in [
        "dd_load_ms",
        "dd_single_p50_us",
        "dd_batch1000_events_per_s",
        "speedup_vs_dd_single_p50",
        "speedup_vs_dd_batch1000",
    ] {
        assert!(r[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
    }
}

#[test]
fn bench_scaling_and_replay_with_engine_dd_should_run_the_baseline_too() {
    let r = bench_json(&[
        "scaling", "--sizes", "400,800", "--events", "50", "--engine", "dd", "--json",
    ]);
    assert_eq!(r["engine"], "deltaloop+dd", "{r}");
    assert_eq!(r["checksum_ok"], true, "{r}");
    for row in r["sizes"].as_array().unwrap() {
        assert_eq!(row["dd_checksum_ok"], true, "{r}");
        for key in [
            "dd_single_p50_us",
            "dd_mean_vs_first",
            "speedup_vs_dd_single_p50",
        ] {
            assert!(row[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
        }
    }

    let dir = std::env::temp_dir().join(format!("deltaloop-bench-dd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("endpoints.jsonl");
    let log_arg = log.display().to_string();
    let generated = bench_json(&[
        "endpoints",
        "--services",
        "20",
        "--pods",
        "400",
        "--events",
        "100",
        "--batch-events",
        "1000",
        "--snapshot-events",
        "0",
        "--write-events",
        &log_arg,
        "--json",
    ]);
    let pipeline = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pipelines/endpoints.yaml")
        .display()
        .to_string();
    let r = bench_json(&[
        "replay", &pipeline, "--events", &log_arg, "--engine", "dd", "--json",
    ]);
    assert_eq!(r["engine"], "deltaloop+dd", "{r}");
    // Both engines replayed the generated log to the generator's own output.
    for prefix in ["", "dd_"] {
        assert_eq!(r[format!("{prefix}checksum_ok")], true, "{r}");
        assert_eq!(
            r[format!("{prefix}output_rows")],
            generated["output_rows"],
            "{r}"
        );
        assert_eq!(r[format!("{prefix}single_steps")], 100, "{r}");
        assert_eq!(r[format!("{prefix}batch1000_steps")], 1, "{r}");
    }
    assert_eq!(r["dd_checksum"], generated["checksum"], "{r}");
    for key in [
        "dd_load_ms",
        "dd_step_p50_us",
        "speedup_vs_dd_load",
        "speedup_vs_dd_single_p50",
        "speedup_vs_dd_events_per_s",
    ] {
        assert!(r[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `deltaloop bench ARGS DD_OPTIONS --dd-process 1` in the background and the same
/// with `--dd-process 0`; returns process 0's report and the serving process's (which must
/// both succeed). The serving process is killed if process 0 fails first.
fn bench_on_two_processes(args: &[&str], dd: &[&str]) -> (serde_json::Value, serde_json::Value) {
    struct Kill(Option<Child>);
    impl Drop for Kill {
        fn drop(&mut self) {
            if let Some(child) = &mut self.0 {
                let _ = child.kill();
            }
        }
    }
    let serving = deltaloop()
        .arg("bench")
        .args(args)
        .args(dd)
        .args(["--dd-process", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut serving = Kill(Some(serving));
    let driving = bench_json(&[args, dd, &["--dd-process", "0"]].concat());
    let out = serving.0.take().unwrap().wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (driving, served)
}

#[test]
fn bench_dd_should_run_on_worker_threads_and_across_two_processes() {
    let small = [
        "endpoints",
        "--services",
        "20",
        "--pods",
        "400",
        "--events",
        "50",
        "--batch-events",
        "1000",
        "--snapshot-events",
        "0",
        "--engine",
        "dd",
        "--json",
    ];
    let same_output = |r: &serde_json::Value, processes: u64| {
        assert_eq!(r["dd_processes"], processes, "{r}");
        assert_eq!(r["dd_checksum_ok"], true, "{r}");
        assert_eq!(r["dd_checksum"], r["checksum"], "{r}");
        assert_eq!(r["dd_single_steps"], 50, "{r}");
    };

    let r = bench_json(&[&small[..], &["--dd-workers", "3"]].concat());
    assert_eq!(r["dd_workers"], 3, "{r}");
    same_output(&r, 1);

    // Two real processes over loopback sockets: process 1 lends its two workers to
    // process 0's baseline.
    let hosts = format!("127.0.0.1:{},127.0.0.1:{}", free_port(), free_port());
    let two = ["--dd-workers", "2", "--dd-hosts", &hosts];
    let (r, served) = bench_on_two_processes(&small, &two);
    assert_eq!(r["dd_workers"], 2, "{r}");
    same_output(&r, 2);
    assert_eq!(served["role"], "serve", "{served}");
    assert_eq!(served["dataflows_served"], 1, "{served}");

    // scaling builds one baseline per size: the serving process serves each in turn, and
    // the processes connect again on the same ports.
    let scaling = [
        "scaling", "--sizes", "200,400", "--events", "30", "--engine", "dd", "--json",
    ];
    let (r, served) = bench_on_two_processes(&scaling, &two);
    assert_eq!(r["dd_processes"], 2, "{r}");
    assert_eq!(r["checksum_ok"], true, "{r}");
    for row in r["sizes"].as_array().unwrap() {
        assert_eq!(row["dd_checksum_ok"], true, "{r}");
    }
    assert_eq!(served["dataflows_served"], 2, "{served}");

    let err = run_err(&os(
        &["bench", "endpoints", "--dd-workers", "2"].map(Into::into)
    ));
    assert!(err.contains("add --engine dd"), "{err}");
}

// ---------------------------------------------------------------------------------------
// run, apiserver and kubeconfig: the real binary and the real kubectl 1.32.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// kubectl 1.32 (`DELTALOOP_KUBECTL` overrides the path), or `None` when it is absent.
fn kubectl_binary() -> Option<PathBuf> {
    let path = std::env::var_os("DELTALOOP_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/google-cloud-sdk/bin/kubectl.1.32"));
    path.exists().then_some(path)
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A spawned `deltaloop` that is killed when dropped (also when the test fails), its
/// stderr captured in a file.
struct Server {
    child: Child,
    stderr: PathBuf,
}

impl Server {
    fn spawn(dir: &Path, args: &[&std::ffi::OsStr]) -> Server {
        let stderr = dir.join("server.stderr");
        let child = deltaloop()
            .args(args)
            .current_dir(dir)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Server { child, stderr }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits (≤ 10 s) until `file` exists and `ready` holds; fails if the process exits.
    fn wait_ready(&mut self, file: &Path, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("deltaloop exited early ({status}):\n{}", self.log());
            }
            if file.exists() && ready() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not ready after 10 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits (≤ 5 s) for the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit 5 s after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET /version` on a plain-HTTP server answers 200.
fn version_answers(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// kubectl with a kubeconfig and its own discovery cache.
struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn new(binary: &Path, kubeconfig: PathBuf, cache: PathBuf) -> Kubectl {
        Kubectl {
            binary: binary.to_owned(),
            kubeconfig,
            cache,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .arg("--request-timeout=10s")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Polls `check` every 100 ms for at most `secs` seconds.
fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> Option<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::new();
    loop {
        match check() {
            None => return last,
            Some(state) => last = state,
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}; last: {last}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const VIEWS: &str = "endpointsviews.endpoints.view.dcontroller.io";

/// The sorted addresses per EndpointsView name.
fn view_addresses(k: &Kubectl) -> BTreeMap<String, Vec<String>> {
    let out = k.run(&["get", VIEWS, "-o", "json"]);
    let list: Json = serde_json::from_slice(&out.stdout).unwrap_or(Json::Null);
    let mut views = BTreeMap::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let mut ips: Vec<String> = item["spec"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["ip"].as_str().unwrap_or_default().to_owned())
            .collect();
        ips.sort();
        let name = item["metadata"]["name"].as_str().unwrap_or_default();
        views.insert(name.to_owned(), ips);
    }
    views
}

fn operator_example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/operators")
        .join(name)
}

#[test]
fn run_should_serve_the_views_of_the_example_operator_to_kubectl_and_restore_them() {
    let Some(binary) = kubectl_binary() else {
        println!("SKIPPED: kubectl 1.32 not found (set DELTALOOP_KUBECTL)");
        return;
    };
    let dir = scratch("run-endpoints");
    let port = free_port();
    let kc = dir.join("dl.kubeconfig");
    let listen = format!("127.0.0.1:{port}");
    let manifest = operator_example("endpoints-operator.yaml");
    let mut server = Server::spawn(
        &dir,
        &[
            "run".as_ref(),
            manifest.as_os_str(),
            "--listen".as_ref(),
            listen.as_ref(),
            "--kubeconfig-out".as_ref(),
            kc.as_os_str(),
        ],
    );
    server.wait_ready(&kc, || version_answers(port));
    assert!(
        server.log().contains("export KUBECONFIG="),
        "{}",
        server.log()
    );
    let k = Kubectl::new(&binary, kc, dir.join("cache"));

    let inputs = operator_example("pods-and-services.yaml");
    let out = k.ok(&["apply", "-f", inputs.to_str().unwrap()]);
    assert!(out.contains("pod/web-1 created"), "{out}");
    let want = |web: &[&str]| -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            ("db".to_owned(), vec!["10.0.0.21".to_owned()]),
            (
                "web".to_owned(),
                web.iter().map(|s| s.to_string()).collect(),
            ),
        ])
    };
    eventually(15, "the EndpointsViews", || {
        let got = view_addresses(&k);
        (got != want(&["10.0.0.11", "10.0.0.12"])).then(|| format!("{got:?}"))
    });

    // A pod starts running: its address joins the view.
    k.ok(&[
        "patch",
        "pod",
        "web-3",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Running","podIP":"10.0.0.13"}}"#,
    ]);
    eventually(15, "web-3 in the view", || {
        let got = view_addresses(&k);
        (got != want(&["10.0.0.11", "10.0.0.12", "10.0.0.13"])).then(|| format!("{got:?}"))
    });

    // Someone deletes the view: the closed loop writes it again. (View UIDs are
    // deterministic, so a waiting `kubectl delete` would wait for the restored object.)
    let rv = |k: &Kubectl| {
        let out = k.run(&[
            "get",
            VIEWS,
            "web",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ]);
        String::from_utf8_lossy(&out.stdout).parse::<u64>().ok()
    };
    let before = rv(&k).unwrap();
    let out = k.ok(&["delete", VIEWS, "web", "--wait=false"]);
    assert!(out.contains("deleted"), "{out}");
    eventually(15, "the deleted view to come back", || {
        let got = view_addresses(&k);
        let restored = rv(&k).is_some_and(|r| r > before)
            && got == want(&["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
        (!restored).then(|| format!("{got:?}"))
    });

    // SIGTERM: a graceful exit with the per-controller summary.
    let status = server.terminate();
    assert!(status.success(), "{status}: {}", server.log());
    assert!(
        server.log().contains("endpoints/endpoints: "),
        "{}",
        server.log()
    );
}

#[test]
fn kubeconfig_for_a_viewer_should_get_but_not_create_on_a_tls_apiserver() {
    let Some(binary) = kubectl_binary() else {
        println!("SKIPPED: kubectl 1.32 not found (set DELTALOOP_KUBECTL)");
        return;
    };
    let dir = scratch("apiserver-tls");
    let port = free_port();
    let certs = dir.join("certs");
    let admin_kc = dir.join("admin.kubeconfig");
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server::spawn(
        &dir,
        &[
            "apiserver".as_ref(),
            "--listen".as_ref(),
            listen.as_ref(),
            "--tls".as_ref(),
            "--cert-dir".as_ref(),
            certs.as_os_str(),
            "--kubeconfig-out".as_ref(),
            admin_kc.as_os_str(),
        ],
    );
    let admin = Kubectl::new(&binary, admin_kc.clone(), dir.join("cache-admin"));
    server.wait_ready(&admin_kc, || {
        admin
            .run(&["create", "configmap", "seen", "--from-literal=a=1"])
            .status
            .success()
    });
    for f in ["ca.crt", "tls.crt", "tls.key"] {
        assert!(certs.join(f).exists(), "{f}");
    }

    let url = format!("https://127.0.0.1:{port}");
    let kubeconfig = |user: &str, profile: &str, extra: &[&str]| -> PathBuf {
        let file = dir.join(format!("{user}.kubeconfig"));
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "kubeconfig".as_ref(),
            "--user".as_ref(),
            user.as_ref(),
            "--profile".as_ref(),
            profile.as_ref(),
            "--server".as_ref(),
            url.as_ref(),
            "--cert-dir".as_ref(),
            certs.as_os_str(),
            "-o".as_ref(),
            file.as_os_str(),
        ];
        args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
        run_ok(&args);
        file
    };

    let alice = Kubectl::new(
        &binary,
        kubeconfig("alice", "viewer", &[]),
        dir.join("cache-alice"),
    );
    let out = alice.ok(&["get", "configmaps"]);
    assert!(out.contains("seen"), "{out}");
    let out = alice.run(&["create", "configmap", "mine", "--from-literal=a=1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a viewer created a configmap");
    assert!(
        err.contains("forbidden") && err.contains(r#"User "alice" cannot create"#),
        "{err}"
    );

    // An editor limited to team-a: writes there, nothing in default.
    let bob = Kubectl::new(
        &binary,
        kubeconfig(
            "bob",
            "editor",
            &["--namespace", "team-a", "--expiry", "1h"],
        ),
        dir.join("cache-bob"),
    );
    bob.ok(&["create", "configmap", "mine", "--from-literal=a=1"]);
    let out = bob.run(&["get", "configmaps", "-n", "default"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbidden"));

    // Tokens are for production-mode servers only.
    let err = run_err(&[
        "kubeconfig".as_ref(),
        "--user".as_ref(),
        "x".as_ref(),
        "--profile".as_ref(),
        "admin".as_ref(),
        "--server".as_ref(),
        "http://127.0.0.1:1".as_ref(),
        "--cert-dir".as_ref(),
        certs.as_os_str(),
    ]);
    assert!(err.contains("https://"), "{err}");
    drop(server);
}

#[test]
fn run_on_a_bad_manifest_should_exit_2_naming_the_file_and_the_yaml_location() {
    let dir = scratch("run-bad");
    let good = std::fs::read_to_string(operator_example("endpoints-operator.yaml")).unwrap();
    let cases = [
        (
            "bad-target.yaml",
            good.replace(
                "- kind: EndpointsView",
                "- {kind: EndpointsView, type: Pusher}",
            ),
            "spec.controllers[0].targets[0].type: unknown target type",
        ),
        (
            "bad-source.yaml",
            good.replace("kind: Pod\n", "kind: Pod\n          colour: red\n"),
            "spec.controllers[0].sources[0]: unknown field `colour`",
        ),
        (
            "bad-pipeline.yaml",
            good.replace("\"@groupBy\"", "\"@groupOn\""),
            "spec.controllers[0].pipeline",
        ),
        (
            "bad-yaml.yaml",
            good.replace("  name: endpoints\n", "  name: [endpoints\n"),
            "bad-yaml.yaml:",
        ),
    ];
    for (file, text, want) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let out = deltaloop()
            .args(["run".as_ref(), path.as_os_str()])
            .args(["--listen", "127.0.0.1:0", "--embedded"])
            .current_dir(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains(path.to_str().unwrap()) && err.contains(want),
            "{file}: {err}"
        );
    }
    assert!(!dir.join("deltaloop.kubeconfig").exists());
}

#[test]
fn run_against_a_kubeconfig_should_watch_that_cluster_and_serve_the_views_itself() {
    let Some(binary) = kubectl_binary() else {
        println!("SKIPPED: kubectl 1.32 not found (set DELTALOOP_KUBECTL)");
        return;
    };
    // "The cluster": a bare embedded server (native kinds only, no views).
    let dir = scratch("run-external");
    let (cluster_port, views_port) = {
        // Both bound at once, so that they differ.
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        (
            a.local_addr().unwrap().port(),
            b.local_addr().unwrap().port(),
        )
    };
    let cluster_kc = dir.join("cluster.kubeconfig");
    let views_kc = dir.join("views.kubeconfig");
    let listen = format!("127.0.0.1:{cluster_port}");
    let mut cluster = Server::spawn(
        &dir,
        &[
            "apiserver".as_ref(),
            "--listen".as_ref(),
            listen.as_ref(),
            "--kubeconfig-out".as_ref(),
            cluster_kc.as_os_str(),
        ],
    );
    cluster.wait_ready(&cluster_kc, || version_answers(cluster_port));
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    let listen = format!("127.0.0.1:{views_port}");
    let manifest = operator_example("endpoints-operator.yaml");
    let mut run = Server::spawn(
        &run_dir,
        &[
            "run".as_ref(),
            manifest.as_os_str(),
            "--kubeconfig".as_ref(),
            cluster_kc.as_os_str(),
            "--listen".as_ref(),
            listen.as_ref(),
            "--kubeconfig-out".as_ref(),
            views_kc.as_os_str(),
        ],
    );
    run.wait_ready(&views_kc, || version_answers(views_port));

    let on_cluster = Kubectl::new(&binary, cluster_kc, dir.join("cache-cluster"));
    let on_views = Kubectl::new(&binary, views_kc, dir.join("cache-views"));
    let inputs = operator_example("pods-and-services.yaml");
    on_cluster.ok(&["apply", "-f", inputs.to_str().unwrap()]);
    eventually(15, "the EndpointsViews on the views server", || {
        let got = view_addresses(&on_views);
        let want = BTreeMap::from([
            ("db".to_owned(), vec!["10.0.0.21".to_owned()]),
            (
                "web".to_owned(),
                vec!["10.0.0.11".to_owned(), "10.0.0.12".to_owned()],
            ),
        ]);
        (got != want).then(|| format!("{got:?}"))
    });
    // The views live on the views server only; the cluster never saw the group.
    let out = on_cluster.run(&["get", VIEWS]);
    assert!(!out.status.success());
    assert!(run.terminate().success(), "{}", run.log());
    drop(cluster);
}

#[test]
fn a_failing_step_should_be_reported_once_naming_the_stage_and_the_row() {
    let dir = scratch("failing-step");
    let pipeline = dir.join("p.yaml");
    std::fs::write(
        &pipeline,
        "- \"@groupBy\": [\"$.ns\", \"$.v\"]\n- \"@project\": {x: {\"@div\": [1, 0]}}\n",
    )
    .unwrap();
    let input = dir.join("in.yaml");
    std::fs::write(&input, "- {ns: a, v: 1}\n").unwrap();
    let input_arg = format!("in={}", input.display());
    let err = run_err(&[
        "eval".as_ref(),
        pipeline.as_os_str(),
        "--input".as_ref(),
        input_arg.as_ref(),
    ]);
    assert_eq!(err.matches("division by zero").count(), 1, "{err}");
    // The @project runs inside the @groupBy node, and its error still names it.
    assert!(err.contains("b0_op_1 (@project)"), "{err}");
    assert!(err.contains(r#""key":"a""#), "{err}");
}
