//! The engine's error type: every failure names the node, port or transform it concerns.

/// An error raised by user logic inside an operator (a predicate, projection, key or
/// aggregate); the pipeline crate's evaluation errors travel through it.
pub type UserError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong building, validating, transforming or running a circuit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node id was added twice.
    #[error("circuit {circuit:?}: node {node:?} already exists")]
    DuplicateNode {
        /// The circuit's name.
        circuit: String,
        /// The duplicated node id.
        node: String,
    },
    /// An edge or a lookup names a node that does not exist.
    #[error("circuit {circuit:?}: unknown node {node:?}")]
    UnknownNode {
        /// The circuit's name.
        circuit: String,
        /// The missing node id.
        node: String,
    },
    /// An edge targets a port the node does not have.
    #[error(
        "circuit {circuit:?}: node {node:?} ({kind}) has {arity} input port(s), edge from {from:?} targets port {port}"
    )]
    PortOutOfRange {
        /// The circuit's name.
        circuit: String,
        /// The target node.
        node: String,
        /// The target's operator kind.
        kind: &'static str,
        /// The number of ports it has.
        arity: usize,
        /// The offending port.
        port: usize,
        /// The edge's source node.
        from: String,
    },
    /// Two edges feed the same input port of one node.
    #[error(
        "circuit {circuit:?}: node {node:?} ({kind}) port {port} is fed twice (from {first:?} and {second:?})"
    )]
    DuplicatePort {
        /// The circuit's name.
        circuit: String,
        /// The target node.
        node: String,
        /// The target's operator kind.
        kind: &'static str,
        /// The port fed twice.
        port: usize,
        /// The first source.
        first: String,
        /// The second source.
        second: String,
    },
    /// An input port of a node has no edge.
    #[error("circuit {circuit:?}: node {node:?} ({kind}) input port {port} is not connected")]
    DanglingPort {
        /// The circuit's name.
        circuit: String,
        /// The node.
        node: String,
        /// Its operator kind.
        kind: &'static str,
        /// The unconnected port.
        port: usize,
    },
    /// The graph has a cycle that does not pass through a delay.
    #[error(
        "circuit {circuit:?}: cycle without a delay through nodes {nodes:?}; use delay nodes to break feedback loops"
    )]
    Cycle {
        /// The circuit's name.
        circuit: String,
        /// The nodes on the cycle (sorted).
        nodes: Vec<String>,
    },
    /// An `integrate` feeds a `delay` directly. The integrator's accumulator is updated in
    /// place, so delay first and integrate after (the two commute).
    #[error(
        "circuit {circuit:?}: integrate node {from:?} feeds delay {to:?} directly; put the delay before the integrator instead (z⁻¹∘∫ = ∫∘z⁻¹)"
    )]
    IntegrateIntoDelay {
        /// The circuit's name.
        circuit: String,
        /// The integrate node.
        from: String,
        /// The delay node.
        to: String,
    },
    /// A transform was refused; the circuit is unchanged.
    #[error("transform {transform}: {reason}")]
    Transform {
        /// The transform's name (`Incrementalizer`, `Reconciler`, …).
        transform: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A step was given a value for a node that is not an input.
    #[error("circuit {circuit:?}: no input node {name:?} (inputs: {known:?})")]
    UnknownInput {
        /// The circuit's name.
        circuit: String,
        /// The requested input id.
        name: String,
        /// The input ids that exist.
        known: Vec<String>,
    },
    /// An output was requested that the circuit does not have.
    #[error("circuit {circuit:?}: no output node {name:?} (outputs: {known:?})")]
    UnknownOutput {
        /// The circuit's name.
        circuit: String,
        /// The requested output id.
        name: String,
        /// The output ids that exist.
        known: Vec<String>,
    },
    /// A snapshot was requested while the executor does not track snapshots.
    #[error(
        "circuit {circuit:?}: no snapshot of output {name:?}: snapshot tracking is switched off (Executor::track_snapshots)"
    )]
    SnapshotsNotTracked {
        /// The circuit's name.
        circuit: String,
        /// The requested output.
        name: String,
    },
    /// The differential-dataflow backend's workers could not be started or stopped
    /// (a bad worker configuration, an unreachable or busy address, a worker thread that
    /// ended early).
    #[error("circuit {circuit:?}: dataflow workers: {reason}")]
    Workers {
        /// The circuit's name.
        circuit: String,
        /// What went wrong.
        reason: String,
    },
    /// User logic failed while a node ran; the step was aborted and all state rolled back.
    #[error("circuit {circuit:?}: node {node:?} ({kind}) failed: {source}")]
    Operator {
        /// The circuit's name.
        circuit: String,
        /// The failing node.
        node: String,
        /// Its operator kind.
        kind: &'static str,
        /// The user logic's error.
        #[source]
        source: UserError,
    },
}

impl Error {
    /// A transform refusal.
    pub(crate) fn transform(transform: &'static str, reason: impl Into<String>) -> Self {
        Error::Transform {
            transform,
            reason: reason.into(),
        }
    }
}
