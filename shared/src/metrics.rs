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

/// One CloudWatch Embedded Metric Format record per metric and dimension value, from the
/// counters a [`crate::stats::Recorder`] writes (their names in [`crate::stats`]) and the
/// delivery latencies it saw. CloudWatch Logs turns each line into metrics in the
/// `hookbridge` namespace without an API call; the template's alarms and dashboard read them.
pub fn emf_lines(counts: &BTreeMap<String, u64>, latencies_ms: &[u64], timestamp_ms: i64) -> Vec<String> {
    use crate::stats;
    let line = |metric: &str, unit: &str, dimension: Option<(&str, &str)>, value: serde_json::Value| {
        let mut record = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": "hookbridge",
                    "Dimensions": [dimension.map(|(d, _)| vec![d]).unwrap_or_default()],
                    "Metrics": [{"Name": metric, "Unit": unit}]
                }]
            }
        });
        record[metric] = value;
        if let Some((d, v)) = dimension {
            record[d] = serde_json::Value::from(v);
        }
        record.to_string()
    };
    let mut out = Vec::new();
    for (name, &n) in counts {
        let n = serde_json::Value::from(n);
        let (metric, dimension) = match name.as_str() {
            stats::EVENTS_ACCEPTED => ("EventsAccepted", None),
            stats::PROCESS_MESSAGES => ("ProcessMessagesSent", None),
            stats::DELIVERIES_CREATED => ("DeliveriesCreated", None),
            stats::DELIVERIES_SUCCEEDED => ("Deliveries", Some(("Outcome", "Succeeded"))),
            stats::DELIVERIES_FAILED => ("Deliveries", Some(("Outcome", "Failed"))),
            stats::DELIVERIES_RETRIED => ("Deliveries", Some(("Outcome", "Retried"))),
            stats::CONNECTORS_DISABLED => ("ConnectorsDisabled", None),
            other => match (other.strip_prefix(stats::EVENTS_REFUSED), other.strip_prefix(stats::SIGNATURE_FAILED)) {
                (Some(code), _) => ("EventsRefused", Some(("Code", code))),
                (_, Some(provider)) => ("SignatureFailures", Some(("Provider", provider))),
                _ => continue,
            },
        };
        out.push(line(metric, "Count", dimension, n));
    }
    // EMF takes at most 100 values per metric and record.
    for chunk in latencies_ms.chunks(100) {
        out.push(line("DeliveryLatency", "Milliseconds", None, serde_json::Value::from(chunk.to_vec())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record is one CloudWatch can read: its metric is declared with a unit, its
    /// value is at the top level, and each declared dimension has its value.
    #[test]
    fn emf_records_declare_what_they_carry() {
        let counts = BTreeMap::from([
            ("events.accepted".to_owned(), 3),
            ("events.refused.SIGNATURE_INVALID".to_owned(), 2),
            ("signature.failed.GITHUB".to_owned(), 2),
            ("deliveries.failed".to_owned(), 1),
            ("connectors.disabled".to_owned(), 1),
            ("something.else".to_owned(), 9),
        ]);
        let latencies: Vec<u64> = (0..150).collect();
        let lines = emf_lines(&counts, &latencies, 1_700_000_000_000);
        assert_eq!(lines.len(), 5 + 2, "{lines:#?}");
        let mut seen = Vec::new();
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let decl = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(decl["Namespace"], "hookbridge");
            let name = decl["Metrics"][0]["Name"].as_str().unwrap();
            assert!(!v[name].is_null(), "{l}");
            for d in decl["Dimensions"][0].as_array().unwrap() {
                assert!(v[d.as_str().unwrap()].is_string(), "{l}");
            }
            seen.push((name.to_owned(), v[name].clone()));
        }
        assert!(seen.contains(&("EventsRefused".into(), 2.into())));
        assert!(seen.contains(&("Deliveries".into(), 1.into())));
        let latency: Vec<_> = seen.iter().filter(|(n, _)| n == "DeliveryLatency").collect();
        assert_eq!(latency[0].1.as_array().unwrap().len(), 100);
        assert_eq!(latency[1].1.as_array().unwrap().len(), 50);
    }

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
