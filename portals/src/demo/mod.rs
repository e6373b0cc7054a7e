//! `paymesh demo`: a whole network as separate processes of this binary on fixed local
//! ports — processing, three providers (Megafon and Tele2 mobile, Er-Telecom internet), an
//! agent with a topped-up deposit, a consumer with a contract at each provider — its
//! contracts signed through the real APIs (`seed`), its data under one directory that the
//! next start reuses. Prints each portal's URL and credentials; Ctrl-C stops every process
//! and exits 0. Until kiosk-shell and its bill-validator simulator exist, the agent runs
//! with `--kiosk-dev`: the kiosk page offers simulated banknotes.

pub mod seed;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::cli::DemoArgs;
use crate::role::Role;
use crate::server::{ADMIN_PASSWORD_FILE, shutdown_signal};

/// How long one participant may take to answer `/healthz` after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

struct Participant {
    key: &'static str,
    port: u16,
    dir: PathBuf,
    child: Child,
}

/// (data directory key, role, port, extra flags) of every demo participant.
fn lineup() -> Vec<(&'static str, Role, u16, Vec<String>)> {
    let mut lineup = vec![
        (
            "processing",
            Role::Processing,
            seed::PROCESSING_PORT,
            vec![],
        ),
        (
            "agent",
            Role::Agent,
            seed::AGENT_PORT,
            vec![
                "--kiosk-dev".into(),
                "--name".into(),
                "Демо-терминал".into(),
            ],
        ),
        ("consumer", Role::Consumer, seed::CONSUMER_PORT, vec![]),
    ];
    for p in seed::PROVIDERS {
        lineup.push((
            p.key,
            Role::Provider,
            p.port,
            vec![
                "--name".into(),
                p.name.into(),
                "--kind".into(),
                p.kind.into(),
            ],
        ));
    }
    lineup
}

async fn wait_healthy(port: u16) -> bool {
    let url = format!("http://127.0.0.1:{port}/healthz");
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

fn read_secret(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "(unknown)".into())
}

async fn stop_all(participants: &mut [Participant]) {
    for p in participants.iter() {
        if let Some(pid) = p.child.id() {
            // SIGTERM lets each participant finish its requests and close its database.
            // SAFETY: kill(2) with a pid we spawned and still own; no memory is involved.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
    for p in participants.iter_mut() {
        if tokio::time::timeout(Duration::from_secs(10), p.child.wait())
            .await
            .is_err()
        {
            let _ = p.child.kill().await;
        }
    }
}

pub async fn run(args: DemoArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("paymesh demo: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut participants = Vec::new();
    for (key, role, port, extra) in lineup() {
        let dir = args.data_dir.join(key);
        let child = Command::new(&exe)
            .arg(role.as_str())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&dir)
            .args(&extra)
            .env_remove("PAYMESH_ADMIN_PASSWORD")
            .env_remove("PAYMESH_LISTEN")
            .env_remove("PAYMESH_CONFIG")
            .env_remove("PAYMESH_DATA_DIR")
            // Each participant logs in full to DIR/logs; the terminal shows only warnings.
            .env(
                "PAYMESH_LOG",
                std::env::var("PAYMESH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        match child {
            Ok(child) => participants.push(Participant {
                key,
                port,
                dir,
                child,
            }),
            Err(e) => {
                eprintln!("paymesh demo: cannot start {key}: {e}");
                stop_all(&mut participants).await;
                return ExitCode::FAILURE;
            }
        }
    }
    for p in &participants {
        if !wait_healthy(p.port).await {
            eprintln!(
                "paymesh demo: {} did not come up on port {}; see {}/logs",
                p.key,
                p.port,
                p.dir.display()
            );
            stop_all(&mut participants).await;
            return ExitCode::FAILURE;
        }
    }
    let seeded = match seed::seed(&args.data_dir).await {
        Ok(seeded) => seeded,
        Err(e) => {
            eprintln!("paymesh demo: signing the demo contracts failed: {e}");
            stop_all(&mut participants).await;
            return ExitCode::FAILURE;
        }
    };
    println!();
    println!(
        "paymesh demo is up (data in {}; the next start reuses it). Portals, login admin:",
        args.data_dir.display()
    );
    for p in &participants {
        println!(
            "  {:<11} http://127.0.0.1:{}/   password {}",
            p.key,
            p.port,
            read_secret(&p.dir, ADMIN_PASSWORD_FILE)
        );
    }
    println!(
        "Kiosk: http://127.0.0.1:{}/kiosk   login kiosk   password {}   (simulated banknotes on the cash screen)",
        seed::AGENT_PORT,
        read_secret(&args.data_dir.join("agent"), "kiosk-password")
    );
    println!("Subscriber accounts (their contracts are in the consumer app):");
    for (provider, account, _, _) in &seeded.subscribers {
        println!("  {provider:<11} {account}");
    }
    println!(
        "Logs: {}/<participant>/logs. Press Ctrl-C to stop.",
        args.data_dir.display()
    );

    let mut exited = None;
    tokio::select! {
        _ = shutdown_signal() => {}
        (key, status) = first_exit(&mut participants) => exited = Some((key, status)),
    }
    stop_all(&mut participants).await;
    match exited {
        None => {
            println!("paymesh demo: stopped");
            ExitCode::SUCCESS
        }
        Some((key, status)) => {
            eprintln!("paymesh demo: {key} exited on its own ({status}); stopped the others");
            ExitCode::FAILURE
        }
    }
}

/// Resolves when any participant exits.
async fn first_exit(participants: &mut [Participant]) -> (&'static str, String) {
    let waits = participants.iter_mut().map(|p| {
        let key = p.key;
        Box::pin(async move {
            let status = p
                .child
                .wait()
                .await
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            (key, status)
        })
    });
    futures::future::select_all(waits).await.0
}
