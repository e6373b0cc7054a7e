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
//! * with nobody waiting, the group is not committed at once either: a flusher first lets
//!   the tasks ready to run have their turn, and again for as long as the group grows (a
//!   few turns at most), so requests already on their way join it instead of paying a
//!   `COMMIT` of their own — with FULL a whole fsync to wait out, with NORMAL the WAL's
//!   write and the wake-ups around it, a fifth to a quarter of a payment's CPU under
//!   load. A lone transaction pays one turn of the runtime. (With the syncer, opt-in, a
//!   group forms during the sync instead.)
//!
//! A member is answered "committed" only once the group's `COMMIT` is durable: nothing is
//! acknowledged that a crash could take back. If the `COMMIT` fails, every member gets
//! the error and none of their writes stays. With the syncer (server/db/durable.rs, opt-in)
//! the fsync that makes it durable is not the `COMMIT`'s own but the syncer's, so the
//! writer begins the next group while the disk syncs the last.
//!
//! Reads do not come here: they run on the pool's other connections (WAL lets them read
//! beside the writer) and see committed data only — once it is durable, too: with the
//! syncer, such a read waits for it before it returns. A transaction that must decide on what another
//! member wrote (a repeated request finding the first one's row) reads it through itself,
//! and its rollback, like a commit, returns only once the group is durable.
//!
//! The writer's statements run on the calling thread (server/db/lite.rs says why), the
//! group's `COMMIT` too when it does not fsync (NORMAL, or the syncer's: it only writes to
//! the kernel's cache then, and checkpoints run on a thread of their own —
//! server/db/checkpoint.rs), in a task of its own, so a request that goes away mid-commit
//! cannot cut the group's answer short. What may wait runs off the runtime, on tokio's
//! blocking pool: `BEGIN IMMEDIATE` while another *process* holds the write lock, and a
//! `COMMIT` that fsyncs itself (SQLite's own FULL, the default). Every `COMMIT` writes the
//! group's WAL frames as one write, not two a frame (server/db/walvfs.rs).
//!
//! One rule for callers: while a transaction is open, its task writes only through it —
//! beginning a second one, or writing through the pool, would wait for the writer this
//! transaction holds.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::checkpoint::{self, Checkpoints, WalRestart};
use super::durable::Durability;
use super::lite::{self, Opener, Readers};

/// The most transactions one `COMMIT` carries: a bound on how long the first of them
/// waits for its answer.
const MAX_GROUP: usize = 64;

/// The most turns the flusher gives the ready tasks before a `COMMIT` while the group
/// grows: a bound on what gathering adds to the first member's wait.
const MAX_GATHER_TURNS: usize = 4;

/// What a member of a group learns when the group ends: the commit's number, for the
/// syncer to make durable (0 when the `COMMIT` was durable itself).
type Outcome = Result<u64, Arc<sqlx::Error>>;

/// The writer connection and the group open on it.
pub struct Slot {
    /// `None` only while work runs off the runtime with it, or after such work was
    /// abandoned (then the next transaction opens a new one).
    conn: Option<Connection>,
    /// The open group's members still waiting for its `COMMIT`; `None`: no group open.
    group: Option<Vec<oneshot::Sender<Outcome>>>,
    /// A flusher is queued for the open group.
    flush_queued: bool,
    /// The open group may restart the WAL: its `COMMIT` then writes a new WAL header and
    /// fsyncs it (SQLite does, whatever `synchronous` says), so it runs off the runtime.
    header_sync_due: bool,
}

/// The group's bookkeeping, each a statement the writer prepares once and keeps in its
/// cache (run as batches, they were prepared anew each time: ~7 prepares a payment).
/// Every member's savepoint has the same name: only one is open at a time, and a name
/// released or rolled back to and released may be used again.
const BEGIN: &str = "BEGIN IMMEDIATE";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";
const SAVEPOINT: &str = "SAVEPOINT member";
const RELEASE: &str = "RELEASE member";
const ROLLBACK_TO: &str = "ROLLBACK TO member";

/// The one writer of a SQLite database, and the read-only connections beside it that
/// serve [`super::QueryAs::lookup`].
pub struct Writer {
    slot: Arc<Mutex<Slot>>,
    opener: Opener,
    readers: Readers,
    /// The syncer that makes commits durable, unless the `COMMIT` fsyncs itself (or
    /// `synchronous=NORMAL` wants no fsync).
    durability: Option<Arc<Durability>>,
    /// The checkpoint thread, asked after commits (with the syncer, the syncer asks it).
    checkpoints: Option<Checkpoints>,
    /// Set by the checkpoint thread when the WAL has grown long (server/db/checkpoint.rs).
    restart_wal: WalRestart,
    /// Transactions waiting for the writer (a hint: whether a commit should wait for a
    /// group to form or commit at once).
    waiting: AtomicUsize,
    /// Groups committed, and the transactions they carried: their ratio is how many
    /// transactions share an fsync.
    groups: AtomicUsize,
    members: AtomicUsize,
    /// `COMMIT`s that fsynced (on the blocking pool), and the microseconds their groups
    /// waited for them: how long the disk holds a group here, against a commit alone.
    fsynced: AtomicUsize,
    fsync_wait_us: AtomicU64,
    /// Transactions that have joined a group so far: whether a turn given to the ready
    /// tasks brought a new member.
    joined: AtomicUsize,
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

/// Runs `work` with the slot's connection on tokio's blocking pool and puts the
/// connection back. If the caller stops waiting, the connection goes with the work and
/// the next transaction opens another.
async fn off_runtime<R: Send + 'static>(
    slot: &mut Slot,
    opener: &Opener,
    work: impl FnOnce(&mut Connection) -> Result<R, rusqlite::Error> + Send + 'static,
) -> Result<R, sqlx::Error> {
    let mut conn = match slot.conn.take() {
        Some(conn) => conn,
        None => opener.writer().map_err(lite::database_error)?,
    };
    let done = tokio::task::spawn_blocking(move || {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut conn)));
        (conn, result)
    })
    .await;
    match done {
        Ok((conn, result)) => {
            slot.conn = Some(conn);
            match result {
                Ok(result) => result.map_err(lite::database_error),
                Err(_) => Err(sqlx::Error::Protocol(
                    "SQLite work panicked off the runtime".into(),
                )),
            }
        }
        Err(e) => Err(sqlx::Error::Protocol(format!("SQLite work lost: {e}"))),
    }
}

impl Writer {
    /// The writer for the database `opener` opens (after its migrations ran).
    pub fn open(opener: Opener) -> Result<Arc<Writer>, sqlx::Error> {
        let conn = opener.writer().map_err(lite::database_error)?;
        let restart_wal = WalRestart::default();
        let durability = if opener.syncer_fsyncs() {
            Some(
                Durability::start(opener.path(), restart_wal.clone()).map_err(|e| {
                    sqlx::Error::Protocol(format!("cannot start the WAL syncer: {e}"))
                })?,
            )
        } else {
            None
        };
        let checkpoints = match durability {
            Some(_) => None,
            None => Some(
                Checkpoints::start(opener.path(), restart_wal.clone()).map_err(|e| {
                    sqlx::Error::Protocol(format!("cannot start the WAL checkpoint thread: {e}"))
                })?,
            ),
        };
        Ok(Arc::new(Writer {
            durability,
            checkpoints,
            restart_wal,
            slot: Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                group: None,
                flush_queued: false,
                header_sync_due: false,
            })),
            readers: Readers::new(opener.clone()),
            opener,
            waiting: AtomicUsize::new(0),
            groups: AtomicUsize::new(0),
            members: AtomicUsize::new(0),
            fsynced: AtomicUsize::new(0),
            fsync_wait_us: AtomicU64::new(0),
            joined: AtomicUsize::new(0),
        }))
    }

    /// The read-only connections beside the writer.
    pub fn readers(&self) -> &Readers {
        &self.readers
    }

    /// (groups committed, transactions they carried) since the writer opened.
    pub fn committed(&self) -> (usize, usize) {
        (
            self.groups.load(Ordering::Relaxed),
            self.members.load(Ordering::Relaxed),
        )
    }

    /// (group `COMMIT`s that fsynced, the time their groups waited for them in all)
    /// since the writer opened.
    pub fn fsync_waits(&self) -> (usize, std::time::Duration) {
        (
            self.fsynced.load(Ordering::Relaxed),
            std::time::Duration::from_micros(self.fsync_wait_us.load(Ordering::Relaxed)),
        )
    }

    /// Whether the syncer makes this writer's commits durable.
    pub fn has_syncer(&self) -> bool {
        self.durability.is_some()
    }

    /// Returns once everything committed so far is durable: what a read beside the
    /// writer has just seen may be answered on.
    pub async fn settle(&self) -> Result<(), sqlx::Error> {
        match &self.durability {
            Some(durability) => durability.settle().await,
            None => Ok(()),
        }
    }

    /// A transaction: the writer, a group open on it, a savepoint of its own.
    pub async fn begin(self: &Arc<Writer>) -> Result<WriteTx, sqlx::Error> {
        if let Some(durability) = &self.durability
            && durability.poisoned()
        {
            return Err(sqlx::Error::Protocol(
                "the disk failed an fsync; this database takes no more writes until the \
                 participant restarts"
                    .into(),
            ));
        }
        let mut slot = {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let _counted = Waiting(&self.waiting);
            self.slot.clone().lock_owned().await
        };
        if slot.conn.is_none() {
            slot.conn = Some(self.opener.writer().map_err(lite::database_error)?);
        }
        if slot.group.is_none() {
            self.open_group(&mut slot).await?;
        }
        if let Err(e) = run(&slot, SAVEPOINT) {
            self.hand_on(slot);
            return Err(e);
        }
        Ok(WriteTx {
            writer: self.clone(),
            slot: Some(slot),
        })
    }

    /// `BEGIN IMMEDIATE`: the write lock now, not at the first write, so a group never
    /// meets another process's writer halfway (that would be SQLITE_BUSY). Tried at once;
    /// held by another process, it is waited for (up to the busy timeout) off the runtime.
    async fn open_group(&self, slot: &mut Slot) -> Result<(), sqlx::Error> {
        if self.restart_wal.take() {
            self.catch_up(slot).await;
        }
        let tried = match slot.conn.as_ref() {
            Some(conn) => step(conn, BEGIN),
            None => return Err(sqlx::Error::Protocol("the writer has no connection".into())),
        };
        match tried {
            Ok(()) => {}
            Err(e) if lite::is_busy(&e) => {
                tracing::debug!("the write lock is held by another process; waiting for it");
                off_runtime(slot, &self.opener, |conn| {
                    conn.busy_timeout(super::BUSY_TIMEOUT)?;
                    let began = step(conn, BEGIN);
                    conn.busy_timeout(std::time::Duration::ZERO)?;
                    began
                })
                .await?;
            }
            Err(e) => return Err(lite::database_error(e)),
        }
        slot.group = Some(Vec::new());
        Ok(())
    }

    /// Copies into the database what the WAL holds beyond the checkpoint thread's last
    /// checkpoint — a few frames, most of it copied already — with no group open, so the
    /// next group begins with every frame copied and SQLite writes it from the WAL's
    /// beginning instead of appending. A reader still on an older snapshot can keep a
    /// frame from being copied: then the WAL restarts at a later request. The checkpoint
    /// fsyncs, so it runs off the runtime.
    async fn catch_up(&self, slot: &mut Slot) {
        let copied = off_runtime(slot, &self.opener, |conn| checkpoint::passive(conn)).await;
        match copied {
            Ok((wal_pages, copied)) => {
                tracing::trace!(wal_pages, copied, "caught the WAL up for a restart");
                slot.header_sync_due = wal_pages == copied;
            }
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint before a restart failed"),
        }
    }

    /// Leaves the writer: ends the open group at once when it is full, or makes sure a
    /// flusher will, after those who wait. The group's `COMMIT` runs in a task of its own
    /// either way: no caller going away can stop it halfway.
    ///
    /// Unless it is full or the syncer is on, a group is never ended at once: the
    /// flusher first gathers ([`Writer::gather`]), so the tasks already woken — a request
    /// about to begin its transaction — join this group rather than queue behind its
    /// `COMMIT`. With nothing else ready that costs one yield. With FULL the `COMMIT` is
    /// an fsync (the twelfth and thirteenth steps of docs/performance.md); with NORMAL it
    /// is cheaper but not free: committing at once made groups of 2.7 transactions at
    /// processing and 1.2 at the provider under the benchmark, gathering 15 and 14, for
    /// 19–28 % less CPU a payment (the nineteenth step).
    ///
    /// With the syncer, a group is not committed while the disk syncs the last: its
    /// members would only wait for the next sync anyway. It stays open, and whoever comes
    /// meanwhile joins it, so the writer executes one group while the disk syncs the one
    /// before, and a group holds what arrives during a sync, as with SQLite's FULL.
    fn hand_on(self: &Arc<Writer>, mut slot: OwnedMutexGuard<Slot>) {
        if slot.group.is_none() {
            return;
        }
        let syncing = self.durability.as_ref().is_some_and(|d| d.syncing());
        // Short of full, only the syncer's groups may end at once (above).
        let gather = !self.opener.syncer_fsyncs();
        if group_full(&slot) || (!syncing && !gather && self.waiting.load(Ordering::SeqCst) == 0) {
            let writer = self.clone();
            tokio::spawn(async move {
                writer.finish(&mut slot).await;
            });
        } else if !slot.flush_queued {
            slot.flush_queued = true;
            let writer = self.clone();
            // Queued behind the waiters (the lock is FIFO), after the sync in flight with
            // the syncer, or else after the tasks ready to run: they, and whoever comes
            // meanwhile, join this group.
            tokio::spawn(async move {
                if syncing && let Some(durability) = &writer.durability {
                    durability.synced().await;
                }
                if gather {
                    writer.gather().await;
                }
                let mut slot = writer.slot.clone().lock_owned().await;
                slot.flush_queued = false;
                writer.finish(&mut slot).await;
            });
        }
    }

    /// Before a `COMMIT`: yields to the runtime — every task ready to run has its turn, and
    /// the I/O that arrived meanwhile is polled — and again while the group is still
    /// growing (a turn brought it a member, or one waits for the writer), up to
    /// [`MAX_GATHER_TURNS`]. A request that joins has often just woken the next, through
    /// a socket: one turn behind it. (Measured at 16 payments in flight: groups of 7.5 and
    /// 5.1 transactions after one turn, 12.4 and 10.7 this way, and 6–15 % less CPU a
    /// payment; docs/performance.md, the thirteenth step.)
    async fn gather(&self) {
        for _ in 0..MAX_GATHER_TURNS {
            let joined = self.joined.load(Ordering::SeqCst);
            tokio::task::yield_now().await;
            // Still growing: a member joined, or one waits for the writer to join.
            let growing = self.joined.load(Ordering::SeqCst) != joined
                || self.waiting.load(Ordering::SeqCst) > 0;
            if !growing {
                return;
            }
        }
    }

    /// Commits the open group and tells every member how it went.
    async fn finish(&self, slot: &mut Slot) {
        let Some(members) = slot.group.take() else {
            return;
        };
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.members.fetch_add(members.len(), Ordering::Relaxed);
        let committed = if self.opener.commit_fsyncs() || slot.header_sync_due {
            slot.header_sync_due = false;
            let started = std::time::Instant::now();
            let committed = off_runtime(slot, &self.opener, |conn| step(conn, COMMIT)).await;
            let waited = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.fsynced.fetch_add(1, Ordering::Relaxed);
            self.fsync_wait_us.fetch_add(waited, Ordering::Relaxed);
            committed
        } else {
            // NORMAL, or the syncer's: the WAL pages go to the kernel's cache, no fsync (and
            // no checkpoint: those run on their own thread), so on this thread.
            run(slot, COMMIT)
        };
        if committed.is_ok()
            && let Some(checkpoints) = &self.checkpoints
        {
            checkpoints.ask();
        }
        let outcome: Outcome = match committed {
            Ok(()) => Ok(self.durability.as_ref().map_or(0, |d| d.committed())),
            Err(e) => {
                tracing::error!(error = %e, members = members.len(), "group commit failed");
                // A failed COMMIT may leave the transaction open; nothing of it may
                // stay. (Without a connection there is no transaction left either.)
                if let Some(conn) = slot.conn.as_ref() {
                    let _ = step(conn, ROLLBACK);
                }
                Err(Arc::new(e))
            }
        };
        for member in members {
            // A member whose request went away no longer listens; its writes committed all
            // the same.
            let _ = member.send(outcome.clone());
        }
    }
}

/// Runs one statement of the group's bookkeeping (no rows, microseconds), prepared once
/// per connection.
fn step(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// [`step`] on the writer's connection.
fn run(slot: &Slot, sql: &str) -> Result<(), sqlx::Error> {
    match slot.conn.as_ref() {
        Some(conn) => step(conn, sql).map_err(lite::database_error),
        None => Err(sqlx::Error::Protocol("the writer has no connection".into())),
    }
}

fn group_full(slot: &Slot) -> bool {
    slot.group.as_ref().is_some_and(|g| g.len() >= MAX_GROUP)
}

/// A transaction on the writer: a savepoint in the open group.
pub struct WriteTx {
    writer: Arc<Writer>,
    /// `None` once committed or rolled back.
    slot: Option<OwnedMutexGuard<Slot>>,
}

fn shared_error(e: &Arc<sqlx::Error>) -> sqlx::Error {
    sqlx::Error::Protocol(format!("group commit failed: {e}"))
}

impl WriteTx {
    /// The writer connection, for this transaction's statements.
    pub fn conn(&mut self) -> &mut Connection {
        match self.slot.as_mut().and_then(|slot| slot.conn.as_mut()) {
            Some(conn) => conn,
            // Unreachable: `begin` leaves the connection in place, and commit and
            // rollback take the transaction by value.
            None => unreachable!("a transaction in progress has its connection"),
        }
    }

    /// Releases the savepoint and returns once the group holding it has committed.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let Some(mut slot) = self.slot.take() else {
            return Ok(());
        };
        if let Err(e) = run(&slot, RELEASE) {
            undo(&mut slot);
            self.writer.hand_on(slot);
            return Err(e);
        }
        join(&self.writer, slot).await
    }

    /// Undoes this transaction's writes; the group's other members are untouched. It
    /// returns, too, only once the group has committed: what this transaction read may be
    /// another member's write not yet durable (a repeat finding the first request's row),
    /// and its caller must not answer on it before it is.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let Some(mut slot) = self.slot.take() else {
            return Ok(());
        };
        undo(&mut slot);
        if slot.group.is_none() {
            return Ok(());
        }
        join(&self.writer, slot).await
    }
}

/// Waits as a member of the open group for its `COMMIT`. (A function of the writer, not
/// of the transaction: the transaction holds the connection, which may not be shared
/// between threads, and this future must be free to move between them.)
async fn join(writer: &Arc<Writer>, mut slot: OwnedMutexGuard<Slot>) -> Result<(), sqlx::Error> {
    let (told, answer) = oneshot::channel();
    match slot.group.as_mut() {
        Some(members) => {
            members.push(told);
            writer.joined.fetch_add(1, Ordering::SeqCst);
        }
        None => return Err(sqlx::Error::Protocol("no group open".into())),
    }
    writer.hand_on(slot);
    match answer.await {
        Ok(Ok(seq)) => match &writer.durability {
            Some(durability) => durability.until(seq).await,
            None => Ok(()),
        },
        Ok(Err(e)) => Err(shared_error(&e)),
        Err(_) => Err(sqlx::Error::Protocol(
            "the group ended without an answer".into(),
        )),
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(durability) = &self.durability {
            durability.close();
        }
    }
}

/// Rolls the writer back to the member's savepoint and drops it. If even that fails the
/// connection is in a state nobody can vouch for: the whole group is rolled back and its
/// members told.
fn undo(slot: &mut Slot) {
    if let Err(e) = run(slot, ROLLBACK_TO).and_then(|()| run(slot, RELEASE)) {
        tracing::error!(error = %e, "savepoint rollback failed; rolling the group back");
        if let Some(conn) = slot.conn.as_ref() {
            let _ = step(conn, ROLLBACK);
        }
        let error = Arc::new(e);
        for member in slot.group.take().unwrap_or_default() {
            let _ = member.send(Err(error.clone()));
        }
    }
}

impl Drop for WriteTx {
    /// Dropped unfinished (an error returned early, a request that went away): its writes
    /// are undone here — a statement on this thread, no await — and the writer handed on.
    fn drop(&mut self) {
        if let Some(mut slot) = self.slot.take() {
            undo(&mut slot);
            if tokio::runtime::Handle::try_current().is_ok() {
                self.writer.hand_on(slot);
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A WAL database with one table `t (v INTEGER)` (a blob stays a blob in it), in a
    /// directory removed with the handle. Also used by server/db/walvfs.rs's tests.
    pub(in crate::server::db) fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("g.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER);")
            .expect("schema");
        (dir, path)
    }

    /// One transaction of `statements` on `writer`, committed or rolled back. Also used by
    /// server/db/walvfs.rs's tests.
    pub(in crate::server::db) async fn transaction(
        writer: &Arc<Writer>,
        statements: &[&str],
        commit: bool,
    ) {
        let mut tx = writer.begin().await.expect("begin");
        for sql in statements {
            tx.conn().execute_batch(sql).expect(sql);
        }
        if commit {
            tx.commit().await.expect("commit");
        } else {
            tx.rollback().await.expect("rollback");
        }
    }

    fn count(path: &std::path::Path) -> i64 {
        let conn = Connection::open(path).expect("open");
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    /// One transaction of one statement on `writer`, as a task: its result is its commit's.
    fn spawn_write(
        writer: &Arc<Writer>,
        sql: &'static str,
    ) -> tokio::task::JoinHandle<Result<(), sqlx::Error>> {
        spawn_write_after(writer, std::future::ready(()), sql)
    }

    /// [`spawn_write`], the task first doing `before`.
    fn spawn_write_after(
        writer: &Arc<Writer>,
        before: impl std::future::Future<Output = ()> + Send + 'static,
        sql: &'static str,
    ) -> tokio::task::JoinHandle<Result<(), sqlx::Error>> {
        let writer = writer.clone();
        tokio::spawn(async move {
            before.await;
            let mut tx = writer.begin().await?;
            lite::execute(tx.conn(), sql, &[])?;
            tx.commit().await
        })
    }

    /// Two transactions spawned together, neither waiting for the writer when it commits:
    /// (groups, transactions) once both are answered.
    async fn two_ready_together(sync: lite::CommitSync) -> (usize, usize) {
        let (_dir, path) = scratch();
        let writer = Writer::open(Opener::new(&path, sync)).expect("writer");
        let first = spawn_write(&writer, "INSERT INTO t (v) VALUES (1)");
        let second = spawn_write(&writer, "INSERT INTO t (v) VALUES (2)");
        first.await.expect("task").expect("the first transaction");
        second.await.expect("task").expect("the second transaction");
        assert_eq!(count(&path), 2);
        writer.committed()
    }

    /// Writes one byte into a socket: the task in [`woken_by`] at its other end wakes when
    /// the runtime next polls its I/O, as a caller does at an HTTP answer.
    async fn pass_on(to: &mut tokio::net::UnixStream) {
        use tokio::io::AsyncWriteExt;
        to.write_all(b"x").await.expect("write to the socket");
    }

    async fn woken_by(from: &mut tokio::net::UnixStream) {
        use tokio::io::AsyncReadExt;
        let mut byte = [0u8];
        from.read_exact(&mut byte)
            .await
            .expect("read from the socket");
    }

    /// Transactions that are ready together share one fsync even when neither had to wait
    /// for the writer: the first one's group stays open while the runtime runs the second.
    /// (Without the flusher's yield the first committed alone: two groups.)
    #[tokio::test(flavor = "current_thread")]
    async fn transactions_ready_together_share_one_fsync() {
        let committed = two_ready_together(lite::CommitSync::Commit).await;
        assert_eq!(committed, (1, 2), "(groups, transactions)");
    }

    /// With NORMAL too: a `COMMIT` without an fsync still writes the WAL and wakes its
    /// members, and committing the first at once made two groups here (it did so before
    /// the nineteenth step of docs/performance.md).
    #[tokio::test(flavor = "current_thread")]
    async fn without_an_fsync_transactions_ready_together_share_one_commit() {
        let committed = two_ready_together(lite::CommitSync::None).await;
        assert_eq!(committed, (1, 2), "(groups, transactions)");
    }

    /// Before an fsync the flusher keeps gathering while each turn brings a member. Here
    /// the first transaction commits with a second ready; the second, before it begins,
    /// wakes a third through a socket, and the third wakes a fourth the same way: each is
    /// ready a turn of the runtime after the one before, and all four share one group.
    /// (With a single turn, as before, the fourth committed alone: two groups.)
    #[tokio::test(flavor = "current_thread")]
    async fn gathering_goes_on_while_members_keep_joining() {
        let (_dir, path) = scratch();
        let writer = Writer::open(Opener::new(&path, lite::CommitSync::Commit)).expect("writer");
        let (mut to_third, mut third_hears) = tokio::net::UnixStream::pair().expect("pair");
        let (mut to_fourth, mut fourth_hears) = tokio::net::UnixStream::pair().expect("pair");
        let sql = "INSERT INTO t (v) VALUES (1)";
        // Spawned so that each is waiting on its socket before the one before it writes.
        let tasks = [
            spawn_write(&writer, sql),
            spawn_write_after(
                &writer,
                async move { woken_by(&mut fourth_hears).await },
                sql,
            ),
            spawn_write_after(
                &writer,
                async move {
                    woken_by(&mut third_hears).await;
                    pass_on(&mut to_fourth).await;
                },
                sql,
            ),
            spawn_write_after(&writer, async move { pass_on(&mut to_third).await }, sql),
        ];
        for task in tasks {
            task.await.expect("task").expect("a transaction");
        }
        assert_eq!(count(&path), 4);
        assert_eq!(writer.committed(), (1, 4), "(groups, transactions)");
    }

    /// The bench's "wait for an fsyncing COMMIT" counts FULL's group `COMMIT`s, each with
    /// the time its group waited, and none of NORMAL's, which do not fsync.
    #[tokio::test(flavor = "current_thread")]
    async fn the_waits_counted_are_those_of_commits_that_fsync() {
        for (sync, fsyncing) in [
            (lite::CommitSync::Commit, true),
            (lite::CommitSync::None, false),
        ] {
            let (_dir, path) = scratch();
            let writer = Writer::open(Opener::new(&path, sync)).expect("writer");
            for _ in 0..3 {
                transaction(&writer, &["INSERT INTO t (v) VALUES (1)"], true).await;
            }
            let (groups, _) = writer.committed();
            let (fsynced, waited) = writer.fsync_waits();
            if fsyncing {
                assert_eq!((groups, fsynced), (3, 3), "{sync:?}: one wait a group");
                assert!(!waited.is_zero(), "{sync:?}: an fsync takes time");
            } else {
                assert_eq!((groups, fsynced), (3, 0), "{sync:?}");
                assert!(waited.is_zero(), "{sync:?}");
            }
        }
    }

    /// A write lock held by another process is waited for, not reported at once: the
    /// transaction is still waiting while the lock is held, and commits once it is let
    /// go. (The wait itself runs on the blocking pool; that it does not stall the runtime
    /// is a matter of time, which tests do not assert — docs/performance.md.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_lock_held_elsewhere_is_waited_for() {
        let (_dir, path) = scratch();
        let writer = Writer::open(Opener::new(&path, lite::CommitSync::Commit)).expect("writer");
        let other = Connection::open(&path).expect("other process");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");

        let waiting = spawn_write(&writer, "INSERT INTO t (v) VALUES (1)");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            !waiting.is_finished(),
            "the transaction gave up instead of waiting for the lock"
        );
        other.execute_batch("COMMIT").expect("unlock");
        waiting
            .await
            .expect("task")
            .expect("the transaction once the lock was free");
        assert_eq!(count(&path), 1);
    }

    /// A member's savepoint keeps the pages it changes in a statement journal; past
    /// 64 KiB SQLite would move it to an unlinked temporary file (on Linux, one that
    /// still shows in `/proc/self/fd`). The writer keeps it in memory: while a member
    /// rewrites ~200 KiB of existing pages, no such file is open.
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "current_thread")]
    async fn a_large_savepoint_spills_to_no_temporary_file() {
        let (_dir, path) = scratch();
        let writer = Writer::open(Opener::new(&path, lite::CommitSync::None)).expect("writer");
        let mut tx = writer.begin().await.expect("begin");
        lite::execute(
            tx.conn(),
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
             INSERT INTO t (v) SELECT randomblob(1000) FROM n",
            &[],
        )
        .expect("200 rows of 1000 bytes");
        tx.commit().await.expect("commit");

        let mut tx = writer.begin().await.expect("begin");
        lite::execute(tx.conn(), "UPDATE t SET v = randomblob(1000)", &[]).expect("update");
        let temporary: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .expect("this process's descriptors")
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .map(|target| target.display().to_string())
            .filter(|target| target.contains("etilqs_"))
            .collect();
        assert!(
            temporary.is_empty(),
            "the statement journal went to a file: {temporary:?}"
        );
        tx.commit().await.expect("commit");
        assert_eq!(count(&path), 200);
    }

    /// The writer never checkpoints inside its `COMMIT`; the checkpoint thread does, in
    /// every mode: the database file itself (not only its WAL) receives the rows while the
    /// writer stays open. (Nothing else checkpoints while the writer is open.)
    #[tokio::test(flavor = "current_thread")]
    async fn the_wal_is_checkpointed_beside_the_writer() {
        for sync in [
            lite::CommitSync::Commit,
            lite::CommitSync::None,
            lite::CommitSync::Syncer,
        ] {
            let (_dir, path) = scratch();
            let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let before = size();
            let writer = Writer::open(Opener::new(&path, sync)).expect("writer");
            for _ in 0..200 {
                let mut tx = writer.begin().await.expect("begin");
                lite::execute(
                    tx.conn(),
                    "INSERT INTO t (v) VALUES (randomblob(1000))",
                    &[],
                )
                .expect("insert");
                tx.commit().await.expect("commit");
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while size() < before + 150_000 && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert!(
                size() >= before + 150_000,
                "{sync:?}: 200 KB committed, the database file grew from {before} to {} bytes",
                size()
            );
            assert_eq!(count(&path), 200);
        }
    }

    /// Under writes that never pause, the WAL is restarted, not grown: SQLite restarts it
    /// only when a group begins with every frame copied, which a checkpoint beside the
    /// writer alone never arranges while commits keep coming (the WAL grew by everything
    /// written). In every mode the WAL file ends far smaller than what went through it.
    #[tokio::test(flavor = "current_thread")]
    async fn under_steady_writes_the_wal_is_restarted_not_grown() {
        const ROW: u64 = 16_000;
        for sync in [
            lite::CommitSync::None,
            lite::CommitSync::Commit,
            lite::CommitSync::Syncer,
        ] {
            let (_dir, path) = scratch();
            let writer = Writer::open(Opener::new(&path, sync)).expect("writer");
            let started = std::time::Instant::now();
            let (mut written, mut rows) = (0u64, 0i64);
            // Enough for several of the checkpoint thread's rounds, whatever the disk.
            while written < 48_000_000 || started.elapsed() < std::time::Duration::from_secs(2) {
                let group: Vec<_> = (0..4)
                    .map(|_| spawn_write(&writer, "INSERT INTO t (v) VALUES (randomblob(16000))"))
                    .collect();
                for task in group {
                    task.await.expect("task").expect("insert");
                    written += ROW;
                    rows += 1;
                }
            }
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            let wal = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            assert!(
                wal < written / 2,
                "{sync:?}: {written} bytes written, and the WAL holds {wal}: it was not restarted"
            );
            assert_eq!(count(&path), rows);
        }
    }

    /// With the syncer, a commit is written — other connections see it — before it is
    /// durable; neither its own caller nor a read that saw it is answered until the disk
    /// has synced it.
    // The disk's lock is held across awaits on purpose: it is the disk not answering.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test(flavor = "current_thread")]
    async fn nothing_is_answered_before_the_disk_has_synced() {
        let (_dir, path) = scratch();
        let writer = Writer::open(Opener::new(&path, lite::CommitSync::Syncer)).expect("writer");
        let durability = writer.durability.clone().expect("a syncer");
        let disk = durability.disk.lock().expect("hold the disk");

        let committing = spawn_write(&writer, "INSERT INTO t (v) VALUES (1)");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(count(&path), 1, "the commit is written and visible");
        assert!(
            !committing.is_finished(),
            "the commit was answered before the disk synced it"
        );
        let reading = {
            let writer = writer.clone();
            tokio::spawn(async move {
                let seen: Option<(i64,)> = writer
                    .readers()
                    .with(|conn| lite::fetch_optional(conn, "SELECT COUNT(*) FROM t", &[]))?;
                writer.settle().await?;
                Ok::<_, sqlx::Error>(seen)
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            !reading.is_finished(),
            "a read answered on a commit the disk had not synced"
        );

        drop(disk);
        committing
            .await
            .expect("task")
            .expect("committed once synced");
        let seen = reading.await.expect("task").expect("read once synced");
        assert_eq!(seen, Some((1,)));
        // A later transaction, the disk answering at once: no wait left behind.
        let mut tx = writer.begin().await.expect("begin");
        lite::execute(tx.conn(), "INSERT INTO t (v) VALUES (2)", &[]).expect("insert");
        tx.commit().await.expect("commit");
        assert_eq!(count(&path), 2);
    }

    /// With the syncer, what commits while the disk syncs waits in one open group, not
    /// in a `COMMIT` of its own: the next group forms during the sync (as during SQLite's
    /// own FULL `COMMIT`) and is committed once the disk has answered.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test(flavor = "current_thread")]
    async fn while_the_disk_syncs_the_next_group_stays_open() {
        let (_dir, path) = scratch();
        let writer = Writer::open(Opener::new(&path, lite::CommitSync::Syncer)).expect("writer");
        let durability = writer.durability.clone().expect("a syncer");
        let disk = durability.disk.lock().expect("hold the disk");
        let first = spawn_write(&writer, "INSERT INTO t (v) VALUES (1)");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(
            count(&path),
            1,
            "the first commit is written, the disk syncing it"
        );
        let second = spawn_write(&writer, "INSERT INTO t (v) VALUES (2)");
        let third = spawn_write(&writer, "INSERT INTO t (v) VALUES (3)");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(
            count(&path),
            1,
            "a transaction was committed while the disk synced the one before"
        );
        assert_eq!(writer.committed(), (1, 1));
        assert!(!second.is_finished() && !third.is_finished());

        drop(disk);
        for (name, task) in [("first", first), ("second", second), ("third", third)] {
            task.await
                .expect("task")
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert_eq!(count(&path), 3);
        assert_eq!(
            writer.committed(),
            (2, 3),
            "the two that came during the sync shared one COMMIT"
        );
    }

    /// Inside an HTTP request, a read that saw a commit the disk has not synced does not
    /// wait: the handler goes on, and its answer leaves once the commit is durable.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test(flavor = "current_thread")]
    async fn a_request_is_answered_once_what_it_read_is_durable() {
        use tower::ServiceExt;
        let (_dir, path) = scratch();
        let writer = Writer::open(Opener::new(&path, lite::CommitSync::Syncer)).expect("writer");
        let durability = writer.durability.clone().expect("a syncer");
        let disk = durability.disk.lock().expect("hold the disk");
        let committing = spawn_write(&writer, "INSERT INTO t (v) VALUES (1)");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;

        let handled = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let app = {
            let (writer, handled) = (writer.clone(), handled.clone());
            axum::Router::new()
                .route(
                    "/count",
                    axum::routing::get(move || async move {
                        let seen: Option<(i64,)> = writer
                            .readers()
                            .with(|conn| lite::fetch_optional(conn, "SELECT COUNT(*) FROM t", &[]))
                            .expect("read");
                        writer.settle().await.expect("settle");
                        handled.store(true, Ordering::SeqCst);
                        seen.map(|(n,)| n).unwrap_or_default().to_string()
                    }),
                )
                .layer(axum::middleware::from_fn(
                    super::super::durable::answered_when_durable,
                ))
        };
        let request = axum::http::Request::get("/count")
            .body(axum::body::Body::empty())
            .expect("request");
        let answering = tokio::spawn(app.oneshot(request));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            handled.load(Ordering::SeqCst),
            "the read waited for the disk instead of the answer"
        );
        assert!(
            !answering.is_finished(),
            "answered on a commit the disk had not synced"
        );

        drop(disk);
        let response = answering.await.expect("task").expect("response");
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 64)
            .await
            .expect("body");
        assert_eq!(&body[..], b"1");
        committing
            .await
            .expect("task")
            .expect("committed once synced");
    }
}
