//! SQS. Queue references may be URLs (used as they are) or names (resolved once with
//! GetQueueUrl and remembered).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry};
use chrono::{TimeZone, Utc};

use super::sdk_error;
use crate::domain::QueueRef;
use crate::error::StoreError;
use crate::ports::{MAX_BATCH, OutgoingMessage, QueueSpec, Queues, ReceivedMessage, SendFailure};

pub struct SqsQueues {
    client: Client,
    urls: Mutex<HashMap<String, String>>,
}

impl SqsQueues {
    pub fn new(client: Client) -> Self {
        Self { client, urls: Mutex::new(HashMap::new()) }
    }

    async fn url(&self, queue: &QueueRef) -> Result<String, StoreError> {
        if queue.is_url() {
            return Ok(queue.as_str().to_owned());
        }
        if let Some(u) = self.urls.lock().expect("urls").get(queue.name()) {
            return Ok(u.clone());
        }
        let out = self.client.get_queue_url().queue_name(queue.name()).send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|se| se.is_queue_does_not_exist()) {
                StoreError::NotFound
            } else {
                sdk_error(e)
            }
        })?;
        let url = out.queue_url.ok_or_else(|| StoreError::msg("GetQueueUrl returned no URL"))?;
        self.urls.lock().expect("urls").insert(queue.name().to_owned(), url.clone());
        Ok(url)
    }
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

#[async_trait]
impl Queues for SqsQueues {
    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueRef, StoreError> {
        let mut req = self
            .client
            .create_queue()
            .queue_name(&spec.name)
            .attributes(QueueAttributeName::VisibilityTimeout, secs(spec.visibility_timeout).to_string());
        if spec.name.ends_with(".fifo") {
            req = req.attributes(QueueAttributeName::FifoQueue, "true");
        }
        if let Some(dlq) = &spec.dead_letter {
            let dlq_url = self.url(dlq).await?;
            let attrs = self
                .client
                .get_queue_attributes()
                .queue_url(&dlq_url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(sdk_error)?;
            let arn = attrs
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .ok_or_else(|| StoreError::msg("dead-letter queue has no ARN"))?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": spec.max_receives.max(1)});
            req = req.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let out = req.send().await.map_err(sdk_error)?;
        let url = out.queue_url.ok_or_else(|| StoreError::msg("CreateQueue returned no URL"))?;
        QueueRef::parse(&url).map_err(|e| StoreError::msg(e.to_string()))
    }

    async fn send_batch(
        &self,
        queue: &QueueRef,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<Result<(), SendFailure>>, StoreError> {
        if messages.len() > MAX_BATCH {
            return Err(StoreError::msg(format!("at most {MAX_BATCH} messages per batch")));
        }
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.url(queue).await?;
        let fifo = queue.is_fifo();
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut e = SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(&m.body);
                if fifo {
                    // FIFO queues take no per-message delay; group and dedup ids instead.
                    e = e.set_message_group_id(m.group_id.clone()).set_message_deduplication_id(m.dedup_id.clone());
                } else if !m.delay.is_zero() {
                    e = e.delay_seconds(secs(m.delay).min(900));
                }
                e.build().map_err(StoreError::backend)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk_error)?;
        let mut results: Vec<Result<(), SendFailure>> = vec![Ok(()); messages.len()];
        for f in out.failed {
            if let Ok(i) = f.id.parse::<usize>()
                && let Some(slot) = results.get_mut(i)
            {
                // A sender fault (bad message) will fail again; anything else may pass.
                *slot = Err(SendFailure { code: f.code, retryable: !f.sender_fault });
            }
        }
        Ok(results)
    }

    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, StoreError> {
        let url = self.url(queue).await?;
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(secs(visibility))
            .wait_time_seconds(secs(wait).min(20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(sdk_error)?;
        let messages = out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let attrs = m.attributes.unwrap_or_default();
                let num = |k: MessageSystemAttributeName| attrs.get(&k).and_then(|v| v.parse::<i64>().ok());
                ReceivedMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    receipt_handle: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    receive_count: num(MessageSystemAttributeName::ApproximateReceiveCount).unwrap_or(1) as u32,
                    sent_at: num(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                        .unwrap_or_else(Utc::now),
                }
            })
            .collect();
        Ok(messages)
    }

    async fn depth(&self, queue: &QueueRef) -> Result<u64, StoreError> {
        let url = self.url(queue).await?;
        let names = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(sdk_error)?;
        let attrs = out.attributes.unwrap_or_default();
        Ok(names.iter().filter_map(|n| attrs.get(n)?.parse::<u64>().ok()).sum())
    }

    async fn delete_batch(&self, queue: &QueueRef, receipt_handles: &[String]) -> Result<(), StoreError> {
        if receipt_handles.is_empty() {
            return Ok(());
        }
        let url = self.url(queue).await?;
        let entries = receipt_handles
            .iter()
            .enumerate()
            .map(|(i, r)| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .build()
                    .map_err(StoreError::backend)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk_error)?;
        match out.failed.first() {
            None => Ok(()),
            Some(f) => Err(StoreError::msg(format!("{} deletes failed: {}", out.failed.len(), f.code))),
        }
    }

    async fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> Result<(), StoreError> {
        let url = self.url(queue).await?;
        self.client.delete_message().queue_url(url).receipt_handle(receipt_handle).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let url = self.url(queue).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs(timeout))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
