//! Program shapes: stages, pipelines and branches; directives; the branch DAG.
//!
//! - `{"@op": args}` or `"@op"`: one stage (a pipeline of one).
//! - `[stage, …]`: a pipeline. Without directives its inputs are all the sources and its
//!   output is the first configured output; `@inputs` / `@output` may override either.
//! - `[[stage, …], …]`: a program of branches, each with mandatory `@inputs` and `@output`.
//! - `[]`: the identity from the sources to the first output.
//!
//! A branch input is resolved as an internal stream (some branch's `@output`) first, then
//! as a source. Consumers are compiled after their producers (Kahn's algorithm, ties by
//! branch index); a branch that feeds itself, directly or through others, is an error.

use std::collections::BTreeSet;

use super::{PipelineError, PipelineErrorKind};
use crate::value::Value;

/// A stage as written: its position, operator name and argument.
#[derive(Clone, Debug)]
pub(super) struct Stage {
    /// The stage's index in its pipeline (directives included).
    pub(super) index: usize,
    /// `@select`, `@join`, ….
    pub(super) op: String,
    /// The argument (`null` for the bare-string form).
    pub(super) arg: Value,
    /// The location prefix: `pipeline[2]` or `branch 1 stage 2`.
    pub(super) at: String,
}

impl Stage {
    /// The location of a position inside this stage's argument, e.g. `pipeline[2] @join[1]`.
    pub(super) fn at(&self, inner: &str) -> String {
        format!("{} {}{inner}", self.at, self.op)
    }
}

/// One branch: its inputs, its output stream and its (non-directive) stages.
#[derive(Clone, Debug)]
pub(super) struct Branch {
    /// The branch index `i` of node ids `b<i>_…`.
    pub(super) index: usize,
    /// The location of the branch: `pipeline` or `branch 1`.
    pub(super) at: String,
    /// Input names (logical), in order.
    pub(super) inputs: Vec<String>,
    /// The output stream name.
    pub(super) output: String,
    /// The stages, without the directives.
    pub(super) stages: Vec<Stage>,
}

impl Branch {
    /// The node id `b<i>_op_<k>` of stage `stage` of this branch.
    pub(super) fn stage_node(&self, stage: &Stage) -> String {
        format!("b{}_op_{}", self.index, stage.index)
    }
}

/// A parsed program.
#[derive(Clone, Debug)]
pub(super) struct Program {
    /// The branches (one for a plain pipeline).
    pub(super) branches: Vec<Branch>,
    /// Whether this is a plain pipeline (inputs are always sources).
    pub(super) plain: bool,
}

/// Where a branch input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Feed {
    /// The source with this index.
    Source(usize),
    /// An internal stream (the union of the branches producing it).
    Stream,
}

/// The compile order of the branches and the resolution of their inputs.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    /// Branch indices, producers before consumers.
    pub(super) order: Vec<usize>,
    /// Per branch, per input: where it comes from.
    pub(super) feeds: Vec<Vec<Feed>>,
}

/// Parses a pipeline value into branches.
pub(super) fn parse(
    pipeline: &Value,
    sources: &[String],
    first_output: &str,
) -> Result<Program, PipelineError> {
    let branch_form = match pipeline {
        Value::List(items) => items.first().is_some_and(|f| matches!(f, Value::List(_))),
        _ => false,
    };
    if !branch_form {
        let stages = match pipeline {
            Value::List(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        let b = parse_branch(
            0,
            "pipeline",
            |k| format!("pipeline[{k}]"),
            stages,
            false,
            sources,
            first_output,
        )?;
        return Ok(Program {
            branches: vec![b],
            plain: true,
        });
    }
    let Value::List(items) = pipeline else {
        return Ok(Program {
            branches: Vec::new(),
            plain: false,
        });
    };
    let mut branches = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::List(stages) = item else {
            return Err(PipelineError::shape(
                format!("branch {i}"),
                "a branch (a list of stages), as the program's first element is one",
                item,
            ));
        };
        let at = format!("branch {i}");
        branches.push(parse_branch(
            i,
            &at,
            |k| format!("branch {i} stage {k}"),
            stages,
            true,
            sources,
            first_output,
        )?);
    }
    Ok(Program {
        branches,
        plain: false,
    })
}

fn parse_branch(
    index: usize,
    at: &str,
    stage_at: impl Fn(usize) -> String,
    items: &[Value],
    branch_form: bool,
    sources: &[String],
    first_output: &str,
) -> Result<Branch, PipelineError> {
    let mut inputs: Option<Vec<String>> = None;
    let mut output: Option<String> = None;
    let mut stages = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let sat = stage_at(k);
        let (op, arg) = match item {
            Value::String(s) if s.starts_with('@') => (s.to_string(), Value::Null),
            Value::Map(m) if m.len() == 1 => match m.iter().next() {
                Some((op, arg)) if op.starts_with('@') => (op.to_string(), arg.clone()),
                _ => return Err(PipelineError::shape(sat, "a stage {\"@op\": args}", item)),
            },
            Value::Map(_) => {
                return Err(PipelineError::shape(
                    sat,
                    "a stage object with exactly one \"@op\" key",
                    item,
                ));
            }
            Value::List(_) => {
                return Err(PipelineError::new(
                    sat,
                    PipelineErrorKind::Directive(
                        "a nested branch array is not allowed inside a pipeline or branch".into(),
                    ),
                ));
            }
            other => {
                return Err(PipelineError::shape(
                    sat,
                    "a stage {\"@op\": args} or \"@op\"",
                    other,
                ));
            }
        };
        match op.as_str() {
            "@inputs" => {
                let at = format!("{sat} @inputs");
                if inputs.is_some() {
                    return Err(PipelineError::new(
                        at,
                        PipelineErrorKind::Directive("@inputs is given twice".into()),
                    ));
                }
                inputs = Some(string_list(&arg, &at, "a non-empty list of input names")?);
            }
            "@output" => {
                let at = format!("{sat} @output");
                if output.is_some() {
                    return Err(PipelineError::new(
                        at,
                        PipelineErrorKind::Directive("@output is given twice".into()),
                    ));
                }
                match &arg {
                    Value::String(s) if !s.is_empty() => output = Some(s.to_string()),
                    other => return Err(PipelineError::shape(at, "an output stream name", other)),
                }
            }
            _ => stages.push(Stage {
                index: k,
                op,
                arg,
                at: sat,
            }),
        }
    }
    let missing = |what: &str| {
        PipelineError::new(
            at,
            PipelineErrorKind::Directive(format!("a branch must declare {what}")),
        )
    };
    let inputs = match inputs {
        Some(i) => i,
        None if branch_form => return Err(missing("{\"@inputs\": [names]}")),
        None => sources.to_vec(),
    };
    let output = match output {
        Some(o) => o,
        None if branch_form => return Err(missing("{\"@output\": name}")),
        None => first_output.to_owned(),
    };
    Ok(Branch {
        index,
        at: at.to_owned(),
        inputs,
        output,
        stages,
    })
}

/// A non-empty list of distinct, non-empty strings.
pub(super) fn string_list(
    v: &Value,
    at: &str,
    expected: &str,
) -> Result<Vec<String>, PipelineError> {
    let Value::List(items) = v else {
        return Err(PipelineError::shape(at, expected, v));
    };
    if items.is_empty() {
        return Err(PipelineError::shape(at, expected, v));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (j, item) in items.iter().enumerate() {
        match item {
            Value::String(s) if !s.is_empty() => {
                if out.iter().any(|o| **o == **s) {
                    return Err(PipelineError::new(
                        format!("{at}[{j}]"),
                        PipelineErrorKind::Directive(format!("{s:?} is listed twice")),
                    ));
                }
                out.push(s.to_string());
            }
            other => return Err(PipelineError::shape(format!("{at}[{j}]"), "a name", other)),
        }
    }
    Ok(out)
}

/// Resolves every branch input and orders the branches producers-first.
pub(super) fn plan(program: &Program, sources: &[String]) -> Result<Plan, PipelineError> {
    let n = program.branches.len();
    let mut feeds = Vec::with_capacity(n);
    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (bi, b) in program.branches.iter().enumerate() {
        let mut f = Vec::with_capacity(b.inputs.len());
        for name in &b.inputs {
            let producers: Vec<usize> = if program.plain {
                Vec::new()
            } else {
                program
                    .branches
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.output == *name)
                    .map(|(i, _)| i)
                    .collect()
            };
            if !producers.is_empty() {
                if producers.contains(&bi) {
                    return Err(PipelineError::new(
                        format!("{} @inputs", b.at),
                        PipelineErrorKind::Cycle(vec![name.clone()]),
                    ));
                }
                deps[bi].extend(producers);
                f.push(Feed::Stream);
            } else if let Some(i) = sources.iter().position(|s| s == name) {
                f.push(Feed::Source(i));
            } else {
                return Err(PipelineError::new(
                    format!("{} @inputs", b.at),
                    PipelineErrorKind::UnboundInput {
                        name: name.clone(),
                        sources: sources.to_vec(),
                    },
                ));
            }
        }
        feeds.push(f);
    }
    // Kahn's algorithm, smallest branch index first.
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&i| !done[i] && deps[i].iter().all(|&d| done[d]));
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let mut streams: Vec<String> = (0..n)
                    .filter(|&i| !done[i])
                    .map(|i| program.branches[i].output.clone())
                    .collect();
                streams.sort();
                streams.dedup();
                return Err(PipelineError::new("", PipelineErrorKind::Cycle(streams)));
            }
        }
    }
    Ok(Plan { order, feeds })
}
