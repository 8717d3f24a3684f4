//! The embedded backend: every port on one SQLite file, so the whole system runs in one
//! process with no AWS account. See `db.rs` for how writes are made durable.

mod db;
mod queues;
mod registry;
mod stores;

use std::path::Path;
use std::sync::Arc;

pub use db::Db;
pub use queues::LocalQueues;

use crate::error::StoreError;
use crate::ports::{Backend, SystemClock};

/// The database file inside a data directory.
pub const DB_FILE: &str = "hookbridge.sqlite3";

/// How often the counters are written: one process, so the management reads what is still
/// pending too; this only bounds what a crash forgets.
const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens (or creates) the store in `data_dir` and returns every port on it, plus the
/// queues' concrete type (the local runner's workers need its wake-ups).
pub fn open(data_dir: &Path) -> Result<(Backend, Arc<LocalQueues>), StoreError> {
    let db = Arc::new(Db::open(&data_dir.join(DB_FILE))?);
    let queues = Arc::new(LocalQueues::new(db.clone()));
    let registry = Arc::new(registry::LocalRegistry::new(db.clone()));
    let backend = Backend {
        registry: registry.clone(),
        connectors: registry.clone(),
        deliveries: registry.clone(),
        secrets: Arc::new(stores::LocalSecrets::new(db.clone())),
        queues: queues.clone(),
        blobs: Arc::new(stores::LocalBlobs::new(db.clone())),
        dedup: Arc::new(stores::LocalDedup::new(db)),
        clock: Arc::new(SystemClock),
        stats: Arc::new(crate::stats::Recorder::new(registry, STATS_INTERVAL)),
    };
    Ok((backend, queues))
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(StoreError::backend)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(StoreError::backend)
}
