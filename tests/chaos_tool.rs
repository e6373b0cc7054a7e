//! `paymesh chaos`: a short run as CI's proof that no payment is lost, doubled or made up
//! under kills and cut links — and proof that its checker sees each of those when the
//! databases hold them.

use std::collections::HashSet;
use std::process::Command;

use portals::chaos::check::{Findings, check};
use portals::role::Role;
use portals::server::db;
use serde_json::Value;

#[tokio::test]
async fn a_short_chaos_run_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_paymesh"));
    command
        .args([
            "chaos",
            "--payments",
            "500",
            "--concurrency",
            "32",
            "--kills",
            "10",
        ])
        .args(["--partition-s", "5", "--seed", "15", "--data-dir"])
        .arg(dir.path());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("paymesh chaos runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for zero in [
        "lost",
        "doubled",
        "orphan_credits",
        "pending_after_drain",
        "conservation_violations",
    ] {
        assert_eq!(last[zero], 0, "{zero}: {last}");
    }
    assert_eq!(last["payments"], 500, "{last}");
    assert_eq!(last["kills"], 10, "{last}");
    assert!(stderr.matches("SIGKILL").count() == 10, "{stderr}");
}

/// The checker against databases that hold each kind of broken promise.
#[tokio::test]
async fn the_checker_finds_lost_doubled_and_made_up_credits() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::create_dir_all(dir.path().join("v")).unwrap();
    let processing = db::open(Role::Processing, &dir.path().join("p"), None, "full")
        .await
        .unwrap();
    let provider = db::open(Role::Provider, &dir.path().join("v"), None, "full")
        .await
        .unwrap();
    for sql in [
        "INSERT INTO providers (id, name, service_kind, endpoint_url, protocol, login, password, fields, min_amount, max_amount, created_at, updated_at)
         VALUES (1, 'P', 'mobile', 'http://127.0.0.1:9/', 'osmp', 'l', 'p', '[]', 100, 100000, '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z')",
        "INSERT INTO agents (id, name, contract_number, login, fee_percent_bp, fee_fixed, fee_min, created_at)
         VALUES (1, 'A', 'C-1', 'agent-1', 0, 0, 0, '2026-12-01T00:00:00.000000Z')",
    ] {
        db::query(sqlx::AssertSqlSafe(sql)).execute(&processing).await.unwrap();
    }
    // Payments 1–3 completed at processing, 4 pending; the provider credited 1 once,
    // 2 twice (a forged second row under another contract of the same provider is how a
    // double would look), 3 never, and 9 with no payment behind it.
    for (id, status) in [
        (1, "completed"),
        (2, "completed"),
        (3, "completed"),
        (4, "pending"),
    ] {
        db::query(
            "INSERT INTO payments (id, agent_id, agent_txn_id, request_hash, provider_id, account, cash, agent_fee, amount,
                                   processing_fee, status, accepted_at, created_at, updated_at)
             VALUES ($1, 1, $2, 'h', 1, '9000000000', 1000, 0, 1000, 0, $3, '2026-12-01T00:00:00.000000Z',
                     '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z')",
        )
        .bind(id)
        .bind(format!("T-{id}"))
        .bind(status)
        .execute(&processing)
        .await
        .unwrap();
    }
    db::query("INSERT INTO ledger_accounts (id, kind, owner_id, balance) VALUES ('provider:1', 'provider', 1, 3000)")
        .execute(&processing)
        .await
        .unwrap();
    processing.close().await;
    let provider_file = dir.path().join("v").join("provider.db");
    // Rows no honest provider writes: the contract of the double does not exist.
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&provider_file)
        .foreign_keys(false);
    let raw = sqlx::SqlitePool::connect_with(options).await.unwrap();
    for (contract, txn) in [(1, "1"), (1, "2"), (2, "2"), (1, "9")] {
        sqlx::query(
            "INSERT INTO payments (contract_id, txn_id, account, amount, txn_date, txn_day, created_at)
             VALUES ($1, $2, '9000000000', 1000, '20261201000000', '2026-12-01', '2026-12-01T00:00:00.000000Z')",
        )
        .bind(contract)
        .bind(txn)
        .execute(&raw)
        .await
        .unwrap();
    }
    raw.close().await;
    provider.close().await;
    let told: HashSet<String> = ["T-1".to_owned(), "T-7".to_owned()].into();
    let found = check(
        &dir.path().join("p").join("processing.db"),
        &[(1, provider_file.as_path())],
        &told,
    )
    .await
    .unwrap();
    assert_eq!(
        found,
        Findings {
            payments: 4,
            completed: 3,
            failed: 0,
            rejected: 0,
            // 3 completed and never credited; T-7 told "completed" and unknown.
            lost: 2,
            doubled: 1,
            orphan_credits: 1,
            pending_after_drain: 1,
            // provider:1 holds 3000; the provider credited 4000.
            conservation_violations: 1,
        }
    );
    assert!(!found.clean());
}
