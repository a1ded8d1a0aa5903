//! Transform specifications: the `{name, pairs?, k?}` lists of manifests and vectors, parsed
//! into an engine [`Chain`].

use deltaloop_engine::{Chain, ChainStep, Distincter, Incrementalizer, Reconciler, SmithPredictor};
use serde_json::Value as Json;

/// Why a transform list was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformSpecError {
    /// The JSON is not a list of `{name, pairs?, k?}` objects; `at` says where.
    #[error("transforms{at}: {message}")]
    Shape {
        /// The index path inside the list, e.g. `[1].pairs[0]`.
        at: String,
        /// What was expected.
        message: String,
    },
    /// The engine refused the chain (empty, duplicate transform).
    #[error(transparent)]
    Chain(#[from] deltaloop_engine::Error),
}

fn shape(at: String, message: impl Into<String>) -> TransformSpecError {
    TransformSpecError::Shape {
        at,
        message: message.into(),
    }
}

/// Parses `[{name, pairs?, k?}, …]` into a canonical-order chain; an empty list gives `None`.
///
/// Names: `Incrementalizer`, `Reconciler`, `SmithPredictor` (needs `k`), `Distincter`.
/// `pairs` is a list of `[observedInputId, outputId]`.
///
/// ```
/// use deltaloop_pipeline::parse_transforms;
/// let chain = parse_transforms(&serde_json::json!([
///     {"name": "Incrementalizer"}, {"name": "Reconciler", "pairs": [["input_x", "output_x"]]}
/// ]))?.unwrap();
/// assert_eq!(chain.steps().len(), 2);
/// assert!(parse_transforms(&serde_json::json!([{"name": "Bogus"}])).is_err());
/// # Ok::<(), deltaloop_pipeline::TransformSpecError>(())
/// ```
///
/// # Errors
/// [`TransformSpecError`] for an unknown name, a bad field, or a chain the engine refuses.
pub fn parse_transforms(specs: &Json) -> Result<Option<Chain>, TransformSpecError> {
    let list = specs
        .as_array()
        .ok_or_else(|| shape(String::new(), "expected a list of {name, pairs?, k?}"))?;
    if list.is_empty() {
        return Ok(None);
    }
    let mut steps: Vec<ChainStep> = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let name = t.get("name").and_then(Json::as_str).ok_or_else(|| {
            shape(
                format!("[{i}]"),
                "expected an object with a string \"name\"",
            )
        })?;
        let pairs = parse_pairs(t.get("pairs"), i)?;
        steps.push(match name {
            "Incrementalizer" => Incrementalizer.into(),
            "Distincter" => Distincter.into(),
            "Reconciler" => Reconciler::with_pairs(pairs).into(),
            "SmithPredictor" => {
                let k = t
                    .get("k")
                    .and_then(Json::as_u64)
                    .and_then(|k| usize::try_from(k).ok())
                    .ok_or_else(|| shape(format!("[{i}].k"), "SmithPredictor needs an integer window \"k\" ≥ 2"))?;
                SmithPredictor::new(k, pairs).into()
            }
            other => {
                return Err(shape(
                    format!("[{i}].name"),
                    format!("unknown transform {other:?} (expected Incrementalizer, Reconciler, SmithPredictor or Distincter)"),
                ));
            }
        });
    }
    Ok(Some(Chain::new(steps)?))
}

fn parse_pairs(
    pairs: Option<&Json>,
    i: usize,
) -> Result<Vec<(String, String)>, TransformSpecError> {
    let Some(pairs) = pairs else {
        return Ok(Vec::new());
    };
    let list = pairs.as_array().ok_or_else(|| {
        shape(
            format!("[{i}].pairs"),
            "expected a list of [input, output] pairs",
        )
    })?;
    list.iter()
        .enumerate()
        .map(|(j, p)| match p.as_array().map(Vec::as_slice) {
            Some([Json::String(a), Json::String(b)]) => Ok((a.clone(), b.clone())),
            _ => Err(shape(
                format!("[{i}].pairs[{j}]"),
                "expected [inputId, outputId]",
            )),
        })
        .collect()
}
