//! One SQLite file shared by every local port.
//!
//! Writes go through a single writer thread that commits whatever jobs are waiting in one
//! transaction (group commit): each job runs in its own savepoint, so one job's failure
//! rolls back only that job, and every caller hears back only after the commit is durable
//! (`synchronous=FULL`). Reads use a small pool of separate connections (WAL lets them run
//! beside the writer).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::StoreError;

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A job gets the writer's connection, or the reason the transaction could not begin.
type Job = Box<dyn FnOnce(Result<&Connection, StoreError>) -> (bool, Completion) + Send>;

/// Most jobs committed together; bounds the latency one commit adds to the first job.
const MAX_GROUP: usize = 512;

pub struct Db {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Conflict(crate::error::Conflict::AlreadyExists)
            }
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
            {
                StoreError::Throttled
            }
            other => StoreError::backend(other),
        }
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
    )?;
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) the database file and applies the schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(StoreError::backend)?;
        }
        // The file holds secrets: owner-only before SQLite opens it, so the WAL and shared
        // memory files SQLite creates beside it take the same mode (review L6).
        create_private_file(path).map_err(StoreError::backend)?;
        let conn = open(path)?;
        conn.execute_batch(SCHEMA)?;
        restrict_permissions(path);
        // A process that just opened the file holds no received message: any still hidden by
        // a receipt was in flight in a process that died (kill -9, power loss). Visible now,
        // not after its visibility timeout (the runner is its file's only consumer).
        conn.execute(
            "UPDATE messages SET visible_at = ?1 WHERE receipt IS NOT NULL AND visible_at > ?1",
            [chrono::Utc::now().timestamp_millis()],
        )?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("hookbridge-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(StoreError::backend)?;
        Ok(Self { path: path.to_owned(), writer: Mutex::new(tx), readers: Mutex::new(Vec::new()) })
    }

    /// Runs `f` in the writer's transaction; resolves once its effects are committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| match conn.and_then(f) {
            Ok(value) => {
                let done: Completion = Box::new(move |committed| {
                    let _ = tx.send(committed.map(|()| value));
                });
                (true, done)
            }
            Err(e) => {
                let done: Completion = Box::new(move |_| {
                    let _ = tx.send(Err(e));
                });
                (false, done)
            }
        });
        self.writer
            .lock()
            .expect("writer lock")
            .send(job)
            .map_err(|_| StoreError::msg("the SQLite writer has stopped"))?;
        rx.await.map_err(|_| StoreError::msg("the SQLite writer dropped a job"))?
    }

    /// Runs `f` on a read connection (outside the writer), off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pooled = self.readers.lock().expect("reader pool").pop();
        let conn = match pooled {
            Some(c) => c,
            None => open(&self.path)?,
        };
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let r = f(&conn);
            (conn, r)
        })
        .await
        .map_err(StoreError::backend)?;
        let mut pool = self.readers.lock().expect("reader pool");
        if pool.len() < 8 {
            pool.push(conn);
        }
        result
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut done = Vec::with_capacity(jobs.len());
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        if let Err(e) = begun {
            let msg = e.to_string();
            for job in jobs {
                let (_, complete) = job(Err(StoreError::msg(format!("cannot begin: {msg}"))));
                complete(Ok(()));
            }
            continue;
        }
        for job in jobs {
            let sp = conn.execute_batch("SAVEPOINT job");
            let (ok, complete) = job(Ok(&conn));
            let end = if ok && sp.is_ok() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "savepoint end failed");
            }
            done.push((ok, complete));
        }
        let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for (ok, complete) in done {
            match (&committed, ok) {
                (Ok(()), _) | (_, false) => complete(Ok(())),
                (Err(m), true) => complete(Err(StoreError::msg(format!("commit failed: {m}")))),
            }
        }
    }
}

/// The data dir, owner-only when it is made here.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The database file, created empty and owner-only if missing.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).map(|_| ())
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // An older data dir may have been made world-readable: the file and its sidecars too.
    for p in [path.to_owned(), sidecar(path, "-wal"), sidecar(path, "-shm")] {
        if p.exists() {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
}

#[cfg(unix)]
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) {}

#[cfg(all(test, unix))]
mod permission_tests {
    use std::os::unix::fs::PermissionsExt;

    /// Review L6: on a fresh data dir, the dir is 0700 and every file 0600 from the start.
    #[tokio::test]
    async fn a_fresh_data_dir_is_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let path = dir.join("hookbridge.sqlite3");
        let db = super::Db::open(&path).unwrap();
        db.write(|c| {
            c.execute("INSERT INTO secrets (name, value) VALUES ('k', 'v')", [])?;
            Ok(())
        })
        .await
        .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(files.iter().any(|f| f.to_string_lossy().ends_with("-wal")), "{files:?}");
        for f in files {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS stats (
    bucket INTEGER NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (bucket, name)
);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (org_id, workspace_id, app_id, name)
);
CREATE TABLE IF NOT EXISTS bindings (
    webhook_id TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (webhook_id, id)
);
CREATE TABLE IF NOT EXISTS waiters (
    webhook_id TEXT NOT NULL,
    binding_id TEXT NOT NULL,
    value TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (webhook_id, binding_id, value),
    UNIQUE (webhook_id, binding_id, instance_id)
);
CREATE TABLE IF NOT EXISTS failed_triggers (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failed_triggers_by_webhook ON failed_triggers (webhook_id, id);
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dedup (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    visibility_ms INTEGER NOT NULL,
    max_receives INTEGER NOT NULL,
    dead_letter TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    group_id TEXT,
    dedup_id TEXT,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at, seq);
CREATE UNIQUE INDEX IF NOT EXISTS messages_receipt ON messages (receipt);
CREATE TABLE IF NOT EXISTS connectors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS connector_health (
    id TEXT PRIMARY KEY,
    failing_since INTEGER
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL,
    status TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_connector ON deliveries (connector_id, sort_key);
CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (sort_key);
CREATE TABLE IF NOT EXISTS fifo_dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);
"#;
