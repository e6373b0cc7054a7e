//! SQLite on the calling thread, for the statements of the payment path.
//!
//! sqlx runs every SQLite connection on a thread of its own: each statement is a message
//! to that thread and a wake-up back, and a payment's two dozen statements cost some fifty
//! context switches — measured as ~60 % of the CPU of an end-to-end run, with the SQL
//! itself under 2 % (docs/performance.md). A statement of this path is an indexed lookup or
//! a one-row write that SQLite finishes in microseconds, less than the switch costs; so
//! here it runs where it is asked for, through rusqlite (on the same libsqlite3 as sqlx),
//! with its prepared form cached per connection.
//!
//! What runs here (server/db/query.rs decides):
//! * every statement of a write transaction (the group writer's connection,
//!   server/db/group.rs) — which blocks the thread only until the write lock is ours
//!   (tried without waiting first; a lock held by another process is waited for off the
//!   runtime) and commits off the runtime too (the fsync);
//! * reads marked [`crate::server::db::QueryAs::lookup`] (short indexed reads on the
//!   payment path), on one of a few read-only connections beside the writer (WAL).
//!
//! Everything else — reports, dashboards, the ledger check, a snapshot, a streamed year —
//! stays on sqlx's pool, where a long scan holds up no request thread.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sqlx::error::{DatabaseError, ErrorKind};

use super::query::Arg;
use crate::server::clock::{OptStamp, Stamp};

/// Prepared statements kept per connection: more than the distinct statements of the
/// payment path, so none is parsed twice.
const STATEMENT_CACHE: usize = 256;
/// Idle read connections kept; more are opened when more threads read at once, and
/// closed when they come back to a full shelf.
const IDLE_READERS: usize = 8;

/// How a connection is opened: the file and the durability of its commits.
#[derive(Debug, Clone)]
pub struct Opener {
    path: PathBuf,
    sync: CommitSync,
}

/// Who makes the writer's commits durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitSync {
    /// Nobody: `synchronous=NORMAL` (a power cut may take back the last commits).
    None,
    /// The `COMMIT` itself, SQLite's `synchronous=FULL`.
    Commit,
    /// The syncer thread, behind the writer (server/db/durable.rs): FULL's promise, the
    /// writer's `COMMIT` as NORMAL's.
    Syncer,
}

impl Opener {
    pub fn new(path: &Path, sync: CommitSync) -> Opener {
        Opener {
            path: path.to_owned(),
            sync,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the writer's commits wait for the syncer's fsync.
    pub fn syncer_fsyncs(&self) -> bool {
        self.sync == CommitSync::Syncer
    }

    /// Whether the writer's `COMMIT` fsyncs (SQLite's FULL): then it runs off the runtime.
    pub fn commit_fsyncs(&self) -> bool {
        self.sync == CommitSync::Commit
    }

    /// The writer: `busy_timeout` 0, so a lock held by another process is reported at
    /// once and waited for off the runtime ([`super::group`]).
    pub fn writer(&self) -> rusqlite::Result<Connection> {
        let conn = self.open(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.busy_timeout(Duration::ZERO)?;
        // Checkpoints run on a thread of their own (server/db/checkpoint.rs): one inside
        // `COMMIT` would hold the writer while it copies and fsyncs.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        // Each member of a group is a savepoint, and a savepoint keeps the pages it changes
        // in a statement journal, which SQLite moves from memory to an unlinked file in
        // /var/tmp once it passes 64 KiB — a processing transaction touches ~16 pages, so
        // under load it made ~35 such files a second, each holding payment rows. In memory
        // it stays: at most a group's pages (docs/performance.md "the seventh step").
        conn.execute_batch("PRAGMA temp_store = MEMORY")?;
        Ok(conn)
    }

    /// A reader: read-only at the library level, so a statement marked as a lookup
    /// can never write beside the writer.
    fn reader(&self) -> rusqlite::Result<Connection> {
        let conn = self.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(super::BUSY_TIMEOUT)?;
        Ok(conn)
    }

    fn open(&self, access: OpenFlags) -> rusqlite::Result<Connection> {
        let flags = access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        // The writer writes its WAL through the coalescing VFS, whatever `synchronous`
        // says (server/db/walvfs.rs says why); the readers write nothing.
        let conn = if access == OpenFlags::SQLITE_OPEN_READ_WRITE {
            super::walvfs::register().map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                    Some(e),
                )
            })?;
            Connection::open_with_flags_and_vfs(&self.path, flags, super::walvfs::NAME)?
        } else {
            Connection::open_with_flags(&self.path, flags)?
        };
        // The pool's pragmas (server/db/mod.rs says why each); WAL is the file's own
        // setting, made when the pool opened it. With the syncer, `COMMIT` writes the WAL
        // without an fsync, as NORMAL does; the syncer's fsync follows.
        let synchronous = match self.sync {
            CommitSync::Commit => "FULL",
            CommitSync::None | CommitSync::Syncer => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
        ))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

/// Read-only connections for [`crate::server::db::QueryAs::lookup`].
#[derive(Debug)]
pub struct Readers {
    opener: Opener,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub fn new(opener: Opener) -> Readers {
        Readers {
            opener,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle reader (or a new one): no thread but this one, no await.
    pub fn with<R>(
        &self,
        read: impl FnOnce(&Connection) -> Result<R, sqlx::Error>,
    ) -> Result<R, sqlx::Error> {
        let taken = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let conn = match taken {
            Some(conn) => conn,
            None => self.opener.reader().map_err(database_error)?,
        };
        let result = read(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        result
    }
}

/// Runs a statement whose rows are not read; the number of rows it changed. A statement
/// that does return rows (`SELECT 1` of a health check, an `UPDATE … RETURNING` whose
/// answer is not wanted) is stepped to its end, as sqlx's `execute` does.
pub fn execute(conn: &Connection, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
    let mut statement = prepared(conn, sql, args)?;
    if statement.column_count() == 0 {
        let changed = statement.raw_execute().map_err(database_error)?;
        return Ok(changed as u64);
    }
    // sqlite3_changes() keeps the count of the last write: a read changed nothing.
    let writes = !statement.readonly();
    let mut rows = statement.raw_query();
    while rows.next().map_err(database_error)?.is_some() {}
    drop(rows);
    Ok(if writes { conn.changes() } else { 0 })
}

/// Every row of a statement.
pub fn fetch_all<T: LiteRow>(
    conn: &Connection,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<T>, sqlx::Error> {
    let mut statement = prepared(conn, sql, args)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(database_error)? {
        out.push(T::from_lite(row).map_err(decode_error)?);
    }
    Ok(out)
}

/// The first row of a statement, if any. A write with `RETURNING` makes all its changes
/// at the first step (SQLite's documented behaviour), so stopping there loses nothing;
/// dropping the rows resets the statement.
pub fn fetch_optional<T: LiteRow>(
    conn: &Connection,
    sql: &str,
    args: &[Arg],
) -> Result<Option<T>, sqlx::Error> {
    let mut statement = prepared(conn, sql, args)?;
    let mut rows = statement.raw_query();
    match rows.next().map_err(database_error)? {
        Some(row) => Ok(Some(T::from_lite(row).map_err(decode_error)?)),
        None => Ok(None),
    }
}

/// The statement from the connection's cache (parsed on first use), its arguments bound.
fn prepared<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[Arg],
) -> Result<rusqlite::CachedStatement<'c>, sqlx::Error> {
    let mut statement = conn.prepare_cached(sql).map_err(database_error)?;
    bind(&mut statement, args)?;
    Ok(statement)
}

/// Binds the arguments as sqlx does: `$N` (a named parameter to SQLite) takes the N-th
/// argument wherever it appears and however often; a bare `?` the next one in order.
/// The values are the ones sqlx writes, so a row reads the same whichever driver wrote it:
/// a flag as 0/1, an instant as its fixed-width RFC 3339 text, a day as `YYYY-MM-DD`.
fn bind(statement: &mut rusqlite::CachedStatement<'_>, args: &[Arg]) -> Result<(), sqlx::Error> {
    let mut next_anonymous = 0;
    for index in 1..=statement.parameter_count() {
        let position = match statement.parameter_name(index) {
            Some(name) => name
                .strip_prefix(['$', '?'])
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .ok_or_else(|| {
                    sqlx::Error::InvalidArgument(format!("parameter {name} is not $N"))
                })?,
            None => {
                next_anonymous += 1;
                next_anonymous - 1
            }
        };
        let arg = args.get(position).ok_or_else(|| {
            sqlx::Error::InvalidArgument(format!(
                "statement wants argument {} of {} given",
                position + 1,
                args.len()
            ))
        })?;
        let bound = match arg {
            Arg::Int(v) => statement.raw_bind_parameter(index, v),
            Arg::Text(v) => statement.raw_bind_parameter(index, v.as_deref()),
            Arg::Flag(v) => statement.raw_bind_parameter(index, v.map(i64::from)),
            Arg::Instant(v) => {
                statement.raw_bind_parameter(index, v.as_ref().map(ToString::to_string))
            }
            Arg::Bytes(v) => statement.raw_bind_parameter(index, v.as_deref()),
            Arg::Day(v) => statement.raw_bind_parameter(index, v.map(day_text)),
        };
        bound.map_err(database_error)?;
    }
    Ok(())
}

fn day_text(day: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// A row that decodes from this driver: `#[derive(LiteRow)]` for a struct (by column
/// name), built in for tuples (by position).
pub trait LiteRow: Sized {
    fn from_lite(row: &rusqlite::Row<'_>) -> Result<Self, DecodeError>;
}

/// A column that did not hold what the row type expects.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: {problem}")]
pub struct DecodeError {
    column: String,
    problem: String,
}

fn decode_error(e: DecodeError) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: e.column,
        source: e.problem.into(),
    }
}

/// A value as SQLite holds it, read into a Rust type.
pub trait FromLite: Sized {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String>;
}

fn mismatch(want: &str, value: ValueRef<'_>) -> String {
    format!("expected {want}, found {:?}", value.data_type())
}

impl FromLite for i64 {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Integer(v) => Ok(v),
            other => Err(mismatch("an integer", other)),
        }
    }
}

impl FromLite for i32 {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        let wide = i64::from_lite(value)?;
        i32::try_from(wide).map_err(|_| format!("{wide} does not fit in 32 bits"))
    }
}

impl FromLite for bool {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        i64::from_lite(value).map(|v| v != 0)
    }
}

impl FromLite for f64 {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Real(v) => Ok(v),
            ValueRef::Integer(v) => Ok(v as f64),
            other => Err(mismatch("a number", other)),
        }
    }
}

impl FromLite for String {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|e| format!("text is not UTF-8: {e}")),
            other => Err(mismatch("text", other)),
        }
    }
}

impl FromLite for Vec<u8> {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Ok(bytes.to_vec()),
            other => Err(mismatch("a blob", other)),
        }
    }
}

impl FromLite for Stamp {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        let text = String::from_lite(value)?;
        Stamp::parse(&text).ok_or_else(|| format!("not an RFC 3339 instant: {text:?}"))
    }
}

impl FromLite for OptStamp {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        Option::<Stamp>::from_lite(value).map(OptStamp)
    }
}

impl FromLite for time::Date {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        let text = String::from_lite(value)?;
        crate::server::clock::parse_day(&text).ok_or_else(|| format!("not a day: {text:?}"))
    }
}

impl<T: FromLite> FromLite for Option<T> {
    fn from_lite(value: ValueRef<'_>) -> Result<Self, String> {
        match value {
            ValueRef::Null => Ok(None),
            other => T::from_lite(other).map(Some),
        }
    }
}

/// The column `name` of `row` as `T` (what `#[derive(LiteRow)]` calls per field);
/// `expected_at` is the field's position in its struct, looked at first.
pub fn column<T: FromLite>(
    row: &rusqlite::Row<'_>,
    name: &str,
    expected_at: usize,
) -> Result<T, DecodeError> {
    let failed = |problem: String| DecodeError {
        column: name.to_owned(),
        problem,
    };
    let index = column_index(row.as_ref(), name, expected_at)
        .ok_or_else(|| failed("no such column in the result".into()))?;
    let value = row.get_ref(index).map_err(|e| failed(e.to_string()))?;
    T::from_lite(value).map_err(failed)
}

/// Where the column `name` is (compared as SQLite does, ignoring ASCII case), searched
/// from `expected_at` round to it. A search from the first column, for each field of a
/// twenty-column row, compared ~200 names per row — a few per cent of a payment's CPU;
/// a query that selects the columns in the struct's order finds each at once.
fn column_index(
    statement: &rusqlite::Statement<'_>,
    name: &str,
    expected_at: usize,
) -> Option<usize> {
    let count = statement.column_count();
    (0..count).map(|k| (expected_at + k) % count).find(|&i| {
        statement
            .column_name(i)
            .is_ok_and(|column| column.eq_ignore_ascii_case(name))
    })
}

/// The column `name` read as `R` and converted into the field's type `T`
/// (`#[sqlx(try_from = "R")]`).
pub fn column_try<R, T>(
    row: &rusqlite::Row<'_>,
    name: &str,
    expected_at: usize,
) -> Result<T, DecodeError>
where
    R: FromLite,
    T: TryFrom<R>,
    T::Error: std::fmt::Display,
{
    T::try_from(column::<R>(row, name, expected_at)?).map_err(|e| DecodeError {
        column: name.to_owned(),
        problem: e.to_string(),
    })
}

fn column_at<T: FromLite>(row: &rusqlite::Row<'_>, index: usize) -> Result<T, DecodeError> {
    let failed = |problem: String| DecodeError {
        column: index.to_string(),
        problem,
    };
    let value = row.get_ref(index).map_err(|e| failed(e.to_string()))?;
    T::from_lite(value).map_err(failed)
}

macro_rules! tuple_rows {
    ($(($($t:ident $i:tt),+)),+) => {$(
        impl<$($t: FromLite),+> LiteRow for ($($t,)+) {
            fn from_lite(row: &rusqlite::Row<'_>) -> Result<Self, DecodeError> {
                Ok(($(column_at::<$t>(row, $i)?,)+))
            }
        }
    )+};
}
tuple_rows!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
);

/// A SQLite error as sqlx would report it: a database error with SQLite's extended
/// code, so callers' checks (`is_unique_violation()`) read the same from either driver.
pub fn database_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(LiteError {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        rusqlite::Error::QueryReturnedNoRows => sqlx::Error::RowNotFound,
        other => sqlx::Error::Protocol(format!("SQLite: {other}")),
    }
}

/// Whether `e` is SQLite's "the database is locked by another connection".
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy)
}

#[derive(Debug)]
struct LiteError {
    code: i32,
    message: String,
}

impl std::fmt::Display for LiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LiteError {}

impl DatabaseError for LiteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    /// The extended codes of SQLite's constraint failures (sqlite3.h).
    fn kind(&self) -> ErrorKind {
        match self.code {
            2067 | 1555 => ErrorKind::UniqueViolation,
            787 => ErrorKind::ForeignKeyViolation,
            1299 => ErrorKind::NotNullViolation,
            275 => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> (tempfile::TempDir, Opener) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, at TEXT, day TEXT,
                             flag INTEGER, data BLOB, n INTEGER CHECK (n >= 0));",
        )
        .expect("schema");
        (dir, Opener::new(&path, CommitSync::Commit))
    }

    #[test]
    fn numbered_parameters_bind_by_number_and_repeat() {
        let (_dir, opener) = scratch();
        let conn = opener.writer().expect("writer");
        let at = Stamp::parse("2026-12-02T10:00:00.5Z").expect("stamp");
        let day = crate::server::clock::parse_day("2026-12-01").expect("day");
        // `$2` before `$1`, and `$1` twice: positions follow the numbers.
        let changed = execute(
            &conn,
            "INSERT INTO t (n, name, at, day, flag, data) VALUES ($2, $1 || $1, $3, $4, $5, $6)",
            &[
                Arg::Text(Some("ab".into())),
                Arg::Int(Some(7)),
                Arg::Instant(Some(at)),
                Arg::Day(Some(day)),
                Arg::Flag(Some(true)),
                Arg::Bytes(None),
            ],
        )
        .expect("insert");
        assert_eq!(changed, 1);
        // A statement with rows, run for its effect.
        assert_eq!(
            execute(&conn, "SELECT 1", &[]).expect("select for effect"),
            0
        );
        type Written = (String, i64, String, String, bool, Option<Vec<u8>>);
        let row: Option<Written> = fetch_optional(
            &conn,
            "SELECT name, n, at, day, flag, data FROM t WHERE n = $1",
            &[Arg::Int(Some(7))],
        )
        .expect("select");
        assert_eq!(
            row,
            Some((
                "abab".into(),
                7,
                "2026-12-02T10:00:00.500000Z".into(),
                "2026-12-01".into(),
                true,
                None
            ))
        );
    }

    #[test]
    fn constraint_failures_keep_their_kind() {
        let (_dir, opener) = scratch();
        let conn = opener.writer().expect("writer");
        let insert = "INSERT INTO t (name, n) VALUES ($1, $2)";
        execute(
            &conn,
            insert,
            &[Arg::Text(Some("x".into())), Arg::Int(Some(1))],
        )
        .expect("first");
        let again = execute(
            &conn,
            insert,
            &[Arg::Text(Some("x".into())), Arg::Int(Some(1))],
        )
        .expect_err("a second x");
        assert!(
            again
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation()),
            "{again}"
        );
        let negative = execute(
            &conn,
            insert,
            &[Arg::Text(Some("y".into())), Arg::Int(Some(-1))],
        )
        .expect_err("n < 0");
        assert!(
            negative
                .as_database_error()
                .is_some_and(|d| d.is_check_violation()),
            "{negative}"
        );
    }

    #[test]
    fn a_reader_cannot_write_and_a_wrong_type_is_named() {
        let (_dir, opener) = scratch();
        let readers = Readers::new(opener);
        let refused = readers.with(|conn| execute(conn, "DELETE FROM t", &[]));
        assert!(refused.is_err(), "a reader wrote");
        let wrong = readers.with(|conn| fetch_optional::<(i64,)>(conn, "SELECT 'text'", &[]));
        let message = wrong.expect_err("text read as an integer").to_string();
        assert!(message.contains("expected an integer"), "{message}");
        let missing = readers.with(|conn| fetch_optional::<(i64, i64)>(conn, "SELECT 1", &[]));
        assert!(missing.is_err(), "a second column out of one");
    }

    #[derive(Debug, PartialEq, crate::server::db::LiteRow)]
    struct Named {
        id: i64,
        name: String,
        #[sqlx(rename = "n")]
        count: Option<i64>,
    }

    #[test]
    fn a_derived_row_finds_its_columns_by_name_in_any_order() {
        let (_dir, opener) = scratch();
        let conn = opener.writer().expect("writer");
        execute(
            &conn,
            "INSERT INTO t (id, name, n) VALUES (7, 'Ab', 3)",
            &[],
        )
        .expect("insert");
        let expected = Named {
            id: 7,
            name: "Ab".into(),
            count: Some(3),
        };
        // The declared order, another order, extra columns first, another letter case.
        for sql in [
            "SELECT id, name, n FROM t",
            "SELECT n, id, name FROM t",
            "SELECT day, flag, name, at, n, id FROM t",
            "SELECT ID, Name, N FROM t",
        ] {
            let row = fetch_optional::<Named>(&conn, sql, &[]).expect(sql);
            assert_eq!(row.as_ref(), Some(&expected), "{sql}");
        }
        let missing =
            fetch_optional::<Named>(&conn, "SELECT id, name FROM t", &[]).expect_err("no column n");
        assert!(
            matches!(&missing, sqlx::Error::ColumnDecode { index, .. } if index == "n"),
            "{missing:?}"
        );
        let none = fetch_optional::<Named>(&conn, "SELECT 1 WHERE 0", &[]).expect("no row");
        assert_eq!(none, None);
    }

    /// `.cargo/config.toml`'s `LIBSQLITE3_FLAGS` reached the bundled SQLite: without them
    /// every connection shares one page cache under one mutex, and every allocation is
    /// counted under another (docs/performance.md, "the eighth step"). `HAVE_FDATASYNC` is
    /// not among SQLite's listed options; `strace` shows it (the same section).
    #[test]
    fn sqlite_is_compiled_with_a_page_cache_per_connection_and_no_memory_counters() {
        let (_dir, opener) = scratch();
        let conn = opener.writer().expect("writer");
        let options: Vec<String> = fetch_all::<(String,)>(&conn, "PRAGMA compile_options", &[])
            .expect("compile options")
            .into_iter()
            .map(|(option,)| option)
            .collect();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
