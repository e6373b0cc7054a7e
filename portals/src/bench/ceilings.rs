//! The ceilings `paymesh bench --local` measures in the same run as the payments, so that
//! every figure is read against what this disk and this CPU can do at all: single-row
//! SQLite WAL commits (one row, one transaction, one fsync with `FULL`), and a plain axum
//! JSON echo loaded by the same generator as the payments.

use std::ffi::CString;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::config::Synchronous;

use super::{Outcome, Plan, Summary, drive};

/// Single-row commits per second into a WAL SQLite file at `file`, for `how_long`: one
/// prepared `INSERT` stepped in autocommit, on a thread of its own, through SQLite's C
/// API — the cheapest commit this binary can make, so the figure is the disk's (and
/// SQLite's), not the async driver's. The file gets `page_size`, the participants' page
/// size, so a commit writes a page of the size theirs do.
pub async fn sqlite_commits(
    file: &Path,
    synchronous: Synchronous,
    page_size: u32,
    how_long: Duration,
) -> Result<f64, String> {
    let file = file.to_owned();
    tokio::task::spawn_blocking(move || commit_loop(&file, synchronous, page_size, how_long))
        .await
        .map_err(|e| format!("the commit loop stopped: {e}"))?
}

fn commit_loop(
    file: &Path,
    synchronous: Synchronous,
    page_size: u32,
    how_long: Duration,
) -> Result<f64, String> {
    use libsqlite3_sys as ffi;
    let path = CString::new(file.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("{}: a path with a NUL byte", file.display()))?;
    let failed = |what: &str, code: i32| format!("{}: {what}: SQLite error {code}", file.display());
    let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and an out-pointer SQLite fills; the handle is closed
    // below on every path that got one.
    let opened = unsafe {
        ffi::sqlite3_open_v2(
            path.as_ptr(),
            &mut db,
            ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE,
            std::ptr::null(),
        )
    };
    let result = if opened == ffi::SQLITE_OK {
        run_commits(db, synchronous, page_size, how_long).map_err(|(what, code)| failed(what, code))
    } else {
        Err(failed("open", opened))
    };
    // SAFETY: `db` is the handle sqlite3_open_v2 gave (or null, which close accepts).
    unsafe {
        ffi::sqlite3_close(db);
    }
    result
}

fn run_commits(
    db: *mut libsqlite3_sys::sqlite3,
    synchronous: Synchronous,
    page_size: u32,
    how_long: Duration,
) -> Result<f64, (&'static str, i32)> {
    use libsqlite3_sys as ffi;
    let sync = synchronous.as_str();
    let setup = CString::new(format!(
        "PRAGMA page_size={page_size}; PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};
         CREATE TABLE IF NOT EXISTS commits (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);"
    ))
    .map_err(|_| ("setup", 0))?;
    // SAFETY: an open handle and a NUL-terminated script; no callback.
    let code = unsafe {
        ffi::sqlite3_exec(
            db,
            setup.as_ptr(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if code != ffi::SQLITE_OK {
        return Err(("setup", code));
    }
    let insert = c"INSERT INTO commits (at) VALUES (?1)";
    let mut statement: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
    // SAFETY: an open handle, a NUL-terminated statement (-1: read to the NUL), an
    // out-pointer; the statement is finalized below.
    let code = unsafe {
        ffi::sqlite3_prepare_v2(
            db,
            insert.as_ptr(),
            -1,
            &mut statement,
            std::ptr::null_mut(),
        )
    };
    if code != ffi::SQLITE_OK {
        return Err(("prepare", code));
    }
    let started = Instant::now();
    let mut commits: i64 = 0;
    let mut outcome = Ok(());
    while started.elapsed() < how_long {
        // SAFETY: a prepared statement of this handle; each step in autocommit is one
        // transaction, committed (and with FULL synced) before it returns.
        let code = unsafe {
            ffi::sqlite3_bind_int64(statement, 1, commits);
            let code = ffi::sqlite3_step(statement);
            ffi::sqlite3_reset(statement);
            code
        };
        if code != ffi::SQLITE_DONE {
            outcome = Err(("insert", code));
            break;
        }
        commits += 1;
    }
    // SAFETY: the statement prepared above, finalized once.
    unsafe {
        ffi::sqlite3_finalize(statement);
    }
    outcome.map(|()| commits as f64 / started.elapsed().as_secs_f64())
}

/// The disk's two commit rates, sampled more than once in a run: before the payments,
/// and again between their rounds (`--synchronous both`) or after them. The ceiling is
/// the median of the samples. This disk's single-row FULL commit rate moved by a third
/// between runs minutes apart (docs/performance.md, the seventeenth step); one sample taken
/// before the payments made the ratio to it the disk's moment more than the code's.
pub struct DiskCeilings {
    dir: std::path::PathBuf,
    page_size: u32,
    full: Vec<f64>,
    normal: Vec<f64>,
}

impl DiskCeilings {
    /// Nothing sampled yet; the loops write their files in `dir`.
    pub fn new(dir: &Path, page_size: u32) -> DiskCeilings {
        DiskCeilings {
            dir: dir.to_owned(),
            page_size,
            full: Vec::new(),
            normal: Vec::new(),
        }
    }

    /// One sample of each setting, `how_long` each.
    pub async fn sample(&mut self, how_long: Duration) -> Result<(), String> {
        let full = sqlite_commits(
            &self.dir.join("ceiling-full.db"),
            Synchronous::Full,
            self.page_size,
            how_long,
        )
        .await?;
        let normal = sqlite_commits(
            &self.dir.join("ceiling-normal.db"),
            Synchronous::Normal,
            self.page_size,
            how_long,
        )
        .await?;
        self.full.push(full);
        self.normal.push(normal);
        Ok(())
    }

    /// Single-row FULL commits per second: the median of the samples.
    pub fn full(&self) -> f64 {
        median(&self.full)
    }

    /// The same with NORMAL.
    pub fn normal(&self) -> f64 {
        median(&self.normal)
    }

    pub fn full_samples(&self) -> &[f64] {
        &self.full
    }

    pub fn normal_samples(&self) -> &[f64] {
        &self.normal
    }
}

/// The middle value (the mean of the middle two of an even count); 0 for none.
pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A plain axum handler that answers a JSON body with itself, loaded as `plan` says.
pub async fn axum_echo(client: &reqwest::Client, plan: &Plan) -> Result<Summary, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("the echo server: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the echo server: {e}"))?;
    let router = axum::Router::new().route(
        "/echo",
        axum::routing::post(|axum::Json(body): axum::Json<Value>| async move { axum::Json(body) }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://{addr}/echo");
    let client = client.clone();
    let echoed = drive(plan, move |i| {
        let request = client
            .post(&url)
            .json(&serde_json::json!({"status": "completed", "i": i}));
        async move {
            let answer = request.send().await.map_err(|e| format!("echo {i}: {e}"))?;
            let body: Value = answer.json().await.map_err(|e| format!("echo {i}: {e}"))?;
            Ok(Outcome::of(body["status"].as_str().unwrap_or_default()))
        }
    })
    .await;
    server.abort();
    echoed
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_is_the_middle_sample() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[7.0]), 7.0);
        assert_eq!(median(&[9.0, 1.0, 5.0]), 5.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 10.0]), 3.5);
    }
}
