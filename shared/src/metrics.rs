//! Counters for what must not flood the logs: authentication failures are counted per
//! provider and reported at most once per interval, as one log line and one CloudWatch
//! Embedded Metric Format record (which CloudWatch turns into the `hookbridge/AuthFailures`
//! metric without an API call).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Authentication failures since the last report.
pub struct AuthFailures {
    interval: Duration,
    state: Mutex<State>,
}

struct State {
    since: Instant,
    counts: BTreeMap<&'static str, u64>,
}

impl AuthFailures {
    pub fn new(interval: Duration) -> Self {
        Self { interval, state: Mutex::new(State { since: Instant::now(), counts: BTreeMap::new() }) }
    }

    /// Counts one failure; returns the counts to report when the interval has passed.
    pub fn record_at(&self, kind: &'static str, now: Instant) -> Option<BTreeMap<&'static str, u64>> {
        let mut s = self.state.lock().expect("metrics");
        *s.counts.entry(kind).or_default() += 1;
        if now.duration_since(s.since) < self.interval {
            return None;
        }
        s.since = now;
        Some(std::mem::take(&mut s.counts))
    }

    /// Counts one failure and, at most once per interval, reports them.
    pub fn record(&self, kind: &'static str) {
        if let Some(counts) = self.record_at(kind, Instant::now()) {
            report(&counts);
        }
    }
}

fn report(counts: &BTreeMap<&'static str, u64>) {
    let total: u64 = counts.values().sum();
    tracing::warn!(total, counts = ?counts, "authentication failures since the last report");
    for (kind, n) in counts {
        // Embedded Metric Format: CloudWatch Logs extracts the metric from this line.
        println!(
            "{}",
            serde_json::json!({
                "_aws": {
                    "Timestamp": chrono::Utc::now().timestamp_millis(),
                    "CloudWatchMetrics": [{
                        "Namespace": "hookbridge",
                        "Dimensions": [["Kind"]],
                        "Metrics": [{"Name": "AuthFailures", "Unit": "Count"}]
                    }]
                },
                "Kind": kind,
                "AuthFailures": n
            })
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_at_most_once_per_interval_with_everything_counted() {
        let m = AuthFailures::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert!(m.record_at("api_key", t0).is_none());
        assert!(m.record_at("signature", t0 + Duration::from_millis(500)).is_none());
        let r = m.record_at("signature", t0 + Duration::from_millis(1001)).unwrap();
        assert_eq!(r.get("api_key"), Some(&1));
        assert_eq!(r.get("signature"), Some(&2));
        // The next report starts from zero.
        assert!(m.record_at("api_key", t0 + Duration::from_millis(1500)).is_none());
        let r = m.record_at("api_key", t0 + Duration::from_millis(2100)).unwrap();
        assert_eq!(r.get("api_key"), Some(&2));
        assert_eq!(r.get("signature"), None);
    }
}
