//! kiosk-shell: the payment terminal's body (wire.md "kiosk-shell").
//!
//! This build carries the CCNET frame codec; the driver, the device simulator, the
//! WebSocket bridge and the window arrive with the kiosk-shell issue. Until then every
//! mode says so and exits non-zero rather than pretending to accept cash.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "kiosk-shell",
    version,
    about = "Payment terminal: CCNET bill validator, kiosk bridge and window"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Tool>,
    #[command(flatten)]
    shell: ShellArgs,
}

#[derive(Args, Debug)]
struct ShellArgs {
    /// The agent portal's URL (its kiosk page), or any portal with --window-only.
    #[arg(long, env = "KIOSK_PORTAL")]
    portal: Option<String>,
    #[arg(long, env = "KIOSK_PORTAL_LOGIN")]
    portal_login: Option<String>,
    #[arg(long, env = "KIOSK_PORTAL_PASSWORD", hide_env_values = true)]
    portal_password: Option<String>,
    /// Serial port of the bill validator, e.g. /dev/ttyUSB0.
    #[arg(long, conflicts_with = "simulator")]
    serial: Option<PathBuf>,
    /// Use the built-in CCNET simulator instead of a device.
    #[arg(long)]
    simulator: bool,
    /// Address of the local WebSocket bridge, e.g. 127.0.0.1:8910.
    #[arg(long)]
    bridge_listen: Option<String>,
    /// Directory of the durable journal of stacked bills.
    #[arg(long)]
    journal: Option<PathBuf>,
    #[arg(long, conflicts_with_all = ["chromium", "window_only"])]
    no_window: bool,
    #[arg(long, conflicts_with = "window_only")]
    chromium: bool,
    #[arg(long)]
    window_only: bool,
}

#[derive(Subcommand, Debug)]
enum Tool {
    /// A CCNET bill validator on a pseudo-terminal.
    CcnetSim {
        #[arg(long)]
        link: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let what = match cli.command {
        Some(Tool::CcnetSim { .. }) => "the CCNET device simulator",
        None if cli.shell.window_only => "the portal window",
        None => "the CCNET driver, bridge and kiosk window",
    };
    eprintln!("kiosk-shell: {what} is not part of this build yet; nothing was started");
    ExitCode::from(2)
}
