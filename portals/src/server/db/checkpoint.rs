//! WAL checkpoints on a thread of their own, never inside the writer's `COMMIT`.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that crosses 1,000 WAL pages:
//! the committing group — and every transaction queued behind the writer — waits while it
//! copies the WAL into the database file and fsyncs both. Here the writer's automatic checkpoint
//! is off (`wal_autocheckpoint = 0`) and, at most every [`CHECKPOINT_EVERY`] while commits
//! come, a thread of its own runs a *passive* checkpoint on a connection of its own: it
//! copies what no reader still needs and never waits for a lock, while the writer goes on
//! appending to the WAL. Fewer, larger checkpoints; a page written many times is copied
//! once. SQLite restarts the WAL from its beginning once a checkpoint has copied all of it,
//! so the file stays bounded as before.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

/// How often a checkpoint is asked for while commits keep coming. (SQLite's automatic
/// checkpoint came ~20 times a second under the benchmark's load.)
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Asks the checkpoint thread for checkpoints; the thread ends when this is dropped.
#[derive(Debug)]
pub struct Checkpoints {
    requests: SyncSender<()>,
}

impl Checkpoints {
    /// Starts the checkpoint thread of the database at `database`.
    pub fn start(database: &Path) -> std::io::Result<Checkpoints> {
        // One request waiting is enough: asked again meanwhile, the next checkpoint runs once.
        let (requests, received) = sync_channel(1);
        let checkpointer = Checkpointer {
            database: database.to_owned(),
            conn: None,
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

    /// A passive checkpoint: copies what no reader still needs from the WAL into the
    /// database file, syncing both, and never waits for a lock.
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
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match done {
            Ok((wal_pages, copied)) => tracing::trace!(wal_pages, copied, "checkpointed the WAL"),
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; trying again later");
                self.conn = None;
            }
        }
    }
}
