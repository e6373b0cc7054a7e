//! Opening the participant's database and bringing its schema up to date.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StartError;
use crate::role::Role;

/// Connections per pool: SQLite has one writer at a time, readers beside it in WAL.
pub const MAX_CONNECTIONS: u32 = 8;
/// How long a writer waits for another writer before the statement fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Opens `DIR/<role>.db` (or `database_url`) and applies `migrations/<role>/`.
///
/// Pragmas, and why:
/// * `journal_mode=WAL` — readers never block the writer, so the UI and reports can read
///   while payments commit.
/// * `synchronous=FULL` — a committed payment survives a power cut; NORMAL could lose the
///   last transactions, and we would have told a terminal "completed". (`--sqlite-synchronous
///   normal` exists for measurements and for operators who accept that trade.)
/// * `busy_timeout=5s` — concurrent writers queue instead of failing with SQLITE_BUSY.
/// * `foreign_keys=ON` — SQLite leaves them off by default.
pub async fn open(
    role: Role,
    data_dir: &Path,
    database_url: Option<&str>,
    synchronous: &str,
) -> Result<SqlitePool, StartError> {
    let file = data_dir.join(format!("{role}.db"));
    let options = match database_url {
        None => SqliteConnectOptions::new().filename(&file),
        Some(url) if url.starts_with("sqlite:") => {
            SqliteConnectOptions::from_str(url).map_err(|e| StartError::Database(e.to_string()))?
        }
        Some(url) => {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(StartError::Database(format!(
                "database URL scheme `{scheme}:` is not supported by this build; use sqlite:PATH"
            )));
        }
    };
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if synchronous == "normal" {
            SqliteSynchronous::Normal
        } else {
            SqliteSynchronous::Full
        })
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let in_memory = options.get_filename() == Path::new(":memory:")
        || database_url.is_some_and(|url| url.contains("mode=memory"));
    if !in_memory {
        owner_only(options.get_filename())?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
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
    Ok(pool)
}
