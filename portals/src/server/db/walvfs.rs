//! The group writer's WAL writes, coalesced: one `pwrite` a `COMMIT` instead of two a page.
//!
//! SQLite writes each WAL frame with two `write`s — its 24-byte header, then the page —
//! so a group `COMMIT` of a dozen payments' transactions (~27 frames of 1 KiB) makes ~54
//! system calls before its fsync. On the 2-core virtual machine of docs/performance.md a
//! system call is dear: in a Python loop, 54 such writes took 290 µs where one write of the
//! same bytes took 12 µs — more than the fsync after them (~160 µs) — and the writer holds
//! SQLite's write lock all that time. Gathered, a group `COMMIT` is 4–13 % shorter at the
//! median (docs/performance.md, the fourteenth step). With NORMAL, whose groups are small,
//! a payment made ~48 such writes (the eighteenth step).
//!
//! So the writer's connection opens its files through this VFS, a thin layer over SQLite's
//! own (`unix`): writes to the WAL that follow one another are gathered in memory and
//! reach the file as one write, before anything that must see them —
//! * the page of a commit frame (a frame header whose "database size after the commit" is
//!   not zero): SQLite publishes a commit in the shared WAL index right after it has
//!   written that frame — with `synchronous=FULL` after an `xSync`, with NORMAL (and the
//!   syncer's) at once — so whatever a reader (or another process) is told is in the WAL
//!   is in the file, what a crash of this process finds is what SQLite wrote, and a failed
//!   write fails the `COMMIT` before anything is published. A commit frame's header that
//!   does not follow gathered bytes (SQLite rewriting the checksums of frames it
//!   overwrote within the transaction, after reading them back) is written at once: no page
//!   follows it;
//! * `xSync`, a read, a size, a truncation, a file control, a close, a write anywhere but
//!   right after the gathered bytes (SQLite overwriting a frame, or the WAL's header): the
//!   same bytes in the same order, only fewer calls;
//! * the database's WAL locks changing hands (`xShmLock`, on the database file, which
//!   knows its WAL): frames that a transaction spilled and then rolled back, which no
//!   commit writes, are written while this connection still holds the write lock — never
//!   later, over frames another connection committed meanwhile;
//! * the WAL index's header being published (`xShmBarrier`, which SQLite calls between its
//!   two copies of that header): by the rules above nothing is gathered by then, and the
//!   tests hold it to that ([`gathered_at_publication`]); should a later SQLite write in
//!   another order, the bytes still reach the file before a reader can be told of them.
//!
//! Every other file (the database, the statement journal) passes straight through, and so
//! does every method that is not a write to the WAL.

use std::ffi::{CStr, c_int, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use libsqlite3_sys as ffi;

/// The name the writer's connection asks for.
pub const NAME: &CStr = c"paymesh-wal";

/// The most bytes gathered before they are written anyway: a group of 64 members (the
/// largest, server/db/group.rs) writes about a MiB of 1 KiB frames.
const GATHER_LIMIT: usize = 2 << 20;

/// The most bytes one write hands the `unix` VFS: it writes at most 128 KiB − 1 a call
/// (`seekAndWrite` masks the length with `0x1ffff`) and reports the rest as a full disk.
const WRITE_LIMIT: usize = 64 << 10;

/// Writes SQLite asked of WAL files through this VFS, and writes made to the files: their
/// ratio is the coalescing (read by the tests).
static WRITES_ASKED: AtomicU64 = AtomicU64::new(0);
static WRITES_MADE: AtomicU64 = AtomicU64::new(0);
/// Bytes a WAL still had gathered when SQLite published its index's header: the rules
/// above keep it at 0 (read by the tests).
static GATHERED_AT_PUBLICATION: AtomicU64 = AtomicU64::new(0);

/// The size of a WAL frame's header; SQLite writes no other write of this size to a WAL
/// (its own header is 32 bytes, a page at least 512).
const FRAME_HEADER: usize = 24;

/// (writes SQLite asked of WAL files, writes made) since the process started.
pub fn writes() -> (u64, u64) {
    (
        WRITES_ASKED.load(Ordering::Relaxed),
        WRITES_MADE.load(Ordering::Relaxed),
    )
}

/// Bytes WALs still had gathered when their index's header was published, since the
/// process started.
pub fn gathered_at_publication() -> u64 {
    GATHERED_AT_PUBLICATION.load(Ordering::Relaxed)
}

/// Registers the VFS (once; not as the default). Fails only if SQLite has no `unix` VFS
/// to stand on.
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            // SAFETY: sqlite3_vfs_find returns a VFS that lives as long as the process (the
            // built-in ones are static), or null.
            let base = unsafe { ffi::sqlite3_vfs_find(c"unix".as_ptr()) };
            if base.is_null() {
                return Err("SQLite has no unix VFS".into());
            }
            // SAFETY: `base` is a valid VFS (above); this one is leaked, so it lives as long
            // as SQLite may use it.
            unsafe {
                let mut vfs: ffi::sqlite3_vfs = std::ptr::read(base);
                vfs.szOsFile =
                    (std::mem::size_of::<WalFile>() + (*base).szOsFile as usize) as c_int;
                vfs.pNext = std::ptr::null_mut();
                vfs.zName = NAME.as_ptr();
                vfs.pAppData = base.cast();
                vfs.xOpen = Some(open);
                let vfs = Box::leak(Box::new(vfs));
                match ffi::sqlite3_vfs_register(vfs, 0) {
                    ffi::SQLITE_OK => Ok(()),
                    rc => Err(format!("registering the WAL VFS failed: {rc}")),
                }
            }
        })
        .clone()
}

/// A file opened through this VFS: SQLite's `sqlite3_file` first (it holds our methods),
/// then what gathering needs, then — in the same allocation, `szOsFile` bytes — the file
/// as the `unix` VFS opened it.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// Whether this is a WAL file, whose writes are gathered.
    gathers: bool,
    /// Where in the file the gathered bytes go.
    at: i64,
    gathered: Vec<u8>,
    /// A commit frame's header was just written: its page, the next write, is written
    /// through.
    commit_page_next: bool,
    /// For a database file, its WAL while open; for a WAL, its database file: the WAL's
    /// gathered bytes are written before the database's WAL locks change hands.
    partner: *mut WalFile,
}

// The real file starts right after a `WalFile`, and must be as aligned as SQLite aligns
// the whole (8 bytes).
const _: () = assert!(std::mem::size_of::<WalFile>().is_multiple_of(8));

/// SAFETY (every method below): SQLite calls a file's methods only with the file it opened
/// through [`open`] — a `WalFile` whose `real` file is open — and one call at a time per
/// file.
unsafe fn parts<'a>(file: *mut ffi::sqlite3_file) -> (&'a mut WalFile, *mut ffi::sqlite3_file) {
    let file = unsafe { &mut *file.cast::<WalFile>() };
    let real = file.real;
    (file, real)
}

/// The real file's method `$m`, called with `$args`; `$missing` if it has none.
macro_rules! real {
    ($real:expr, $m:ident, $missing:expr $(, $arg:expr)*) => {
        match unsafe { (*(*$real).pMethods).$m } {
            Some(method) => unsafe { method($real $(, $arg)*) },
            None => $missing,
        }
    };
}

/// [`real!`] once what is gathered is written: for the methods that may look at it.
macro_rules! after_flush {
    ($file:expr, $m:ident, $missing:expr $(, $arg:expr)*) => {{
        let (f, real) = unsafe { parts($file) };
        match flush(f) {
            ffi::SQLITE_OK => real!(real, $m, $missing $(, $arg)*),
            rc => rc,
        }
    }};
}

/// Writes what is gathered: one write, or one per [`WRITE_LIMIT`] bytes.
fn flush(file: &mut WalFile) -> c_int {
    let real = file.real;
    let mut at = file.at;
    for chunk in file.gathered.chunks(WRITE_LIMIT) {
        let rc = real!(
            real,
            xWrite,
            ffi::SQLITE_IOERR_WRITE,
            chunk.as_ptr().cast::<c_void>(),
            chunk.len() as c_int,
            at
        );
        WRITES_MADE.fetch_add(1, Ordering::Relaxed);
        if rc != ffi::SQLITE_OK {
            file.gathered.clear();
            return rc;
        }
        at += chunk.len() as i64;
    }
    file.gathered.clear();
    ffi::SQLITE_OK
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: `vfs` is ours (registered above), its pAppData the unix VFS; `file` has
    // szOsFile bytes: a WalFile, then the real file.
    unsafe {
        let base = (*vfs).pAppData.cast::<ffi::sqlite3_vfs>();
        let real = file
            .cast::<u8>()
            .add(std::mem::size_of::<WalFile>())
            .cast::<ffi::sqlite3_file>();
        (*file).pMethods = std::ptr::null();
        let Some(base_open) = (*base).xOpen else {
            return ffi::SQLITE_CANTOPEN;
        };
        let rc = base_open(base, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK || (*real).pMethods.is_null() {
            return rc;
        }
        let gathers = flags & ffi::SQLITE_OPEN_WAL != 0;
        let wal = file.cast::<WalFile>();
        std::ptr::write(
            wal,
            WalFile {
                base: ffi::sqlite3_file { pMethods: &METHODS },
                real,
                gathers,
                at: 0,
                gathered: Vec::new(),
                commit_page_next: false,
                partner: std::ptr::null_mut(),
            },
        );
        if gathers && !name.is_null() {
            // The WAL's database file, opened through this VFS by the same connection just
            // before (SQLite's pager opens it first and closes it last).
            let db = ffi::sqlite3_database_file_object(name);
            if !db.is_null() && std::ptr::eq((*db).pMethods, &METHODS) {
                let db = db.cast::<WalFile>();
                (*db).partner = wal;
                (*wal).partner = db;
            }
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let (f, real) = unsafe { parts(file) };
    let flushed = flush(f);
    if !f.partner.is_null() {
        // SAFETY: partners are open (each clears the other's pointer as it closes).
        unsafe { (*f.partner).partner = std::ptr::null_mut() };
    }
    let closed = real!(real, xClose, ffi::SQLITE_OK);
    // SAFETY: SQLite calls no method of a file after its xClose; the Vec is dropped once.
    unsafe { std::ptr::drop_in_place(&mut f.gathered) };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    after_flush!(file, xRead, ffi::SQLITE_IOERR_READ, buf, amount, offset)
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let (f, real) = unsafe { parts(file) };
    if !f.gathers {
        return real!(real, xWrite, ffi::SQLITE_IOERR_WRITE, buf, amount, offset);
    }
    WRITES_ASKED.fetch_add(1, Ordering::Relaxed);
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let follows = f.at + f.gathered.len() as i64 == offset;
    let appends = follows && !f.gathered.is_empty();
    if !follows || f.gathered.len() + len > GATHER_LIMIT {
        let rc = flush(f);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        f.at = offset;
    }
    // SAFETY: SQLite passes `amount` readable bytes at `buf`.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    f.gathered.extend_from_slice(bytes);
    // SQLite publishes a commit right after its frame: its page, the write after the
    // header, goes to the file with everything gathered before it; a commit header with
    // nothing gathered before it (a checksum rewritten after a read) goes at once.
    if std::mem::take(&mut f.commit_page_next) {
        return flush(f);
    }
    if is_commit_header(bytes) {
        if !appends {
            let rc = flush(f);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        // Set after that flush, and cleared only by the next write: a flush between the
        // header and its page (the gathering limit) must not cancel the page's.
        f.commit_page_next = true;
    }
    ffi::SQLITE_OK
}

/// Whether a write to a WAL is the header of a commit frame: 24 bytes, of which the second
/// big-endian word — the database's size in pages after the commit — is not zero (it is
/// zero in every other frame).
fn is_commit_header(bytes: &[u8]) -> bool {
    bytes.len() == FRAME_HEADER && bytes[4..8] != [0; 4]
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    after_flush!(file, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, size)
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    after_flush!(file, xSync, ffi::SQLITE_IOERR_FSYNC, flags)
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    after_flush!(file, xFileSize, ffi::SQLITE_IOERR_FSTAT, size)
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(real, xLock, ffi::SQLITE_IOERR_LOCK, level)
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(real, xUnlock, ffi::SQLITE_IOERR_UNLOCK, level)
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(
        real,
        xCheckReservedLock,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        out
    )
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    let (f, real) = unsafe { parts(file) };
    // A size hint only grows the file ahead of the writes; anything else may look at
    // what was written.
    if op != ffi::SQLITE_FCNTL_SIZE_HINT {
        let rc = flush(f);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    real!(real, xFileControl, ffi::SQLITE_NOTFOUND, op, arg)
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(real, xSectorSize, 4096)
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(real, xDeviceCharacteristics, 0)
}

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(
        real,
        xShmMap,
        ffi::SQLITE_IOERR_SHMMAP,
        region,
        size,
        extend,
        out
    )
}

/// The database's WAL locks (the write lock among them) are taken and let go here: the
/// WAL's gathered bytes are written first. A transaction rolled back after it spilled pages
/// leaves frames gathered that no `xSync` writes; were they written after the write lock
/// passed to another connection, they would land on that one's frames.
unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    let (f, real) = unsafe { parts(file) };
    if !f.partner.is_null() {
        // SAFETY: the partner is open, and used by this connection only.
        let rc = flush(unsafe { &mut *f.partner });
        if rc != ffi::SQLITE_OK && flags & ffi::SQLITE_SHM_UNLOCK == 0 {
            return rc;
        }
    }
    real!(real, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, offset, n, flags)
}

/// SQLite calls this between its two copies of the WAL index's header when it publishes a
/// commit (and a restart): the last moment before a reader can be told of new frames.
/// The write rules leave nothing gathered by then; whatever is, is written first. A
/// failure here cannot fail the commit (the method returns nothing), and the header is
/// published right after: readers would be sent to bytes the file does not hold. So the
/// process stops instead; SQLite's recovery at the restart keeps the frames whose
/// checksums hold, and no member of the group was answered yet.
unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    let (f, real) = unsafe { parts(file) };
    if !f.partner.is_null() {
        // SAFETY: the partner is open, and used by this connection only.
        let wal = unsafe { &mut *f.partner };
        if !wal.gathered.is_empty() {
            GATHERED_AT_PUBLICATION.fetch_add(wal.gathered.len() as u64, Ordering::Relaxed);
            let rc = flush(wal);
            if rc != ffi::SQLITE_OK {
                tracing::error!(
                    rc,
                    "writing the WAL before its index was published failed; stopping"
                );
                std::process::abort();
            }
        }
    }
    real!(real, xShmBarrier, ())
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(real, xShmUnmap, ffi::SQLITE_OK, delete)
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let (f, real) = unsafe { parts(file) };
    let rc = flush(f);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match unsafe { (*(*real).pMethods).xFetch } {
        Some(method) => unsafe { method(real, offset, amount, out) },
        None => {
            // No memory mapping: SQLite reads instead.
            unsafe { *out = std::ptr::null_mut() };
            ffi::SQLITE_OK
        }
    }
}

unsafe extern "C" fn unfetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    page: *mut c_void,
) -> c_int {
    let (_, real) = unsafe { parts(file) };
    real!(real, xUnfetch, ffi::SQLITE_OK, offset, page)
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::group::Writer;
    use super::super::group::tests::{scratch, transaction};
    use super::super::lite::{self, CommitSync, Opener};

    /// Every way the writer commits: SQLite's FULL, NORMAL, and NORMAL behind the syncer.
    const MODES: [CommitSync; 3] = [CommitSync::Commit, CommitSync::None, CommitSync::Syncer];

    /// What another connection — on SQLite's own VFS — finds: the rows, and whether the
    /// file is sound.
    fn seen_elsewhere(path: &std::path::Path) -> (i64, String) {
        let conn = Connection::open(path).expect("open");
        let rows = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("count");
        let check = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity check");
        (rows, check)
    }

    fn insert(n: i64) -> String {
        format!(
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             INSERT INTO t (v) SELECT randomblob(900) FROM n"
        )
    }

    /// SQLite asks for two writes a WAL frame; the file gets one a commit, with FULL and
    /// with NORMAL alike.
    #[tokio::test(flavor = "current_thread")]
    async fn a_commit_reaches_the_wal_in_one_write() {
        for mode in MODES {
            let (_dir, path) = scratch();
            let writer = Writer::open(Opener::new(&path, mode)).expect("writer");
            let (asked_before, made_before) = super::writes();
            let mut tx = writer.begin().await.expect("begin");
            lite::execute(tx.conn(), &insert(200), &[]).expect("200 rows of 900 bytes");
            tx.commit().await.expect("commit");
            let (asked, made) = super::writes();
            let (asked, made) = (asked - asked_before, made - made_before);
            // ~45 pages of 4 KiB: ~90 writes asked. (Other tests' writers may add to both
            // counts, in the same proportion.)
            assert!(asked >= 80, "{mode:?}: {asked} writes asked");
            assert!(
                made * 10 <= asked,
                "{mode:?}: {made} writes made for {asked} asked"
            );
            assert_eq!(seen_elsewhere(&path), (200, "ok".to_owned()), "{mode:?}");
        }
    }

    /// SQLite publishes a commit in the WAL index right after writing its last frame —
    /// with NORMAL without an `xSync` first. Nothing may still be gathered then, or a
    /// reader would be sent to bytes the file does not hold yet: not after a commit of many
    /// frames, nor of one, nor of frames spilled, read back and overwritten within the
    /// transaction (whose checksums SQLite rewrites after its last frame), nor after a
    /// member rolled back.
    #[tokio::test(flavor = "current_thread")]
    async fn nothing_is_still_gathered_when_a_commit_is_published() {
        for mode in MODES {
            let (_dir, path) = scratch();
            let writer = Writer::open(Opener::new(&path, mode)).expect("writer");
            let before = super::gathered_at_publication();
            let spill = "PRAGMA cache_size = 10";
            let change = "UPDATE t SET v = randomblob(900) WHERE rowid % 7 = 0";
            transaction(&writer, &[&insert(100)], true).await;
            transaction(&writer, &["INSERT INTO t (v) VALUES (1)"], true).await;
            transaction(&writer, &[spill, &insert(300), change], true).await;
            transaction(&writer, &[&insert(200)], false).await;
            transaction(&writer, &[&insert(5)], true).await;
            assert_eq!(
                super::gathered_at_publication() - before,
                0,
                "{mode:?}: bytes still gathered when SQLite published a commit"
            );
            assert_eq!(seen_elsewhere(&path), (406, "ok".to_owned()), "{mode:?}");
        }
    }

    /// The writes SQLite makes before a `COMMIT` — pages spilled from a small cache, read
    /// back, rolled back to a savepoint and overwritten — land as SQLite wrote them.
    #[tokio::test(flavor = "current_thread")]
    async fn spilled_reread_and_overwritten_frames_land_as_written() {
        for mode in MODES {
            let (_dir, path) = scratch();
            let writer = Writer::open(Opener::new(&path, mode)).expect("writer");
            let mut tx = writer.begin().await.expect("begin");
            // Ten pages of cache: the transaction's ~75 pages spill to the WAL before its
            // commit.
            tx.conn()
                .execute_batch("PRAGMA cache_size = 10")
                .expect("a small cache");
            lite::execute(tx.conn(), &insert(300), &[]).expect("300 rows");
            // Read back through the spilled frames.
            let total: i64 = tx
                .conn()
                .query_row("SELECT SUM(length(v)) FROM t", [], |r| r.get(0))
                .expect("sum");
            assert_eq!(total, 270_000, "{mode:?}");
            tx.commit().await.expect("commit");

            // A member rolled back after spilling: its frames are overwritten by the next.
            transaction(&writer, &[&insert(200)], false).await;
            transaction(&writer, &[&insert(50)], true).await;

            assert_eq!(seen_elsewhere(&path), (350, "ok".to_owned()), "{mode:?}");
        }
    }

    /// A transaction rolled back after it spilled leaves frames gathered that no commit
    /// writes: they reach the file before the write lock passes on, not later over another
    /// connection's committed frames.
    #[test]
    fn what_a_rollback_leaves_gathered_never_lands_on_another_writers_frames() {
        for mode in MODES {
            let (_dir, path) = scratch();
            let writer = Opener::new(&path, mode)
                .writer()
                .expect("the writer's connection");
            writer
                .execute_batch(
                    "PRAGMA cache_size = 10;
                     BEGIN IMMEDIATE;
                     WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
                     INSERT INTO t (v) SELECT randomblob(1000) FROM n;
                     ROLLBACK;",
                )
                .expect("a spilled transaction, rolled back");
            let other = Connection::open(&path).expect("another connection");
            other
                .execute_batch(
                    "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
                     INSERT INTO t (v) SELECT randomblob(1000) FROM n",
                )
                .expect("five rows committed by another connection");
            writer
                .execute_batch("INSERT INTO t (v) VALUES (randomblob(1000))")
                .expect("one more row by the writer");
            assert_eq!(seen_elsewhere(&path), (6, "ok".to_owned()), "{mode:?}");
        }
    }
}
