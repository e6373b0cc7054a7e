//! `synchronous=FULL` without the writer waiting for the disk: commits are made durable by
//! a thread of their own, while the writer goes on with the next group.
//!
//! With SQLite's own FULL, `COMMIT` writes the transaction's pages to the WAL file and
//! fsyncs it *while holding the write lock*: the next group cannot begin until the disk
//! has answered, so a payment's three durable waits (processing's reservation, the
//! provider's credit, processing's settlement) are three fsyncs in a row that nothing else
//! overlaps, and FULL ran at 52–80 % of NORMAL (docs/performance.md). Here the writer
//! commits as NORMAL does — the pages are written to the WAL (the kernel's cache), no
//! fsync — and this module's *syncer* thread fsyncs the WAL file behind it. One fsync
//! covers every commit written before it began, so while the disk syncs one group the
//! writer is already executing the next: the disk and the CPU work at the same time. The
//! next group is committed only once that sync has returned (server/db/group.rs): whoever
//! comes during a sync joins one group, as during SQLite's own FULL `COMMIT`, instead of
//! a `COMMIT` and an fsync each.
//!
//! What does not change is the promise: nothing is answered on data a power cut could take
//! back.
//! * A transaction's caller learns "committed" only once a sync that began after its
//!   `COMMIT` has returned ([`Durability::until`]); so does a rollback (it may have read
//!   another member's write), as before.
//! * A commit is visible to other connections the moment it is written, before it is
//!   durable — that is the difference from SQLite's FULL. So every read beside the writer
//!   that can reach an answer ([`crate::server::db::query`]'s lookups and pooled reads)
//!   waits, after it read, until everything committed by then is durable
//!   ([`Durability::settle`]). With no sync in flight that is one atomic load. Inside an
//!   HTTP request ([`answered_when_durable`], a layer of every participant's router when
//!   the syncer is on) the read does not wait: it notes what it saw, and the answer leaves
//!   only once that is durable — one wait a request, most often none left by then.
//! * A failed fsync poisons the database for this process (the kernel may have dropped the
//!   pages it could not write, and a later fsync would report success — PostgreSQL's
//!   "fsyncgate"): every waiter and every later transaction gets an error; the operator
//!   restarts the participant, and SQLite recovers from the WAL what reached the disk.
//!
//! Checkpoints run on their own thread (server/db/checkpoint.rs), as in every mode; here the
//! syncer asks for them, after a sync, so what they copy is durable already.
//!
//! It is not the default. `PAYMESH_SQLITE_SYNC=syncer` turns it on; without it SQLite's own
//! FULL runs (the fsync inside `COMMIT`). On the development machine's disks (4–15,000
//! single-row FULL commits/s) it has not beaten SQLite's FULL: groups committed as soon
//! as they formed ran 15–25 % behind it; committed after the sync, with the reads'
//! waits moved to the answer, 1–6 % behind (docs/performance.md). It is kept, tested, for
//! a disk whose fsync takes milliseconds, where FULL's serial waits dominate — to be
//! measured there before it is made the default.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::watch;

use super::checkpoint::{Checkpoints, WalRestart};

/// How the syncer's work ended, as the waiters see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Synced {
    /// Every commit numbered up to this one is durable.
    UpTo(u64),
    /// An fsync failed: nothing committed after the last good one may be counted on.
    Failed,
}

/// Whether the operator asked for the syncer (`PAYMESH_SQLITE_SYNC=syncer`) instead of
/// SQLite's own FULL.
pub fn syncer_requested() -> bool {
    std::env::var("PAYMESH_SQLITE_SYNC").is_ok_and(|v| v == "syncer")
}

/// The commits made so far and how many of them are durable.
#[derive(Debug)]
pub struct Durability {
    /// Commits numbered 1, 2, … as the writer makes them (under `pending`'s lock, so the
    /// syncer never misses one).
    committed: AtomicU64,
    pending: Mutex<Pending>,
    wake: Condvar,
    synced: watch::Sender<Synced>,
    /// Held by a test to stand for a disk that has not answered yet.
    #[cfg(test)]
    pub(crate) disk: Mutex<()>,
}

#[derive(Debug)]
struct Pending {
    committed: u64,
    closed: bool,
}

/// What a waiter gets when the disk failed.
fn failed() -> sqlx::Error {
    sqlx::Error::Protocol(
        "the disk failed to make committed data durable (fsync); restart the participant".into(),
    )
}

impl Durability {
    /// Starts the syncer for the database at `path` (its WAL is `path` + `-wal`).
    pub fn start(path: &Path, restart: WalRestart) -> std::io::Result<Arc<Durability>> {
        let (synced, _) = watch::channel(Synced::UpTo(0));
        let durability = Arc::new(Durability {
            committed: AtomicU64::new(0),
            pending: Mutex::new(Pending {
                committed: 0,
                closed: false,
            }),
            wake: Condvar::new(),
            synced,
            #[cfg(test)]
            disk: Mutex::new(()),
        });
        let syncer = Syncer {
            wal: wal_path(path),
            database: path.to_owned(),
            wal_inode: None,
            checkpoints: Checkpoints::start(path, restart)?,
            durability: durability.clone(),
        };
        std::thread::Builder::new()
            .name("sqlite-sync".into())
            .spawn(move || syncer.run())?;
        Ok(durability)
    }

    /// Numbers a commit the writer has just made and wakes the syncer for it.
    pub fn committed(&self) -> u64 {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.committed += 1;
        self.committed.store(pending.committed, Ordering::Release);
        self.wake.notify_one();
        pending.committed
    }

    /// Returns once commit `seq` (and all before it) is durable.
    pub async fn until(&self, seq: u64) -> Result<(), sqlx::Error> {
        let reached = |s: &Synced| match s {
            Synced::UpTo(n) => *n >= seq,
            Synced::Failed => true,
        };
        let mut synced = self.synced.subscribe();
        let outcome = match synced.wait_for(reached).await {
            Ok(s) => *s,
            // The syncer is gone only with the writer that owns it.
            Err(_) => Synced::Failed,
        };
        match outcome {
            Synced::UpTo(_) => Ok(()),
            Synced::Failed => Err(failed()),
        }
    }

    /// Returns once everything committed so far is durable: for a read that has just
    /// finished, whatever it saw. Inside [`answered_when_durable`] (an HTTP request) the
    /// read does not wait: the answer does, once, for everything its reads saw.
    pub async fn settle(self: &Arc<Self>) -> Result<(), sqlx::Error> {
        let seen = self.committed.load(Ordering::Acquire);
        if matches!(*self.synced.borrow(), Synced::UpTo(n) if n >= seen) {
            return Ok(());
        }
        if owed_by_the_answer(self, seen) {
            return Ok(());
        }
        self.until(seen).await
    }

    /// Whether a sync is in flight: commits are made that the disk has not answered for.
    pub fn syncing(&self) -> bool {
        let committed = self.committed.load(Ordering::Acquire);
        matches!(*self.synced.borrow(), Synced::UpTo(n) if n < committed)
    }

    /// Returns once every commit made so far is durable (or the disk failed: the commits
    /// after it learn that for themselves).
    pub async fn synced(&self) {
        let _ = self.until(self.committed.load(Ordering::Acquire)).await;
    }

    /// Whether a sync has failed: the writer takes no more transactions.
    pub fn poisoned(&self) -> bool {
        matches!(*self.synced.borrow(), Synced::Failed)
    }

    /// Stops the syncer once it has synced what is pending (the writer is going away).
    pub(super) fn close(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.closed = true;
        self.wake.notify_one();
    }
}

tokio::task_local! {
    /// What the reads of the HTTP request being answered have seen: the answer leaves
    /// only once it is durable.
    static OWED: RefCell<Owed>;
}

/// The newest commit a request's reads saw, and whose syncer makes it durable.
#[derive(Default)]
struct Owed {
    durability: Option<Arc<Durability>>,
    seq: u64,
}

/// Records, inside an HTTP request, that its answer must wait for commit `seq`; `false`
/// outside one (a background job, a spawned task, a streamed body), or for a second
/// database in the same request — then the read waits for itself.
fn owed_by_the_answer(durability: &Arc<Durability>, seq: u64) -> bool {
    OWED.try_with(|owed| {
        let mut owed = owed.borrow_mut();
        match &owed.durability {
            None => {
                owed.durability = Some(durability.clone());
                owed.seq = seq;
                true
            }
            Some(d) if Arc::ptr_eq(d, durability) => {
                owed.seq = owed.seq.max(seq);
                true
            }
            Some(_) => false,
        }
    })
    .unwrap_or(false)
}

/// Middleware: answers the request only once everything its reads saw is durable. A
/// request's reads then do not each wait for the syncer: the answer waits once, and
/// usually not at all — a request that writes has waited for its own commit, which is
/// durable only after every commit before it (one WAL, synced as a prefix). Nothing of
/// the answer reaches the client before that. What the handler does meanwhile with what
/// it read is mostly to write through the writer, whose commit comes after what it saw;
/// what else it sends first (a check to a provider, a report by e-mail) moves no money
/// (docs/reliability.md).
pub async fn answered_when_durable(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (response, owed) = OWED
        .scope(RefCell::new(Owed::default()), async {
            let response = next.run(request).await;
            (response, OWED.with(|owed| owed.take()))
        })
        .await;
    match owed.durability {
        Some(durability) => match durability.until(owed.seq).await {
            Ok(()) => response,
            Err(e) => {
                use axum::response::IntoResponse;
                shared::error::ApiError::internal(e).into_response()
            }
        },
        None => response,
    }
}

fn wal_path(database: &Path) -> PathBuf {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

/// The syncer thread's state.
struct Syncer {
    wal: PathBuf,
    database: PathBuf,
    /// The WAL file last synced: a new one (SQLite deletes the WAL when its last
    /// connection closes) needs its directory entry synced too.
    wal_inode: Option<u64>,
    /// Checkpoints follow the syncs: asked for once what they copy is durable.
    checkpoints: Checkpoints,
    durability: Arc<Durability>,
}

impl Syncer {
    fn run(mut self) {
        let mut synced = 0;
        loop {
            let target = {
                let mut pending = self
                    .durability
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                while pending.committed == synced && !pending.closed {
                    pending = self
                        .durability
                        .wake
                        .wait(pending)
                        .unwrap_or_else(|p| p.into_inner());
                }
                if pending.committed == synced {
                    return; // closed, nothing left to sync
                }
                pending.committed
            };
            #[cfg(test)]
            let durability = self.durability.clone();
            #[cfg(test)]
            let disk = durability.disk.lock();
            let outcome = self.sync_wal();
            #[cfg(test)]
            drop(disk);
            match outcome {
                Ok(()) => {
                    synced = target;
                    self.durability.synced.send_replace(Synced::UpTo(target));
                    self.checkpoints.ask();
                }
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        wal = %self.wal.display(),
                        "fsync of the WAL failed: commits after the last durable one are in \
                         doubt; this database takes no more writes until the participant \
                         restarts"
                    );
                    self.durability.synced.send_replace(Synced::Failed);
                    return;
                }
            }
        }
    }

    /// fsyncs the WAL (and, the first time a WAL file is seen, its directory).
    fn sync_wal(&mut self) -> std::io::Result<()> {
        let wal = match File::open(&self.wal) {
            Ok(wal) => wal,
            // No WAL: SQLite checkpointed it into the database (and synced that) when its
            // last connection closed; nothing is waiting in a WAL.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        // fsync works on the file, whichever descriptor asks: SQLite's writes through its
        // own descriptor are in the same page cache.
        wal.sync_data()?;
        let meta = wal.metadata()?;
        if self.wal_inode != Some(meta.ino()) {
            if let Some(dir) = self.database.parent() {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                File::open(dir)?.sync_all()?;
            }
            self.wal_inode = Some(meta.ino());
        }
        Ok(())
    }
}
