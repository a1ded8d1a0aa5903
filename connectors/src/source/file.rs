//! File and stdin sources: documents (JSON, JSONL, YAML, CSV) and delta logs.
//!
//! - [`parse_documents`] reads a text in a [`Format`] into documents. A JSON array, or an
//!   object with `kind: List` (or `…List`) and `items`, is flattened into its items; YAML
//!   may hold several `---`-separated documents; CSV has a header row and gives string
//!   fields; [`Format::Auto`] sniffs the format.
//! - [`parse_delta_log`] reads the JSONL delta log
//!   `{"step": N, "kind": K, "op": "upsert"|"delete", "object": {…}}`; consecutive lines with
//!   the same step form one [`LogStep`], and [`LogReplay`] turns steps into per-kind deltas.
//! - [`FileSource`] sends a file's documents as one `+1` delta.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use deltaloop_engine::ZSet;
use deltaloop_pipeline::{Value, from_yaml};

use crate::delta::{DeltaTracker, TrackerOptions};
use crate::event::Event;
use crate::source::DeltaSender;

/// A document format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON value.
    Json,
    /// One JSON value per line.
    Jsonl,
    /// One or more YAML documents.
    Yaml,
    /// A header row, then one document per row (string fields).
    Csv,
    /// Sniffed: JSON (or JSONL) when the text starts with `{`/`[`, YAML on `---`/`%YAML`,
    /// CSV when the first line has a comma, YAML otherwise.
    Auto,
}

impl Format {
    /// The format of a file name's extension (`Auto` for others).
    #[must_use]
    pub fn of_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("jsonl" | "ndjson") => Format::Jsonl,
            Some("yaml" | "yml") => Format::Yaml,
            Some("csv") => Format::Csv,
            _ => Format::Auto,
        }
    }
}

/// A document could not be read or parsed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{origin}{}{}: {message}",
    line.map(|l| format!(":{l}")).unwrap_or_default(),
    column.map(|c| format!(":{c}")).unwrap_or_default()
)]
pub struct FileError {
    /// The file (or `<stdin>`, `<text>`).
    pub origin: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The 1-based column, when known (JSON syntax errors).
    pub column: Option<usize>,
    /// What was wrong.
    pub message: String,
}

fn ferr(origin: &str, line: Option<usize>, message: impl Into<String>) -> FileError {
    FileError {
        origin: origin.to_owned(),
        line,
        column: None,
        message: message.into(),
    }
}

fn flatten(doc: Value, out: &mut Vec<Value>) {
    match &doc {
        Value::List(items) => out.extend(items.iter().cloned()),
        Value::Map(m)
            if m.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && m.get("items").and_then(Value::as_list).is_some() =>
        {
            if let Some(items) = m.get("items").and_then(Value::as_list) {
                out.extend(items.iter().cloned());
            }
        }
        Value::Null => {}
        _ => out.push(doc),
    }
}

/// Parses `text` (from `origin`, for messages) into documents.
///
/// # Errors
/// [`FileError`] naming the line where known.
pub fn parse_documents(text: &str, format: Format, origin: &str) -> Result<Vec<Value>, FileError> {
    let mut out = Vec::new();
    match format {
        Format::Json => {
            let v = Value::from_json_str(text).map_err(|e| ferr(origin, None, e.to_string()))?;
            flatten(v, &mut out);
        }
        Format::Jsonl => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v = Value::from_json_str(line)
                    .map_err(|e| ferr(origin, Some(i + 1), e.to_string()))?;
                flatten(v, &mut out);
            }
        }
        Format::Yaml => {
            let mut start = 1;
            let mut chunk = String::new();
            let lines = text.lines().chain(std::iter::once("---"));
            for (i, line) in lines.enumerate() {
                if line.trim_end() == "---" || line.starts_with("--- ") {
                    if !chunk.trim().is_empty() {
                        let v = from_yaml(&chunk)
                            .map_err(|e| ferr(origin, Some(start), e.to_string()))?;
                        flatten(v, &mut out);
                    }
                    chunk.clear();
                    start = i + 2;
                } else if !line.starts_with("%YAML") {
                    chunk.push_str(line);
                    chunk.push('\n');
                }
            }
        }
        Format::Csv => out = parse_csv(text, origin)?,
        Format::Auto => {
            let t = text.trim_start();
            let first = t.lines().next().unwrap_or("");
            let format = if t.starts_with('{') || t.starts_with('[') {
                if Value::from_json_str(text).is_ok() {
                    Format::Json
                } else {
                    Format::Jsonl
                }
            } else if t.starts_with("---") || t.starts_with("%YAML") {
                Format::Yaml
            } else if first.contains(',') && !first.contains(':') {
                Format::Csv
            } else {
                Format::Yaml
            };
            return parse_documents(text, format, origin);
        }
    }
    Ok(out)
}

/// Splits one CSV record (RFC 4180 quoting; no embedded newlines).
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(cur);
    Some(fields)
}

fn parse_csv(text: &str, origin: &str) -> Result<Vec<Value>, FileError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hi, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let header =
        csv_fields(header).ok_or_else(|| ferr(origin, Some(hi + 1), "unterminated quote"))?;
    lines
        .map(|(i, line)| {
            let fields =
                csv_fields(line).ok_or_else(|| ferr(origin, Some(i + 1), "unterminated quote"))?;
            if fields.len() != header.len() {
                return Err(ferr(
                    origin,
                    Some(i + 1),
                    format!("{} fields, the header has {}", fields.len(), header.len()),
                ));
            }
            Ok(Value::map(
                header
                    .iter()
                    .zip(fields)
                    .map(|(k, v)| (k.as_str(), Value::from(v))),
            ))
        })
        .collect()
}

/// One event of a delta log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// The 1-based line.
    pub line: usize,
    /// The kind (input topic).
    pub kind: String,
    /// `Upsert` or `Delete` of the object.
    pub event: Event,
}

/// The events of one step of a delta log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogStep {
    /// The log's step number.
    pub number: i64,
    /// The events in log order.
    pub events: Vec<LogEvent>,
}

/// Parses a JSONL delta log (see the module documentation).
///
/// # Errors
/// [`FileError`] with the line of the first bad event.
pub fn parse_delta_log(text: &str, origin: &str) -> Result<Vec<LogStep>, FileError> {
    let mut steps: Vec<LogStep> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            let text = e.to_string();
            let message = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(m, _)| m);
            FileError {
                column: Some(e.column()),
                ..ferr(origin, Some(n), format!("invalid JSON: {message}"))
            }
        })?;
        let field = |k: &str| {
            json.get(k)
                .ok_or_else(|| ferr(origin, Some(n), format!("event has no {k:?}")))
        };
        let number = field("step")?
            .as_i64()
            .ok_or_else(|| ferr(origin, Some(n), "\"step\" must be an integer"))?;
        let kind = field("kind")?
            .as_str()
            .ok_or_else(|| ferr(origin, Some(n), "\"kind\" must be a string"))?
            .to_owned();
        let object = Value::from(field("object")?);
        if object.as_map().is_none() {
            return Err(ferr(origin, Some(n), "\"object\" must be an object"));
        }
        let event = match field("op")?.as_str() {
            Some("upsert") => Event::Upsert(object),
            Some("delete") => Event::Delete(object),
            _ => {
                return Err(ferr(
                    origin,
                    Some(n),
                    "\"op\" must be \"upsert\" or \"delete\"",
                ));
            }
        };
        let ev = LogEvent {
            line: n,
            kind,
            event,
        };
        match steps.last_mut() {
            Some(last) if last.number == number => last.events.push(ev),
            _ => steps.push(LogStep {
                number,
                events: vec![ev],
            }),
        }
    }
    Ok(steps)
}

/// Replays delta-log steps into per-kind deltas, one tracker per kind (objects are kept
/// as written: only `managedFields` would be stripped).
#[derive(Debug, Default)]
pub struct LogReplay {
    trackers: HashMap<String, DeltaTracker>,
}

impl LogReplay {
    fn tracker(&mut self, kind: &str) -> &mut DeltaTracker {
        self.trackers.entry(kind.to_owned()).or_insert_with(|| {
            DeltaTracker::new(TrackerOptions {
                strip_generation: false,
                ..TrackerOptions::default()
            })
        })
    }

    /// Seeds `kind` with an object that is live before the log starts.
    ///
    /// # Errors
    /// [`FileError`] for an object without a name.
    pub fn seed(&mut self, kind: &str, object: Value) -> Result<(), FileError> {
        self.tracker(kind)
            .apply(Event::Upsert(object))
            .map(drop)
            .map_err(|e| ferr("<seed>", None, e.to_string()))
    }

    /// The per-kind deltas of one step (kinds without a change are absent).
    ///
    /// # Errors
    /// [`FileError`] naming the line of a nameless object.
    pub fn step(
        &mut self,
        step: &LogStep,
        origin: &str,
    ) -> Result<BTreeMap<String, ZSet<Value>>, FileError> {
        let mut out: BTreeMap<String, ZSet<Value>> = BTreeMap::new();
        for ev in &step.events {
            let d = self
                .tracker(&ev.kind)
                .apply(ev.event.clone())
                .map_err(|e| ferr(origin, Some(ev.line), e.to_string()))?;
            out.entry(ev.kind.clone()).or_default().add_assign(&d);
        }
        out.retain(|_, d| !d.is_empty());
        Ok(out)
    }
}

/// Sends the documents of a file (or stdin, `-`) as one `+1` delta.
#[derive(Clone, Debug)]
pub struct FileSource {
    path: PathBuf,
    format: Format,
}

impl FileSource {
    /// A source reading `path` (`-` for stdin) in `format`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, format: Format) -> FileSource {
        FileSource {
            path: path.into(),
            format,
        }
    }

    /// Reads and parses the documents.
    ///
    /// # Errors
    /// [`FileError`] for an unreadable or unparsable file.
    pub async fn load(&self) -> Result<Vec<Value>, FileError> {
        let origin = self.path.display().to_string();
        let text = if self.path.as_os_str() == "-" {
            use tokio::io::AsyncReadExt;
            let mut s = String::new();
            tokio::io::stdin()
                .read_to_string(&mut s)
                .await
                .map_err(|e| ferr("<stdin>", None, e.to_string()))?;
            s
        } else {
            tokio::fs::read_to_string(&self.path)
                .await
                .map_err(|e| ferr(&origin, None, e.to_string()))?
        };
        let format = match self.format {
            Format::Auto => Format::of_path(&self.path),
            f => f,
        };
        parse_documents(&text, format, &origin)
    }

    /// Loads the file and sends its documents.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub async fn run(self, out: DeltaSender) -> Result<(), FileError> {
        let mut z = ZSet::new();
        for d in self.load().await? {
            z.insert(d, 1);
        }
        if !z.is_empty() {
            let _ = out.send(z).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltaloop_engine::zset;

    fn v(s: &str) -> Value {
        Value::from_json_str(s).unwrap()
    }

    #[test]
    fn a_delta_log_json_error_names_line_and_column() {
        let err = parse_delta_log(
            "{\"step\": 1, \"kind\": \"Pod\", \"op\": \"upsert\", \"object\": {}}\n{bad\n",
            "log",
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("log:2:2: invalid JSON: "),
            "{err}"
        );
    }

    #[test]
    fn formats_parse_and_flatten() {
        let json = parse_documents(
            r#"{"kind":"List","items":[{"a":1},{"a":2}]}"#,
            Format::Json,
            "t",
        )
        .unwrap();
        assert_eq!(json, vec![v(r#"{"a":1}"#), v(r#"{"a":2}"#)]);
        let jsonl = parse_documents("{\"a\":1}\n\n[{\"a\":2}]\n", Format::Jsonl, "t").unwrap();
        assert_eq!(jsonl, vec![v(r#"{"a":1}"#), v(r#"{"a":2}"#)]);
        let yaml = parse_documents("a: 1\n---\na: 2\n---\n", Format::Yaml, "t").unwrap();
        assert_eq!(yaml, vec![v(r#"{"a":1}"#), v(r#"{"a":2}"#)]);
        let csv = parse_documents("name,note\nx,\"a, \"\"b\"\"\"\ny,\n", Format::Csv, "t").unwrap();
        assert_eq!(
            csv,
            vec![
                v(r#"{"name":"x","note":"a, \"b\""}"#),
                v(r#"{"name":"y","note":""}"#)
            ]
        );
        assert_eq!(
            parse_documents("name,x\n1,2\n", Format::Auto, "t")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            parse_documents("---\na: 1\n", Format::Auto, "t")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            parse_documents("{\"a\":1}\n{\"a\":2}\n", Format::Auto, "t")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_documents("{\"a\":1}\n{oops\n", Format::Jsonl, "f.jsonl").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().starts_with("f.jsonl:2: "));
        let e = parse_documents("a,b\n1\n", Format::Csv, "f.csv").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn delta_log_replays_into_deltas() {
        let log = r#"{"step":1,"kind":"Pod","op":"upsert","object":{"metadata":{"name":"a"},"v":1}}
{"step":1,"kind":"Svc","op":"upsert","object":{"metadata":{"name":"s"}}}
{"step":2,"kind":"Pod","op":"upsert","object":{"metadata":{"name":"a"},"v":2}}
{"step":3,"kind":"Pod","op":"delete","object":{"metadata":{"name":"a"}}}
"#;
        let steps = parse_delta_log(log, "log").unwrap();
        assert_eq!(steps.len(), 3);
        let mut r = LogReplay::default();
        let s1 = r.step(&steps[0], "log").unwrap();
        assert_eq!(
            s1["Pod"],
            zset! { v(r#"{"metadata":{"name":"a"},"v":1}"#) => 1 }
        );
        let s2 = r.step(&steps[1], "log").unwrap();
        assert_eq!(
            s2["Pod"],
            zset! { v(r#"{"metadata":{"name":"a"},"v":1}"#) => -1, v(r#"{"metadata":{"name":"a"},"v":2}"#) => 1 }
        );
        let s3 = r.step(&steps[2], "log").unwrap();
        assert_eq!(
            s3["Pod"],
            zset! { v(r#"{"metadata":{"name":"a"},"v":2}"#) => -1 }
        );
        let bad = parse_delta_log(
            "{\"step\":1,\"kind\":\"P\",\"op\":\"x\",\"object\":{}}",
            "log",
        );
        assert!(bad.unwrap_err().to_string().contains("log:1"));
    }
}
