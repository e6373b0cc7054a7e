//! `paymesh bench`: a load generator an operator runs against a processing center they
//! started, as `pgbench` is run against a database. It signs its own agents (each with a
//! deposit, no agent fee), sends payments to one provider's account through processing's
//! agent API — at a concurrency, optionally paced to a rate, for a count or a duration —
//! shows its progress, and ends with the throughput, the outcome of every payment and
//! the latency distribution (HdrHistogram), optionally as an SVG or HTML report with the
//! latency over time. Its last line is one JSON object (docs/bench.md).

#[cfg(all(feature = "provider", feature = "processing"))]
mod ceilings;
mod cpu;
#[cfg(all(feature = "provider", feature = "processing"))]
mod local;
mod report;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use shared::money::Kopecks;
use tokio::sync::Mutex;

use crate::cli::BenchArgs;

/// Latencies are recorded in microseconds, up to this (a request that takes longer is
/// counted at the ceiling).
const MAX_LATENCY_US: u64 = 600_000_000;
/// Samples kept for the report's plot of latency over time.
const MAX_TIMELINE: usize = 500_000;

/// How one payment request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Pending,
    Failed,
    Rejected,
    /// No answer, an answer that was not a payment, or an HTTP error.
    Error,
}

impl Outcome {
    pub fn of(status: &str) -> Outcome {
        match status {
            "completed" => Outcome::Completed,
            "pending" => Outcome::Pending,
            "failed" => Outcome::Failed,
            "rejected" => Outcome::Rejected,
            _ => Outcome::Error,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One signed agent: its credentials at processing.
#[derive(Clone)]
struct Agent {
    login: String,
    password: String,
}

/// What the workers share while the run lasts.
struct Tally {
    counts: [AtomicU64; 5],
    histogram: Mutex<Histogram<u64>>,
    /// (ms since start, latency µs) of each payment, for the report.
    timeline: Mutex<Vec<(u32, u32)>>,
    first_error: Mutex<Option<String>>,
}

/// The summary the run prints, and the report shows.
pub struct Summary {
    pub payments: u64,
    pub completed: u64,
    pub pending: u64,
    pub failed: u64,
    pub rejected: u64,
    pub errors: u64,
    pub seconds: f64,
    pub histogram: Histogram<u64>,
    pub timeline: Vec<(u32, u32)>,
    /// What the run cost in CPU (this process: the load generator and whatever serves it
    /// here), and how much of the machine the host took meanwhile.
    pub cpu: cpu::CpuUse,
}

impl Summary {
    pub fn per_second(&self) -> f64 {
        self.payments as f64 / self.seconds.max(f64::EPSILON)
    }

    /// The latency at quantile `q`, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1_000.0
    }

    /// The mean latency, in milliseconds: with a fixed number in flight, the time a
    /// request's whole round trip takes on average.
    pub fn mean_ms(&self) -> f64 {
        self.histogram.mean() / 1_000.0
    }

    /// Adds a later phase of the same kind (`bench --local --synchronous both` runs each
    /// setting in rounds): counts, time, latencies and CPU as if it had been one.
    pub fn absorb(&mut self, later: Summary) -> Result<(), String> {
        let shift = u32::try_from((self.seconds * 1_000.0) as u64).unwrap_or(u32::MAX);
        self.payments += later.payments;
        self.completed += later.completed;
        self.pending += later.pending;
        self.failed += later.failed;
        self.rejected += later.rejected;
        self.errors += later.errors;
        self.seconds += later.seconds;
        self.histogram
            .add(&later.histogram)
            .map_err(|e| format!("merging latencies: {e}"))?;
        let room = MAX_TIMELINE.saturating_sub(self.timeline.len());
        self.timeline.extend(
            later
                .timeline
                .into_iter()
                .take(room)
                .map(|(at, latency)| (at.saturating_add(shift), latency)),
        );
        self.cpu = self.cpu.and(later.cpu);
        Ok(())
    }

    fn json(&self) -> Value {
        let round = |v: f64| (v * 100.0).round() / 100.0;
        json!({
            "payments": self.payments, "completed": self.completed, "pending": self.pending,
            "failed": self.failed, "rejected": self.rejected, "errors": self.errors,
            "seconds": round(self.seconds), "payments_per_s": round(self.per_second()),
            "p50_ms": round(self.ms(0.5)), "p90_ms": round(self.ms(0.9)), "p99_ms": round(self.ms(0.99)),
            "p999_ms": round(self.ms(0.999)), "max_ms": round(self.histogram.max() as f64 / 1_000.0),
        })
    }
}

pub async fn run(args: BenchArgs) -> std::process::ExitCode {
    if args.local {
        #[cfg(all(feature = "provider", feature = "processing"))]
        return match local::run(&args).await {
            Ok(true) => std::process::ExitCode::SUCCESS,
            Ok(false) => std::process::ExitCode::FAILURE,
            Err(e) => {
                eprintln!("paymesh bench --local: {e}");
                std::process::ExitCode::from(2)
            }
        };
        #[cfg(not(all(feature = "provider", feature = "processing")))]
        {
            eprintln!("paymesh bench --local: this build has no provider or processing role");
            return std::process::ExitCode::from(2);
        }
    }
    match bench(args).await {
        Ok(summary) if summary.errors == 0 => std::process::ExitCode::SUCCESS,
        Ok(_) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("paymesh bench: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn bench(args: BenchArgs) -> Result<Summary, String> {
    let amount = Kopecks::parse(args.amount.trim())
        .map_err(|_| format!("--amount {}: roubles, e.g. 100 or 100.50", args.amount))?;
    let deposit = Kopecks::parse(args.deposit.trim())
        .map_err(|_| format!("--deposit {}: roubles, e.g. 1000000", args.deposit))?;
    let extra: Value = match &args.extra {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format!("--extra: a JSON object of field values: {e}"))?,
        None => json!({}),
    };
    let client = shared::outbound::Trust::load(args.ca_file.as_deref())
        .map_err(|e| e.to_string())?
        .client(Duration::from_secs(120))
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let (Some(processing), Some(admin_password), Some(account)) =
        (&args.processing, &args.admin_password, &args.account)
    else {
        return Err(
            "--processing, --admin-password and --account are required (or --local)".into(),
        );
    };
    let base = processing.trim_end_matches('/').to_owned();
    let admin = Admin {
        client: &client,
        base: &base,
        password: admin_password,
    };
    let provider_id = match args.provider_id {
        Some(id) => id,
        None => admin.first_active_provider().await?,
    };
    let run_id = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let mut agents = Vec::new();
    for k in 0..args.agents.max(1) {
        agents.push(admin.signed_agent(run_id, k, deposit).await?);
    }
    eprintln!(
        "paymesh bench: {} agents signed with {deposit} RUB each; paying provider {provider_id}, account {}",
        agents.len(),
        account
    );

    let accepted_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())?;
    let payment = Payment {
        api: format!("{base}/api/agent/v1"),
        run_id,
        provider_id,
        account: account.clone(),
        extra,
        amount,
        accepted_at,
        agents: Arc::new(agents),
    };
    let plan = Plan {
        total: args.payments,
        concurrency: args.concurrency,
        rate: args.rate,
        duration: args.duration_s.map(Duration::from_secs),
        progress: true,
    };
    payment.log_in(&client).await?;
    let summary = drive(&plan, {
        let client = client.clone();
        move |i| payment.send(client.clone(), i)
    })
    .await?;
    print!("{}", report::text(&summary, args.concurrency, args.rate));
    if let Some(path) = &args.report {
        report::write(path, &summary, args.concurrency, args.rate)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("report: {}", path.display());
    }
    println!("{}", summary.json());
    Ok(summary)
}

impl Tally {
    fn new() -> Result<Tally, String> {
        Ok(Tally {
            counts: Default::default(),
            histogram: Mutex::new(
                Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).map_err(|e| e.to_string())?,
            ),
            timeline: Mutex::new(Vec::new()),
            first_error: Mutex::new(None),
        })
    }

    async fn record(&self, outcome: Outcome, latency: Duration, at: Duration) {
        let latency = u64::try_from(latency.as_micros())
            .unwrap_or(MAX_LATENCY_US)
            .clamp(1, MAX_LATENCY_US);
        self.counts[outcome.index()].fetch_add(1, Ordering::Relaxed);
        let _ = self.histogram.lock().await.record(latency);
        let mut timeline = self.timeline.lock().await;
        if timeline.len() < MAX_TIMELINE {
            let at = u32::try_from(at.as_millis()).unwrap_or(u32::MAX);
            timeline.push((at, u32::try_from(latency).unwrap_or(u32::MAX)));
        }
    }
}

/// How a load is sent: a count (or a duration), a concurrency, optionally a rate.
pub struct Plan {
    pub total: usize,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    /// A progress bar on stderr while it runs.
    pub progress: bool,
}

/// Sends request `i` = 0, 1, … made by `request(i)` — which says how it ended, with the
/// reason when it failed — as `plan` says, and sums up latencies and outcomes. The same
/// generator loads processing, a provider and the ceilings, so their figures compare.
pub async fn drive<F, Fut>(plan: &Plan, request: F) -> Result<Summary, String>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Outcome, String>> + Send,
{
    let tally = Arc::new(Tally::new()?);
    let limit = match plan.duration {
        Some(_) => usize::MAX,
        None => plan.total,
    };
    let (deadline, rate) = (plan.duration, plan.rate.filter(|r| *r > 0.0));
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let meter = cpu::Meter::start();
    let mut workers = Vec::new();
    for _ in 0..plan.concurrency.max(1) {
        let (tally, next, done, request) =
            (tally.clone(), next.clone(), done.clone(), request.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= limit || deadline.is_some_and(|d| started.elapsed() >= d) {
                    return;
                }
                // Paced: request i starts no earlier than i / rate seconds in, and not at
                // all when that is past the run's end.
                if let Some(rate) = rate {
                    let due = Duration::from_secs_f64(i as f64 / rate);
                    if deadline.is_some_and(|d| due >= d) {
                        return;
                    }
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                let sent = Instant::now();
                let outcome = match request(i).await {
                    Ok(outcome) => outcome,
                    Err(why) => {
                        let mut first = tally.first_error.lock().await;
                        if first.is_none() {
                            *first = Some(why);
                        }
                        Outcome::Error
                    }
                };
                tally
                    .record(outcome, sent.elapsed(), started.elapsed())
                    .await;
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let progress = plan
        .progress
        .then(|| tokio::spawn(show_progress(done.clone(), started, plan.total, deadline)));
    for worker in workers {
        worker.await.map_err(|e| format!("a worker stopped: {e}"))?;
    }
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = meter.stop();
    let count = |o: Outcome| tally.counts[o.index()].load(Ordering::Relaxed);
    if let Some(first) = tally.first_error.lock().await.as_deref() {
        eprintln!("paymesh bench: first error: {first}");
    }
    Ok(Summary {
        payments: (0..5)
            .map(|i| tally.counts[i].load(Ordering::Relaxed))
            .sum(),
        completed: count(Outcome::Completed),
        pending: count(Outcome::Pending),
        failed: count(Outcome::Failed),
        rejected: count(Outcome::Rejected),
        errors: count(Outcome::Error),
        seconds,
        histogram: tally.histogram.lock().await.clone(),
        timeline: std::mem::take(&mut *tally.timeline.lock().await),
        cpu,
    })
}

/// One agent-API payment of a run, as both the bench and `--local` send it.
#[derive(Clone)]
struct Payment {
    /// Processing's agent API, `…/api/agent/v1`.
    api: String,
    run_id: i128,
    provider_id: i64,
    account: String,
    extra: Value,
    amount: Kopecks,
    accepted_at: String,
    agents: Arc<Vec<Agent>>,
}

impl Payment {
    fn send(
        &self,
        client: reqwest::Client,
        i: usize,
    ) -> impl std::future::Future<Output = Result<Outcome, String>> + Send + use<> {
        let agent = &self.agents[i % self.agents.len()];
        let request = client
            .post(format!("{}/payments", self.api))
            .basic_auth(&agent.login, Some(&agent.password))
            .json(&json!({
                "agent_txn_id": format!("bench-{}-{i}", self.run_id), "provider_id": self.provider_id,
                "account": self.account, "extra": self.extra, "cash": self.amount, "agent_fee": 0,
                "amount": self.amount, "accepted_at": self.accepted_at,
            }));
        async move {
            let answer = request
                .send()
                .await
                .map_err(|e| format!("payment {i}: {e}"))?;
            let status = answer.status();
            if !status.is_success() {
                let text = answer.text().await.unwrap_or_default();
                return Err(format!("payment {i}: HTTP {status}: {}", text.trim()));
            }
            let payment: Value = answer
                .json()
                .await
                .map_err(|e| format!("payment {i}: {e}"))?;
            Ok(Outcome::of(payment["status"].as_str().unwrap_or_default()))
        }
    }

    /// Logs every agent in before the clock starts, with one `GET /balance` each, and
    /// asks for one check of the account, which logs processing in at the provider.
    ///
    /// A login's first request verifies its password with argon2 (tens of milliseconds
    /// on one of the hashing pool's workers; later ones hit the verified cache), so
    /// without this a run's first requests queue behind every login's hash and its p99.9
    /// is the log-in, not the payments (docs/performance.md). Says on stderr how long it
    /// took.
    async fn log_in(&self, client: &reqwest::Client) -> Result<(), String> {
        let started = Instant::now();
        for agent in self.agents.iter() {
            let answer = client
                .get(format!("{}/balance", self.api))
                .basic_auth(&agent.login, Some(&agent.password))
                .send()
                .await
                .map_err(|e| format!("logging {} in: {e}", agent.login))?;
            if !answer.status().is_success() {
                return Err(format!(
                    "logging {} in: HTTP {}",
                    agent.login,
                    answer.status()
                ));
            }
        }
        if let Some(agent) = self.agents.first() {
            let answer = client
                .post(format!("{}/checks", self.api))
                .basic_auth(&agent.login, Some(&agent.password))
                .json(&json!({
                    "provider_id": self.provider_id, "account": self.account, "extra": self.extra,
                }))
                .send()
                .await
                .map_err(|e| format!("a check before the run: {e}"))?;
            if !answer.status().is_success() {
                return Err(format!("a check before the run: HTTP {}", answer.status()));
            }
        }
        eprintln!(
            "paymesh bench: {} agents logged in before the clock, in {} ms (a login's first request verifies its password; later ones do not)",
            self.agents.len(),
            started.elapsed().as_millis()
        );
        Ok(())
    }
}

/// One line on stderr, rewritten twice a second: how far the run is.
async fn show_progress(
    done: Arc<AtomicUsize>,
    started: Instant,
    total: usize,
    deadline: Option<Duration>,
) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let n = done.load(Ordering::SeqCst);
        let elapsed = started.elapsed().as_secs_f64();
        let of = match deadline {
            Some(d) => format!("{:.0}/{} s", elapsed, d.as_secs()),
            None => format!("{n}/{total}"),
        };
        let share = match deadline {
            Some(d) => elapsed / d.as_secs_f64().max(1.0),
            None => n as f64 / total.max(1) as f64,
        };
        let filled = ((share.clamp(0.0, 1.0)) * 30.0) as usize;
        eprint!(
            "\r[{}{}] {of}  {n} payments  {:.0}/s   ",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            n as f64 / elapsed.max(f64::EPSILON)
        );
    }
}

/// A participant's operator API (`/api/admin/v1`), as the tools use it: the bench at
/// processing, `paymesh chaos` and the demo at every participant they sign contracts
/// with.
pub(crate) struct Admin<'a> {
    pub client: &'a reqwest::Client,
    /// `http://HOST:PORT`.
    pub base: &'a str,
    pub password: &'a str,
}

impl Admin<'_> {
    /// `method` `/api/admin/v1{path}` with `body`; a non-2xx answer is an error naming it.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self
            .client
            .request(method, format!("{}/api/admin/v1{path}", self.base))
            .basic_auth("admin", Some(self.password));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| format!("{}: {e}", self.base))?;
        let status = answer.status();
        let value: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{path}: HTTP {status}: {value}"));
        }
        Ok(value)
    }

    /// Signs, at this processing center, the contract a provider issued
    /// (`POST /processing-contracts`'s answer), reached at `endpoint_url`; its provider id.
    pub async fn register_provider(
        &self,
        name: &str,
        service_kind: &str,
        endpoint_url: &str,
        contract: &Value,
    ) -> Result<i64, String> {
        let row = self
            .call(
                reqwest::Method::POST,
                "/providers",
                Some(json!({
                    "name": name, "service_kind": service_kind, "endpoint_url": endpoint_url,
                    "protocol": "osmp", "login": contract["login"], "password": contract["password"],
                    "fields": contract["fields"], "min_amount": contract["min_amount"],
                    "max_amount": contract["max_amount"],
                })),
            )
            .await?;
        row["provider_id"]
            .as_i64()
            .ok_or_else(|| format!("processing signed {name} without a provider_id: {row}"))
    }

    async fn first_active_provider(&self) -> Result<i64, String> {
        let providers = self.call(reqwest::Method::GET, "/providers", None).await?;
        providers
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["active"] == true)
            .and_then(|p| p["provider_id"].as_i64())
            .ok_or_else(|| {
                "processing has no active provider: sign one, or give --provider-id".into()
            })
    }

    /// A new agent with no fee of its own, topped up with `deposit`.
    async fn signed_agent(
        &self,
        run_id: i128,
        k: usize,
        deposit: Kopecks,
    ) -> Result<Agent, String> {
        let agent = self
            .call(
                reqwest::Method::POST,
                "/agents",
                Some(json!({"name": format!("paymesh bench {run_id} #{}", k + 1),
                            "fee": {"percent_bp": 0, "fixed": 0, "min": 0, "max": null}})),
            )
            .await?;
        let id = agent["agent_id"]
            .as_i64()
            .ok_or("an agent without agent_id")?;
        self.call(
            reqwest::Method::POST,
            &format!("/agents/{id}/topups"),
            Some(json!({"amount": deposit, "reference": format!("bench-{run_id}-{k}")})),
        )
        .await?;
        Ok(Agent {
            login: agent["login"].as_str().unwrap_or_default().to_owned(),
            password: agent["password"].as_str().unwrap_or_default().to_owned(),
        })
    }
}
