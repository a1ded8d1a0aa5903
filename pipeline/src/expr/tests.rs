//! Unit tests for the expression language.
