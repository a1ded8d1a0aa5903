//! A small exponential backoff with jitter, shared by watch re-lists and target retries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Exponential backoff: `initial`, doubling up to `max`, with up to 20 % random jitter
/// subtracted; [`reset`](Backoff::reset) after a success.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Default for Backoff {
    /// 1 s doubling to 30 s (the reference's reconnect policy).
    fn default() -> Self {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(30))
    }
}

impl Backoff {
    /// A backoff from `initial` doubling up to `max`.
    #[must_use]
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            next: initial,
        }
    }

    /// The delay to wait now; the following one doubles (capped).
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // up to 20 % less, so that retries of many keys spread out
        base - base.mul_f64(f64::from(nanos % 1000) / 5000.0)
    }

    /// Back to the initial delay.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let d: Vec<Duration> = (0..4).map(|_| b.next_delay()).collect();
        assert!(d[0] <= Duration::from_millis(100) && d[0] >= Duration::from_millis(80));
        assert!(d[1] <= Duration::from_millis(200) && d[1] >= Duration::from_millis(160));
        assert!(d[2] <= Duration::from_millis(350) && d[3] <= Duration::from_millis(350));
        assert!(d[3] >= Duration::from_millis(280));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
