//! Choosing a pipeline's bindings and compiling it.

use anyhow::Context as _;
use deltaloop_engine::{Chain, Incrementalizer};
use deltaloop_pipeline::{Binding, CompileOptions, CompiledPipeline, compile_value};

use crate::files::{PipelineFile, infer_output};

/// The output name: `--output`, else the file's `output:`, else the program's only
/// unconsumed `@output`, else `output`.
pub(crate) fn output_name(file: &PipelineFile, flag: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| file.output.clone())
        .or_else(|| infer_output(&file.pipeline))
        .unwrap_or_else(|| "output".to_owned())
}

/// Compiles the file's pipeline with identity bindings for `inputs` and `output`, then
/// incrementalizes it if asked.
pub(crate) fn compile(
    file: &PipelineFile,
    inputs: &[String],
    output: &str,
    incremental: bool,
) -> anyhow::Result<CompiledPipeline> {
    let mut options = CompileOptions::new(file.name()).output(Binding::new(output));
    for name in inputs {
        options = options.input(Binding::new(name.as_str()));
    }
    let compiled = compile_value(&file.pipeline, &options).map_err(|e| {
        let place = match file.locations.find(&e.at) {
            Some((line, column)) => format!("{}:{line}:{column}", file.path.display()),
            None => file.path.display().to_string(),
        };
        anyhow::Error::new(e).context(format!("cannot compile {place}"))
    })?;
    if !incremental {
        return Ok(compiled);
    }
    let chain = Chain::new(vec![Incrementalizer.into()])?;
    compiled
        .transform(&chain)
        .with_context(|| format!("cannot incrementalize {}", file.path.display()))
}
