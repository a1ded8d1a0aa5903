//! Error types of the expression language.

use crate::value::Str;

/// An expression failed to compile.
///
/// `at` is the JSONPath of the failing node inside the expression source, e.g.
/// `$.@and[1]` for the second argument of a top-level `@and`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at {at}: {kind}")]
pub struct CompileError {
    /// Where inside the expression source the error is.
    pub at: String,
    /// What went wrong.
    pub kind: CompileErrorKind,
}

/// What went wrong while compiling an expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileErrorKind {
    /// The operator name is not registered.
    #[error("unknown operator {0}")]
    UnknownOperator(String),
    /// The operator's arguments have the wrong shape or count.
    #[error("{op}: invalid arguments, expected {expected}")]
    Arguments {
        /// The operator.
        op: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A constant path argument is not a valid rooted JSONPath.
    #[error("{op}: {source}")]
    Path {
        /// The operator.
        op: String,
        /// The path error.
        source: crate::path::PathError,
    },
    /// The source text is not valid JSON.
    #[error("invalid json: {0}")]
    Json(String),
}

/// An expression failed during evaluation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A path selected nothing. Propagates unchanged through enclosing operators so that
    /// callers (`@exists`, `@definedOr`, `@select`) can tell it apart from other errors.
    #[error("field not found: {path}")]
    FieldNotFound {
        /// The path that selected nothing.
        path: String,
    },
    /// A built-in operator failed (bad operand type, division by zero, ...).
    #[error("{op}: {message}")]
    Operator {
        /// The operator, e.g. `@div`.
        op: &'static str,
        /// What failed.
        message: String,
    },
    /// A host callback failed.
    #[error("{name}: {message}")]
    Callback {
        /// The callback's operator name.
        name: Str,
        /// The callback's error.
        message: String,
    },
}

impl EvalError {
    /// Whether this is the field-not-found condition.
    #[must_use]
    pub fn is_field_not_found(&self) -> bool {
        matches!(self, EvalError::FieldNotFound { .. })
    }

    pub(crate) fn op(op: &'static str, message: impl Into<String>) -> EvalError {
        EvalError::Operator {
            op,
            message: message.into(),
        }
    }
}
