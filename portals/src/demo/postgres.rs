//! A PostgreSQL cluster of the demo's own (`paymesh demo --postgres`), and of the tests:
//! `initdb` into a directory, `pg_ctl start` on a loopback port, `pg_ctl stop` at the end.
//! No system service is touched. PostgreSQL refuses to run as root; as root the server
//! runs as the `postgres` user the Debian package creates, in a directory handed to it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How much a cluster keeps of what it was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A demo's data survives a crash of the machine (PostgreSQL's defaults).
    Durable,
    /// A test's cluster is thrown away: no fsync, no full-page writes.
    Throwaway,
}

/// A running cluster; stopped by [`Cluster::stop`] or when dropped.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<&'static str>,
    pub port: u16,
}

/// The newest installed PostgreSQL's `bin` directory (Debian keeps one per version).
pub fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Cluster {
    /// Starts the cluster in `dir` (made by `initdb` the first time) on `port`.
    pub fn start(dir: &Path, port: u16, durability: Durability) -> Result<Cluster, String> {
        let bin = binaries().ok_or(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
             apt-get install postgresql, or run scripts/install-deps.sh --test",
        )?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let run_as = is_root().then_some("postgres");
        let cluster = Cluster {
            dir: dir.to_owned(),
            bin,
            run_as,
            port,
        };
        if let Some(user) = run_as {
            let handed = Command::new("chown")
                .args(["-R", user])
                .arg(dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !handed.success() {
                return Err(format!("chown {user} {} failed", dir.display()));
            }
        }
        let data = cluster.data();
        if !data.join("PG_VERSION").exists() {
            let mut args: Vec<&OsStr> = vec![
                "-D".as_ref(),
                data.as_os_str(),
                "--auth=trust".as_ref(),
                "--username=postgres".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
            ];
            if durability == Durability::Throwaway {
                args.push("--no-sync".as_ref());
            }
            cluster.run("initdb", &args)?;
        }
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            dir.display()
        );
        if durability == Durability::Throwaway {
            options.push_str(" -c fsync=off -c full_page_writes=off");
        }
        // A server left running (a demo killed before it could stop it) is used as is.
        let running = cluster
            .try_run(
                "pg_ctl",
                &["-D".as_ref(), data.as_os_str(), "status".as_ref()],
            )
            .is_ok_and(|o| o.status.success());
        if running {
            return Ok(cluster);
        }
        let log = dir.join("server.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's URL, without a database.
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// The URL of database `name`, created if it does not exist yet.
    pub async fn database(&self, name: &str) -> Result<String, String> {
        ensure_database(&self.server_url(), name).await
    }

    /// Stops the server (a fast shutdown: sessions end, what was committed stays).
    pub fn stop(&self) {
        let _ = self.try_run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data().as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }

    fn run(&self, tool: &str, args: &[&OsStr]) -> Result<(), String> {
        let output = self
            .try_run(tool, args)
            .map_err(|e| format!("{tool}: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        Err(format!(
            "{tool} failed: {}{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
        ))
    }

    fn try_run(&self, tool: &str, args: &[&OsStr]) -> std::io::Result<Output> {
        let program = self.bin.join(tool);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.args(args).current_dir(&self.dir).output()
    }
}

/// The URL of database `name` on the server at `server_url` (`postgres://USER@HOST:PORT`),
/// created if it does not exist yet.
pub async fn ensure_database(server_url: &str, name: &str) -> Result<String, String> {
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!("not a plain database name: {name}"));
    }
    let failed = |e: sqlx::Error| format!("PostgreSQL at {server_url}: {e}");
    let admin = sqlx::PgPool::connect(&format!("{server_url}/postgres"))
        .await
        .map_err(failed)?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&admin)
        .await
        .map_err(failed)?;
    if exists.is_none() {
        // CREATE DATABASE takes no bind parameters; the name was checked above.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .map_err(failed)?;
    }
    admin.close().await;
    Ok(format!("{server_url}/{name}"))
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
