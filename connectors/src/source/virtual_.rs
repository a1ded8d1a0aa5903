//! Virtual sources: trigger documents that start (or periodically re-run) a pipeline.
//!
//! A trigger is `{type, kind, name, namespace?, triggeredAt}` with `triggeredAt` an RFC 3339
//! UTC timestamp with nanoseconds. [`OneShot`] emits one trigger at start; [`Periodic`]
//! emits a new one every period and **retracts the previous one** in the same delta
//! (`−last +new`), so the pipeline always holds exactly one trigger.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deltaloop_engine::ZSet;
use deltaloop_pipeline::Value;

use crate::source::DeltaSender;

/// Formats `t` as RFC 3339 UTC with nanoseconds (`2026-01-02T03:04:05.123456789Z`).
#[must_use]
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil-from-days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// The identity of the trigger documents a virtual source emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// The kind (the source's topic).
    pub kind: String,
    /// The trigger's name.
    pub name: String,
    /// An optional namespace.
    pub namespace: Option<String>,
}

impl Trigger {
    /// The trigger document of source type `ty` at time `at`.
    #[must_use]
    pub fn document(&self, ty: &str, at: SystemTime) -> Value {
        let mut fields = vec![
            ("type", Value::from(ty)),
            ("kind", Value::from(self.kind.as_str())),
            ("name", Value::from(self.name.as_str())),
            ("triggeredAt", Value::from(rfc3339_nanos(at))),
        ];
        if let Some(ns) = &self.namespace {
            fields.push(("namespace", Value::from(ns.as_str())));
        }
        Value::map(fields)
    }
}

/// Emits one trigger document at start (default name `one-shot-trigger`).
#[derive(Clone, Debug)]
pub struct OneShot {
    trigger: Trigger,
}

impl OneShot {
    /// A one-shot source of `kind`.
    #[must_use]
    pub fn new(kind: &str) -> OneShot {
        OneShot {
            trigger: Trigger {
                kind: kind.to_owned(),
                name: "one-shot-trigger".to_owned(),
                namespace: None,
            },
        }
    }

    /// The same source with another trigger name and namespace.
    #[must_use]
    pub fn named(mut self, name: &str, namespace: Option<&str>) -> OneShot {
        self.trigger.name = name.to_owned();
        self.trigger.namespace = namespace.map(str::to_owned);
        self
    }

    /// Sends the trigger once.
    pub async fn run(self, out: DeltaSender) {
        let mut z = ZSet::new();
        z.insert(self.trigger.document("OneShot", SystemTime::now()), 1);
        // A closed channel means the controller stopped: nothing to do.
        let _ = out.send(z).await;
    }
}

/// Emits a trigger every `period`, retracting the previous one (default name
/// `periodic-trigger`). The first trigger is sent one period after start.
#[derive(Clone, Debug)]
pub struct Periodic {
    trigger: Trigger,
    period: Duration,
}

impl Periodic {
    /// A periodic source of `kind`.
    #[must_use]
    pub fn new(kind: &str, period: Duration) -> Periodic {
        Periodic {
            trigger: Trigger {
                kind: kind.to_owned(),
                name: "periodic-trigger".to_owned(),
                namespace: None,
            },
            period: period.max(Duration::from_millis(1)),
        }
    }

    /// The same source with another trigger name and namespace.
    #[must_use]
    pub fn named(mut self, name: &str, namespace: Option<&str>) -> Periodic {
        self.trigger.name = name.to_owned();
        self.trigger.namespace = namespace.map(str::to_owned);
        self
    }

    /// Runs until `out` closes.
    pub async fn run(self, out: DeltaSender) {
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + self.period, self.period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Option<Value> = None;
        loop {
            tokio::select! {
                () = out.closed() => return,
                _ = ticker.tick() => {}
            }
            let doc = self.trigger.document("Periodic", SystemTime::now());
            let mut z = ZSet::new();
            if let Some(prev) = last.replace(doc.clone()) {
                z.insert(prev, -1);
            }
            z.insert(doc, 1);
            if out.send(z).await.is_err() {
                return;
            }
        }
    }
}

/// Parses a period `<n>(ms|s|m|h)` (e.g. `500ms`, `10s`, `5m`).
///
/// # Errors
/// A message when the text has another shape.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("period {text:?}: expected <n>(ms|s|m|h)"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(format!(
                "period {text:?}: unknown unit {unit:?} (ms, s, m or h)"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(rfc3339_nanos(t), "2023-11-14T22:13:20.000000005Z");
        assert_eq!(rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(rfc3339_nanos(leap).starts_with("2000-02-29T00:00:00"));
    }

    #[test]
    fn periods_parse() {
        assert_eq!(parse_period("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_period("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_period("2d").is_err());
        assert!(parse_period("x").is_err());
    }

    #[tokio::test]
    async fn one_shot_sends_one_trigger() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        OneShot::new("Tick").run(tx).await;
        let z = rx.recv().await.unwrap();
        let (doc, w) = z.iter().next().unwrap();
        assert_eq!(w, 1);
        assert_eq!(
            doc.get("name").and_then(Value::as_str),
            Some("one-shot-trigger")
        );
        assert_eq!(doc.get("type").and_then(Value::as_str), Some("OneShot"));
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn periodic_retracts_its_previous_trigger() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let task = tokio::spawn(Periodic::new("Tick", Duration::from_millis(5)).run(tx));
        let first = rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        let third = rx.recv().await.unwrap();
        drop(rx);
        let _ = task.await;
        assert_eq!(first.len(), 1);
        let mut integral = first.clone();
        integral.add_assign(&second);
        integral.add_assign(&third);
        // Always exactly one live trigger: the latest.
        assert_eq!(integral.len(), 1);
        assert_eq!(integral.iter().next().map(|(_, w)| w), Some(1));
        let (old, _) = first.iter().next().unwrap();
        assert_eq!(second.weight(old), -1);
    }
}
