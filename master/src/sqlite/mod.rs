//! SQLite persistence: one writer thread that commits whatever is queued as one transaction
//! (group commit: one fsync for many pushes), and a small pool of read connections (WAL lets
//! them read while the writer writes).
//!
//! A caller of [`Sqlite::write`] gets its answer only after the transaction holding its work is
//! committed with `synchronous=FULL`: that is what lets ingest answer `202` only for data that
//! survives a crash.

pub mod commands;
pub mod ops;
pub mod schema;
pub mod sequencer;
mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

pub use crate::store::StoreError;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full,
            Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) => StoreError::ReadOnly,
            Some(ErrorCode::PermissionDenied) => StoreError::ReadOnly,
            Some(ErrorCode::ConstraintViolation) => StoreError::Conflict(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        }
    }
}

/// What a write job sees: the connection, inside the group's transaction, and the writer's
/// cache of series ids (cleared when a transaction rolls back).
pub struct WriterCtx {
    pub conn: Connection,
    pub series: HashMap<(String, String), i64>,
    /// The error of the last job that failed, for when SQLite abandons the whole transaction.
    last_error: Option<StoreError>,
}

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A queued write: run with the context (or, when its group cannot run, with `None`), it
/// returns how to tell its caller once the group's fate is known.
type Job = Box<dyn FnOnce(Option<&mut WriterCtx>) -> Finish + Send>;

enum Message {
    Job(Job),
    Stop(oneshot::Sender<()>),
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Sqlite {
    path: PathBuf,
    sender: mpsc::Sender<Message>,
    reads: Arc<Mutex<Vec<Connection>>>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
    checkpointer: Arc<Mutex<Option<Checkpointer>>>,
    sequencer: sequencer::Sequencer,
}

/// The thread that copies the WAL back into the database, and how to stop it.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// Checkpoints the WAL every half second from its own connection (a passive checkpoint never
/// blocks the writer or readers). `None` when the database cannot be written.
fn spawn_checkpointer(path: &Path) -> Option<Checkpointer> {
    let conn = Connection::open(path).ok()?;
    conn.busy_timeout(Duration::from_secs(1)).ok()?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("db-checkpoint".to_owned())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(500))
            {
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .expect("spawning the checkpoint thread");
    Some(Checkpointer { stop, thread })
}

/// Jobs in one transaction at most: bounds the latency one group adds to the first in it.
const MAX_GROUP: usize = 2_048;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the directory {path}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot prepare the database {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: schema::MigrateError,
    },
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database, and starts the writer thread.
    /// `max_bytes` > 0 caps the file's size. `on_commit(jobs, duration)` observes each commit.
    ///
    /// A database that exists, is current and cannot be written opens anyway: reads work and
    /// every write fails with [`StoreError::ReadOnly`].
    ///
    /// # Errors
    /// [`OpenError`] naming the path and the cause.
    pub fn open(
        path: &Path,
        max_bytes: u64,
        on_commit: impl Fn(usize, Duration) + Send + Sync + 'static,
    ) -> Result<Sqlite, OpenError> {
        Self::open_with_delay(path, max_bytes, Duration::ZERO, on_commit)
    }

    /// [`Sqlite::open`], holding every commit `commit_delay` before it is made: the fault-injection
    /// seam that stands in for a slow disk's fsync in tests (`--commit-delay`).
    ///
    /// # Errors
    /// [`OpenError`] naming the path and the cause.
    pub fn open_with_delay(
        path: &Path,
        max_bytes: u64,
        commit_delay: Duration,
        on_commit: impl Fn(usize, Duration) + Send + Sync + 'static,
    ) -> Result<Sqlite, OpenError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let open_err = |source| OpenError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        // WAL: readers never wait for the writer. FULL: a commit is on disk when it returns.
        let _ = conn.pragma_update(None, "journal_mode", "WAL");
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        if max_bytes > 0 {
            let page_size: i64 = conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .map_err(open_err)?;
            conn.pragma_update(
                None,
                "max_page_count",
                (max_bytes as i64 / page_size.max(512)).max(1),
            )
            .map_err(open_err)?;
        }
        schema::migrate(&mut conn).map_err(|source| OpenError::Migrate {
            path: path.to_owned(),
            source,
        })?;

        let (sender, receiver) = mpsc::channel(8_192);
        let ctx = WriterCtx {
            conn,
            series: HashMap::new(),
            last_error: None,
        };
        // Checkpoints run beside the writer, not inside one of its commits, where copying the
        // WAL back into the database would stall every push of that group.
        let _ = ctx.conn.pragma_update(None, "wal_autocheckpoint", 0);
        let checkpointer = spawn_checkpointer(path);
        let writer = std::thread::Builder::new()
            .name("db-writer".to_owned())
            .spawn(move || run_writer(ctx, receiver, commit_delay, &on_commit))
            .expect("spawning the database writer thread");
        Ok(Sqlite {
            path: path.to_owned(),
            sender,
            reads: Arc::new(Mutex::new(Vec::new())),
            writer: Arc::new(Mutex::new(Some(writer))),
            checkpointer: Arc::new(Mutex::new(checkpointer)),
            sequencer: sequencer::Sequencer::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the writer's next transaction and answers once that transaction is
    /// committed. If `f` fails, only its own work is rolled back (a savepoint); if the commit
    /// fails, every job of the group gets the error.
    ///
    /// # Errors
    /// `f`'s error, the commit's, or [`StoreError::Closed`].
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriterCtx) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |ctx: Option<&mut WriterCtx>| -> Finish {
            let result = match ctx {
                Some(ctx) => in_savepoint(ctx, f),
                None => Err(StoreError::Other("the write was not run".to_owned())),
            };
            Box::new(move |commit: Result<(), StoreError>| {
                let _ = tx.send(commit.and(result));
            })
        });
        self.sender
            .send(Message::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// [`Sqlite::write`], then `apply` with `f`'s value once the transaction is committed: in commit
    /// order with every other `apply` under the same `key` (a cluster id), whether or not the
    /// caller still waits (see [`sequencer`]). Memory changed by `apply` therefore changes in
    /// the order the database did. Answers `apply`'s value.
    ///
    /// # Errors
    /// As [`Sqlite::write`]; `apply` did not run then.
    pub(super) async fn write_then<T: Send + 'static, U: Send + 'static>(
        &self,
        key: &str,
        f: impl FnOnce(&mut WriterCtx) -> Result<T, StoreError> + Send + 'static,
        apply: impl FnOnce(T) -> U + Send + 'static,
    ) -> Result<U, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<U, StoreError>>();
        let (sequencer, key) = (self.sequencer.clone(), key.to_owned());
        let job: Job = Box::new(move |ctx: Option<&mut WriterCtx>| -> Finish {
            let result = match ctx {
                Some(ctx) => in_savepoint(ctx, f),
                None => Err(StoreError::Other("the write was not run".to_owned())),
            };
            // Called on the writer thread right after the commit, in commit order.
            Box::new(
                move |commit: Result<(), StoreError>| match commit.and(result) {
                    Ok(value) => sequencer.enqueue(
                        &key,
                        Box::new(move || {
                            let _ = tx.send(Ok(apply(value)));
                        }),
                    ),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                },
            )
        });
        self.sender
            .send(Message::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a read connection, off the async threads.
    ///
    /// # Errors
    /// `f`'s error, or one opening a read connection.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reads = self.reads.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = reads.lock().pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => {
                    let conn = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    conn.busy_timeout(Duration::from_secs(5))?;
                    conn
                }
            };
            let result = f(&conn);
            let mut pool = reads.lock();
            if pool.len() < 4 {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Other(format!("read task failed: {e}")))?
    }

    /// Whether a write commits now, with room for a typical push (for `/readyz`): writes and
    /// removes 64 KiB, so a full database is not ready although a one-row update would fit.
    ///
    /// # Errors
    /// Why it does not.
    pub async fn probe(&self) -> Result<(), StoreError> {
        self.write(|ctx| {
            ctx.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('probe-space', zeroblob(65536))",
                [],
            )?;
            ctx.conn
                .execute("DELETE FROM meta WHERE key = 'probe-space'", [])?;
            Ok(())
        })
        .await
    }

    /// Commits what is queued and stops the writer; later writes fail with `Closed`.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.sender.send(Message::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
        let handle = self.writer.lock().take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        let checkpointer = self.checkpointer.lock().take();
        if let Some(Checkpointer { stop, thread }) = checkpointer {
            drop(stop);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        self.reads.lock().clear();
    }
}

fn in_savepoint<T>(
    ctx: &mut WriterCtx,
    f: impl FnOnce(&mut WriterCtx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    ctx.conn.execute_batch("SAVEPOINT job")?;
    match f(ctx) {
        Ok(value) => {
            ctx.conn.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(e) => {
            if !ctx.conn.is_autocommit() {
                let _ = ctx.conn.execute_batch("ROLLBACK TO job; RELEASE job");
            }
            ctx.series.clear();
            ctx.last_error = Some(e.clone());
            Err(e)
        }
    }
}

fn run_writer(
    mut ctx: WriterCtx,
    mut receiver: mpsc::Receiver<Message>,
    commit_delay: Duration,
    on_commit: &impl Fn(usize, Duration),
) {
    let mut stop: Option<oneshot::Sender<()>> = None;
    while stop.is_none() {
        let Some(first) = receiver.blocking_recv() else {
            break;
        };
        let mut jobs = Vec::new();
        match first {
            Message::Job(job) => jobs.push(job),
            Message::Stop(done) => stop = Some(done),
        }
        while stop.is_none() && jobs.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(Message::Job(job)) => jobs.push(job),
                Ok(Message::Stop(done)) => stop = Some(done),
                Err(_) => break,
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let started = Instant::now();
        let count = jobs.len();
        if let Err(e) = ctx.conn.execute_batch("BEGIN IMMEDIATE") {
            let e = StoreError::from(e);
            for job in jobs {
                job(None)(Err(e.clone()));
            }
            continue;
        }
        let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
        let mut aborted: Option<StoreError> = None;
        for job in jobs {
            if aborted.is_some() {
                finishes.push(job(None));
                continue;
            }
            ctx.last_error = None;
            let finish = job(Some(&mut ctx));
            // SQLite rolls the whole transaction back by itself on some errors (a full disk,
            // I/O): the group is lost, every job in it must hear so, and none may run outside
            // the transaction.
            if ctx.conn.is_autocommit() {
                aborted = Some(ctx.last_error.take().unwrap_or_else(|| {
                    StoreError::Other("SQLite rolled the transaction back".to_owned())
                }));
            }
            finishes.push(finish);
        }
        if !commit_delay.is_zero() {
            std::thread::sleep(commit_delay);
        }
        let committed = match aborted {
            Some(e) => Err(e),
            None => ctx.conn.execute_batch("COMMIT").map_err(StoreError::from),
        };
        if committed.is_err() {
            if !ctx.conn.is_autocommit() {
                let _ = ctx.conn.execute_batch("ROLLBACK");
            }
            ctx.series.clear();
        } else {
            on_commit(count, started.elapsed());
        }
        for finish in finishes {
            finish(committed.clone());
        }
    }
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &tempfile::TempDir, max_bytes: u64) -> Sqlite {
        Sqlite::open(&dir.path().join("t.db"), max_bytes, |_, _| {}).unwrap()
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 0);
        let ok = db.write(|ctx| {
            ctx.conn
                .execute("INSERT INTO meta (key, value) VALUES ('a', '1')", [])?;
            Ok(())
        });
        let failing = db.write(|ctx| {
            ctx.conn
                .execute("INSERT INTO meta (key, value) VALUES ('b', '1')", [])?;
            ctx.conn
                .execute("INSERT INTO meta (key, value) VALUES ('a', '2')", [])?;
            Ok(())
        });
        let (ok, failing) = tokio::join!(ok, failing);
        ok.unwrap();
        assert!(
            matches!(failing, Err(StoreError::Conflict(_))),
            "{failing:?}"
        );
        let keys: Vec<String> = db
            .read(|conn| {
                let mut stmt = conn.prepare("SELECT key FROM meta ORDER BY key")?;
                let keys = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(keys)
            })
            .await
            .unwrap();
        assert!(keys.contains(&"a".to_owned()));
        assert!(!keys.contains(&"b".to_owned()), "{keys:?}");
        db.close().await;
        assert!(matches!(db.probe().await, Err(StoreError::Closed)));
    }

    #[tokio::test]
    async fn a_full_database_fails_writes_and_keeps_what_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 256 << 10);
        let blob = vec![7u8; 32 << 10];
        let mut stored = 0;
        let err = loop {
            let blob = blob.clone();
            let key = format!("k{stored}");
            match db
                .write(move |ctx| {
                    ctx.conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                        rusqlite::params![key, blob],
                    )?;
                    Ok(())
                })
                .await
            {
                Ok(()) => stored += 1,
                Err(e) => break e,
            }
            assert!(stored < 100, "the cap never hit");
        };
        assert!(matches!(err, StoreError::Full), "{err:?}");
        assert!(matches!(db.probe().await, Ok(()) | Err(StoreError::Full)));
        let count: i64 = db
            .read(|conn| {
                Ok(
                    conn.query_row("SELECT count(*) FROM meta WHERE key LIKE 'k%'", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .await
            .unwrap();
        assert_eq!(count, stored);
    }
}
