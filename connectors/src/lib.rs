//! # deltaloop-connectors
//!
//! Kubernetes sources and targets, the embedded API server, files and codecs, and the controller
//! runtime that drives compiled deltaloop circuits. (Being built: see the open issues.)

// Sources, targets and the controller runtime.
pub mod delta;
pub mod event;
pub mod predicate;

pub use delta::{DeltaError, DeltaTracker, TrackerOptions};
pub use event::{Event, ObjectKey};
pub use predicate::{Predicate, PredicateError};
pub mod backoff;
pub mod report;
pub mod source;
pub use backoff::Backoff;
pub use report::{ErrorReport, Reporter};
pub mod target;
pub use target::{Target, TargetMode};
pub mod manifest;
pub use manifest::{ManifestError, OperatorPlan, parse_operator};

// The embedded Kubernetes-compatible API server.
pub mod apiserver;
pub mod runtime;
pub use runtime::{ControllerHandle, Core, start_controller, start_operator};
