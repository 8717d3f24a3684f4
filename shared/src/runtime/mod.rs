//! Running handlers outside Lambda: the local runner drives the fan-out (and dispatch)
//! handlers from local queues with the same `SqsEvent` batches and partial-batch-failure
//! responses that Lambda's SQS event source uses.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tokio::sync::watch;

use crate::domain::QueueRef;
use crate::ports::{Queues, ReceivedMessage};

/// An `SqsEvent` as Lambda would build it from received messages.
pub fn sqs_event(queue: &QueueRef, region: &str, messages: &[ReceivedMessage]) -> SqsEvent {
    let arn = format!("arn:aws:sqs:{region}:000000000000:{}", queue.name());
    let records = messages
        .iter()
        .map(|m| {
            let mut r = SqsMessage::default();
            r.message_id = Some(m.message_id.clone());
            r.receipt_handle = Some(m.receipt_handle.clone());
            r.body = Some(m.body.clone());
            r.attributes = HashMap::from([
                ("ApproximateReceiveCount".to_owned(), m.receive_count.to_string()),
                ("SentTimestamp".to_owned(), m.sent_at.timestamp_millis().to_string()),
            ]);
            r.event_source = Some("aws:sqs".into());
            r.event_source_arn = Some(arn.clone());
            r.aws_region = Some(region.to_owned());
            r
        })
        .collect();
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

/// How a queue is polled.
#[derive(Debug, Clone)]
pub struct PollConfig {
    pub batch_size: u32,
    pub visibility: Duration,
    pub wait: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self { batch_size: 10, visibility: Duration::from_secs(30), wait: Duration::from_secs(20) }
    }
}

/// Polls `queue` until `stop` turns true: each batch goes to `handler`, and every message
/// it does not report as failed is deleted. Failed ones reappear after their visibility
/// timeout and, past the queue's max receives, move to its dead-letter queue. A batch in
/// progress when `stop` turns true is finished and acknowledged first.
pub async fn drive_queue<H, F>(
    queues: Arc<dyn Queues>,
    queue: QueueRef,
    poll: PollConfig,
    handler: H,
    stop: watch::Receiver<bool>,
) where
    H: Fn(SqsEvent) -> F,
    F: Future<Output = SqsBatchResponse>,
{
    loop {
        if *stop.borrow() {
            return;
        }
        // A receive is never cancelled (messages it took would stay hidden for their
        // visibility timeout); it waits at most a second, so a stop is seen within one.
        let wait = poll.wait.min(Duration::from_secs(1));
        let received = queues.receive(&queue, poll.batch_size, poll.visibility, wait).await;
        let messages = match received {
            Ok(m) if m.is_empty() => continue,
            Ok(m) => m,
            Err(e) => {
                tracing::error!(queue = %queue, error = %e, "receive failed");
                // Back off a little so a broken store does not spin the CPU.
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        // A handler that panics must not end the worker: its batch is left for redelivery.
        let handled = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(handler(sqs_event(
            &queue, "local", &messages,
        ))))
        .await;
        let Ok(response) = handled else {
            tracing::error!(queue = %queue, "a batch handler panicked; its messages will be redelivered");
            continue;
        };
        let failed: HashSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        let done: Vec<String> = messages
            .iter()
            .filter(|m| !failed.contains(m.message_id.as_str()))
            .map(|m| m.receipt_handle.clone())
            .collect();
        if let Err(e) = queues.delete_batch(&queue, &done).await {
            tracing::error!(queue = %queue, error = %e, "acknowledge failed; the messages will be redelivered");
        }
    }
}
