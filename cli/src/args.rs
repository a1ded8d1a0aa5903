//! Command-line arguments (clap derive), faithful to what the user typed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// deltaloop: incremental control loops as declarative pipelines.
#[derive(Debug, Parser)]
#[command(name = "deltaloop", version, about)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run conformance vector files (expressions, aggregation, transforms, sql) and report
    /// every failing case; ends with `N passed, M failed`.
    Conformance(ConformanceArgs),
    /// Evaluate a pipeline over documents: print its output (snapshot), or replay a delta
    /// log and print each step's output delta (`--steps`).
    ///
    /// PIPELINE is a YAML or JSON file holding a pipeline: one stage (`{"@select": …}`), a
    /// list of stages, or a program of branches (lists with `@inputs` and `@output`). It may
    /// also be `{pipeline: …, inputs: [NAME, …], output: NAME}`: `inputs` names the inputs
    /// in join order, `output` the output to print.
    ///
    /// Each `--input KIND=FILE` binds the pipeline input KIND (the logical name the pipeline
    /// uses, e.g. `$.Pod.metadata.name` in a `@join`) to the documents of FILE. A file is a
    /// YAML stream (`---`-separated documents), a YAML or JSON list, one JSON object, or
    /// JSONL (one JSON object per line); the syntax comes from the extension (.yaml/.yml,
    /// .json, .jsonl/.ndjson) or else from the content. A document that is a list, or a
    /// Kubernetes `…List` object with `items`, stands for its elements. Repeating a KIND
    /// adds the files' documents together. A plain (non-branch) pipeline reads all inputs:
    /// with several, it must start with a `@join`.
    ///
    /// Snapshot mode (no `--steps`): all documents are fed in one step and the output
    /// documents are printed as a YAML stream (`---` before each document), or as one JSON
    /// list with `--format json`. A document of weight n is printed n times.
    ///
    /// Steps mode (`--steps LOG`): the pipeline is incrementalized, the `--input` documents
    /// (if any) are fed as a first step labelled `initial`, then LOG is replayed. LOG is
    /// JSONL, one event per line: `{"step": N, "kind": "Pod", "op": "upsert"|"delete",
    /// "object": {…}}`. Consecutive lines with the same step form one step. Objects are
    /// identified by kind + metadata.namespace + metadata.name: an upsert of a live object
    /// retracts the old version and inserts the new one; a delete retracts the live version
    /// (deleting an object that is not live is an error). Each KIND in the log is an input.
    /// Per step, the output prints `--- step N` and then one line per changed document,
    /// retractions first: `- DOC` (weight −1), `+ DOC` (weight +1), or `+W DOC` / `-W DOC`
    /// for other weights, DOC as one-line JSON. With `--format json` each step is one JSON
    /// line `{"step": N, "delta": [{"doc": DOC, "weight": W}, …]}`. Summing the deltas gives
    /// the snapshot output of the final state.
    ///
    /// Errors name the file (and line and column for syntax errors, the stage for
    /// compile errors) and exit with status 2.
    ///
    /// Examples:
    ///   deltaloop eval examples/pipelines/endpoints.yaml \
    ///     --input Pod=examples/pipelines/pods.yaml --input Service=examples/pipelines/services.yaml
    ///   deltaloop eval examples/pipelines/endpoints.yaml --steps examples/pipelines/endpoints-steps.jsonl
    #[command(
        verbatim_doc_comment,
        about = "Evaluate a pipeline over documents: print its output, or each step's output delta (--steps)"
    )]
    Eval(EvalArgs),
    /// Print the circuit a pipeline compiles to: Graphviz DOT (default), Mermaid, or the
    /// circuit wire JSON.
    ///
    /// PIPELINE is a pipeline file as for `deltaloop eval`. The inputs are, in order: the
    /// file's `inputs:` list and the `--input KIND` options; when there are none, they are
    /// guessed without compiling: the names in the program's `@inputs` directives that no
    /// branch produces, else the participants of the first `@join` (its `inputs`/`soft`
    /// options, or the NAME of each `$.NAME…` path in its predicate, in order of
    /// appearance), else a single input `input`. Name them with `--input` when the guess is
    /// wrong. `--incremental` shows the circuit after the Incrementalizer.
    ///
    /// Examples:
    ///   deltaloop explain examples/pipelines/endpoints.yaml --incremental | dot -Tsvg > circuit.svg
    ///   deltaloop explain examples/pipelines/endpoints.yaml --format mermaid
    #[command(
        verbatim_doc_comment,
        about = "Print the circuit a pipeline compiles to (Graphviz DOT, Mermaid or wire JSON)"
    )]
    Explain(ExplainArgs),
    /// Benchmark pipelines: generated workloads (endpoints, service-health,
    /// configmap-deployment), scaling, and
    /// replay of recorded event logs; `--json` for one machine-readable object.
    Bench(crate::bench::BenchArgs),
    /// Run Operator manifests (the Δ-controller format): on the embedded API server by
    /// default, or against a cluster (`--kubeconfig`, or `KUBECONFIG`), until Ctrl-C.
    ///
    /// With the embedded server (the default when neither `--kubeconfig` nor `KUBECONFIG`
    /// is given) the server hosts the native kinds (Pod, Service, ConfigMap, …) and every
    /// view the operators use (`<operator>.view.dcontroller.io/v1alpha1`), and a kubeconfig
    /// for it is written (`--kubeconfig-out`), so plain kubectl can create the inputs and
    /// read the views. Against a cluster, the views are still served by the embedded server.
    ///
    /// Manifest errors name the file and the YAML location and exit with status 2.
    ///
    /// Example:
    ///   deltaloop run examples/operators/endpoints-operator.yaml &
    ///   kubectl --kubeconfig deltaloop.kubeconfig apply -f examples/operators/pods-and-services.yaml
    ///   kubectl --kubeconfig deltaloop.kubeconfig get endpointsviews -o yaml
    #[command(
        verbatim_doc_comment,
        about = "Run Operator manifests on the embedded API server or a cluster, until Ctrl-C"
    )]
    Run(crate::run_cmd::RunArgs),
    /// Serve the embedded Kubernetes API server alone (a fake cluster), until Ctrl-C.
    ///
    /// It hosts the native kinds (Pod, Service, ConfigMap, Secret, Namespace, Endpoints,
    /// Deployment, EndpointSlice): for trying kubectl, for tests, or as the `--kubeconfig`
    /// cluster of a `deltaloop run`.
    Apiserver(crate::apiserver_cmd::ApiserverArgs),
    /// Generate a kubeconfig with a signed token for a user and a profile (viewer, editor,
    /// admin).
    ///
    /// For a production-mode embedded server (`apiserver` or `run` with `--tls --cert-dir
    /// DIR`): the token is signed with DIR/tls.key, and DIR/ca.crt is the trusted CA.
    Kubeconfig(crate::kubeconfig_cmd::KubeconfigArgs),
}

/// Arguments of `deltaloop conformance`.
#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// The vector files; the kind of each is detected from its content.
    #[arg(required = true, value_name = "FILE.json")]
    pub(crate) files: Vec<PathBuf>,
}

/// An `--input KIND=FILE` option.
#[derive(Clone, Debug)]
pub(crate) struct InputArg {
    /// The pipeline's logical input name.
    pub(crate) kind: String,
    /// The documents file; `None` when only the KIND was given.
    pub(crate) file: Option<PathBuf>,
}

/// Parses `KIND=FILE` or `KIND`.
fn parse_input(s: &str) -> Result<InputArg, String> {
    let (kind, file) = match s.split_once('=') {
        Some((k, f)) => (k, Some(PathBuf::from(f))),
        None => (s, None),
    };
    if kind.is_empty() {
        return Err("expected KIND=FILE with a non-empty KIND".into());
    }
    if file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
        return Err(format!("no FILE after {kind}="));
    }
    Ok(InputArg {
        kind: kind.to_owned(),
        file,
    })
}

/// Parses `KIND=FILE`, refusing a bare KIND.
pub(crate) fn parse_input_file(s: &str) -> Result<InputArg, String> {
    let input = parse_input(s)?;
    if input.file.is_none() {
        return Err(format!("expected KIND=FILE, got {s:?}"));
    }
    Ok(input)
}

/// How `eval` prints documents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum DocFormat {
    /// YAML documents; in steps mode, `+ DOC` / `- DOC` lines.
    #[default]
    Yaml,
    /// A JSON list; in steps mode, one JSON object per step.
    Json,
}

/// Arguments of `deltaloop eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// The pipeline file (YAML or JSON).
    #[arg(value_name = "PIPELINE.yaml")]
    pub(crate) pipeline: PathBuf,
    /// Binds pipeline input KIND to the documents of FILE (repeatable).
    #[arg(short, long = "input", value_name = "KIND=FILE", value_parser = parse_input_file)]
    pub(crate) inputs: Vec<InputArg>,
    /// The output to print [default: the file's `output:`, the program's only unconsumed
    /// `@output`, or `output`].
    #[arg(short, long, value_name = "NAME")]
    pub(crate) output: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = DocFormat::Yaml)]
    pub(crate) format: DocFormat,
    /// Replay this JSONL delta log incrementally and print each step's output delta.
    #[arg(long, value_name = "FILE")]
    pub(crate) steps: Option<PathBuf>,
}

/// How `explain` prints the circuit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum CircuitFormat {
    /// Graphviz DOT.
    #[default]
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// The circuit wire JSON ({name, nodes, edges}).
    Json,
}

/// Arguments of `deltaloop explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The pipeline file (YAML or JSON).
    #[arg(value_name = "PIPELINE.yaml")]
    pub(crate) pipeline: PathBuf,
    /// Names an input of the pipeline (repeatable, in join order); `KIND=FILE` is accepted
    /// and the FILE ignored, so `eval` arguments can be reused.
    #[arg(short, long = "input", value_name = "KIND", value_parser = parse_input)]
    pub(crate) inputs: Vec<InputArg>,
    /// The output to bind [default: as for `eval`].
    #[arg(short, long, value_name = "NAME")]
    pub(crate) output: Option<String>,
    /// Show the incremental circuit (after the Incrementalizer).
    #[arg(long)]
    pub(crate) incremental: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CircuitFormat::Dot)]
    pub(crate) format: CircuitFormat,
}
