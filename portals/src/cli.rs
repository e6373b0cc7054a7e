//! The `paymesh` command line (wire.md "Starting a participant").

use clap::{Args, Parser, Subcommand};
use shared::config::{CommonArgs, Synchronous};

use crate::role::Role;
use crate::server::Settings;

#[derive(Parser, Debug)]
#[command(
    name = "paymesh",
    version,
    about = "A service-payment network: consumer, provider, processing and agent"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The subscriber's app: contracts with providers, service buttons.
    #[command(args_override_self = true)]
    Consumer(RoleArgs),
    /// An operator's billing: subscribers, tariffs, usage, the OSMP endpoint.
    #[command(args_override_self = true)]
    Provider(ProviderArgs),
    /// The clearing center: providers, agents, payments, the ledger.
    #[command(args_override_self = true)]
    Processing(ProcessingArgs),
    /// A payment terminal's back end and its kiosk screens.
    #[command(args_override_self = true)]
    Agent(AgentArgs),
    /// All four participants on this machine, on fixed local ports.
    Demo(DemoArgs),
    /// A load generator against a running processing center (docs/bench.md).
    Bench(BenchArgs),
    /// A network of its own under kills and cut links, checked for lost or doubled money
    /// (docs/reliability.md).
    Chaos(ChaosArgs),
}

/// The commands that are not a participant.
pub enum Tool {
    Demo(DemoArgs),
    Bench(Box<BenchArgs>),
    Chaos(ChaosArgs),
}

#[derive(Args, Debug)]
pub struct ChaosArgs {
    /// Payments the terminals send.
    #[arg(long, default_value_t = 500)]
    pub payments: usize,
    /// Payments in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// SIGKILLs (each followed by a restart) of random participants during the run.
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    /// Seconds each link (processing ⇄ providers, terminals ⇄ processing) is cut, once.
    #[arg(long = "partition-s", default_value_t = 5)]
    pub partition_s: u64,
    /// The seed of every random choice: the same seed, the same faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the network keeps its data (default: a temporary directory, deleted after).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Processing's processes (more than one needs `--postgres`: they share its database).
    #[arg(long, default_value_t = 1)]
    pub processing: usize,
    /// Processing keeps its data in a PostgreSQL cluster the run starts (initdb + pg_ctl
    /// under the data directory), instead of SQLite.
    #[arg(long)]
    pub postgres: bool,
}

/// `bench --local --synchronous`: one of SQLite's settings, or both compared in one run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchSynchronous {
    /// Every commit survives a power cut (the participants' default).
    Full,
    /// A power cut may take back the last commits.
    Normal,
    /// Two networks side by side, one of each, paying in alternating rounds.
    Both,
}

impl BenchSynchronous {
    /// As the flag and the JSON line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            BenchSynchronous::Full => "full",
            BenchSynchronous::Normal => "normal",
            BenchSynchronous::Both => "both",
        }
    }

    /// The setting of the network whose figures the JSON line's wire.md keys hold: FULL
    /// when both are compared.
    pub fn measured(self) -> Synchronous {
        match self {
            BenchSynchronous::Normal => Synchronous::Normal,
            BenchSynchronous::Full | BenchSynchronous::Both => Synchronous::Full,
        }
    }
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Start a provider and a processing center of its own, measure this machine's
    /// ceilings (SQLite commits, an axum echo) and the payments against them.
    #[arg(long, conflicts_with_all = ["processing", "admin_password", "account", "provider_id", "extra", "report", "ca_file"])]
    pub local: bool,
    /// With --local: SQLite's `synchronous` for both participants; `both` runs the
    /// payments with FULL and with NORMAL in alternating rounds and states FULL ÷ NORMAL.
    #[arg(long, value_enum, ignore_case = true, default_value_t = BenchSynchronous::Full, requires = "local")]
    pub synchronous: BenchSynchronous,
    /// With --local: processing's database (e.g. postgres://…) instead of SQLite.
    #[arg(long, requires = "local", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The processing center's base URL (behind its load balancer, or one process).
    #[arg(
        long,
        env = "PAYMESH_BENCH_PROCESSING",
        required_unless_present = "local"
    )]
    pub processing: Option<String>,
    /// Processing's operator password: the bench signs its own agents and tops them up.
    #[arg(
        long,
        env = "PAYMESH_BENCH_ADMIN_PASSWORD",
        hide_env_values = true,
        required_unless_present = "local"
    )]
    pub admin_password: Option<String>,
    /// The provider to pay (default: processing's first active provider).
    #[arg(long)]
    pub provider_id: Option<i64>,
    /// The subscriber's account every payment credits (it must exist at the provider).
    #[arg(long, required_unless_present = "local")]
    pub account: Option<String>,
    /// The provider's other payment fields, as a JSON object: '{"city": "Пермь"}'.
    #[arg(long)]
    pub extra: Option<String>,
    /// Each payment's amount, in roubles.
    #[arg(long, default_value = "100")]
    pub amount: String,
    /// Agents the bench signs for this run (payments go round robin over them).
    #[arg(long, default_value_t = 4)]
    pub agents: usize,
    /// Each agent's deposit, in roubles.
    #[arg(long, default_value = "1000000")]
    pub deposit: String,
    /// How many payments to send.
    #[arg(long, default_value_t = 1000, conflicts_with = "duration_s")]
    pub payments: usize,
    /// Send for this many seconds instead of a count.
    #[arg(long = "duration-s")]
    pub duration_s: Option<u64>,
    /// Payments in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Pace the payments to this many per second (at most --concurrency in flight).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Write a report with the latency over time: FILE.svg, or FILE.html (the summary too).
    #[arg(long)]
    pub report: Option<std::path::PathBuf>,
    /// A PEM file with a CA to trust beside the system's roots (a processing on HTTPS).
    #[arg(long)]
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct RoleArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct ProviderArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// What kind of operator: `mobile` (10-digit phone numbers) or `internet` (8-digit contract numbers).
    #[arg(long, env = "PAYMESH_KIND", default_value = "mobile")]
    pub kind: String,
    /// Mail server for reports: smtp://[user:pass@]host:port, smtps:// for TLS, ?tls=starttls.
    #[arg(long, env = "PAYMESH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// A PEM file with the certificate of the CA that signed the mail server's
    /// certificate (a private relay); trusted beside the built-in roots.
    #[arg(long, env = "PAYMESH_SMTP_CA")]
    pub smtp_ca: Option<std::path::PathBuf>,
    /// Sender address of report e-mails.
    #[arg(long, env = "PAYMESH_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Days after which the gateway's request log and sent or failed e-mails are deleted.
    #[arg(long, env = "PAYMESH_RETENTION_DAYS", default_value_t = 90)]
    pub retention_days: u32,
    /// The longest wait between two attempts of an undelivered e-mail, in milliseconds
    /// (the wait starts at 1 s and doubles up to this).
    #[arg(
        long,
        env = "PAYMESH_MAIL_RETRY_DELAY_MS_MAX",
        default_value_t = 600_000
    )]
    pub mail_retry_delay_ms_max: u64,
}

#[derive(Args, Debug)]
pub struct ProcessingArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The longest wait for one answer of a provider, in milliseconds.
    #[arg(long, env = "PAYMESH_PROVIDER_TIMEOUT_MS", default_value_t = 60_000)]
    pub provider_timeout_ms: u64,
    /// The longest wait between two attempts of a pending payment, in milliseconds
    /// (the wait starts at 1 s and doubles up to this).
    #[arg(long, env = "PAYMESH_RETRY_DELAY_MS_MAX", default_value_t = 60_000)]
    pub retry_delay_ms_max: u64,
    /// How many days a terminal may hold a payment before sending it (store and forward
    /// while offline): an older `accepted_at` is refused with 422.
    #[arg(long, env = "PAYMESH_ACCEPTED_AT_AGE_MAX_DAYS", default_value_t = 366)]
    pub accepted_at_age_max_days: u32,
    /// The longest a terminal waits for a payment's answer, in milliseconds: a provider
    /// slower than this gets the payment answered `pending` while the attempt goes on
    /// (the retrier finishes it if it fails), so a slow provider does not hold the terminal.
    #[arg(long, env = "PAYMESH_ANSWER_BUDGET_MS", default_value_t = 3_000)]
    pub answer_budget_ms: u64,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The kiosk's (login `kiosk`) password; generated into DIR/kiosk-password when absent.
    #[arg(long, env = "PAYMESH_KIOSK_PASSWORD", hide_env_values = true)]
    pub kiosk_password: Option<String>,
    /// kiosk-shell's (login `terminal`) password, the only credential that reports cash;
    /// generated into DIR/terminal-password when absent.
    #[arg(long, env = "PAYMESH_TERMINAL_PASSWORD", hide_env_values = true)]
    pub terminal_password: Option<String>,
    /// Seconds between catalog refreshes.
    #[arg(long, env = "PAYMESH_CATALOG_INTERVAL_S", default_value_t = 1800)]
    pub catalog_interval_s: u64,
    /// Development only: the kiosk page opened without kiosk-shell says how to simulate
    /// banknotes (`kiosk-shell --simulator`); cash still comes only from kiosk-shell.
    #[arg(long, env = "PAYMESH_KIOSK_DEV")]
    pub kiosk_dev: bool,
    /// Seconds between balance refreshes.
    #[arg(long, env = "PAYMESH_BALANCE_INTERVAL_S", default_value_t = 300)]
    pub balance_interval_s: u64,
    /// Days after which kiosk sessions a customer left without cash, and checks no
    /// session used, are deleted (sessions with cash and payments are kept).
    #[arg(long, env = "PAYMESH_RETENTION_DAYS", default_value_t = 90)]
    pub retention_days: u32,
    #[cfg(feature = "agent")]
    #[command(flatten)]
    pub receipt_issuer: crate::agent::model::ReceiptIssuer,
    #[cfg(feature = "agent")]
    #[command(flatten)]
    pub kiosk_timing: crate::agent::model::KioskTiming,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Parent directory of the participants' data directories.
    #[arg(long, default_value = "paymesh-data")]
    pub data_dir: std::path::PathBuf,
    /// Run kiosk-shell without its window even where a display exists.
    #[arg(long, conflicts_with = "chromium")]
    pub no_window: bool,
    /// Show the kiosk in `chromium --kiosk` instead of the built-in window.
    #[arg(long)]
    pub chromium: bool,
    /// Run the whole network over HTTPS: a CA and a certificate per participant are made
    /// (once) under the data directory; every client trusts that CA (`--ca-file`).
    #[arg(long)]
    pub tls: bool,
    /// How many processing processes serve the processing center (1–4). More than one
    /// share one database behind HAProxy on processing's port (HAProxy must be
    /// installed): SQLite's file, or PostgreSQL's with `--postgres`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub processing: u8,
    /// Keep processing's data in a PostgreSQL cluster of the demo's own, under
    /// DIR/postgres (initdb and pg_ctl from Debian's postgresql package).
    #[arg(long)]
    pub postgres: bool,
}

/// `n` days (at least one) as a duration.
fn days(n: u32) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(n.max(1)) * 86_400)
}

impl Command {
    /// The settings of a participant command; the tool otherwise.
    pub fn into_settings(self) -> Result<Settings, Tool> {
        Ok(match self {
            Command::Consumer(a) => Settings::new(Role::Consumer, a.common),
            Command::Processing(a) => Settings {
                provider_timeout: Some(std::time::Duration::from_millis(a.provider_timeout_ms)),
                retry_delay_max: Some(std::time::Duration::from_millis(a.retry_delay_ms_max)),
                answer_budget: Some(std::time::Duration::from_millis(a.answer_budget_ms)),
                accepted_at_age_max: Some(std::time::Duration::from_secs(
                    u64::from(a.accepted_at_age_max_days.max(1)) * 86_400,
                )),
                ..Settings::new(Role::Processing, a.common)
            },
            Command::Provider(a) => Settings {
                provider_kind: Some(a.kind),
                smtp_url: a.smtp_url,
                smtp_ca: a.smtp_ca,
                mail_from: a.mail_from,
                retention: Some(days(a.retention_days)),
                mail_retry_delay_max: Some(std::time::Duration::from_millis(
                    a.mail_retry_delay_ms_max,
                )),
                ..Settings::new(Role::Provider, a.common)
            },
            Command::Agent(a) => Settings {
                kiosk_password: a.kiosk_password,
                terminal_password: a.terminal_password,
                kiosk_dev: a.kiosk_dev,
                catalog_interval: Some(std::time::Duration::from_secs(a.catalog_interval_s.max(1))),
                balance_interval: Some(std::time::Duration::from_secs(a.balance_interval_s.max(1))),
                retention: Some(days(a.retention_days)),
                #[cfg(feature = "agent")]
                receipt_issuer: a.receipt_issuer,
                #[cfg(feature = "agent")]
                kiosk_timing: a.kiosk_timing,
                ..Settings::new(Role::Agent, a.common)
            },
            Command::Demo(d) => return Err(Tool::Demo(d)),
            Command::Bench(b) => return Err(Tool::Bench(Box::new(b))),
            Command::Chaos(c) => return Err(Tool::Chaos(c)),
        })
    }
}
