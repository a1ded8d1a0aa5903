//! `deltaloop explain`: print the circuit a pipeline compiles to.

use std::process::ExitCode;

use deltaloop_engine::{to_dot, to_mermaid};
use deltaloop_pipeline::wire;

use crate::args::{CircuitFormat, ExplainArgs};
use crate::bind::{compile, output_name};
use crate::files::{infer_inputs, load_pipeline, push_new};

/// Compiles the pipeline (and incrementalizes it with `--incremental`) and prints the
/// circuit in the chosen format.
pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let file = load_pipeline(&args.pipeline)?;
    let mut names = file.inputs.clone();
    for input in &args.inputs {
        push_new(&mut names, &input.kind);
    }
    if names.is_empty() {
        names = infer_inputs(&file.pipeline);
    }
    let output = output_name(&file, args.output.as_deref());
    let compiled = compile(&file, &names, &output, args.incremental)?;
    let circuit = compiled.circuit();
    match args.format {
        CircuitFormat::Dot => print!("{}", to_dot(circuit)),
        CircuitFormat::Mermaid => print!("{}", to_mermaid(circuit)),
        CircuitFormat::Json => println!("{}", serde_json::to_string_pretty(&wire::save(circuit))?),
    }
    Ok(ExitCode::SUCCESS)
}
