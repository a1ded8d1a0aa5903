//! Reading the files the commands take: pipelines and documents, in YAML, JSON or JSONL.
//!
//! Every error names the file, and syntax errors say `FILE:LINE:COLUMN`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use deltaloop_pipeline::Value;

/// The syntax of a file, from its extension or, failing that, its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    /// One JSON value.
    Json,
    /// One JSON value per line.
    Jsonl,
    /// A YAML stream (JSON is accepted too: it is YAML's flow syntax).
    Yaml,
}

fn syntax_of(path: &Path, text: &str) -> Syntax {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Syntax::Json,
        Some("jsonl" | "ndjson") => Syntax::Jsonl,
        Some("yaml" | "yml") => Syntax::Yaml,
        _ => match text.trim_start().chars().next() {
            Some('{' | '[') if serde_json::from_str::<serde_json::Value>(text).is_ok() => {
                Syntax::Json
            }
            Some('{') if is_jsonl(text) => Syntax::Jsonl,
            _ => Syntax::Yaml,
        },
    }
}

/// Whether every non-blank line is a JSON value on its own.
fn is_jsonl(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
}

/// Reads a whole file; the error names it and says what it was for.
pub(crate) fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// A JSON syntax error as `FILE:LINE:COLUMN: message`, the line counted from `first_line`.
pub(crate) fn json_error(path: &Path, first_line: usize, e: &serde_json::Error) -> anyhow::Error {
    let text = e.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    anyhow!(
        "{}:{}:{}: invalid JSON: {message}",
        path.display(),
        first_line + e.line().saturating_sub(1),
        e.column()
    )
}

/// A YAML syntax error as `FILE:LINE:COLUMN: message`.
fn yaml_error(path: &Path, e: &serde_saphyr::Error) -> anyhow::Error {
    let text = e.to_string();
    // The rendered error may carry a source snippet after its first line: keep the message.
    let mut message = text.lines().next().unwrap_or_default().trim();
    message = message.strip_prefix("error: ").unwrap_or(message);
    if message.starts_with("line ") {
        // `line L column C: …`: the position is printed in front instead.
        message = message.split_once(": ").map_or(message, |(_, m)| m);
    }
    match e.location() {
        Some(loc) if loc.line() > 0 => anyhow!(
            "{}:{}:{}: invalid YAML: {message}",
            path.display(),
            loc.line(),
            loc.column()
        ),
        _ => anyhow!("{}: invalid YAML: {message}", path.display()),
    }
}

/// Parses one JSON value.
fn parse_json(path: &Path, text: &str) -> anyhow::Result<Value> {
    serde_json::from_str::<Value>(text).map_err(|e| json_error(path, 1, &e))
}

/// Parses one value per non-blank line.
fn parse_jsonl(path: &Path, text: &str) -> anyhow::Result<Vec<Value>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str::<Value>(l).map_err(|e| json_error(path, i + 1, &e)))
        .collect()
}

/// A pipeline file: the pipeline, plus the optional input names and output name of the
/// `{pipeline, inputs?, output?}` form.
#[derive(Debug)]
pub(crate) struct PipelineFile {
    /// The file, for messages.
    pub(crate) path: PathBuf,
    /// The pipeline: one stage, a list of stages, or a program of branches.
    pub(crate) pipeline: Value,
    /// The input names the file declares (`inputs:`), in join order.
    pub(crate) inputs: Vec<String>,
    /// The output name the file declares (`output:`).
    pub(crate) output: Option<String>,
    /// Where each stage starts in the file, for compile errors.
    pub(crate) locations: crate::locate::StageLocations,
}

impl PipelineFile {
    /// The circuit name: the file name without its extension.
    pub(crate) fn name(&self) -> String {
        self.path.file_stem().map_or_else(
            || "pipeline".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        )
    }
}

/// Reads a pipeline file (YAML or JSON): a pipeline, or `{pipeline, inputs?, output?}`.
pub(crate) fn load_pipeline(path: &Path) -> anyhow::Result<PipelineFile> {
    let text = read(path, "pipeline file")?;
    let value = match syntax_of(path, &text) {
        Syntax::Json => parse_json(path, &text)?,
        Syntax::Jsonl | Syntax::Yaml => {
            serde_saphyr::from_str::<Value>(&text).map_err(|e| yaml_error(path, &e))?
        }
    };
    let mut file = PipelineFile {
        path: path.to_owned(),
        pipeline: value.clone(),
        inputs: Vec::new(),
        output: None,
        locations: crate::locate::StageLocations::of(&text),
    };
    let Some(map) = value.as_map().filter(|m| m.contains_key("pipeline")) else {
        return Ok(file);
    };
    for (key, v) in map.iter() {
        match &**key {
            "pipeline" => file.pipeline = v.clone(),
            "inputs" => {
                let names = v.as_list().and_then(|l| {
                    l.iter()
                        .map(|n| n.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                });
                file.inputs = names.ok_or_else(|| {
                    anyhow!("{}: `inputs` must be a list of names", path.display())
                })?;
            }
            "output" => {
                file.output = Some(
                    v.as_str()
                        .ok_or_else(|| anyhow!("{}: `output` must be a name", path.display()))?
                        .to_owned(),
                );
            }
            other => bail!(
                "{}: unknown key {other:?} (a pipeline file is a pipeline, or {{pipeline, inputs?, output?}})",
                path.display()
            ),
        }
    }
    Ok(file)
}

/// Reads a documents file: a YAML stream (each document, or each element of a document
/// that is a list), a JSON list or object, or JSONL. A Kubernetes `…List` object (`kind`
/// ending in `List`, with `items`) stands for its items.
pub(crate) fn load_documents(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = read(path, "input file")?;
    let docs = match syntax_of(path, &text) {
        Syntax::Json => match serde_json::from_str::<Value>(&text) {
            Ok(v) => vec![v],
            Err(_) if is_jsonl(&text) => parse_jsonl(path, &text)?,
            Err(e) => return Err(json_error(path, 1, &e)),
        },
        Syntax::Jsonl => parse_jsonl(path, &text)?,
        Syntax::Yaml => {
            serde_saphyr::from_multiple::<Value>(&text).map_err(|e| yaml_error(path, &e))?
        }
    };
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        flatten(doc, &mut out);
    }
    Ok(out)
}

fn flatten(doc: Value, out: &mut Vec<Value>) {
    if let Some(items) = doc.as_list() {
        out.extend(items.iter().cloned());
        return;
    }
    let is_list_kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"));
    match doc.get("items").and_then(Value::as_list) {
        Some(items) if is_list_kind => out.extend(items.iter().cloned()),
        _ => out.push(doc),
    }
}

/// The input names a pipeline reads, found cheaply without compiling: the names in its
/// `@inputs` directives that no branch produces; else the participants of its first
/// `@join` (its `inputs`/`soft` options, or the `$.NAME` roots of its predicate, in order);
/// else one input, `input`.
pub(crate) fn infer_inputs(pipeline: &Value) -> Vec<String> {
    let stages: Vec<&Value> = match pipeline.as_list() {
        Some(list) => list
            .iter()
            .flat_map(|s| match s.as_list() {
                Some(branch) => branch.iter().collect::<Vec<_>>(),
                None => vec![s],
            })
            .collect(),
        None => vec![pipeline],
    };
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for stage in &stages {
        if let Some(names) = stage.get("@inputs").and_then(Value::as_list) {
            for n in names.iter().filter_map(Value::as_str) {
                push_new(&mut inputs, n);
            }
        }
        if let Some(n) = stage.get("@output").and_then(Value::as_str) {
            push_new(&mut outputs, n);
        }
    }
    if !inputs.is_empty() {
        inputs.retain(|n| !outputs.contains(n));
        return inputs;
    }
    if let Some(join) = stages.iter().find_map(|s| s.get("@join")) {
        let (pred, opts) = match join.as_list() {
            Some([pred, opts, ..]) => (pred, Some(opts)),
            Some([pred]) => (pred, None),
            _ => (join, None),
        };
        let mut names = Vec::new();
        for key in ["inputs", "soft"] {
            for n in opts
                .and_then(|o| o.get(key))
                .and_then(Value::as_list)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                push_new(&mut names, n);
            }
        }
        if names.is_empty() {
            path_roots(pred, &mut names);
        }
        if !names.is_empty() {
            return names;
        }
    }
    vec!["input".to_owned()]
}

/// The output a program produces that no branch consumes, when there is exactly one.
pub(crate) fn infer_output(pipeline: &Value) -> Option<String> {
    let branches = pipeline.as_list()?;
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for stage in branches.iter().filter_map(Value::as_list).flatten() {
        if let Some(names) = stage.get("@inputs").and_then(Value::as_list) {
            for n in names.iter().filter_map(Value::as_str) {
                push_new(&mut inputs, n);
            }
        }
        if let Some(n) = stage.get("@output").and_then(Value::as_str) {
            push_new(&mut outputs, n);
        }
    }
    outputs.retain(|n| !inputs.contains(n));
    match outputs.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Adds `name` to `names` unless it is there already.
pub(crate) fn push_new(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
}

/// Collects the first segment of every `$.NAME…` / `$["NAME"]…` path inside `expr`.
fn path_roots(expr: &Value, names: &mut Vec<String>) {
    match expr {
        Value::String(s) => {
            let root = if let Some(rest) = s.strip_prefix("$.") {
                rest.split(['.', '[']).next()
            } else if let Some(rest) = s.strip_prefix("$[\"") {
                rest.split('"').next()
            } else {
                None
            };
            if let Some(root) = root.filter(|r| !r.is_empty()) {
                push_new(names, root);
            }
        }
        Value::List(items) => items.iter().for_each(|i| path_roots(i, names)),
        Value::Map(map) => map.values().for_each(|v| path_roots(v, names)),
        _ => {}
    }
}
