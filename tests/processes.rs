//! The real `paymesh` binary, started as a child process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_paymesh");

/// A child that is killed if the test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `paymesh <args>` and waits for its "listening on http(s)://ADDR" line.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Running, String, Vec<String>) {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("PAYMESH_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("paymesh starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line
            .split("listening on http://")
            .nth(1)
            .or_else(|| line.split("listening on https://").nth(1))
        {
            addr = Some(rest.trim().to_owned());
            lines.push(line);
            break;
        }
        lines.push(line);
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line; output: {lines:?}"));
    (Running(child), addr, lines)
}

/// A synchronous GET: these tests drive processes, not an async runtime.
fn get(url: &str) -> Option<u16> {
    status_with(url, None)
}

fn status_with(url: &str, auth: Option<(&str, &str)>) -> Option<u16> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let mut request = crate::helpers::plain_client().get(url);
        if let Some((login, password)) = auth {
            request = request.basic_auth(login, Some(password));
        }
        request.send().await.ok().map(|r| r.status().as_u16())
    })
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn provider_answers_healthz_prints_its_password_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("p");
    let data_arg = data.to_str().unwrap();
    let (mut first, addr, lines) = start(
        &[
            "provider",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_arg,
        ],
        &[],
    );
    assert_eq!(get(&format!("http://{addr}/healthz")), Some(200));
    assert_eq!(get(&format!("http://{addr}/")), Some(401));
    let password = std::fs::read_to_string(data.join("admin-password")).unwrap();
    assert!(
        lines.iter().any(|l| l.contains(password.trim())),
        "the generated password is printed: {lines:?}"
    );

    // A second process on the same data directory exits non-zero and says why.
    let second = Command::new(BIN)
        .args([
            "provider",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_arg,
        ])
        .env("PAYMESH_LOG", "off")
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("in use by another paymesh process"),
        "{stderr}"
    );

    // SIGTERM: a clean exit.
    send_signal(first.0.id(), "TERM");
    let status = wait_exit(&mut first.0, Duration::from_secs(10)).expect("exits after SIGTERM");
    assert!(status.success(), "{status}");

    // Restarted: the password is not printed again.
    let (_again, _, lines) = start(
        &[
            "provider",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_arg,
        ],
        &[],
    );
    assert!(
        !lines.iter().any(|l| l.contains(password.trim())),
        "printed only once: {lines:?}"
    );
}

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn config_file_environment_and_flags_in_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let data = dir.path().join("a");
    std::fs::write(
        &config,
        format!("data_dir = \"{}\"\nadmin_password = \"from-file\"\nkiosk_password = \"kiosk-from-file\"\nlisten = \"127.0.0.1:1\"\n", data.display()),
    )
    .unwrap();
    // The file says port 1, the flag says 0: the flag wins. The environment overrides the
    // file's admin password.
    let (_agent, addr, _) = start(
        &[
            "agent",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[("PAYMESH_ADMIN_PASSWORD", "from-env")],
    );
    let url = format!("http://{addr}/api/admin/v1/participant");
    let status = |login: &str, password: &str| status_with(&url, Some((login, password)));
    assert_eq!(status("admin", "from-env"), Some(200));
    assert_eq!(status("admin", "from-file"), Some(401));
    assert!(
        Path::new(&data).join("paymesh.lock").exists(),
        "data_dir came from the file"
    );
    assert!(
        !Path::new(&data).join("admin-password").exists(),
        "a given password is not written"
    );
}

/// A login carrying a newline (Basic credentials are base64, so any byte gets through)
/// stays inside its own log line; `--max-log-files` prunes old daily files at start.
#[test]
fn log_files_are_pruned_and_a_forged_login_stays_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("c");
    let logs = data.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for day in 1..=10 {
        let old = logs.join(format!("paymesh-consumer.log.2026-01-{day:02}"));
        std::fs::write(old, "old\n").unwrap();
    }
    let (_running, addr, _) = start(
        &[
            "consumer",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--max-log-files",
            "3",
        ],
        &[("PAYMESH_LOG", "info")],
    );
    let ours = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("paymesh-consumer.log"))
            .collect()
    };
    assert_eq!(ours().len(), 3, "{:?}", ours());

    let forged = "mallory\nFORGED INFO paymesh: payment settled";
    assert_eq!(
        status_with(&format!("http://{addr}/"), Some((forged, "guess"))),
        Some(401)
    );
    // The file writer flushes on its own thread: wait for the line to land.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text: String = ours()
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect();
        if text.contains("credentials refused") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("credentials refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{text}");
    assert!(
        refused[0].contains(r"login=mallory\nFORGED INFO"),
        "{}",
        refused[0]
    );
    assert!(
        !text.lines().any(|l| l.starts_with("FORGED")),
        "no forged line: {text}"
    );
}

#[test]
fn a_provider_started_with_a_certificate_serves_https_only() {
    let dir = tempfile::tempdir().unwrap();
    let authority = portals::demo::pki::Authority::new("paymesh test CA").unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (cert, key, ca, data) = (path("cert.pem"), path("key.pem"), path("ca.pem"), path("p"));
    authority
        .issue("provider", &portals::demo::pki::LOCAL_NAMES)
        .unwrap()
        .save(Path::new(&cert), Path::new(&key))
        .unwrap();
    std::fs::write(&ca, authority.cert_pem()).unwrap();

    // --tls-cert without --tls-key is refused before anything starts.
    let refused = Command::new(BIN)
        .args(["provider", "--listen", "127.0.0.1:0", "--data-dir", &data])
        .args(["--tls-cert", &cert])
        .env("PAYMESH_LOG", "off")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--tls-key"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let (_provider, addr, lines) = start(
        &[
            "provider",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
        &[],
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("listening on https://{addr}"))),
        "{lines:?}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let trusting = shared::outbound::Trust::load(Some(Path::new(&ca)))
            .unwrap()
            .client(Duration::from_secs(10))
            .unwrap();
        let health = trusting
            .get(format!("https://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        // HTTPS only: plain HTTP on the same port gets no answer.
        assert!(
            crate::helpers::plain_client()
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .is_err()
        );
    });
}

/// A first start on a fresh data directory says nothing alarming: the log directory is
/// made before the log rotation looks into it (tracing-appender used to print "Error
/// reading the log directory" on every first start).
#[test]
fn a_first_start_prints_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let mut child = Command::new(BIN)
        .args(["consumer", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PAYMESH_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("paymesh starts");
    let stdout = child.stdout.take().unwrap();
    let up = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("listening on"));
    assert!(up, "it started");
    send_signal(child.id(), "TERM");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Error"), "stderr: {stderr}");
    assert!(data.join("logs").is_dir());
}
