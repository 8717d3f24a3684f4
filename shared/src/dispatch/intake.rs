//! Intake: an event becomes one delivery per matching enabled connector (or per chunk
//! of events for batch connectors), recorded and queued as a small `DELIVERY` message.

use super::*;

impl Dispatcher {
    /// Takes events in: one delivery per matching enabled connector, recorded and queued.
    /// Returns the delivery ids. Taking the same event in twice creates nothing new (a
    /// still-pending delivery is queued again, in case its first message was lost).
    pub async fn intake(&self, events: &[OutboundEvent]) -> Result<Vec<DeliveryId>, IntakeError> {
        for e in events {
            e.validate().map_err(|e| IntakeError::Invalid(e.to_string()))?;
            let size = serde_json::to_vec(e).map(|v| v.len()).unwrap_or(usize::MAX);
            if size > MAX_EVENT_BYTES {
                return Err(IntakeError::Invalid(format!("event {} exceeds {MAX_EVENT_BYTES} bytes", e.id)));
            }
        }
        let connectors = self.all_connectors().await?;
        let now = self.backend.clock.now();
        let mut ids = Vec::new();
        let mut messages = Vec::new();
        // One delivery per (event, connector), or per chunk of events for batch connectors.
        let mut units: Vec<(&Connector, Vec<&OutboundEvent>)> = Vec::new();
        for c in connectors.iter().filter(|c| c.enabled) {
            let matching: Vec<&OutboundEvent> = events.iter().filter(|e| c.accepts(e)).collect();
            match c.batch_max_events {
                Some(max) => {
                    let size = |e: &OutboundEvent| serde_json::to_vec(e).map_or(MAX_EVENT_BYTES, |v| v.len());
                    for chunk in batch_chunks(&matching, max.max(1) as usize, MAX_BATCH_BYTES, size) {
                        units.push((c, chunk));
                    }
                }
                None => units.extend(matching.into_iter().map(|e| (c, vec![e]))),
            }
        }
        for (c, chunk) in units {
            let (id, batch, event) = if c.batch_max_events.is_some() {
                let owned: Vec<OutboundEvent> = chunk.iter().map(|e| (*e).clone()).collect();
                let text = serde_json::to_string(&owned).map_err(StoreError::backend)?;
                // The batch holds every event; the record's own event only names the first
                // (its data is not kept twice).
                let summary = OutboundEvent { data: serde_json::Value::Null, ..chunk[0].clone() };
                (crate::domain::batch_delivery_id(&owned, &c.id), Some(text), summary)
            } else {
                (delivery_id(&chunk[0].id, &c.id), None, chunk[0].clone())
            };
            let record = DeliveryRecord {
                id,
                connector_id: c.id,
                event,
                batch,
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
                updated_at: now,
            };
            match self.backend.deliveries.create_delivery(&record).await {
                Ok(()) => {}
                Err(StoreError::Conflict(Conflict::AlreadyExists)) => {
                    let existing = self.backend.deliveries.get_delivery(&record.id).await?;
                    if !existing.is_some_and(|d| d.status == DeliveryStatus::Pending) {
                        continue;
                    }
                }
                Err(e) => {
                    // The records made so far get their messages: none is left PENDING
                    // with nothing queued (the caller's retry finds them pending).
                    if let Err(send) = self.send(&messages).await {
                        tracing::error!(error = %send, "could not queue deliveries of a failed intake");
                    }
                    return Err(e.into());
                }
            }
            self.backend.stats.add(crate::stats::DELIVERIES_CREATED, 1, now);
            ids.push(record.id);
            messages.push(message(record.id, None, Duration::ZERO));
        }
        self.send(&messages).await?;
        Ok(ids)
    }

    pub(super) async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), StoreError> {
        for chunk in messages.chunks(crate::ports::MAX_BATCH) {
            let tagged = chunk.iter().map(|m| ((), m.clone())).collect();
            let failed = send_with_retries(self.backend.queues.as_ref(), &self.queues.deliveries, tagged, 3).await;
            if let Some((_, cause)) = failed.first() {
                return Err(StoreError::msg(format!(
                    "{} delivery messages could not be queued ({cause})",
                    failed.len()
                )));
            }
        }
        Ok(())
    }

    /// Redelivers every failed delivery of a connector created at or after `since`; returns
    /// how many were queued.
    pub async fn recover(&self, connector: &ConnectorId, since: DateTime<Utc>) -> Result<usize, StoreError> {
        let filter = crate::ports::DeliveryFilter { connector: Some(*connector), status: Some(DeliveryStatus::Failed) };
        let mut cursor = None;
        let mut ids = Vec::new();
        'pages: loop {
            let page = self.backend.deliveries.list_deliveries(&filter, PageRequest { cursor, limit: 500 }).await?;
            for d in page.items {
                if d.created_at < since {
                    break 'pages; // newest first: the rest are older
                }
                ids.push(d.id);
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        for id in &ids {
            self.redeliver(id).await?;
        }
        Ok(ids.len())
    }

    /// Queues a delivery again from the start (operator's redeliver).
    pub async fn redeliver(&self, id: &DeliveryId) -> Result<Option<DeliveryRecord>, StoreError> {
        let Some(mut record) = self.backend.deliveries.get_delivery(id).await? else { return Ok(None) };
        let now = self.backend.clock.now();
        record.status = DeliveryStatus::Pending;
        record.next_attempt_at = Some(now);
        record.updated_at = now;
        self.backend.deliveries.update_delivery(&record, record.attempts.len()).await?;
        self.send(&[message(record.id, None, Duration::ZERO)]).await?;
        Ok(Some(record))
    }
}

/// Splits a batch connector's events into chunks of at most `max` events and `max_bytes`
/// bytes (an event larger than `max_bytes` travels alone).
pub(super) fn batch_chunks<'a>(
    events: &[&'a OutboundEvent],
    max: usize,
    max_bytes: usize,
    size: impl Fn(&OutboundEvent) -> usize,
) -> Vec<Vec<&'a OutboundEvent>> {
    let mut chunks: Vec<Vec<&OutboundEvent>> = Vec::new();
    let mut bytes = 0;
    for e in events {
        let n = size(e);
        match chunks.last_mut() {
            Some(last) if last.len() < max && bytes + n <= max_bytes => {
                last.push(e);
                bytes += n;
            }
            _ => {
                chunks.push(vec![e]);
                bytes = n;
            }
        }
    }
    chunks
}

pub(super) fn message(id: DeliveryId, not_before: Option<DateTime<Utc>>, delay: Duration) -> OutgoingMessage {
    let body =
        serde_json::to_string(&DeliveryMessage { kind: DeliveryMessageType::Delivery, delivery_id: id, not_before })
            .expect("a delivery message serializes");
    OutgoingMessage { body, delay: delay.min(MAX_DELAY), ..OutgoingMessage::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_by_count_and_by_bytes() {
        let events: Vec<OutboundEvent> = (0..5)
            .map(|i| OutboundEvent {
                tenants: None,
                id: format!("e{i}"),
                kind: "t".into(),
                occurred_at: Utc::now(),
                source: String::new(),
                data: serde_json::Value::Null,
            })
            .collect();
        let refs: Vec<&OutboundEvent> = events.iter().collect();
        let ids = |chunks: Vec<Vec<&OutboundEvent>>| -> Vec<Vec<String>> {
            chunks.into_iter().map(|c| c.into_iter().map(|e| e.id.clone()).collect()).collect()
        };
        assert_eq!(ids(batch_chunks(&refs, 2, 1000, |_| 10)), [vec!["e0", "e1"], vec!["e2", "e3"], vec!["e4"]]);
        // Three 200 KiB events never share a 256 KiB batch.
        assert_eq!(ids(batch_chunks(&refs[..3], 10, 256 * 1024, |_| 200 * 1024)), [["e0"], ["e1"], ["e2"]]);
        assert_eq!(ids(batch_chunks(&refs[..3], 10, 256 * 1024, |_| 100 * 1024)), [vec!["e0", "e1"], vec!["e2"]]);
    }
}
