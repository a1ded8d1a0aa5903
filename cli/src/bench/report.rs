//! The result of a bench run: one ordered JSON object, printed as is (`--json`) or as a
//! readable report.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;
use serde_json::{Map, Value as Json};

/// The figures of a run, in insertion order.
#[derive(Debug, Default)]
pub(crate) struct Report {
    fields: Map<String, Json>,
}

impl Report {
    /// Sets a field.
    pub(crate) fn put(&mut self, key: &str, value: impl Into<Json>) {
        self.fields.insert(key.to_owned(), value.into());
    }

    /// Sets a float field, rounded to 3 decimals (or to 3 significant digits below 1);
    /// `None` is `null`.
    pub(crate) fn put_f(&mut self, key: &str, value: Option<f64>) {
        let json = value
            .filter(|v| v.is_finite())
            .map_or(Json::Null, |v| Json::from(round(v)));
        self.fields.insert(key.to_owned(), json);
    }

    /// A field.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        self.fields.get(key)
    }

    /// A numeric field.
    pub(crate) fn f64(&self, key: &str) -> Option<f64> {
        self.fields.get(key).and_then(Json::as_f64)
    }
}

fn round(v: f64) -> f64 {
    if v.abs() >= 1.0 {
        (v * 1000.0).round() / 1000.0
    } else {
        let scale = 10f64.powi(3 - v.abs().log10().floor() as i32 - 1);
        (v * scale).round() / scale
    }
}

/// Prints the report: JSON on one line, or `text(report)`.
pub(crate) fn print(r: &Report, json: bool, text: fn(&Report) -> String) -> anyhow::Result<()> {
    let s = if json {
        format!("{}\n", Json::Object(r.fields.clone()))
    } else {
        text(r)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

fn num(r: &Report, key: &str) -> String {
    r.get(key).map_or("-".into(), num_text)
}

/// A field's text: floats as [`human`], integers, strings and booleans as they are.
fn num_text(value: &Json) -> String {
    match value {
        Json::Number(n) => {
            let v = n.as_f64().unwrap_or_default();
            if n.is_f64() { human(v) } else { n.to_string() }
        }
        Json::String(s) => s.clone(),
        Json::Bool(b) => b.to_string(),
        _ => "-".to_owned(),
    }
}

/// A float with about 3 significant digits and thousands separators for large values.
fn human(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        #[allow(clippy::cast_possible_truncation)]
        let i = v.round() as i64;
        let digits = i.abs().to_string();
        let mut out = String::new();
        for (n, c) in digits.chars().enumerate() {
            if n > 0 && (digits.len() - n).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if i < 0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The readable report of a generated workload.
pub(crate) fn workload_text(r: &Report) -> String {
    let mut s = String::new();
    let n = |k: &str| num(r, k);
    let _ = writeln!(
        s,
        "workload {}: {}, seed {} (engine {})",
        n("workload"),
        n("population"),
        n("seed"),
        n("engine")
    );
    let _ = writeln!(
        s,
        "  load            {} ms ({} rows/s)",
        n("load_ms"),
        n("load_rows_per_s")
    );
    if r.get("single_steps").is_some() {
        let _ = writeln!(
            s,
            "  single events   p50 {} µs, p99 {} µs, max {} µs, mean {} µs; {} events/s ({} steps)",
            n("single_p50_us"),
            n("single_p99_us"),
            n("single_max_us"),
            n("single_mean_us"),
            n("single_events_per_s"),
            n("single_steps")
        );
    }
    for size in ["100", "1000"] {
        if r.get(&format!("batch{size}_steps")).is_some() {
            let _ = writeln!(
                s,
                "  {size:<4} per step   {} events/s (step p50 {} µs, {} steps)",
                n(&format!("batch{size}_events_per_s")),
                n(&format!("batch{size}_step_p50_us")),
                n(&format!("batch{size}_steps"))
            );
        }
    }
    let _ = writeln!(s, "  peak RSS        {} MiB", n("peak_rss_mib"));
    if r.get("snapshot_steps").is_some() {
        let _ = writeln!(
            s,
            "  snapshot        {} ms per event recomputed from scratch ({} events): {}× the incremental p50, {}× its mean (peak RSS then {} MiB)",
            n("snapshot_event_ms"),
            n("snapshot_steps"),
            n("snapshot_vs_single_p50"),
            n("snapshot_vs_single_mean"),
            n("peak_rss_with_snapshot_mib")
        );
    }
    let _ = writeln!(
        s,
        "  check           {} output rows, checksum {}, equals a from-scratch evaluation: {}",
        n("output_rows"),
        n("checksum"),
        n("checksum_ok")
    );
    if r.get("dd_checksum_ok").is_some() {
        dataflow_text(&mut s, r);
    }
    s
}

/// The differential-dataflow baseline's lines (`--engine dd`).
fn dataflow_text(s: &mut String, r: &Report) {
    let n = |k: &str| num(r, k);
    let _ = writeln!(
        s,
        "differential-dataflow baseline, {} worker(s) × {} process(es) (the same documents \
         and events; deltaloop's speedup)",
        n("dd_workers"),
        n("dd_processes")
    );
    if r.get("dd_load_ms").is_some() {
        let _ = writeln!(
            s,
            "  load            {} ms ({}×)",
            n("dd_load_ms"),
            n("speedup_vs_dd_load")
        );
    }
    if r.get("dd_step_p50_us").is_some() {
        let _ = writeln!(
            s,
            "  all steps       p50 {} µs ({}×); {} events/s ({}×)",
            n("dd_step_p50_us"),
            n("speedup_vs_dd_step_p50"),
            n("dd_events_per_s"),
            n("speedup_vs_dd_events_per_s")
        );
    }
    if r.get("dd_single_steps").is_some() {
        let _ = writeln!(
            s,
            "  single events   p50 {} µs ({}×), p99 {} µs ({}×); {} events/s",
            n("dd_single_p50_us"),
            n("speedup_vs_dd_single_p50"),
            n("dd_single_p99_us"),
            n("speedup_vs_dd_single_p99"),
            n("dd_single_events_per_s")
        );
    }
    for size in ["100", "1000"] {
        if r.get(&format!("dd_batch{size}_steps")).is_some() {
            let _ = writeln!(
                s,
                "  {size:<4} per step   {} events/s ({}×)",
                n(&format!("dd_batch{size}_events_per_s")),
                n(&format!("speedup_vs_dd_batch{size}"))
            );
        }
    }
    let _ = writeln!(s, "  peak RSS        {} MiB", n("dd_peak_rss_mib"));
    let _ = writeln!(
        s,
        "  check           {} output rows, equals a from-scratch evaluation: {}",
        n("dd_output_rows"),
        n("dd_checksum_ok")
    );
}

/// The readable report of a serving process (`--dd-process` other than 0).
pub(crate) fn serve_text(r: &Report) -> String {
    let n = |k: &str| num(r, k);
    format!(
        "process {} lent {} worker(s) to {} dd baseline(s) of process 0 ({} process(es))\n",
        n("dd_process"),
        n("dd_workers"),
        n("dataflows_served"),
        n("dd_processes")
    )
}

/// The readable report of a replay.
pub(crate) fn replay_text(r: &Report) -> String {
    let mut s = String::new();
    let n = |k: &str| num(r, k);
    let _ = writeln!(
        s,
        "replay {} with {}: {} steps, {} events",
        n("pipeline"),
        n("events_file"),
        n("steps"),
        n("events")
    );
    if r.get("load_rows").is_some() {
        let _ = writeln!(
            s,
            "  load            {} ms ({} rows, {} rows/s)",
            n("load_ms"),
            n("load_rows"),
            n("load_rows_per_s")
        );
    }
    let _ = writeln!(
        s,
        "  all steps       p50 {} µs, p99 {} µs, max {} µs; {} events/s",
        n("step_p50_us"),
        n("step_p99_us"),
        n("step_max_us"),
        n("events_per_s")
    );
    if r.get("single_steps").is_some() {
        let _ = writeln!(
            s,
            "  single events   p50 {} µs, p99 {} µs, max {} µs; {} events/s ({} steps)",
            n("single_p50_us"),
            n("single_p99_us"),
            n("single_max_us"),
            n("single_events_per_s"),
            n("single_steps")
        );
    }
    for size in ["100", "1000"] {
        if r.get(&format!("batch{size}_steps")).is_some() {
            let _ = writeln!(
                s,
                "  {size:<4} per step   {} events/s ({} steps)",
                n(&format!("batch{size}_events_per_s")),
                n(&format!("batch{size}_steps"))
            );
        }
    }
    let _ = writeln!(s, "  peak RSS        {} MiB", n("peak_rss_mib"));
    let _ = writeln!(
        s,
        "  check           {} output rows, checksum {}, equals a from-scratch evaluation: {}",
        n("output_rows"),
        n("checksum"),
        n("checksum_ok")
    );
    if r.get("dd_checksum_ok").is_some() {
        dataflow_text(&mut s, r);
    }
    s
}

/// The readable report of `bench scaling`: one table for deltaloop and, with
/// `--engine dd`, one for the differential-dataflow baseline.
pub(crate) fn scaling_text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scaling {}: {} single-event steps per size (engine {})",
        num(r, "workload"),
        num(r, "events"),
        num(r, "engine")
    );
    let rows = r
        .get("sizes")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    scaling_table(&mut s, &rows, "");
    if rows.iter().any(|row| row.get("dd_single_p50_us").is_some()) {
        let _ = writeln!(
            s,
            "differential-dataflow baseline, {} worker(s) × {} process(es) (the same documents \
             and events; deltaloop's speedup at p50)",
            num(r, "dd_workers"),
            num(r, "dd_processes")
        );
        scaling_table(&mut s, &rows, "dd_");
    }
    s
}

/// One engine's scaling table: the keys of each size's row prefixed by `prefix`.
fn scaling_table(s: &mut String, rows: &[Json], prefix: &str) {
    let dd = !prefix.is_empty();
    let _ = writeln!(
        s,
        "  {:>9} {:>8} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} check",
        "pods",
        "services",
        "load ms",
        "p50 µs",
        "p99 µs",
        "mean µs",
        "p50 ×",
        "mean ×",
        if dd { "speedup" } else { "RSS MiB" },
    );
    for row in rows {
        let f = |k: &str| row.get(k).and_then(Json::as_f64).map_or("-".into(), human);
        let p = |k: &str| f(&format!("{prefix}{k}"));
        let count = |k: &str| row.get(k).map_or("-".into(), num_text);
        let _ = writeln!(
            s,
            "  {:>9} {:>8} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {}",
            count("pods"),
            count("services"),
            p("load_ms"),
            p("single_p50_us"),
            p("single_p99_us"),
            p("single_mean_us"),
            p("p50_vs_first"),
            p("mean_vs_first"),
            if dd {
                f("speedup_vs_dd_single_p50")
            } else {
                f("peak_rss_mib")
            },
            row.get(format!("{prefix}checksum_ok"))
                .and_then(Json::as_bool)
                .unwrap_or(false)
        );
    }
}
