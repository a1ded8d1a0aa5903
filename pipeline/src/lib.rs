//! # deltaloop-pipeline
//!
//! The pipeline language of deltaloop: the document type, JSONPath, the `@`-expression language
//! and the aggregation compiler onto `deltaloop-engine` circuits.
