//! `paymesh`: runs one participant (`paymesh provider …`) or the demo network.

use std::process::ExitCode;

use clap::Parser;
use portals::cli::{Cli, Tool};

fn main() -> ExitCode {
    // Before any HTTP client is built: reqwest takes the process's rustls provider (ring).
    shared::outbound::install_crypto_provider();
    let args = match shared::config::fold_in_config_file(std::env::args_os().collect(), 2) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("paymesh: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("paymesh: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command.into_settings() {
        Ok(settings) => runtime.block_on(portals::server::run(settings)),
        Err(Tool::Demo(demo)) => runtime.block_on(portals::demo::run(demo)),
        Err(Tool::Bench(bench)) => runtime.block_on(portals::bench::run(*bench)),
        Err(Tool::Chaos(chaos)) => runtime.block_on(portals::chaos::run(chaos)),
    }
}
