//! `@now`: the frozen step time, else the current UTC time in RFC 3339 (seconds).

use std::time::{SystemTime, UNIX_EPOCH};

use super::EvalContext;
use crate::value::Value;

pub(super) fn now(ctx: &EvalContext<'_>) -> Value {
    match ctx.now() {
        Some(now) => Value::from(now),
        None => {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Value::from(format_rfc3339(i64::try_from(secs).unwrap_or(i64::MAX)))
        }
    }
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC): the form of
/// `@now` and of Kubernetes timestamps.
///
/// ```
/// assert_eq!(deltaloop_pipeline::format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
/// ```
#[must_use]
pub fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_should_format_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_767_323_045), "2026-01-02T03:04:05Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
