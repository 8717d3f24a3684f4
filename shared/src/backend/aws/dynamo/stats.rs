//! The counters port on DynamoDB: one item per bucket under the `STATS` partition, each
//! counter an attribute incremented with `ADD` (one write per flush, however many names).
//! A flush per instance per interval keeps the partition far below its 1,000 writes a
//! second (docs/capacity.md); items expire by TTL after the longest window.

use std::collections::BTreeMap;

use super::*;
use crate::stats::{Buckets, KEEP_SECS, StatsStore};

const STATS_PK: &str = "STATS";
/// Counter attributes carry this prefix, so no counter name meets a key attribute.
const COUNTER: &str = "c:";

fn bucket_sk(bucket: i64) -> String {
    // Zero-padded: sort keys compare as text.
    format!("B#{bucket:012}")
}

#[async_trait]
impl StatsStore for DynamoRegistry {
    async fn add_stats(&self, bucket: i64, counts: &BTreeMap<String, u64>) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(STATS_PK.to_owned(), &bucket_sk(bucket))))
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":ttl", AttributeValue::N((bucket + KEEP_SECS).to_string()));
        let mut adds = Vec::with_capacity(counts.len());
        for (i, (name, n)) in counts.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#n{i}"), format!("{COUNTER}{name}"))
                .expression_attribute_values(format!(":v{i}"), AttributeValue::N(n.to_string()));
            adds.push(format!("#n{i} :v{i}"));
        }
        update.update_expression(format!("SET #ttl = :ttl ADD {}", adds.join(", "))).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn read_stats(&self, since: i64) -> Result<Buckets, StoreError> {
        let mut out = Buckets::new();
        for item in self.query_all(STATS_PK.to_owned(), "sk >= :sk", &bucket_sk(since)).await? {
            let Some(bucket) = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.strip_prefix("B#"))
                .and_then(|b| b.parse().ok())
            else {
                continue;
            };
            let slot = out.entry(bucket).or_default();
            for (attr, v) in &item {
                if let (Some(name), Ok(n)) = (attr.strip_prefix(COUNTER), v.as_n()) {
                    slot.insert(name.to_owned(), n.parse().unwrap_or(0));
                }
            }
        }
        Ok(out)
    }
}
