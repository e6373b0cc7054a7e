//! `paymesh bench --local`: the payment path measured against its own ceilings, in one
//! run on one machine. It starts a provider and a processing center of its own (in this
//! process, data in a temporary directory, SQLite with the `--synchronous` given, or
//! processing on `--database-url`), measures the ceilings ([`ceilings`]), the provider's
//! OSMP `pay` alone, and the end-to-end payments (agent API → processing → provider), and
//! prints every figure with its ratio to each ceiling; the last line is wire.md's JSON.
//! With `--synchronous both` it starts a second provider and processing with NORMAL beside
//! the FULL ones and pays with each in alternating rounds ([`compare`]): FULL ÷ NORMAL from
//! one run, not from two runs minutes apart on a host whose speed drifts.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use shared::config::{CommonArgs, Synchronous};
use shared::money::Kopecks;

use super::{Admin, Outcome, Payment, Plan, Summary, ceilings, drive};
use crate::cli::{BenchArgs, BenchSynchronous};
use crate::role::Role;
use crate::server::{App, Settings};

/// Every participant's operator password here (loopback only, thrown away).
const PASSWORD: &str = "bench";
/// How long each commit-rate ceiling is sampled before the payments.
const COMMIT_SECONDS: Duration = Duration::from_secs(3);
/// How long it is sampled again between rounds of payments, and after them.
const RESAMPLE_SECONDS: Duration = Duration::from_secs(1);

/// A participant this run started: where it listens and its database.
struct Started {
    addr: SocketAddr,
    pool: Option<crate::server::db::Db>,
}

impl Started {
    /// This side's writer counters now (SQLite's writer only).
    fn commits(&self) -> Option<Counted> {
        let pool = self.pool.as_ref()?;
        let (groups, members) = pool.group_commits()?;
        let (fsynced, waited) = pool.fsync_waits()?;
        Some(Counted {
            groups,
            members,
            fsynced,
            waited,
        })
    }

    /// How this side's groups went since `before`: how many transactions shared one
    /// `COMMIT` (one fsync with FULL), and how long a group waited for a `COMMIT` that
    /// fsynced.
    fn grouping(&self, before: Option<Counted>) -> Option<Grouping> {
        let now = self.commits()?;
        let before = before.unwrap_or_default();
        let groups = now.groups.checked_sub(before.groups)?;
        let fsynced = now.fsynced.saturating_sub(before.fsynced);
        let waited = now.waited.saturating_sub(before.waited);
        (groups > 0).then(|| Grouping {
            per_commit: now.members.saturating_sub(before.members) as f64 / groups as f64,
            fsync_wait_us: (fsynced > 0).then(|| waited.as_secs_f64() * 1e6 / fsynced as f64),
        })
    }
}

/// A writer's counters at one moment.
#[derive(Clone, Copy, Default)]
struct Counted {
    /// Group `COMMIT`s, and the transactions they carried.
    groups: usize,
    members: usize,
    /// `COMMIT`s that fsynced, and the time their groups waited for them in all.
    fsynced: usize,
    waited: Duration,
}

/// One side's group commits over a phase.
#[derive(Clone, Copy)]
struct Grouping {
    per_commit: f64,
    /// The mean wait for a `COMMIT` that fsynced (FULL's), in µs: the disk as the
    /// payments found it, beside the single-row commit's as a loop finds it.
    fsync_wait_us: Option<f64>,
}

/// Processing's and the provider's group commits over a phase.
type Groupings = (Option<Grouping>, Option<Grouping>);

async fn start(
    role: Role,
    dir: &Path,
    synchronous: Synchronous,
    database_url: Option<String>,
) -> Result<Started, String> {
    let common = CommonArgs {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: dir.join(role.as_str()),
        admin_password: Some(PASSWORD.into()),
        sqlite_synchronous: synchronous,
        database_url,
        ..CommonArgs::default()
    };
    let app = App::build(Settings::new(role, common))
        .await
        .map_err(|e| format!("the {role} did not start: {e}"))?;
    let started = Started {
        addr: app.addr,
        pool: app.pool.clone(),
    };
    tokio::spawn(app.run_until(std::future::pending()));
    Ok(started)
}

/// The writer counters of processing and of the provider at one moment.
type Commits = (Option<Counted>, Option<Counted>);

/// A provider and a processing center of this run, both with one `synchronous`.
struct Network {
    provider: Started,
    processing: Started,
}

impl Network {
    async fn start(
        dir: &Path,
        synchronous: Synchronous,
        database_url: Option<String>,
    ) -> Result<Network, String> {
        Ok(Network {
            provider: start(Role::Provider, dir, synchronous, None).await?,
            processing: start(Role::Processing, dir, synchronous, database_url).await?,
        })
    }

    fn provider_url(&self) -> String {
        format!("http://{}", self.provider.addr)
    }

    fn processing_url(&self) -> String {
        format!("http://{}", self.processing.addr)
    }

    /// Ready for the end-to-end payments: processing signs the provider, the bench signs its
    /// agents and logs them in.
    async fn prepare_payments(
        &self,
        client: &reqwest::Client,
        agents: usize,
    ) -> Result<Payment, String> {
        let processing = self.processing_url();
        let signed = sign_provider(client, &self.provider_url()).await?;
        let admin = Admin {
            client,
            base: &processing,
            password: PASSWORD,
        };
        let endpoint = signed.contract["endpoint_url"].as_str().unwrap_or_default();
        let provider_id = admin
            .register_provider("bench", "mobile", endpoint, &signed.contract)
            .await?;
        let run_id = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let mut signed_agents = Vec::new();
        for k in 0..agents.max(1) {
            signed_agents.push(
                admin
                    .signed_agent(run_id, k, Kopecks::new(100_000_000_000))
                    .await?,
            );
        }
        let payment = Payment {
            api: format!("{processing}/api/agent/v1"),
            run_id,
            provider_id,
            account: signed.account,
            extra: json!({}),
            amount: Kopecks::new(10_000),
            accepted_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| e.to_string())?,
            agents: Arc::new(signed_agents),
        };
        payment.log_in(client).await?;
        Ok(payment)
    }

    /// Each side's group commits so far, to count a phase's from.
    fn commits(&self) -> Commits {
        (self.processing.commits(), self.provider.commits())
    }

    /// The group commits at processing and at the provider since `before`.
    fn grouping(&self, before: Commits) -> Groupings {
        (
            self.processing.grouping(before.0),
            self.provider.grouping(before.1),
        )
    }
}

/// `--synchronous both`: each setting's payments in this many rounds, taken in the order
/// NORMAL FULL FULL NORMAL NORMAL FULL…, so that the host speeding up or slowing down
/// over the run weighs on both settings alike.
const COMPARE_ROUNDS: usize = 4;

/// What [`compare`] measured: each setting's payments and the group commits they made.
struct Compared {
    full: Summary,
    normal: Summary,
    full_groups: Groupings,
    /// NORMAL's too: its `COMMIT` does not fsync but still costs CPU, so how many
    /// transactions share one is part of NORMAL's rate (docs/performance.md, the
    /// nineteenth step).
    normal_groups: Groupings,
}

/// The end-to-end payments with FULL and with NORMAL, in alternating rounds.
async fn compare(
    client: &reqwest::Client,
    full: &Network,
    normal: &Network,
    args: &BenchArgs,
    disk: &mut ceilings::DiskCeilings,
) -> Result<Compared, String> {
    let full_payment = full.prepare_payments(client, args.agents).await?;
    let normal_payment = normal.prepare_payments(client, args.agents).await?;
    let round = args.payments.div_ceil(COMPARE_ROUNDS).max(1);
    let before = (full.commits(), normal.commits());
    let (mut full_e2e, mut normal_e2e): (Option<Summary>, Option<Summary>) = (None, None);
    let (mut full_sent, mut normal_sent) = (0, 0);
    for k in 0..2 * COMPARE_ROUNDS {
        // N F F N N F F N: the second of each pair of rounds goes first in the next.
        let full_turn = (k % 4 == 1) || (k % 4 == 2);
        let (payment, sent, total) = if full_turn {
            (&full_payment, &mut full_sent, &mut full_e2e)
        } else {
            (&normal_payment, &mut normal_sent, &mut normal_e2e)
        };
        let plan = Plan {
            total: round.min(args.payments.saturating_sub(*sent)),
            concurrency: args.concurrency,
            rate: None,
            duration: None,
            progress: false,
        };
        if plan.total == 0 {
            continue;
        }
        eprintln!(
            "  round {} of {}: {} payments with {}",
            k + 1,
            2 * COMPARE_ROUNDS,
            plan.total,
            if full_turn { "FULL" } else { "NORMAL" }
        );
        let summary = pay(client, payment, &plan, *sent).await?;
        *sent += plan.total;
        match total {
            Some(total) => total.absorb(summary)?,
            None => *total = Some(summary),
        }
        // The disk's commit rate again after each pair of rounds, as the payments found
        // the disk; not inside a pair, which the payments' groups counted together.
        if k % 2 == 1 {
            disk.sample(RESAMPLE_SECONDS).await?;
        }
    }
    match (full_e2e, normal_e2e) {
        (Some(full_e2e), Some(normal_e2e)) => Ok(Compared {
            full: full_e2e,
            normal: normal_e2e,
            full_groups: full.grouping(before.0),
            normal_groups: normal.grouping(before.1),
        }),
        _ => Err("no payments to compare (--payments 0)".into()),
    }
}

/// What the provider signed: a subscriber's account and a processing contract.
struct Signed {
    account: String,
    contract: Value,
}

async fn sign_provider(client: &reqwest::Client, provider: &str) -> Result<Signed, String> {
    let admin = Admin {
        client,
        base: provider,
        password: PASSWORD,
    };
    let subscriber = admin
        .call(
            reqwest::Method::POST,
            "/subscribers",
            Some(json!({"full_name": "Бенч Марк", "passport": "4510 123456",
                        "email": "bench@example.ru", "services": ["call"]})),
        )
        .await?;
    let contract = admin
        .call(
            reqwest::Method::POST,
            "/processing-contracts",
            Some(json!({"processing_name": "bench", "protocol": "osmp"})),
        )
        .await?;
    Ok(Signed {
        account: subscriber["account"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        contract,
    })
}

/// The provider's OSMP `pay` alone, as processing calls it, under its own contract.
async fn osmp_pay(
    client: &reqwest::Client,
    provider: &str,
    plan: &Plan,
) -> Result<Summary, String> {
    let signed = sign_provider(client, provider).await?;
    let endpoint = signed.contract["endpoint_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let login = signed.contract["login"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let password = signed.contract["password"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The contract's login is verified once, before the clock (see `Payment::log_in`).
    let check = client
        .get(format!(
            "{endpoint}?command=check&txn_id=1&account={}&sum=100.00",
            signed.account
        ))
        .basic_auth(&login, Some(&password))
        .send()
        .await
        .map_err(|e| format!("a check before the run: {e}"))?;
    if !check.status().is_success() {
        return Err(format!("a check before the run: HTTP {}", check.status()));
    }
    let (client, account) = (client.clone(), signed.account);
    drive(plan, move |i| {
        let request = client
            .get(format!(
                "{endpoint}?command=pay&txn_id={}&account={account}&sum=100.00&txn_date=20261202101500",
                i + 1
            ))
            .basic_auth(&login, Some(&password));
        async move {
            let answer = request.send().await.map_err(|e| format!("pay {i}: {e}"))?;
            let text = answer.text().await.map_err(|e| format!("pay {i}: {e}"))?;
            Ok(if text.contains("<result>0</result>") {
                Outcome::Completed
            } else {
                Outcome::Failed
            })
        }
    })
    .await
}

/// Payments `first`, `first + 1`… of `payment`'s run, as `plan` sends them.
async fn pay(
    client: &reqwest::Client,
    payment: &Payment,
    plan: &Plan,
    first: usize,
) -> Result<Summary, String> {
    let (client, payment) = (client.clone(), payment.clone());
    drive(plan, move |i| payment.send(client.clone(), first + i)).await
}

/// "median of N samples, LOW–HIGH" for a ceiling sampled more than once.
fn samples(of: &[f64]) -> String {
    let low = of.iter().copied().fold(f64::INFINITY, f64::min);
    let high = of.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match of.len() {
        0 | 1 => String::new(),
        n => format!("(median of {n} samples across the run: {low:.0}–{high:.0})"),
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// CPU per request of each phase: comparable across phases and runs however much of the
/// machine its host took meanwhile (bench/cpu.rs says why).
struct Costs {
    echo: Option<f64>,
    osmp: Option<f64>,
    payment: Option<f64>,
    steal: Option<f64>,
    idle: Option<f64>,
}

impl Costs {
    fn of(echo: &Summary, osmp: &Summary, e2e: &Summary) -> Costs {
        Costs {
            echo: echo.cpu.us_per(echo.payments),
            osmp: osmp.cpu.us_per(osmp.payments),
            payment: e2e.cpu.us_per(e2e.payments),
            steal: e2e.cpu.steal_share,
            idle: e2e.cpu.idle_share,
        }
    }

    /// How many echo requests' CPU one payment costs, inverted: the CPU-time form of
    /// `payments/s ÷ echo/s` (equal to it on an idle machine when both phases keep every
    /// core busy).
    fn echo_per_payment(&self) -> Option<f64> {
        match (self.echo, self.payment) {
            (Some(echo), Some(payment)) if payment > 0.0 => Some(ratio(echo, payment)),
            _ => None,
        }
    }

    fn text(&self) -> String {
        format!(
            "CPU per request (this process, every thread; time the host took is not counted):\n  \
             axum JSON echo {}   provider OSMP pay alone {}   end-to-end payment {}\n  \
             echo ÷ payment {}   (during the payments the host took {} of the machine, {} was idle)",
            us(self.echo),
            us(self.osmp),
            us(self.payment),
            self.echo_per_payment()
                .map_or("—".to_owned(), |r| format!("{r:.4}")),
            share(self.steal),
            share(self.idle),
        )
    }

    fn json(&self) -> Value {
        let round = |v: Option<f64>| v.map(|v| (v * 10.0).round() / 10.0);
        json!({
            "axum_echo": round(self.echo), "osmp_pay": round(self.osmp), "payment": round(self.payment),
        })
    }
}

/// CPU microseconds as printed, or a dash when unmeasured.
fn us(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.0} µs"))
}

/// A share of the machine as printed, or a dash when unmeasured.
fn share(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{:.1} %", v * 100.0))
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { round4(a / b) } else { 0.0 }
}

fn line(name: &str, s: &Summary) -> String {
    format!(
        "  {name:<34} {:>9.0} /s   p50 {:>8.2} ms   p99 {:>8.2} ms   p99.9 {:>8.2} ms{}",
        s.per_second(),
        s.ms(0.5),
        s.ms(0.99),
        s.ms(0.999),
        if s.errors > 0 || s.completed < s.payments {
            format!(
                "   ({} of {} not completed)",
                s.payments - s.completed,
                s.payments
            )
        } else {
            String::new()
        }
    )
}

/// The share of `s`'s requests slower than `limit`.
fn slower_than(s: &Summary, limit: Duration) -> f64 {
    let limit_us = u64::try_from(limit.as_micros()).unwrap_or(u64::MAX);
    let slow: u64 = s
        .histogram
        .iter_recorded()
        .filter(|v| v.value_iterated_to() > limit_us)
        .map(|v| v.count_at_value())
        .sum();
    slow as f64 / s.histogram.len().max(1) as f64
}

pub async fn run(args: &BenchArgs) -> Result<bool, String> {
    // With `both`, FULL's network is the one measured as with `--synchronous full` (the
    // OSMP pay alone, every ratio); NORMAL's waits beside it, idle outside its rounds.
    let both = args.synchronous == BenchSynchronous::Both;
    let measured = args.synchronous.measured();
    if both {
        if args.rate.is_some() || args.duration_s.is_some() {
            return Err(
                "--synchronous both compares how fast each setting pays a count of \
                 payments: without --rate and --duration-s"
                    .into(),
            );
        }
        if args.database_url.is_some() {
            return Err("--synchronous both is SQLite's setting: without --database-url".into());
        }
    }
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(1))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    let quick = Plan {
        total: args.payments,
        concurrency: args.concurrency,
        rate: None,
        duration: None,
        progress: false,
    };
    // Read once: the ceiling's file and the participants' databases get the same size.
    let page_size = crate::server::db::page_size_for_new_databases()?;
    eprintln!(
        "paymesh bench --local: {} payments, {} in flight, SQLite synchronous={} with {page_size}-byte pages{}, data in {}",
        args.payments,
        args.concurrency,
        args.synchronous.as_str().to_uppercase(),
        if args.database_url.is_some() {
            " (processing on --database-url)"
        } else {
            ""
        },
        dir.path().display()
    );
    eprintln!("measuring the ceilings: single-row SQLite commits, an axum echo…");
    let mut disk = ceilings::DiskCeilings::new(dir.path(), page_size);
    disk.sample(COMMIT_SECONDS).await?;
    let echo = ceilings::axum_echo(&client, &quick).await?;

    let network = Network::start(
        &dir.path().join(measured.as_str()),
        measured,
        args.database_url.clone(),
    )
    .await?;
    let normal_network = if both {
        Some(Network::start(&dir.path().join("normal"), Synchronous::Normal, None).await?)
    } else {
        None
    };
    let provider = network.provider_url();
    eprintln!("the provider's OSMP pay alone…");
    let osmp = osmp_pay(&client, &provider, &quick).await?;
    eprintln!("end-to-end payments (agent API → processing → provider)…");
    let (e2e, normal_e2e, grouped, normal_grouped) = match &normal_network {
        Some(normal_network) => {
            let compared = compare(&client, &network, normal_network, args, &mut disk).await?;
            (
                compared.full,
                Some(compared.normal),
                compared.full_groups,
                Some(compared.normal_groups),
            )
        }
        None => {
            let plan = Plan {
                rate: args.rate,
                duration: args.duration_s.map(Duration::from_secs),
                progress: true,
                ..quick
            };
            let payment = network.prepare_payments(&client, args.agents).await?;
            let before = network.commits();
            let e2e = pay(&client, &payment, &plan, 0).await?;
            let grouped = network.grouping(before);
            disk.sample(RESAMPLE_SECONDS).await?;
            (e2e, None, grouped, None)
        }
    };
    let (full, normal) = (disk.full(), disk.normal());

    let rate = e2e.per_second();
    println!(
        "paymesh bench --local, synchronous={}{}",
        if both {
            format!("FULL, and NORMAL beside it in alternating rounds ({COMPARE_ROUNDS} each)")
        } else {
            measured.as_str().to_uppercase()
        },
        if args.database_url.is_some() {
            ", processing on PostgreSQL"
        } else {
            ""
        }
    );
    println!("ceilings, measured in this run on this disk and CPU:");
    println!(
        "  {:<34} {full:>9.0} /s   {}",
        "SQLite single-row commit, FULL",
        samples(disk.full_samples())
    );
    println!(
        "  {:<34} {normal:>9.0} /s   {}",
        "SQLite single-row commit, NORMAL",
        samples(disk.normal_samples())
    );
    println!("{}", line("axum JSON echo", &echo));
    println!("measured:");
    println!("{}", line("provider OSMP pay alone", &osmp));
    if let Some(normal_e2e) = &normal_e2e {
        println!("{}", line("end-to-end payments, FULL", &e2e));
        println!("{}", line("end-to-end payments, NORMAL", normal_e2e));
        println!(
            "  FULL ÷ NORMAL {:.4}   (CPU per payment: FULL {}, NORMAL {}; idle: FULL {}, NORMAL {})",
            ratio(rate, normal_e2e.per_second()),
            us(e2e.cpu.us_per(e2e.payments)),
            us(normal_e2e.cpu.us_per(normal_e2e.payments)),
            share(e2e.cpu.idle_share),
            share(normal_e2e.cpu.idle_share),
        );
    } else {
        println!("{}", line("end-to-end payments", &e2e));
    }
    println!("ratios (end-to-end payments/s ÷ ceiling):");
    println!(
        "  ÷ FULL commits {:.4}   ÷ NORMAL commits {:.4}   ÷ axum echo {:.4}   (OSMP pay ÷ axum echo {:.4})",
        ratio(rate, full),
        ratio(rate, normal),
        ratio(rate, echo.per_second()),
        ratio(osmp.per_second(), echo.per_second())
    );
    let slow = slower_than(&e2e, Duration::from_secs(1));
    println!("  share of payments slower than 1 s: {:.4} %", slow * 100.0);
    let cost = Costs::of(&echo, &osmp, &e2e);
    println!("{}", cost.text());
    let per_commit =
        |g: Option<Grouping>| g.map_or("—".to_owned(), |g| format!("{:.1}", g.per_commit));
    println!(
        "transactions per group COMMIT during the payments: processing {}, provider {}",
        per_commit(grouped.0),
        per_commit(grouped.1)
    );
    if let Some(normal_grouped) = normal_grouped {
        println!(
            "transactions per group COMMIT during NORMAL's payments: processing {}, provider {}",
            per_commit(normal_grouped.0),
            per_commit(normal_grouped.1)
        );
    }
    let fsync_wait = |g: Option<Grouping>| g.and_then(|g| g.fsync_wait_us);
    if let (Some(processing), Some(provider)) = (fsync_wait(grouped.0), fsync_wait(grouped.1)) {
        // A payment waits for three of these in a row (its claim, the provider's credit,
        // its settlement); the loop's commit is the same fsync with the disk kept busy.
        println!(
            "a group's wait for its fsyncing COMMIT: processing {processing:.0} µs, provider \
             {provider:.0} µs (a single-row FULL commit in the loop: {:.0} µs)",
            1e6 / full
        );
    }
    // What FULL's round trip adds to NORMAL's, beside the three waits that make it: at 16
    // in flight the two agree (docs/performance.md, "FULL ÷ NORMAL is three group waits").
    let payment_waits_us = fsync_wait(grouped.0)
        .zip(fsync_wait(grouped.1))
        .map(|(processing, provider)| 2.0 * processing + provider);
    if let (Some(normal_e2e), Some(waits)) = (&normal_e2e, payment_waits_us) {
        let (full_ms, normal_ms) = (e2e.mean_ms(), normal_e2e.mean_ms());
        println!(
            "a payment's mean round trip: FULL {full_ms:.2} ms, NORMAL {normal_ms:.2} ms \
             ({:.2} ms longer); its three group waits (claim, credit, settlement): {:.2} ms",
            full_ms - normal_ms,
            waits / 1e3
        );
    }
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let mut last = json!({
        "payments_per_s": round(rate), "p50_ms": round(e2e.ms(0.5)), "p99_ms": round(e2e.ms(0.99)),
        "mean_ms": round(e2e.mean_ms()),
        "p999_ms": round(e2e.ms(0.999)), "synchronous": args.synchronous.as_str(),
        "sqlite_page_size": page_size,
        "slower_than_1s_share": slow,
        "osmp_pay_per_s": round(osmp.per_second()),
        "ceilings": {
            "sqlite_full_commits_per_s": round(full), "sqlite_normal_commits_per_s": round(normal),
            "axum_echo_per_s": round(echo.per_second()),
            "sqlite_full_commits_samples": disk.full_samples().iter().map(|v| round(*v)).collect::<Vec<_>>(),
            "sqlite_normal_commits_samples": disk.normal_samples().iter().map(|v| round(*v)).collect::<Vec<_>>(),
        },
        "ratios": {
            "full_commits": ratio(rate, full), "normal_commits": ratio(rate, normal),
            "axum_echo": ratio(rate, echo.per_second()),
            "osmp_pay_axum_echo": ratio(osmp.per_second(), echo.per_second()),
            "cpu_axum_echo": cost.echo_per_payment(),
        },
        "cpu_us": cost.json(),
        "transactions_per_commit": {
            "processing": grouped.0.map(|g| round(g.per_commit)),
            "provider": grouped.1.map(|g| round(g.per_commit)),
        },
        "fsync_wait_us": {
            "processing": fsync_wait(grouped.0).map(f64::round),
            "provider": fsync_wait(grouped.1).map(f64::round),
            "payment": payment_waits_us.map(f64::round),
        },
        "steal_share": {
            "axum_echo": echo.cpu.steal_share.map(round4),
            "payments": e2e.cpu.steal_share.map(round4),
        },
    });
    if let Some(normal_e2e) = &normal_e2e {
        last["normal"] = json!({
            "payments_per_s": round(normal_e2e.per_second()),
            "p50_ms": round(normal_e2e.ms(0.5)), "p99_ms": round(normal_e2e.ms(0.99)),
            "p999_ms": round(normal_e2e.ms(0.999)), "mean_ms": round(normal_e2e.mean_ms()),
            "cpu_us_payment": normal_e2e.cpu.us_per(normal_e2e.payments).map(|v| (v * 10.0).round() / 10.0),
            "transactions_per_commit": normal_grouped.map(|g| json!({
                "processing": g.0.map(|g| round(g.per_commit)),
                "provider": g.1.map(|g| round(g.per_commit)),
            })),
        });
        last["ratios"]["full_normal"] = json!(ratio(rate, normal_e2e.per_second()));
    }
    println!("{last}");
    let normal_errors = normal_e2e.as_ref().map_or(0, |s| s.errors);
    Ok(e2e.errors == 0 && normal_errors == 0 && osmp.errors == 0 && echo.errors == 0)
}
