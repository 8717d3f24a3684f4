//! The counters port on SQLite: one row per bucket and name.

use std::collections::BTreeMap;

use super::*;
use crate::stats::{Buckets, KEEP_SECS, StatsStore};

#[async_trait]
impl StatsStore for LocalRegistry {
    async fn add_stats(&self, bucket: i64, counts: &BTreeMap<String, u64>) -> Result<(), StoreError> {
        let counts: Vec<(String, i64)> =
            counts.iter().map(|(k, v)| (k.clone(), i64::try_from(*v).unwrap_or(i64::MAX))).collect();
        self.db
            .write(move |c| {
                let mut add = c.prepare_cached(
                    "INSERT INTO stats (bucket, name, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (bucket, name) DO UPDATE SET value = value + excluded.value",
                )?;
                for (name, n) in &counts {
                    add.execute(params![bucket, name, n])?;
                }
                // What no window shows any more.
                c.prepare_cached("DELETE FROM stats WHERE bucket < ?1")?.execute([bucket - KEEP_SECS])?;
                Ok(())
            })
            .await
    }

    async fn read_stats(&self, since: i64) -> Result<Buckets, StoreError> {
        self.db
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT bucket, name, value FROM stats WHERE bucket >= ?1")?;
                let rows = stmt
                    .query_map([since], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
                let mut out = Buckets::new();
                for row in rows {
                    let (bucket, name, n) = row?;
                    out.entry(bucket).or_default().insert(name, u64::try_from(n).unwrap_or(0));
                }
                Ok(out)
            })
            .await
    }
}
