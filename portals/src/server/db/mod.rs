//! The participant's database: SQLite (the embedded default, a file in the data
//! directory) or, for processing and the provider, PostgreSQL (`--database-url
//! postgres://…`), opened and brought up to date by its own migration tree
//! (`migrations/<role>/` or `migrations/<role>-postgres/`). Code reaches either through
//! [`Db`], [`Tx`] and the statements of [`query`].

mod checkpoint;
pub mod durable;
pub mod group;
pub mod lite;
pub mod query;
pub mod walvfs;

pub use lite::LiteRow;
/// `#[derive(LiteRow)]`, beside `#[derive(sqlx::FromRow)]` on every row type.
pub use paymesh_macros::LiteRow;
pub use query::{Done, Exec, Row, query, query_as};
pub use shared::config::Synchronous;

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StartError;
use crate::role::Role;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

/// Connections per pool: SQLite has one writer at a time, readers beside it in WAL.
pub const MAX_CONNECTIONS: u32 = 8;
/// How long a writer waits for another writer before the statement fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per process on PostgreSQL: several processes share the server's
/// `max_connections` (100 by default), so each keeps a modest pool.
pub const MAX_PG_CONNECTIONS: u32 = 16;

/// Which database a participant runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A participant's connection pool, on either backend. On SQLite, writes go through
/// its one [`group::Writer`] (group commit) when it has one — every database a
/// participant opens does; a pool made for reading alone (a checker's) has none.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool, Option<Arc<group::Writer>>),
    Postgres(PgPool),
}

/// An open transaction: committed by [`Tx::commit`], rolled back when dropped.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    /// A member of a SQLite write group.
    Group(group::WriteTx),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite pool, for the roles that only ever run on SQLite (the agent).
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(pool, _) => Some(pool),
            Db::Postgres(_) => None,
        }
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(_, Some(writer)) => Tx::Group(writer.begin().await?),
            Db::Sqlite(pool, None) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// SQLite's group commits so far: (groups, transactions they carried); `None`
    /// without a writer (PostgreSQL, the agent, a read-only pool).
    pub fn group_commits(&self) -> Option<(usize, usize)> {
        match self {
            Db::Sqlite(_, Some(writer)) => Some(writer.committed()),
            _ => None,
        }
    }

    /// SQLite's `COMMIT`s that fsynced so far, and the time their groups waited for them
    /// in all; `None` without a writer.
    pub fn fsync_waits(&self) -> Option<(usize, std::time::Duration)> {
        match self {
            Db::Sqlite(_, Some(writer)) => Some(writer.fsync_waits()),
            _ => None,
        }
    }

    /// Whether commits are made durable by the syncer (server/db/durable.rs): then an
    /// HTTP answer waits for what its reads saw ([`durable::answered_when_durable`]).
    pub fn has_syncer(&self) -> bool {
        match self {
            Db::Sqlite(_, Some(writer)) => writer.has_syncer(),
            _ => false,
        }
    }

    /// A transaction that only reads: one consistent snapshot, beside the writer (on
    /// SQLite a reading connection's own transaction, so a long check holds up no write).
    pub async fn snapshot(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool, _) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Where the data is, for the log: never the password.
    pub fn describe(&self) -> String {
        match self {
            Db::Sqlite(pool, _) => {
                format!("SQLite {}", pool.connect_options().get_filename().display())
            }
            Db::Postgres(pool) => {
                let options = pool.connect_options();
                format!(
                    "PostgreSQL {}@{}:{}/{}",
                    options.get_username(),
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or_default()
                )
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Db::Sqlite(pool, _) => pool.is_closed(),
            Db::Postgres(pool) => pool.is_closed(),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, _) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl From<SqlitePool> for Db {
    fn from(pool: SqlitePool) -> Db {
        Db::Sqlite(pool, None)
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Group(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Group(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// The files SQLite keeps beside a database in WAL mode.
const SIDE_FILES: [&str; 2] = ["-wal", "-shm"];

/// Makes the database file owner-only (0600) *before* SQLite opens it: the database holds
/// money and passwords (processing keeps providers' passwords for outbound calls, the
/// agent its contract's). A missing file is created empty with mode 0600 — no umask, no
/// window in which it is readable — and SQLite, finding it empty, makes a database of it.
/// SQLite gives `-wal` and `-shm` the main file's mode when it creates them; files left by
/// an older version with wider modes are narrowed here too.
fn owner_only(file: &Path) -> Result<(), StartError> {
    let failed = |e: std::io::Error| {
        StartError::Database(format!("cannot make {} owner-only: {e}", file.display()))
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(file)
        .map_err(failed)?;
    let mut paths = vec![file.to_owned()];
    for suffix in SIDE_FILES {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        paths.push(side.into());
    }
    for path in paths.iter().filter(|p| p.exists()) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    }
    Ok(())
}

/// Opens the role's database — `database_url` when given (`sqlite:PATH` or, for
/// processing and the provider, `postgres://…`), else `DIR/<role>.db` — and applies its
/// migrations.
pub async fn open(
    role: Role,
    data_dir: &Path,
    database_url: Option<&str>,
    synchronous: Synchronous,
) -> Result<Db, StartError> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            if !matches!(role, Role::Processing | Role::Provider) {
                return Err(StartError::Database(format!(
                    "the {role} keeps its data in SQLite (it runs beside its terminal or \
                     subscriber); PostgreSQL is for processing and the provider"
                )));
            }
            open_postgres(role, url).await.map(Db::Postgres)
        }
        Some(url) if !url.starts_with("sqlite:") => {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StartError::Database(format!(
                "database URL scheme `{scheme}:` is not supported; use sqlite:PATH or postgres://…"
            )))
        }
        url => open_sqlite(role, data_dir, url, synchronous).await,
    }
}

/// PostgreSQL: the URL's own settings, a modest pool per process, and the
/// `<role>-postgres` tree. Several processes may start at once: sqlx's migrator takes an
/// advisory lock, so one applies the migrations and the others find them applied.
async fn open_postgres(role: Role, url: &str) -> Result<PgPool, StartError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StartError::Database(format!("database URL: {e}")))?
        .application_name(&format!("paymesh-{role}"));
    let pool = PgPoolOptions::new()
        .max_connections(MAX_PG_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|e| StartError::Database(format!("PostgreSQL: {e}")))?;
    let migrator = match role {
        Role::Provider => sqlx::migrate!("../migrations/provider-postgres"),
        _ => sqlx::migrate!("../migrations/processing-postgres"),
    };
    migrator
        .run(&pool)
        .await
        .map_err(|e| StartError::Database(format!("migration failed: {e}")))?;
    Ok(pool)
}

/// The page size new SQLite databases are created with. A group `COMMIT` writes every
/// page its members changed, and a payment changes a few rows in each of a dozen B-trees
/// (the growing end of each table and index, an account's row, a key's leaf): in 1 KiB
/// pages that is a quarter of the bytes of SQLite's default 4 KiB, written and (with FULL)
/// fsynced. Measured end to end: +14 % payments/s with FULL and NORMAL alike, ~4 % less
/// CPU a payment (docs/performance.md, "the tenth step").
pub const PAGE_SIZE: u32 = 1024;

/// The page size a new SQLite database gets: [`PAGE_SIZE`], or `PAYMESH_SQLITE_PAGE_SIZE`
/// (for measuring, or a database of large rows). An existing database keeps its own.
pub fn page_size_for_new_databases() -> Result<u32, String> {
    page_size_from(std::env::var("PAYMESH_SQLITE_PAGE_SIZE").ok().as_deref())
}

fn page_size_from(setting: Option<&str>) -> Result<u32, String> {
    let Some(value) = setting else {
        return Ok(PAGE_SIZE);
    };
    match value.parse::<u32>() {
        Ok(bytes) if bytes.is_power_of_two() && (512..=65_536).contains(&bytes) => Ok(bytes),
        _ => Err(format!(
            "PAYMESH_SQLITE_PAGE_SIZE={value:?}: a page size is a power of two from 512 to 65536"
        )),
    }
}

/// SQLite: `DIR/<role>.db` or `sqlite:PATH`.
///
/// Pragmas, and why:
/// * `journal_mode=WAL` — readers never block the writer, so the UI and reports can read
///   while payments commit.
/// * `synchronous=FULL` — a committed payment survives a power cut; NORMAL could lose the
///   last transactions, and we would have told a terminal "completed". (`--sqlite-synchronous
///   normal` exists for measurements and for operators who accept that trade.) With
///   `PAYMESH_SQLITE_SYNC=syncer` the group writer's commits are made durable by
///   [`durable`]'s syncer instead of inside its `COMMIT`: the same promise, the writer not
///   waiting for the disk (for slow disks; not the default, see there).
/// * `busy_timeout=5s` — a writer of another process (an operator's tool) is waited for
///   instead of failing with SQLITE_BUSY; this process's own writers never meet: they
///   queue for its one writer connection ([`group`]), which commits them in groups.
/// * `foreign_keys=ON` — SQLite leaves them off by default.
async fn open_sqlite(
    role: Role,
    data_dir: &Path,
    database_url: Option<&str>,
    synchronous: Synchronous,
) -> Result<Db, StartError> {
    let file = data_dir.join(format!("{role}.db"));
    let options = match database_url {
        Some(url) => {
            SqliteConnectOptions::from_str(url).map_err(|e| StartError::Database(e.to_string()))?
        }
        None => SqliteConnectOptions::new().filename(&file),
    };
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match synchronous {
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Normal => SqliteSynchronous::Normal,
        })
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    // SQLite takes a page size only when it creates the file (sqlx sets it before the
    // journal mode); an existing database keeps its own, whatever this asks.
    let options = options.page_size(page_size_for_new_databases().map_err(StartError::Database)?);
    let in_memory = options.get_filename() == Path::new(":memory:")
        || database_url.is_some_and(|url| url.contains("mode=memory"));
    if !in_memory {
        owner_only(options.get_filename())?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options.clone())
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    let migrator = match role {
        Role::Provider => sqlx::migrate!("../migrations/provider"),
        Role::Processing => sqlx::migrate!("../migrations/processing"),
        Role::Agent => sqlx::migrate!("../migrations/agent"),
        Role::Consumer => {
            return Err(StartError::Database(
                "the consumer keeps no database".into(),
            ));
        }
    };
    migrator
        .run(&pool)
        .await
        .map_err(|e| StartError::Database(format!("migration failed: {e}")))?;
    // The writer opens after the migrations: it holds no lock until its first group.
    // An in-memory database is one per connection: there the pool writes itself. So it
    // does with PAYMESH_SQLITE_WRITER=pool — every connection its own writer, SQLite's
    // busy handler between them: how it was before group commit, kept for measuring the
    // difference (docs/performance.md).
    // The agent (one terminal, a customer at a time) writes through its pool: it has no
    // load to group.
    let pooled =
        std::env::var("PAYMESH_SQLITE_WRITER").is_ok_and(|v| v == "pool") || role == Role::Agent;
    let writer = if in_memory || pooled {
        None
    } else {
        let sync = match synchronous {
            Synchronous::Normal => lite::CommitSync::None,
            Synchronous::Full if durable::syncer_requested() => lite::CommitSync::Syncer,
            Synchronous::Full => lite::CommitSync::Commit,
        };
        let opener = lite::Opener::new(options.get_filename(), sync);
        Some(group::Writer::open(opener).map_err(|e| StartError::Database(e.to_string()))?)
    };
    Ok(Db::Sqlite(pool, writer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size_of(file: &Path) -> i64 {
        let conn = rusqlite::Connection::open(file).expect("open the database");
        conn.query_row("PRAGMA page_size", [], |row| row.get(0))
            .expect("page_size")
    }

    #[tokio::test]
    async fn a_new_database_gets_small_pages_and_an_existing_one_keeps_its_own() {
        let new = tempfile::tempdir().expect("temp dir");
        let db = open(Role::Processing, new.path(), None, Synchronous::Full)
            .await
            .expect("open a new database");
        db.close().await;
        assert_eq!(
            page_size_of(&new.path().join("processing.db")),
            i64::from(PAGE_SIZE)
        );

        // A database created before (SQLite's default then) is opened as it is: SQLite
        // could change its page size only by rewriting the whole file.
        let old = tempfile::tempdir().expect("temp dir");
        let file = old.path().join("processing.db");
        rusqlite::Connection::open(&file)
            .and_then(|c| c.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE before (v INTEGER);"))
            .expect("an older database");
        let db = open(Role::Processing, old.path(), None, Synchronous::Full)
            .await
            .expect("open an existing database");
        db.close().await;
        assert_eq!(page_size_of(&file), 4096);
    }

    #[test]
    fn a_page_size_setting_is_a_power_of_two_sqlite_accepts() {
        assert_eq!(page_size_from(None), Ok(PAGE_SIZE));
        assert_eq!(page_size_from(Some("4096")), Ok(4096));
        assert_eq!(page_size_from(Some("512")), Ok(512));
        for wrong in ["1000", "256", "131072", "4k", "", "-1024"] {
            assert!(page_size_from(Some(wrong)).is_err(), "{wrong:?} was taken");
        }
    }
}
