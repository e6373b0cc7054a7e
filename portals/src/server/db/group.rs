//! Group commit for SQLite: the writes of transactions that arrive together share one
//! `COMMIT` — one fsync with `synchronous=FULL` — and each is answered only after it.
//!
//! SQLite has one writer at a time. Left to itself, every pooled connection that wants to
//! write takes the file lock in turn, and the ones that find it taken *sleep* in SQLite's
//! busy handler (1, 2, 5, 10… ms) and try again: latency spikes and a commit, and an
//! fsync, per transaction. Here every write goes through one writer connection, handed
//! from transaction to transaction by a fair (FIFO) async lock, so nobody sleeps:
//!
//! * the first transaction of a group opens it (`BEGIN IMMEDIATE`); each transaction is a
//!   `SAVEPOINT` in it, released when it commits and rolled back to when it fails, so one
//!   transaction's failure undoes only its own writes;
//! * a transaction that commits while others wait for the writer leaves the group open,
//!   hands the writer on and waits; a *flusher* queued behind the waiters commits the
//!   group once they have had their turn, and wakes every member with the outcome;
//! * with nobody waiting, the transaction commits the group itself at once, so a lone
//!   transaction pays no extra latency.
//!
//! A member is answered "committed" only after the group's `COMMIT` returned: nothing is
//! acknowledged that a crash could take back. If the `COMMIT` fails, every member gets
//! the error and none of their writes stays.
//!
//! Reads do not come here: they run on the pool's other connections (WAL lets them read
//! beside the writer) and see committed data only. So a transaction that must decide on
//! what another member wrote (a repeated request finding the first one's row) reads it
//! through itself, and its rollback, like a commit, returns only once the group is
//! durable.
//!
//! One rule for callers: while a transaction is open, its task writes only through it —
//! beginning a second one, or writing through the pool, would wait for the writer this
//! transaction holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Connection, Executor, SqliteConnection};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// The most transactions one `COMMIT` carries: a bound on how long the first of them
/// waits for its answer.
const MAX_GROUP: usize = 64;

/// What a member of a group learns when the group ends.
type Outcome = Result<(), Arc<sqlx::Error>>;

/// The writer connection and the group open on it.
pub struct Slot {
    conn: SqliteConnection,
    /// The open group's members still waiting for its `COMMIT`; `None`: no group open.
    group: Option<Vec<oneshot::Sender<Outcome>>>,
    /// A flusher is queued for the open group.
    flush_queued: bool,
    /// Savepoint names are unique per connection (a name that was released can be
    /// reused, but distinct ones make the statement log readable).
    next_savepoint: u64,
}

/// The one writer of a SQLite database.
pub struct Writer {
    slot: Arc<Mutex<Slot>>,
    /// Transactions waiting for the writer (a hint: whether a commit should wait for a
    /// group to form or commit at once).
    waiting: AtomicUsize,
    /// Groups committed, and the transactions they carried: their ratio is how many
    /// transactions share an fsync.
    groups: AtomicUsize,
    members: AtomicUsize,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Counts a waiter for as long as it waits, however its wait ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Writer {
    pub fn new(conn: SqliteConnection) -> Arc<Writer> {
        Arc::new(Writer {
            slot: Arc::new(Mutex::new(Slot {
                conn,
                group: None,
                flush_queued: false,
                next_savepoint: 0,
            })),
            waiting: AtomicUsize::new(0),
            groups: AtomicUsize::new(0),
            members: AtomicUsize::new(0),
        })
    }

    /// (groups committed, transactions they carried) since the writer opened.
    pub fn committed(&self) -> (usize, usize) {
        (
            self.groups.load(Ordering::Relaxed),
            self.members.load(Ordering::Relaxed),
        )
    }

    /// A transaction: the writer, a group open on it, a savepoint of its own.
    pub async fn begin(self: &Arc<Writer>) -> Result<WriteTx, sqlx::Error> {
        let mut slot = {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let _counted = Waiting(&self.waiting);
            self.slot.clone().lock_owned().await
        };
        if slot.group.is_none() {
            // IMMEDIATE: the write lock now, not at the first write, so a group never
            // meets another process's writer halfway (that would be SQLITE_BUSY).
            slot.conn.execute("BEGIN IMMEDIATE").await?;
            slot.group = Some(Vec::new());
        }
        slot.next_savepoint += 1;
        let savepoint = format!("member_{}", slot.next_savepoint);
        if let Err(e) = slot
            .conn
            .execute(sqlx::AssertSqlSafe(format!("SAVEPOINT {savepoint}")))
            .await
        {
            self.hand_on(slot).await;
            return Err(e);
        }
        Ok(WriteTx {
            writer: self.clone(),
            slot: Some(slot),
            savepoint,
        })
    }

    /// Leaves the writer: ends the open group at once when nobody waits for the writer,
    /// or makes sure a flusher will, after those who wait.
    async fn hand_on(self: &Arc<Writer>, mut slot: OwnedMutexGuard<Slot>) {
        if slot.group.is_none() {
            return;
        }
        if self.waiting.load(Ordering::SeqCst) == 0 || group_full(&slot) {
            self.finish(&mut slot).await;
        } else if !slot.flush_queued {
            slot.flush_queued = true;
            let writer = self.clone();
            // Queued now, behind the waiters (the lock is FIFO): they join this group.
            tokio::spawn(async move {
                let mut slot = writer.slot.clone().lock_owned().await;
                slot.flush_queued = false;
                writer.finish(&mut slot).await;
            });
        }
    }

    /// Commits the open group and tells every member how it went.
    async fn finish(&self, slot: &mut Slot) {
        let Some(members) = slot.group.take() else {
            return;
        };
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.members.fetch_add(members.len(), Ordering::Relaxed);
        commit_group(slot, members).await;
    }
}

fn group_full(slot: &Slot) -> bool {
    slot.group.as_ref().is_some_and(|g| g.len() >= MAX_GROUP)
}

/// `COMMIT`, and every member told how it went.
async fn commit_group(slot: &mut Slot, members: Vec<oneshot::Sender<Outcome>>) {
    let outcome: Outcome = match slot.conn.execute("COMMIT").await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, members = members.len(), "group commit failed");
            // A failed COMMIT may leave the transaction open; nothing of it may stay.
            let _ = slot.conn.execute("ROLLBACK").await;
            Err(Arc::new(e))
        }
    };
    for member in members {
        // A member whose request went away no longer listens; its writes committed all
        // the same.
        let _ = member.send(outcome.clone());
    }
}

/// A transaction on the writer: a savepoint in the open group.
pub struct WriteTx {
    writer: Arc<Writer>,
    /// `None` once committed or rolled back.
    slot: Option<OwnedMutexGuard<Slot>>,
    savepoint: String,
}

fn shared_error(e: &Arc<sqlx::Error>) -> sqlx::Error {
    sqlx::Error::Protocol(format!("group commit failed: {e}"))
}

impl WriteTx {
    /// The writer connection, for this transaction's statements.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        match self.slot.as_mut() {
            Some(slot) => &mut slot.conn,
            // Unreachable: commit and rollback take the transaction by value.
            None => unreachable!("a finished transaction has no connection"),
        }
    }

    /// Releases the savepoint and returns once the group holding it has committed.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let Some(mut slot) = self.slot.take() else {
            return Ok(());
        };
        let released = slot
            .conn
            .execute(sqlx::AssertSqlSafe(format!("RELEASE {}", self.savepoint)))
            .await;
        if let Err(e) = released {
            undo(&mut slot, &self.savepoint).await;
            self.writer.hand_on(slot).await;
            return Err(e);
        }
        self.join(slot).await
    }

    /// Undoes this transaction's writes; the group's other members are untouched. It
    /// returns, too, only once the group has committed: what this transaction read may be
    /// another member's write not yet durable (a repeat finding the first request's row),
    /// and its caller must not answer on it before it is.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let Some(mut slot) = self.slot.take() else {
            return Ok(());
        };
        undo(&mut slot, &self.savepoint).await;
        if slot.group.is_none() {
            return Ok(());
        }
        self.join(slot).await
    }

    /// Waits as a member of the open group for its `COMMIT`.
    async fn join(&self, mut slot: OwnedMutexGuard<Slot>) -> Result<(), sqlx::Error> {
        let (told, answer) = oneshot::channel();
        match slot.group.as_mut() {
            Some(members) => members.push(told),
            None => return Err(sqlx::Error::Protocol("no group open".into())),
        }
        self.writer.hand_on(slot).await;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(shared_error(&e)),
            Err(_) => Err(sqlx::Error::Protocol(
                "the group ended without an answer".into(),
            )),
        }
    }
}

/// Rolls the writer back to `savepoint` and drops it. If even that fails the connection
/// is in a state nobody can vouch for: the whole group is rolled back and its members told.
async fn undo(slot: &mut Slot, savepoint: &str) {
    let undone = slot
        .conn
        .execute(sqlx::AssertSqlSafe(format!(
            "ROLLBACK TO {savepoint}; RELEASE {savepoint}"
        )))
        .await;
    if let Err(e) = undone {
        tracing::error!(error = %e, "savepoint rollback failed; rolling the group back");
        let _ = slot.conn.execute("ROLLBACK").await;
        let error = Arc::new(e);
        for member in slot.group.take().unwrap_or_default() {
            let _ = member.send(Err(error.clone()));
        }
    }
}

impl Drop for WriteTx {
    /// Dropped unfinished (an error returned early, a request that went away): its writes
    /// are undone on the runtime, and the writer handed on.
    fn drop(&mut self) {
        if let Some(mut slot) = self.slot.take() {
            let (writer, savepoint) = (self.writer.clone(), self.savepoint.clone());
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    undo(&mut slot, &savepoint).await;
                    writer.hand_on(slot).await;
                });
            }
        }
    }
}

/// Opens the dedicated writer connection with the pool's options.
pub async fn connect(
    options: &sqlx::sqlite::SqliteConnectOptions,
) -> Result<Arc<Writer>, sqlx::Error> {
    Ok(Writer::new(SqliteConnection::connect_with(options).await?))
}
