//! Recording an attempt and deciding what follows: done, retry later (a delayed message),
//! dead letter, or (410) disable the connector. The decision itself is [`decide`], pure.

use super::intake::message;
use super::*;
use crate::stats;

impl Dispatcher {
    /// Records an attempt's outcome and decides what follows: done, retry later, dead
    /// letter, or (410) disable the connector.
    pub(super) async fn record(
        &self,
        connector: &Connector,
        mut record: DeliveryRecord,
        resp: OutboundResponse,
    ) -> Result<(), StoreError> {
        let now = self.backend.clock.now();
        self.backend.stats.observe_latency(resp.latency.as_millis() as u64);
        record.attempts.push(attempt_of(&resp, now));
        record.updated_at = now;
        let succeeded = resp.status.is_some_and(|s| (200..300).contains(&s));
        let recorded = self.settle(connector, record, resp, now).await;
        // After the attempt is recorded, and never failing it: a health write that fails
        // must not make the queue call the endpoint again (review M5).
        if let Err(e) = self.track_health(connector, succeeded, now).await {
            tracing::error!(connector_id = %connector.id, error = %e, "could not track the connector's health");
        }
        recorded
    }

    /// What follows an attempt: done, retry later, dead letter, or (410) disable.
    pub(super) async fn settle(
        &self,
        connector: &Connector,
        mut record: DeliveryRecord,
        resp: OutboundResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let schedule = self.schedule(connector);
        let decision = decide(&resp, record.attempts.len(), &schedule);
        let counter = match decision {
            Decision::Done => stats::DELIVERIES_SUCCEEDED,
            Decision::RetryAfter(_) => stats::DELIVERIES_RETRIED,
            Decision::Gone | Decision::Failed { .. } => stats::DELIVERIES_FAILED,
        };
        self.backend.stats.add(counter, 1, now);
        match decision {
            Decision::Done => {
                record.status = DeliveryStatus::Succeeded;
                record.next_attempt_at = None;
                self.save_attempt(&record).await.map(|_| ())
            }
            Decision::Gone => {
                record.status = DeliveryStatus::Failed;
                record.next_attempt_at = None;
                self.save_attempt(&record).await?;
                if let Err(e) = self.disable(connector, "the endpoint answered 410 Gone").await {
                    tracing::error!(connector_id = %connector.id, error = %e, "could not disable a gone connector");
                }
                Ok(())
            }
            Decision::RetryAfter(delay) => {
                let delay = jitter(delay);
                let at = chrono::Duration::from_std(delay)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(now + chrono::Duration::days(14));
                record.next_attempt_at = Some(at);
                if !self.save_attempt(&record).await? {
                    return Ok(()); // another attempt ran meanwhile: its chain goes on
                }
                self.send(&[message(record.id, Some(at), delay)]).await
            }
            Decision::Failed { exhausted } => {
                record.status = DeliveryStatus::Failed;
                record.next_attempt_at = None;
                if self.save_attempt(&record).await? && exhausted {
                    self.dead_letter(&record).await?;
                }
                Ok(())
            }
        }
    }

    /// Exhausted: a copy goes to the dead-letter queue for operators and alarms.
    pub(super) async fn dead_letter(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        {
            // Exhausted: a copy goes to the dead-letter queue for operators and alarms.
            let body = serde_json::to_string(&DeliveryMessage {
                kind: DeliveryMessageType::Delivery,
                delivery_id: record.id,
                not_before: None,
            })
            .map_err(StoreError::backend)?;
            self.backend.queues.send_batch(&self.queues.dead_letter, &[OutgoingMessage::new(body)]).await?;
        }
        Ok(())
    }

    /// Stores a record whose last attempt is this call's. When another attempt of the same
    /// delivery was recorded meanwhile (two messages for one delivery), both stay in the
    /// log: ours is added to the stored record and a success wins. `Ok(true)` when ours was
    /// stored as decided; `Ok(false)` when it was merged (the other chain decides what
    /// follows).
    pub(super) async fn save_attempt(&self, record: &DeliveryRecord) -> Result<bool, StoreError> {
        let previous = record.attempts.len().saturating_sub(1);
        match self.backend.deliveries.update_delivery(record, previous).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        for _ in 0..5 {
            let Some(mut stored) = self.backend.deliveries.get_delivery(&record.id).await? else { return Ok(false) };
            let base = stored.attempts.len();
            if let Some(ours) = record.attempts.last() {
                stored.attempts.push(ours.clone());
                stored.attempts.sort_by_key(|a| a.at);
            }
            if record.status == DeliveryStatus::Succeeded {
                stored.status = DeliveryStatus::Succeeded;
                stored.next_attempt_at = None;
            }
            stored.updated_at = stored.updated_at.max(record.updated_at);
            match self.backend.deliveries.update_delivery(&stored, base).await {
                Ok(()) => return Ok(false),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(Conflict::VersionMismatch))
    }

    /// Remembers when a connector started failing; one failing longer than
    /// `disable_after` without a success is disabled.
    pub(super) async fn track_health(
        &self,
        connector: &Connector,
        success: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let known = self.caches.health.lock().expect("health").get(&connector.id).copied();
        let since = match (success, known) {
            (true, Some(None)) => return Ok(()), // healthy, known healthy: nothing to write
            (false, Some(Some(since))) => Some(since), // failing, start already recorded
            _ => self.backend.connectors.record_outcome(&connector.id, success, now).await?,
        };
        self.caches.health.lock().expect("health").insert(connector.id, since);
        if let Some(since) = since {
            let failing = (now - since).to_std().unwrap_or_default();
            if failing >= self.config.disable_after {
                let reason = format!("failing without a success since {}", since.to_rfc3339());
                self.disable(connector, &reason).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn disable(&self, connector: &Connector, reason: &str) -> Result<(), StoreError> {
        let Some(mut current) = self.backend.connectors.get_connector(&connector.id).await? else { return Ok(()) };
        if !current.enabled {
            return Ok(());
        }
        current.enabled = false;
        current.disabled_reason = Some(reason.to_owned());
        current.version += 1;
        current.updated_at = self.backend.clock.now();
        match self.backend.connectors.update_connector(&current).await {
            Ok(()) | Err(StoreError::Conflict(_)) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        self.invalidate();
        // The operational event: a structured log line operators alert on.
        tracing::warn!(event = "connector.disabled", connector_id = %connector.id, reason, "connector disabled");
        self.backend.stats.add(crate::stats::CONNECTORS_DISABLED, 1, current.updated_at);
        Ok(())
    }

    pub(super) fn schedule(&self, connector: &Connector) -> Vec<Duration> {
        match &self.config.schedule_override {
            Some(s) => s.clone(),
            // Capped: connectors saved before the cap existed may hold any number.
            None => {
                connector.retry.schedule_secs.iter().map(|s| Duration::from_secs(*s).min(MAX_RETRY_DELAY)).collect()
            }
        }
    }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 2xx: delivered.
    Done,
    /// 410: the endpoint is gone; the connector is disabled.
    Gone,
    /// Retryable (no answer, 408, 429, 5xx) with retries left: wait this long (before jitter).
    RetryAfter(Duration),
    /// Not retryable, or (`exhausted`) retryable with no retry left.
    Failed { exhausted: bool },
}

/// The retry decision, from the answer, the attempts made (this one included) and the
/// schedule: pure, so every branch is tested on its own.
pub fn decide(resp: &OutboundResponse, attempts_made: usize, schedule: &[Duration]) -> Decision {
    let status = resp.status;
    if status.is_some_and(|s| (200..300).contains(&s)) {
        return Decision::Done;
    }
    if status == Some(410) {
        return Decision::Gone;
    }
    let retryable = !resp.blocked && status.is_none_or(|s| s == 408 || s == 429 || s >= 500);
    match attempts_made.checked_sub(1).and_then(|i| schedule.get(i)) {
        Some(planned) if retryable => Decision::RetryAfter(next_delay(*planned, retry_after(resp))),
        _ => Decision::Failed { exhausted: retryable },
    }
}

/// The wait before the next attempt: the schedule's, or the endpoint's `Retry-After`
/// within [scheduled, 2 x scheduled] (so a receiver can slow us down, but neither stall a
/// delivery for days nor hurry it).
pub fn next_delay(planned: Duration, retry_after: Option<Duration>) -> Duration {
    let planned = planned.min(MAX_RETRY_DELAY);
    retry_after.map_or(planned, |ra| ra.clamp(planned, planned.saturating_mul(2)))
}

/// ±20% so retries of many deliveries do not arrive together.
pub(super) fn jitter(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.8..=1.2))
}

/// `Retry-After` in seconds (an HTTP date is not honoured; the schedule applies).
pub(super) fn retry_after(resp: &OutboundResponse) -> Option<Duration> {
    resp.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub(super) fn attempt_of(resp: &OutboundResponse, at: DateTime<Utc>) -> DeliveryAttempt {
    DeliveryAttempt {
        at,
        status: resp.status,
        latency_ms: resp.latency.as_millis() as u64,
        error: resp.error.clone(),
        response: (!resp.body.is_empty()).then(|| resp.body.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(next_delay(s(300), None), s(300));
        assert_eq!(next_delay(s(300), Some(s(450))), s(450));
        assert_eq!(next_delay(s(300), Some(s(5))), s(300), "not sooner than scheduled");
        assert_eq!(next_delay(s(300), Some(s(86_400))), s(600), "at most twice the schedule");
    }

    fn answer(status: Option<u16>, headers: &[(&str, &str)], blocked: bool) -> OutboundResponse {
        OutboundResponse {
            status,
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            body: String::new(),
            error: status.is_none().then(|| "timed out".to_owned()),
            latency: Duration::ZERO,
            blocked,
        }
    }

    #[test]
    fn the_retry_decision() {
        let s = Duration::from_secs;
        let schedule = [s(5), s(300)];
        assert_eq!(decide(&answer(Some(204), &[], false), 1, &schedule), Decision::Done);
        assert_eq!(decide(&answer(Some(410), &[], false), 1, &schedule), Decision::Gone);
        for retryable in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert_eq!(
                decide(&answer(retryable, &[], false), 1, &schedule),
                Decision::RetryAfter(s(5)),
                "{retryable:?}"
            );
            assert_eq!(decide(&answer(retryable, &[], false), 2, &schedule), Decision::RetryAfter(s(300)));
            assert_eq!(decide(&answer(retryable, &[], false), 3, &schedule), Decision::Failed { exhausted: true });
        }
        for final_ in [Some(400), Some(401), Some(404), Some(302)] {
            assert_eq!(decide(&answer(final_, &[], false), 1, &schedule), Decision::Failed { exhausted: false });
        }
        // A target the guard refused is not retried; Retry-After is honoured within bounds.
        assert_eq!(decide(&answer(None, &[], true), 1, &schedule), Decision::Failed { exhausted: false });
        assert_eq!(
            decide(&answer(Some(503), &[("Retry-After", "8")], false), 1, &schedule),
            Decision::RetryAfter(s(8))
        );
        assert_eq!(decide(&answer(Some(503), &[], false), 1, &[]), Decision::Failed { exhausted: true });
    }

    #[test]
    fn schedules_refuse_entries_past_the_cap() {
        assert!(parse_schedule("604800").is_ok());
        assert!(parse_schedule("604801").is_err());
        assert!(parse_schedule("1e19").is_err());
        assert!(parse_schedule("1e300").is_err());
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_secs(100)).as_secs_f64();
            assert!((80.0..=120.0).contains(&d), "{d}");
        }
    }

    proptest::proptest! {
        /// Review M6: no schedule value and no `Retry-After` overflows the delay arithmetic.
        #[test]
        fn delays_never_overflow(planned in proptest::prelude::any::<u64>(), ra in proptest::option::of(proptest::prelude::any::<u64>())) {
            let d = jitter(next_delay(Duration::from_secs(planned), ra.map(Duration::from_secs)));
            proptest::prop_assert!(d <= MAX_RETRY_DELAY.saturating_mul(3));
            let now = Utc::now();
            let at = chrono::Duration::from_std(d).ok().and_then(|d| now.checked_add_signed(d));
            proptest::prop_assert!(at.is_some());
        }
    }
}
