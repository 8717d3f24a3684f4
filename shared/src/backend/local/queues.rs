//! A durable queue with SQS semantics on SQLite: at-least-once delivery, visibility
//! timeout, receive count, dead-letter queue after max receives, per-message delay, and
//! FIFO group ordering with a 5-minute deduplication window.
//!
//! Receivers wait on a per-queue [`Notify`] that senders ring after their commit, and
//! otherwise until the next message becomes visible, so long polls cost nothing while idle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Db, now_ms};
use crate::domain::QueueRef;
use crate::error::StoreError;
use crate::ports::{MAX_BATCH, OutgoingMessage, QueueSpec, Queues, ReceivedMessage, SendFailure};

/// SQS keeps FIFO deduplication ids for five minutes.
const FIFO_DEDUP_MS: i64 = 5 * 60 * 1000;

pub struct LocalQueues {
    db: Arc<Db>,
    bells: Mutex<HashMap<String, Arc<Notify>>>,
}

struct QueueConf {
    max_receives: i64,
    dead_letter: Option<String>,
}

impl LocalQueues {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db, bells: Mutex::new(HashMap::new()) }
    }

    fn bell(&self, queue: &str) -> Arc<Notify> {
        self.bells.lock().expect("bells").entry(queue.to_owned()).or_default().clone()
    }

    /// How many messages a queue holds (visible, delayed and in flight).
    pub async fn depth(&self, queue: &QueueRef) -> Result<u64, StoreError> {
        let name = queue.name().to_owned();
        self.db
            .read(move |c| {
                Ok(c.query_row("SELECT COUNT(*) FROM messages WHERE queue = ?1", [name], |r| r.get::<_, i64>(0))?
                    as u64)
            })
            .await
    }
}

fn conf(c: &Connection, queue: &str) -> Result<QueueConf, StoreError> {
    let row = c
        .query_row("SELECT max_receives, dead_letter FROM queues WHERE name = ?1", [queue], |r| {
            Ok(QueueConf { max_receives: r.get(0)?, dead_letter: r.get(1)? })
        })
        .optional()?;
    // A queue that was never created explicitly (local mode creates process queues on first
    // use) keeps its messages until they are acknowledged.
    Ok(row.unwrap_or(QueueConf { max_receives: 0, dead_letter: None }))
}

/// Takes up to `max` visible messages, moving those past their max receives to the DLQ.
/// Returns the messages and when the next hidden one becomes visible.
fn receive_now(
    c: &Connection,
    queue: &str,
    max: i64,
    visibility_ms: i64,
) -> Result<(Vec<ReceivedMessage>, Option<i64>), StoreError> {
    let now = now_ms();
    let conf = conf(c, queue)?;
    let fifo = queue.ends_with(".fifo");
    let mut out = Vec::new();
    {
        // In a FIFO queue a group with a message in flight delivers nothing more until it
        // is acknowledged or its visibility ends, and one batch holds one group's messages
        // in order.
        let mut stmt = c.prepare_cached(
            "SELECT seq, message_id, body, receive_count, sent_at, group_id FROM messages
             WHERE queue = ?1 AND visible_at <= ?2
               AND (?3 = 0 OR group_id IS NULL OR group_id NOT IN (
                    SELECT group_id FROM messages WHERE queue = ?1 AND visible_at > ?2 AND receive_count > 0 AND group_id IS NOT NULL))
             ORDER BY seq LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![queue, now, fifo as i64, max * 4], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut group: Option<Option<String>> = None;
        for row in rows {
            let (seq, message_id, body, count, sent_at, group_id) = row?;
            if out.len() as i64 >= max {
                break;
            }
            if fifo {
                match &group {
                    None => group = Some(group_id.clone()),
                    Some(g) if *g != group_id => continue,
                    Some(_) => {}
                }
            }
            let count = count + 1;
            if let Some(dlq) =
                conf.dead_letter.as_deref().filter(|_| conf.max_receives > 0 && count > conf.max_receives)
            {
                c.execute(
                    "UPDATE messages SET queue = ?2, receive_count = 0, visible_at = ?3, receipt = NULL WHERE seq = ?1",
                    params![seq, dlq, now],
                )?;
                continue;
            }
            let receipt = uuid::Uuid::new_v4().to_string();
            c.execute(
                "UPDATE messages SET receive_count = ?2, visible_at = ?3, receipt = ?4 WHERE seq = ?1",
                params![seq, count, now + visibility_ms, receipt],
            )?;
            out.push(ReceivedMessage {
                message_id,
                receipt_handle: receipt,
                body,
                receive_count: count as u32,
                sent_at: Utc.timestamp_millis_opt(sent_at).single().unwrap_or_else(Utc::now),
            });
        }
    }
    if !out.is_empty() {
        return Ok((out, None));
    }
    // Nothing now: when does the next hidden or delayed message become visible?
    let next: Option<i64> = c.query_row(
        "SELECT MIN(visible_at) FROM messages WHERE queue = ?1 AND visible_at > ?2",
        params![queue, now],
        |r| r.get(0),
    )?;
    Ok((out, next))
}

#[async_trait]
impl Queues for LocalQueues {
    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueRef, StoreError> {
        let queue = QueueRef::parse(&spec.name).map_err(|e| StoreError::msg(e.to_string()))?;
        let (name, vis, max, dlq) = (
            spec.name.clone(),
            spec.visibility_timeout.as_millis() as i64,
            i64::from(spec.max_receives),
            spec.dead_letter.as_ref().map(|q| q.name().to_owned()),
        );
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO queues (name, visibility_ms, max_receives, dead_letter) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (name) DO UPDATE SET visibility_ms = excluded.visibility_ms,
                        max_receives = excluded.max_receives, dead_letter = excluded.dead_letter",
                    params![name, vis, max, dlq],
                )?;
                Ok(())
            })
            .await?;
        Ok(queue)
    }

    async fn send_batch(
        &self,
        queue: &QueueRef,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<Result<(), SendFailure>>, StoreError> {
        if messages.len() > MAX_BATCH {
            return Err(StoreError::msg(format!("at most {MAX_BATCH} messages per batch")));
        }
        let name = queue.name().to_owned();
        let fifo = queue.is_fifo();
        let rows: Vec<(String, Option<String>, Option<String>, i64)> = messages
            .iter()
            .map(|m| (m.body.clone(), m.group_id.clone(), m.dedup_id.clone(), m.delay.as_millis() as i64))
            .collect();
        let bell_name = name.clone();
        let results = self
            .db
            .write(move |c| {
                let now = now_ms();
                let mut results = Vec::with_capacity(rows.len());
                for (body, group, dedup, delay) in rows {
                    if fifo {
                        let (Some(_), Some(dedup)) = (&group, &dedup) else {
                            results.push(Err(SendFailure { code: "MissingParameter".into(), retryable: false }));
                            continue;
                        };
                        c.execute("DELETE FROM fifo_dedup WHERE queue = ?1 AND expires_at <= ?2", params![name, now])?;
                        let fresh = c.execute(
                            "INSERT INTO fifo_dedup (queue, dedup_id, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                            params![name, dedup, now + FIFO_DEDUP_MS],
                        )?;
                        if fresh == 0 {
                            // A duplicate within the window is accepted and dropped, as SQS does.
                            results.push(Ok(()));
                            continue;
                        }
                    }
                    c.prepare_cached(
                        "INSERT INTO messages (queue, message_id, body, group_id, dedup_id, sent_at, visible_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![name, uuid::Uuid::new_v4().to_string(), body, group, dedup, now, now + delay])?;
                    results.push(Ok(()));
                }
                Ok(results)
            })
            .await?;
        self.bell(&bell_name).notify_waiters();
        Ok(results)
    }

    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, StoreError> {
        let max = i64::from(max.clamp(1, 10));
        let vis = visibility.as_millis() as i64;
        let deadline = Instant::now() + wait;
        let bell = self.bell(queue.name());
        loop {
            // Register interest before looking, so a send between the look and the wait
            // still wakes us.
            let rung = bell.notified();
            tokio::pin!(rung);
            rung.as_mut().enable();
            let name = queue.name().to_owned();
            let (msgs, next) = self.db.write(move |c| receive_now(c, &name, max, vis)).await?;
            let now = Instant::now();
            if !msgs.is_empty() || now >= deadline {
                return Ok(msgs);
            }
            let mut until = deadline;
            if let Some(next) = next {
                let in_ms = (next - now_ms()).max(0) as u64;
                until = until.min(now + Duration::from_millis(in_ms));
            }
            tokio::select! {
                _ = &mut rung => {}
                _ = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn depth(&self, queue: &QueueRef) -> Result<u64, StoreError> {
        let name = queue.name().to_owned();
        self.db
            .read(move |c| {
                Ok(c.query_row("SELECT COUNT(*) FROM messages WHERE queue = ?1", [name], |r| r.get::<_, i64>(0))?
                    as u64)
            })
            .await
    }

    async fn delete_batch(&self, _queue: &QueueRef, receipt_handles: &[String]) -> Result<(), StoreError> {
        let receipts = receipt_handles.to_vec();
        self.db
            .write(move |c| {
                let mut stmt = c.prepare_cached("DELETE FROM messages WHERE receipt = ?1")?;
                for r in receipts {
                    stmt.execute([r])?;
                }
                Ok(())
            })
            .await
    }

    async fn delete(&self, _queue: &QueueRef, receipt_handle: &str) -> Result<(), StoreError> {
        let receipt = receipt_handle.to_owned();
        self.db
            .write(move |c| {
                c.prepare_cached("DELETE FROM messages WHERE receipt = ?1")?.execute([receipt])?;
                Ok(())
            })
            .await
    }

    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let receipt = receipt_handle.to_owned();
        let ms = timeout.as_millis() as i64;
        let n = self
            .db
            .write(move |c| {
                Ok(c.execute(
                    "UPDATE messages SET visible_at = ?2 WHERE receipt = ?1",
                    params![receipt, now_ms() + ms],
                )?)
            })
            .await?;
        self.bell(queue.name()).notify_waiters();
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
