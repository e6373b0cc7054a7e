//! kiosk-shell: the payment terminal's body (wire.md "kiosk-shell").
//!
//! * no subcommand: the CCNET driver and the kiosk bridge on a tokio runtime, and the
//!   kiosk window on the main thread (GTK wants its event loop there);
//! * `--window-only`: any portal in an ordinary window, no CCNET;
//! * `ccnet-sim`: a CCNET bill validator on a pseudo-terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kiosk_shell::window::{self, WindowSpec};

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
    match cli.command {
        Some(Tool::CcnetSim { .. }) => {
            eprintln!("kiosk-shell: the CCNET device simulator is not part of this build yet");
            ExitCode::from(2)
        }
        None if cli.shell.window_only => {
            let Some(url) = cli.shell.portal.clone() else {
                eprintln!("kiosk-shell: --window-only needs --portal URL");
                return ExitCode::from(2);
            };
            let spec = WindowSpec {
                url,
                login: cli.shell.portal_login,
                password: cli.shell.portal_password,
                kiosk: false,
            };
            finish(window::open_webview(&spec))
        }
        None => {
            eprintln!(
                "kiosk-shell: the CCNET driver and bridge are not part of this build yet; nothing was started"
            );
            ExitCode::from(2)
        }
    }
}

fn finish(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiosk-shell: {e:#}");
            ExitCode::FAILURE
        }
    }
}
