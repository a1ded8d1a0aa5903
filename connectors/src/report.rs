//! Error reporting: components report failures to a channel instead of crashing.

use tokio::sync::mpsc;

/// One reported failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorReport {
    /// The component (`<controller>/source/Pod`, `<controller>/target/Endpoints`, …).
    pub origin: String,
    /// What went wrong.
    pub message: String,
}

/// A component's handle for reporting errors: sends without blocking to an optional
/// channel (a full channel drops the report), and always logs.
#[derive(Clone, Debug)]
pub struct Reporter {
    origin: String,
    tx: Option<mpsc::Sender<ErrorReport>>,
}

impl Reporter {
    /// A reporter for `origin` sending to `tx` (or only logging when `None`).
    #[must_use]
    pub fn new(origin: impl Into<String>, tx: Option<mpsc::Sender<ErrorReport>>) -> Reporter {
        Reporter {
            origin: origin.into(),
            tx,
        }
    }

    /// A reporter that only logs.
    #[must_use]
    pub fn log_only(origin: impl Into<String>) -> Reporter {
        Reporter::new(origin, None)
    }

    /// The component name.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A reporter for a sub-component `<origin>/<name>` on the same channel.
    #[must_use]
    pub fn child(&self, name: &str) -> Reporter {
        Reporter::new(format!("{}/{name}", self.origin), self.tx.clone())
    }

    /// Reports `message`.
    pub fn report(&self, message: impl std::fmt::Display) {
        let message = message.to_string();
        tracing::warn!(origin = %self.origin, "{message}");
        if let Some(tx) = &self.tx
            && tx
                .try_send(ErrorReport {
                    origin: self.origin.clone(),
                    message,
                })
                .is_err()
        {
            tracing::debug!(origin = %self.origin, "error channel full or closed: report dropped");
        }
    }
}
