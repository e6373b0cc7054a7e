//! WAL checkpoints on a thread of their own, never inside the writer's `COMMIT`.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that crosses 1,000 WAL pages:
//! the committing group — and every transaction queued behind the writer — waits while it
//! copies the WAL into the database file and fsyncs both. Here the writer's automatic checkpoint
//! is off (`wal_autocheckpoint = 0`) and, at most every [`CHECKPOINT_EVERY`] while commits
//! come, a thread of its own runs a *passive* checkpoint on a connection of its own: it
//! copies what no reader still needs and never waits for a lock, while the writer goes on
//! appending to the WAL. Fewer, larger checkpoints; a page written many times is copied
//! once.
//!
//! SQLite restarts the WAL from its beginning — overwriting it instead of appending —
//! only when a write transaction begins with every frame copied. Under steady load the
//! writer appends between this thread's checkpoint and its own next `BEGIN`, so that never
//! happens by itself: the WAL grew by every commit's pages, over a gigabyte a minute
//! under the benchmark, each commit on freshly allocated blocks (whose fsync also commits the file
//! system's journal), and a restart after a crash had all of it to read. So once a
//! checkpoint finds the WAL longer than [`RESTART_PAGES`], it asks the writer to restart
//! it ([`WalRestart`]): the writer copies the few frames written since, between two
//! groups, and its next group writes from the WAL's beginning.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

/// How often a checkpoint is asked for while commits keep coming. (SQLite's automatic
/// checkpoint came ~20 times a second under the benchmark's load.)
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// A WAL this long (SQLite's own automatic checkpoint size, ~4 MiB in 4 KiB pages) is
/// restarted by the writer rather than left to grow.
const RESTART_PAGES: i64 = 1_000;

/// The checkpoint thread's request that the writer restart the WAL: set after a
/// checkpoint of a long WAL, taken by the writer at its next group.
#[derive(Debug, Clone, Default)]
pub struct WalRestart(Arc<AtomicBool>);

impl WalRestart {
    /// Whether a restart was asked for since the last call (and no longer is).
    pub fn take(&self) -> bool {
        self.0.load(Ordering::Relaxed) && self.0.swap(false, Ordering::Relaxed)
    }

    fn ask(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A passive checkpoint on `conn`: copies what no reader still needs from the WAL into the
/// database file, syncing both, and never waits for a lock. Returns the WAL's length and
/// how much of it is copied now, in pages.
pub fn passive(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}

/// Asks the checkpoint thread for checkpoints; the thread ends when this is dropped.
#[derive(Debug)]
pub struct Checkpoints {
    requests: SyncSender<()>,
}

impl Checkpoints {
    /// Starts the checkpoint thread of the database at `database`, which asks `restart`
    /// of the writer when the WAL has grown long.
    pub fn start(database: &Path, restart: WalRestart) -> std::io::Result<Checkpoints> {
        // One request waiting is enough: asked again meanwhile, the next checkpoint runs once.
        let (requests, received) = sync_channel(1);
        let checkpointer = Checkpointer {
            database: database.to_owned(),
            conn: None,
            restart,
        };
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpointer.run(received))?;
        Ok(Checkpoints { requests })
    }

    /// After a commit: a checkpoint soon — at once if none ran in the last
    /// [`CHECKPOINT_EVERY`], else once that has passed (so the last commits of a burst are
    /// checkpointed too). Never waits: with a request queued already this is one failed
    /// `try_send`.
    pub fn ask(&self) {
        let _ = self.requests.try_send(());
    }
}

/// The checkpoint thread's state.
struct Checkpointer {
    database: PathBuf,
    /// Its connection, opened at the first checkpoint.
    conn: Option<rusqlite::Connection>,
    restart: WalRestart,
}

impl Checkpointer {
    fn run(mut self, requests: Receiver<()>) {
        while requests.recv().is_ok() {
            self.checkpoint();
            // The pace: requests made meanwhile wait in the channel (one is enough) and
            // are served by the next round.
            std::thread::sleep(CHECKPOINT_EVERY);
        }
    }

    /// A [`passive`] checkpoint on this thread's connection; asks for a restart of a long
    /// WAL.
    fn checkpoint(&mut self) {
        if self.conn.is_none() {
            match rusqlite::Connection::open(&self.database) {
                Ok(conn) => self.conn = Some(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open a connection to checkpoint the WAL");
                    return;
                }
            }
        }
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        match passive(conn) {
            Ok((wal_pages, copied)) => {
                tracing::trace!(wal_pages, copied, "checkpointed the WAL");
                if wal_pages >= RESTART_PAGES {
                    self.restart.ask();
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; trying again later");
                self.conn = None;
            }
        }
    }
}
