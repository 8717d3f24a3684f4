//! Operational counters for the console's overview (`GET /v1/stats`): events accepted and
//! refused by code, process messages sent, deliveries by outcome, in five-minute buckets.
//!
//! Counting must not cost a write per event (the ingress's budget is one queue send and
//! one read), so each function instance adds to a [`Recorder`] in memory and writes its
//! counts at most once per interval (Lambda: 10 s), inside a handler before it answers
//! (nothing runs after a Lambda's response). The figures are therefore up to one interval
//! late per instance, and an instance reclaimed while idle loses at most its last interval
//! of counts: they are operational figures, not a ledger (docs/decisions.md).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;

/// The width of a bucket, in seconds.
pub const BUCKET_SECS: i64 = 300;
/// How long buckets are kept: the longest window shown, and a little more.
pub const KEEP_SECS: i64 = 2 * 24 * 3600;

/// Counter names.
pub const EVENTS_ACCEPTED: &str = "events.accepted";
/// Followed by the error code: `events.refused.SIGNATURE_INVALID`.
pub const EVENTS_REFUSED: &str = "events.refused.";
pub const PROCESS_MESSAGES: &str = "process.messages";
pub const DELIVERIES_CREATED: &str = "deliveries.created";
pub const DELIVERIES_SUCCEEDED: &str = "deliveries.succeeded";
pub const DELIVERIES_FAILED: &str = "deliveries.failed";
pub const DELIVERIES_RETRIED: &str = "deliveries.retried";
/// Followed by the provider: `signature.failed.GITHUB`.
pub const SIGNATURE_FAILED: &str = "signature.failed.";
pub const CONNECTORS_DISABLED: &str = "connectors.disabled";

/// Counts per bucket start (Unix seconds, a multiple of [`BUCKET_SECS`]), then per name.
pub type Buckets = BTreeMap<i64, BTreeMap<String, u64>>;

/// Where counts are kept: the registry's store on either backend.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Adds each count to the bucket's stored one.
    async fn add_stats(&self, bucket: i64, counts: &BTreeMap<String, u64>) -> Result<(), StoreError>;
    /// Every bucket from `since` (a bucket start) on.
    async fn read_stats(&self, since: i64) -> Result<Buckets, StoreError>;
}

pub fn bucket_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(BUCKET_SECS) * BUCKET_SECS
}

/// One function instance's counts not yet written.
pub struct Recorder {
    store: Arc<dyn StatsStore>,
    interval: Duration,
    /// Whether each flush also prints CloudWatch EMF records (in Lambda).
    emf: bool,
    state: Mutex<Pending>,
}

struct Pending {
    last_flush: Instant,
    counts: Buckets,
    /// Delivery latencies since the last flush, for the EMF `DeliveryLatency` metric (the
    /// first [`MAX_LATENCIES`]: a sample, not every one).
    latencies_ms: Vec<u64>,
}

const MAX_LATENCIES: usize = 1000;

/// How long a flush may hold an answer: counts are not worth a provider's timeout.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

impl Recorder {
    pub fn new(store: Arc<dyn StatsStore>, interval: Duration) -> Self {
        let emf = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let state =
            Mutex::new(Pending { last_flush: Instant::now(), counts: BTreeMap::new(), latencies_ms: Vec::new() });
        Self { store, interval, emf, state }
    }

    /// One delivery attempt's latency.
    pub fn observe_latency(&self, ms: u64) {
        let mut s = self.state.lock().expect("stats");
        if s.latencies_ms.len() < MAX_LATENCIES {
            s.latencies_ms.push(ms);
        }
    }

    pub fn add(&self, name: &str, n: u64, at: DateTime<Utc>) {
        if n == 0 {
            return;
        }
        let mut s = self.state.lock().expect("stats");
        *s.counts.entry(bucket_of(at)).or_default().entry(name.to_owned()).or_default() += n;
    }

    /// A delivery made and settled in one call (an immediate invocation, a flow step's call).
    pub fn count_immediate(&self, succeeded: bool, at: DateTime<Utc>) {
        self.add(DELIVERIES_CREATED, 1, at);
        self.add(if succeeded { DELIVERIES_SUCCEEDED } else { DELIVERIES_FAILED }, 1, at);
    }

    /// Writes the counts when the interval has passed since the last write.
    pub async fn flush_if_due(&self) {
        let due = {
            let s = self.state.lock().expect("stats");
            !s.counts.is_empty() && s.last_flush.elapsed() >= self.interval
        };
        if due {
            self.flush().await;
        }
    }

    /// Writes every pending count (one write per bucket, normally one); what could not be
    /// written stays pending for the next flush.
    pub async fn flush(&self) {
        let (counts, latencies) = {
            let mut s = self.state.lock().expect("stats");
            s.last_flush = Instant::now();
            (std::mem::take(&mut s.counts), std::mem::take(&mut s.latencies_ms))
        };
        let mut failed = Buckets::new();
        // What was written is reported to CloudWatch too (once: what failed stays pending).
        let mut written = BTreeMap::<String, u64>::new();
        for (bucket, names) in counts {
            match tokio::time::timeout(FLUSH_TIMEOUT, self.store.add_stats(bucket, &names)).await {
                Ok(Ok(())) => {
                    for (name, n) in names {
                        *written.entry(name).or_default() += n;
                    }
                }
                outcome => {
                    let error = match outcome {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".into(),
                    };
                    tracing::warn!(%error, bucket, "could not write counters; kept for the next flush");
                    failed.insert(bucket, names);
                }
            }
        }
        if self.emf {
            for line in crate::metrics::emf_lines(&written, &latencies, chrono::Utc::now().timestamp_millis()) {
                println!("{line}");
            }
        }
        if !failed.is_empty() {
            let mut s = self.state.lock().expect("stats");
            merge(&mut s.counts, failed);
        }
    }

    /// A recorder over the same store that writes at another interval (zero: on every
    /// flush, as the tests do to read the figures at once).
    pub fn with_interval(&self, interval: Duration) -> Self {
        Self { emf: self.emf, ..Self::new(self.store.clone(), interval) }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The counts not yet written (the local runner adds them to what it reads).
    pub fn pending(&self) -> Buckets {
        self.state.lock().expect("stats").counts.clone()
    }

    /// Stored and pending counts from `since` on.
    pub async fn read(&self, since: i64) -> Result<Buckets, StoreError> {
        let mut stored = self.store.read_stats(since).await?;
        merge(&mut stored, self.pending().into_iter().filter(|(b, _)| *b >= since).collect());
        Ok(stored)
    }
}

fn merge(into: &mut Buckets, from: Buckets) {
    for (bucket, names) in from {
        let slot = into.entry(bucket).or_default();
        for (name, n) in names {
            *slot.entry(name).or_default() += n;
        }
    }
}

/// One window of the overview.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsWindow {
    pub events_accepted: u64,
    /// Refused events by error code.
    pub events_refused: BTreeMap<String, u64>,
    pub events_refused_total: u64,
    pub process_messages_sent: u64,
    pub deliveries_succeeded: u64,
    pub deliveries_failed: u64,
    pub deliveries_retried: u64,
    /// Deliveries created in the window that have neither succeeded nor failed yet.
    pub deliveries_pending: u64,
}

impl StatsWindow {
    /// Sums the buckets from `since` on.
    pub fn sum(buckets: &Buckets, since: i64) -> Self {
        let mut w = StatsWindow::default();
        let mut created = 0;
        for names in buckets.range(since..).map(|(_, n)| n) {
            for (name, &n) in names {
                match name.as_str() {
                    EVENTS_ACCEPTED => w.events_accepted += n,
                    PROCESS_MESSAGES => w.process_messages_sent += n,
                    DELIVERIES_CREATED => created += n,
                    DELIVERIES_SUCCEEDED => w.deliveries_succeeded += n,
                    DELIVERIES_FAILED => w.deliveries_failed += n,
                    DELIVERIES_RETRIED => w.deliveries_retried += n,
                    other => {
                        if let Some(code) = other.strip_prefix(EVENTS_REFUSED) {
                            *w.events_refused.entry(code.to_owned()).or_default() += n;
                            w.events_refused_total += n;
                        }
                    }
                }
            }
        }
        w.deliveries_pending = created.saturating_sub(w.deliveries_succeeded + w.deliveries_failed);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_sum_their_buckets_and_refusals_by_code() {
        let now = 10_000 * BUCKET_SECS;
        let mut b = Buckets::new();
        b.insert(now - 2 * 3600, BTreeMap::from([(EVENTS_ACCEPTED.into(), 5)]));
        b.insert(
            now,
            BTreeMap::from([
                (EVENTS_ACCEPTED.into(), 2),
                (format!("{EVENTS_REFUSED}SIGNATURE_INVALID"), 3),
                (DELIVERIES_CREATED.into(), 4),
                (DELIVERIES_SUCCEEDED.into(), 1),
            ]),
        );
        let hour = StatsWindow::sum(&b, now - 3600);
        assert_eq!(hour.events_accepted, 2);
        assert_eq!(hour.events_refused.get("SIGNATURE_INVALID"), Some(&3));
        assert_eq!(hour.events_refused_total, 3);
        assert_eq!(hour.deliveries_pending, 3);
        assert_eq!(StatsWindow::sum(&b, now - 86_400).events_accepted, 7);
    }

    #[test]
    fn buckets_start_on_five_minutes() {
        let at = DateTime::from_timestamp(1_700_000_123, 0).unwrap();
        assert_eq!(bucket_of(at) % BUCKET_SECS, 0);
        assert!(at.timestamp() - bucket_of(at) < BUCKET_SECS);
    }
}
