//! `paymesh bench` against a running processing center: it signs its agents, pays, and
//! reports what happened — and what it reports is what the databases hold.

use std::process::Command;

use serde_json::Value;

use crate::helpers::ADMIN_PASSWORD;
use crate::processing::Network;

const BIN: &str = env!("CARGO_BIN_EXE_paymesh");

/// Runs `paymesh bench ARGS` against the network; (exit code, stdout, stderr).
async fn bench(n: &Network, args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = Command::new(BIN);
    command
        .arg("bench")
        .args(["--processing", &n.processing.base_url])
        .args(["--account", &n.account])
        .args(["--provider-id", &n.provider_id.to_string()])
        .args(args)
        .env("PAYMESH_BENCH_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("paymesh bench runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn last_json(stdout: &str) -> Value {
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: the last line is {line:?}"))
}

#[tokio::test]
async fn the_bench_pays_a_count_and_its_figures_are_what_the_databases_hold() {
    let n = Network::start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("run.svg");
    let (code, stdout, stderr) = bench(
        &n,
        &[
            "--payments",
            "200",
            "--concurrency",
            "16",
            "--agents",
            "3",
            "--amount",
            "10",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    // Every agent logged in before the clock (its argon2 is not in the percentiles); the
    // check that logged processing in at the provider paid nothing (counted below).
    assert!(
        stderr.contains("3 agents logged in before the clock"),
        "{stderr}"
    );
    let figures = last_json(&stdout);
    assert_eq!(figures["payments"], 200, "{figures}");
    assert_eq!(figures["completed"], 200, "{figures}");
    assert_eq!(figures["errors"], 0, "{figures}");
    assert!(figures["p99_ms"].as_f64().unwrap() >= figures["p50_ms"].as_f64().unwrap());
    assert!(stdout.contains("latency histogram"), "{stdout}");
    // What the bench counted is what was credited, and the books balance.
    assert_eq!(n.provider_payments().await, 200);
    assert_eq!(n.subscriber_balance().await, 200 * 1_000);
    n.assert_ledger_verifies().await;

    // A second run, paced and for a duration, with a report: at most rate × duration.
    let (code, stdout, stderr) = bench(
        &n,
        &[
            "--duration-s",
            "1",
            "--rate",
            "30",
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let figures = last_json(&stdout);
    let paid = figures["payments"].as_u64().unwrap();
    assert!(paid > 0 && paid <= 30, "{figures}");
    assert_eq!(figures["completed"], paid, "{figures}");
    assert_eq!(
        n.provider_payments().await,
        200 + i64::try_from(paid).unwrap()
    );
    let svg = std::fs::read_to_string(&report).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_said_plainly_and_nothing_is_paid() {
    let n = Network::start().await;
    let mut command = Command::new(BIN);
    command
        .arg("bench")
        .args(["--processing", &n.processing.base_url])
        .args(["--account", &n.account, "--payments", "5"])
        .env("PAYMESH_BENCH_ADMIN_PASSWORD", "not-the-password");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert_eq!(n.provider_payments().await, 0);
}

/// Runs `paymesh bench --local ARGS`; (exit code, stdout, stderr).
async fn local_bench(args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = Command::new(BIN);
    command.args(["bench", "--local"]).args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("paymesh bench --local runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `paymesh bench --local`: its own provider and processing, the ceilings measured in the
/// same run, and a last line whose ratios are the payments' rate over each ceiling.
#[tokio::test]
async fn the_local_bench_pays_every_payment_and_states_its_ratios() {
    let (code, stdout, stderr) = local_bench(&["--payments", "60", "--concurrency", "4"]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("end-to-end payments"), "{stdout}");
    assert!(
        !stdout.contains("not completed"),
        "every payment completed: {stdout}"
    );
    let last = last_json(&stdout);
    let rate = last["payments_per_s"].as_f64().unwrap();
    assert!(rate > 0.0, "{last}");
    for (ratio, ceiling) in [
        ("full_commits", "sqlite_full_commits_per_s"),
        ("normal_commits", "sqlite_normal_commits_per_s"),
        ("axum_echo", "axum_echo_per_s"),
    ] {
        let ceiling = last["ceilings"][ceiling].as_f64().unwrap();
        assert!(ceiling > 0.0, "{last}");
        let stated = last["ratios"][ratio].as_f64().unwrap();
        // Both figures are rounded in the line: to 0.01/s and to 4 decimals.
        assert!(
            (stated - rate / ceiling).abs() < 0.001,
            "{ratio}: {stated} vs {rate}/{ceiling}"
        );
    }
    // The disk's ceilings: sampled before the payments and once after them, the median
    // stated.
    assert_ceilings_are_medians(&last, 2);
    assert!(last["p99_ms"].as_f64().unwrap() >= last["p50_ms"].as_f64().unwrap());
    // CPU per request: the echo's and the payment's, and their ratio as stated.
    let echo_us = last["cpu_us"]["axum_echo"].as_f64().unwrap();
    let payment_us = last["cpu_us"]["payment"].as_f64().unwrap();
    assert!(echo_us > 0.0 && payment_us > 0.0, "{last}");
    assert!(last["cpu_us"]["osmp_pay"].as_f64().unwrap() > 0.0, "{last}");
    let stated = last["ratios"]["cpu_axum_echo"].as_f64().unwrap();
    // Rounded to 0.1 µs and to 4 decimals.
    assert!(
        (stated - echo_us / payment_us).abs() < 0.002,
        "cpu_axum_echo: {stated} vs {echo_us}/{payment_us}"
    );
    assert!(stdout.contains("CPU per request"), "{stdout}");
    // Every payment wrote twice at processing and once at the provider, each transaction in
    // a group of at least one.
    // (Of 60 payments, the 99.9th percentile is the slowest.)
    let max_ms = last["p999_ms"].as_f64().unwrap();
    for side in ["processing", "provider"] {
        let per_commit = last["transactions_per_commit"][side].as_f64().unwrap();
        assert!(per_commit >= 1.0, "{side}: {last}");
        // FULL (the default): each group waited for a COMMIT that fsynced, and a payment
        // waited for its groups' — no mean wait longer than the slowest payment.
        let waited_us = last["fsync_wait_us"][side].as_f64().unwrap();
        assert!(waited_us > 0.0, "{side}: {last}");
        assert!(waited_us <= max_ms * 1000.0, "{side}: {last}");
    }
    assert!(
        stdout.contains("a group's wait for its fsyncing COMMIT"),
        "{stdout}"
    );
    // A payment waits for three groups: its claim and its settlement at processing, its
    // credit at the provider (each figure rounded to 1 µs in the line).
    let waits = |key: &str| last["fsync_wait_us"][key].as_f64().unwrap();
    let payment_us = waits("payment");
    assert!(
        (payment_us - (2.0 * waits("processing") + waits("provider"))).abs() <= 2.0,
        "{last}"
    );
    let mean_ms = last["mean_ms"].as_f64().unwrap();
    assert!(mean_ms > 0.0 && mean_ms <= max_ms, "{last}");
}

/// `--synchronous both`: FULL and NORMAL pay in alternating rounds of one run, and the line
/// states FULL ÷ NORMAL from the two rates it gives.
#[tokio::test]
async fn the_local_bench_compares_full_with_normal_in_one_run() {
    let (code, stdout, stderr) = local_bench(&[
        "--payments",
        "40",
        "--concurrency",
        "4",
        "--synchronous",
        "both",
    ])
    .await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("end-to-end payments, FULL"), "{stdout}");
    assert!(stdout.contains("end-to-end payments, NORMAL"), "{stdout}");
    assert!(
        !stdout.contains("not completed"),
        "every payment completed: {stdout}"
    );
    // Eight rounds of ten, NORMAL first and last.
    assert!(
        stderr.contains("round 1 of 8: 10 payments with NORMAL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("round 8 of 8: 10 payments with NORMAL"),
        "{stderr}"
    );
    let last = last_json(&stdout);
    assert_eq!(last["synchronous"], "both", "{last}");
    let full = last["payments_per_s"].as_f64().unwrap();
    let normal = last["normal"]["payments_per_s"].as_f64().unwrap();
    assert!(full > 0.0 && normal > 0.0, "{last}");
    let stated = last["ratios"]["full_normal"].as_f64().unwrap();
    assert!(
        (stated - full / normal).abs() < 0.001,
        "full_normal: {stated} vs {full}/{normal}"
    );
    assert!(
        last["normal"]["p99_ms"].as_f64().unwrap() >= last["normal"]["p50_ms"].as_f64().unwrap()
    );
    // NORMAL's group commits are counted as FULL's are: each carried a transaction at least.
    for side in ["processing", "provider"] {
        let per_commit = last["normal"]["transactions_per_commit"][side]
            .as_f64()
            .unwrap_or_else(|| panic!("no NORMAL {side} groups: {last}"));
        assert!(per_commit >= 1.0, "{side}: {last}");
    }
    assert!(
        stdout.contains("transactions per group COMMIT during NORMAL's payments"),
        "{stdout}"
    );
    // Each setting's mean round trip, beside the three waits FULL's adds.
    for side in [&last, &last["normal"]] {
        assert!(side["mean_ms"].as_f64().unwrap() > 0.0, "{last}");
    }
    assert!(
        stdout.contains("a payment's mean round trip: FULL"),
        "{stdout}"
    );
    // Sampled before the payments and after each pair of rounds.
    assert_ceilings_are_medians(&last, 5);
}

/// Each commit-rate ceiling is the median of `count` samples, listed beside it.
fn assert_ceilings_are_medians(last: &Value, count: usize) {
    for setting in ["full", "normal"] {
        let samples: Vec<f64> = last["ceilings"][format!("sqlite_{setting}_commits_samples")]
            .as_array()
            .unwrap_or_else(|| panic!("no {setting} samples: {last}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(samples.len(), count, "{setting}: {last}");
        assert!(samples.iter().all(|v| *v > 0.0), "{setting}: {last}");
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let median = if count % 2 == 1 {
            sorted[count / 2]
        } else {
            (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0
        };
        let stated = last["ceilings"][format!("sqlite_{setting}_commits_per_s")]
            .as_f64()
            .unwrap();
        // Each figure is rounded to 0.01/s in the line.
        assert!(
            (stated - median).abs() < 0.02,
            "{setting}: {stated} vs {samples:?}"
        );
    }
}

/// `both` compares counts paid as fast as each setting can: a paced run is refused before
/// anything starts.
#[tokio::test]
async fn the_comparison_refuses_a_paced_run() {
    let (code, stdout, stderr) =
        local_bench(&["--synchronous", "both", "--rate", "10", "--duration-s", "1"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("without --rate and --duration-s"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}
