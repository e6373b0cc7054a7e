//! `paymesh demo`: the four participants as separate processes of this binary, on fixed
//! local ports, with data under one directory that the next start reuses. Prints each
//! portal's URL and operator credentials; Ctrl-C stops every process and exits 0.
//!
//! (Seeding the network with contracts, and the kiosk-shell with its bill-validator
//! simulator, arrive with the demo issue.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::cli::DemoArgs;
use crate::role::Role;
use crate::server::{ADMIN_PASSWORD_FILE, default_listen, shutdown_signal};

/// How long one participant may take to answer `/healthz` after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

struct Participant {
    role: Role,
    dir: PathBuf,
    child: Child,
}

async fn wait_healthy(role: Role) -> bool {
    let url = format!("http://{}/healthz", default_listen(role));
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
    for role in Role::ALL {
        let dir = args.data_dir.join(role.as_str());
        let child = Command::new(&exe)
            .arg(role.as_str())
            .arg("--listen")
            .arg(default_listen(role).to_string())
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("PAYMESH_ADMIN_PASSWORD")
            .env_remove("PAYMESH_LISTEN")
            .env_remove("PAYMESH_CONFIG")
            // Each participant logs in full to DIR/logs; the terminal shows only warnings.
            .env(
                "PAYMESH_LOG",
                std::env::var("PAYMESH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .kill_on_drop(true)
            .spawn();
        match child {
            Ok(child) => participants.push(Participant { role, dir, child }),
            Err(e) => {
                eprintln!("paymesh demo: cannot start {role}: {e}");
                stop_all(&mut participants).await;
                return ExitCode::FAILURE;
            }
        }
    }
    for p in &participants {
        if !wait_healthy(p.role).await {
            eprintln!(
                "paymesh demo: {} did not come up on {}; see {}/logs",
                p.role,
                default_listen(p.role),
                p.dir.display()
            );
            stop_all(&mut participants).await;
            return ExitCode::FAILURE;
        }
    }
    println!();
    println!(
        "paymesh demo is up (data in {}). Portals:",
        args.data_dir.display()
    );
    for p in &participants {
        println!(
            "  {:<11} http://{}/   login admin   password {}",
            p.role.as_str(),
            default_listen(p.role),
            read_secret(&p.dir, ADMIN_PASSWORD_FILE)
        );
    }
    let agent_dir = args.data_dir.join(Role::Agent.as_str());
    println!(
        "  {:<11} kiosk login kiosk   password {}",
        "agent",
        read_secret(&agent_dir, "kiosk-password")
    );
    println!(
        "Logs: {}/<role>/logs. Press Ctrl-C to stop.",
        args.data_dir.display()
    );

    let mut exited = None;
    tokio::select! {
        _ = shutdown_signal() => {}
        (role, status) = first_exit(&mut participants) => exited = Some((role, status)),
    }
    stop_all(&mut participants).await;
    match exited {
        None => {
            println!("paymesh demo: stopped");
            ExitCode::SUCCESS
        }
        Some((role, status)) => {
            eprintln!("paymesh demo: {role} exited on its own ({status}); stopped the others");
            ExitCode::FAILURE
        }
    }
}

/// Resolves when any participant exits.
async fn first_exit(participants: &mut [Participant]) -> (Role, String) {
    let waits = participants.iter_mut().map(|p| {
        let role = p.role;
        Box::pin(async move {
            let status = p
                .child
                .wait()
                .await
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            (role, status)
        })
    });
    futures::future::select_all(waits).await.0
}
