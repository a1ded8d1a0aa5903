//! # deltaloop-connectors
//!
//! Kubernetes sources and targets, the embedded API server, files and codecs, and the controller
//! runtime that drives compiled deltaloop circuits. (Being built: see the open issues.)
