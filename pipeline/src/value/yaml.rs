//! YAML (de)serialization of [`Value`] through `serde-saphyr`.
//!
//! Integral YAML numbers decode as [`Value::Int`], other numbers as [`Value::Float`],
//! exactly as for JSON.

use super::Value;

/// An error decoding or encoding YAML.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum YamlError {
    /// The text is not valid YAML (or not representable as a value).
    #[error("invalid yaml: {0}")]
    Decode(#[from] serde_saphyr::Error),
    /// The value could not be written as YAML.
    #[error("cannot encode yaml: {0}")]
    Encode(#[from] serde_saphyr::SerializeError),
}

/// Decodes a single YAML document into a [`Value`].
///
/// ```
/// use deltaloop_pipeline::{Value, from_yaml};
/// let v = from_yaml("replicas: 3\nratio: 0.5\n")?;
/// assert_eq!(v.get("replicas"), Some(&Value::Int(3)));
/// assert_eq!(v.get("ratio"), Some(&Value::Float(0.5)));
/// # Ok::<(), deltaloop_pipeline::YamlError>(())
/// ```
///
/// # Errors
///
/// Returns [`YamlError::Decode`] when the text is not valid YAML.
pub fn from_yaml(text: &str) -> Result<Value, YamlError> {
    Ok(serde_saphyr::from_str(text)?)
}

/// Encodes a [`Value`] as YAML (maps in key order).
///
/// # Errors
///
/// Returns [`YamlError::Encode`] when the serializer fails.
pub fn to_yaml(value: &Value) -> Result<String, YamlError> {
    Ok(serde_saphyr::to_string(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_round_trip_should_keep_ints_and_floats() {
        let v = from_yaml("a: 1\nb: 2.5\nc: [x, true, null]\nd: {e: -7}\n").unwrap();
        assert!(matches!(v.get("a"), Some(Value::Int(1))));
        assert!(matches!(v.get("b"), Some(Value::Float(f)) if *f == 2.5));
        let text = to_yaml(&v).unwrap();
        let back = from_yaml(&text).unwrap();
        assert_eq!(back, v);
        assert!(matches!(
            back.get("d").and_then(|d| d.get("e")),
            Some(Value::Int(-7))
        ));
    }
}
