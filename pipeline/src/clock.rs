//! The step clock: the frozen `@now` of a compiled pipeline.
//!
//! Every `@now` evaluated within one step must see the same timestamp (RFC 3339, UTC,
//! seconds). A [`Clock`] is a shared cell that the operators of a compiled pipeline read —
//! only those whose expression is time-variant, and only once per evaluation — and that the
//! runner sets before each step. Cloning a clock shares the cell.
//!
//! ```
//! use deltaloop_pipeline::Clock;
//! let clock = Clock::new();
//! assert_eq!(clock.now(), None); // unset: `@now` reads the wall clock
//! clock.set("2024-01-02T03:04:05Z");
//! assert_eq!(clock.now().as_deref(), Some("2024-01-02T03:04:05Z"));
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::value::Str;

/// A shared, settable "now" for the operators of one compiled pipeline.
#[derive(Clone, Default)]
pub struct Clock {
    now: Arc<RwLock<Option<Str>>>,
    /// The second [`tick`](Clock::tick) last formatted, and its text: a step rate of many
    /// thousands per second formats the time once per second, not once per step.
    last_tick: Arc<Mutex<Option<(u64, Str)>>>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({:?})", self.now())
    }
}

impl Clock {
    /// An unset clock (`@now` falls back to the wall clock at each evaluation).
    #[must_use]
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Freezes `now` (an RFC 3339 timestamp) for the following evaluations.
    pub fn set(&self, now: impl Into<Str>) {
        let now = now.into();
        match self.now.write() {
            Ok(mut slot) => *slot = Some(now),
            Err(poisoned) => *poisoned.into_inner() = Some(now),
        }
    }

    /// Freezes the current wall-clock time (UTC, second resolution) and returns it.
    pub fn tick(&self) -> Str {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut last = match self.last_tick.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = match &*last {
            Some((at, text)) if *at == secs => Arc::clone(text),
            _ => {
                let text: Str =
                    crate::expr::format_rfc3339(i64::try_from(secs).unwrap_or(i64::MAX)).into();
                *last = Some((secs, Arc::clone(&text)));
                text
            }
        };
        drop(last);
        self.set(Arc::clone(&now));
        now
    }

    /// Unfreezes the clock.
    pub fn clear(&self) {
        match self.now.write() {
            Ok(mut slot) => *slot = None,
            Err(poisoned) => *poisoned.into_inner() = None,
        }
    }

    /// The frozen time, if set.
    #[must_use]
    pub fn now(&self) -> Option<Str> {
        match self.now.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_within_one_second_should_share_their_text() {
        let clock = Clock::new();
        let a = clock.tick();
        let b = clock.tick();
        // Across a second boundary the texts differ; within one, the text is reused.
        assert!(Arc::ptr_eq(&a, &b) || a != b, "{a} {b}");
        assert_eq!(clock.now().as_deref(), Some(&*b));
        assert!(
            b.ends_with('Z') && b.len() == "2026-11-22T17:00:00Z".len(),
            "{b}"
        );
    }
}
