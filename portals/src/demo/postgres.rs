//! A PostgreSQL cluster of the demo's own (`paymesh demo --postgres`), and of the tests:
//! `initdb` into a directory, the server on a loopback port, stopped at the end. No system
//! service is touched. PostgreSQL refuses to run as root; as root the server runs as the
//! `postgres` user the Debian package creates, in a directory handed to it.
//!
//! The server runs in the foreground as this process's child (not daemonized by
//! `pg_ctl start`), with a parent-death signal: a demo killed outright takes its cluster
//! with it instead of leaving it on the demo's port. A server left running all the same
//! (by an older paymesh, say) is stopped with `pg_ctl stop` before ours starts.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::server::children::{DieWithParent, ParentDeathSignal};

/// How long a server may take to accept connections (crash recovery included).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The postmaster, our child; `None` once stopped.
    server: Mutex<Option<Child>>,
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
            server: Mutex::new(None),
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
        cluster.stop_leftover_server()?;
        let mut options = vec![
            format!("port={port}"),
            format!("unix_socket_directories={}", dir.display()),
            "listen_addresses=127.0.0.1".to_owned(),
            "max_connections=200".to_owned(),
        ];
        if durability == Durability::Throwaway {
            options.extend(["fsync=off".to_owned(), "full_page_writes=off".to_owned()]);
        }
        let server = cluster.spawn_server(&options)?;
        *cluster.lock_server() = Some(server);
        cluster.wait_ready()?;
        Ok(cluster)
    }

    /// A server still running in the data directory had an owner that could not stop it
    /// (a demo killed outright, before servers were its children): stop it, so that the
    /// port and the data directory are ours.
    fn stop_leftover_server(&self) -> Result<(), String> {
        let data = self.data();
        let running = self
            .try_run(
                "pg_ctl",
                &["-D".as_ref(), data.as_os_str(), "status".as_ref()],
            )
            .is_ok_and(|o| o.status.success());
        if !running {
            return Ok(());
        }
        tracing::warn!(dir = %data.display(), "stopping a PostgreSQL server left running in the demo's data directory");
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
    }

    /// `postgres -D DATA -c …` in the foreground, as the cluster's owner, its output
    /// appended to `server.log`; SIGINT (a fast shutdown) when this thread's process ends.
    fn spawn_server(&self, options: &[String]) -> Result<Child, String> {
        let log_path = self.dir.join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut command = Command::new(self.bin.join("postgres"));
        command.arg("-D").arg(self.data());
        for option in options {
            command.arg("-c").arg(option);
        }
        command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if let Some(user) = self.run_as {
            let owner = Owner::named(user)?;
            // Before the parent-death hook: a change of user clears that signal.
            owner.switch_to_in(&mut command);
        }
        command
            .die_with_parent(ParentDeathSignal::Interrupt)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))
    }

    /// Waits until the server accepts connections, as `pg_ctl start -w` does: its
    /// `postmaster.pid` says `ready`.
    fn wait_ready(&self) -> Result<(), String> {
        let pid_file = self.data().join("postmaster.pid");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .lock_server()
                .as_mut()
                .and_then(|s| s.try_wait().ok().flatten())
            {
                return Err(format!("postgres exited ({status}): {}", self.log_tail()));
            }
            let ready = std::fs::read_to_string(&pid_file)
                .is_ok_and(|text| text.lines().nth(7).is_some_and(|l| l.trim() == "ready"));
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "postgres did not accept connections within {} s: {}",
                    READY_TIMEOUT.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn lock_server(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        // A panic while holding the lock leaves the child as it was: still usable.
        self.server
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The last lines of the server's log, for an error message.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let mut tail: Vec<&str> = log.lines().rev().take(5).collect();
        tail.reverse();
        tail.join("\n")
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

    /// Stops the server (a fast shutdown: sessions end, what was committed stays) and
    /// waits for it; a server that does not stop in time is killed.
    pub fn stop(&self) {
        let Some(mut server) = self.lock_server().take() else {
            return;
        };
        // SAFETY: kill(2) on our own child, which we have not reaped yet.
        unsafe {
            libc::kill(server.id() as libc::pid_t, libc::SIGINT);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(server.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(dir = %self.dir.display(), "PostgreSQL did not stop in time; killing it");
        let _ = server.kill();
        let _ = server.wait();
    }

    fn run(&self, tool: &str, args: &[&OsStr]) -> Result<(), String> {
        let output = self
            .try_run(tool, args)
            .map_err(|e| format!("{tool}: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "{tool} failed: {}{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log_tail()
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

/// The user that owns a cluster's files and runs its server, when we are root.
struct Owner {
    uid: libc::uid_t,
    gid: libc::gid_t,
}

impl Owner {
    fn named(user: &str) -> Result<Owner, String> {
        let name = std::ffi::CString::new(user).map_err(|_| format!("bad user name {user:?}"))?;
        // SAFETY: getpwnam reads the user database; the pointer it returns is valid until
        // the next call, and we copy the two numbers out at once. Start-up is the only
        // caller, so no other thread races us on its static buffer in practice; the
        // fields read are plain integers either way.
        let entry = unsafe { libc::getpwnam(name.as_ptr()) };
        if entry.is_null() {
            return Err(format!(
                "no user {user} (the postgresql package creates it: apt-get install postgresql)"
            ));
        }
        // SAFETY: non-null, pointing at the passwd record getpwnam filled in.
        let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
        Ok(Owner { uid, gid })
    }

    /// The child runs as this user, with no supplementary groups. Done in a pre-exec hook
    /// of our own rather than with std's `uid`/`gid`, so that the order against the
    /// parent-death hook registered after it is ours to see: hooks run in the order they
    /// were added, and a change of user clears the parent-death signal.
    fn switch_to_in(&self, command: &mut Command) {
        use std::os::unix::process::CommandExt;
        let (uid, gid) = (self.uid, self.gid);
        // SAFETY: setgroups, setgid and setuid are async-signal-safe, and the hook allocates
        // nothing (its error is a raw OS error), as a pre_exec hook must.
        unsafe {
            command.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) == -1
                    || libc::setgid(gid) == -1
                    || libc::setuid(uid) == -1
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
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
