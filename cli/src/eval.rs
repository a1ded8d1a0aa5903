//! `deltaloop eval`: run a pipeline over documents, as a snapshot or step by step.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use deltaloop_engine::ZSet;
use deltaloop_pipeline::{Value, to_yaml};
use serde_json::json;

use crate::args::{DocFormat, EvalArgs};
use crate::bind::{compile, output_name};
use crate::files::{load_documents, load_pipeline, push_new};
use crate::steps::{self, Live};

/// Runs `eval`: snapshot mode, or steps mode with `--steps`.
pub(crate) fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let file = load_pipeline(&args.pipeline)?;
    let mut names = file.inputs.clone();
    let mut documents: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for input in &args.inputs {
        push_new(&mut names, &input.kind);
        let docs = documents.entry(input.kind.clone()).or_default();
        if let Some(path) = &input.file {
            docs.extend(load_documents(path)?);
        }
    }
    let output = output_name(&file, args.output.as_deref());
    let text = match &args.steps {
        None => {
            let compiled = compile(&file, &names, &output, false)?;
            let mut runner = compiled.runner()?;
            let deltas = documents.iter().map(|(kind, docs)| {
                let mut z = ZSet::new();
                for d in docs {
                    z.insert(d.clone(), 1);
                }
                (kind.as_str(), z)
            });
            let mut out = runner
                .step(deltas)
                .with_context(|| format!("running {}", file.path.display()))?;
            let result = out.remove(&output).unwrap_or_default();
            snapshot_text(&result, args.format)?
        }
        Some(log_path) => {
            let log = steps::load(log_path)?;
            for step in &log {
                for e in &step.events {
                    push_new(&mut names, &e.kind);
                }
            }
            let compiled = compile(&file, &names, &output, true)?;
            let mut runner = compiled.runner()?;
            let mut live = Live::default();
            let mut text = String::new();
            if !args.inputs.is_empty() {
                let mut deltas = Vec::new();
                for (kind, docs) in &documents {
                    let mut z = ZSet::new();
                    for d in docs {
                        live.insert(kind, d);
                        z.insert(d.clone(), 1);
                    }
                    deltas.push((kind.as_str(), z));
                }
                let mut out = runner
                    .step(deltas)
                    .with_context(|| format!("running {} on the inputs", file.path.display()))?;
                let delta = out.remove(&output).unwrap_or_default();
                step_text(&mut text, &json!("initial"), &delta, args.format);
            }
            for step in &log {
                let deltas = live.apply(log_path, &step.events)?;
                let mut out = runner
                    .step(deltas.iter().map(|(k, z)| (k.as_str(), z.clone())))
                    .with_context(|| {
                        format!(
                            "running {} at step {} of {}",
                            file.path.display(),
                            step.number,
                            log_path.display()
                        )
                    })?;
                let delta = out.remove(&output).unwrap_or_default();
                step_text(&mut text, &json!(step.number), &delta, args.format);
            }
            text
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// The documents of a snapshot output, each repeated by its weight.
fn snapshot_text(result: &ZSet<Value>, format: DocFormat) -> anyhow::Result<String> {
    let mut docs = Vec::new();
    let mut negative = 0usize;
    for (doc, weight) in result.to_sorted_vec() {
        if weight < 0 {
            negative += 1;
        }
        for _ in 0..weight.max(0) {
            docs.push(doc.clone());
        }
    }
    if negative > 0 {
        eprintln!("deltaloop: warning: {negative} output document(s) with a negative weight");
    }
    Ok(match format {
        DocFormat::Json => {
            let list: Vec<serde_json::Value> = docs.iter().map(Value::to_serde_json).collect();
            let mut s = serde_json::to_string_pretty(&list)?;
            s.push('\n');
            s
        }
        DocFormat::Yaml => {
            let mut s = String::new();
            for doc in &docs {
                s.push_str("---\n");
                s.push_str(&to_yaml(doc).context("cannot print an output document")?);
                if !s.ends_with('\n') {
                    s.push('\n');
                }
            }
            s
        }
    })
}

/// Appends one step's output delta: retractions first, then insertions, each sorted.
fn step_text(out: &mut String, step: &serde_json::Value, delta: &ZSet<Value>, format: DocFormat) {
    let mut entries = delta.to_sorted_vec();
    entries.sort_by_key(|(_, w)| *w > 0);
    match format {
        DocFormat::Json => {
            let delta: Vec<serde_json::Value> = entries
                .iter()
                .map(|(d, w)| json!({"doc": d.to_serde_json(), "weight": w}))
                .collect();
            let _ = writeln!(out, "{}", json!({"step": step, "delta": delta}));
        }
        DocFormat::Yaml => {
            let label = step
                .as_str()
                .map_or_else(|| step.to_string(), str::to_owned);
            let _ = writeln!(out, "--- step {label}");
            for (doc, w) in &entries {
                let sign = match *w {
                    1 => "+".to_owned(),
                    -1 => "-".to_owned(),
                    w if w > 0 => format!("+{w}"),
                    w => w.to_string(),
                };
                let _ = writeln!(out, "{sign} {}", doc.to_serde_json());
            }
        }
    }
}
