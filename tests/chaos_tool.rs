//! `paymesh chaos`: a short run as CI's proof that no payment is lost, doubled or made up
//! under kills and cut links — and proof that its checker sees each of those when the
//! databases hold them.

use std::collections::HashSet;
use std::process::Command;

use portals::chaos::check::{Findings, Sources, check};
use portals::role::Role;
use portals::server::db;
use serde_json::Value;

/// `paymesh chaos` with CI's short plan and `extra` arguments: it must exit 0 with every
/// figure of a broken promise at zero, having killed every kind of participant.
async fn short_run(extra: &[&str]) {
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
        .args(["--partition-s", "5", "--seed", "15"])
        .args(extra)
        .arg("--data-dir")
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
        "registry_discrepancies",
    ] {
        assert_eq!(last[zero], 0, "{zero}: {last}");
    }
    // Every customer paid: 500 payments reached processing, and their cash came in bills.
    assert_eq!(last["payments"], 500, "{last}");
    assert_eq!(last["kills"], 10, "{last}");
    assert_eq!(stderr.matches("SIGKILL").count(), 10, "{stderr}");
    for kind in ["SIGKILL processing", "SIGKILL provider-", "SIGKILL agent-"] {
        assert!(stderr.contains(kind), "no {kind}: {stderr}");
    }
}

#[tokio::test]
async fn a_short_chaos_run_loses_and_doubles_nothing() {
    short_run(&[]).await;
}

/// Processing as two processes on one PostgreSQL database (a cluster the run starts).
#[tokio::test]
async fn a_short_chaos_run_on_two_processing_processes_on_postgresql_loses_nothing() {
    if portals::demo::postgres::binaries().is_none() {
        eprintln!(
            "SKIPPED: PostgreSQL is not installed here (scripts/install-deps.sh --test installs it)"
        );
        return;
    }
    short_run(&["--processing", "2", "--postgres"]).await;
}

/// The checker against databases that hold each kind of broken promise, from the
/// terminal's outbox to the provider's credits.
#[tokio::test]
async fn the_checker_finds_lost_doubled_and_made_up_payments_and_cash() {
    let dir = tempfile::tempdir().unwrap();
    let open = |role: Role, sub: &str| {
        let data = dir.path().join(sub);
        async move {
            std::fs::create_dir_all(&data).unwrap();
            db::open(role, &data, None, db::Synchronous::Full)
                .await
                .unwrap()
        }
    };
    let processing = open(Role::Processing, "p").await;
    let provider = open(Role::Provider, "v").await;
    let agent = open(Role::Agent, "a").await;
    for sql in [
        "INSERT INTO providers (id, name, service_kind, endpoint_url, protocol, login, password, fields, min_amount, max_amount, created_at, updated_at)
         VALUES (1, 'P', 'mobile', 'http://127.0.0.1:9/', 'osmp', 'l', 'p', '[]', 100, 100000, '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z')",
        "INSERT INTO agents (id, name, contract_number, login, fee_percent_bp, fee_fixed, fee_min, created_at)
         VALUES (1, 'A', 'C-1', 'agent-1', 0, 0, 0, '2026-12-01T00:00:00.000000Z')",
    ] {
        db::query(sqlx::AssertSqlSafe(sql)).execute(&processing).await.unwrap();
    }
    // At processing: T-1…T-3 completed, T-4 pending, T-6 failed (no terminal sent it).
    for (id, txn, status) in [
        (1, "T-1", "completed"),
        (2, "T-2", "completed"),
        (3, "T-3", "completed"),
        (4, "T-4", "pending"),
        (5, "T-6", "failed"),
    ] {
        db::query(
            "INSERT INTO payments (id, agent_id, agent_txn_id, request_hash, provider_id, account, cash, agent_fee, amount,
                                   processing_fee, status, accepted_at, created_at, updated_at)
             VALUES ($1, 1, $2, 'h', 1, '9000000000', 1000, 0, 1000, 0, $3, '2026-12-01T00:00:00.000000Z',
                     '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z')",
        )
        .bind(id)
        .bind(txn)
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
    // At the terminal: T-1 completed with 500 of its 1000 in bills; T-2 completed; T-3
    // recorded as refused (processing completed it); T-4 still in the outbox; T-5
    // completed and unknown to processing; session 6 holds a bill no payment carries.
    for (session, txn, status, bills) in [
        (1, "T-1", "completed", 500),
        (2, "T-2", "completed", 1000),
        (3, "T-3", "failed", 1000),
        (4, "T-4", "pending", 1000),
        (5, "T-5", "completed", 1000),
        (6, "", "", 1000),
    ] {
        db::query(
            "INSERT INTO sessions (id, provider_id, provider_name, account, min_amount, max_amount, status, created_at)
             VALUES ($1, 1, 'P', '9000000000', 100, 100000, $2, '2026-12-01T00:00:00.000000Z')",
        )
        .bind(session)
        .bind(if txn.is_empty() { "open" } else { "paid" })
        .execute(&agent)
        .await
        .unwrap();
        db::query(
            "INSERT INTO bills (event_id, session_id, amount, bill_type, stacked_at, received_at)
             VALUES ($1, $2, $3, 4, '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z')",
        )
        .bind(format!("e-{session}"))
        .bind(session)
        .bind(bills)
        .execute(&agent)
        .await
        .unwrap();
        if txn.is_empty() {
            continue;
        }
        db::query(
            "INSERT INTO payments (session_id, agent_txn_id, provider_id, provider_name, account, cash, agent_fee, amount,
                                   accepted_at, status, created_at, updated_at)
             VALUES ($1, $2, 1, 'P', '9000000000', 1000, 0, 1000, '2026-12-01T00:00:00.000000Z', $3,
                     '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z')",
        )
        .bind(session)
        .bind(txn)
        .bind(status)
        .execute(&agent)
        .await
        .unwrap();
    }
    agent.close().await;
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
    let told: HashSet<(i64, String)> = [(1, "T-1".to_owned()), (1, "T-7".to_owned())].into();
    let processing = db::Db::from(
        portals::chaos::check::open_sqlite(&dir.path().join("p").join("processing.db"))
            .await
            .unwrap(),
    );
    let found = check(Sources {
        processing: &processing,
        providers: &[(1, provider_file.as_path())],
        agents: &[(1, dir.path().join("a").join("agent.db").as_path())],
        told_completed: &told,
    })
    .await
    .unwrap();
    assert_eq!(
        found,
        Findings {
            payments: 5,
            completed: 3,
            failed: 1,
            rejected: 0,
            // T-7 shown "completed" and unknown; T-5 completed at the terminal only;
            // 3 completed and never credited.
            lost: 3,
            // "2" credited twice; T-3 credited while the terminal refunds its cash.
            doubled: 2,
            // "9" credited with no payment; T-6 sent by no terminal.
            orphan_credits: 2,
            // T-4 at processing and in the outbox; session 6's bill.
            pending_after_drain: 3,
            // provider:1 holds 3000 against 4000 credited; T-1's cash is not its bills'.
            conservation_violations: 2,
            registry_discrepancies: 0,
        }
    );
    assert!(!found.clean());
}
